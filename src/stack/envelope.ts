/**
 * How Grapevine's own protocols travel inside memberlist, next to Serf's.
 *
 * Messages ride in memberlist `user` messages (type 8), as Serf's do. Serf's start with their type
 * byte, 0 to 9; ours start with 'G' (0x47), so the first byte tells the two apart:
 *
 *   [0x47][protocol id: 1 byte][sender name length: 1 byte][sender name: UTF-8][protocol payload]
 *
 * The sender's name is inside because a UDP source address does not always name a member (NAT,
 * advertise addresses). Only members that carry Grapevine's mark in their metadata receive these, so a
 * Serf agent never sees one (it would log a warning about an unknown message type).
 *
 * The mark: after the Serf tags map in node metadata come the bytes 'G' 'V' and a protocol version.
 * Serf decodes the tags map and ignores what follows it (checked against serf 0.9.4: `serf members`
 * shows the tags unchanged and logs nothing), so the mark is invisible to Serf and to users' tags.
 *
 * Push-pull user state: Serf's state first (when the node runs Serf's layer; Serf agents read it and
 * ignore what follows, also checked against serf 0.9.4), then 'G' 'V' and, per protocol with state,
 * [id: 1 byte][length: u32 big-endian][bytes].
 *
 * Pure; decoding is bounded and never throws.
 */
import { msgpackObjectLength } from '../wire/msgpack-scan.js'
import { decodeUtf8 } from '../wire/msgpack-reader.js'
import { utf8Length, writeUtf8 } from '../wire/msgpack-writer.js'

export const ENVELOPE_MAGIC = 0x47
export const MARK = Uint8Array.of(0x47, 0x56)
/** The version of Grapevine's own protocols this code speaks, carried in the mark. */
export const GRAPEVINE_PROTOCOL_VERSION = 1
/** Longest member name memberlist carries. */
const MAX_NAME_BYTES = 255

export interface Envelope {
  readonly protocol: number
  readonly sender: string
  readonly payload: Uint8Array
}

/** Bytes the envelope adds around a payload from `sender`. */
export function envelopeOverhead(sender: string): number {
  return 3 + utf8Length(sender)
}

export function encodeEnvelope(protocol: number, sender: string, payload: Uint8Array): Uint8Array {
  const nameBytes = utf8Length(sender)
  if (nameBytes > MAX_NAME_BYTES) throw new RangeError(`sender name is ${nameBytes} bytes; at most ${MAX_NAME_BYTES}`)
  const out = new Uint8Array(3 + nameBytes + payload.length)
  out[0] = ENVELOPE_MAGIC
  out[1] = protocol
  out[2] = nameBytes
  writeUtf8(sender, out, 3)
  out.set(payload, 3 + nameBytes)
  return out
}

/** The envelope of a user message, or a reason it is not a well-formed one. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | string {
  if (bytes.length < 3 || bytes[0] !== ENVELOPE_MAGIC) return 'not a Grapevine envelope'
  const n = bytes[2]
  if (n === 0 || 3 + n > bytes.length) return `sender name of ${n} bytes does not fit`
  const sender = decodeUtf8(bytes, 3, 3 + n)
  return { protocol: bytes[1], sender, payload: bytes.subarray(3 + n) }
}

/** Appends Grapevine's mark to Serf-encoded tags (0xFF + msgpack map). */
export function markMeta(tagsMeta: Uint8Array, version = GRAPEVINE_PROTOCOL_VERSION): Uint8Array {
  const out = new Uint8Array(tagsMeta.length + 3)
  out.set(tagsMeta)
  out.set(MARK, tagsMeta.length)
  out[tagsMeta.length + 2] = version
  return out
}

/**
 * The Grapevine protocol version a member's metadata announces, or undefined for a plain Serf or
 * memberlist node. Only a mark right after a well-formed tags map counts, so a tag value that happens
 * to end in "GV" is not mistaken for one.
 */
export function markedVersion(meta: Uint8Array): number | undefined {
  if (meta.length < 5 || meta[0] !== 0xff) return undefined
  const len = msgpackObjectLength(meta, 1, 1, meta.length)
  if (typeof len !== 'number' || 1 + len + 3 !== meta.length) return undefined
  const at = 1 + len
  return meta[at] === MARK[0] && meta[at + 1] === MARK[1] ? meta[at + 2] : undefined
}

/** Serf's part of a push-pull user state and our sections after it. */
export interface SplitState {
  readonly serf: Uint8Array
  readonly sections: ReadonlyMap<number, Uint8Array>
}

export function encodeState(serf: Uint8Array, sections: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  if (sections.length === 0) return serf
  let size = serf.length + MARK.length
  for (const [, b] of sections) size += 5 + b.length
  const out = new Uint8Array(size)
  out.set(serf)
  let p = serf.length
  out.set(MARK, p)
  p += MARK.length
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  for (const [id, b] of sections) {
    out[p] = id
    view.setUint32(p + 1, b.length)
    out.set(b, p + 5)
    p += 5 + b.length
  }
  return out
}

/**
 * Splits a push-pull user state: Serf's part (its type byte and one msgpack object) unless the state
 * starts with our mark, then our sections. A reason string when it is malformed.
 */
export function splitState(state: Uint8Array): SplitState | string {
  let serfEnd = 0
  if (state.length > 0 && state[0] !== MARK[0]) {
    const len = msgpackObjectLength(state, 1, 8, state.length)
    if (typeof len !== 'number') return 'Serf state is not one msgpack object'
    serfEnd = 1 + len
  }
  const serf = state.subarray(0, serfEnd)
  const sections = new Map<number, Uint8Array>()
  if (serfEnd === state.length) return { serf, sections }
  if (state.length - serfEnd < 2 || state[serfEnd] !== MARK[0] || state[serfEnd + 1] !== MARK[1]) return 'unknown bytes after the Serf state'
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength)
  let p = serfEnd + 2
  while (p < state.length) {
    if (p + 5 > state.length) return 'truncated section header'
    const id = state[p]
    const n = view.getUint32(p + 1)
    if (p + 5 + n > state.length) return `section ${id} of ${n} bytes is truncated`
    sections.set(id, state.subarray(p + 5, p + 5 + n))
    p += 5 + n
  }
  return { serf, sections }
}
