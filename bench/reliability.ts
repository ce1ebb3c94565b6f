/**
 * `npm run bench:reliability`: false deaths under loss, crash detection and partition healing, in the
 * simulator, with this release's defaults and with memberlist 0.2.2's rules side by side (the runs
 * themselves: bench/reliability-runs.ts). The README's reliability table is this bench's output.
 *
 *   node dist/bench/reliability.js [--quick] [--seeds 1,2,3] [--nodes 64] [--loss-duration 180]
 *                                  [--heal-file examples/two-dc-partition.yaml] [--workers 2]
 *
 * ```
 *   jobs (loss 25 % and 10 % × seeds × rules, crash × seeds × rules, heal × seeds × rules)
 *     ─▶ worker threads, one job at a time each (every job is one deterministic simulation)
 *     ─▶ results by job ─▶ markdown table with the issue's targets ─▶ bench/results/reliability.json
 * ```
 *
 * Worker threads because the runs are independent and single-threaded; the default, two, keeps the
 * full run within a few minutes on two cores. `--quick` runs 24 nodes, one seed and 60 s of loss
 * (the heal scenario stays the file's).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { loadScenarioFile } from '../src/cli/scenario-command.js'
import type { Job, JobResult, LossRunOptions, Rules } from './reliability-runs.js'
import { runJob } from './reliability-runs.js'
import { formatReliability } from './reliability-report.js'

export interface Options {
  quick: boolean
  seeds: number[]
  nodes: number
  lossS: number
  tailS: number
  healFile: string
  workers: number
}

export class UsageError extends Error {}

const RULES: readonly Rules[] = ['default', 'memberlist']
export const LOSSES = [0.25, 0.1] as const
const VALUE_FLAGS = ['--seeds', '--nodes', '--loss-duration', '--tail', '--heal-file', '--workers']

/** The bench's flags; throws UsageError naming the flag and what it takes. */
export function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick')
  const o: Options = { quick, seeds: quick ? [1] : [1, 2, 3], nodes: quick ? 24 : 64, lossS: quick ? 60 : 180, tailS: 30, healFile: 'examples/two-dc-partition.yaml', workers: Math.max(1, Math.min(2, os.cpus().length)) }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (flag === '--quick' || flag === '--help') continue
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown option ${JSON.stringify(flag)} (the options: --quick, ${VALUE_FLAGS.join(', ')})`)
    const value = argv[++i]
    if (value === undefined) throw new UsageError(`${flag} needs a value`)
    const int = (min: number, max: number): number => {
      const n = Number(value)
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`)
      return n
    }
    if (flag === '--seeds') {
      const seeds = value.split(',').map((s) => Number(s.trim()))
      if (value.trim() === '' || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UsageError(`--seeds ${JSON.stringify(value)}: expected seeds separated by commas, like 1,2,3`)
      o.seeds = seeds
    } else if (flag === '--nodes') o.nodes = int(4, 1000)
    else if (flag === '--loss-duration') o.lossS = int(10, 3600)
    else if (flag === '--tail') o.tailS = int(0, 600)
    else if (flag === '--heal-file') o.healFile = value
    else o.workers = int(1, 64)
  }
  return o
}

export function planJobs(o: Pick<Options, 'seeds' | 'nodes' | 'lossS' | 'tailS' | 'healFile'>): Job[] {
  const jobs: Job[] = []
  const opts: LossRunOptions = { nodes: o.nodes, lossMs: o.lossS * 1000, tailMs: o.tailS * 1000 }
  // Longest first, so that two workers finish together.
  for (const loss of LOSSES) for (const seed of o.seeds) for (const rules of RULES) jobs.push({ kind: 'loss', seed, rules, loss, opts })
  for (const seed of o.seeds) for (const rules of RULES) jobs.push({ kind: 'heal', seed, rules, file: o.healFile })
  for (const seed of o.seeds) for (const rules of RULES) jobs.push({ kind: 'crash', seed, rules, nodes: o.nodes })
  return jobs
}

/** Runs the jobs on `workers` threads; results in job order. */
function runPool(jobs: readonly Job[], workers: number, progress: (line: string) => void): Promise<JobResult[]> {
  const results: JobResult[] = new Array(jobs.length)
  let next = 0
  let done = 0
  const pool: Worker[] = []
  return new Promise<JobResult[]>((resolve, reject) => {
    const start = (): void => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { worker: true } })
      pool.push(w)
      let current = -1
      const feed = (): void => {
        if (next >= jobs.length) {
          void w.terminate()
          return
        }
        current = next++
        w.postMessage(jobs[current])
      }
      w.on('message', (r: JobResult) => {
        results[current] = r
        done++
        progress(`${done}/${jobs.length} ${describe(jobs[current])}: ${(r.wallMs / 1000).toFixed(1)} s`)
        if (done === jobs.length) resolve(results)
        else feed()
      })
      w.on('error', reject)
      feed()
    }
    for (let i = 0; i < Math.min(workers, jobs.length); i++) start()
  }).finally(() => Promise.all(pool.map((w) => w.terminate())))
}

function describe(j: Job): string {
  const what = j.kind === 'loss' ? `${j.loss * 100} % loss` : j.kind
  return `${what}, seed ${j.seed}, ${j.rules === 'default' ? 'defaults' : "memberlist's rules"}`
}

const USAGE = `usage: node dist/bench/reliability.js [--quick] [--seeds 1,2,3] [--nodes 64] [--loss-duration 180] [--tail 30]
                                     [--heal-file examples/two-dc-partition.yaml] [--workers 2]
  --quick            24 nodes, seed 1, 60 s of loss (the heal file unchanged)
  --seeds S,S        seeds of every kind of run (default 1,2,3)
  --nodes N          nodes of the loss and crash runs (default 64)
  --loss-duration S  seconds of loss from the start (default 180), then --tail seconds without (default 30)
  --heal-file F      a scenario file with one partition and its heal (default examples/two-dc-partition.yaml)
  --workers N        worker threads (default 2, at most the CPUs)`

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    console.log(USAGE)
    return 0
  }
  let o: Options
  try {
    o = parseArgs(process.argv.slice(2))
    loadScenarioFile(o.healFile)
  } catch (e) {
    console.error(`bench:reliability: ${e instanceof Error ? e.message : String(e)}`)
    return 2
  }
  const jobs = planJobs(o)
  const load = os.loadavg()
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  console.error(`bench:reliability: ${jobs.length} simulations on ${o.workers} worker thread(s), load average ${load.map((x) => x.toFixed(1)).join(' ')}`)
  const results = await runPool(jobs, o.workers, (line) => console.error(`  ${line}`))
  const wallS = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const cpuS = (cpu.user + cpu.system) / 1e6
  const summary = formatReliability({ nodes: o.nodes, lossS: o.lossS, seeds: o.seeds, healFile: o.healFile }, results)
  console.log(summary.markdown)
  console.log(`\n${jobs.length} runs in ${wallS.toFixed(0)} s of wall time (${cpuS.toFixed(0)} s of CPU) on ${o.workers} worker(s); load average at the start ${load[0].toFixed(1)}, at the end ${os.loadavg()[0].toFixed(1)}`)
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const name = o.quick ? 'reliability-quick.json' : 'reliability.json'
  writeFileSync(`${dir}${name}`, JSON.stringify({ options: o, machine: { cpus: os.cpus().length, loadavg: load }, wallS, cpuS, rows: summary.rows, runs: results }, null, 2))
  console.log(`results written to bench/results/${name}`)
  return summary.rows.every((r) => r.met !== false) ? 0 : 1
}

if (!isMainThread && (workerData as { worker?: boolean } | null)?.worker === true) {
  parentPort!.on('message', (job: Job) => parentPort!.postMessage(runJob(job)))
} else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main()
}
