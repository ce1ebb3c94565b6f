/**
 * The bodies of memberlist 0.2.2 messages: Go field names, their sorted order, and one writer and one
 * reader function per body (spec section 3); the writers are here, the readers in schema-read.ts.
 * Internal to the wire layer; codec.ts and stream-codec.ts put the type bytes and wrappers around them.
 *
 * Writing produces what go-msgpack v0.5.5 produces for memberlist's structs, byte for byte: keys in
 * sorted order, `omitempty` Source* fields left out when empty, byte fields in the str family, nil
 * slices as `c0`. Values a Go peer could not have sent (a Vsn that is not 6 bytes, a port above 65535)
 * are bugs and throw InvariantError.
 *
 * Reading follows go-msgpack's acceptance rules (msgpack-reader.ts) and memberlist's field types, and
 * adds the checks 0.2.2 lacks: Vsn exactly 6 bytes, addresses 4 or 16 bytes (or empty), State 0..3.
 * Readers throw DecodeError; the public functions catch it. Unknown keys are skipped, missing keys
 * leave zero values.
 */
import { InvariantError } from '../core/assert.js'
import { vsnBytes } from './limits.js'
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
  type SuspectMsg,
} from './messages.js'
import { KeyTable } from './msgpack-reader.js'
import { encodeKey, MsgpackWriter } from './msgpack-writer.js'

export const U32 = 0xffffffff
export const U16 = 0xffff
export const U8 = 0xff
/** The compression algorithm number of LZW, the only one (`lzwAlgo`). */
export const lzwAlgo = 0

// ---------------------------------------------------------------------------------------------------
// Keys: every Go field name that appears in a memberlist body.

export const KEY_NAMES = [
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
export const KEYS = new KeyTable(KEY_NAMES)
export const K_ADDR = 0
export const K_ALGO = 1
export const K_BUF = 2
export const K_ERROR = 3
export const K_FROM = 4
export const K_INCARNATION = 5
export const K_JOIN = 6
export const K_META = 7
export const K_NACK = 8
export const K_NAME = 9
export const K_NODE = 10
export const K_NODES = 11
export const K_PAYLOAD = 12
export const K_PORT = 13
export const K_SEQNO = 14
export const K_SOURCE_ADDR = 15
export const K_SOURCE_NODE = 16
export const K_SOURCE_PORT = 17
export const K_STATE = 18
export const K_TARGET = 19
export const K_USER_MSG_LEN = 20
export const K_USER_STATE_LEN = 21
export const K_VSN = 22

/** The order Go writes each body's keys in (sorted), so the reader can check the expected key first. */
export const PING_ORDER = [K_NODE, K_SEQNO, K_SOURCE_ADDR, K_SOURCE_NODE, K_SOURCE_PORT]
export const INDIRECT_ORDER = [K_NACK, K_NODE, K_PORT, K_SEQNO, K_SOURCE_ADDR, K_SOURCE_NODE, K_SOURCE_PORT, K_TARGET]
export const ACK_ORDER = [K_PAYLOAD, K_SEQNO]
export const SUSPECT_ORDER = [K_FROM, K_INCARNATION, K_NODE]
export const ALIVE_ORDER = [K_ADDR, K_INCARNATION, K_META, K_NODE, K_PORT, K_VSN]
export const NODE_STATE_ORDER = [K_ADDR, K_INCARNATION, K_META, K_NAME, K_PORT, K_STATE, K_VSN]

/** Pre-encoded keys (fixstr), indexed like KEY_NAMES. */
export const KB: readonly Uint8Array[] = KEY_NAMES.map(encodeKey)

// ---------------------------------------------------------------------------------------------------
// Writing bodies

/** One writer for every encode call: encoding is synchronous and never re-entered. */
export const w = new MsgpackWriter(4096)

export function key(id: number): void {
  w.encoded(KB[id])
}

export function assertAddr(a: Uint8Array, field: string): void {
  if (!(a.length === 0 || a.length === 4 || a.length === 16)) {
    throw new InvariantError(`${field} must be 0, 4 or 16 bytes, got ${a.length}`)
  }
}

export function writePing(m: PingMsg): void {
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

export function writeIndirectPing(m: IndirectPingMsg): void {
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

export function writeAck(m: AckMsg): void {
  w.mapHeader(2)
  key(K_PAYLOAD)
  w.bytesOrNil(m.payload)
  key(K_SEQNO)
  w.uintMax(m.seqNo, U32)
}

export function writeNack(m: NackMsg): void {
  w.mapHeader(1)
  key(K_SEQNO)
  w.uintMax(m.seqNo, U32)
}

export function writeErr(m: ErrMsg): void {
  w.mapHeader(1)
  key(K_ERROR)
  w.str(m.error)
}

export function writeSuspectOrDead(m: SuspectMsg | DeadMsg): void {
  w.mapHeader(3)
  key(K_FROM)
  w.str(m.from)
  key(K_INCARNATION)
  w.uintMax(m.incarnation, U32)
  key(K_NODE)
  w.str(m.node)
}

export function writeAlive(m: AliveMsg): void {
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

export function writePushNodeState(s: PushNodeState): void {
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

export function writeCompressWrapper(lzwBytes: Uint8Array): void {
  w.u8(MessageType.compress)
  w.mapHeader(2)
  key(K_ALGO)
  w.uint(lzwAlgo)
  key(K_BUF)
  w.bytes(lzwBytes)
}

export function writePacketMessage(m: PacketMessage | ErrMsg): void {
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
