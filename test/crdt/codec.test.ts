/**
 * The CRDT codec refuses bad input with a reason and never throws: every truncation, random bytes,
 * a state that is not canonical or breaks the causal invariant, an unknown type or format, trailing bytes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { GCounter, HybridClock, ORMap, ORSet, decodeCrdt, encodeCrdt } from '../../src/crdt/index.js'
import { encodeMsgpack } from '../../src/wire/msgpack-writer.js'

function sample(): Uint8Array {
  const m = new ORMap()
  m.increment('a', 'hits', 3)
  m.addElement('b', 'tags', 'x')
  m.enable('a', 'on')
  m.assign('c', 'reg', 'v')
  m.assignLww('a', 'owner', 'me', new HybridClock(), 1_700_000_000_000)
  m.removeElement('tags', 'x')
  return encodeCrdt(m)
}

test('every proper prefix of an encoding is rejected as truncated or malformed, never thrown', () => {
  const bytes = sample()
  for (let n = 0; n < bytes.length; n++) {
    const r = decodeCrdt(bytes.subarray(0, n))
    assert.equal(r.ok, false, `prefix of ${n} bytes accepted`)
    if (!r.ok) assert.notEqual(r.error.reason, 'internal', r.error.message)
  }
  assert.equal(decodeCrdt(bytes).ok, true)
})

test('random bytes and random mutations of a valid encoding never throw nor hit an internal error', () => {
  const valid = sample()
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), (junk, flips) => {
      const r1 = decodeCrdt(junk)
      if (!r1.ok) assert.notEqual(r1.error.reason, 'internal', r1.error.message)
      const mutated = valid.slice()
      for (const [i, v] of flips) mutated[i % mutated.length] = v
      const r2 = decodeCrdt(mutated)
      if (!r2.ok) assert.notEqual(r2.error.reason, 'internal', r2.error.message)
    }),
    { numRuns: 2000, seed: 16 },
  )
})

test('trailing bytes, an unknown type, another format and the wrong expected type are named', () => {
  const c = new GCounter()
  c.increment('a', 2)
  const bytes = encodeCrdt(c)
  const trailing = decodeCrdt(Uint8Array.from([...bytes, 0]))
  assert.equal(!trailing.ok && trailing.error.reason, 'trailing-bytes')
  const unknown = decodeCrdt(encodeMsgpack([1, 99, []]))
  assert.match(!unknown.ok ? unknown.error.message : '', /CRDT type 99 is unknown/)
  const format = decodeCrdt(encodeMsgpack([2, 1, []]))
  assert.match(!format.ok ? format.error.message : '', /format 2; this build reads format 1/)
  const wrong = decodeCrdt(bytes, 'or-set')
  assert.match(!wrong.ok ? wrong.error.message : '', /expected a or-set, got a g-counter/)
  assert.equal(decodeCrdt(new Uint8Array(0)).ok ? '' : 'empty', 'empty')
})

test('a dot outside the causal context, an unsorted or duplicated entry, or a zero total is refused', () => {
  // [format, or-set, [context [[a, 1, []]], [x, [[a, [2, nil]]]]]]: dot (a, 2) was never seen
  const outside = decodeCrdt(encodeMsgpack([1, 5, [[['a', 1, []]], ['x', [['a', [2, null]]]]]]))
  assert.match(!outside.ok ? outside.error.message : '', /dot \(a, 2\) is not in the causal context/)
  const unsorted = decodeCrdt(encodeMsgpack([1, 1, [['b', 1], ['a', 1]]]))
  assert.match(!unsorted.ok ? unsorted.error.message : '', /not in strictly ascending order/)
  const dup = decodeCrdt(encodeMsgpack([1, 1, [['a', 1], ['a', 2]]]))
  assert.equal(dup.ok, false)
  const zero = decodeCrdt(encodeMsgpack([1, 1, [['a', 0]]]))
  assert.match(!zero.ok ? zero.error.message : '', /is zero/)
  const cloud = decodeCrdt(encodeMsgpack([1, 6, [[['a', 1, [2]]], []]]))
  assert.match(!cloud.ok ? cloud.error.message : '', /not canonical/)
})

test('an oversized announced count is refused before anything is allocated', () => {
  // array32 header announcing 4 billion entries with 3 bytes behind it
  const r = decodeCrdt(Uint8Array.from([0x93, 0x01, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90, 0x90, 0x90]))
  assert.equal(r.ok, false)
  assert.equal(!r.ok && r.error.reason, 'too-large')
})

test('equal states built in different orders encode to identical bytes', () => {
  const a = new ORSet()
  const b = new ORSet()
  const d1 = a.add('n1', 'x')
  const d2 = b.add('n2', 'y')
  const d3 = b.add('n2', 'z')
  a.merge(d3).merge(d2)
  b.merge(d1)
  assert.deepEqual(encodeCrdt(a), encodeCrdt(b))
})
