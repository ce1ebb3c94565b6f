/**
 * Length of the next complete msgpack object, without decoding it (spec 1.4, 5.5).
 *
 * Streams carry "type byte, header object, N objects, raw bytes" with no length prefix, so the reader
 * has to know where each msgpack object ends. This walks headers only: it adds header and payload sizes
 * and counts the elements of arrays and maps, never allocating for what it skips.
 *
 * Bounded: nesting deeper than `maxDepth` containers and objects longer than `maxBytes` are errors, and
 * a declared element count larger than the bytes that could still follow is rejected at once, so a
 * forged `dd ffffffff` header costs nothing.
 */
import { DecodeError } from './decode-error.js'

const stack: number[] = []

/**
 * Byte length of the msgpack object starting at `buf[offset]`, 'incomplete' if `buf` ends before it
 * does, or a DecodeError ('bad-msgpack' for the reserved byte 0xc1, 'too-deep', 'too-large').
 * `maxDepth` counts containers: 0 allows only scalars, 1 a map or array of scalars, and so on.
 */
export function msgpackObjectLength(
  buf: Uint8Array,
  offset: number,
  maxDepth: number,
  maxBytes: number = Number.MAX_SAFE_INTEGER,
): number | 'incomplete' | DecodeError {
  const end = buf.length
  const limit = offset + maxBytes
  let pos = offset
  let pending = 1
  stack.length = 0
  for (;;) {
    while (pending === 0) {
      if (stack.length === 0) return pos - offset
      pending = stack.pop()!
    }
    pending--
    if (pos >= limit) return new DecodeError('too-large', `msgpack object longer than ${maxBytes} bytes`, pos)
    if (pos >= end) return 'incomplete'
    const b = buf[pos]
    let header = 1
    let data = 0
    let children = 0
    if (b < 0x80 || b >= 0xe0) {
      // positive / negative fixint
    } else if (b < 0x90) {
      children = (b & 0x0f) * 2
    } else if (b < 0xa0) {
      children = b & 0x0f
    } else if (b < 0xc0) {
      data = b & 0x1f
    } else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break
        case 0xc1:
          return new DecodeError('bad-msgpack', 'reserved byte 0xc1', pos)
        case 0xc4: // bin 8
        case 0xd9: // str 8
          header = 2
          break
        case 0xc5: // bin 16
        case 0xda: // str 16
          header = 3
          break
        case 0xc6: // bin 32
        case 0xdb: // str 32
          header = 5
          break
        case 0xc7: // ext 8: len, type
          header = 3
          break
        case 0xc8:
          header = 4
          break
        case 0xc9:
          header = 6
          break
        case 0xca:
          header = 5
          break
        case 0xcb:
          header = 9
          break
        case 0xcc:
        case 0xd0:
          header = 2
          break
        case 0xcd:
        case 0xd1:
          header = 3
          break
        case 0xce:
        case 0xd2:
          header = 5
          break
        case 0xcf:
        case 0xd3:
          header = 9
          break
        case 0xd4: // fixext 1, 2, 4, 8, 16: type byte + data
          header = 3
          break
        case 0xd5:
          header = 4
          break
        case 0xd6:
          header = 6
          break
        case 0xd7:
          header = 10
          break
        case 0xd8:
          header = 18
          break
        case 0xdc: // array 16 / 32
        case 0xde: // map 16 / 32
          header = 3
          break
        case 0xdd:
        case 0xdf:
          header = 5
          break
      }
      if (pos + header > end) return pos + header > limit ? tooLarge(maxBytes, pos) : 'incomplete'
      switch (b) {
        case 0xc4:
        case 0xd9:
        case 0xc7:
          data = buf[pos + 1]
          break
        case 0xc5:
        case 0xda:
        case 0xc8:
          data = (buf[pos + 1] << 8) | buf[pos + 2]
          break
        case 0xc6:
        case 0xdb:
        case 0xc9:
          data = readU32(buf, pos + 1)
          break
        case 0xdc:
          children = (buf[pos + 1] << 8) | buf[pos + 2]
          break
        case 0xdd:
          children = readU32(buf, pos + 1)
          break
        case 0xde:
          children = ((buf[pos + 1] << 8) | buf[pos + 2]) * 2
          break
        case 0xdf:
          children = readU32(buf, pos + 1) * 2
          break
      }
    }
    const next = pos + header + data
    if (next > limit) return tooLarge(maxBytes, pos)
    if (children > 0) {
      if (stack.length >= maxDepth) return new DecodeError('too-deep', `msgpack nesting deeper than ${maxDepth}`, pos)
      // Every element takes at least one byte.
      if (next + children > limit) return tooLarge(maxBytes, pos)
      stack.push(pending)
      pending = children
    }
    pos = next
    if (pos > end) return 'incomplete'
  }
}

function tooLarge(maxBytes: number, pos: number): DecodeError {
  return new DecodeError('too-large', `msgpack object longer than ${maxBytes} bytes`, pos)
}

function readU32(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0
}
