import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import {
  decodeStateMessage,
  encodedSize,
  encodeStateMessage,
  StateMessageKind,
  STATE_LIMITS,
  type NodeDelta,
  type StateMessage,
} from '../../src/state/messages.js'

const delta: NodeDelta = {
  node: 'node-1',
  generation: 1_700_000_000_123,
  heartbeat: 42,
  lastGcVersion: 3,
  fromVersion: 4,
  toVersion: 300,
  entries: [
    { key: 'load', version: 5, value: '0.42' },
    { key: 'gone', version: 6, value: null },
    { key: 'ünïcode', version: 299, value: 'x'.repeat(40) },
  ],
}

const samples: StateMessage[] = [
  { kind: 'syn', windowStart: '', windowEnd: '', digests: [{ node: 'a', generation: 1, heartbeat: 2, maxVersion: 3, lastGcVersion: 0 }] },
  { kind: 'syn', windowStart: 'node-5', windowEnd: 'node-2', digests: [] },
  { kind: 'syn', windowStart: 'n', windowEnd: 'p', digests: [{ node: 'a', generation: 1, heartbeat: 2, maxVersion: 3, lastGcVersion: 0 }], summary: { hash: 2 ** 53 - 1, heartbeats: [0, 200, 70_000, 2 ** 40] } },
  { kind: 'syn', windowStart: '', windowEnd: '', digests: [], summary: { hash: 0, heartbeats: [] } },
  { kind: 'ack', digests: [{ node: 'b', generation: 2 ** 40, heartbeat: 70_000, maxVersion: 200, lastGcVersion: 100 }], deltas: [delta] },
  { kind: 'ack2', deltas: [delta, { ...delta, node: 'node-2', entries: [] }] },
  { kind: 'full', deltas: [{ ...delta, fromVersion: 0 }] },
]

function decodeOk(bytes: Uint8Array, max?: number): StateMessage {
  const r = decodeStateMessage(bytes, max)
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  return r.value
}

test('every message kind round-trips and encodedSize is exact', () => {
  for (const m of samples) {
    const bytes = encodeStateMessage(m)
    assert.equal(bytes[0], StateMessageKind[m.kind])
    assert.equal(bytes.length, encodedSize(m), m.kind)
    assert.deepEqual(decodeOk(bytes), m)
  }
})

test('a tombstone travels as nil and an entry costs a few bytes beyond its key and value', () => {
  const m: StateMessage = { kind: 'ack2', deltas: [{ node: 'n', generation: 1, heartbeat: 1, lastGcVersion: 0, fromVersion: 0, toVersion: 2, entries: [{ key: 'k', version: 1, value: null }, { key: 'k2', version: 2, value: 'v' }] }] }
  const bytes = encodeStateMessage(m)
  // kind, [ [ [n,1,1,0,0,2,[ [k,1,nil], [k2,2,v] ]] ] ]
  assert.deepEqual([...bytes], [0x03, 0x91, 0x91, 0x97, 0xa1, 0x6e, 1, 1, 0, 0, 2, 0x92, 0x93, 0xa1, 0x6b, 1, 0xc0, 0x93, 0xa2, 0x6b, 0x32, 2, 0xa1, 0x76])
})

test('decode rejects malformed input with a typed reason and never throws', () => {
  const reason = (bytes: Uint8Array, max?: number): string => {
    const r = decodeStateMessage(bytes, max)
    assert.equal(r.ok, false)
    return r.ok ? '' : r.error.reason
  }
  assert.equal(reason(new Uint8Array(0)), 'empty')
  assert.equal(reason(Uint8Array.of(0x09, 0x90)), 'unknown-type')
  const good = encodeStateMessage(samples[2])
  assert.equal(reason(Uint8Array.of(...good, 0x00)), 'trailing-bytes')
  assert.equal(reason(good, good.length - 1), 'too-large')
  for (let cut = 1; cut < good.length; cut++) assert.equal(reason(good.subarray(0, cut)), 'truncated', `cut at ${cut}`)
  const bad = (m: StateMessage): string => reason(encodeStateMessage(m))
  const withEntries = (entries: NodeDelta['entries'], extra: Partial<NodeDelta> = {}): StateMessage => ({ kind: 'ack2', deltas: [{ ...delta, ...extra, entries }] })
  assert.equal(bad(withEntries([{ key: 'a', version: 9, value: 'x' }, { key: 'b', version: 8, value: 'x' }])), 'bad-field')
  assert.equal(bad(withEntries([{ key: 'a', version: 4, value: 'x' }])), 'bad-field', 'at fromVersion')
  assert.equal(bad(withEntries([{ key: 'a', version: 301, value: 'x' }])), 'bad-field', 'above toVersion')
  assert.equal(bad(withEntries([{ key: 'a', version: 5, value: 'x' }, { key: 'a', version: 6, value: 'y' }])), 'bad-field', 'repeated key')
  assert.equal(bad(withEntries([{ key: '', version: 5, value: 'x' }])), 'bad-field', 'empty key')
  assert.equal(bad(withEntries([], { toVersion: 3 })), 'bad-field', 'toVersion below fromVersion')
  assert.equal(bad({ kind: 'full', deltas: [delta] }), 'bad-field', 'full state not from 0')
  assert.equal(bad({ kind: 'ack2', deltas: [delta, delta] }), 'bad-field', 'repeated node')
  assert.equal(bad({ kind: 'ack2', deltas: [{ ...delta, node: '' }] }), 'bad-field', 'empty node')
  const d = { node: 'a', generation: 1, heartbeat: 1, maxVersion: 1, lastGcVersion: 0 }
  assert.equal(bad({ kind: 'syn', windowStart: '', windowEnd: '', digests: [d, d] }), 'bad-field')
  // A Syn has 3 fields (window listed) or 5 (window summarised), nothing else; its heartbeats are bounded.
  assert.equal(reason(Uint8Array.of(0x01, 0x94, 0xa0, 0xa0, 0x90, 0x00)), 'bad-field', 'syn of 4 fields')
  assert.equal(reason(Uint8Array.of(0x01, 0x95, 0xa0, 0xa0, 0x90, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff)), 'truncated', 'heartbeats announced')
  assert.equal(reason(Uint8Array.of(0x01, 0x95, 0xa0, 0xa0, 0x90, 0x00, 0x91, 0xa1, 0x61)), 'bad-field', 'heartbeat not a number')
  assert.equal(reason(Uint8Array.of(0x01, 0x95, 0xa0, 0xa0, 0x90, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x90)), 'bad-field', 'hash not a uint')
  // An array announcing more items than the bytes can hold is refused before allocation.
  assert.equal(reason(Uint8Array.of(0x03, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff)), 'truncated')
  // A map where an array belongs, a float where a version belongs.
  assert.equal(reason(Uint8Array.of(0x03, 0x81, 0xa1, 0x61, 0x01)), 'bad-field')
  assert.equal(reason(Uint8Array.of(0x01, 0x93, 0xa0, 0xa0, 0x91, 0x95, 0xa1, 0x61, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0)), 'bad-field')
  assert.equal(reason(Uint8Array.of(0x03, 0x91, 0xc1)), 'bad-msgpack')
})

test('a full state may exceed a packet only when decoded with the stream bound', () => {
  const entries = Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, version: i + 1, value: 'v'.repeat(10) }))
  const full: StateMessage = { kind: 'full', deltas: [{ ...delta, fromVersion: 0, toVersion: 5000, entries }] }
  const bytes = encodeStateMessage(full)
  assert.ok(bytes.length > STATE_LIMITS.packetMaxBytes)
  assert.equal(decodeStateMessage(bytes).ok, false)
  assert.deepEqual(decodeOk(bytes, STATE_LIMITS.fullStateMaxBytes), full)
})

test('fuzz: mutated messages decode or fail with a reason, never throw, never internal', () => {
  const rng = new SeededRng(11)
  const seeds = samples.map(encodeStateMessage)
  fc.assert(
    fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (which, edits) => {
      const bytes = seeds[which].slice()
      for (const [at, b] of edits) bytes[at % bytes.length] = b
      const r = decodeStateMessage(bytes.subarray(0, bytes.length - rng.int(3)))
      if (!r.ok) assert.notEqual(r.error.reason, 'internal', r.error.message)
      // Whatever was accepted re-encodes to bytes that decode to the same message.
      else assert.deepEqual(decodeOk(encodeStateMessage(r.value)), r.value)
    }),
    { seed: 5, numRuns: 3000 },
  )
})
