import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeRumorMessage, encodeRumorMessage, type RumorMessage, type WireRumor } from '../../src/gossip/messages.js'

const REASONS = new Set(['empty', 'too-large', 'truncated', 'unknown-type', 'bad-field', 'trailing-bytes'])

const nodeName = fc.string({ minLength: 1, maxLength: 20 })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const wireRumor: fc.Arbitrary<WireRumor> = fc.record({
  origin: nodeName,
  epoch: u32,
  seq: u32,
  ageMs: u32,
  hops: fc.integer({ min: 0, max: 255 }),
  name: fc.string({ maxLength: 30 }),
  payload: fc.uint8Array({ maxLength: 200 }),
})
const id = fc.record({ origin: fc.constantFrom('a', 'b', 'node-é'), epoch: fc.constantFrom(0, 7, 0xffffffff), seq: u32 })
const message: fc.Arbitrary<RumorMessage> = fc.oneof(
  fc.record({
    kind: fc.constant('rumors' as const),
    pull: fc.boolean(),
    ackWanted: fc.boolean(),
    repair: fc.boolean(),
    rumors: fc.array(wireRumor, { maxLength: 5 }),
    known: fc.array(id, { maxLength: 20 }),
  }),
  fc.record({ kind: fc.constant('reply' as const), had: fc.array(id, { maxLength: 20 }), rumors: fc.array(wireRumor, { maxLength: 5 }) }),
)

/** Ids come back grouped by (origin, epoch): compare as sorted multisets. */
function normalise(m: RumorMessage): unknown {
  const ids = (m.kind === 'rumors' ? m.known : m.had).map((i) => `${i.origin}/${i.epoch}.${i.seq}`).sort()
  return { ...m, known: undefined, had: undefined, ids, rumors: m.rumors.map((r) => ({ ...r, payload: [...r.payload] })) }
}

test('every message round-trips through encode and decode unchanged', () => {
  fc.assert(
    fc.property(message, (m) => {
      const bytes = encodeRumorMessage(m)
      const back = decodeRumorMessage(bytes)
      assert.ok(back.ok, back.ok ? '' : back.error.message)
      assert.deepEqual(normalise(back.value), normalise(m))
    }),
    { numRuns: 300 },
  )
})

test('decode rejects random bytes with a reason and never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = decodeRumorMessage(bytes)
      if (!r.ok) assert.ok(REASONS.has(r.error.reason), `unexpected reason ${r.error.reason}: ${r.error.message}`)
    }),
    { numRuns: 2000 },
  )
})

test('decode rejects mutated and truncated valid messages with a reason', () => {
  fc.assert(
    fc.property(message, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (m, at, value, cut) => {
      const bytes = encodeRumorMessage(m)
      const mutated = bytes.slice()
      mutated[at % mutated.length] = value
      for (const input of [mutated, bytes.subarray(0, cut % bytes.length)]) {
        const r = decodeRumorMessage(input)
        if (!r.ok) assert.ok(REASONS.has(r.error.reason), `unexpected reason ${r.error.reason}: ${r.error.message}`)
      }
      if (bytes.length > 4) {
        const r = decodeRumorMessage(bytes.subarray(0, bytes.length - 1))
        assert.equal(r.ok, false)
      }
    }),
    { numRuns: 1000 },
  )
})

test('decode names the reason for each kind of junk', () => {
  const valid = encodeRumorMessage({ kind: 'reply', had: [{ origin: 'a', epoch: 1, seq: 2 }], rumors: [] })
  const reason = (bytes: number[] | Uint8Array): string => {
    const r = decodeRumorMessage(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes))
    return r.ok ? 'ok' : r.error.reason
  }
  assert.equal(reason(valid), 'ok')
  assert.equal(reason([]), 'empty')
  assert.equal(reason(new Uint8Array(70_000)), 'too-large')
  assert.equal(reason([0x09, 0, 0, 0]), 'unknown-type')
  assert.equal(reason([0x01, 0x80, 0, 0]), 'bad-field', 'unknown flag bit')
  assert.equal(reason([0x02, 0x01, 0, 0]), 'bad-field', 'flags on a reply')
  assert.equal(reason([0x01, 0x00, 0x01]), 'truncated')
  assert.equal(reason([...valid, 0]), 'trailing-bytes')
  // An id group with a non-minimal varint seq (0x80 0x00), an empty group, an empty origin, bad UTF-8.
  assert.equal(reason([0x02, 0, 0, 1, 1, 0x61, 0, 0, 0, 1, 0, 1, 0x80, 0x00]), 'bad-field')
  assert.equal(reason([0x02, 0, 0, 1, 1, 0x61, 0, 0, 0, 1, 0, 0]), 'bad-field')
  assert.equal(reason([0x02, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 5]), 'bad-field')
  assert.equal(reason([0x02, 0, 0, 1, 1, 0xff, 0, 0, 0, 1, 0, 1, 5]), 'bad-field')
  // A varint over 2^32 - 1.
  assert.equal(reason([0x02, 0, 0, 1, 1, 0x61, 0, 0, 0, 1, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f]), 'bad-field')
  // An id count claiming more ids than bytes present, and more ids than allowed.
  assert.equal(reason([0x02, 0, 0, 1, 1, 0x61, 0, 0, 0, 1, 0x0f, 0xff]), 'truncated')
  assert.equal(reason([0x02, 0, 0, 1, 1, 0x61, 0, 0, 0, 1, 0xff, 0xff]), 'too-large')
})
