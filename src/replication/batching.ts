/**
 * Pure helpers of the replicator (replicator.ts): how answers are cut into packets, which window of keys
 * a digest lists, and which per-origin seqs a key may forget.
 *
 *   states to answer ──▶ stateBatches: packets of ≤ maxMessageBytes (a larger state alone), at most
 *        ANSWER_MAX_BYTES in all (the rest follows at later rounds); `need` rides on the last one
 *   sorted keys, cursor ──▶ digestWindow: the keys from the cursor that fit one packet's digest
 *   a key's seqs, its floors ──▶ prunableSeqs: origins retired by a floor or superseded by a newer
 *        generation of the same name (one seq per member name is kept)
 */
import { replicaGeneration, type GenerationFloors } from '../crdt/index.js'
import { keyStateSize, type KeyState, type StatesMessage } from './messages.js'

/** Most bytes of states one answer (to a digest or a need) carries; the rest follows at later rounds. */
export const ANSWER_MAX_BYTES = 256 * 1024

/** The states messages that carry `states` (and `need`, on the last one) to one peer. */
export function stateBatches(states: readonly KeyState[], need: readonly string[], maxMessageBytes: number): StatesMessage[] {
  const out: StatesMessage[] = []
  let batch: KeyState[] = []
  let batchBytes = 0
  let total = 0
  let taken = 0
  for (const s of states) {
    const size = keyStateSize(s)
    total += size
    if (total > ANSWER_MAX_BYTES && taken > 0) break
    taken++
    if (batchBytes + size > maxMessageBytes - 64 && batch.length > 0) {
      out.push({ kind: 'states', states: batch, need: [] })
      batch = []
      batchBytes = 0
    }
    batch.push(s)
    batchBytes += size
  }
  if (batch.length > 0 || need.length > 0) out.push({ kind: 'states', states: batch, need })
  return out
}

/** The end (exclusive) of the digest window of `keys` starting at `start`: as many keys as one packet lists. */
export function digestWindowEnd(keys: readonly string[], start: number, maxMessageBytes: number): number {
  let size = 16
  let i = start
  for (; i < keys.length; i++) {
    const add = keys[i].length * 3 + 12
    if (i > start && size + add > maxMessageBytes - 2 * 512 - 16) break
    size += add
  }
  return i
}

/**
 * The origins of `seqs` a key may forget: replicas its floors retired (their deltas are dropped from
 * now on) and generations a newer one of the same name superseded (a dead process: a late delta of it
 * costs at most a gap request).
 */
export function prunableSeqs(origins: Iterable<string>, floors: GenerationFloors | undefined): string[] {
  const all = [...origins]
  if (all.length < 2) return []
  const newest = new Map<string, number>()
  for (const origin of all) {
    const g = replicaGeneration(origin)
    if (g !== undefined && g.generation > (newest.get(g.name) ?? -1)) newest.set(g.name, g.generation)
  }
  return all.filter((origin) => {
    const g = replicaGeneration(origin)
    return floors?.retired(origin) === true || (g !== undefined && g.generation < newest.get(g.name)!)
  })
}
