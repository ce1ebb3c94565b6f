// A node's coordinates as a SWIM delegate: acks carry our coordinate (re-encoded only when it moved),
// a probe's ack with a Serf payload updates it and caches the peer's; acks without a payload or with a
// bad one change nothing and are counted; a member gone from the membership leaves the cache; the
// wrapper keeps every method of the delegate it wraps.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { NetworkCoordinates, coordinateDelegate } from '../../src/coordinates/network-coordinates.js'
import { decodeCoordinatePayload, encodeCoordinatePayload } from '../../src/coordinates/payload.js'
import { newCoordinate } from '../../src/coordinates/vivaldi.js'
import type { MemberInfo, MemberState } from '../../src/swim/events.js'
import type { MembershipView, SwimDelegate } from '../../src/swim/delegate.js'

function member(name: string, state: MemberState = 'alive'): MemberInfo {
  return { name, address: { ip: '127.0.0.1', port: 1 }, state, incarnation: 1, meta: new Uint8Array(0), vsn: new Uint8Array(6), stateChangeMs: 0 }
}

class View implements MembershipView {
  readonly name = 'a'
  membershipVersion = 1
  list: MemberInfo[] = [member('a'), member('b'), member('c')]
  members(): MemberInfo[] {
    return this.list
  }
}

const far = encodeCoordinatePayload({ ...newCoordinate(), vec: [0.005, 0, 0, 0, 0, 0, 0, 0], error: 0.3 })

test('an acked probe with a Serf payload moves our coordinate and caches the peer\'s; our next ack carries the new one', () => {
  const c = new NetworkCoordinates('a', new SeededRng(1))
  const view = new View()
  c.bind(view)
  const before = c.ackPayload()
  assert.equal(c.ackPayload(), before, 'encoded once while the coordinate stays')
  c.notifyPingComplete(member('b'), 10, far)
  assert.notDeepEqual(c.coordinate(), newCoordinate())
  const after = decodeCoordinatePayload(c.ackPayload())
  assert.ok(after.ok)
  assert.deepEqual(after.value, c.coordinate())
  assert.ok(c.rtt('b') !== undefined && c.rtt('a', 'b') === c.rtt('b', 'a'))
  assert.equal(c.rtt('c'), undefined, 'never probed')
  assert.deepEqual(c.sortByDistance(['c', 'b']).map((e) => e.name), ['b', 'c'], 'unknown ones last')
  assert.equal(c.stats().updates, 1)
})

test('acks without a payload or with a bad one change nothing and are counted', () => {
  const c = new NetworkCoordinates('a', new SeededRng(2))
  c.notifyPingComplete(member('b'), 10, null)
  c.notifyPingComplete(member('b'), 10, new Uint8Array(0))
  c.notifyPingComplete(member('b'), 10, Uint8Array.of(2, 0x80))
  c.notifyPingComplete(member('b'), 10, far.subarray(0, 40))
  c.notifyPingComplete(member('b'), 20_000, far)
  const s = c.stats()
  assert.deepEqual(c.coordinate(), newCoordinate())
  assert.equal(s.withoutPayload, 2)
  assert.deepEqual(s.undecodable, { 'bad-field': 1, truncated: 1 })
  assert.equal(s.rejected['rtt-range'], 1)
  assert.equal(s.cached, 0)
})

test('a member that died or left loses its cached coordinate', () => {
  const c = new NetworkCoordinates('a', new SeededRng(3))
  const view = new View()
  c.bind(view)
  c.notifyPingComplete(member('b'), 10, far)
  c.notifyPingComplete(member('c'), 10, far)
  assert.deepEqual(c.all().map((e) => e.name), ['a', 'b', 'c'])
  view.list = [member('a'), member('b', 'dead'), member('c')]
  view.membershipVersion++
  assert.equal(c.rtt('b'), undefined)
  assert.deepEqual(c.all().map((e) => e.name), ['a', 'c'])
})

test('the delegate wrapper keeps the inner delegate\'s methods, bound, and adds the ping hooks', () => {
  const pings: string[] = []
  class Inner implements SwimDelegate {
    bound: MembershipView | undefined
    bind(m: MembershipView): void {
      this.bound = m
    }
    nodeMeta(): Uint8Array {
      return Uint8Array.of(this.bound === undefined ? 0 : 1)
    }
    notifyPingComplete(m: MemberInfo): void {
      pings.push(m.name)
    }
  }
  const inner = new Inner()
  const c = new NetworkCoordinates('a', new SeededRng(4))
  const d = coordinateDelegate(inner, c)
  d.bind?.(new View())
  assert.deepEqual(d.nodeMeta?.(512), Uint8Array.of(1), 'called on the inner object')
  assert.deepEqual(d.ackPayload?.(), c.ackPayload())
  d.notifyPingComplete?.(member('b'), 10, far)
  assert.deepEqual(pings, ['b'])
  assert.equal(c.stats().updates, 1)
  assert.ok(coordinateDelegate(undefined, c).ackPayload !== undefined, 'works without an inner delegate')
})
