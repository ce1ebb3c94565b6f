/**
 * The binary form of every CRDT state and delta: one msgpack array [format, type, body].
 *
 *   encodeCrdt(state)  -> bytes        canonical: equal states give equal bytes (usable as a digest input)
 *   decodeCrdt(bytes)  -> DecodeResult  never throws; a malformed, oversized, truncated or foreign input
 *                                       is a DecodeError naming the field, and nothing is changed
 *
 * With generation floors (floors.ts) the array is [format, type, floors, body]; a state without any
 * keeps the three-element form, so encodings written before floors existed read the same.
 *
 * Types: 1 G-Counter, 2 PN-Counter, 3 LWW-Register, 4 MV-Register, 5 OR-Set, 6 enable-wins Flag,
 * 7 OR-Map. Tags are append-only. Bodies are documented beside each type's `write`. Bounds are in
 * codec-parts.ts (strings, entries, counts).
 */
import type { DecodeResult } from '../wire/decode-error.js'
import { decodeFail, decodeOk, toDecodeError } from '../wire/decode-error.js'
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { readFloors, writeFloors } from './codec-parts.js'
import type { GenerationFloors, Retirement } from './floors.js'
import { EnableWinsFlag, MVRegister, ORSet } from './causal-types.js'
import { GCounter, PNCounter } from './counters.js'
import { LwwRegister } from './lww-register.js'
import { ORMap } from './or-map.js'

export type Crdt = GCounter | PNCounter | LwwRegister | MVRegister | ORSet | EnableWinsFlag | ORMap
export type CrdtType = Crdt['type']

/** The encoding's format number, first in every encoding; bumped on an incompatible change. */
export const crdtFormat = 1

const tags: Record<CrdtType, number> = {
  'g-counter': 1,
  'pn-counter': 2,
  'lww-register': 3,
  'mv-register': 4,
  'or-set': 5,
  flag: 6,
  'or-map': 7,
}

const readers: Array<((r: MsgpackReader, floors?: GenerationFloors) => Crdt) | undefined> = [
  undefined,
  GCounter.read,
  PNCounter.read,
  LwwRegister.read,
  MVRegister.read,
  ORSet.read,
  EnableWinsFlag.read,
  ORMap.read,
]

const writer = new MsgpackWriter(1024)

export function encodeCrdt(state: Crdt): Uint8Array {
  writer.reset()
  const floors = floorsOf(state)
  writer.arrayHeader(floors === undefined || floors.isEmpty ? 3 : 4)
  writer.uint(crdtFormat)
  writer.uint(tags[state.type])
  if (floors !== undefined && !floors.isEmpty) writeFloors(writer, floors)
  state.write(writer)
  return writer.finish()
}

/** Decodes any CRDT; `expected` rejects a state of another type. */
export function decodeCrdt(bytes: Uint8Array): DecodeResult<Crdt>
export function decodeCrdt<T extends CrdtType>(bytes: Uint8Array, expected: T): DecodeResult<Extract<Crdt, { type: T }>>
export function decodeCrdt(bytes: Uint8Array, expected?: CrdtType): DecodeResult<Crdt> {
  const r: MsgpackReader = new MsgpackReader(32).reset(bytes, 0)
  try {
    if (bytes.length === 0) r.fail('empty', 'no CRDT bytes')
    const at = r.pos
    const fields = r.arrayHeader('CRDT encoding')
    if (fields !== 3 && fields !== 4) r.fail('bad-field', 'CRDT encoding is not [format, type, body] or [format, type, floors, body]', at)
    const format = r.uint(255, 'format')
    if (format !== crdtFormat) r.fail('not-supported', `CRDT format ${format}; this build reads format ${crdtFormat}`, at)
    const tagAt = r.pos
    const tag = r.uint(255, 'type')
    const read = readers[tag]
    if (read === undefined) r.fail('unknown-type', `CRDT type ${tag} is unknown (known: 1..${readers.length - 1})`, tagAt)
    if (fields === 4 && tag === tags['lww-register']) r.fail('bad-field', 'an LWW-Register has no generation floors', tagAt)
    const floorsAt = r.pos
    const floors = fields === 4 ? readFloors(r) : undefined
    if (floors !== undefined && floors.isEmpty) r.fail('bad-field', 'empty floors are written as the three-element form', floorsAt)
    const state = read(r, floors)
    if (expected !== undefined && state.type !== expected) r.fail('bad-field', `expected a ${expected}, got a ${state.type}`, tagAt)
    if (r.pos !== bytes.length) r.fail('trailing-bytes', `${bytes.length - r.pos} bytes after the CRDT`)
    return decodeOk(state)
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}

/** True when two states are equal (same canonical bytes). */
export function sameCrdt(a: Crdt, b: Crdt): boolean {
  const x = encodeCrdt(a)
  const y = encodeCrdt(b)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

/** A state's generation floors; undefined for the LWW-Register, which keeps one entry and needs none. */
export function floorsOf(state: Crdt): GenerationFloors | undefined {
  return state.type === 'lww-register' ? undefined : state.floors
}

/**
 * Folds into `replica` the replicas `retire` covers (by default its own predecessors; floors.ts); the
 * delta, or undefined for a type without folds.
 */
export function foldCrdt(state: Crdt, replica: string, retire?: Retirement): Crdt | undefined {
  return state.type === 'lww-register' ? undefined : state.fold(replica, retire)
}

/** The replica ids a state holds entries of (counter entries, context entries), for bounds and tests. */
export function replicasOf(state: Crdt): Set<string> {
  switch (state.type) {
    case 'lww-register':
      return new Set()
    case 'g-counter':
      return new Set(state.replicas())
    default:
      return state.replicas()
  }
}
