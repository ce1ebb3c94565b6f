import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as zlib from 'node:zlib'
import { addCrc, crc32, verifyCrc } from '../../src/wire/crc32.js'
import { decodePacket, encodeMessage } from '../../src/wire/codec.js'
import { hex } from './helpers.js'

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

test('CRC-32/IEEE check value: crc32("123456789") = cbf43926', () => {
  assert.equal(crc32(ascii('123456789')), 0xcbf43926)
  assert.equal(crc32(new Uint8Array(0)), 0)
})

test('property: the table computes what zlib computes', (t) => {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
  if (native === undefined) return t.skip('this Node has no zlib.crc32 (before 20.15)')
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
      assert.equal(crc32(b), native(b) >>> 0)
    }),
  )
})

test('addCrc writes [12][crc32 big-endian][payload] and verifyCrc strips it', () => {
  const payload = ascii('123456789')
  const wrapped = addCrc(payload)
  assert.equal(hex(wrapped), '0ccbf43926' + hex(payload))
  const v = verifyCrc(wrapped)
  assert.ok(v.ok)
  assert.equal(hex(v.value), hex(payload))
})

test('verifyCrc: wrong checksum, short header and a non-CRC message are typed errors', () => {
  const wrapped = addCrc(ascii('abc'))
  wrapped[4] ^= 1
  const bad = verifyCrc(wrapped)
  assert.ok(!bad.ok)
  assert.equal(bad.error.reason, 'bad-crc')
  const short = verifyCrc(new Uint8Array([12, 0, 0]))
  assert.ok(!short.ok)
  assert.equal(short.error.reason, 'truncated')
  const other = verifyCrc(new Uint8Array([7, 0]))
  assert.ok(!other.ok)
  assert.equal(other.error.reason, 'not-supported')
})

test('a CRC-wrapped packet decodes; every single-bit flip is rejected with bad-crc and no messages', () => {
  const msg = encodeMessage({ type: 'ping', seqNo: 77, node: 'n1', sourceNode: 'n2', sourcePort: 7946 })
  const packet = addCrc(msg)
  const good = decodePacket(packet)
  assert.deepEqual(good.errors, [])
  assert.equal(good.messages.length, 1)
  for (let byte = 1; byte < packet.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const flipped = packet.slice()
      flipped[byte] ^= 1 << bit
      const r = decodePacket(flipped)
      assert.equal(r.messages.length, 0, `flip ${byte}.${bit}`)
      assert.equal(r.errors.length, 1)
      assert.equal(r.errors[0].reason, 'bad-crc')
    }
  }
})
