/**
 * The overlay's messages, HyParView's and Plumtree's, as one msgpack array each: kind, sender, fields.
 *
 * ```
 *  HyParView                                         Plumtree
 *  [1 JOIN,          from]                           [16 GOSSIP, from, id:bin16, hops, payload:bin]
 *  [2 FORWARD_JOIN,  from, newPeer, ttl]             [17 IHAVE,  from, [id:bin16, hops, id, hops, …]]
 *  [3 NEIGHBOR,      from, highPriority:bool]        [18 GRAFT,  from, [id:bin16, …]]
 *  [4 NEIGHBOR_REPLY,from, accepted:bool]            [19 PRUNE,  from]
 *  [5 DISCONNECT,    from, leaving:bool]
 *  [6 SHUFFLE,       from, origin, ttl, [peer, …]]
 *  [7 SHUFFLE_REPLY, from, [peer, …]]
 *  [8 PING,          from]
 *
 *  Composed node's other protocols over the overlay (cluster state rounds to sampled peers)
 *  [20 APP,          from, protocol:uint, payload:bin]
 * ```
 *
 * `from` is the sender's PeerId (the address it listens on), carried because a reply may travel over
 * another socket than the request. Message ids are content-derived (SHA-256 of the payload, first 16
 * bytes) and kept in memory as 32-character hex strings.
 *
 * `decodeOverlayMessage` never throws: size is checked before decoding, every count and length is
 * bounded, trailing bytes are refused, and the result names the reason (wire/decode-error.ts) so the
 * caller counts the drop and carries on.
 */
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { DecodeError, decodeOk, toDecodeError, type DecodeErrorReason, type DecodeResult } from '../wire/decode-error.js'
import { PEER_ID_MAX_BYTES, type PeerId } from './types.js'

/** Largest overlay message decoded; checked first. */
export const OVERLAY_MESSAGE_MAX_BYTES = 65_536
/** Most peers in one SHUFFLE or SHUFFLE_REPLY. */
export const SHUFFLE_PEERS_MAX = 512
/** Most ids in one IHAVE or GRAFT. */
export const IDS_PER_MESSAGE_MAX = 1024
/** Message id length on the wire. */
export const MESSAGE_ID_BYTES = 16
/** Largest ttl/hops value accepted. */
const SMALL_MAX = 255

export const Kind = {
  join: 1,
  forwardJoin: 2,
  neighbor: 3,
  neighborReply: 4,
  disconnect: 5,
  shuffle: 6,
  shuffleReply: 7,
  ping: 8,
  gossip: 16,
  ihave: 17,
  graft: 18,
  prune: 19,
  app: 20,
} as const

export type HyParViewMessage =
  | { readonly kind: 'join'; readonly from: PeerId }
  | { readonly kind: 'forwardJoin'; readonly from: PeerId; readonly newPeer: PeerId; readonly ttl: number }
  | { readonly kind: 'neighbor'; readonly from: PeerId; readonly highPriority: boolean }
  | { readonly kind: 'neighborReply'; readonly from: PeerId; readonly accepted: boolean }
  | { readonly kind: 'disconnect'; readonly from: PeerId; readonly leaving: boolean }
  | { readonly kind: 'shuffle'; readonly from: PeerId; readonly origin: PeerId; readonly ttl: number; readonly peers: readonly PeerId[] }
  | { readonly kind: 'shuffleReply'; readonly from: PeerId; readonly peers: readonly PeerId[] }
  | { readonly kind: 'ping'; readonly from: PeerId }

export interface IHaveEntry {
  readonly id: string
  readonly hops: number
}

export type PlumtreeMessage =
  | { readonly kind: 'gossip'; readonly from: PeerId; readonly id: string; readonly hops: number; readonly payload: Uint8Array }
  | { readonly kind: 'ihave'; readonly from: PeerId; readonly entries: readonly IHaveEntry[] }
  | { readonly kind: 'graft'; readonly from: PeerId; readonly ids: readonly string[] }
  | { readonly kind: 'prune'; readonly from: PeerId }

/** A message of another protocol (by its stack id) carried between overlay peers. */
export interface AppMessage {
  readonly kind: 'app'
  readonly from: PeerId
  readonly protocol: number
  readonly payload: Uint8Array
}

export type OverlayMessage = HyParViewMessage | PlumtreeMessage | AppMessage

/** True for HyParView's kinds. */
export function isHyParViewMessage(m: OverlayMessage): m is HyParViewMessage {
  return !isPlumtreeMessage(m) && m.kind !== 'app'
}

/** True for Plumtree's kinds (the first byte after the array header tells them apart). */
export function isPlumtreeMessage(m: OverlayMessage): m is PlumtreeMessage {
  return m.kind === 'gossip' || m.kind === 'ihave' || m.kind === 'graft' || m.kind === 'prune'
}

const writer = new MsgpackWriter(256)

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0))
const hexCodes: number[] = []
/** Lower-case hex of `bytes`, built flat in one call (a string grown by += is a rope of pieces until read). */
export function idToHex(bytes: Uint8Array): string {
  hexCodes.length = 2 * bytes.length
  for (let i = 0; i < bytes.length; i++) {
    hexCodes[2 * i] = HEX_CODES[bytes[i] >> 4]
    hexCodes[2 * i + 1] = HEX_CODES[bytes[i] & 15]
  }
  return String.fromCharCode.apply(null, hexCodes)
}
const idScratch = new Uint8Array(MESSAGE_ID_BYTES)
/** A 32-character hex id written as its 16 bytes (a Go []byte), through one scratch array. */
function writeId(w: MsgpackWriter, hex: string): void {
  const n = hex.length >> 1
  const b = n === MESSAGE_ID_BYTES ? idScratch : new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (hexNibble(hex.charCodeAt(2 * i)) << 4) | hexNibble(hex.charCodeAt(2 * i + 1))
  w.bytes(b)
}
function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return 0
}

function writePeers(w: MsgpackWriter, peers: readonly PeerId[]): void {
  w.arrayHeader(peers.length)
  for (let i = 0; i < peers.length; i++) w.str(peers[i])
}

/**
 * Writes each kind's fields straight into the shared writer: no arrays built per message (the generic
 * `value()` walk over a fresh array per message was a tenth of a 2,000-node simulation). The bytes are
 * those msgpack gives the array [kind, from, ...fields]; messages.test checks them. The output is cut
 * from a shared slab (bytes-pool.ts): it is sent and dropped, never kept.
 */
export function encodeOverlayMessage(m: OverlayMessage): Uint8Array {
  const w = writer.reset()
  switch (m.kind) {
    case 'join':
    case 'ping':
    case 'prune':
      w.arrayHeader(2)
      break
    case 'forwardJoin':
    case 'app':
    case 'gossip':
      w.arrayHeader(m.kind === 'gossip' ? 5 : 4)
      break
    case 'shuffle':
      w.arrayHeader(5)
      break
    default:
      w.arrayHeader(3)
  }
  w.int(Kind[m.kind])
  w.str(m.from)
  switch (m.kind) {
    case 'join':
    case 'ping':
    case 'prune':
      break
    case 'forwardJoin':
      w.str(m.newPeer)
      w.int(m.ttl)
      break
    case 'neighbor':
      w.bool(m.highPriority)
      break
    case 'neighborReply':
      w.bool(m.accepted)
      break
    case 'disconnect':
      w.bool(m.leaving)
      break
    case 'shuffle':
      w.str(m.origin)
      w.int(m.ttl)
      writePeers(w, m.peers)
      break
    case 'shuffleReply':
      writePeers(w, m.peers)
      break
    case 'gossip':
      writeId(w, m.id)
      w.int(m.hops)
      w.bytes(m.payload)
      break
    case 'ihave':
      w.arrayHeader(2 * m.entries.length)
      for (const e of m.entries) {
        writeId(w, e.id)
        w.int(e.hops)
      }
      break
    case 'graft':
      w.arrayHeader(m.ids.length)
      for (const id of m.ids) writeId(w, id)
      break
    case 'app':
      w.int(m.protocol)
      w.bytes(m.payload)
      break
  }
  return w.finishPooled()
}

const reader = new MsgpackReader(4)

function fail(reason: DecodeErrorReason, detail: string, offset: number): DecodeResult<OverlayMessage> {
  return { ok: false, error: new DecodeError(reason, detail, offset) }
}

function peer(r: MsgpackReader, field: string): PeerId {
  const s = r.str(PEER_ID_MAX_BYTES, field)
  if (s.length === 0) r.fail('bad-field', `${field} is empty`)
  return s
}

function peerList(r: MsgpackReader): PeerId[] {
  const n = r.arrayHeader('peers')
  if (n > SHUFFLE_PEERS_MAX) r.fail('too-large', `more than ${SHUFFLE_PEERS_MAX} peers`)
  const out: PeerId[] = []
  for (let i = 0; i < n; i++) out.push(peer(r, 'peer'))
  return out
}

function messageId(r: MsgpackReader): string {
  const b = r.rawView(MESSAGE_ID_BYTES, 'id')
  if (b.length !== MESSAGE_ID_BYTES) r.fail('bad-field', `id must be ${MESSAGE_ID_BYTES} bytes, got ${b.length}`)
  return idToHex(b)
}

/** Fields per kind (kind and sender included): the array length must match exactly. */
const FIELD_COUNT: Readonly<Record<number, number>> = { 1: 2, 2: 4, 3: 3, 4: 3, 5: 3, 6: 5, 7: 3, 8: 2, 16: 5, 17: 3, 18: 3, 19: 2, 20: 4 }

/** Decodes one overlay message. `maxPayloadBytes` bounds a GOSSIP's payload ('too-large' beyond). Never throws. */
export function decodeOverlayMessage(bytes: Uint8Array, maxPayloadBytes = 65_000): DecodeResult<OverlayMessage> {
  if (bytes.length === 0) return fail('empty', 'empty overlay message', 0)
  if (bytes.length > OVERLAY_MESSAGE_MAX_BYTES) return fail('too-large', `overlay message over ${OVERLAY_MESSAGE_MAX_BYTES} bytes`, 0)
  try {
    const r = reader.reset(bytes, 0)
    const n = r.arrayHeader('overlay message')
    if (n < 2) r.fail('bad-field', 'overlay message has fewer than 2 fields')
    const kindAt = r.pos
    const kind = r.uint(255, 'kind')
    const want = FIELD_COUNT[kind]
    if (want === undefined) return fail('unknown-type', `unknown overlay message kind ${kind}`, kindAt)
    if (n !== want) r.fail('bad-field', `message kind ${kind} has ${n} fields, expected ${want}`, kindAt)
    const from = peer(r, 'from')
    let m: OverlayMessage
    switch (kind) {
      case Kind.join:
      case Kind.ping:
      case Kind.prune:
        m = { kind: kind === Kind.join ? 'join' : kind === Kind.ping ? 'ping' : 'prune', from }
        break
      case Kind.forwardJoin:
        m = { kind: 'forwardJoin', from, newPeer: peer(r, 'newPeer'), ttl: r.uint(SMALL_MAX, 'ttl') }
        break
      case Kind.neighbor:
        m = { kind: 'neighbor', from, highPriority: r.bool('highPriority') }
        break
      case Kind.neighborReply:
        m = { kind: 'neighborReply', from, accepted: r.bool('accepted') }
        break
      case Kind.disconnect:
        m = { kind: 'disconnect', from, leaving: r.bool('leaving') }
        break
      case Kind.shuffle: {
        const origin = peer(r, 'origin')
        const ttl = r.uint(SMALL_MAX, 'ttl')
        m = { kind: 'shuffle', from, origin, ttl, peers: peerList(r) }
        break
      }
      case Kind.shuffleReply:
        m = { kind: 'shuffleReply', from, peers: peerList(r) }
        break
      case Kind.gossip: {
        const id = messageId(r)
        const hops = r.uint(SMALL_MAX, 'hops')
        m = { kind: 'gossip', from, id, hops, payload: r.bytes(maxPayloadBytes, 'payload') }
        break
      }
      case Kind.ihave: {
        const len = r.arrayHeader('ihave entries')
        if (len % 2 !== 0) r.fail('bad-field', 'IHAVE entries must be (id, hops) pairs')
        if (len > 2 * IDS_PER_MESSAGE_MAX) r.fail('too-large', `more than ${IDS_PER_MESSAGE_MAX} ids`)
        const entries: IHaveEntry[] = []
        for (let i = 0; i < len; i += 2) entries.push({ id: messageId(r), hops: r.uint(SMALL_MAX, 'hops') })
        m = { kind: 'ihave', from, entries }
        break
      }
      case Kind.graft: {
        const len = r.arrayHeader('graft ids')
        if (len > IDS_PER_MESSAGE_MAX) r.fail('too-large', `more than ${IDS_PER_MESSAGE_MAX} ids`)
        const ids: string[] = []
        for (let i = 0; i < len; i++) ids.push(messageId(r))
        m = { kind: 'graft', from, ids }
        break
      }
      case Kind.app: {
        const protocol = r.uint(SMALL_MAX, 'protocol')
        m = { kind: 'app', from, protocol, payload: r.bytes(OVERLAY_MESSAGE_MAX_BYTES, 'payload') }
        break
      }
      default:
        return fail('unknown-type', `unknown overlay message kind ${kind}`, kindAt)
    }
    if (r.pos !== bytes.length) return fail('trailing-bytes', `${bytes.length - r.pos} bytes after the message`, r.pos)
    return decodeOk(m)
  } catch (e) {
    return { ok: false, error: toDecodeError(e) }
  }
}
