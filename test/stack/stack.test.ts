// The protocol stack: envelopes, Grapevine's mark in metadata, push-pull state sections, and routing
// between Serf's layer and Grapevine's own protocols.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeEnvelope, encodeEnvelope, encodeState, markMeta, markedVersion, splitState } from '../../src/stack/envelope.js'
import { ProtocolStack } from '../../src/stack/stack.js'
import type { MembershipSource, StackProtocol } from '../../src/stack/stack.js'
import type { MemberInfo } from '../../src/swim/events.js'
import { SerfLayer } from '../../src/serf/serf-layer.js'
import { encodeSerfMessage } from '../../src/serf/messages.js'
import { encodeTags } from '../../src/serf/tags.js'

test('an envelope round-trips unchanged, and junk is refused with a reason', () => {
  const bytes = encodeEnvelope(2, 'näme-1', Uint8Array.of(1, 2, 3))
  assert.deepEqual(decodeEnvelope(bytes), { protocol: 2, sender: 'näme-1', payload: Uint8Array.of(1, 2, 3) })
  assert.equal(typeof decodeEnvelope(Uint8Array.of(0x47, 1)), 'string')
  assert.equal(typeof decodeEnvelope(Uint8Array.of(0x47, 1, 9, 65)), 'string')
  assert.equal(typeof decodeEnvelope(Uint8Array.of(3, 1, 1, 65)), 'string')
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
    const r = decodeEnvelope(b)
    return typeof r === 'string' || r.payload.length <= b.length
  }))
})

test('the mark follows the tags map; plain Serf metadata and look-alike tag values are not marked', () => {
  const tags = encodeTags({ role: 'web', zone: 'a' })
  assert.equal(markedVersion(markMeta(tags)), 1)
  assert.equal(markedVersion(tags), undefined)
  assert.equal(markedVersion(encodeTags({ x: 'GV\u0001' })), undefined)
  assert.equal(markedVersion(new TextEncoder().encode('web')), undefined)
  assert.equal(markedVersion(new Uint8Array(0)), undefined)
})

test('push-pull state is the Serf part then the sections, split back exactly; malformed tails are refused', () => {
  const serf = encodeSerfMessage({ type: 'join', lTime: 3, node: 'a' }) // any one Serf message will do
  const whole = encodeState(serf, [[1, Uint8Array.of(9, 9)], [2, new Uint8Array(0)]])
  const split = splitState(whole)
  assert.ok(typeof split !== 'string')
  assert.deepEqual(split.serf, serf)
  assert.deepEqual([...split.sections.keys()], [1, 2])
  assert.deepEqual(split.sections.get(1), Uint8Array.of(9, 9))
  assert.deepEqual(encodeState(serf, []), serf)
  const ours = splitState(encodeState(new Uint8Array(0), [[1, Uint8Array.of(5)]]))
  assert.ok(typeof ours !== 'string' && ours.serf.length === 0 && ours.sections.get(1)?.[0] === 5)
  assert.equal(typeof splitState(whole.subarray(0, whole.length - 1)), 'string')
  assert.equal(typeof splitState(Uint8Array.of(...serf, 1, 2, 3)), 'string')
})

function member(name: string, marked: boolean, state: MemberInfo['state'] = 'alive'): MemberInfo {
  const tags = encodeTags({})
  return { name, address: { ip: '127.0.0.1', port: 1 }, state, incarnation: 1, meta: marked ? markMeta(tags) : tags, vsn: Uint8Array.of(1, 5, 5, 2, 5, 5), stateChangeMs: 0 }
}

test('Serf messages are routed to Serf and envelopes to their protocol; sends and piggybacks go only to Grapevine peers', () => {
  const got: string[] = []
  const proto: StackProtocol = {
    id: 1,
    onMessage: (sender, payload, _now, send) => {
      got.push(`${sender}:${payload[0]}`)
      assert.equal(send('serf-agent', Uint8Array.of(1)), false) // never to a Serf agent
      assert.equal(send(sender, Uint8Array.of(2)), true)
    },
    onRound: (_now, peers, send) => {
      got.push(`round:${peers.join(',')}`)
      for (const p of peers) send(p, Uint8Array.of(3))
    },
    piggyback: (to) => (to === 'gv-2' ? [Uint8Array.of(4)] : []),
  }
  const serf = new SerfLayer({ name: 'gv-1', retransmitMult: 4, clusterSize: () => 3 })
  const stack = new ProtocolStack({ name: 'gv-1', serf, protocols: [proto] })
  let members = [member('gv-1', true), member('gv-2', true), member('serf-agent', false), member('gv-3', true, 'dead')]
  const source: MembershipSource = { name: 'gv-1', get membershipVersion() { return members.length }, members: () => members }
  stack.bind(source)
  const sent: string[] = []
  const send = (to: string, p: Uint8Array): boolean => {
    sent.push(`${to}:${p[0] === 0x47 ? `G${p[p.length - 1]}` : p[0]}`)
    return true
  }
  stack.notifyUserMessage(encodeEnvelope(1, 'gv-2', Uint8Array.of(7)), undefined, 5, send)
  assert.deepEqual(got, ['gv-2:7'])
  assert.deepEqual(sent, ['gv-2:G2'])
  stack.notifyUserMessage(encodeSerfMessage({ type: 'join', lTime: 4, node: 'serf-agent' }), undefined, 6, send)
  assert.equal(serf.statusLTime('serf-agent'), 4)
  stack.notifyUserMessage(encodeEnvelope(9, 'gv-2', Uint8Array.of(7)), undefined, 7, send)
  stack.notifyUserMessage(Uint8Array.of(0x47, 1), undefined, 7, send)
  assert.equal(stack.counts.dropped, 2)
  stack.onGossipRound(10, send)
  assert.deepEqual(got.slice(1), ['round:gv-2'])
  // Serf's re-gossip of the join intent goes to anyone; our envelopes only to Grapevine peers.
  const toSerf = stack.getBroadcasts(2, 1400, 'serf-agent')
  assert.ok(toSerf.length > 0 && toSerf.every((p) => p[0] !== 0x47))
  const piggy = stack.getBroadcasts(2, 1400, 'gv-2').filter((p) => p[0] === 0x47)
  assert.equal(piggy.length, 1)
  assert.deepEqual(decodeEnvelope(piggy[0]), { protocol: 1, sender: 'gv-1', payload: Uint8Array.of(4) })
  // The peer list follows membership changes.
  members = [...members, member('gv-4', true)]
  stack.onGossipRound(20, send)
  assert.deepEqual(got.slice(-1), ['round:gv-2,gv-4'])
})

test('push-pull through the stack still has Serf merge its state, and each section merged by its protocol', () => {
  const merged: number[] = []
  const proto: StackProtocol = { id: 2, onMessage: () => undefined, localState: () => Uint8Array.of(42), mergeRemoteState: (s) => merged.push(s[0]) }
  const a = new ProtocolStack({ name: 'a', serf: new SerfLayer({ name: 'a', retransmitMult: 4, clusterSize: () => 2 }), protocols: [proto] })
  const bSerf = new SerfLayer({ name: 'b', retransmitMult: 4, clusterSize: () => 2 })
  const b = new ProtocolStack({ name: 'b', serf: bSerf, protocols: [proto] })
  const aSerf = new SerfLayer({ name: 'a2', retransmitMult: 4, clusterSize: () => 2 })
  aSerf.join()
  const state = new ProtocolStack({ name: 'a2', serf: aSerf, protocols: [proto] }).localState(false)
  b.mergeRemoteState(state, false, 1)
  assert.deepEqual(merged, [42])
  assert.equal(bSerf.statusLTime('a2'), 1)
  assert.ok(a.localState(true).length > 0)
})
