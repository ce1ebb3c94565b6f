/**
 * Replicated data types bench (`npm run bench:crdt`, or `node dist/bench/crdt.js [--sizes 50,200]
 * [--seed 1] [--rates 25,50,100,200,400,800] [--modes delta,naive] [--no-sustained] [--quick]`): delta-state gossip against the naive
 * full-state exchange, in the same run, same seeds, on the simulator's whole stack (every node the
 * composed node a real node runs; SWIM, envelopes, loss and latency as in `grapevine sim`).
 *
 *   for N in sizes, for mode in (delta, naive):
 *     runScenario(N nodes, --crdt-ops RATE over a window, mode's replication settings)
 *       ──▶ crdtConvergenceMs (last op → every live node holds identical states of every key)
 *       ──▶ bytesPerOp (CRDT envelope bytes in every packet sent / (ops × N), anti-entropy included)
 *   sustained rate at 32 nodes: the ladder of rates, both modes; a rate is kept when the run converges
 *     within KEPT_WITHIN_MS of its last op with every counter exact
 *
 * The naive exchange is the replicator with `fullStateGossip`: each write and each relay gossips the
 * key's whole state instead of its delta, over the same piggybacking, anti-entropy and limits. So the
 * two columns differ only in what a gossiped message carries.
 *
 * The whole stack is slow to simulate at scale: 1,000 nodes takes tens of minutes per run on one core,
 * so the default sizes are 50 and 200; pass `--sizes 50,200,1000` to include it (`--modes delta` and
 * `--no-sustained` run one column without the ladder, e.g. under `node --prof`, whose log is readable
 * while the run goes on).
 *
 * Prints tables and writes JSON to bench/results/crdt-<timestamp>.json (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runScenario, type ScenarioOptions } from '../src/runtime/sim/index.js'
import { table } from './sim.js'

type Mode = 'delta' | 'naive'
const MODES: readonly Mode[] = ['delta', 'naive']
/** A rate is sustained when the cluster converges this soon after the last op, every counter exact. */
const KEPT_WITHIN_MS = 5_000

interface Run {
  readonly mode: Mode
  readonly nodes: number
  readonly rate: number
  readonly ops: number
  readonly convergenceMs: number | null
  readonly exact: boolean | null
  readonly bytesPerOp: number | null
  readonly crdtBytes: number
  readonly wallMs: number
}

/** When the ops start: after the joins settle (measured: 4 s at 120 nodes, 7.4 s at 200), growing with N. */
function startMs(nodes: number): number {
  return Math.max(5_000, Math.ceil((nodes * 60) / 1000) * 1000)
}

function run(mode: Mode, nodes: number, rate: number, windowMs: number, seed: number): Run {
  const o: ScenarioOptions = {
    seed,
    nodes,
    // Writes start once the joins (spread over 2 s) have settled: at 200 nodes membership itself takes
    // about 8 s, and writes made meanwhile measure the joins. Then the window and 4 s more; what has not
    // converged by then is measured in the settle phase.
    durationMs: startMs(nodes) + windowMs + 4_000,
    joinSpreadMs: 2_000,
    replication: { fullStateGossip: mode === 'naive' },
    workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: rate, windowMs, crdtStartMs: startMs(nodes) },
  }
  const started = performance.now()
  const r = runScenario(o)
  return {
    mode,
    nodes,
    rate,
    ops: r.crdt!.ops,
    convergenceMs: r.crdtConvergenceMs ?? null,
    exact: r.crdtExact ?? null,
    bytesPerOp: r.bytesPerOp ?? null,
    crdtBytes: r.crdt!.crdtBytes,
    wallMs: Math.round(performance.now() - started),
  }
}

const fmtMs = (ms: number | null): string => (ms === null ? 'never' : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)
const fmtBytes = (b: number | null): string => (b === null ? 'n/a' : b >= 1024 ? `${(b / 1024).toFixed(1)} KB` : `${Math.round(b)} B`)

function main(): void {
  const { values } = parseArgs({
    options: { sizes: { type: 'string' }, seed: { type: 'string' }, rates: { type: 'string' }, modes: { type: 'string' }, 'no-sustained': { type: 'boolean' }, quick: { type: 'boolean' } },
  })
  const modes = (values.modes ?? MODES.join(',')).split(',').map((s) => s.trim())
  for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw new RangeError(`--modes takes delta, naive or both (e.g. --modes delta,naive); got ${JSON.stringify(m)}`)
  const runModes = MODES.filter((m) => modes.includes(m))
  const sustainedOn = values['no-sustained'] !== true
  const quick = values.quick === true
  const sizes = (values.sizes ?? (quick ? '20' : '50,200')).split(',').map((s) => Number(s.trim()))
  const rates = (values.rates ?? (quick ? '25,100' : '25,50,100,200,400,800')).split(',').map((s) => Number(s.trim()))
  const seed = values.seed === undefined ? 1 : Number(values.seed)
  for (const n of [...sizes, ...rates, seed]) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--sizes, --rates and --seed take positive integers (e.g. --sizes 50,200 --rates 25,100 --seed 1); got ${n}`)
  }

  // 1 and 2: convergence and bytes per op against N, 10 ops/s for 10 s.
  const scale: Run[] = []
  for (const nodes of sizes) {
    for (const mode of runModes) {
      const r = run(mode, nodes, 10, 10_000, seed)
      scale.push(r)
      process.stderr.write(`N=${nodes} ${mode}: ${fmtMs(r.convergenceMs)}, ${fmtBytes(r.bytesPerOp)}/op/node (${(r.wallMs / 1000).toFixed(0)} s wall)\n`)
    }
  }
  const byN = (nodes: number, mode: Mode): Run | undefined => scale.find((r) => r.nodes === nodes && r.mode === mode)
  console.log('\nConvergence after the last op and bytes per op per node (10 ops/s for 10 s, every type, no loss)\n')
  console.log(
    table(
      ['nodes', 'delta: converged', 'delta: B/op/node', 'naive: converged', 'naive: B/op/node', 'naive / delta bytes', 'exact (delta, naive)'],
      sizes.map((n) => {
        const d = byN(n, 'delta')
        const f = byN(n, 'naive')
        const ratio = d?.bytesPerOp && f?.bytesPerOp ? `${(f.bytesPerOp / d.bytesPerOp).toFixed(2)}×` : 'n/a'
        return [String(n), d ? fmtMs(d.convergenceMs) : '-', d ? fmtBytes(d.bytesPerOp) : '-', f ? fmtMs(f.convergenceMs) : '-', f ? fmtBytes(f.bytesPerOp) : '-', ratio, `${d?.exact ?? '-'}, ${f?.exact ?? '-'}`]
      }),
    ),
  )

  // 3: the sustained rate at 32 nodes, 20 s windows up the ladder.
  const sustained: Run[] = []
  const best: Record<Mode, number> = { delta: 0, naive: 0 }
  for (const mode of sustainedOn ? runModes : []) {
    for (const rate of rates) {
      const r = run(mode, 32, rate, quick ? 10_000 : 20_000, seed)
      sustained.push(r)
      const kept = r.exact === true && r.convergenceMs !== null && r.convergenceMs <= KEPT_WITHIN_MS
      process.stderr.write(`32 nodes ${mode} ${rate} ops/s: ${fmtMs(r.convergenceMs)}, exact ${r.exact}, ${kept ? 'kept' : 'NOT kept'} (${(r.wallMs / 1000).toFixed(0)} s wall)\n`)
      if (!kept) break
      best[mode] = rate
    }
  }
  if (sustainedOn) console.log(`\nSustained operation rate at 32 nodes (kept: converged within ${KEPT_WITHIN_MS / 1000} s of the last op, every counter exact)\n`)
  if (sustainedOn) console.log(
    table(
      ['mode', ...rates.map((r) => `${r}/s`), 'highest kept'],
      runModes.map((mode) => [mode, ...rates.map((rate) => {
        const r = sustained.find((x) => x.mode === mode && x.rate === rate)
        return r === undefined ? '-' : `${fmtMs(r.convergenceMs)}${r.exact === true ? '' : ' (inexact)'}`
      }), best[mode] > 0 ? `${best[mode]} ops/s` : 'none']),
    ),
  )

  mkdirSync('bench/results', { recursive: true })
  const file = `bench/results/crdt-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
  writeFileSync(file, JSON.stringify({ seed, sizes, rates, keptWithinMs: KEPT_WITHIN_MS, scale, sustained, best }, null, 2))
  console.log(`\nwrote ${file}`)
}

main()
