/**
 * `npm run bench:lab` (also part of `npm run bench`): the lab's three speed targets, each measured next
 * to the simplest typed-array loop for the same model (bench/lab-reference.ts) in the same process, so
 * the ratio is what to read on a shared, noisy machine; and memory at a million sites, measured in a
 * fresh child process (peak RSS and heap of `grapevine lab anti-entropy --mode push-pull --nodes 1000000`
 * and of a push-pull rumor run at the same size).
 *
 *   target                                                   bound
 *   one push-pull anti-entropy run, 1,000,000 sites          ≤ 1 s on one core
 *   rumor push feedback-counter, k = 1..5 × 400 runs, 1,000  ≤ 5 s (both cores)
 *   peak RSS at 1,000,000 sites                              < 200 MB
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { deriveSeed } from '../src/core/rng.js'
import { Arena, runOnce } from '../src/lab/model.js'
import { modelConfig, runLab } from '../src/lab/runner.js'
import type { LabOptions } from '../src/lab/runner.js'
import { referencePushPull, referenceRumorPush } from './lab-reference.js'
import { table } from './sim.js'

export interface LabBenchRow {
  name: string
  labMs: number
  referenceMs: number | null
  /** lab time / reference time: below 1 the lab is faster than the plain loop. */
  ratio: number | null
  boundMs: number
  ok: boolean
  note: string
}

export interface LabMemory {
  nodes: number
  peakRssMb: number
  heapUsedMb: number
  boundMb: number
  ok: boolean
}

export interface LabBench {
  rows: LabBenchRow[]
  memory: LabMemory
}

const MILLION = 1_000_000

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function timeMs(f: () => void): number {
  const t = performance.now()
  f()
  return performance.now() - t
}

async function timeMsAsync(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await f()
  return performance.now() - t
}

const sweep = (runs: number): LabOptions => ({
  model: 'rumor',
  mode: 'push',
  removal: 'feedback-counter',
  ks: [1, 2, 3, 4, 5],
  nodes: 1000,
  runs,
  seed: 1,
  fanout: 1,
  connectionLimit: 0,
  hunt: 0,
  maxCycles: 100_000,
})

const antiEntropy: LabOptions = { ...sweep(1), model: 'anti-entropy', mode: 'push-pull', ks: [0], nodes: MILLION }

/** The memory probe run in a child process: prints peak RSS and heap after two million-site runs. */
async function memoryProbe(): Promise<void> {
  await runLab(antiEntropy, { workers: 0 })
  await runLab({ ...antiEntropy, model: 'rumor', ks: [1] }, { workers: 0 })
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const peakRssMb = process.resourceUsage().maxRSS / 1024
  const heapUsedMb = process.memoryUsage().heapUsed / (1024 * 1024)
  process.stdout.write(JSON.stringify({ peakRssMb, heapUsedMb }) + '\n')
}

export async function runLabBench(opts: { quick?: boolean; progress?: (line: string) => void } = {}): Promise<LabBench> {
  const reps = opts.quick === true ? 1 : 3
  const say = opts.progress ?? (() => {})
  const rows: LabBenchRow[] = []

  // 1. One push-pull anti-entropy run at a million sites, interleaved with the reference loop.
  say('lab bench: push-pull anti-entropy at 1,000,000 sites')
  const cfg = modelConfig(antiEntropy, 0)
  // Warm both loops up on a small instance first, so neither pays for compilation in the timed runs.
  for (let r = 0; r < 3; r++) {
    runOnce({ ...cfg, nodes: 20_000 }, r, new Arena(20_000))
    referencePushPull(20_000, r)
  }
  const lab: number[] = []
  const ref: number[] = []
  for (let r = 0; r < reps; r++) {
    const seed = deriveSeed(1, r)
    lab.push(timeMs(() => runOnce(cfg, seed, new Arena(MILLION))))
    ref.push(timeMs(() => referencePushPull(MILLION, seed)))
  }
  const aeLab = median(lab)
  const aeRef = median(ref)
  rows.push({ name: 'push-pull anti-entropy, 1,000,000 sites, 1 run (1 core)', labMs: aeLab, referenceMs: aeRef, ratio: aeLab / aeRef, boundMs: 1000, ok: aeLab <= 1000, note: `median of ${reps}` })

  // 2. The k = 1..5 sweep, 400 runs at 1,000 sites: on both cores (the target) and on one (for the ratio).
  say('lab bench: rumor sweep k = 1..5 × 400 runs at 1,000 sites')
  const runs = opts.quick === true ? 100 : 400
  const scale = 400 / runs
  const refSweep = timeMs(() => {
    for (let k = 1; k <= 5; k++) for (let r = 0; r < runs; r++) referenceRumorPush(1000, k, deriveSeed(1, r))
  }) * scale
  const oneCore = (await timeMsAsync(() => runLab(sweep(runs), { workers: 0 }))) * scale
  const bothCores = (await timeMsAsync(() => runLab(sweep(runs), { workers: 2 }))) * scale
  const scaled = scale === 1 ? '' : ` (${runs} runs, scaled to 400)`
  rows.push({ name: 'rumor push feedback-counter, k = 1..5 × 400 runs, 1,000 sites (1 core)', labMs: oneCore, referenceMs: refSweep, ratio: oneCore / refSweep, boundMs: 5000, ok: oneCore <= 5000, note: `reference: full scan per cycle${scaled}` })
  rows.push({ name: 'the same sweep on 2 worker threads', labMs: bothCores, referenceMs: refSweep, ratio: bothCores / refSweep, boundMs: 5000, ok: bothCores <= 5000, note: `worker start-up included${scaled}` })

  // 3. Memory at a million sites, in a fresh process so nothing else in this one counts.
  say('lab bench: memory at 1,000,000 sites (child process)')
  const self = fileURLToPath(import.meta.url)
  const probe = JSON.parse(execFileSync(process.execPath, ['--expose-gc', self, '--memory-probe'], { encoding: 'utf8' })) as { peakRssMb: number; heapUsedMb: number }
  const memory: LabMemory = { nodes: MILLION, peakRssMb: probe.peakRssMb, heapUsedMb: probe.heapUsedMb, boundMb: 200, ok: probe.peakRssMb < 200 }
  return { rows, memory }
}

export function formatLabBench(b: LabBench): string {
  const ms = (x: number): string => `${Math.round(x).toLocaleString('en-US')} ms`
  const speed = table(
    ['case', 'lab', 'reference loop', 'lab / reference', 'bound', ''],
    b.rows.map((r, i) => [`(${i + 1}) ${r.name}`, ms(r.labMs), r.referenceMs === null ? '' : ms(r.referenceMs), r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`, `≤ ${ms(r.boundMs)}`, r.ok ? 'ok' : 'SLOW']),
  )
  const m = b.memory
  const memory = table(
    ['memory, 1,000,000 sites (anti-entropy push-pull, then rumor push-pull)', 'peak RSS', 'heap used', 'bound', ''],
    [['child process running `lab` at a million sites', `${m.peakRssMb.toFixed(0)} MB`, `${m.heapUsedMb.toFixed(1)} MB`, `< ${m.boundMb} MB`, m.ok ? 'ok' : 'HIGH']],
  )
  const notes = b.rows.map((r, i) => `  (${i + 1}) ${r.note}`).join('\n')
  return `${speed}\n${notes}\n\n${memory}`
}

async function main(): Promise<void> {
  if (process.argv.includes('--memory-probe')) {
    await memoryProbe()
    return
  }
  const quick = process.argv.includes('--quick')
  console.log(`Grapevine lab bench${quick ? ' (quick)' : ''} — node ${process.version}\n`)
  const bench = await runLabBench({ quick, progress: (line) => process.stderr.write(`${line}\n`) })
  console.log(formatLabBench(bench))
  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const body = JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, ...bench }, null, 2) + '\n'
  writeFileSync(new URL(`lab-${stamp}.json`, dir), body)
  writeFileSync(new URL('lab-latest.json', dir), body)
  console.log(`\nresults written to bench/results/lab-${stamp}.json`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main()
