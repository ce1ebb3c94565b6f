import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decode as oracleDecode, encode as oracleEncode } from '@msgpack/msgpack'
import { MsgpackFloat64, MsgpackWriter, compareUtf8, encodeMsgpack, type MsgpackValue } from '../../src/wire/msgpack-writer.js'
import { msgpackObjectLength } from '../../src/wire/msgpack-scan.js'
import { DecodeError } from '../../src/wire/decode-error.js'
import { InvariantError } from '../../src/core/assert.js'
import { bytes, hex } from './helpers.js'

function write(f: (w: MsgpackWriter) => void): string {
  const w = new MsgpackWriter(8)
  f(w)
  return hex(w.finish())
}

test('integers use the smallest form whatever the Go width: 7946 = cd 1f 0a, 80 = 50', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [80, '50'],
    [127, '7f'],
    [128, 'cc80'],
    [255, 'ccff'],
    [256, 'cd0100'],
    [7946, 'cd1f0a'],
    [65535, 'cdffff'],
    [65536, 'ce00010000'],
    [0xffffffff, 'ceffffffff'],
    [0x100000000, 'cf0000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff'],
    [-1, 'ff'],
    [-32, 'e0'],
    [-33, 'd0df'],
    [-128, 'd080'],
    [-129, 'd1ff7f'],
    [-32768, 'd18000'],
    [-32769, 'd2ffff7fff'],
    [-2147483648, 'd280000000'],
    [-2147483649, 'd3ffffffff7fffffff'],
  ]
  for (const [v, want] of cases) assert.equal(write((w) => w.int(v)), want, String(v))
})

test('strings are written as fixstr below 32 bytes, str16 (da) from 32, str32 (db) from 65536, never str8 (d9)', () => {
  assert.equal(write((w) => w.str('')), 'a0')
  assert.equal(write((w) => w.str('a'.repeat(31))), 'bf' + '61'.repeat(31))
  assert.equal(write((w) => w.str('a'.repeat(32))), 'da0020' + '61'.repeat(32))
  assert.equal(write((w) => w.str('a'.repeat(255))).slice(0, 6), 'da00ff')
  assert.equal(write((w) => w.str('a'.repeat(65535))).slice(0, 6), 'daffff')
  assert.equal(write((w) => w.str('a'.repeat(65536))).slice(0, 10), 'db00010000')
  // 11 two-byte characters: 22 bytes (fixstr); 16 of them: 32 bytes (str16).
  assert.equal(write((w) => w.str('é'.repeat(11))).slice(0, 2), 'b6')
  assert.equal(write((w) => w.str('é'.repeat(16))).slice(0, 6), 'da0020')
  assert.equal(write((w) => w.str('a€😀')), 'a8' + '61' + 'e282ac' + 'f09f9880')
  assert.equal(write((w) => w.str('\ud800')), 'a3efbfbd', 'lone surrogate becomes U+FFFD like TextEncoder')
})

test('byte fields are written in the str family, not bin; nil is c0, empty is a0', () => {
  assert.equal(write((w) => w.bytes(new Uint8Array([127, 0, 0, 1]))), 'a47f000001')
  assert.equal(write((w) => w.bytes(new Uint8Array(130))).slice(0, 6), 'da0082')
  assert.equal(write((w) => w.bytesOrNil(null)), 'c0')
  assert.equal(write((w) => w.bytesOrNil(new Uint8Array(0))), 'a0')
})

test('bool, nil, float64 and array and map headers are written in their smallest msgpack form', () => {
  assert.equal(write((w) => w.bool(true)), 'c3')
  assert.equal(write((w) => w.bool(false)), 'c2')
  assert.equal(write((w) => w.nil()), 'c0')
  assert.equal(write((w) => w.float64(1.5)), 'cb3ff8000000000000')
  assert.equal(write((w) => w.float64(1e-5)), 'cb3ee4f8b588e368f1')
  assert.equal(write((w) => w.arrayHeader(15)), '9f')
  assert.equal(write((w) => w.arrayHeader(16)), 'dc0010')
  assert.equal(write((w) => w.arrayHeader(65536)), 'dd00010000')
  assert.equal(write((w) => w.mapHeader(15)), '8f')
  assert.equal(write((w) => w.mapHeader(16)), 'de0010')
  assert.equal(write((w) => w.mapHeader(65536)), 'df00010000')
})

test('value(): objects become maps with keys in byte-wise order and undefined entries omitted', () => {
  const out = hex(encodeMsgpack({ b: 1, Vsn: new Uint8Array([1]), a: undefined, B: null, Z: [true, 'x'] }))
  // B < Vsn < Z < b (byte order, upper case first); a omitted.
  assert.equal(out, '84' + 'a142c0' + 'a356736ea101' + 'a15a92c3a178' + 'a16201')
  assert.equal(hex(encodeMsgpack(new Map([['y', 1], ['x', 2]]))), '82a17802a17901')
  assert.equal(hex(encodeMsgpack(new MsgpackFloat64(2))), 'cb4000000000000000')
  assert.equal(hex(encodeMsgpack(2.5)), 'cb4004000000000000')
})

test('compareUtf8 orders by code point (UTF-8 byte order), including astral characters', () => {
  const words = ['b', 'a', 'ab', '', '\uffff', '😀', 'é', 'Z']
  const sorted = [...words].sort(compareUtf8)
  const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
  assert.deepEqual(sorted, byBytes)
})

test('invalid numbers are programmer errors (InvariantError), never silently floats', () => {
  assert.throws(() => write((w) => w.uint(-1)), InvariantError)
  assert.throws(() => write((w) => w.uint(1.5)), InvariantError)
  assert.throws(() => write((w) => w.uint(Number.NaN)), InvariantError)
  assert.throws(() => write((w) => w.uintMax(70000, 0xffff)), InvariantError)
  assert.throws(() => write((w) => w.int(-1.5)), InvariantError)
})

const valueArb: fc.Arbitrary<MsgpackValue> = fc.letrec<{ v: MsgpackValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 20 }),
  ),
})).v

/** What @msgpack/msgpack decodes our output to: bytes come back as strings' raw bytes (rawStrings). */
function expected(v: MsgpackValue): unknown {
  if (typeof v === 'string') return new TextEncoder().encode(v)
  if (Array.isArray(v)) return v.map(expected)
  if (v instanceof Uint8Array) return v
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = expected(x as MsgpackValue)
    return o
  }
  return v
}

test('property: an independent decoder (@msgpack/msgpack) reads back what the writer wrote', () => {
  fc.assert(
    fc.property(valueArb, (v) => {
      const out = encodeMsgpack(v)
      const back = oracleDecode(out, { rawStrings: true })
      assert.deepEqual(back, expected(v))
      assert.equal(msgpackObjectLength(out, 0, 64), out.length)
    }),
    { numRuns: 300 },
  )
})

// ---------------------------------------------------------------------------------------------------
// msgpackObjectLength

test('property: msgpackObjectLength measures whole objects of every msgpack form', () => {
  fc.assert(
    fc.property(valueArb, fc.uint8Array({ maxLength: 5 }), (v, tail) => {
      // The oracle encoder uses str8, bin, float32-free forms: a second encoding to measure.
      for (const enc of [encodeMsgpack(v), oracleEncode(v)]) {
        const withTail = new Uint8Array(enc.length + tail.length)
        withTail.set(enc)
        withTail.set(tail, enc.length)
        assert.equal(msgpackObjectLength(withTail, 0, 64), enc.length)
        for (let cut = 0; cut < enc.length; cut++) {
          assert.equal(msgpackObjectLength(enc.subarray(0, cut), 0, 64), 'incomplete')
        }
      }
    }),
    { numRuns: 200 },
  )
})

test('msgpackObjectLength handles ext, fixext, floats, and starts at an offset', () => {
  const ext = oracleEncode(new Date(1700000000123)) // timestamp ext (fixext 8 or ext 8)
  assert.equal(msgpackObjectLength(ext, 0, 4), ext.length)
  const cases = ['d4 01 02', 'd5 01 0203', 'd6 01 01020304', 'd7 01 0102030405060708', 'd8 01' + ' 00'.repeat(16),
    'c7 02 05 0102', 'c8 0002 05 0102', 'c9 00000002 05 0102', 'ca 3fc00000', 'cb 3ff8000000000000', 'c4 02 0102',
    'c5 0002 0102', 'c6 00000002 0102', 'd9 02 6162', 'db 00000002 6162', 'dc 0001 01', 'dd 00000001 01', 'de 0001 01 02',
    'df 00000001 01 02', 'd3 0000000000000001', 'cf 0000000000000001']
  for (const c of cases) {
    const b = bytes(c)
    assert.equal(msgpackObjectLength(b, 0, 4), b.length, c)
  }
  const two = bytes('00 92 01 02 ff')
  assert.equal(msgpackObjectLength(two, 1, 4), 3)
})

test('msgpackObjectLength rejects 0xc1, too deep nesting and forged counts without scanning them', () => {
  const c1 = msgpackObjectLength(bytes('92 01 c1'), 0, 4)
  assert.ok(c1 instanceof DecodeError && c1.reason === 'bad-msgpack')
  const deep = msgpackObjectLength(bytes('91 91 91 01'), 0, 2)
  assert.ok(deep instanceof DecodeError && deep.reason === 'too-deep')
  assert.equal(msgpackObjectLength(bytes('91 91 01'), 0, 2), 3)
  assert.equal(msgpackObjectLength(bytes('05'), 0, 0), 1)
  // A map32 announcing 2^32-1 entries: incomplete without a bound, too-large with one, instantly.
  const forged = bytes('df ffffffff')
  assert.equal(msgpackObjectLength(forged, 0, 4), 'incomplete')
  const bounded = msgpackObjectLength(forged, 0, 4, 1000)
  assert.ok(bounded instanceof DecodeError && bounded.reason === 'too-large')
  const bigStr = msgpackObjectLength(bytes('db 7fffffff'), 0, 4, 1000)
  assert.ok(bigStr instanceof DecodeError && bigStr.reason === 'too-large')
})

test('property: msgpackObjectLength never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(6), (b, depth) => {
      const r = msgpackObjectLength(b, 0, depth, 150)
      if (typeof r === 'number') assert.ok(r >= 1 && r <= b.length && r <= 150)
    }),
    { numRuns: 3000 },
  )
})
