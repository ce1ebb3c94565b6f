/**
 * The replication protocol's messages (replicator.ts), each one msgpack array led by its kind:
 *
 *   1 delta     [1, key, origin, from, to, delta]      the origin's delta interval from..to of one key
 *   2 digest    [2, first, last, complete, [[key, hash] ...]]
 *                                                      hashes of the sender's keys first..last (sorted);
 *                                                      complete: the sender has no other key
 *   3 states    [3, [[key, state, [[origin, seq] ...], want] ...], [needKey ...]]
 *                                                      full states (with how far each origin's deltas are
 *                                                      in them), "send me yours" flags, keys asked for
 *   4 fragment  [4, id, index, count, bytes]           one piece of a message larger than a packet
 *   5 handoff   [5, id, leaver, step, part, parts, [key state ...]]
 *                                                      a leaver's handoff to its heir (handoff.ts); step
 *                                                      0 offer (part of parts, with states), 1 ready
 *                                                      (part), 2 commit, 3 done, 4 refused
 *
 * `delta` and `state` are CRDT encodings (crdt/codec.ts), decoded by the replicator against the key's
 * type. Decoding is bounded (names, counts, bytes) and never throws: a bad message is a DecodeError.
 */
import type { DecodeResult } from '../wire/decode-error.js'
import { decodeFail, decodeOk, toDecodeError } from '../wire/decode-error.js'
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { writeNamedNumbers } from '../crdt/codec-parts.js'

/** Longest key (kind/name) in UTF-8 bytes. */
export const KEY_MAX_BYTES = 512
/** Longest replica id (member name # generation) in UTF-8 bytes. */
export const ORIGIN_MAX_BYTES = 300
/** Most entries in one digest, state batch or need list; most origins in one key's sequence list. */
export const LIST_MAX = 65_536
/** Largest payload any message carries (a fragmented message is reassembled to at most this). */
export const PAYLOAD_MAX_BYTES = 16 << 20
const SEQ_MAX = Number.MAX_SAFE_INTEGER

export interface DeltaMessage {
  readonly kind: 'delta'
  readonly key: string
  readonly origin: string
  readonly from: number
  readonly to: number
  readonly delta: Uint8Array
}

export interface DigestMessage {
  readonly kind: 'digest'
  readonly first: string
  readonly last: string
  readonly complete: boolean
  readonly hashes: ReadonlyArray<readonly [key: string, hash: number]>
}

export interface KeyState {
  readonly key: string
  readonly state: Uint8Array
  readonly seqs: ReadonlyArray<readonly [origin: string, seq: number]>
  /** The receiver should answer with its own state of the key (after merging this one). */
  readonly want: boolean
}

export interface StatesMessage {
  readonly kind: 'states'
  readonly states: readonly KeyState[]
  readonly need: readonly string[]
}

export interface FragmentMessage {
  readonly kind: 'fragment'
  readonly id: number
  readonly index: number
  readonly count: number
  readonly bytes: Uint8Array
}

export const HANDOFF_STEPS = ['offer', 'ready', 'commit', 'done', 'refused'] as const
export type HandoffStep = (typeof HANDOFF_STEPS)[number]

export interface HandoffMessage {
  readonly kind: 'handoff'
  /** The leaver's handoff id (one per leave). */
  readonly id: number
  /** The leaver's replica id (`name#generation`). */
  readonly leaver: string
  readonly step: HandoffStep
  /** offer and ready: which part of `parts` (a leaver's state may need several messages). */
  readonly part: number
  readonly parts: number
  /** offer: the leaver's full states of some of its keys; empty otherwise. */
  readonly states: readonly KeyState[]
}

export type ReplicationMessage = DeltaMessage | DigestMessage | StatesMessage | FragmentMessage | HandoffMessage

const kinds = { delta: 1, digest: 2, states: 3, fragment: 4, handoff: 5 } as const

const writer = new MsgpackWriter(2048)

export function encodeReplicationMessage(m: ReplicationMessage): Uint8Array {
  const w = writer.reset()
  switch (m.kind) {
    case 'delta':
      w.value([kinds.delta, m.key, m.origin, m.from, m.to, m.delta])
      break
    case 'digest':
      w.arrayHeader(5)
      for (const v of [kinds.digest, m.first, m.last, m.complete]) w.value(v)
      writeNamedNumbers(w, m.hashes)
      break
    case 'states':
      w.arrayHeader(3)
      w.uint(kinds.states)
      w.arrayHeader(m.states.length)
      for (const s of m.states) writeKeyState(w, s)
      w.value(m.need)
      break
    case 'fragment':
      w.value([kinds.fragment, m.id, m.index, m.count, m.bytes])
      break
    case 'handoff':
      w.arrayHeader(7)
      for (const v of [kinds.handoff, m.id, m.leaver, HANDOFF_STEPS.indexOf(m.step), m.part, m.parts]) w.value(v)
      w.arrayHeader(m.states.length)
      for (const s of m.states) writeKeyState(w, s)
  }
  return w.finish()
}

function writeKeyState(w: MsgpackWriter, s: KeyState): void {
  w.arrayHeader(4)
  w.str(s.key)
  w.bytes(s.state)
  writeNamedNumbers(w, s.seqs)
  w.bool(s.want)
}


/** Encoded size of one state batch entry (what a batch adds per key). */
export function keyStateSize(s: KeyState): number {
  const w = new MsgpackWriter(s.state.length + 64)
  writeKeyState(w, s)
  return w.finish().length
}

function list(r: MsgpackReader, what: string): number {
  const at = r.pos
  const n = r.arrayHeader(what)
  if (n > LIST_MAX) r.fail('too-large', `${what} has ${n} entries, more than ${LIST_MAX}`, at)
  if (n > r.end - r.pos) r.fail('truncated', `${what} announces ${n} entries but fewer bytes remain`, at)
  return n
}

function key(r: MsgpackReader): string {
  const at = r.pos
  const k = r.str(KEY_MAX_BYTES, 'key')
  if (k.length === 0) r.fail('bad-field', 'empty key', at)
  return k
}

function origin(r: MsgpackReader): string {
  const at = r.pos
  const o = r.str(ORIGIN_MAX_BYTES, 'origin')
  if (o.length === 0) r.fail('bad-field', 'empty origin', at)
  return o
}

function shape(r: MsgpackReader, n: number, what: string): void {
  const at = r.pos
  if (r.arrayHeader(what) !== n) r.fail('bad-field', `${what} is not an array of ${n}`, at)
}

function keyStates(r: MsgpackReader): KeyState[] {
  const count = list(r, 'states')
  const states: KeyState[] = []
  for (let i = 0; i < count; i++) {
    shape(r, 4, 'key state')
    const k = key(r)
    const state = r.bytes(PAYLOAD_MAX_BYTES, 'state')
    const nSeqs = list(r, 'sequences')
    const seqs: Array<[string, number]> = []
    for (let j = 0; j < nSeqs; j++) {
      shape(r, 2, 'sequence entry')
      seqs.push([origin(r), r.uint(SEQ_MAX, 'seq')])
    }
    states.push({ key: k, state, seqs, want: r.bool('want') })
  }
  return states
}

export function decodeReplicationMessage(bytes: Uint8Array): DecodeResult<ReplicationMessage> {
  const r = new MsgpackReader(8).reset(bytes, 0)
  try {
    if (bytes.length === 0) r.fail('empty', 'no replication message')
    const at = r.pos
    const n = r.arrayHeader('replication message')
    const kind = r.uint(255, 'kind')
    let m: ReplicationMessage | undefined
    const expect = (len: number): void => {
      if (n !== len) r.fail('bad-field', `message kind ${kind} has ${n} fields, expected ${len}`, at)
    }
    switch (kind) {
      case kinds.delta: {
        expect(6)
        const k = key(r)
        const o = origin(r)
        const from = r.uint(SEQ_MAX, 'from')
        const to = r.uint(SEQ_MAX, 'to')
        if (from < 1 || to < from) r.fail('bad-field', `delta interval ${from}..${to} is empty or starts below 1`, at)
        m = { kind: 'delta', key: k, origin: o, from, to, delta: r.bytes(PAYLOAD_MAX_BYTES, 'delta') }
        break
      }
      case kinds.digest: {
        expect(5)
        const first = r.str(KEY_MAX_BYTES, 'first')
        const last = r.str(KEY_MAX_BYTES, 'last')
        const complete = r.bool('complete')
        const count = list(r, 'digest')
        const hashes: Array<[string, number]> = []
        for (let i = 0; i < count; i++) {
          shape(r, 2, 'digest entry')
          hashes.push([key(r), r.uint(SEQ_MAX, 'hash')])
        }
        m = { kind: 'digest', first, last, complete, hashes }
        break
      }
      case kinds.states: {
        expect(3)
        const states = keyStates(r)
        const nNeed = list(r, 'need')
        const need: string[] = []
        for (let i = 0; i < nNeed; i++) need.push(key(r))
        m = { kind: 'states', states, need }
        break
      }
      case kinds.fragment: {
        expect(5)
        const id = r.uint(0xffffffff, 'fragment id')
        const index = r.uint(254, 'fragment index')
        const count = r.uint(255, 'fragment count')
        if (count < 2 || index >= count) r.fail('bad-field', `fragment ${index} of ${count}`, at)
        m = { kind: 'fragment', id, index, count, bytes: r.bytes(PAYLOAD_MAX_BYTES, 'fragment bytes') }
        break
      }
      case kinds.handoff: {
        expect(7)
        const id = r.uint(0xffffffff, 'handoff id')
        const leaver = origin(r)
        const step = HANDOFF_STEPS[r.uint(HANDOFF_STEPS.length - 1, 'handoff step')]
        const part = r.uint(LIST_MAX, 'handoff part')
        const parts = r.uint(LIST_MAX, 'handoff parts')
        if (part >= Math.max(parts, 1)) r.fail('bad-field', `handoff part ${part} of ${parts}`, at)
        m = { kind: 'handoff', id, leaver, step, part, parts, states: keyStates(r) }
        break
      }
      default:
        r.fail('unknown-type', `replication message kind ${kind} is unknown (known: 1..5)`, at)
    }
    if (r.pos !== bytes.length) r.fail('trailing-bytes', `${bytes.length - r.pos} bytes after the message`)
    return decodeOk(m as ReplicationMessage)
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}
