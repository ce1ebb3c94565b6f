/**
 * memberlist 0.2.2 stream messages <-> bytes (spec section 5), and stream framing:
 *
 *   stream  = [6][header][N × node state][raw user state]      push/pull
 *           | [0][ping] | [2][ack] | [13][errResp]
 *           | [8][{UserMsgLen}][raw bytes]                      reliable user message
 *           | [9][compress of one of the above]                 (rawSendMsgStream with compression)
 *
 * Unencrypted streams carry no length, so streamFrameLength tells a TCP reader when one whole message
 * has arrived (spec 5.5). Decoding is strict and never throws; counts and lengths are bounded before
 * anything is allocated for them.
 */
import { copyOut } from './bytes-pool.js'
import { DecodeError, decodeFail, decodeOk, toDecodeError, type DecodeResult } from './decode-error.js'
import {
  maxDecompressedStreamBytes,
  maxMsgpackDepth,
  maxPushStateBytes,
  maxStreamBytes,
} from './limits.js'
import { lzwCompress, lzwDecompress, type LzwCompressOptions } from './lzw.js'
import {
  MessageType,
  type PushNodeState,
  type PushPullMsg,
  type StreamMessage,
  type UserStreamMsg,
} from './messages.js'
import { msgpackObjectLength } from './msgpack-scan.js'
import { K_JOIN, K_NODES, K_USER_MSG_LEN, K_USER_STATE_LEN, key, w, writeAck, writeCompressWrapper, writeErr, writePing, writePushNodeState } from './schema.js'
import { notSupportedOrUnknown, r, readAck, readCompressBody, readErr, readPing, readPushNodeState, readPushPullHeader, readUserMsgLen } from './schema-read.js'

const LEADING_CLEAR: LzwCompressOptions = { leadingClear: true }

// ---------------------------------------------------------------------------------------------------
// Encoding

/**
 * A stream message as memberlist's rawSendMsgStream writes it: push/pull `[6][header][node states][user
 * state]`, ping `[0][ping]`, ack `[2][ack]`, error `[13][errResp]`, user message `[8][{UserMsgLen}][bytes]`;
 * with `compress` the whole of it wrapped as `[9][compress]` (memberlist compresses streams always when
 * compression is enabled, even when that makes them larger). `leadingClear` selects Go 1.19's LZW
 * output (see lzw.ts); both forms are accepted by every memberlist.
 */
export function encodeStream(
  msg: StreamMessage,
  opts: { readonly compress: boolean; readonly leadingClear?: boolean },
): Uint8Array {
  w.reset()
  switch (msg.type) {
    case 'pushPull': {
      w.u8(MessageType.pushPull)
      w.mapHeader(3)
      key(K_JOIN)
      w.bool(msg.join)
      key(K_NODES)
      w.uint(msg.nodes.length)
      key(K_USER_STATE_LEN)
      w.uint(msg.userState.length)
      for (let i = 0; i < msg.nodes.length; i++) writePushNodeState(msg.nodes[i])
      w.raw(msg.userState)
      break
    }
    case 'ping':
      w.u8(MessageType.ping)
      writePing(msg)
      break
    case 'ack':
      w.u8(MessageType.ack)
      writeAck(msg)
      break
    case 'err':
      w.u8(MessageType.err)
      writeErr(msg)
      break
    case 'userStream':
      w.u8(MessageType.user)
      w.mapHeader(1)
      key(K_USER_MSG_LEN)
      w.uint(msg.payload.length)
      w.raw(msg.payload)
      break
  }
  if (!opts.compress) return w.finishPooled()
  const lzw = lzwCompress(w.written(), opts.leadingClear === true ? LEADING_CLEAR : undefined)
  w.reset()
  writeCompressWrapper(lzw)
  return w.finishPooled()
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one complete stream message (after decryption and label removal), compressed or not. Strict:
 * counts and lengths are checked against limits and against the bytes present before anything is
 * allocated, and bytes after the message are an error ('trailing-bytes'). Never throws.
 */
export function decodeStream(bytes: Uint8Array): DecodeResult<StreamMessage> {
  try {
    if (bytes.length === 0) return decodeFail(new DecodeError('empty', 'empty stream', 0))
    if (bytes.length > maxStreamBytes) {
      return decodeFail(new DecodeError('too-large', `${bytes.length} bytes (at most ${maxStreamBytes})`, 0))
    }
    if (bytes[0] !== MessageType.compress) return decodeOk(readPlainStream(bytes))
    r.reset(bytes, 1)
    const lzw = readCompressBody(maxStreamBytes)
    if (r.pos !== bytes.length) {
      throw new DecodeError('trailing-bytes', `${bytes.length - r.pos} bytes after the compress message`, r.pos)
    }
    const res = lzwDecompress(lzw, maxDecompressedStreamBytes)
    if (!res.ok) return decodeFail(res.error.relocated(0, 'compress'))
    const inner = res.value
    if (inner.length === 0) return decodeFail(new DecodeError('empty', 'compressed stream decompresses to nothing', 0))
    if (inner[0] === MessageType.compress) {
      return decodeFail(new DecodeError('not-supported', 'compressed stream inside a compressed stream', 0))
    }
    try {
      return decodeOk(readPlainStream(inner))
    } catch (e) {
      return decodeFail(toDecodeError(e).relocated(0, 'in decompressed data'))
    }
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}

/** An uncompressed stream message filling all of `buf`. Throws DecodeError. */
function readPlainStream(buf: Uint8Array): StreamMessage {
  const type = buf[0]
  const end = buf.length
  r.reset(buf, 1)
  let m: StreamMessage
  switch (type) {
    case MessageType.pushPull: {
      const h = readPushPullHeader()
      // Every node state takes at least one byte: refuse counts the input cannot hold before allocating.
      if (h.nodes > end - r.pos) {
        const text = `push/pull announces ${h.nodes} nodes but has ${end - r.pos} bytes left`
        throw new DecodeError('truncated', text, r.pos)
      }
      const nodes: PushNodeState[] = []
      for (let i = 0; i < h.nodes; i++) nodes.push(readPushNodeState())
      const left = end - r.pos
      if (left < h.userStateLen) {
        throw new DecodeError('truncated', `user state of ${h.userStateLen} bytes, ${left} present`, r.pos)
      }
      if (left > h.userStateLen) {
        const text = `${left - h.userStateLen} bytes after the user state`
        throw new DecodeError('trailing-bytes', text, r.pos + h.userStateLen)
      }
      const pp: PushPullMsg = { type: 'pushPull', join: h.join, nodes, userState: copyOut(buf, r.pos, end) }
      return pp
    }
    case MessageType.user: {
      const len = readUserMsgLen()
      const left = end - r.pos
      if (left < len) throw new DecodeError('truncated', `user message of ${len} bytes, ${left} present`, r.pos)
      if (left > len) throw new DecodeError('trailing-bytes', `${left - len} bytes after the user message`, r.pos + len)
      const u: UserStreamMsg = { type: 'userStream', payload: copyOut(buf, r.pos, end) }
      return u
    }
    case MessageType.ping:
      m = readPing()
      break
    case MessageType.ack:
      m = readAck()
      break
    case MessageType.err:
      m = readErr()
      break
    case MessageType.encrypt:
      throw new DecodeError('not-supported', 'encrypted stream: decrypt it first', 0)
    case MessageType.label:
      throw new DecodeError('not-supported', 'labelled stream: remove the label first', 0)
    default:
      throw notSupportedOrUnknown(type, 'on a stream', 0)
  }
  if (r.pos !== end) throw new DecodeError('trailing-bytes', `${end - r.pos} bytes after the message`, r.pos)
  return m
}

// ---------------------------------------------------------------------------------------------------
// Framing

/** How much of a stream's bytes form one message, as far as the bytes received so far tell. */
export type StreamFrame =
  | { readonly status: 'complete'; readonly length: number }
  | { readonly status: 'incomplete' }
  | { readonly status: 'error'; readonly error: DecodeError }

const INCOMPLETE: StreamFrame = Object.freeze({ status: 'incomplete' })

/**
 * How many bytes of `buf` (the start of a stream) form one complete stream message, 'incomplete' while
 * more must arrive, or an error once the bytes can never form a valid message (bad type, a count or
 * length over the limits). Lets a TCP reader answer without waiting for EOF (spec 5.5):
 *
 * - `[10][u32 L]…` encrypted envelope: 5 + L (L at most maxPushStateBytes);
 * - `[244][n][label]…` label header (newer memberlist): 2 + n + the frame that follows;
 * - `[9]…` compressed: 1 + one msgpack object;
 * - `[6]` push/pull: header, Nodes objects, then UserStateLen bytes;
 * - `[0]`, `[2]`, `[13]`: one object; `[8]`: header then UserMsgLen bytes.
 *
 * Never throws.
 */
export function streamFrameLength(buf: Uint8Array): StreamFrame {
  try {
    const n = frameAt(buf, 0)
    if (n === 'incomplete') return INCOMPLETE
    if (typeof n !== 'number') return { status: 'error', error: n }
    return { status: 'complete', length: n }
  } catch (e) {
    return { status: 'error', error: toDecodeError(e) }
  }
}

function frameAt(buf: Uint8Array, off: number): number | 'incomplete' | DecodeError {
  const avail = buf.length - off
  if (avail <= 0) return 'incomplete'
  const type = buf[off]
  if (type === MessageType.encrypt) {
    if (avail < 5) return 'incomplete'
    const len = ((buf[off + 1] << 24) | (buf[off + 2] << 16) | (buf[off + 3] << 8) | buf[off + 4]) >>> 0
    if (len > maxPushStateBytes) {
      return new DecodeError('too-large', `encrypted stream of ${len} bytes (at most ${maxPushStateBytes})`, off + 1)
    }
    return avail >= 5 + len ? 5 + len : 'incomplete'
  }
  if (type === MessageType.label) {
    if (avail < 2) return 'incomplete'
    const labelLen = buf[off + 1]
    if (labelLen === 0) return new DecodeError('bad-field', 'empty label header', off + 1)
    const innerOff = off + 2 + labelLen
    if (buf.length > innerOff && buf[innerOff] === MessageType.label) {
      return new DecodeError('not-supported', 'two label headers', innerOff)
    }
    const inner = frameAt(buf, innerOff)
    return typeof inner === 'number' ? 2 + labelLen + inner : inner
  }
  const obj = (at: number, budget: number): number | 'incomplete' | DecodeError =>
    msgpackObjectLength(buf, at, maxMsgpackDepth, budget)
  switch (type) {
    case MessageType.compress:
    case MessageType.ping:
    case MessageType.ack:
    case MessageType.err: {
      const n = obj(off + 1, maxStreamBytes - 1)
      return typeof n === 'number' ? 1 + n : n
    }
    case MessageType.pushPull: {
      const hn = obj(off + 1, maxStreamBytes - 1)
      if (typeof hn !== 'number') return hn
      r.reset(buf, off + 1, off + 1 + hn)
      const h = readPushPullHeader()
      if (r.pos !== off + 1 + hn) return new DecodeError('bad-field', 'malformed push/pull header', off + 1)
      let p = off + 1 + hn
      for (let i = 0; i < h.nodes; i++) {
        const n = obj(p, maxStreamBytes - (p - off))
        if (typeof n !== 'number') return n
        p += n
      }
      const total = p - off + h.userStateLen
      if (total > maxStreamBytes) {
        return new DecodeError('too-large', `stream of ${total} bytes (at most ${maxStreamBytes})`, off)
      }
      return avail >= total ? total : 'incomplete'
    }
    case MessageType.user: {
      const hn = obj(off + 1, maxStreamBytes - 1)
      if (typeof hn !== 'number') return hn
      r.reset(buf, off + 1, off + 1 + hn)
      const len = readUserMsgLen()
      if (r.pos !== off + 1 + hn) return new DecodeError('bad-field', 'malformed user message header', off + 1)
      const total = 1 + hn + len
      return avail >= total ? total : 'incomplete'
    }
    default:
      return notSupportedOrUnknown(type, 'on a stream', off)
  }
}
