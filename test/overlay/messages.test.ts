// The overlay codec: every message round-trips, and hostile bytes are dropped with a named reason.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeOverlayMessage, encodeOverlayMessage, type OverlayMessage } from '../../src/overlay/messages.js'

const id = '00112233445566778899aabbccddeeff'
const samples: OverlayMessage[] = [
  { kind: 'join', from: '10.0.0.1:7946' },
  { kind: 'forwardJoin', from: 'a', newPeer: 'b', ttl: 6 },
  { kind: 'neighbor', from: 'a', highPriority: true },
  { kind: 'neighborReply', from: 'a', accepted: false },
  { kind: 'disconnect', from: 'a', leaving: true },
  { kind: 'shuffle', from: 'a', origin: 'o', ttl: 5, peers: ['o', 'x', 'y'] },
  { kind: 'shuffleReply', from: 'a', peers: [] },
  { kind: 'ping', from: 'a' },
  { kind: 'gossip', from: 'a', id, hops: 3, payload: Uint8Array.of(1, 2, 3) },
  { kind: 'ihave', from: 'a', entries: [{ id, hops: 2 }, { id: id.replace('00', 'ff'), hops: 9 }] },
  { kind: 'graft', from: 'a', ids: [id] },
  { kind: 'prune', from: 'a' },
]

test('every overlay message decodes to what was encoded', () => {
  for (const m of samples) {
    const r = decodeOverlayMessage(encodeOverlayMessage(m))
    assert.ok(r.ok, `${m.kind}: ${r.ok ? '' : r.error.message}`)
    assert.deepEqual(r.value, m)
  }
})

test('malformed overlay messages are refused with a named reason, never thrown', () => {
  const reasonOf = (b: Uint8Array): string => {
    const r = decodeOverlayMessage(b)
    assert.ok(!r.ok)
    return r.error.reason
  }
  assert.equal(reasonOf(new Uint8Array(0)), 'empty')
  assert.equal(reasonOf(Uint8Array.of(0x92, 99, 0xa1, 0x61)), 'unknown-type')
  assert.equal(reasonOf(Uint8Array.of(0x93, 1, 0xa1, 0x61, 0)), 'bad-field') // JOIN with an extra field
  assert.equal(reasonOf(Uint8Array.of(0x92, 1, 0xa0)), 'bad-field') // empty sender
  const join = encodeOverlayMessage({ kind: 'join', from: 'a' })
  assert.equal(reasonOf(Uint8Array.of(...join, 0)), 'trailing-bytes')
  assert.equal(reasonOf(join.subarray(0, join.length - 1)), 'truncated')
  const big = encodeOverlayMessage({ kind: 'gossip', from: 'a', id, hops: 1, payload: new Uint8Array(2000) })
  assert.equal(decodeOverlayMessage(big, 1024).ok, false)
  assert.equal(reasonOf(new Uint8Array(70_000)), 'too-large')
})

test('random bytes and mutated messages never throw and never decode as internal errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const r = decodeOverlayMessage(bytes)
      if (!r.ok) assert.notEqual(r.error.reason, 'internal', r.error.message)
    }),
    { numRuns: 2000, seed: 15 },
  )
  fc.assert(
    fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), (m, at, value) => {
      const bytes = encodeOverlayMessage(m)
      bytes[at % bytes.length] = value
      const r = decodeOverlayMessage(bytes)
      if (!r.ok) assert.notEqual(r.error.reason, 'internal', r.error.message)
    }),
    { numRuns: 2000, seed: 16 },
  )
})
