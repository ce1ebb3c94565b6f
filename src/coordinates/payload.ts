/**
 * The coordinate as Serf carries it in memberlist ack payloads (serf/ping_delegate.go, PingVersion 1):
 *
 *   ack payload = 0x01 │ msgpack map { "Adjustment": f64, "Error": f64, "Height": f64, "Vec": [f64 × 8] }
 *
 * Serf's go-msgpack writes the struct as a map keyed by field name, sorted by name (as captured from a
 * serf 0.9.4 agent), and every float64 as `cb` + 8 bytes big-endian; we write exactly those bytes
 * (130 for 8 dimensions), so a Serf agent reads our coordinate. Reading is
 * liberal where that is harmless (keys in any order, unknown keys skipped, float32 and integers taken
 * as numbers) and strict where it matters: a payload of another version, a truncated one, or more than
 * 64 dimensions is refused with a typed DecodeError, never thrown past the boundary.
 */
import { DecodeError } from '../wire/decode-error.js'
import { KeyTable, MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import type { Coordinate } from './vivaldi.js'

/** Serf's PingVersion: the first byte of the payload. */
export const PING_VERSION = 1
/** More dimensions than any sane configuration: bounds what a remote payload can make us allocate. */
export const DIMENSIONS_MAX = 64

const KEYS = new KeyTable(['Adjustment', 'Error', 'Height', 'Vec'])

export function encodeCoordinatePayload(c: Coordinate): Uint8Array {
  const w = new MsgpackWriter(16 + 9 * c.vec.length + 40)
  w.raw(Uint8Array.of(PING_VERSION))
  w.mapHeader(4)
  w.str('Adjustment')
  w.float64(c.adjustment)
  w.str('Error')
  w.float64(c.error)
  w.str('Height')
  w.float64(c.height)
  w.str('Vec')
  w.arrayHeader(c.vec.length)
  for (const x of c.vec) w.float64(x)
  return w.finish()
}

export type PayloadResult = { readonly ok: true; readonly value: Coordinate } | { readonly ok: false; readonly error: DecodeError }

/** Reads a coordinate from an ack payload; never throws. */
export function decodeCoordinatePayload(payload: Uint8Array): PayloadResult {
  try {
    if (payload.length === 0) throw new DecodeError('truncated', 'empty ack payload', 0)
    if (payload[0] !== PING_VERSION) throw new DecodeError('bad-field', `ping payload version ${payload[0]} (Serf's is ${PING_VERSION})`, 0)
    const r = new MsgpackReader(8).reset(payload, 1)
    const fields = r.mapHeader('coordinate')
    let vec: number[] = []
    let error = 0
    let adjustment = 0
    let height = 0
    for (let i = 0; i < fields; i++) {
      const key = r.key(KEYS, i)
      if (key === 0) adjustment = readFloat(r, 'Adjustment')
      else if (key === 1) error = readFloat(r, 'Error')
      else if (key === 2) height = readFloat(r, 'Height')
      else if (key === 3) vec = readVec(r)
      else r.skip()
    }
    if (r.pos !== payload.length) throw new DecodeError('trailing-bytes', `${payload.length - r.pos} bytes after the coordinate`, r.pos)
    return { ok: true, value: { vec, error, adjustment, height } }
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e }
    throw e
  }
}

function need(r: MsgpackReader, n: number): void {
  if (r.end - r.pos < n) r.fail('truncated', 'coordinate ends early')
}

function readVec(r: MsgpackReader): number[] {
  need(r, 1)
  const at = r.pos
  const b = r.buf[r.pos++]
  let n: number
  if (b >= 0x90 && b <= 0x9f) n = b & 0x0f
  else if (b === 0xdc) {
    need(r, 2)
    n = (r.buf[r.pos] << 8) | r.buf[r.pos + 1]
    r.pos += 2
  } else if (b === 0xc0) n = 0
  else return r.fail('bad-field', `Vec is not an array (0x${b.toString(16)})`, at)
  if (n > DIMENSIONS_MAX) r.fail('too-large', `Vec of ${n} dimensions (at most ${DIMENSIONS_MAX})`, at)
  const vec: number[] = []
  for (let i = 0; i < n; i++) vec.push(readFloat(r, 'Vec'))
  return vec
}

function readFloat(r: MsgpackReader, field: string): number {
  need(r, 1)
  const at = r.pos
  const b = r.buf[r.pos++]
  const view = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength)
  if (b === 0xcb) {
    need(r, 8)
    const v = view.getFloat64(r.pos)
    r.pos += 8
    return v
  }
  if (b === 0xca) {
    need(r, 4)
    const v = view.getFloat32(r.pos)
    r.pos += 4
    return v
  }
  if (b <= 0x7f) return b
  if (b >= 0xe0) return b - 0x100
  if (b === 0xc0) return 0
  return r.fail('bad-field', `${field} is not a number (0x${b.toString(16)})`, at)
}
