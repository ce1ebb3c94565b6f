import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { lzwCompress, lzwDecompress } from '../../src/wire/lzw.js'
import { crc32 } from '../../src/wire/crc32.js'
import { GO_HEX, GO_LZW } from './golden.js'
import { bytes, hex, xorshiftBytes } from './helpers.js'

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

function roundTrip(input: Uint8Array, leadingClear = false): void {
  const c = lzwCompress(input, { leadingClear })
  const d = lzwDecompress(c, input.length + 1)
  assert.ok(d.ok, d.ok ? '' : d.error.message)
  assert.equal(hex(d.value), hex(input))
}

test('spec vectors: empty input is 01 01 and "a" is 61 02 02 (no leading clear code)', () => {
  assert.equal(hex(lzwCompress(new Uint8Array(0))), '0101')
  assert.equal(hex(lzwCompress(ascii('a'))), '610202')
})

test('Go 1.19 vectors: with leadingClear, "" is 00 03 02 and "a" is 00 c3 04 04', () => {
  assert.equal(hex(lzwCompress(new Uint8Array(0), { leadingClear: true })), GO_HEX['lzw-empty'])
  assert.equal(hex(lzwCompress(ascii('a'), { leadingClear: true })), GO_HEX['lzw-a'])
})

test('output is byte-identical to Go 1.19 compress/lzw on every golden input, table resets included', () => {
  for (const v of GO_LZW) {
    const input = xorshiftBytes(v.seed, v.n, v.alphabet)
    const c = lzwCompress(input, { leadingClear: true })
    assert.equal(c.length, v.outLength, `${v.name} length`)
    assert.equal(crc32(c), v.outCrc, `${v.name} crc`)
    if (GO_HEX[v.name] !== undefined) assert.equal(hex(c), GO_HEX[v.name], v.name)
  }
})

test('Go-compressed golden streams decompress to their inputs', () => {
  for (const v of GO_LZW) {
    const hexText = GO_HEX[v.name]
    if (hexText === undefined) continue
    const d = lzwDecompress(bytes(hexText), 1 << 20)
    assert.ok(d.ok)
    assert.equal(hex(d.value), hex(xorshiftBytes(v.seed, v.n, v.alphabet)), v.name)
  }
})

test('both writer forms round-trip on every golden input', () => {
  for (const v of GO_LZW) {
    const input = xorshiftBytes(v.seed, v.n, v.alphabet)
    roundTrip(input, false)
    roundTrip(input, true)
  }
})

test('inputs above 4 KB and highly compressible ones (forcing table resets) round-trip', () => {
  const zeros = new Uint8Array(200_000)
  roundTrip(zeros)
  const pattern = new Uint8Array(50_000).map((_, i) => (i * 7) % 13)
  roundTrip(pattern)
  roundTrip(xorshiftBytes(42, 10_000, 256))
  roundTrip(xorshiftBytes(43, 100_000, 3))
  // 4095 - 258 codes fill the table; compressible input passes that boundary many times.
  const c = lzwCompress(zeros)
  assert.ok(c.length < 2000, `200 KB of zeros compresses to ${c.length} bytes`)
})

test('KwKwK sequences (a code used in the step that defines it) round-trip', () => {
  roundTrip(ascii('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'))
  roundTrip(ascii('abababababababababababababababababab'))
  roundTrip(ascii('abcabcabcabcabcabcabcabcabcabcaaaaaaaabbbbbbbbbb'))
})

test('property: random inputs round-trip, with and without the leading clear code', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.constantFrom(0, 1, 2, 255), { maxLength: 9000 }).map((a) => new Uint8Array(a)),
      ),
      fc.boolean(),
      (input, leadingClear) => roundTrip(input, leadingClear),
    ),
    { numRuns: 300 },
  )
})

test('decompression is bounded: output beyond maxOutputBytes is a typed too-large error', () => {
  const c = lzwCompress(new Uint8Array(10_000))
  const ok = lzwDecompress(c, 10_000)
  assert.ok(ok.ok)
  const tooSmall = lzwDecompress(c, 9_999)
  assert.ok(!tooSmall.ok)
  assert.equal(tooSmall.error.reason, 'too-large')
  const tiny = lzwDecompress(lzwCompress(ascii('hello')), 4)
  assert.ok(!tiny.ok)
  assert.equal(tiny.error.reason, 'too-large')
})

test('bad code streams give bad-compression: missing EOF, a code beyond the table, empty input', () => {
  const c = lzwCompress(ascii('hello world'))
  const noEof = lzwDecompress(c.subarray(0, c.length - 2), 100)
  assert.ok(!noEof.ok)
  assert.equal(noEof.error.reason, 'bad-compression')
  // First code 0x1ff (511): far beyond the next free code 258.
  const beyond = lzwDecompress(bytes('ff 01'), 100)
  assert.ok(!beyond.ok)
  assert.equal(beyond.error.reason, 'bad-compression')
  const empty = lzwDecompress(new Uint8Array(0), 100)
  assert.ok(!empty.ok)
  assert.equal(empty.error.reason, 'bad-compression')
})

test('bytes after the EOF code are ignored, as Go does', () => {
  const d = lzwDecompress(bytes('61 02 02 ff ff ff'), 100)
  assert.ok(d.ok)
  assert.equal(hex(d.value), '61')
})

test('clear codes anywhere are honoured', () => {
  // clear, 'a', clear, 'b', eof, all 9 bits.
  const codes = [256, 97, 256, 98, 257]
  let bits = 0n
  codes.forEach((c, i) => (bits |= BigInt(c) << BigInt(9 * i)))
  const out = new Uint8Array(Math.ceil((9 * codes.length) / 8))
  for (let i = 0; i < out.length; i++) out[i] = Number((bits >> BigInt(8 * i)) & 0xffn)
  const d = lzwDecompress(out, 100)
  assert.ok(d.ok)
  assert.equal(new TextDecoder().decode(d.value), 'ab')
})

test('property: arbitrary bytes never make lzwDecompress throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 100_000 }), (input, max) => {
      const d = lzwDecompress(input, max)
      if (d.ok) assert.ok(d.value.length <= max)
      else assert.ok(['bad-compression', 'too-large'].includes(d.error.reason), d.error.reason)
    }),
    { numRuns: 2000 },
  )
})

test('property: corrupted valid streams never make lzwDecompress throw or exceed the bound', () => {
  const base = lzwCompress(xorshiftBytes(7, 6000, 5))
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(base.length),
      (edits, cut) => {
        const mutated = base.slice(0, Math.max(1, cut))
        for (const [i, v] of edits) if (i < mutated.length) mutated[i] = v
        const d = lzwDecompress(mutated, 20_000)
        if (d.ok) assert.ok(d.value.length <= 20_000)
        else assert.ok(['bad-compression', 'too-large'].includes(d.error.reason), d.error.reason)
      },
    ),
    { numRuns: 2000 },
  )
})
