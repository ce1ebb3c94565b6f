/**
 * Cluster state messages and their binary form.
 *
 * Every payload is one kind byte followed by one msgpack array (positional fields, no map keys: the
 * messages are budgeted to a packet, so every byte counts). Written with the project's MsgpackWriter and
 * read with its bounded MsgpackReader; integers take their smallest msgpack form, strings are UTF-8 in the
 * str family, a tombstone's value is nil.
 *
 * ```
 * kind 0x01 Syn   [windowStart: str, windowEnd: str, digests: [Digest…]]
 *                 [windowStart: str, windowEnd: str, digests: [Digest…], hash: uint, heartbeats: [uint…]]
 *                 [windowStart: str, windowEnd: str, digests: [Digest…], hash: uint, residues: str]
 *                 (the second and third, compact forms summarise the window: see `Syn.summary`; the
 *                 third sends each heartbeat as one byte, its value mod 256, in a byte string)
 * kind 0x02 Ack   [digests: [Digest…], deltas: [NodeDelta…]]
 * kind 0x03 Ack2  [deltas: [NodeDelta…]]
 * kind 0x04 Full  [deltas: [NodeDelta…]]          (join-time push-pull; every fromVersion is 0)
 *
 * Digest    [node: str, generation: uint, heartbeat: uint, maxVersion: uint, lastGcVersion: uint]
 * NodeDelta [node: str, generation: uint, heartbeat: uint, lastGcVersion: uint,
 *            fromVersion: uint, toVersion: uint, entries: [Entry…]]
 * Entry     [key: str, version: uint, value: str | nil]      nil = tombstone
 * ```
 *
 * `encodedSize(message)` is exact (equal to `encodeStateMessage(message).length`) and the per-part size
 * functions let the delta builder account bytes incrementally, so budgets hold to the byte.
 *
 * Decoding is strict and bounded and never throws: fixed array lengths, versions ascending and inside
 * (fromVersion, toVersion], no duplicate node or key, size bounds from `STATE_LIMITS`, no trailing bytes.
 * A failure is a `DecodeError` (wire/decode-error.ts): the input is dropped and nothing changed.
 */
import { DecodeError, decodeFail, decodeOk, toDecodeError, type DecodeResult } from '../wire/decode-error.js'
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter, utf8Length } from '../wire/msgpack-writer.js'
import type { NodeName } from '../core/types.js'

/** The kind byte at the start of each payload. Append-only. */
export const StateMessageKind = { syn: 0x01, ack: 0x02, ack2: 0x03, full: 0x04 } as const

/** What one node knows about one node's state: enough for a peer to tell who is behind. */
export interface NodeDigest {
  readonly node: NodeName
  readonly generation: number
  readonly heartbeat: number
  readonly maxVersion: number
  readonly lastGcVersion: number
}

/** One key's latest change. `value` null is a tombstone (the key was deleted at `version`). */
export interface DeltaEntry {
  readonly key: string
  readonly version: number
  readonly value: string | null
}

/**
 * The changes of one node's state a receiver lacks: every entry the sender holds with a version in
 * (fromVersion, toVersion], ascending. fromVersion 0 means "from scratch" and may reset the receiver's copy.
 */
export interface NodeDelta {
  readonly node: NodeName
  readonly generation: number
  readonly heartbeat: number
  readonly lastGcVersion: number
  readonly fromVersion: number
  readonly toVersion: number
  readonly entries: readonly DeltaEntry[]
}

/**
 * A window in compact form: a hash of the (node, generation, maxVersion, lastGcVersion) of every node the
 * sender knows in the window, and their heartbeats in the window's cyclic name order (from the first
 * name ≥ windowStart).
 */
export interface WindowSummary {
  readonly hash: number
  /** The heartbeats, or with `residues` each heartbeat mod 256 (HEARTBEAT_RESIDUE_MODULUS). */
  readonly heartbeats: readonly number[]
  /**
   * The heartbeats are residues: one byte each instead of a msgpack integer that grows with uptime (3
   * bytes after about two minutes of 1 s rounds, 5 after 18 hours). The receiver rebuilds each from its
   * own value of the node (reconcile.ts: `residueAdvance`).
   */
  readonly residues?: boolean
}

/** Residue heartbeats are sent modulo this (one byte each). */
export const HEARTBEAT_RESIDUE_MODULUS = 256

/**
 * Digests of the nodes whose names fall in the cyclic window [windowStart, windowEnd) of name order
 * (windowStart === windowEnd: every name). A peer also sends nodes in the window that the digest omits.
 * `digests` may also name nodes outside the window (recently changed ones); a peer treats them alike.
 * With `summary`, the window's nodes are not listed: `digests` holds only the extra ones, and a peer whose
 * own window hashes alike takes the heartbeats, while one that differs answers with its window's digests.
 */
export interface Syn {
  readonly kind: 'syn'
  readonly windowStart: NodeName
  readonly windowEnd: NodeName
  readonly digests: readonly NodeDigest[]
  readonly summary?: WindowSummary
}

/** The peer's reply: deltas the initiator lacks, and digests of nodes the initiator knows better. */
export interface Ack {
  readonly kind: 'ack'
  readonly digests: readonly NodeDigest[]
  readonly deltas: readonly NodeDelta[]
}

/** The initiator's closing message: deltas for the digests of the Ack. */
export interface Ack2 {
  readonly kind: 'ack2'
  readonly deltas: readonly NodeDelta[]
}

/** Every node's state, for join-time push-pull over a stream. */
export interface FullState {
  readonly kind: 'full'
  readonly deltas: readonly NodeDelta[]
}

export type StateMessage = Syn | Ack | Ack2 | FullState

/** Bounds applied when decoding remote input. */
export const STATE_LIMITS = {
  /** A Syn, Ack or Ack2 larger than this is refused (memberlist's largest UDP payload). */
  packetMaxBytes: 65_536,
  /** A full state larger than this is refused (memberlist's maxPushStateBytes is 20 MB). */
  fullStateMaxBytes: 16 * 1024 * 1024,
  nodeNameMaxBytes: 512,
  keyMaxBytes: 4096,
  valueMaxBytes: 65_535,
  /** Largest version, generation or heartbeat: integers stay exact in a double. */
  numberMax: Number.MAX_SAFE_INTEGER,
} as const

// ---------------------------------------------------------------------------------------------------
// Sizes

/** Bytes of a msgpack unsigned integer in its smallest form. */
export function uintSize(v: number): number {
  if (v < 0x80) return 1
  if (v < 0x100) return 2
  if (v < 0x10000) return 3
  if (v < 4294967296) return 5
  return 9
}

/** Bytes of a msgpack str of `s` (header and UTF-8 bytes), as MsgpackWriter writes it. */
export function strSize(s: string): number {
  const n = utf8Length(s)
  return n + (n < 32 ? 1 : n < 0x10000 ? 3 : 5)
}

/** Bytes of a msgpack array header for `n` items. */
export function arrayHeaderSize(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5
}

export function digestSize(d: NodeDigest): number {
  return 1 + strSize(d.node) + uintSize(d.generation) + uintSize(d.heartbeat) + uintSize(d.maxVersion) + uintSize(d.lastGcVersion)
}

export function entrySize(e: DeltaEntry): number {
  return 1 + strSize(e.key) + uintSize(e.version) + (e.value === null ? 1 : strSize(e.value))
}

/** Bytes of a node delta without its entries array (header and items). */
export function deltaHeaderSize(d: Omit<NodeDelta, 'entries'>): number {
  return (
    1 +
    strSize(d.node) +
    uintSize(d.generation) +
    uintSize(d.heartbeat) +
    uintSize(d.lastGcVersion) +
    uintSize(d.fromVersion) +
    uintSize(d.toVersion)
  )
}

export function deltaSize(d: NodeDelta): number {
  let n = deltaHeaderSize(d) + arrayHeaderSize(d.entries.length)
  for (const e of d.entries) n += entrySize(e)
  return n
}

/** Bytes of a summary's heartbeats: a msgpack array of uints, or residues as one byte each in a str. */
export function heartbeatsSize(summary: WindowSummary): number {
  if (summary.residues !== true) return listSize(summary.heartbeats, uintSize)
  return residuesSize(summary.heartbeats.length)
}

/** Bytes of `count` residue heartbeats (a str header and one byte each, as MsgpackWriter.bytes writes them). */
export function residuesSize(count: number): number {
  return count + (count < 32 ? 1 : count < 0x10000 ? 3 : 5)
}

function listSize<T>(items: readonly T[], size: (item: T) => number): number {
  let n = arrayHeaderSize(items.length)
  for (const item of items) n += size(item)
  return n
}

/** Exact encoded size of a message, kind byte included. */
export function encodedSize(m: StateMessage): number {
  switch (m.kind) {
    case 'syn':
      return (
        2 +
        strSize(m.windowStart) +
        strSize(m.windowEnd) +
        listSize(m.digests, digestSize) +
        (m.summary === undefined ? 0 : uintSize(m.summary.hash) + heartbeatsSize(m.summary))
      )
    case 'ack':
      return 2 + listSize(m.digests, digestSize) + listSize(m.deltas, deltaSize)
    case 'ack2':
    case 'full':
      return 2 + listSize(m.deltas, deltaSize)
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoding

const writer = new MsgpackWriter(4096)

function writeDigest(w: MsgpackWriter, d: NodeDigest): void {
  w.arrayHeader(5)
  w.str(d.node)
  w.uint(d.generation)
  w.uint(d.heartbeat)
  w.uint(d.maxVersion)
  w.uint(d.lastGcVersion)
}

function writeDelta(w: MsgpackWriter, d: NodeDelta): void {
  w.arrayHeader(7)
  w.str(d.node)
  w.uint(d.generation)
  w.uint(d.heartbeat)
  w.uint(d.lastGcVersion)
  w.uint(d.fromVersion)
  w.uint(d.toVersion)
  w.arrayHeader(d.entries.length)
  for (const e of d.entries) {
    w.arrayHeader(3)
    w.str(e.key)
    w.uint(e.version)
    if (e.value === null) w.nil()
    else w.str(e.value)
  }
}

function writeList<T>(w: MsgpackWriter, items: readonly T[], write: (w: MsgpackWriter, item: T) => void): void {
  w.arrayHeader(items.length)
  for (const item of items) write(w, item)
}

/** The payload bytes of a message (a fresh copy). Encoding our own values cannot fail. */
export function encodeStateMessage(m: StateMessage): Uint8Array {
  const w = writer.reset()
  w.u8(StateMessageKind[m.kind])
  switch (m.kind) {
    case 'syn':
      w.arrayHeader(m.summary === undefined ? 3 : 5)
      w.str(m.windowStart)
      w.str(m.windowEnd)
      writeList(w, m.digests, writeDigest)
      if (m.summary !== undefined) {
        w.uint(m.summary.hash)
        if (m.summary.residues === true) {
          const residues = new Uint8Array(m.summary.heartbeats.length)
          for (let i = 0; i < residues.length; i++) residues[i] = m.summary.heartbeats[i] % HEARTBEAT_RESIDUE_MODULUS
          w.bytes(residues)
        } else {
          writeList(w, m.summary.heartbeats, (w2, b) => w2.uint(b))
        }
      }
      break
    case 'ack':
      w.arrayHeader(2)
      writeList(w, m.digests, writeDigest)
      writeList(w, m.deltas, writeDelta)
      break
    case 'ack2':
    case 'full':
      w.arrayHeader(1)
      writeList(w, m.deltas, writeDelta)
      break
  }
  return w.finish()
}

// ---------------------------------------------------------------------------------------------------
// Decoding

const reader = new MsgpackReader(8)

function arrayHeader(r: MsgpackReader, what: string, minItemBytes: number): number {
  const at = r.pos
  if (r.pos >= r.end) r.fail('truncated', `${what} missing`)
  const b = r.buf[r.pos++]
  let n: number
  if (b >= 0x90 && b <= 0x9f) n = b & 0x0f
  else if (b === 0xdc || b === 0xdd) {
    const width = b === 0xdc ? 2 : 4
    if (r.end - r.pos < width) r.fail('truncated', `${what} header ends early`)
    n = 0
    for (let i = 0; i < width; i++) n = n * 256 + r.buf[r.pos++]
  } else if (b === 0xc1) return r.fail('bad-msgpack', 'reserved byte 0xc1', at)
  else return r.fail('bad-field', `${what} is not an array (0x${b.toString(16)})`, at)
  // Every item takes at least minItemBytes: a count the remaining bytes cannot hold is refused before
  // anything is allocated for it.
  if (n * minItemBytes > r.end - r.pos) r.fail('truncated', `${what} announces ${n} items`, at)
  return n
}

function fixedArray(r: MsgpackReader, what: string, n: number): void {
  const at = r.pos
  const got = arrayHeader(r, what, 1)
  if (got !== n) r.fail('bad-field', `${what} has ${got} fields, expected ${n}`, at)
}

function nodeName(r: MsgpackReader, field: string): string {
  const at = r.pos
  const name = r.str(STATE_LIMITS.nodeNameMaxBytes, field)
  if (name.length === 0) r.fail('bad-field', `${field} is empty`, at)
  return name
}

function num(r: MsgpackReader, field: string): number {
  return r.uint(STATE_LIMITS.numberMax, field)
}

/** Opens a digest or delta array and reads its node name, refusing a node already seen in the list. */
function itemNode(r: MsgpackReader, what: string, fields: number, seen: Set<string>): string {
  const at = r.pos
  fixedArray(r, what, fields)
  const node = nodeName(r, `${what} node`)
  if (seen.has(node)) r.fail('bad-field', `${what} of ${node} repeated`, at)
  seen.add(node)
  return node
}

function readDigests(r: MsgpackReader): NodeDigest[] {
  const n = arrayHeader(r, 'digests', 7)
  const out: NodeDigest[] = []
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const node = itemNode(r, 'digest', 5, seen)
    out.push({ node, generation: num(r, 'generation'), heartbeat: num(r, 'heartbeat'), maxVersion: num(r, 'maxVersion'), lastGcVersion: num(r, 'lastGcVersion') })
  }
  return out
}

function readDeltas(r: MsgpackReader, full: boolean): NodeDelta[] {
  const n = arrayHeader(r, 'deltas', 9)
  const out: NodeDelta[] = []
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const node = itemNode(r, 'node delta', 7, seen)
    const generation = num(r, 'generation')
    const heartbeat = num(r, 'heartbeat')
    const lastGcVersion = num(r, 'lastGcVersion')
    const fromAt = r.pos
    const fromVersion = num(r, 'fromVersion')
    const toVersion = num(r, 'toVersion')
    if (toVersion < fromVersion) r.fail('bad-field', `toVersion ${toVersion} below fromVersion ${fromVersion}`, fromAt)
    if (full && fromVersion !== 0) r.fail('bad-field', `full state delta of ${node} starts at ${fromVersion}, not 0`, fromAt)
    const count = arrayHeader(r, 'entries', 4)
    const entries: DeltaEntry[] = []
    const keys = new Set<string>()
    let last = fromVersion
    for (let k = 0; k < count; k++) {
      const entryAt = r.pos
      fixedArray(r, 'entry', 3)
      const key = r.str(STATE_LIMITS.keyMaxBytes, 'key')
      const version = num(r, 'version')
      let value: string | null = null
      if (r.pos < r.end && r.buf[r.pos] === 0xc0) r.pos++
      else value = r.str(STATE_LIMITS.valueMaxBytes, 'value')
      if (key.length === 0) r.fail('bad-field', 'empty key', entryAt)
      if (version <= last || version > toVersion) {
        r.fail('bad-field', `entry version ${version} not ascending inside (${fromVersion}, ${toVersion}]`, entryAt)
      }
      if (keys.has(key)) r.fail('bad-field', `key ${key} repeated in one delta`, entryAt)
      keys.add(key)
      last = version
      entries.push({ key, version, value })
    }
    out.push({ node, generation, heartbeat, lastGcVersion, fromVersion, toVersion, entries })
  }
  return out
}

/**
 * Decodes one payload. `maxBytes` defaults to the packet bound; pass `STATE_LIMITS.fullStateMaxBytes` for
 * a stream. Never throws: bad input gives `{ ok: false, error }` and nothing changed anywhere.
 */
export function decodeStateMessage(bytes: Uint8Array, maxBytes: number = STATE_LIMITS.packetMaxBytes): DecodeResult<StateMessage> {
  try {
    if (bytes.length === 0) return decodeFail(new DecodeError('empty', 'no state message'))
    if (bytes.length > maxBytes) return decodeFail(new DecodeError('too-large', `state message of ${bytes.length} bytes exceeds ${maxBytes}`, 0))
    const r = reader.reset(bytes, 1)
    let m: StateMessage
    switch (bytes[0]) {
      case StateMessageKind.syn: {
        const at = r.pos
        const fields = arrayHeader(r, 'syn', 1)
        if (fields !== 3 && fields !== 5) r.fail('bad-field', `syn has ${fields} fields, expected 3 or 5`, at)
        const windowStart = r.str(STATE_LIMITS.nodeNameMaxBytes, 'windowStart')
        const windowEnd = r.str(STATE_LIMITS.nodeNameMaxBytes, 'windowEnd')
        const digests = readDigests(r)
        if (fields === 3) {
          m = { kind: 'syn', windowStart, windowEnd, digests }
          break
        }
        const hash = num(r, 'hash')
        const first = r.pos < r.end ? r.buf[r.pos] : 0
        if ((first >= 0xa0 && first <= 0xbf) || first === 0xda || first === 0xdb) {
          // Residues: one byte per heartbeat (a str, never an array, so the two forms cannot be confused).
          const residues = r.rawView(STATE_LIMITS.packetMaxBytes, 'heartbeat residues')
          m = { kind: 'syn', windowStart, windowEnd, digests, summary: { hash, heartbeats: Array.from(residues), residues: true } }
          break
        }
        const count = arrayHeader(r, 'heartbeats', 1)
        const heartbeats: number[] = []
        for (let i = 0; i < count; i++) heartbeats.push(num(r, 'heartbeat'))
        m = { kind: 'syn', windowStart, windowEnd, digests, summary: { hash, heartbeats } }
        break
      }
      case StateMessageKind.ack: {
        fixedArray(r, 'ack', 2)
        const digests = readDigests(r)
        m = { kind: 'ack', digests, deltas: readDeltas(r, false) }
        break
      }
      case StateMessageKind.ack2:
        fixedArray(r, 'ack2', 1)
        m = { kind: 'ack2', deltas: readDeltas(r, false) }
        break
      case StateMessageKind.full:
        fixedArray(r, 'full state', 1)
        m = { kind: 'full', deltas: readDeltas(r, true) }
        break
      default:
        return decodeFail(new DecodeError('unknown-type', `state message kind ${bytes[0]}`, 0))
    }
    if (r.pos !== bytes.length) return decodeFail(new DecodeError('trailing-bytes', `${bytes.length - r.pos} bytes after the message`, r.pos))
    return decodeOk(m)
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}
