/**
 * Cluster state bench (`npm run bench:state`, or `node dist/bench/state.js [--quick] [--sizes 50,200,1000]
 * [--seeds 5] [--big-seeds 3] [--writes 1,100,2000] [--loss 0]`): Grapevine's Syn/Ack/Ack2 reconciliation against a naive
 * full-state exchange, in the same run, same seeds, pure and in virtual time (bench/state-clusters.ts).
 * Default state config (fanout 3, rounds every 1 s, 1,300-byte budget), one-way delay 1–10 ms, no loss.
 *
 * 1. Convergence vs N. Every node first joins through node-000 with the join-time push-pull (full states
 *    over a stream, bytes not counted), so every node holds every node's (empty) state. Then bursts of
 *    writes, one after the other on the same cluster (default 1, then 100, then 2,000 in all, whatever N; each a new
 *    key with a 32-byte value on a node drawn at random), each landing at one instant; we count the
 *    virtual time until every replica holds every owner's latest version (checked once a round, so times
 *    are whole rounds). A single write shows pure dissemination (the log N shape); the 100-write burst fits
 *    about one round of delta budget, but at 1,000 nodes its 100 changed nodes no longer fit the share of a
 *    Syn that names recent changes, so windows carry the rest;
 *    the large one is bound by the 1,300-byte budget (every node must receive ~90 kB). Beyond ~75 nodes a
 *    Syn no longer holds every digest (a window of the name ring per Syn), which stretches dissemination.
 *    Median over the seeds, printed with log2 N and rounds / log2 N.
 * 2. Bytes per update per node: every state byte sent from the burst to convergence (Syns of a quiet
 *    cluster included) / (writes × N), and beside it what a quiet cluster costs per node and second (5 s
 *    measured right after the bootstrap, empty maps).
 * 3. Sustained write rate at 32 nodes. Writes arrive at a steady rate spread over random nodes (each
 *    overwrites one of 64 keys of its node, 32-byte values), every 100 ms of virtual time. After 10 s of
 *    warm-up, every write of a 60 s window is tracked until every other node holds its version (or a newer
 *    one); writes then stop and the run goes on for the bound. The cluster keeps converged at a rate when
 *    every windowed write reached every node within 10 s (staleness measured to 100 ms). The rate climbs
 *    a ladder until Grapevine fails, then is bisected; the naive exchange runs the same rates.
 *
 * Prints tables and writes JSON to bench/results/state-<timestamp>.json (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { SeededRng } from '../src/core/rng.js'
import { table } from './sim.js'
import { GrapevineCluster, NaiveCluster, PACKET_BUDGET_BYTES, type ClusterOptions, type ReplicatedCluster } from './state-clusters.js'

type Kind = 'grapevine' | 'naive'
const KINDS: readonly Kind[] = ['grapevine', 'naive']

function make(kind: Kind, options: ClusterOptions): ReplicatedCluster {
  return kind === 'grapevine' ? new GrapevineCluster(options) : new NaiveCluster(options)
}

const ROUND_MS = 1000
const IDLE_MS = 5000
const VALUE = 'v'.repeat(24)

function value(rng: SeededRng): string {
  return VALUE + rng.u32().toString(16).padStart(8, '0')
}

/** Runs whole rounds until converged; returns the virtual ms taken, or undefined past `maxMs`. */
function runUntilConverged(c: ReplicatedCluster, maxMs: number): number | undefined {
  const start = c.nowMs
  for (;;) {
    if (c.converged()) return c.nowMs - start
    if (c.nowMs - start >= maxMs) return undefined
    c.runFor(ROUND_MS)
  }
}

// ---------------------------------------------------------------------------------------------------
// 1 and 2: a burst at N nodes

export interface BurstRun {
  readonly kind: Kind
  readonly nodes: number
  readonly seed: number
  readonly writes: number
  /** Virtual ms after the join-time push-pulls until every replica is identical (0: at once). */
  readonly warmupMs: number | null
  /** State bytes per node and second of the quiet cluster just before the bursts. */
  readonly idleBytesPerNodePerSec: number
  /** Virtual ms from the burst until every replica is identical (null: not within the limit). */
  readonly convergeMs: number | null
  readonly bytes: number
  readonly messages: number
  readonly bytesPerUpdatePerNode: number
  readonly maxMessageBytes: number
  readonly oversizeMessages: number
  readonly wallMs: number
}

/** One cluster per (kind, N, seed), bootstrapped once, then each burst in turn, each run to convergence. */
function bursts(kind: Kind, nodes: number, seed: number, sizes: readonly number[], loss: number, limitMs: number): BurstRun[] {
  let began = performance.now()
  const c = make(kind, { seed, nodes, packetLossProbability: loss })
  c.bootstrap()
  const warmupMs = runUntilConverged(c, limitMs) ?? null
  // What a quiet cluster costs (empty maps): the floor every burst's bytes sit on.
  const idle0 = c.bytes
  c.runFor(IDLE_MS)
  const idleBytesPerNodePerSec = (c.bytes - idle0) / nodes / (IDLE_MS / 1000)
  const w = new SeededRng(seed * 7919 + 1)
  return sizes.map((writes, b) => {
    const bytes0 = c.bytes
    const messages0 = c.messages
    const over0 = c.oversizeMessages
    for (let i = 0; i < writes; i++) c.write(w.int(nodes), `b${b}-key-${i}`, value(w))
    const convergeMs = runUntilConverged(c, limitMs) ?? null
    const bytes = c.bytes - bytes0
    const wallMs = performance.now() - began
    began = performance.now()
    return {
      kind,
      nodes,
      seed,
      writes,
      warmupMs,
      idleBytesPerNodePerSec,
      convergeMs,
      bytes,
      messages: c.messages - messages0,
      bytesPerUpdatePerNode: bytes / (writes * nodes),
      maxMessageBytes: c.maxMessageBytes,
      oversizeMessages: c.oversizeMessages - over0,
      wallMs,
    }
  })
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export interface BurstSummary {
  readonly nodes: number
  readonly writes: number
  readonly log2N: number
  readonly seeds: number
  readonly grapevineRounds: number | null
  readonly grapevineRoundsPerLog2N: number | null
  readonly naiveRounds: number | null
  readonly naiveRoundsPerLog2N: number | null
  readonly grapevineBytesPerUpdatePerNode: number
  readonly naiveBytesPerUpdatePerNode: number
  readonly timeRatio: number | null
  readonly bytesRatio: number
  readonly grapevineWarmupRounds: number | null
  readonly grapevineIdleBytesPerNodePerSec: number
  readonly naiveIdleBytesPerNodePerSec: number
  readonly naiveMaxMessageBytes: number
  readonly naiveOversizeShare: number
}

function summarize(nodes: number, writes: number, runs: readonly BurstRun[]): BurstSummary {
  const of = (k: Kind): BurstRun[] => runs.filter((r) => r.kind === k && r.nodes === nodes && r.writes === writes)
  const rounds = (k: Kind): number | null => {
    const rs = of(k)
    if (rs.some((r) => r.convergeMs === null)) return null
    return median(rs.map((r) => (r.convergeMs as number) / ROUND_MS))
  }
  const bpu = (k: Kind): number => median(of(k).map((r) => r.bytesPerUpdatePerNode))
  const log2N = Math.log2(nodes)
  const g = rounds('grapevine')
  const n = rounds('naive')
  const warm = of('grapevine')
  const naive = of('naive')
  const naiveMessages = naive.reduce((s, r) => s + r.messages, 0)
  return {
    nodes,
    writes,
    log2N,
    seeds: warm.length,
    grapevineRounds: g,
    grapevineRoundsPerLog2N: g === null ? null : g / log2N,
    naiveRounds: n,
    naiveRoundsPerLog2N: n === null ? null : n / log2N,
    grapevineBytesPerUpdatePerNode: bpu('grapevine'),
    naiveBytesPerUpdatePerNode: bpu('naive'),
    timeRatio: g === null || n === null ? null : g / n,
    bytesRatio: bpu('grapevine') / bpu('naive'),
    grapevineWarmupRounds: warm.some((r) => r.warmupMs === null) ? null : median(warm.map((r) => (r.warmupMs as number) / ROUND_MS)),
    grapevineIdleBytesPerNodePerSec: median(warm.map((r) => r.idleBytesPerNodePerSec)),
    naiveIdleBytesPerNodePerSec: median(naive.map((r) => r.idleBytesPerNodePerSec)),
    naiveMaxMessageBytes: Math.max(...naive.map((r) => r.maxMessageBytes)),
    naiveOversizeShare: naiveMessages === 0 ? 0 : naive.reduce((s, r) => s + r.oversizeMessages, 0) / naiveMessages,
  }
}

// ---------------------------------------------------------------------------------------------------
// 3: sustained write rate at 32 nodes

export interface SustainedRun {
  readonly kind: Kind
  readonly nodes: number
  readonly seed: number
  readonly writesPerSec: number
  readonly windowWrites: number
  /** Writes of the window that never reached every node (counted as stale beyond the bound). */
  readonly unconverged: number
  readonly maxStalenessMs: number | null
  readonly meanStalenessMs: number | null
  readonly p99StalenessMs: number | null
  readonly converged: boolean
  readonly bytesPerNodePerSec: number
  readonly maxMessageBytes: number
}

const STEP_MS = 100
const KEYS_PER_NODE = 64

function sustained(kind: Kind, nodes: number, seed: number, rate: number, warmMs: number, windowMs: number, boundMs: number, loss: number): SustainedRun {
  const c = make(kind, { seed, nodes, packetLossProbability: loss })
  c.bootstrap()
  const warmed = runUntilConverged(c, 600_000)
  if (warmed === undefined) throw new Error(`${kind}: ${nodes} nodes never learned each other (seed ${seed})`)
  const w = new SeededRng(seed * 104_729 + rate)
  const start = c.nowMs
  const windowStart = start + warmMs
  const windowEnd = windowStart + windowMs
  // Per owner, pending windowed writes (version, time), in version order.
  const pending: Array<Array<[number, number]>> = Array.from({ length: nodes }, () => [])
  const heads = new Array<number>(nodes).fill(0)
  const staleness: number[] = []
  let windowWrites = 0
  let carry = 0
  let bytes0 = 0
  const drain = (): void => {
    for (let o = 0; o < nodes; o++) {
      const q = pending[o]
      if (heads[o] === q.length) continue
      const min = c.minReplicaVersion(o)
      while (heads[o] < q.length && q[heads[o]][0] <= min) staleness.push(c.nowMs - q[heads[o]++][1])
    }
  }
  while (c.nowMs < windowEnd + boundMs) {
    if (c.nowMs === windowStart) bytes0 = c.bytes
    if (c.nowMs < windowEnd) {
      carry += (rate * STEP_MS) / 1000
      const count = Math.floor(carry)
      carry -= count
      for (let i = 0; i < count; i++) {
        const node = w.int(nodes)
        const version = c.write(node, `key-${w.int(KEYS_PER_NODE)}`, value(w))
        if (c.nowMs >= windowStart) {
          pending[node].push([version, c.nowMs])
          windowWrites++
        }
      }
    }
    c.runFor(STEP_MS)
    drain()
  }
  const unconverged = windowWrites - staleness.length
  const sorted = staleness.sort((a, b) => a - b)
  const max = sorted.length > 0 ? sorted[sorted.length - 1] : null
  const converged = unconverged === 0 && (max === null || max <= boundMs)
  return {
    kind,
    nodes,
    seed,
    writesPerSec: rate,
    windowWrites,
    unconverged,
    maxStalenessMs: unconverged > 0 ? null : max,
    meanStalenessMs: sorted.length > 0 ? sorted.reduce((s, x) => s + x, 0) / sorted.length : null,
    p99StalenessMs: sorted.length > 0 ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : null,
    converged,
    // Bytes from the window's start to the end of the run (window plus bound), per node and second.
    bytesPerNodePerSec: (c.bytes - bytes0) / nodes / ((windowMs + boundMs) / 1000),
    maxMessageBytes: c.maxMessageBytes,
  }
}

// ---------------------------------------------------------------------------------------------------
// Main

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

function fmt(n: number | null, digits = 1): string {
  if (n === null) return 'n/c'
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function kb(bytes: number): string {
  return bytes >= 1e6 ? `${fmt(bytes / 1e6, 1)} MB` : bytes >= 1e3 ? `${fmt(bytes / 1e3, 1)} kB` : `${fmt(bytes, 0)} B`
}

async function main(): Promise<void> {
  const began = performance.now()
  const quick = process.argv.includes('--quick')
  const sizes = (arg('--sizes') ?? (quick ? '50,200' : '50,200,1000')).split(',').map(Number)
  const seedCount = Number(arg('--seeds') ?? (quick ? 2 : 5))
  const burstSizes = (arg('--writes') ?? (quick ? '1,100,500' : '1,100,2000')).split(',').map(Number)
  const loss = Number(arg('--loss') ?? 0)
  /** The 1,000-node case is the expensive one: it gets fewer seeds (see the note printed below). */
  const bigSeeds = Number(arg('--big-seeds') ?? Math.min(seedCount, 3))
  const seedsFor = (n: number): number => (n >= 1000 ? bigSeeds : seedCount)
  const sustainedNodes = 32
  const warmMs = 10_000
  const windowMs = quick ? 20_000 : 60_000
  const boundMs = 10_000
  const progress = (line: string): void => void process.stderr.write(`${line}\n`)

  console.log(
    `Grapevine cluster state bench${quick ? ' (quick)' : ''} — node ${process.version}; default state config (fanout 3, 1 s rounds, ` +
      `${PACKET_BUDGET_BYTES}-byte budget), delay 1–10 ms, loss ${loss}; naive = full-state push to 3 peers per round\n`,
  )

  // 1 and 2
  const runs: BurstRun[] = []
  for (const n of sizes) {
    for (let s = 1; s <= seedsFor(n); s++) {
      for (const kind of KINDS) {
        for (const r of bursts(kind, n, s, burstSizes, loss, 600_000)) {
          runs.push(r)
          progress(`burst ${kind} N=${n} seed ${s} ${r.writes} writes: ${r.convergeMs === null ? 'n/c' : `${r.convergeMs / ROUND_MS} rounds`}, ${fmt(r.bytesPerUpdatePerNode, 0)} B/update/node (${fmt(r.wallMs / 1000, 1)} s wall)`)
        }
      }
    }
  }
  const summaries = burstSizes.flatMap((writes) => sizes.map((n) => summarize(n, writes, runs)))
  console.log(
    `1. Convergence after a burst of ${burstSizes.join(', then ')} writes in all (new keys, 32-byte values, random nodes), ` +
      `rounds (1 s of virtual time) from the burst until every replica is identical, median over seeds`,
  )
  console.log(
    table(
      ['writes', 'N', 'seeds', 'log2 N', 'grapevine rounds', '/ log2 N', 'naive rounds', '/ log2 N', 'grapevine / naive'],
      summaries.map((s) => [
        String(s.writes),
        String(s.nodes),
        String(s.seeds),
        fmt(s.log2N, 2),
        fmt(s.grapevineRounds, 1),
        fmt(s.grapevineRoundsPerLog2N, 2),
        fmt(s.naiveRounds, 1),
        fmt(s.naiveRoundsPerLog2N, 2),
        s.timeRatio === null ? 'n/c' : `${fmt(s.timeRatio, 2)}×`,
      ]),
    ),
  )
  console.log(
    `\n2. Bytes per update per node (all state bytes from the burst to convergence / (writes × N)), median over seeds; ` +
      `idle = a quiet cluster's bytes per node per second (empty maps), included in the per-update figures`,
  )
  console.log(
    table(
      ['writes', 'N', 'grapevine B', 'naive B', 'grapevine / naive', 'idle g B/node/s', 'idle n B/node/s', 'naive largest msg', 'naive msgs > packet'],
      summaries.map((s) => [
        String(s.writes),
        String(s.nodes),
        fmt(s.grapevineBytesPerUpdatePerNode, 0),
        fmt(s.naiveBytesPerUpdatePerNode, 0),
        fmt(s.bytesRatio, 3),
        fmt(s.grapevineIdleBytesPerNodePerSec, 0),
        fmt(s.naiveIdleBytesPerNodePerSec, 0),
        kb(s.naiveMaxMessageBytes),
        `${fmt(s.naiveOversizeShare * 100, 0)} %`,
      ]),
    ),
  )

  // 3
  const ladder = quick ? [10, 50, 200, 1000, 5000] : [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000]
  const sruns: SustainedRun[] = []
  const run = (kind: Kind, rate: number): SustainedRun => {
    const r = sustained(kind, sustainedNodes, 1, rate, warmMs, windowMs, boundMs, loss)
    sruns.push(r)
    progress(`sustained ${kind} ${rate}/s: max staleness ${r.maxStalenessMs === null ? `n/c (${r.unconverged} writes)` : `${r.maxStalenessMs} ms`}, ${kb(r.bytesPerNodePerSec)}/node/s`)
    return r
  }
  let pass = 0
  let fail: number | undefined
  for (const rate of ladder) {
    if (run('grapevine', rate).converged) pass = rate
    else {
      fail = rate
      break
    }
  }
  if (fail !== undefined) {
    for (let i = 0; i < (quick ? 2 : 4) && fail - pass > Math.max(1, pass * 0.05); i++) {
      const mid = Math.round((pass + fail) / 2)
      if (run('grapevine', mid).converged) pass = mid
      else fail = mid
    }
  }
  const gRates = [...new Set(sruns.map((r) => r.writesPerSec))].sort((a, b) => a - b)
  let naivePass = 0
  let naiveFail: number | undefined
  for (const rate of [...new Set([...gRates, ...ladder])].sort((a, b) => a - b)) {
    if (run('naive', rate).converged) naivePass = rate
    else if (naiveFail === undefined) naiveFail = rate
  }
  console.log(
    `\n3. Sustained writes at ${sustainedNodes} nodes (${KEYS_PER_NODE} keys per node overwritten, seed 1): converged = every write of a ${windowMs / 1000} s window ` +
      `reached every node within ${boundMs / 1000} s (staleness to ${STEP_MS} ms)`,
  )
  const allRates = [...new Set(sruns.map((r) => r.writesPerSec))].sort((a, b) => a - b)
  const find = (kind: Kind, rate: number): SustainedRun | undefined => sruns.find((r) => r.kind === kind && r.writesPerSec === rate)
  const staleCell = (r: SustainedRun | undefined): string =>
    r === undefined ? '' : r.maxStalenessMs === null ? `n/c (${r.unconverged} left)` : `${fmt(r.maxStalenessMs / 1000, 1)} s`
  console.log(
    table(
      ['writes/s', 'grapevine max stale', 'p99', 'mean', 'B/node/s', 'naive max stale', 'mean', 'B/node/s', 'bytes g / n'],
      allRates.map((rate) => {
        const g = find('grapevine', rate)
        const n = find('naive', rate)
        return [
          String(rate),
          staleCell(g),
          g?.p99StalenessMs == null ? '' : `${fmt(g.p99StalenessMs / 1000, 1)} s`,
          g?.meanStalenessMs == null ? '' : `${fmt(g.meanStalenessMs / 1000, 2)} s`,
          g === undefined ? '' : kb(g.bytesPerNodePerSec),
          staleCell(n),
          n?.meanStalenessMs == null ? '' : `${fmt(n.meanStalenessMs / 1000, 2)} s`,
          n === undefined ? '' : kb(n.bytesPerNodePerSec),
          g === undefined || n === undefined ? '' : fmt(g.bytesPerNodePerSec / n.bytesPerNodePerSec, 3),
        ]
      }),
    ),
  )
  const ladderTop = ladder[ladder.length - 1]
  console.log(
    `\nHighest rate kept converged at ${sustainedNodes} nodes: grapevine ${pass} writes/s${fail === undefined ? ` (never failed up to ${ladderTop})` : ` (fails at ${fail})`}; ` +
      `naive ${naivePass} writes/s${naiveFail === undefined ? ` (never failed up to ${Math.max(...allRates)}; its messages are unbounded)` : ` (first fails at ${naiveFail})`}`,
  )
  if (sizes.some((n) => n >= 1000) && bigSeeds < seedCount) console.log(`note: N ≥ 1000 ran ${bigSeeds} seeds (others ${seedCount}) to keep the run short`)

  const wallMs = performance.now() - began
  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const body = JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      quick,
      settings: { sizes, seeds: seedCount, bigSeeds, writes: burstSizes, loss, sustainedNodes, warmMs, windowMs, boundMs, stepMs: STEP_MS, keysPerNode: KEYS_PER_NODE },
      burst: { summaries, runs },
      sustained: { grapevineMaxWritesPerSec: pass, grapevineFailsAt: fail ?? null, naiveMaxWritesPerSec: naivePass, naiveFailsAt: naiveFail ?? null, runs: sruns },
      wallMs,
    },
    null,
    2,
  )
  writeFileSync(new URL(`state-${stamp}.json`, dir), body + '\n')
  console.log(`\nresults written to bench/results/state-${stamp}.json (${fmt(wallMs / 1000, 1)} s)`)
}

if (process.argv[1]?.endsWith('state.js')) await main()
