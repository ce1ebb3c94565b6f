// The coordinate echo as a state machine: an acked probe of a Grapevine peer that updated the prober goes
// back to the peer (RTT + the prober's coordinate, in Grapevine's envelope) and updates the peer the same
// way while the peer's coordinate is settling (its error at least ECHO_PEER_ERROR_MIN); a Serf agent (no
// Grapevine mark) never gets one; with the echo off nothing is sent and arriving
// echoes are dropped; malformed echoes, echoes from names that are no live member and absurd RTTs are
// counted and dropped, leaving the coordinate as it was; every other user message passes through.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { ECHO_PEER_ERROR_MIN, NetworkCoordinates, coordinateDelegate } from '../../src/coordinates/network-coordinates.js'
import { COORDINATE_ECHO_PROTOCOL, decodeEcho, encodeEcho } from '../../src/coordinates/echo.js'
import { encodeCoordinatePayload } from '../../src/coordinates/payload.js'
import { newCoordinate } from '../../src/coordinates/vivaldi.js'
import { encodeEnvelope, markMeta } from '../../src/stack/envelope.js'
import { encodeTags } from '../../src/serf/tags.js'
import { resolveNodeSettingsOrThrow } from '../../src/node/index.js'
import type { MemberInfo, MemberState } from '../../src/swim/events.js'
import type { MembershipView } from '../../src/swim/delegate.js'

const MARKED = markMeta(encodeTags({}))

function member(name: string, opts: { state?: MemberState; grapevine?: boolean } = {}): MemberInfo {
  const meta = opts.grapevine === false ? encodeTags({}) : MARKED
  return { name, address: { ip: '127.0.0.1', port: 1 }, state: opts.state ?? 'alive', incarnation: 1, meta, vsn: new Uint8Array(6), stateChangeMs: 0 }
}

class View implements MembershipView {
  membershipVersion = 1
  constructor(readonly name: string, public list: MemberInfo[]) {}
  members(): MemberInfo[] {
    return this.list
  }
}

const far = { ...newCoordinate(), vec: [0.005, 0, 0, 0, 0, 0, 0, 0], error: 0.6 }

/** Node `name` of a three-member cluster a, b, c (all Grapevine's unless said otherwise). */
function node(name: string, echo = true, list = [member('a'), member('b'), member('c')]): NetworkCoordinates {
  const c = new NetworkCoordinates(name, new SeededRng(name.charCodeAt(0)), undefined, echo)
  c.bind(new View(name, list))
  return c
}

/** What `c` sends when its probe of `target` is acked after `rttMs` with `payload`. */
function probe(c: NetworkCoordinates, target: MemberInfo, rttMs: number, payload: Uint8Array): Array<{ to: string; bytes: Uint8Array }> {
  const sent: Array<{ to: string; bytes: Uint8Array }> = []
  c.notifyPingComplete(target, rttMs, payload, (to, bytes) => (sent.push({ to, bytes }), true))
  return sent
}

test('an echo round-trips: the RTT as a float64, then the coordinate exactly as an ack carries it', () => {
  const bytes = encodeEcho(12.345, far)
  assert.equal(bytes.length, 8 + encodeCoordinatePayload(far).length)
  assert.equal(bytes.length, 138)
  const d = decodeEcho(bytes)
  assert.ok(d.ok)
  assert.equal(d.value.rttMs, 12.345)
  assert.deepEqual(d.value.coordinate, far)
})

test('every prefix of an echo, and junk, decodes to a typed error, never a throw', () => {
  const bytes = encodeEcho(3, far)
  for (let n = 0; n < bytes.length; n++) {
    const d = decodeEcho(bytes.subarray(0, n))
    assert.ok(!d.ok, `prefix of ${n} bytes accepted`)
    assert.ok(['truncated', 'bad-field'].includes(d.error.reason), `${n}: ${d.error.message}`)
  }
  const rng = new SeededRng(9)
  for (let i = 0; i < 500; i++) {
    const junk = Uint8Array.from({ length: rng.int(200) }, () => rng.int(256))
    decodeEcho(junk)
  }
  const withTail = Uint8Array.from([...bytes, 0])
  const tail = decodeEcho(withTail)
  assert.ok(!tail.ok && tail.error.reason === 'trailing-bytes')
})

test('the prober echoes an acked probe to a Grapevine peer, and the echo moves the peer\'s coordinate and caches the prober\'s', () => {
  const a = node('a')
  const b = node('b')
  const sent = probe(a, member('b'), 10, b.ackPayload())
  assert.equal(sent.length, 1)
  assert.equal(sent[0].to, 'b')
  assert.deepEqual([...sent[0].bytes.subarray(0, 2)], [0x47, COORDINATE_ECHO_PROTOCOL], 'Grapevine\'s envelope, protocol 5')
  assert.equal(a.stats().echoes.sent, 1)
  assert.equal(a.stats().echoes.bytesSent, sent[0].bytes.length)
  assert.equal(b.rtt('a'), undefined, 'b never probed a')
  assert.equal(b.handleUserMessage(sent[0].bytes), true)
  assert.notDeepEqual(b.coordinate(), newCoordinate(), 'b learnt from a\'s probe')
  assert.deepEqual(b.coordinateOf('a'), a.coordinate(), 'b holds a\'s coordinate as a sent it')
  assert.equal(b.stats().updates, 1)
  assert.deepEqual(b.stats().echoes, { sent: 0, bytesSent: 0, applied: 1, dropped: {} })
  assert.equal(b.stats().cached, 1)
})

test('a Serf agent (no Grapevine mark), an ack without a coordinate, a refused RTT, a settled peer or the echo off send no echo', () => {
  const a = node('a')
  const peer = encodeCoordinatePayload(far)
  assert.deepEqual(probe(a, member('b', { grapevine: false }), 10, peer), [], 'Serf agent')
  assert.deepEqual(probe(a, member('b'), 10, new Uint8Array(0)), [], 'no payload')
  assert.deepEqual(probe(a, member('b'), 20_000, peer), [], 'RTT refused by the rule')
  assert.equal(probe(a, member('c'), 10, encodeCoordinatePayload({ ...far, error: ECHO_PEER_ERROR_MIN })).length, 1, 'a peer still settling')
  assert.deepEqual(probe(a, member('c'), 10, encodeCoordinatePayload({ ...far, error: ECHO_PEER_ERROR_MIN - 0.01 })), [], 'a settled peer')
  const off = node('a', false)
  assert.deepEqual(probe(off, member('b'), 10, peer), [], 'echo off')
  assert.equal(off.stats().updates, 1, 'the prober itself still learns')
  assert.equal(a.stats().echoes.sent, 1)
  // A send that finds no live member (false) is not counted as sent.
  a.notifyPingComplete(member('b'), 10, peer, () => false)
  assert.equal(a.stats().echoes.sent, 1)
})

test('malformed echoes, echoes from unknown or dead names, absurd RTTs and echoes to a node with the echo off are counted and dropped, the coordinate unchanged', () => {
  const b = node('b', true, [member('a'), member('b'), member('c', { state: 'dead' })])
  const good = encodeEcho(10, far)
  const env = (sender: string, payload: Uint8Array): Uint8Array => encodeEnvelope(COORDINATE_ECHO_PROTOCOL, sender, payload)
  assert.ok(b.handleUserMessage(env('a', good.subarray(0, 20))))
  assert.ok(b.handleUserMessage(env('a', Uint8Array.of(0, 0, 0, 0, 0, 0, 0x24, 0x40, 2, 0x80))))
  assert.ok(b.handleUserMessage(Uint8Array.of(0x47, COORDINATE_ECHO_PROTOCOL, 0)), 'no sender name')
  assert.ok(b.handleUserMessage(env('zed', good)))
  assert.ok(b.handleUserMessage(env('c', good)), 'dead member')
  assert.ok(b.handleUserMessage(env('b', good)), 'our own name')
  assert.ok(b.handleUserMessage(env('a', encodeEcho(Number.NaN, far))))
  assert.ok(b.handleUserMessage(env('a', encodeEcho(-1, far))))
  assert.ok(b.handleUserMessage(env('a', encodeEcho(10, { ...far, vec: [0.1, 0.2] }))))
  const s = b.stats()
  assert.deepEqual(b.coordinate(), newCoordinate())
  assert.equal(s.updates, 0)
  assert.deepEqual(s.echoes.dropped, { truncated: 1, 'bad-field': 2, 'unknown-sender': 3 })
  assert.equal(s.echoes.applied, 0)
  assert.deepEqual(s.rejected, { dimensions: 1, 'invalid-coordinate': 0, 'rtt-range': 2 })
  const off = node('b', false)
  assert.ok(off.handleUserMessage(env('a', good)))
  assert.deepEqual(off.stats().echoes.dropped, { off: 1 })
  assert.deepEqual(off.coordinate(), newCoordinate())
})

test('the delegate wrapper takes the echoes and hands every other user message to the inner delegate', () => {
  const seen: number[] = []
  const c = node('b')
  const d = coordinateDelegate({ notifyUserMessage: (p) => void seen.push(p[1]) }, c)
  const send = (): boolean => true
  d.notifyUserMessage?.(encodeEnvelope(COORDINATE_ECHO_PROTOCOL, 'a', encodeEcho(10, far)), 'a', 0, send)
  d.notifyUserMessage?.(encodeEnvelope(1, 'a', Uint8Array.of(1)), 'a', 0, send)
  d.notifyUserMessage?.(Uint8Array.of(4, 5), 'a', 0, send)
  assert.deepEqual(seen, [1, 5], 'a broadcast envelope and a Serf message pass through')
  assert.equal(c.stats().echoes.applied, 1)
})

test('coordinateEcho is on by default; a non-boolean, or an echo for coordinates that are off, is refused naming the fix', () => {
  const defaults = { name: 'n', generation: 1 }
  assert.equal(resolveNodeSettingsOrThrow({ name: 'n' }, defaults).coordinateEcho, true)
  assert.equal(resolveNodeSettingsOrThrow({ name: 'n', coordinateEcho: false }, defaults).coordinateEcho, false)
  assert.throws(() => resolveNodeSettingsOrThrow({ name: 'n', coordinateEcho: 'yes' as unknown as boolean }, defaults), /coordinateEcho: expected true .* or false .*got "yes"/)
  assert.throws(() => resolveNodeSettingsOrThrow({ name: 'n', coordinates: false, coordinateEcho: true }, defaults), /coordinateEcho: network coordinates are off here .*remove coordinateEcho/)
})
