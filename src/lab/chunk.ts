/**
 * A chunk of independent runs, executed the same way inline and in a worker thread: run r uses the seed
 * deriveSeed(runSeed, r) whichever thread runs it, so results do not depend on the worker count.
 */
import { deriveSeed } from '../core/rng.js'
import { Arena, runOnce } from './model.js'
import type { ModelConfig } from './model.js'

export interface ChunkJob {
  id: number
  cfg: ModelConfig
  /** Index of the row (the k value) this chunk belongs to. */
  row: number
  runSeed: number
  from: number
  to: number
}

/** Measurements of runs from..to-1, one entry per run, in run order. */
export interface ChunkResult {
  id: number
  row: number
  from: number
  residue: Float64Array
  traffic: Float64Array
  tAve: Float64Array
  tLast: Float64Array
  rounds: Float64Array
  curves: Int32Array[]
}

/** One arena per site count, kept across chunks (allocating a million-site arena costs more than a run). */
const arenas = new Map<number, Arena>()

export function arenaFor(nodes: number): Arena {
  let a = arenas.get(nodes)
  if (a === undefined) {
    arenas.clear()
    a = new Arena(nodes)
    arenas.set(nodes, a)
  }
  return a
}

export function runChunk(job: ChunkJob): ChunkResult {
  const count = job.to - job.from
  const out: ChunkResult = {
    id: job.id,
    row: job.row,
    from: job.from,
    residue: new Float64Array(count),
    traffic: new Float64Array(count),
    tAve: new Float64Array(count),
    tLast: new Float64Array(count),
    rounds: new Float64Array(count),
    curves: [],
  }
  const arena = arenaFor(job.cfg.nodes)
  for (let x = 0; x < count; x++) {
    const o = runOnce(job.cfg, deriveSeed(job.runSeed, job.from + x), arena)
    out.residue[x] = o.residue
    out.traffic[x] = o.traffic
    out.tAve[x] = o.tAve
    out.tLast[x] = o.tLast
    out.rounds[x] = o.rounds
    out.curves.push(o.curve)
  }
  return out
}
