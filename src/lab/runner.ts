/**
 * Runs a sweep of the lab's models: for each k, `runs` independent runs with seeds derived from the run
 * seed, spread over worker threads when that pays, then mean and standard deviation per metric, mean
 * susceptible/infective/removed fractions per cycle, and the theory values that apply.
 *
 * Results are identical for a seed whatever the worker count: run r always gets deriveSeed(seed, r) (the
 * same runs for every k, so rows differ by k and not by luck), results are stored by run index and
 * reduced in run order, and curves are summed as integers.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { runChunk } from './chunk.js'
import type { ChunkJob, ChunkResult } from './chunk.js'
import type { LabMode, LabModel, ModelConfig, Removal } from './model.js'
import { theoryFor } from './theory.js'
import type { Theory } from './theory.js'

export interface LabOptions {
  model: LabModel
  mode: LabMode
  removal: Removal
  ks: readonly number[]
  nodes: number
  runs: number
  seed: number
  fanout: number
  connectionLimit: number
  hunt: number
  pushThenPull?: number
  maxCycles: number
}

export interface Stat {
  mean: number
  sd: number
}

/** Mean fraction of sites in each state after each cycle (index 0: before the first cycle). */
export interface Curves {
  susceptible: number[]
  infective: number[]
  removed: number[]
}

export interface LabRow {
  k: number
  residue: Stat
  traffic: Stat
  tAve: Stat
  tLast: Stat
  rounds: Stat
  /** Runs stopped by maxCycles before the end (should be 0). */
  truncated: number
  theory: Theory
  curves: Curves
}

export interface LabResult {
  options: LabOptions
  rows: LabRow[]
  workers: number
  elapsedMs: number
}

export interface RunLabHooks {
  /** Worker threads to use; default: one per core when the sweep is big enough to pay for them. */
  workers?: number
  /** Called after each finished chunk with runs done and runs in all. */
  progress?: (done: number, total: number) => void
}

/** Site-runs below which starting worker threads costs more than it saves. */
const WORKER_THRESHOLD = 8_000_000

export function modelConfig(o: LabOptions, k: number): ModelConfig {
  return {
    model: o.model,
    mode: o.mode,
    removal: o.removal,
    k,
    nodes: o.nodes,
    fanout: o.fanout,
    connectionLimit: o.connectionLimit,
    hunt: o.hunt,
    pushThenPull: o.pushThenPull,
    maxCycles: o.maxCycles,
  }
}

export function stat(xs: Float64Array): Stat {
  const n = xs.length
  if (n === 0) return { mean: NaN, sd: NaN }
  let sum = 0
  for (let i = 0; i < n; i++) sum += xs[i]
  const mean = sum / n
  if (n === 1) return { mean, sd: 0 }
  let sq = 0
  for (let i = 0; i < n; i++) sq += (xs[i] - mean) * (xs[i] - mean)
  return { mean, sd: Math.sqrt(sq / (n - 1)) }
}

/** Splits the sweep into chunks: enough per worker to balance the load, few enough to keep overhead low. */
function plan(o: LabOptions, workers: number): ChunkJob[] {
  // Several chunks per worker balance the load; inline, a few chunks per row let a progress bar move.
  const perRow = Math.max(1, Math.ceil(o.runs / (workers > 1 ? workers * 4 : 8)))
  const size = Math.max(1, Math.min(perRow, Math.ceil(2_000_000 / o.nodes)))
  const jobs: ChunkJob[] = []
  o.ks.forEach((k, row) => {
    const cfg = modelConfig(o, k)
    for (let from = 0; from < o.runs; from += size) {
      jobs.push({ id: jobs.length, cfg, row, runSeed: o.seed, from, to: Math.min(o.runs, from + size) })
    }
  })
  return jobs
}

export function defaultWorkers(o: LabOptions): number {
  const siteRuns = o.nodes * o.runs * o.ks.length
  if (siteRuns < WORKER_THRESHOLD || o.runs * o.ks.length < 2) return 0
  return Math.min(availableParallelism(), o.runs * o.ks.length)
}

async function runInWorkers(jobs: ChunkJob[], workers: number, onResult: (r: ChunkResult) => void): Promise<void> {
  const url = new URL('./worker.js', import.meta.url)
  const pool = Array.from({ length: Math.min(workers, jobs.length) }, () => new Worker(url))
  let nextJob = 0
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (nextJob >= jobs.length) {
                resolve()
                return
              }
              w.postMessage(jobs[nextJob++])
            }
            w.on('message', (result: ChunkResult) => {
              onResult(result)
              feed()
            })
            w.on('error', reject)
            w.on('exit', (code) => {
              if (code !== 0) reject(new Error(`lab worker exited with code ${code}`))
            })
            feed()
          }),
      ),
    )
  } finally {
    await Promise.all(pool.map((w) => w.terminate()))
  }
}

/** Runs the sweep and reduces it to one row per k. */
export async function runLab(o: LabOptions, hooks: RunLabHooks = {}): Promise<LabResult> {
  const started = performance.now()
  const workers = hooks.workers ?? defaultWorkers(o)
  const jobs = plan(o, workers)
  const total = o.runs * o.ks.length
  const perRow = o.ks.map(() => ({
    residue: new Float64Array(o.runs),
    traffic: new Float64Array(o.runs),
    tAve: new Float64Array(o.runs),
    tLast: new Float64Array(o.runs),
    rounds: new Float64Array(o.runs),
    curves: new Array<Int32Array>(o.runs),
  }))
  let done = 0
  const store = (r: ChunkResult): void => {
    const dst = perRow[r.row]
    dst.residue.set(r.residue, r.from)
    dst.traffic.set(r.traffic, r.from)
    dst.tAve.set(r.tAve, r.from)
    dst.tLast.set(r.tLast, r.from)
    dst.rounds.set(r.rounds, r.from)
    r.curves.forEach((c, x) => (dst.curves[r.from + x] = c))
    done += r.residue.length
    hooks.progress?.(done, total)
  }
  if (workers <= 1) {
    for (const job of jobs) {
      store(runChunk(job))
      // Let the event loop breathe so a progress bar can redraw between chunks.
      if (hooks.progress) await new Promise((resolve) => setImmediate(resolve))
    }
  } else {
    await runInWorkers(jobs, workers, store)
  }
  const plain = o.fanout === 1 && o.connectionLimit === 0 && o.pushThenPull === undefined
  const rows = o.ks.map((k, row): LabRow => {
    const d = perRow[row]
    const traffic = stat(d.traffic)
    let truncated = 0
    for (const c of d.curves) if (o.model === 'rumor' ? c[c.length - 2] > 0 : c[c.length - 3] > 0) truncated++
    return {
      k,
      residue: stat(d.residue),
      traffic,
      tAve: stat(d.tAve),
      tLast: stat(d.tLast),
      rounds: stat(d.rounds),
      truncated,
      theory: theoryFor(o.model, o.mode, o.removal, k, o.nodes, traffic.mean, plain),
      curves: meanCurves(d.curves, o.nodes),
    }
  })
  return { options: o, rows, workers: Math.max(1, workers), elapsedMs: performance.now() - started }
}

/** Sums the S, I, R counts of every run per cycle (a finished run keeps its final state) and normalises. */
function meanCurves(curves: readonly Int32Array[], nodes: number): Curves {
  let cycles = 0
  for (const c of curves) cycles = Math.max(cycles, c.length / 3)
  const sums = new Float64Array(cycles * 3)
  for (const c of curves) {
    const len = c.length / 3
    for (let t = 0; t < cycles; t++) {
      const src = Math.min(t, len - 1) * 3
      sums[t * 3] += c[src]
      sums[t * 3 + 1] += c[src + 1]
      sums[t * 3 + 2] += c[src + 2]
    }
  }
  const scale = 1 / (curves.length * nodes)
  const out: Curves = { susceptible: [], infective: [], removed: [] }
  for (let t = 0; t < cycles; t++) {
    out.susceptible.push(sums[t * 3] * scale)
    out.infective.push(sums[t * 3 + 1] * scale)
    out.removed.push(sums[t * 3 + 2] * scale)
  }
  return out
}
