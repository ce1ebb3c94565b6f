/**
 * Idle cost of the whole stack against SWIM alone, and how fast a change still spreads from quiet
 * (`npm run bench:idle`, or `node dist/bench/idle.js [--sizes 32,64] [--seeds 1,2,3] [--steady 60s]
 * [--warmup 30s] [--state-backoff 4] [--repair-backoff 16s] [--compact-heartbeats on|off]`: the last three
 * set StateConfig.quietBackoffMaxRounds, RumorConfig.repairBackoffMaxMs and StateConfig.compactHeartbeats,
 * 1, 1s and off turning them off, for before/after figures; a longer warm-up grows the heartbeats as a
 * long-running cluster's are).
 *
 *   spawn N (all join node-000) ──▶ every node sees every node alive ──▶ 30 s warm-up (the join's
 *   broadcasts and busy state rounds die down) ──▶ `steady` of virtual time measured: UDP packets and
 *   bytes sent per node and second, and for the whole stack what the state rounds and repair pulls sent
 *   and timers fired per node and second (each a wake-up of a real node's event loop)
 *   (bytes per message type: message-bytes.ts)
 *   ──▶ (whole stack) one key written on one node: virtual time until every node holds it ──▶ 30 s
 *   quiet ──▶ 100 keys written at one instant on random nodes: time until every node holds all of them
 *   ──▶ 30 s quiet ──▶ one node crashes: time until phi of it crosses 8 (the threshold) at the median
 *   and the last of the other nodes (phi is fed by the heartbeats of the state Syns)
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
import { MessageBytes } from './message-bytes.js'

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
  /** Whole stack, from quiet: a node crashes; ms until phi ≥ 8 at the median and the last other node (null: not within 60 s). */
  readonly phiMedianMs: number | null
  readonly phiLastMs: number | null
  /** Whole stack: the highest phi of a live member at any node over the steady window (sampled every second; ≥ 8 would accuse it). */
  readonly livePhiMax: number | null
  /** Bytes per node and second by message type over the steady window. */
  readonly bytesByType: Record<string, number>
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

export interface Backoffs {
  readonly state?: number
  readonly repairMs?: number
  /** StateConfig.compactHeartbeats (undefined: the default). */
  readonly compactHeartbeats?: boolean
  /** Virtual time between convergence and the measured window (default WARMUP_MS): heartbeats grow with it. */
  readonly warmupMs?: number
}

export function idleRun(nodes: number, seed: number, program: Program, steadyMs: number, backoffs: Backoffs = {}): IdleRow {
  const state = {
    ...(backoffs.state === undefined ? {} : { quietBackoffMaxRounds: backoffs.state }),
    ...(backoffs.compactHeartbeats === undefined ? {} : { compactHeartbeats: backoffs.compactHeartbeats }),
  }
  const broadcast = backoffs.repairMs === undefined ? {} : { repairBackoffMaxMs: backoffs.repairMs }
  const node = program === 'membership' ? { membershipOnly: true } : { state, broadcast }
  const sim = new Simulation({ seed, network: { latencyMs: [0.5, 5] }, recordEvents: false, node })
  const tracker = new ViewTracker()
  tracker.reserve(nodes)
  sim.observe(tracker)
  const byType = new MessageBytes()
  sim.observe(byType)
  sim.spawn(nodes)
  if (!sim.runUntil(() => tracker.converged, 300_000)) throw new Error(`${nodes} nodes (seed ${seed}) did not converge`)
  const joinMs = sim.nowMs
  sim.runFor(backoffs.warmupMs ?? WARMUP_MS)
  const packets0 = sim.stats.packetsSent
  const bytes0 = sim.stats.bytesSent
  const timers = (): number => sim.nodes.reduce((t, n) => t + n.counters.timersFired, 0)
  const timers0 = timers()
  const full = program === 'full stack'
  const state0 = full ? sumState(sim) : undefined
  byType.counting = true
  let livePhiMax: number | null = null
  if (full) {
    // Phi of live members over the steady window, every virtual second: how close a quiet cluster comes to a false accusation.
    livePhiMax = 0
    for (let t = 0; t < steadyMs; t += 1000) {
      sim.runFor(Math.min(1000, steadyMs - t))
      for (const w of sim.nodes) for (const m of sim.nodes) if (m !== w) livePhiMax = Math.max(livePhiMax, stackOf(w).stack!.phi.phi(m.name, sim.nowMs) ?? 0)
    }
  } else sim.runFor(steadyMs)
  byType.counting = false
  const per = (x: number): number => x / nodes / (steadyMs / 1000)
  const state1 = full ? sumState(sim) : undefined
  const timersFired = timers() - timers0
  const packets = sim.stats.packetsSent - packets0
  const bytes = sim.stats.bytesSent - bytes0
  let oneWriteSpreadMs: number | null = null
  let burstSpreadMs: number | null = null
  let phiMedianMs: number | null = null
  let phiLastMs: number | null = null
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
    sim.runFor(WARMUP_MS)
    ;[phiMedianMs, phiLastMs] = phiCrossing(sim, sim.nodes[Math.floor((2 * nodes) / 3)])
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
    phiMedianMs,
    phiLastMs,
    livePhiMax,
    bytesByType: Object.fromEntries(byType.rows().map((r) => [r.type, per(r.bytes)])),
  }
}

/** Crashes `victim` and returns ms until phi of it is ≥ 8 at the median and at the last of the others (checked every 100 ms). */
function phiCrossing(sim: Simulation, victim: SimNode): [number | null, number | null] {
  const watchers = sim.nodes.filter((n) => n !== victim)
  const crossed = new Map<string, number>()
  const start = sim.nowMs
  sim.crash(victim)
  sim.runUntil(
    () => {
      for (const w of watchers) {
        if (crossed.has(w.name)) continue
        const phi = stackOf(w).stack!.phi.phi(victim.name, sim.nowMs)
        if (phi !== undefined && phi >= 8) crossed.set(w.name, sim.nowMs - start)
      }
      return crossed.size === watchers.length
    },
    SPREAD_BOUND_MS,
    { checkEveryMs: CHECK_MS },
  )
  const times = [...crossed.values()].sort((a, b) => a - b)
  const median = times.length * 2 > watchers.length ? times[Math.floor((watchers.length - 1) / 2)] : null
  return [median, times.length === watchers.length ? times[times.length - 1] : null]
}

function median(xs: ReadonlyArray<number | null>): number | null {
  if (xs.some((x) => x === null)) return null
  const s = (xs as number[]).slice().sort((a, b) => a - b)
  return s.length === 0 ? null : s[Math.floor((s.length - 1) / 2)]
}

function parseArgs(argv: readonly string[]): { sizes: number[]; seeds: number[]; steadyMs: number; backoffs: Backoffs } {
  const opts: { sizes: number[]; seeds: number[]; steadyMs: number; backoffs: Backoffs } = { sizes: [32, 64], seeds: [1, 2, 3], steadyMs: 60_000, backoffs: {} }
  const seconds = (value: string | undefined): number => Number(/^(\d+)s$/.exec(value ?? '')?.[1] ?? NaN) * 1000
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    const list = (): number[] => (value ?? '').split(',').map(Number)
    if (flag === '--sizes') opts.sizes = list()
    else if (flag === '--seeds') opts.seeds = list()
    else if (flag === '--steady') opts.steadyMs = seconds(value)
    else if (flag === '--state-backoff') opts.backoffs = { ...opts.backoffs, state: Number(value) }
    else if (flag === '--repair-backoff') opts.backoffs = { ...opts.backoffs, repairMs: seconds(value) }
    else if (flag === '--warmup') opts.backoffs = { ...opts.backoffs, warmupMs: seconds(value) }
    else if (flag === '--compact-heartbeats' && (value === 'on' || value === 'off')) opts.backoffs = { ...opts.backoffs, compactHeartbeats: value === 'on' }
    else throw new Error(`unknown option ${flag} ${value ?? ''}; options: --sizes 32,64 --seeds 1,2,3 --steady 60s --warmup 30s --state-backoff 4 --repair-backoff 16s --compact-heartbeats on|off`)
  }
  const { state, repairMs } = opts.backoffs
  const bad = [...opts.sizes, ...opts.seeds, state ?? 1].some((x) => !Number.isInteger(x) || x < 1) || !(opts.steadyMs > 0) || !((repairMs ?? 1) > 0) || !((opts.backoffs.warmupMs ?? 1) > 0)
  if (bad) throw new Error('--sizes, --seeds and --state-backoff take positive integers (the first two separated by commas), --steady and --repair-backoff a whole number of seconds such as 60s')
  return opts
}

function main(): void {
  const { sizes, seeds, steadyMs, backoffs } = parseArgs(process.argv.slice(2))
  const rows: IdleRow[] = []
  for (const nodes of sizes) {
    for (const program of ['membership', 'full stack'] as const) {
      for (const seed of seeds) {
        process.stderr.write(`idle: ${nodes} nodes, ${program}, seed ${seed}…\n`)
        rows.push(idleRun(nodes, seed, program, steadyMs, backoffs))
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
        full ? f(m('livePhiMax')) : '',
        full ? `${ms(m('phiMedianMs'))} / ${ms(m('phiLastMs'))}` : '',
      ])
    }
  }
  const backoffText = `quiet backoff: state Syns ${backoffs.state ?? 'default'} rounds, repair pulls ${backoffs.repairMs === undefined ? 'default' : `${backoffs.repairMs / 1000} s`}; compact heartbeats ${backoffs.compactHeartbeats === undefined ? 'default' : backoffs.compactHeartbeats ? 'on' : 'off'}`
  console.log(`idle cluster, steady ${steadyMs / 1000} s after join + ${(backoffs.warmupMs ?? WARMUP_MS) / 1000} s, medians over seeds ${seeds.join(', ')} (per node and virtual second); ${backoffText}\n`)
  console.log(table(['program', 'nodes', 'packets/s', 'bytes/s', 'timers/s', 'Syns alone/s', 'Syns riding/s', 'state replies/s', 'repair pulls/s', '1 write spread', '100-write spread', 'live phi max', 'phi ≥ 8 after a crash (median / last)'], lines))
  for (const nodes of sizes) {
    const rs = rows.filter((r) => r.nodes === nodes && r.program === 'full stack')
    const types = [...new Set(rs.flatMap((r) => Object.keys(r.bytesByType)))]
    const typeLines = types.map((t) => [t, f(median(rs.map((r) => r.bytesByType[t] ?? 0)), 1)]).sort((a, b) => Number(b[1]) - Number(a[1]))
    console.log(`\nfull stack, ${nodes} nodes: bytes sent per node and second by message type (median over seeds)\n`)
    console.log(table(['message', 'bytes/s'], typeLines))
  }
  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(new URL(`idle-${stamp}.json`, dir), JSON.stringify({ steadyMs, warmupMs: WARMUP_MS, backoffs, rows }, null, 2))
  console.log(`\nresults written to bench/results/idle-${stamp}.json`)
}

main()
