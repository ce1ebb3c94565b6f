/**
 * The broadcast engine's messages: a compact binary framing of their own (DataView, big-endian), one
 * kind byte first. The glue wraps them in a Grapevine envelope inside memberlist `user` messages.
 *
 * ```
 * message   = kind:u8 flags:u8 rumorCount:u8 rumor* groupCount:u8 group*
 * kind      = 0x01 rumors (a gossip contact: push, pull request or both)
 *           | 0x02 reply  (the answer: ids the peer already had, and rumors the asker lacked)
 * flags     = rumors: bit 0 PULL (reply with your hot rumors that I do not list),
 *                     bit 1 ACK  (feedback: reply with the ids of these rumors you already had),
 *                     bit 2 REPAIR (with PULL: answer from every recently delivered rumor, not only hot ones);
 *             reply: 0. Other bits must be 0.
 * rumor     = origin:str8 epoch:u32 seq:varint ageMs:varint hops:u8 name:str8 payload:u16-length bytes
 * group     = origin:str8 epoch:u32 count:u16 seq:varint × count
 *             rumors: the ids the sender already knows (its pull digest); reply: the ids it already had
 * str8      = length:u8 UTF-8 bytes (origin: 1..128 bytes; name: 0..255)
 * varint    = unsigned LEB128, minimal, at most 5 bytes, value < 2^32
 * ```
 *
 * A rumor id is (origin, epoch, seq): the originating node, a random 32-bit epoch it draws at start (so a
 * restarted node never reuses an id still remembered by its peers) and a per-epoch sequence number.
 * Ids are grouped by (origin, epoch) so a digest costs a few bytes per rumor.
 *
 * `decodeRumorMessage` never throws: it returns a typed result whose error names the reason and offset
 * (the reasons of `wire/decode-error.ts`). Input is bounded before anything is allocated for it.
 */
import { DecodeError, decodeFail, decodeOk, toDecodeError, type DecodeResult } from '../wire/decode-error.js'
import { utf8Length } from '../wire/msgpack-writer.js'
import { NODE_NAME_MAX_BYTES } from './config.js'

export const RUMOR_KIND_RUMORS = 0x01
export const RUMOR_KIND_REPLY = 0x02
export const FLAG_PULL = 0x01
export const FLAG_ACK = 0x02
export const FLAG_REPAIR = 0x04

/** Largest message decoded (a memberlist datagram is at most 64 KiB). Checked first. */
export const RUMOR_MESSAGE_MAX_BYTES = 65_536
/** Most ids decoded from one message, over all groups. */
export const RUMOR_IDS_MAX = 4096

/** A rumor's identity. */
export interface RumorId {
  readonly origin: string
  readonly epoch: number
  readonly seq: number
}

/** A rumor as it travels. `ageMs` is the time it has been held, summed along its path (transit excluded). */
export interface WireRumor extends RumorId {
  readonly ageMs: number
  readonly hops: number
  readonly name: string
  readonly payload: Uint8Array
}

export interface RumorsMessage {
  readonly kind: 'rumors'
  readonly pull: boolean
  readonly ackWanted: boolean
  /** A residue-repair pull: answer from recently delivered rumors, not only hot ones. */
  readonly repair: boolean
  readonly rumors: readonly WireRumor[]
  /** Ids the sender already knows (its pull digest). */
  readonly known: readonly RumorId[]
}

export interface ReplyMessage {
  readonly kind: 'reply'
  /** Ids of pushed rumors the replier already had (feedback). */
  readonly had: readonly RumorId[]
  /** Rumors the asker lacked (pull). */
  readonly rumors: readonly WireRumor[]
}

export type RumorMessage = RumorsMessage | ReplyMessage

/** The compact printable key of an id: `origin/epoch.seq` (the suffix has no '/', so keys are unique). */
export function rumorKey(id: RumorId): string {
  return `${id.origin}/${id.epoch}.${id.seq}`
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5
}

/** Encoded size of one rumor entry. */
export function rumorEntryBytes(r: WireRumor): number {
  return 1 + utf8Length(r.origin) + 4 + varintLength(r.seq) + varintLength(r.ageMs) + 1 + 1 + utf8Length(r.name) + 2 + r.payload.length
}

/** Encoded size of the groups for `ids` (grouped as `encodeRumorMessage` does). */
export function idsBytes(ids: readonly RumorId[]): number {
  let n = 1
  for (const g of groupIds(ids)) {
    n += 1 + utf8Length(g.origin) + 4 + 2
    for (const s of g.seqs) n += varintLength(s)
  }
  return n
}

/** Bytes of an empty message (kind, flags, two counts). */
export const EMPTY_MESSAGE_BYTES = 4

interface IdGroup {
  origin: string
  epoch: number
  seqs: number[]
}

function groupIds(ids: readonly RumorId[]): IdGroup[] {
  const groups = new Map<string, IdGroup>()
  for (const id of ids) {
    const gk = `${id.origin}/${id.epoch}`
    let g = groups.get(gk)
    if (g === undefined) {
      g = { origin: id.origin, epoch: id.epoch, seqs: [] }
      groups.set(gk, g)
    }
    g.seqs.push(id.seq)
  }
  return [...groups.values()]
}

class Writer {
  readonly buf: Uint8Array
  readonly view: DataView
  pos = 0
  constructor(size: number) {
    this.buf = new Uint8Array(size)
    this.view = new DataView(this.buf.buffer)
  }
  u8(v: number): void {
    this.buf[this.pos++] = v
  }
  u16(v: number): void {
    this.view.setUint16(this.pos, v)
    this.pos += 2
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v)
    this.pos += 4
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80
      v = Math.floor(v / 128)
    }
    this.buf[this.pos++] = v
  }
  str8(s: string): void {
    const r = encoder.encodeInto(s, this.buf.subarray(this.pos + 1))
    this.buf[this.pos] = r.written
    this.pos += 1 + r.written
  }
}

/**
 * Encodes a message. Our own values are checked by the engine before they get here (names and payloads
 * within limits, counts ≤ 255 rumors and ≤ 255 groups of ≤ 65535 ids); a violation is a bug.
 */
export function encodeRumorMessage(m: RumorMessage): Uint8Array {
  const ids = m.kind === 'rumors' ? m.known : m.had
  const groups = groupIds(ids)
  let size = EMPTY_MESSAGE_BYTES
  for (const r of m.rumors) size += rumorEntryBytes(r)
  size += idsBytes(ids) - 1
  const w = new Writer(size)
  w.u8(m.kind === 'rumors' ? RUMOR_KIND_RUMORS : RUMOR_KIND_REPLY)
  w.u8(m.kind === 'rumors' ? (m.pull ? FLAG_PULL : 0) | (m.ackWanted ? FLAG_ACK : 0) | (m.repair ? FLAG_REPAIR : 0) : 0)
  w.u8(m.rumors.length)
  for (const r of m.rumors) {
    w.str8(r.origin)
    w.u32(r.epoch)
    w.varint(r.seq)
    w.varint(Math.min(r.ageMs, 0xffffffff))
    w.u8(Math.min(r.hops, 255))
    w.str8(r.name)
    w.u16(r.payload.length)
    w.buf.set(r.payload, w.pos)
    w.pos += r.payload.length
  }
  w.u8(groups.length)
  for (const g of groups) {
    w.str8(g.origin)
    w.u32(g.epoch)
    w.u16(g.seqs.length)
    for (const s of g.seqs) w.varint(s)
  }
  return w.buf
}

class Reader {
  pos = 0
  private readonly view: DataView
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new DecodeError('truncated', `${what} needs ${n} bytes, ${this.buf.length - this.pos} left`, this.pos)
  }
  u8(what: string): number {
    this.need(1, what)
    return this.buf[this.pos++]
  }
  u16(what: string): number {
    this.need(2, what)
    const v = this.view.getUint16(this.pos)
    this.pos += 2
    return v
  }
  u32(what: string): number {
    this.need(4, what)
    const v = this.view.getUint32(this.pos)
    this.pos += 4
    return v
  }
  varint(what: string): number {
    const start = this.pos
    let v = 0
    for (let i = 0; i < 5; i++) {
      const b = this.u8(what)
      v += (b & 0x7f) * 2 ** (7 * i)
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw new DecodeError('bad-field', `${what} is not minimally encoded`, start)
        if (v > 0xffffffff) throw new DecodeError('bad-field', `${what} exceeds 2^32 - 1`, start)
        return v
      }
    }
    throw new DecodeError('bad-field', `${what} varint longer than 5 bytes`, start)
  }
  str8(what: string, min: number, max: number): string {
    const start = this.pos
    const len = this.u8(`${what} length`)
    if (len < min || len > max) throw new DecodeError('bad-field', `${what} is ${len} bytes, allowed ${min}..${max}`, start)
    this.need(len, what)
    let s: string
    try {
      s = decoder.decode(this.buf.subarray(this.pos, this.pos + len))
    } catch {
      throw new DecodeError('bad-field', `${what} is not valid UTF-8`, start)
    }
    this.pos += len
    return s
  }
}

function readRumor(r: Reader): WireRumor {
  const origin = r.str8('origin', 1, NODE_NAME_MAX_BYTES)
  const epoch = r.u32('epoch')
  const seq = r.varint('seq')
  const ageMs = r.varint('ageMs')
  const hops = r.u8('hops')
  const name = r.str8('name', 0, 255)
  const len = r.u16('payload length')
  r.need(len, 'payload')
  const payload = r.buf.slice(r.pos, r.pos + len)
  r.pos += len
  return { origin, epoch, seq, ageMs, hops, name, payload }
}

function decodeUnchecked(bytes: Uint8Array): RumorMessage {
  if (bytes.length === 0) throw new DecodeError('empty', 'no bytes', 0)
  if (bytes.length > RUMOR_MESSAGE_MAX_BYTES) throw new DecodeError('too-large', `${bytes.length} bytes, at most ${RUMOR_MESSAGE_MAX_BYTES}`, 0)
  const r = new Reader(bytes)
  const kind = r.u8('kind')
  if (kind !== RUMOR_KIND_RUMORS && kind !== RUMOR_KIND_REPLY) throw new DecodeError('unknown-type', `message kind ${kind}`, 0)
  const flags = r.u8('flags')
  const allowed = kind === RUMOR_KIND_RUMORS ? FLAG_PULL | FLAG_ACK | FLAG_REPAIR : 0
  if ((flags & ~allowed) !== 0) throw new DecodeError('bad-field', `flags 0x${flags.toString(16)} not allowed for kind ${kind}`, 1)
  const rumorCount = r.u8('rumor count')
  const rumors: WireRumor[] = []
  for (let i = 0; i < rumorCount; i++) rumors.push(readRumor(r))
  const groupCount = r.u8('group count')
  const ids: RumorId[] = []
  for (let g = 0; g < groupCount; g++) {
    const origin = r.str8('id origin', 1, NODE_NAME_MAX_BYTES)
    const epoch = r.u32('id epoch')
    const at = r.pos
    const count = r.u16('id count')
    if (count === 0) throw new DecodeError('bad-field', 'empty id group', at)
    if (ids.length + count > RUMOR_IDS_MAX) throw new DecodeError('too-large', `more than ${RUMOR_IDS_MAX} ids`, at)
    r.need(count, 'id seqs')
    for (let i = 0; i < count; i++) ids.push({ origin, epoch, seq: r.varint('id seq') })
  }
  if (r.pos !== bytes.length) throw new DecodeError('trailing-bytes', `${bytes.length - r.pos} bytes after the message`, r.pos)
  return kind === RUMOR_KIND_RUMORS
    ? { kind: 'rumors', pull: (flags & FLAG_PULL) !== 0, ackWanted: (flags & FLAG_ACK) !== 0, repair: (flags & FLAG_REPAIR) !== 0, rumors, known: ids }
    : { kind: 'reply', had: ids, rumors }
}

/** Decodes one message strictly. Never throws; a failure names its reason and offset. */
export function decodeRumorMessage(bytes: Uint8Array): DecodeResult<RumorMessage> {
  try {
    return decodeOk(decodeUnchecked(bytes))
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}
