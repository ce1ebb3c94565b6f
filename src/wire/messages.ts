/**
 * Typed memberlist messages (memberlist 0.2.2 as Serf 0.9.4 speaks it). Field names are camelCased
 * versions of the Go field names; the codec maps them to the exact wire keys (`SeqNo`, `SourceAddr`, …).
 *
 * Byte fields (`addr`, `meta`, `vsn`, `payload`, `sourceAddr`, `target`) are Uint8Array; string fields
 * are JS strings. `null` stands for Go's nil slice where the distinction shows on the wire.
 */

/** Message type numbers: part of the protocol, append-only (memberlist's own warning). */
export const MessageType = {
  ping: 0,
  indirectPing: 1,
  ack: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nack: 11,
  crc: 12,
  err: 13,
  label: 244,
} as const
export type MessageTypeName = keyof typeof MessageType

/** Member states as numbered on the wire (pushNodeState.State). */
export const WireState = { alive: 0, suspect: 1, dead: 2, left: 3 } as const
export type WireStateNumber = 0 | 1 | 2 | 3

export interface PingMsg {
  readonly type: 'ping'
  readonly seqNo: number
  /** Name of the node being pinged; '' means "whoever you are". */
  readonly node: string
  readonly sourceAddr?: Uint8Array
  readonly sourcePort?: number
  readonly sourceNode?: string
}

export interface IndirectPingMsg {
  readonly type: 'indirectPing'
  readonly seqNo: number
  readonly target: Uint8Array
  readonly port: number
  readonly node: string
  readonly nack: boolean
  readonly sourceAddr?: Uint8Array
  readonly sourcePort?: number
  readonly sourceNode?: string
}

export interface AckMsg {
  readonly type: 'ack'
  readonly seqNo: number
  readonly payload: Uint8Array | null
}

export interface NackMsg {
  readonly type: 'nack'
  readonly seqNo: number
}

export interface ErrMsg {
  readonly type: 'err'
  readonly error: string
}

export interface SuspectMsg {
  readonly type: 'suspect'
  readonly incarnation: number
  readonly node: string
  readonly from: string
}

export interface AliveMsg {
  readonly type: 'alive'
  readonly incarnation: number
  readonly node: string
  readonly addr: Uint8Array
  readonly port: number
  readonly meta: Uint8Array | null
  /** Exactly 6 bytes: PMin, PMax, PCur, DMin, DMax, DCur. */
  readonly vsn: Uint8Array
}

export interface DeadMsg {
  readonly type: 'dead'
  readonly incarnation: number
  readonly node: string
  /** The accuser. from === node means the node left on purpose. */
  readonly from: string
}

/** A user (delegate) message in a packet: the raw bytes after type byte 8. */
export interface UserMsg {
  readonly type: 'user'
  readonly payload: Uint8Array
}

/** Every message that can be a packet part once wrappers (compound, compress, CRC) are removed. */
export type PacketMessage =
  | PingMsg
  | IndirectPingMsg
  | AckMsg
  | NackMsg
  | SuspectMsg
  | AliveMsg
  | DeadMsg
  | UserMsg

export interface PushNodeState {
  readonly name: string
  readonly addr: Uint8Array
  readonly port: number
  readonly meta: Uint8Array | null
  readonly incarnation: number
  readonly state: WireStateNumber
  readonly vsn: Uint8Array
}

export interface PushPullMsg {
  readonly type: 'pushPull'
  readonly join: boolean
  readonly nodes: readonly PushNodeState[]
  /** Raw delegate state (UserStateLen bytes); empty when there is none. */
  readonly userState: Uint8Array
}

/** Reliable user message over a stream: header {UserMsgLen} then the raw bytes. */
export interface UserStreamMsg {
  readonly type: 'userStream'
  readonly payload: Uint8Array
}

/** Every message that can be the (unwrapped) content of a stream. */
export type StreamMessage = PushPullMsg | PingMsg | AckMsg | ErrMsg | UserStreamMsg
