/**
 * memberlist 0.2.2 messages <-> bytes (spec sections 2 to 6).
 *
 *   packet  = [type][msgpack body]                 one message (ping, ack, alive, …)
 *           | [8][raw user bytes]                  user message
 *           | [7][N][N × u16 len][parts…]          compound (4.2)
 *           | [9][msgpack {Algo: 0, Buf: LZW}]     compress (6)
 *           | [12][u32 crc][packet]                CRC, outermost only (4.3)
 *   stream  = [6][header][N × node state][raw user state]      push/pull
 *           | [0][ping] | [2][ack] | [13][errResp]
 *           | [8][{UserMsgLen}][raw bytes]                      reliable user message
 *           | [9][compress of one of the above]                 (rawSendMsgStream with compression)
 *
 * Encoding writes what memberlist (go-msgpack v0.5.5) writes, byte for byte: keys sorted, optional
 * Source* fields omitted when empty (omitempty), byte fields in the str family, nil slices as `c0`.
 * Encoding our own messages cannot fail; values a Go peer could not have sent (a Vsn that is not 6
 * bytes, a port above 65535) are bugs and throw InvariantError.
 *
 * Decoding never throws, whatever the input (STYLE 8). Order: size check, wrappers (CRC outermost only,
 * then compound / compress with a depth limit), then each message body with go-msgpack's acceptance
 * rules (msgpack-reader.ts), then trailing bytes. A bad compound part is reported and the other parts
 * are still delivered, as memberlist does. Decoded byte fields are copies that never alias the input.
 */
import { InvariantError } from '../core/assert.js'
import { allocBytes } from './bytes-pool.js'
import { crc32 } from './crc32.js'
import {
  DecodeError,
  decodeFail,
  decodeOk,
  toDecodeError,
  type DecodeResult,
} from './decode-error.js'
import {
  maxBytesFieldBytes,
  maxCompoundPartsSend,
  maxDecompressedPacketBytes,
  maxDecompressedStreamBytes,
  maxMsgpackDepth,
  maxPacketBytes,
  maxPacketParts,
  maxPushPullNodes,
  maxPushStateBytes,
  maxStreamBytes,
  maxStringFieldBytes,
  maxUserMsgBytes,
  maxUserStateBytes,
  maxWrapperDepth,
  vsnBytes,
} from './limits.js'
import { lzwCompress, lzwDecompress, type LzwCompressOptions } from './lzw.js'
import {
  MessageType,
  type AckMsg,
  type AliveMsg,
  type DeadMsg,
  type ErrMsg,
  type IndirectPingMsg,
  type NackMsg,
  type PacketMessage,
  type PingMsg,
  type PushNodeState,
  type PushPullMsg,
  type StreamMessage,
  type SuspectMsg,
  type UserStreamMsg,
  type WireStateNumber,
} from './messages.js'
import { msgpackObjectLength } from './msgpack-scan.js'
import { KeyTable, MsgpackReader } from './msgpack-reader.js'
import { encodeKey, MsgpackWriter } from './msgpack-writer.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const U32 = 0xffffffff
const U16 = 0xffff
const U8 = 0xff
/** The compression algorithm number of LZW, the only one (`lzwAlgo`). */
export const lzwAlgo = 0

// ---------------------------------------------------------------------------------------------------
// Keys: every Go field name that appears in a memberlist body.

const KEY_NAMES = [
  'Addr',
  'Algo',
  'Buf',
  'Error',
  'From',
  'Incarnation',
  'Join',
  'Meta',
  'Nack',
  'Name',
  'Node',
  'Nodes',
  'Payload',
  'Port',
  'SeqNo',
  'SourceAddr',
  'SourceNode',
  'SourcePort',
  'State',
  'Target',
  'UserMsgLen',
  'UserStateLen',
  'Vsn',
] as const
const KEYS = new KeyTable(KEY_NAMES)
const K_ADDR = 0
const K_ALGO = 1
const K_BUF = 2
const K_ERROR = 3
const K_FROM = 4
const K_INCARNATION = 5
const K_JOIN = 6
const K_META = 7
const K_NACK = 8
const K_NAME = 9
const K_NODE = 10
const K_NODES = 11
const K_PAYLOAD = 12
const K_PORT = 13
const K_SEQNO = 14
const K_SOURCE_ADDR = 15
const K_SOURCE_NODE = 16
const K_SOURCE_PORT = 17
const K_STATE = 18
const K_TARGET = 19
const K_USER_MSG_LEN = 20
const K_USER_STATE_LEN = 21
const K_VSN = 22

/** Pre-encoded keys (fixstr), indexed like KEY_NAMES. */
const KB: readonly Uint8Array[] = KEY_NAMES.map(encodeKey)

// ---------------------------------------------------------------------------------------------------
// Encoding

const LEADING_CLEAR: LzwCompressOptions = { leadingClear: true }

/** One writer for every encode call: encoding is synchronous and never re-entered. */
const w = new MsgpackWriter(4096)

function key(id: number): void {
  w.encoded(KB[id])
}

function assertAddr(a: Uint8Array, field: string): void {
  if (!(a.length === 0 || a.length === 4 || a.length === 16)) {
    throw new InvariantError(`${field} must be 0, 4 or 16 bytes, got ${a.length}`)
  }
}

function writePing(m: PingMsg): void {
  const hasAddr = m.sourceAddr !== undefined && m.sourceAddr.length > 0
  const hasNode = m.sourceNode !== undefined && m.sourceNode !== ''
  const hasPort = m.sourcePort !== undefined && m.sourcePort !== 0
  w.mapHeader(2 + (hasAddr ? 1 : 0) + (hasNode ? 1 : 0) + (hasPort ? 1 : 0))
  key(K_NODE)
  w.str(m.node)
  key(K_SEQNO)
  w.uintMax(m.seqNo, U32)
  if (hasAddr) {
    assertAddr(m.sourceAddr!, 'SourceAddr')
    key(K_SOURCE_ADDR)
    w.bytes(m.sourceAddr!)
  }
  if (hasNode) {
    key(K_SOURCE_NODE)
    w.str(m.sourceNode!)
  }
  if (hasPort) {
    key(K_SOURCE_PORT)
    w.uintMax(m.sourcePort!, U16)
  }
}

function writeIndirectPing(m: IndirectPingMsg): void {
  const hasAddr = m.sourceAddr !== undefined && m.sourceAddr.length > 0
  const hasNode = m.sourceNode !== undefined && m.sourceNode !== ''
  const hasPort = m.sourcePort !== undefined && m.sourcePort !== 0
  w.mapHeader(5 + (hasAddr ? 1 : 0) + (hasNode ? 1 : 0) + (hasPort ? 1 : 0))
  key(K_NACK)
  w.bool(m.nack)
  key(K_NODE)
  w.str(m.node)
  key(K_PORT)
  w.uintMax(m.port, U16)
  key(K_SEQNO)
  w.uintMax(m.seqNo, U32)
  if (hasAddr) {
    assertAddr(m.sourceAddr!, 'SourceAddr')
    key(K_SOURCE_ADDR)
    w.bytes(m.sourceAddr!)
  }
  if (hasNode) {
    key(K_SOURCE_NODE)
    w.str(m.sourceNode!)
  }
  if (hasPort) {
    key(K_SOURCE_PORT)
    w.uintMax(m.sourcePort!, U16)
  }
  assertAddr(m.target, 'Target')
  key(K_TARGET)
  w.bytes(m.target)
}

function writeAck(m: AckMsg): void {
  w.mapHeader(2)
  key(K_PAYLOAD)
  w.bytesOrNil(m.payload)
  key(K_SEQNO)
  w.uintMax(m.seqNo, U32)
}

function writeNack(m: NackMsg): void {
  w.mapHeader(1)
  key(K_SEQNO)
  w.uintMax(m.seqNo, U32)
}

function writeErr(m: ErrMsg): void {
  w.mapHeader(1)
  key(K_ERROR)
  w.str(m.error)
}

function writeSuspectOrDead(m: SuspectMsg | DeadMsg): void {
  w.mapHeader(3)
  key(K_FROM)
  w.str(m.from)
  key(K_INCARNATION)
  w.uintMax(m.incarnation, U32)
  key(K_NODE)
  w.str(m.node)
}

function writeAlive(m: AliveMsg): void {
  assertAddr(m.addr, 'Addr')
  if (m.vsn.length !== vsnBytes) {
    throw new InvariantError(`Vsn must be ${vsnBytes} bytes, got ${m.vsn.length}`)
  }
  w.mapHeader(6)
  key(K_ADDR)
  w.bytes(m.addr)
  key(K_INCARNATION)
  w.uintMax(m.incarnation, U32)
  key(K_META)
  w.bytesOrNil(m.meta)
  key(K_NODE)
  w.str(m.node)
  key(K_PORT)
  w.uintMax(m.port, U16)
  key(K_VSN)
  w.bytes(m.vsn)
}

function writePushNodeState(s: PushNodeState): void {
  assertAddr(s.addr, 'Addr')
  if (s.vsn.length !== vsnBytes) {
    throw new InvariantError(`Vsn must be ${vsnBytes} bytes, got ${s.vsn.length}`)
  }
  w.mapHeader(7)
  key(K_ADDR)
  w.bytes(s.addr)
  key(K_INCARNATION)
  w.uintMax(s.incarnation, U32)
  key(K_META)
  w.bytesOrNil(s.meta)
  key(K_NAME)
  w.str(s.name)
  key(K_PORT)
  w.uintMax(s.port, U16)
  key(K_STATE)
  w.uintMax(s.state, 3)
  key(K_VSN)
  w.bytes(s.vsn)
}

function writeCompressWrapper(lzwBytes: Uint8Array): void {
  w.u8(MessageType.compress)
  w.mapHeader(2)
  key(K_ALGO)
  w.uint(lzwAlgo)
  key(K_BUF)
  w.bytes(lzwBytes)
}

function writePacketMessage(m: PacketMessage | ErrMsg): void {
  switch (m.type) {
    case 'ping':
      w.u8(MessageType.ping)
      return writePing(m)
    case 'indirectPing':
      w.u8(MessageType.indirectPing)
      return writeIndirectPing(m)
    case 'ack':
      w.u8(MessageType.ack)
      return writeAck(m)
    case 'nack':
      w.u8(MessageType.nack)
      return writeNack(m)
    case 'suspect':
      w.u8(MessageType.suspect)
      return writeSuspectOrDead(m)
    case 'alive':
      w.u8(MessageType.alive)
      return writeAlive(m)
    case 'dead':
      w.u8(MessageType.dead)
      return writeSuspectOrDead(m)
    case 'user':
      w.u8(MessageType.user)
      return w.raw(m.payload)
    case 'err':
      w.u8(MessageType.err)
      return writeErr(m)
  }
}

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
// Decoding message bodies (throwing DecodeError; caught at the public functions)

const r = new MsgpackReader(maxMsgpackDepth)

function checkAddr(a: Uint8Array, field: string, at: number): Uint8Array {
  if (a.length !== 0 && a.length !== 4 && a.length !== 16) {
    throw new DecodeError('bad-field', `${field} must be 4 or 16 bytes, got ${a.length}`, at)
  }
  return a
}

function readVsn(at: number): Uint8Array {
  const v = r.bytesOrNull(maxBytesFieldBytes, 'Vsn')
  if (v === null || v.length !== vsnBytes) {
    throw new DecodeError('bad-field', `Vsn must be ${vsnBytes} bytes, got ${v === null ? 'nil' : v.length}`, at)
  }
  return v
}

function readPing(): PingMsg {
  let n = r.mapHeader('ping')
  let seqNo = 0
  let node = ''
  let sourceAddr: Uint8Array | undefined
  let sourcePort = 0
  let sourceNode = ''
  while (n-- > 0) {
    const at = r.pos
    switch (r.key(KEYS)) {
      case K_NODE:
        node = r.str(maxStringFieldBytes, 'Node')
        break
      case K_SEQNO:
        seqNo = r.uint(U32, 'SeqNo')
        break
      case K_SOURCE_ADDR:
        sourceAddr = checkAddr(r.bytes(maxBytesFieldBytes, 'SourceAddr'), 'SourceAddr', at)
        break
      case K_SOURCE_PORT:
        sourcePort = r.uint(U16, 'SourcePort')
        break
      case K_SOURCE_NODE:
        sourceNode = r.str(maxStringFieldBytes, 'SourceNode')
        break
      default:
        r.skip()
    }
  }
  const m: Mutable<PingMsg> = { type: 'ping', seqNo, node }
  if (sourceAddr !== undefined && sourceAddr.length > 0) m.sourceAddr = sourceAddr
  if (sourcePort !== 0) m.sourcePort = sourcePort
  if (sourceNode !== '') m.sourceNode = sourceNode
  return m
}

function readIndirectPing(): IndirectPingMsg {
  let n = r.mapHeader('indirectPingReq')
  let seqNo = 0
  let target: Uint8Array = new Uint8Array(0)
  let port = 0
  let node = ''
  let nack = false
  let sourceAddr: Uint8Array | undefined
  let sourcePort = 0
  let sourceNode = ''
  while (n-- > 0) {
    const at = r.pos
    switch (r.key(KEYS)) {
      case K_SEQNO:
        seqNo = r.uint(U32, 'SeqNo')
        break
      case K_TARGET:
        target = checkAddr(r.bytes(maxBytesFieldBytes, 'Target'), 'Target', at)
        break
      case K_PORT:
        port = r.uint(U16, 'Port')
        break
      case K_NODE:
        node = r.str(maxStringFieldBytes, 'Node')
        break
      case K_NACK:
        nack = r.bool('Nack')
        break
      case K_SOURCE_ADDR:
        sourceAddr = checkAddr(r.bytes(maxBytesFieldBytes, 'SourceAddr'), 'SourceAddr', at)
        break
      case K_SOURCE_PORT:
        sourcePort = r.uint(U16, 'SourcePort')
        break
      case K_SOURCE_NODE:
        sourceNode = r.str(maxStringFieldBytes, 'SourceNode')
        break
      default:
        r.skip()
    }
  }
  const m: Mutable<IndirectPingMsg> = { type: 'indirectPing', seqNo, target, port, node, nack }
  if (sourceAddr !== undefined && sourceAddr.length > 0) m.sourceAddr = sourceAddr
  if (sourcePort !== 0) m.sourcePort = sourcePort
  if (sourceNode !== '') m.sourceNode = sourceNode
  return m
}

function readAck(): AckMsg {
  let n = r.mapHeader('ackResp')
  let seqNo = 0
  let payload: Uint8Array | null = null
  while (n-- > 0) {
    switch (r.key(KEYS)) {
      case K_SEQNO:
        seqNo = r.uint(U32, 'SeqNo')
        break
      case K_PAYLOAD:
        payload = r.bytesOrNull(maxBytesFieldBytes, 'Payload')
        break
      default:
        r.skip()
    }
  }
  return { type: 'ack', seqNo, payload }
}

function readNack(): NackMsg {
  let n = r.mapHeader('nackResp')
  let seqNo = 0
  while (n-- > 0) {
    if (r.key(KEYS) === K_SEQNO) seqNo = r.uint(U32, 'SeqNo')
    else r.skip()
  }
  return { type: 'nack', seqNo }
}

function readErr(): ErrMsg {
  let n = r.mapHeader('errResp')
  let error = ''
  while (n-- > 0) {
    if (r.key(KEYS) === K_ERROR) error = r.str(maxStringFieldBytes, 'Error')
    else r.skip()
  }
  return { type: 'err', error }
}

function readSuspectOrDead<T extends 'suspect' | 'dead'>(type: T): { type: T; incarnation: number; node: string; from: string } {
  let n = r.mapHeader(type)
  let incarnation = 0
  let node = ''
  let from = ''
  while (n-- > 0) {
    switch (r.key(KEYS)) {
      case K_INCARNATION:
        incarnation = r.uint(U32, 'Incarnation')
        break
      case K_NODE:
        node = r.str(maxStringFieldBytes, 'Node')
        break
      case K_FROM:
        from = r.str(maxStringFieldBytes, 'From')
        break
      default:
        r.skip()
    }
  }
  return { type, incarnation, node, from }
}

function readAlive(): AliveMsg {
  const start = r.pos
  let n = r.mapHeader('alive')
  let incarnation = 0
  let node = ''
  let addr: Uint8Array = new Uint8Array(0)
  let port = 0
  let meta: Uint8Array | null = null
  let vsn: Uint8Array | undefined
  while (n-- > 0) {
    const at = r.pos
    switch (r.key(KEYS)) {
      case K_INCARNATION:
        incarnation = r.uint(U32, 'Incarnation')
        break
      case K_NODE:
        node = r.str(maxStringFieldBytes, 'Node')
        break
      case K_ADDR:
        addr = checkAddr(r.bytes(maxBytesFieldBytes, 'Addr'), 'Addr', at)
        break
      case K_PORT:
        port = r.uint(U16, 'Port')
        break
      case K_META:
        meta = r.bytesOrNull(maxBytesFieldBytes, 'Meta')
        break
      case K_VSN:
        vsn = readVsn(at)
        break
      default:
        r.skip()
    }
  }
  if (vsn === undefined) throw new DecodeError('bad-field', 'alive without Vsn', start)
  return { type: 'alive', incarnation, node, addr, port, meta, vsn }
}

function readPushNodeState(): PushNodeState {
  const start = r.pos
  let n = r.mapHeader('pushNodeState')
  let name = ''
  let addr: Uint8Array = new Uint8Array(0)
  let port = 0
  let meta: Uint8Array | null = null
  let incarnation = 0
  let state = 0
  let vsn: Uint8Array | undefined
  while (n-- > 0) {
    const at = r.pos
    switch (r.key(KEYS)) {
      case K_NAME:
        name = r.str(maxStringFieldBytes, 'Name')
        break
      case K_ADDR:
        addr = checkAddr(r.bytes(maxBytesFieldBytes, 'Addr'), 'Addr', at)
        break
      case K_PORT:
        port = r.uint(U16, 'Port')
        break
      case K_META:
        meta = r.bytesOrNull(maxBytesFieldBytes, 'Meta')
        break
      case K_INCARNATION:
        incarnation = r.uint(U32, 'Incarnation')
        break
      case K_STATE:
        state = r.uint(3, 'State')
        break
      case K_VSN:
        vsn = readVsn(at)
        break
      default:
        r.skip()
    }
  }
  if (vsn === undefined) throw new DecodeError('bad-field', 'pushNodeState without Vsn', start)
  return { name, addr, port, meta, incarnation, state: state as WireStateNumber, vsn }
}

interface PushPullHeader {
  join: boolean
  nodes: number
  userStateLen: number
}

function readPushPullHeader(): PushPullHeader {
  const start = r.pos
  let n = r.mapHeader('pushPullHeader')
  const h: PushPullHeader = { join: false, nodes: 0, userStateLen: 0 }
  while (n-- > 0) {
    switch (r.key(KEYS)) {
      case K_JOIN:
        h.join = r.bool('Join')
        break
      case K_NODES:
        h.nodes = r.uint(Number.MAX_SAFE_INTEGER, 'Nodes')
        break
      case K_USER_STATE_LEN:
        h.userStateLen = r.uint(Number.MAX_SAFE_INTEGER, 'UserStateLen')
        break
      default:
        r.skip()
    }
  }
  if (h.nodes > maxPushPullNodes) {
    throw new DecodeError('too-many-nodes', `push/pull announces ${h.nodes} nodes (at most ${maxPushPullNodes})`, start)
  }
  if (h.userStateLen > maxUserStateBytes) {
    throw new DecodeError('too-large', `push/pull user state of ${h.userStateLen} bytes (at most ${maxUserStateBytes})`, start)
  }
  return h
}

function readUserMsgLen(): number {
  const start = r.pos
  let n = r.mapHeader('userMsgHeader')
  let len = 0
  while (n-- > 0) {
    if (r.key(KEYS) === K_USER_MSG_LEN) len = r.uint(Number.MAX_SAFE_INTEGER, 'UserMsgLen')
    else r.skip()
  }
  if (len > maxUserMsgBytes) {
    throw new DecodeError('too-large', `user message of ${len} bytes (at most ${maxUserMsgBytes})`, start)
  }
  return len
}

/** Reads a compress body; returns a view of the LZW bytes. */
function readCompressBody(maxBuf: number): Uint8Array {
  const start = r.pos
  let n = r.mapHeader('compress')
  let algo = 0
  let buf: Uint8Array | undefined
  while (n-- > 0) {
    switch (r.key(KEYS)) {
      case K_ALGO:
        algo = r.uint(U8, 'Algo')
        break
      case K_BUF:
        buf = r.rawView(maxBuf, 'Buf')
        break
      default:
        r.skip()
    }
  }
  if (algo !== lzwAlgo) throw new DecodeError('bad-compression', `unknown compression algorithm ${algo}`, start)
  return buf ?? new Uint8Array(0)
}

function notSupportedOrUnknown(type: number, where: string, at: number): DecodeError {
  return knownType(type)
    ? new DecodeError('not-supported', `message type ${type} is not valid ${where}`, at)
    : new DecodeError('unknown-type', `unknown message type ${type}`, at)
}

function knownType(t: number): boolean {
  return t <= MessageType.err || t === MessageType.label
}

/** One unwrapped packet message in buf[start, end). Throws DecodeError. */
function readPacketMessage(buf: Uint8Array, start: number, end: number): PacketMessage {
  if (start >= end) throw new DecodeError('empty', 'empty message', start)
  const type = buf[start]
  if (type === MessageType.user) return { type: 'user', payload: buf.slice(start + 1, end) }
  r.reset(buf, start + 1, end)
  let m: PacketMessage
  switch (type) {
    case MessageType.ping:
      m = readPing()
      break
    case MessageType.indirectPing:
      m = readIndirectPing()
      break
    case MessageType.ack:
      m = readAck()
      break
    case MessageType.nack:
      m = readNack()
      break
    case MessageType.suspect:
      m = readSuspectOrDead('suspect')
      break
    case MessageType.alive:
      m = readAlive()
      break
    case MessageType.dead:
      m = readSuspectOrDead('dead')
      break
    default:
      throw notSupportedOrUnknown(type, 'as a packet message', start)
  }
  if (r.pos !== end) throw new DecodeError('trailing-bytes', `${end - r.pos} bytes after the message`, r.pos)
  return m
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
  readonly errors: DecodeError[]
}

interface PacketContext {
  readonly messages: PacketMessage[]
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
  const ctx: PacketContext = { messages: [], errors: [], budget: maxDecompressedPacketBytes, stopped: false }
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
  return { messages: ctx.messages, errors: ctx.errors }
}

/**
 * Handles buf[start, end) as one packet layer (memberlist handleCommand). `at` >= 0 means buf is
 * decompressed data and errors are reported at the offset `at` of the compress message in the datagram.
 */
function unwrap(buf: Uint8Array, start: number, end: number, depth: number, ctx: PacketContext, at: number): void {
  if (ctx.stopped) return
  const report = (e: DecodeError): void => {
    ctx.errors.push(at < 0 ? e : e.relocated(at, 'in decompressed data'))
  }
  if (ctx.messages.length + ctx.errors.length >= maxPacketParts) {
    ctx.stopped = true
    report(new DecodeError('too-many-parts', `more than ${maxPacketParts} messages in one packet`, start))
    return
  }
  if (start >= end) {
    report(new DecodeError('empty', 'empty message', start))
    return
  }
  const type = buf[start]
  if (type === MessageType.compound) {
    if (depth >= maxWrapperDepth) {
      report(new DecodeError('too-deep', `wrappers nested deeper than ${maxWrapperDepth}`, start))
      return
    }
    if (end - start < 2) {
      report(new DecodeError('bad-compound', 'missing part count', start))
      return
    }
    const n = buf[start + 1]
    let p = start + 2 + 2 * n
    if (p > end) {
      report(new DecodeError('bad-compound', `length table of ${n} parts is truncated`, start))
      return
    }
    let i = 0
    for (; i < n; i++) {
      const lp = start + 2 + 2 * i
      const len = (buf[lp] << 8) | buf[lp + 1]
      if (p + len > end) {
        report(new DecodeError('truncated', `${n - i} of ${n} compound parts truncated`, p))
        return
      }
      unwrap(buf, p, p + len, depth + 1, ctx, at)
      if (ctx.stopped) return
      p += len
    }
    if (p < end) report(new DecodeError('trailing-bytes', `${end - p} bytes after the compound parts`, p))
    return
  }
  if (type === MessageType.compress) {
    if (depth >= maxWrapperDepth) {
      report(new DecodeError('too-deep', `wrappers nested deeper than ${maxWrapperDepth}`, start))
      return
    }
    let data: Uint8Array
    try {
      r.reset(buf, start + 1, end)
      const lzw = readCompressBody(maxPacketBytes)
      if (r.pos !== end) throw new DecodeError('trailing-bytes', `${end - r.pos} bytes after the compress message`, r.pos)
      const res = lzwDecompress(lzw, ctx.budget)
      if (!res.ok) throw res.error.relocated(start, 'compress')
      data = res.value
    } catch (e) {
      report(toDecodeError(e))
      return
    }
    ctx.budget -= data.length
    unwrap(data, 0, data.length, depth + 1, ctx, at < 0 ? start : at)
    return
  }
  if (type === MessageType.crc) {
    report(new DecodeError('not-supported', 'CRC is only valid as the outermost layer', start))
    return
  }
  try {
    ctx.messages.push(readPacketMessage(buf, start, end))
  } catch (e) {
    report(toDecodeError(e))
  }
}

// ---------------------------------------------------------------------------------------------------
// Streams

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
        throw new DecodeError('truncated', `push/pull announces ${h.nodes} nodes but has ${end - r.pos} bytes left`, r.pos)
      }
      const nodes: PushNodeState[] = []
      for (let i = 0; i < h.nodes; i++) nodes.push(readPushNodeState())
      const left = end - r.pos
      if (left < h.userStateLen) {
        throw new DecodeError('truncated', `user state of ${h.userStateLen} bytes, ${left} present`, r.pos)
      }
      if (left > h.userStateLen) {
        throw new DecodeError('trailing-bytes', `${left - h.userStateLen} bytes after the user state`, r.pos + h.userStateLen)
      }
      const pp: PushPullMsg = { type: 'pushPull', join: h.join, nodes, userState: buf.slice(r.pos, end) }
      return pp
    }
    case MessageType.user: {
      const len = readUserMsgLen()
      const left = end - r.pos
      if (left < len) throw new DecodeError('truncated', `user message of ${len} bytes, ${left} present`, r.pos)
      if (left > len) throw new DecodeError('trailing-bytes', `${left - len} bytes after the user message`, r.pos + len)
      const u: UserStreamMsg = { type: 'userStream', payload: buf.slice(r.pos, end) }
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
      if (total > maxStreamBytes) return new DecodeError('too-large', `stream of ${total} bytes (at most ${maxStreamBytes})`, off)
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
