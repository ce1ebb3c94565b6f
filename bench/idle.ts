/**
 * Idle cost of the whole stack against SWIM alone, and how fast a change still spreads from quiet
 * (`npm run bench:idle`, or `node dist/bench/idle.js [--sizes 32,64] [--seeds 1,2,3] [--steady 60s]`).
 *
 *   spawn N (all join node-000) ──▶ every node sees every node alive ──▶ 30 s warm-up (the join's
 *   broadcasts and busy state rounds die down) ──▶ `steady` of virtual time measured: UDP packets and
 *   bytes sent per node and second, and for the whole stack what the state rounds and repair pulls sent
 *   and timers fired per node and second (each a wake-up of a real node's event loop)
 *   ──▶ (whole stack) one key written on one node: virtual time until every node holds it ──▶ 30 s
 *   quiet ──▶ 100 keys written at one instant on random nodes: time until every node holds all of them
 *
 * The simulator runs the composed node every real node runs (SWIM, Serf's layer, broadcasts, cluster
 * state, phi; `membership` is SWIM alone), LAN profile, 0.5–5 ms one way, no loss. Spread times are
 * checked every 100 ms of virtual time. Medians over the seeds are printed; every run goes to
 * bench/results/idle-<timestamp>.json (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Simulation } from '../src/runtime/sim/simulation.js'
import { ViewTracker } from '../src/runtime/sim/checkers.js'
import type { ComposedNode } from '../src/node/node.js'
import type { SimNode } from '../src/runtime/sim/node.js'
import { table } from './sim.js'

const WARMUP_MS = 30_000
const CHECK_MS = 100
const SPREAD_BOUND_MS = 60_000

type Program = 'membership' | 'full stack'

interface IdleRow {
  readonly program: Program
  readonly nodes: number
  readonly seed: number
  readonly joinMs: number
  readonly packetsPerNodePerSec: number
  readonly bytesPerNodePerSec: number
  /** Timers that fired (each one a wake-up of a real node's event loop, stale ones included). */
  readonly timersPerNodePerSec: number
  /** Whole stack: state Syns per node and second, alone and riding on SWIM packets; repair pulls. */
  readonly synsAlonePerNodePerSec: number | null
  readonly synsRiddenPerNodePerSec: number | null
  readonly stateRepliesPerNodePerSec: number | null
  readonly repairPullsPerNodePerSec: number | null
  /** Whole stack, from quiet: one write, and a burst of 100, until every node holds it (ms; null: not within 60 s). */
  readonly oneWriteSpreadMs: number | null
  readonly burstSpreadMs: number | null
}

function stackOf(n: SimNode): ComposedNode {
  return n.protocol as ComposedNode
}

function sumState(sim: Simulation): { syns: number; ridden: number; replies: number; pulls: number } {
  const t = { syns: 0, ridden: 0, replies: 0, pulls: 0 }
  for (const n of sim.nodes) {
    const s = stackOf(n).protocolStats()
    t.syns += s.state.synsSent
    t.ridden += s.state.synsRidden
    t.replies += s.state.repliesSent
    t.pulls += s.broadcast.repairPullsSent
  }
  return t
}

/** Virtual ms until `done` holds, checked every CHECK_MS; null past SPREAD_BOUND_MS. */
function timeUntil(sim: Simulation, done: () => boolean): number | null {
  const start = sim.nowMs
  return sim.runUntil(done, SPREAD_BOUND_MS, { checkEveryMs: CHECK_MS }) ? sim.nowMs - start : null
}

function holds(sim: Simulation, owner: string, version: number): boolean {
  for (const n of sim.nodes) {
    const d = stackOf(n).stack!.state.reconciler.state.digestOf(owner)
    if (d === undefined || d.maxVersion < version) return false
  }
  return true
}

export function idleRun(nodes: number, seed: number, program: Program, steadyMs: number): IdleRow {
  const sim = new Simulation({ seed, network: { latencyMs: [0.5, 5] }, recordEvents: false, node: { membershipOnly: program === 'membership' } })
  const tracker = new ViewTracker()
  tracker.reserve(nodes)
  sim.observe(tracker)
  sim.spawn(nodes)
  if (!sim.runUntil(() => tracker.converged, 300_000)) throw new Error(`${nodes} nodes (seed ${seed}) did not converge`)
  const joinMs = sim.nowMs
  sim.runFor(WARMUP_MS)
  const packets0 = sim.stats.packetsSent
  const bytes0 = sim.stats.bytesSent
  const timers = (): number => sim.nodes.reduce((t, n) => t + n.counters.timersFired, 0)
  const timers0 = timers()
  const full = program === 'full stack'
  const state0 = full ? sumState(sim) : undefined
  sim.runFor(steadyMs)
  const per = (x: number): number => x / nodes / (steadyMs / 1000)
  const state1 = full ? sumState(sim) : undefined
  const timersFired = timers() - timers0
  const packets = sim.stats.packetsSent - packets0
  const bytes = sim.stats.bytesSent - bytes0
  let oneWriteSpreadMs: number | null = null
  let burstSpreadMs: number | null = null
  if (full) {
    const owner = sim.nodes[Math.floor(nodes / 3)]
    const v = sim.invoke(owner, (p, t, out) => (p as ComposedNode).setKey('bench', 'one', t, out))
    oneWriteSpreadMs = timeUntil(sim, () => holds(sim, owner.name, v))
    sim.runFor(WARMUP_MS)
    const written = new Map<string, number>()
    for (let i = 0; i < 100; i++) {
      const n = sim.nodes[(i * 7919 + seed) % nodes]
      written.set(n.name, sim.invoke(n, (p, t, out) => (p as ComposedNode).setKey(`burst-${i}`, 'x'.repeat(32), t, out)))
    }
    burstSpreadMs = timeUntil(sim, () => [...written].every(([name, version]) => holds(sim, name, version)))
  }
  return {
    program,
    nodes,
    seed,
    joinMs,
    packetsPerNodePerSec: per(packets),
    bytesPerNodePerSec: per(bytes),
    timersPerNodePerSec: per(timersFired),
    synsAlonePerNodePerSec: state0 && state1 ? per(state1.syns - state1.ridden - (state0.syns - state0.ridden)) : null,
    synsRiddenPerNodePerSec: state0 && state1 ? per(state1.ridden - state0.ridden) : null,
    stateRepliesPerNodePerSec: state0 && state1 ? per(state1.replies - state0.replies) : null,
    repairPullsPerNodePerSec: state0 && state1 ? per(state1.pulls - state0.pulls) : null,
    oneWriteSpreadMs,
    burstSpreadMs,
  }
}

function median(xs: ReadonlyArray<number | null>): number | null {
  if (xs.some((x) => x === null)) return null
  const s = (xs as number[]).slice().sort((a, b) => a - b)
  return s.length === 0 ? null : s[Math.floor((s.length - 1) / 2)]
}

function parseArgs(argv: readonly string[]): { sizes: number[]; seeds: number[]; steadyMs: number } {
  const opts = { sizes: [32, 64], seeds: [1, 2, 3], steadyMs: 60_000 }
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    const list = (): number[] => (value ?? '').split(',').map(Number)
    if (flag === '--sizes') opts.sizes = list()
    else if (flag === '--seeds') opts.seeds = list()
    else if (flag === '--steady') opts.steadyMs = Number(/^(\d+)s$/.exec(value ?? '')?.[1] ?? NaN) * 1000
    else throw new Error(`unknown option ${flag}; options: --sizes 32,64 --seeds 1,2,3 --steady 60s`)
  }
  const bad = [...opts.sizes, ...opts.seeds].some((x) => !Number.isInteger(x) || x < 1) || !(opts.steadyMs > 0)
  if (bad) throw new Error('--sizes and --seeds take positive integers separated by commas, --steady a whole number of seconds such as 60s')
  return opts
}

function main(): void {
  const { sizes, seeds, steadyMs } = parseArgs(process.argv.slice(2))
  const rows: IdleRow[] = []
  for (const nodes of sizes) {
    for (const program of ['membership', 'full stack'] as const) {
      for (const seed of seeds) {
        process.stderr.write(`idle: ${nodes} nodes, ${program}, seed ${seed}…\n`)
        rows.push(idleRun(nodes, seed, program, steadyMs))
      }
    }
  }
  const f = (x: number | null, d = 2): string => (x === null ? '–' : x.toFixed(d))
  const ms = (x: number | null): string => (x === null ? '> 60 s' : `${(x / 1000).toFixed(1)} s`)
  const lines: string[][] = []
  for (const nodes of sizes) {
    for (const program of ['membership', 'full stack'] as const) {
      const rs = rows.filter((r) => r.nodes === nodes && r.program === program)
      const m = (k: keyof IdleRow): number | null => median(rs.map((r) => r[k] as number | null))
      const full = program === 'full stack'
      lines.push([
        program,
        String(nodes),
        f(m('packetsPerNodePerSec')),
        f(m('bytesPerNodePerSec'), 0),
        f(m('timersPerNodePerSec')),
        full ? f(m('synsAlonePerNodePerSec')) : '',
        full ? f(m('synsRiddenPerNodePerSec')) : '',
        full ? f(m('stateRepliesPerNodePerSec')) : '',
        full ? f(m('repairPullsPerNodePerSec')) : '',
        full ? ms(m('oneWriteSpreadMs')) : '',
        full ? ms(m('burstSpreadMs')) : '',
      ])
    }
  }
  console.log(`idle cluster, steady ${steadyMs / 1000} s after join + ${WARMUP_MS / 1000} s, medians over seeds ${seeds.join(', ')} (per node and virtual second)\n`)
  console.log(table(['program', 'nodes', 'packets/s', 'bytes/s', 'timers/s', 'Syns alone/s', 'Syns riding/s', 'state replies/s', 'repair pulls/s', '1 write spread', '100-write spread'], lines))
  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(new URL(`idle-${stamp}.json`, dir), JSON.stringify({ steadyMs, warmupMs: WARMUP_MS, rows }, null, 2))
  console.log(`\nresults written to bench/results/idle-${stamp}.json`)
}

main()
