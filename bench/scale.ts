/**
 * Many full-stack nodes in one process (issue 17, items 5 and 6): `npm run bench:scale`, or
 * `node --expose-gc dist/bench/scale.js [--sim-nodes 1000] [--sim-steady 60s] [--loopback-nodes 1000]
 * [--loopback-minutes 5] [--no-sim] [--no-loopback]`.
 *
 *   simulator: spawn N whole-stack nodes (SWIM, Serf's layer, broadcasts, cluster state, CRDT, phi; all
 *     join node-000 at t = 0) ──▶ every node sees every node alive (join: virtual, wall and CPU time)
 *     ──▶ `sim-steady` of virtual time (wall and CPU time, packets) ──▶ heap per node after a full GC
 *   loopback: N whole-stack nodes in this process, each on its own UDP and TCP port of 127.0.0.1 (what
 *     an embedder hosting several nodes does), started in batches of 10, each joining 3 random live
 *     nodes at once (as a fleet joins a few seeds) ──▶ every node sees N alive
 *     ──▶ `loopback-minutes` watched: suspicions and failures (any is false: nothing crashed),
 *     convergence checked every 10 s, the process's CPU per node-second (the checks' own CPU left
 *     out) and its RSS; a join that times out is retried (6 attempts), a node that never joins is counted
 *
 * Speeds are given per wall second and per CPU second: on a shared machine the wall clock measures the
 * other tenants too, while CPU time is this process's own work. Targets: the simulator at ≥ 50× real
 * time including the join with ≤ 0.5 MB of heap per node; on loopback, converged with no false
 * suspicion for 5 minutes at ≤ 0.5 ms CPU per node-second. The load average is printed beside each
 * figure, and on Linux the event-loop thread's own time on a CPU and time runnable but waiting for one
 * (/proc/self/schedstat): a process that waits more than it runs is starved by the machine, and its
 * timers fire late whatever the protocol does. Results go to bench/results/scale-<timestamp>.json (gitignored).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { Simulation } from '../src/runtime/sim/simulation.js'
import { ViewTracker } from '../src/runtime/sim/checkers.js'
import { startNode } from '../src/index.js'
import type { GrapevineNode, MemberEvent } from '../src/index.js'
import { table } from './sim.js'

export interface SimScaleRow {
  readonly nodes: number
  readonly joinConverged: boolean
  readonly joinVirtualMs: number
  readonly joinWallMs: number
  readonly joinCpuMs: number
  readonly steadyVirtualMs: number
  readonly steadyWallMs: number
  readonly steadyCpuMs: number
  /** Virtual time per wall / CPU time, join and steady stretch together. */
  readonly speedWall: number
  readonly speedCpu: number
  /** Steady stretch alone. */
  readonly steadySpeedWall: number
  readonly steadySpeedCpu: number
  readonly steadyCpuMsPerNodeSecond: number
  readonly packetsPerNodePerSec: number
  readonly heapPerNodeMb: number | null
  readonly loadAverage: number
}

export interface LoopbackScaleRow {
  readonly nodes: number
  readonly started: number
  /** Join attempts that failed and were retried, and nodes that gave up after six attempts (left out). */
  readonly joinRetries: number
  readonly joinFailures: number
  readonly startWallMs: number
  readonly converged: boolean
  readonly convergeWallMs: number
  readonly watchedMs: number
  /** Checks (every 10 s) at which every node saw every node alive, of all checks. */
  readonly convergedChecks: number
  readonly checks: number
  readonly suspicions: number
  readonly failures: number
  readonly cpuMsPerNodeSecond: number
  readonly rssMb: number
  readonly loadAverage: number
  /** The event-loop thread's time on a CPU and time waiting for one, start to convergence and watched (Linux; null elsewhere). */
  readonly joinSched: Sched | null
  readonly watchSched: Sched | null
}

/** Time the event-loop thread ran on a CPU and time it was runnable but waiting for one, in ms. */
export interface Sched {
  readonly ranMs: number
  readonly waitedMs: number
}

function schedNow(): Sched | null {
  try {
    const [ran, waited] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(' ').map(Number)
    return Number.isFinite(ran) && Number.isFinite(waited) ? { ranMs: ran / 1e6, waitedMs: waited / 1e6 } : null
  } catch {
    return null
  }
}

function schedSince(before: Sched | null): Sched | null {
  const now = schedNow()
  return before === null || now === null ? null : { ranMs: now.ranMs - before.ranMs, waitedMs: now.waitedMs - before.waitedMs }
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1000
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
}

export function simScale(nodes: number, steadyVirtualMs: number, seed = 1): SimScaleRow {
  collect()
  const heapBefore = process.memoryUsage().heapUsed
  const sim = new Simulation({ seed, network: { latencyMs: [0.5, 5] }, recordEvents: false })
  const tracker = new ViewTracker()
  tracker.reserve(nodes)
  sim.observe(tracker)
  let cpu = process.cpuUsage()
  let wall = performance.now()
  sim.spawn(nodes)
  const joinConverged = sim.runUntil(() => tracker.converged, 600_000)
  const joinWallMs = performance.now() - wall
  const joinCpuMs = cpuMs(cpu)
  const joinVirtualMs = sim.nowMs
  const packetsBefore = sim.stats.packetsSent
  cpu = process.cpuUsage()
  wall = performance.now()
  sim.runFor(steadyVirtualMs)
  const steadyWallMs = performance.now() - wall
  const steadyCpuMs = cpuMs(cpu)
  const packets = sim.stats.packetsSent - packetsBefore
  collect()
  const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function'
  const heapPerNodeMb = exposed ? (process.memoryUsage().heapUsed - heapBefore) / nodes / 1024 / 1024 : null
  if (sim.nodes.length !== nodes) throw new Error('unexpected node count')
  const virtual = joinVirtualMs + steadyVirtualMs
  return {
    nodes,
    joinConverged,
    joinVirtualMs,
    joinWallMs,
    joinCpuMs,
    steadyVirtualMs,
    steadyWallMs,
    steadyCpuMs,
    speedWall: virtual / (joinWallMs + steadyWallMs),
    speedCpu: virtual / (joinCpuMs + steadyCpuMs),
    steadySpeedWall: steadyVirtualMs / steadyWallMs,
    steadySpeedCpu: steadyVirtualMs / steadyCpuMs,
    steadyCpuMsPerNodeSecond: steadyCpuMs / nodes / (steadyVirtualMs / 1000),
    packetsPerNodePerSec: packets / nodes / (steadyVirtualMs / 1000),
    heapPerNodeMb,
    loadAverage: loadavg()[0],
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function seedOf(node: GrapevineNode): string {
  return `${node.address.ip}:${node.port}`
}

/** Up to `k` distinct live nodes at random, as seed addresses. */
function randomSeeds(nodes: readonly GrapevineNode[], k: number): string[] {
  const picked = new Set<GrapevineNode>()
  while (picked.size < Math.min(k, nodes.length)) picked.add(nodes[Math.floor(Math.random() * nodes.length)])
  return [...picked].map(seedOf)
}

function allSeeAll(nodes: readonly GrapevineNode[]): boolean {
  for (const n of nodes) {
    let alive = 0
    for (const m of n.members()) if (m.state === 'alive') alive++
    if (alive !== nodes.length) return false
  }
  return true
}

export async function loopbackScale(count: number, watchMs: number, progress: (line: string) => void): Promise<LoopbackScaleRow> {
  const nodes: GrapevineNode[] = []
  let suspicions = 0
  let failures = 0
  let joinRetries = 0
  let joinFailures = 0
  let watching = false
  const onMember = (e: MemberEvent): void => {
    if (!watching) return
    if (e.type === 'suspected') suspicions++
    if (e.type === 'failed') failures++
  }
  const started = performance.now()
  const schedStart = schedNow()
  try {
    const first = await startNode({ name: 'scale-0000', bind: '127.0.0.1:0', on: { member: onMember } })
    nodes.push(first)
    // Batches of 10, each node joining 3 random nodes already up, as a fleet joins a few seeds (a join is
    // a TCP push-pull with each; a thousand against one seed would queue behind its backlog). The join
    // succeeds when one seed answers. A join that times out (a starved process answers late) is retried
    // against other random live nodes with a growing pause; a node that still cannot join is shut down
    // and counted, not fatal.
    const start = async (j: number): Promise<GrapevineNode | undefined> => {
      const node = await startNode({ name: `scale-${String(j).padStart(4, '0')}`, bind: '127.0.0.1:0', on: { member: onMember } })
      for (let attempt = 0; ; attempt++) {
        try {
          await node.join(randomSeeds(nodes, 3))
          return node
        } catch {
          joinRetries++
          if (attempt === 5) {
            await node.shutdown()
            joinFailures++
            return undefined
          }
          await sleep(500 * 2 ** attempt)
        }
      }
    }
    for (let i = 1; i < count; i += 10) {
      const batch: Array<Promise<GrapevineNode | undefined>> = []
      for (let j = i; j < Math.min(count, i + 10); j++) batch.push(start(j))
      for (const n of await Promise.all(batch)) if (n !== undefined) nodes.push(n)
      if ((i - 1) % 200 === 0) progress(`loopback: ${nodes.length} of ${count} started`)
    }
    const startWallMs = performance.now() - started
    const convergeBound = performance.now() + 600_000
    let converged = allSeeAll(nodes)
    while (!converged && performance.now() < convergeBound) {
      await sleep(1000)
      converged = allSeeAll(nodes)
    }
    const convergeWallMs = performance.now() - started
    const joinSched = schedSince(schedStart)
    progress(`loopback: ${count} nodes ${converged ? 'converged' : 'NOT converged'} after ${(convergeWallMs / 1000).toFixed(1)} s; watching ${watchMs / 1000} s`)
    watching = true
    const cpu = process.cpuUsage()
    const watchStart = performance.now()
    const schedWatch = schedNow()
    let checks = 0
    let convergedChecks = 0
    // The checks themselves (every node's member list, tags decoded: ~N² objects) are the bench's
    // work, not the nodes': their CPU is taken out of the figure.
    let checkCpuMs = 0
    while (performance.now() - watchStart < watchMs) {
      await sleep(Math.min(10_000, watchMs - (performance.now() - watchStart)))
      checks++
      const before = process.cpuUsage()
      if (allSeeAll(nodes)) convergedChecks++
      checkCpuMs += cpuMs(before)
    }
    const watchedMs = performance.now() - watchStart
    const watchSched = schedSince(schedWatch)
    const cpuUsed = cpuMs(cpu) - checkCpuMs
    return {
      nodes: count,
      started: nodes.length,
      joinRetries,
      joinFailures,
      startWallMs,
      converged,
      convergeWallMs,
      watchedMs,
      convergedChecks,
      checks,
      suspicions,
      failures,
      cpuMsPerNodeSecond: cpuUsed / count / (watchedMs / 1000),
      rssMb: process.memoryUsage().rss / 1024 / 1024,
      loadAverage: loadavg()[0],
      joinSched,
      watchSched,
    }
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
  }
}

function schedCell(s: Sched | null): string {
  return s === null ? 'n/a' : `${fixed(s.ranMs / 1000)} / ${fixed(s.waitedMs / 1000)} s`
}

function fixed(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

function positive(name: string, raw: string, unit = 1): number {
  const v = Number(raw.replace(/s$/, '')) * unit
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number (got ${JSON.stringify(raw)}); for example --${name} ${name.includes('minutes') ? '5' : '1000'}`)
  return v
}

async function main(): Promise<void> {
  const simNodes = Math.round(positive('sim-nodes', flag('sim-nodes', '1000')))
  const simSteadyMs = positive('sim-steady', flag('sim-steady', '60'), 1000)
  const loopNodes = Math.round(positive('loopback-nodes', flag('loopback-nodes', '1000')))
  const loopMs = positive('loopback-minutes', flag('loopback-minutes', '5'), 60_000)
  const progress = (line: string): void => void process.stderr.write(`${line}\n`)
  const out: { sim?: SimScaleRow; loopback?: LoopbackScaleRow } = {}

  if (!process.argv.includes('--no-sim')) {
    progress(`sim: ${simNodes} whole-stack nodes…`)
    const r = simScale(simNodes, simSteadyMs)
    out.sim = r
    console.log(`simulator, ${simNodes} whole-stack nodes (LAN profile, 0.5–5 ms one way; × = virtual time per wall / CPU time; targets ≥ 50× including the join, ≤ 0.5 MB per node)`)
    console.log(
      table(
        ['phase', 'virtual', 'wall', 'CPU', '× wall', '× CPU', 'CPU ms/node-s', 'pkts/node/s', 'heap/node', 'load'],
        [
          ['join', `${fixed(r.joinVirtualMs / 1000, 2)} s${r.joinConverged ? '' : ' (not converged)'}`, `${fixed(r.joinWallMs / 1000)} s`, `${fixed(r.joinCpuMs / 1000)} s`, fixed(r.joinVirtualMs / r.joinWallMs, 2), fixed(r.joinVirtualMs / r.joinCpuMs, 2), fixed(r.joinCpuMs / simNodes / (r.joinVirtualMs / 1000), 3), '', '', ''],
          ['steady', `${fixed(r.steadyVirtualMs / 1000)} s`, `${fixed(r.steadyWallMs / 1000)} s`, `${fixed(r.steadyCpuMs / 1000)} s`, fixed(r.steadySpeedWall, 2), fixed(r.steadySpeedCpu, 2), fixed(r.steadyCpuMsPerNodeSecond, 3), fixed(r.packetsPerNodePerSec, 2), '', ''],
          ['both', '', '', '', `${fixed(r.speedWall, 2)}${r.speedWall >= 50 ? ' ok' : ' LOW'}`, `${fixed(r.speedCpu, 2)}${r.speedCpu >= 50 ? ' ok' : ' LOW'}`, '', '', r.heapPerNodeMb === null ? 'n/a (no --expose-gc)' : `${fixed(r.heapPerNodeMb, 3)} MB${r.heapPerNodeMb <= 0.5 ? ' ok' : ' HIGH'}`, fixed(r.loadAverage)],
        ],
      ),
    )
  }

  if (!process.argv.includes('--no-loopback')) {
    progress(`loopback: ${loopNodes} whole-stack nodes in this process…`)
    const r = await loopbackScale(loopNodes, loopMs, progress)
    out.loopback = r
    console.log(`\nloopback, ${loopNodes} whole-stack nodes in one process, one UDP + TCP port each (LAN profile; targets: converged, no false suspicion, ≤ 0.5 ms CPU per node-second)`)
    console.log(
      table(
        ['nodes', 'join retries / given up', 'started in', 'all see all after', 'watched', 'converged checks', 'suspicions', 'failures', 'CPU ms/node-s', 'RSS', 'load', 'ran / waited for a CPU: join', 'watch'],
        [
          [
            String(r.started),
            `${r.joinRetries} / ${r.joinFailures}`,
            `${fixed(r.startWallMs / 1000)} s`,
            r.converged ? `${fixed(r.convergeWallMs / 1000)} s` : 'not converged',
            `${fixed(r.watchedMs / 60_000)} min`,
            `${r.convergedChecks} of ${r.checks}`,
            String(r.suspicions),
            String(r.failures),
            `${fixed(r.cpuMsPerNodeSecond, 3)}${r.cpuMsPerNodeSecond <= 0.5 ? ' ok' : ' HIGH'}`,
            `${fixed(r.rssMb, 0)} MB`,
            fixed(r.loadAverage),
            schedCell(r.joinSched),
            schedCell(r.watchSched),
          ],
        ],
      ),
    )
  }

  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(new URL(`scale-${stamp}.json`, dir), JSON.stringify({ date: new Date().toISOString(), node: process.version, ...out }, null, 2) + '\n')
  console.log(`\nresults written to bench/results/scale-${stamp}.json`)
}

await main()
