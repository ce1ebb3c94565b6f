/**
 * Reading the bodies of memberlist 0.2.2 messages (schema.ts has the keys and the writers). Follows
 * go-msgpack's acceptance rules (msgpack-reader.ts) and memberlist's field types, and adds the checks
 * 0.2.2 lacks: Vsn exactly 6 bytes, addresses 4 or 16 bytes (or empty), State 0..3. Readers throw
 * DecodeError; the public functions of codec.ts and stream-codec.ts catch it. Unknown keys are
 * skipped, missing keys leave zero values.
 */
import { copyOut } from './bytes-pool.js'
import { DecodeError } from './decode-error.js'
import { maxBytesFieldBytes, maxMsgpackDepth, maxPushPullNodes, maxStringFieldBytes, maxUserMsgBytes, maxUserStateBytes, vsnBytes } from './limits.js'
import { MessageType, type AckMsg, type AliveMsg, type ErrMsg, type IndirectPingMsg, type NackMsg, type PacketMessage, type PingMsg, type PushNodeState, type WireStateNumber } from './messages.js'
import { MsgpackReader } from './msgpack-reader.js'
import { KEYS, K_ADDR, K_ALGO, K_BUF, K_ERROR, K_FROM, K_INCARNATION, K_JOIN, K_META, K_NACK, K_NAME, K_NODE, K_NODES, K_PAYLOAD, K_PORT, K_SEQNO, K_SOURCE_ADDR, K_SOURCE_NODE, K_SOURCE_PORT, K_STATE, K_TARGET, K_USER_MSG_LEN, K_USER_STATE_LEN, K_VSN, ACK_ORDER, ALIVE_ORDER, INDIRECT_ORDER, NODE_STATE_ORDER, PING_ORDER, SUSPECT_ORDER, U16, U32, U8, lzwAlgo } from './schema.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

// ---------------------------------------------------------------------------------------------------
// Reading bodies (throwing DecodeError; caught at the public functions)

export const r = new MsgpackReader(maxMsgpackDepth)

export function checkAddr(a: Uint8Array, field: string, at: number): Uint8Array {
  if (a.length !== 0 && a.length !== 4 && a.length !== 16) {
    throw new DecodeError('bad-field', `${field} must be 4 or 16 bytes, got ${a.length}`, at)
  }
  return a
}

export function readVsn(at: number): Uint8Array {
  const v = r.bytesOrNull(maxBytesFieldBytes, 'Vsn')
  if (v === null || v.length !== vsnBytes) {
    throw new DecodeError('bad-field', `Vsn must be ${vsnBytes} bytes, got ${v === null ? 'nil' : v.length}`, at)
  }
  return v
}

export function readPing(): PingMsg {
  const count = r.mapHeader('ping')
  let seqNo = 0
  let node = ''
  let sourceAddr: Uint8Array | undefined
  let sourcePort = 0
  let sourceNode = ''
  for (let i = 0; i < count; i++) {
    const at = r.pos
    switch (r.key(KEYS, PING_ORDER[i] ?? -1)) {
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

export function readIndirectPing(): IndirectPingMsg {
  const count = r.mapHeader('indirectPingReq')
  let seqNo = 0
  let target: Uint8Array = new Uint8Array(0)
  let port = 0
  let node = ''
  let nack = false
  let sourceAddr: Uint8Array | undefined
  let sourcePort = 0
  let sourceNode = ''
  for (let i = 0; i < count; i++) {
    const at = r.pos
    switch (r.key(KEYS, INDIRECT_ORDER[i] ?? -1)) {
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

export function readAck(): AckMsg {
  const count = r.mapHeader('ackResp')
  let seqNo = 0
  let payload: Uint8Array | null = null
  for (let i = 0; i < count; i++) {
    switch (r.key(KEYS, ACK_ORDER[i] ?? -1)) {
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

export function readNack(): NackMsg {
  let n = r.mapHeader('nackResp')
  let seqNo = 0
  while (n-- > 0) {
    if (r.key(KEYS) === K_SEQNO) seqNo = r.uint(U32, 'SeqNo')
    else r.skip()
  }
  return { type: 'nack', seqNo }
}

export function readErr(): ErrMsg {
  let n = r.mapHeader('errResp')
  let error = ''
  while (n-- > 0) {
    if (r.key(KEYS) === K_ERROR) error = r.str(maxStringFieldBytes, 'Error')
    else r.skip()
  }
  return { type: 'err', error }
}

export function readSuspectOrDead<T extends 'suspect' | 'dead'>(
  type: T,
): { type: T; incarnation: number; node: string; from: string } {
  const count = r.mapHeader(type)
  let incarnation = 0
  let node = ''
  let from = ''
  for (let i = 0; i < count; i++) {
    switch (r.key(KEYS, SUSPECT_ORDER[i] ?? -1)) {
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

export function readAlive(): AliveMsg {
  const start = r.pos
  const count = r.mapHeader('alive')
  let incarnation = 0
  let node = ''
  let addr: Uint8Array = new Uint8Array(0)
  let port = 0
  let meta: Uint8Array | null = null
  let vsn: Uint8Array | undefined
  for (let i = 0; i < count; i++) {
    const at = r.pos
    switch (r.key(KEYS, ALIVE_ORDER[i] ?? -1)) {
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

export function readPushNodeState(): PushNodeState {
  const start = r.pos
  const count = r.mapHeader('pushNodeState')
  let name = ''
  let addr: Uint8Array = new Uint8Array(0)
  let port = 0
  let meta: Uint8Array | null = null
  let incarnation = 0
  let state = 0
  let vsn: Uint8Array | undefined
  for (let i = 0; i < count; i++) {
    const at = r.pos
    switch (r.key(KEYS, NODE_STATE_ORDER[i] ?? -1)) {
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

export interface PushPullHeader {
  join: boolean
  nodes: number
  userStateLen: number
}

export function readPushPullHeader(): PushPullHeader {
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
    const text = `push/pull user state of ${h.userStateLen} bytes (at most ${maxUserStateBytes})`
    throw new DecodeError('too-large', text, start)
  }
  return h
}

export function readUserMsgLen(): number {
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
export function readCompressBody(maxBuf: number): Uint8Array {
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

export function notSupportedOrUnknown(type: number, where: string, at: number): DecodeError {
  return knownType(type)
    ? new DecodeError('not-supported', `message type ${type} is not valid ${where}`, at)
    : new DecodeError('unknown-type', `unknown message type ${type}`, at)
}

export function knownType(t: number): boolean {
  return t <= MessageType.err || t === MessageType.label
}

/** One unwrapped packet message in buf[start, end). Throws DecodeError. */
export function readPacketMessage(buf: Uint8Array, start: number, end: number): PacketMessage {
  if (start >= end) throw new DecodeError('empty', 'empty message', start)
  const type = buf[start]
  if (type === MessageType.user) return { type: 'user', payload: copyOut(buf, start + 1, end) }
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
