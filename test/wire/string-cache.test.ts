/**
 * The msgpack reader's table of decoded short strings: equal bytes give the same text whether the
 * table hits, misses or has just grown, and a process that meets many distinct names (the simulator's
 * 10,000 overlay peers) gets a table that holds them.
 *
 *   bytes ──decodeUtf8──▶ hit: the stored string │ miss: decoded, stored │ too many misses: table doubles
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeUtf8, stringCacheSlots } from '../../src/wire/msgpack-reader.js'

const enc = new TextEncoder()

test('decoded names are right before, during and after the table grows, non-ASCII ones too', () => {
  const names = Array.from({ length: 40_000 }, (_, i) => (i % 97 === 0 ? `nœud-${i}` : `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}:7946`))
  const bytes = names.map((n) => enc.encode(n))
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < names.length; i++) {
      const j = (i * 7919 + round) % names.length
      assert.equal(decodeUtf8(bytes[j], 0, bytes[j].length), names[j])
    }
  }
  // A name inside a larger buffer decodes from its own bytes only.
  const framed = enc.encode(`xx${names[123]}yy`)
  assert.equal(decodeUtf8(framed, 2, framed.length - 2), names[123])
  assert.equal(decodeUtf8(framed, 0, 0), '')
})

test('a process that meets 40,000 distinct names repeatedly gets a table that holds them', () => {
  const names = Array.from({ length: 40_000 }, (_, i) => `peer-${i}.example:7946`)
  const bytes = names.map((n) => enc.encode(n))
  for (let round = 0; round < 8; round++) for (const b of bytes) assert.equal(decodeUtf8(b, 0, b.length).length, b.length)
  assert.ok(stringCacheSlots() >= 65_536, `table of ${stringCacheSlots()} slots`)
  assert.ok(stringCacheSlots() <= 262_144)
})
