/**
 * memberlist 0.2.2 packets <-> bytes (spec sections 2 to 6), and the entry point of the wire codec:
 *
 *   packet  = [type][msgpack body]                 one message (ping, ack, alive, …)
 *           | [8][raw user bytes]                  user message
 *           | [7][N][N × u16 len][parts…]          compound (4.2)
 *           | [9][msgpack {Algo: 0, Buf: LZW}]     compress (6)
 *           | [12][u32 crc][packet]                CRC, outermost only (4.3)
 *
 * Streams (push/pull, TCP ping, errors, reliable user messages) are in stream-codec.ts and re-exported
 * here; message bodies are in schema.ts.
 *
 * Encoding writes what memberlist writes, byte for byte, and cannot fail on our own values (a value Go
 * could not have sent is a bug: InvariantError). Decoding never throws, whatever the input (STYLE 8).
 * Order: size check, CRC (outermost only), compound / compress with a depth limit and a decompression
 * budget, then each message body, then trailing bytes. A bad compound part is reported and the other
 * parts are still delivered, as memberlist does. Decoded byte fields are copies that never alias the
 * input.
 */
import { InvariantError } from '../core/assert.js'
import { allocBytes } from './bytes-pool.js'
import { crc32 } from './crc32.js'
import { DecodeError, decodeFail, decodeOk, toDecodeError, type DecodeResult } from './decode-error.js'
import {
  maxCompoundPartsSend,
  maxDecompressedPacketBytes,
  maxPacketBytes,
  maxPacketParts,
  maxWrapperDepth,
} from './limits.js'
import { lzwCompress, lzwDecompress, type LzwCompressOptions } from './lzw.js'
import { MessageType, type ErrMsg, type PacketMessage } from './messages.js'
import { U16, w, writeCompressWrapper, writePacketMessage } from './schema.js'
import { r, readCompressBody, readPacketMessage } from './schema-read.js'

export { lzwAlgo } from './schema.js'
export { decodeStream, encodeStream, streamFrameLength, type StreamFrame } from './stream-codec.js'

// ---------------------------------------------------------------------------------------------------
// Encoding

/**
 * `[type byte][msgpack body]` exactly as memberlist writes it; a user message is `[8][payload]`.
 * Optional Source* fields are left out when undefined or empty (Go's omitempty); `meta` / `payload`
 * null is written as nil (`c0`).
 *
 * Memory: probe messages (ping, indirect ping, ack, nack), which are sent at once, may be cut from a
 * shared slab (bytes-pool.ts); gossip messages (alive, suspect, dead, user, err), which are usually
 * queued for retransmission, always get their own buffer.
 */
export function encodeMessage(m: PacketMessage | ErrMsg): Uint8Array {
  w.reset()
  writePacketMessage(m)
  switch (m.type) {
    case 'ping':
    case 'indirectPing':
    case 'ack':
    case 'nack':
      return w.finishPooled()
    default:
      return w.finish()
  }
}

/**
 * A compound message: `[7][N][N × u16 BE length][parts]` (spec 4.2). At most 127 parts, each 1..65535
 * bytes, so memberlist 0.2.2 parses it correctly; the caller splits larger batches.
 */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array {
  const n = parts.length
  if (!(n >= 1 && n <= maxCompoundPartsSend)) {
    throw new InvariantError(`compound needs 1..${maxCompoundPartsSend} parts, got ${n}`)
  }
  let total = 2 + 2 * n
  for (let i = 0; i < n; i++) {
    const len = parts[i].length
    if (!(len >= 1 && len <= U16)) {
      throw new InvariantError(`compound part ${i} must be 1..65535 bytes, got ${len}`)
    }
    total += len
  }
  const out = allocBytes(total)
  out[0] = MessageType.compound
  out[1] = n
  let p = 2
  for (let i = 0; i < n; i++) {
    out[p++] = parts[i].length >>> 8
    out[p++] = parts[i].length & 0xff
  }
  for (let i = 0; i < n; i++) {
    out.set(parts[i], p)
    p += parts[i].length
  }
  return out
}

/**
 * `[9][msgpack {Algo: 0, Buf: LZW(payload)}]`. The payload must not be empty (memberlist 0.2.2 crashes on
 * a compress that decompresses to nothing). Memberlist sends it only when it is shorter than the payload;
 * that choice is the caller's. `lzwOptions.leadingClear` selects Go 1.19's LZW output (see lzw.ts).
 */
export function encodeCompress(payload: Uint8Array, lzwOptions?: LzwCompressOptions): Uint8Array {
  if (payload.length === 0) {
    throw new InvariantError('cannot compress an empty payload')
  }
  const lzw = lzwCompress(payload, lzwOptions)
  w.reset()
  writeCompressWrapper(lzw)
  return w.finishPooled()
}

/** One unwrapped message (no compound, compress or CRC around it): `[type][body]` or `[8][payload]`. */
export function decodeMessage(bytes: Uint8Array): DecodeResult<PacketMessage> {
  try {
    if (bytes.length > maxPacketBytes) {
      return decodeFail(new DecodeError('too-large', `${bytes.length} bytes (at most ${maxPacketBytes})`, 0))
    }
    return decodeOk(readPacketMessage(bytes, 0, bytes.length))
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}

// ---------------------------------------------------------------------------------------------------
// Packets

/** What decodePacket found: every message it could decode, and why the rest was dropped. */
export interface DecodedPacket {
  readonly messages: PacketMessage[]
  /** The encoded size of each message (type byte and body, after unwrapping), parallel to `messages`. */
  readonly sizes: number[]
  readonly errors: DecodeError[]
}

interface PacketContext {
  readonly messages: PacketMessage[]
  readonly sizes: number[]
  readonly errors: DecodeError[]
  /** Decompressed bytes still allowed for this packet. */
  budget: number
  stopped: boolean
}

/**
 * Receives one datagram (spec 4.1 steps 3-4, after decryption and label removal): size check; CRC when
 * it is the outermost layer (a mismatch drops the whole packet with one 'bad-crc'); then compound (7)
 * and compress (9) are unwrapped recursively, at most maxWrapperDepth deep. Each part that cannot be
 * decoded adds an error and the other parts are still returned, as memberlist handles truncated
 * compounds. Never throws.
 */
export function decodePacket(bytes: Uint8Array): DecodedPacket {
  const ctx: PacketContext = { messages: [], sizes: [], errors: [], budget: maxDecompressedPacketBytes, stopped: false }
  try {
    if (bytes.length === 0) {
      ctx.errors.push(new DecodeError('empty', 'empty packet', 0))
    } else if (bytes.length > maxPacketBytes) {
      ctx.errors.push(new DecodeError('too-large', `${bytes.length} bytes (at most ${maxPacketBytes})`, 0))
    } else if (bytes[0] === MessageType.crc) {
      if (bytes.length < 5) {
        ctx.errors.push(new DecodeError('truncated', 'CRC header', 0))
      } else {
        const want = ((bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]) >>> 0
        if (crc32(bytes.subarray(5)) !== want) ctx.errors.push(new DecodeError('bad-crc', 'checksum mismatch', 1))
        else unwrap(bytes, 5, bytes.length, 0, ctx, -1)
      }
    } else {
      unwrap(bytes, 0, bytes.length, 0, ctx, -1)
    }
  } catch (e) {
    ctx.errors.push(toDecodeError(e))
  }
  return { messages: ctx.messages, sizes: ctx.sizes, errors: ctx.errors }
}

function report(ctx: PacketContext, at: number, e: DecodeError): void {
  ctx.errors.push(at < 0 ? e : e.relocated(at, 'in decompressed data'))
}

/**
 * Handles buf[start, end) as one packet layer (memberlist handleCommand). `at` >= 0 means buf is
 * decompressed data and errors are reported at the offset `at` of the compress message in the datagram.
 */
function unwrap(buf: Uint8Array, start: number, end: number, depth: number, ctx: PacketContext, at: number): void {
  if (ctx.stopped) return
  if (ctx.messages.length + ctx.errors.length >= maxPacketParts) {
    ctx.stopped = true
    report(ctx, at, new DecodeError('too-many-parts', `more than ${maxPacketParts} messages in one packet`, start))
    return
  }
  if (start >= end) {
    report(ctx, at, new DecodeError('empty', 'empty message', start))
    return
  }
  const type = buf[start]
  if (type === MessageType.compound) {
    if (depth >= maxWrapperDepth) {
      report(ctx, at, new DecodeError('too-deep', `wrappers nested deeper than ${maxWrapperDepth}`, start))
      return
    }
    if (end - start < 2) {
      report(ctx, at, new DecodeError('bad-compound', 'missing part count', start))
      return
    }
    const n = buf[start + 1]
    let p = start + 2 + 2 * n
    if (p > end) {
      report(ctx, at, new DecodeError('bad-compound', `length table of ${n} parts is truncated`, start))
      return
    }
    for (let i = 0; i < n; i++) {
      const lp = start + 2 + 2 * i
      const len = (buf[lp] << 8) | buf[lp + 1]
      if (p + len > end) {
        report(ctx, at, new DecodeError('truncated', `${n - i} of ${n} compound parts truncated`, p))
        return
      }
      unwrap(buf, p, p + len, depth + 1, ctx, at)
      if (ctx.stopped) return
      p += len
    }
    if (p < end) report(ctx, at, new DecodeError('trailing-bytes', `${end - p} bytes after the compound parts`, p))
    return
  }
  if (type === MessageType.compress) {
    if (depth >= maxWrapperDepth) {
      report(ctx, at, new DecodeError('too-deep', `wrappers nested deeper than ${maxWrapperDepth}`, start))
      return
    }
    let data: Uint8Array
    try {
      r.reset(buf, start + 1, end)
      const lzw = readCompressBody(maxPacketBytes)
      if (r.pos !== end) {
        throw new DecodeError('trailing-bytes', `${end - r.pos} bytes after the compress message`, r.pos)
      }
      const res = lzwDecompress(lzw, ctx.budget)
      if (!res.ok) throw res.error.relocated(start, 'compress')
      data = res.value
    } catch (e) {
      report(ctx, at, toDecodeError(e))
      return
    }
    ctx.budget -= data.length
    unwrap(data, 0, data.length, depth + 1, ctx, at < 0 ? start : at)
    return
  }
  if (type === MessageType.crc) {
    report(ctx, at, new DecodeError('not-supported', 'CRC is only valid as the outermost layer', start))
    return
  }
  try {
    ctx.messages.push(readPacketMessage(buf, start, end))
    ctx.sizes.push(end - start)
  } catch (e) {
    report(ctx, at, toDecodeError(e))
  }
}
