/**
 * CRC-32/IEEE (zlib, Ethernet; Go `crc32.ChecksumIEEE`) and memberlist's CRC wrapper (type 12):
 *
 *   [0x0c][CRC-32 of rest, big-endian u32][rest]
 *
 * Table-driven, in plain TypeScript, so the codec runs unchanged in the browser (the dashboard's
 * simulator) and needs no Node built-in. Node's `zlib.crc32` (>= 20.15) computes the same values (a
 * test holds them together) but is no faster on SWIM's packets: its call costs about what the table
 * spends on 150 bytes, and most packets are smaller.
 */
import { allocBytes } from './bytes-pool.js'
import { DecodeError, decodeFail, decodeOk, type DecodeResult } from './decode-error.js'
import { MessageType } from './messages.js'

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32/IEEE of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** Bytes the CRC wrapper adds in front of a payload. */
export const crcHeaderBytes = 5

/**
 * Wraps a packet payload: `[12][u32 BE crc32(payload)][payload]`. The result may share a pooled slab
 * (bytes-pool.ts): send it, or copy it before keeping it long.
 */
export function addCrc(payload: Uint8Array): Uint8Array {
  const out = allocBytes(crcHeaderBytes + payload.length)
  const c = crc32(payload)
  out[0] = MessageType.crc
  out[1] = c >>> 24
  out[2] = (c >>> 16) & 0xff
  out[3] = (c >>> 8) & 0xff
  out[4] = c & 0xff
  out.set(payload, crcHeaderBytes)
  return out
}

/**
 * Checks and strips a CRC wrapper. Returns the payload (a view into `bytes`), 'truncated' when fewer than
 * 5 bytes, 'not-supported' when the first byte is not 12, 'bad-crc' on mismatch.
 */
export function verifyCrc(bytes: Uint8Array): DecodeResult<Uint8Array> {
  if (bytes.length === 0 || bytes[0] !== MessageType.crc) {
    return decodeFail(new DecodeError('not-supported', 'not a CRC message', 0))
  }
  if (bytes.length < crcHeaderBytes) return decodeFail(new DecodeError('truncated', 'CRC header', 0))
  const want = ((bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]) >>> 0
  const payload = bytes.subarray(crcHeaderBytes)
  if (crc32(payload) !== want) return decodeFail(new DecodeError('bad-crc', 'checksum mismatch', 1))
  return decodeOk(payload)
}
