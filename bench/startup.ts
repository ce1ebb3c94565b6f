/**
 * `npm run bench:startup`: what one agent costs to start and to keep idle, and how long a cluster of
 * agents started a few milliseconds apart takes until every agent sees every other — CPU time from /proc
 * (load moves it little) beside wall times (load moves them a lot), with the load average printed beside.
 *
 *   node dist/bench/startup.js [--solo 5] [--nodes 16] [--stagger 80] [--joins 1] [--idle 30]
 *                              [--node-flags "--max-semi-space-size=1"] [--cli PATH] [--port-base 29100]
 *
 * ```
 *   solo:  --solo times: spawn one agent alone ─▶ "agent started" ─▶ /proc: CPU ticks, RSS ─▶ SIGTERM
 *          (start-up CPU and wall time of a lone agent: the process, its imports, binding, the HTTP API)
 *   join:  --joins times: agent 0 ─▶ up ─▶ agents 1..N-1 spawned --stagger ms apart, each joining agent 0
 *          ─▶ until every agent has logged every other alive (bench/cluster-measure.ts's joinFigures)
 *          ─▶ each agent's CPU ticks so far (start-up + join) ─▶ killed unless it was the last join
 *   idle:  the last cluster --idle s more ─▶ RSS of every agent (median / max), CPU s/min over those s
 * ```
 *
 * `--node-flags` go to node itself for every agent (V8 flags to compare); `--cli` runs another build's
 * cli.js (a copy of an earlier dist/, for before/after in one sitting). Instructions are not counted: perf has no hardware counters
 * on every machine (run bench:idle-cpu for those where it does). Results: tables on stdout and
 * bench/results/startup-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { joinFigures, type JoinFigures } from './cluster-measure.js'
import { clkTck, cpuTicks, freePortsIn, pollUntil, ProcessRegistry, rssBytes, sleep, startGrapevine, type ClusterAgent } from './cluster-procs.js'
import { table } from './sim.js'

interface Options {
  solo: number
  nodes: number
  staggerMs: number
  joins: number
  idleS: number
  nodeFlags: string[]
  cli: string | undefined
  portBase: number
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { solo: 5, nodes: 16, staggerMs: 80, joins: 1, idleS: 30, nodeFlags: [], cli: undefined, portBase: 29100 }
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number ≥ ${min}, got ${v ?? 'nothing'}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--solo') o.solo = num(a, argv[++i], 0)
    else if (a === '--nodes') o.nodes = num(a, argv[++i], 0)
    else if (a === '--stagger') o.staggerMs = num(a, argv[++i], 0)
    else if (a === '--joins') o.joins = num(a, argv[++i], 1)
    else if (a === '--idle') o.idleS = num(a, argv[++i], 0)
    else if (a === '--node-flags') o.nodeFlags = (argv[++i] ?? '').split(/\s+/).filter((f) => f !== '')
    else if (a === '--cli') o.cli = argv[++i]
    else if (a === '--port-base') o.portBase = num(a, argv[++i], 1024)
    else throw new Error(`unknown flag ${a}; flags: --solo K --nodes N --stagger MS --joins R --idle S --node-flags "FLAGS" --cli PATH --port-base P`)
  }
  if (o.nodes === 1) throw new Error('--nodes needs 0 (no cluster) or at least 2')
  return o
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]
}
const ms = (ticks: number): number => (ticks / clkTck()) * 1000

interface SoloFigures {
  cpuMs: number
  wallMs: number
  rssMb: number
}

/** CPU ticks of each agent read as soon as its "agent started" line arrives (polled every 10 ms). */
function watchStarts(agents: () => readonly ClusterAgent[], into: Map<ClusterAgent, number>): () => void {
  const timer = setInterval(() => {
    for (const a of agents()) {
      if (a.started && !into.has(a) && a.pid !== undefined) {
        const t = cpuTicks(a.pid)
        if (t !== undefined) into.set(a, t)
      }
    }
  }, 10)
  return () => clearInterval(timer)
}

async function stopAll(reg: ProcessRegistry, agents: readonly ClusterAgent[]): Promise<void> {
  for (const a of agents) if (a.pid !== undefined && a.running) process.kill(a.pid, 'SIGTERM')
  await pollUntil(() => agents.every((a) => !a.running), 10_000)
  await reg.killAll()
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const cli = o.cli ?? fileURLToPath(new URL('../src/cli/cli.js', import.meta.url))
  const reg = new ProcessRegistry()
  process.on('exit', () => reg.killAllNow())
  process.on('SIGINT', () => process.exit(130))
  const gossip = await freePortsIn(o.portBase, o.portBase + 999, Math.max(o.nodes, 1))
  const control = await freePortsIn(o.portBase + 1000, o.portBase + 1999, Math.max(o.nodes, 1))
  const loads: number[] = [os.loadavg()[0]]

  const solo: SoloFigures[] = []
  for (let r = 0; r < o.solo; r++) {
    const t0 = performance.now()
    const a = startGrapevine(reg, cli, 0, 'solo', { port: gossip[0], controlPort: control[0] }, undefined, undefined, [], o.nodeFlags)
    const starts = new Map<ClusterAgent, number>()
    const stop = watchStarts(() => [a], starts)
    const up = await pollUntil(() => starts.has(a) || !a.running, 30_000, 5)
    stop()
    if (!up || !starts.has(a)) throw new Error(`the agent did not start within 30 s:\n${a.logTail()}`)
    solo.push({ cpuMs: ms(starts.get(a)!), wallMs: a.startedAt! - t0, rssMb: (rssBytes(a.pid!) ?? NaN) / 2 ** 20 })
    await stopAll(reg, [a])
  }
  loads.push(os.loadavg()[0])

  const joins: Array<JoinFigures & { cpuToStartMs: number; cpuToJoinMs: number; upWallMs: { median: number; max: number }; loadAtStart: number }> = []
  let idle: { rssMb: { median: number; max: number }; cpuSecondsPerMinute: number; load: number } | undefined
  for (let j = 0; j < (o.nodes === 0 ? 0 : o.joins); j++) {
    const agents: ClusterAgent[] = []
    const spawnedAt: number[] = []
    const starts = new Map<ClusterAgent, number>()
    const stop = watchStarts(() => agents, starts)
    const loadAtStart = os.loadavg()[0]
    const start = (i: number): void => {
      const name = `gv-${String(i).padStart(2, '0')}`
      spawnedAt.push(performance.now())
      agents.push(startGrapevine(reg, cli, i, name, { port: gossip[i], controlPort: control[i] }, i === 0 ? undefined : gossip[0], undefined, [], o.nodeFlags))
    }
    start(0)
    if (!(await pollUntil(() => agents[0].started || !agents[0].running, 30_000, 10))) throw new Error(`the seed did not start:\n${agents[0].logTail()}`)
    let lastStartAt = performance.now()
    for (let i = 1; i < o.nodes; i++) {
      await sleep(o.staggerMs)
      start(i)
      lastStartAt = performance.now()
    }
    const limitMs = 60_000 + 3000 * o.nodes
    await pollUntil(() => agents.every((a) => !a.running || agents.every((b) => a.view.has(b.name))), limitMs, 50)
    stop()
    const dead = agents.find((a) => !a.running)
    if (dead !== undefined) throw new Error(`${dead.name} exited; its last lines:\n${dead.logTail()}`)
    const cpuNow = agents.map((a) => cpuTicks(a.pid!) ?? NaN)
    const f = joinFigures(agents, lastStartAt)
    const upWall = agents.map((a, i) => (a.startedAt ?? NaN) - spawnedAt[i])
    joins.push({ ...f, cpuToStartMs: ms(median(agents.map((a) => starts.get(a) ?? NaN))), cpuToJoinMs: ms(median(cpuNow)), upWallMs: { median: median(upWall), max: Math.max(...upWall) }, loadAtStart })
    console.log(`join ${j + 1}/${o.joins}: all see all ${f.allSeeAllS === null ? `NOT within ${limitMs / 1000} s` : `${f.allSeeAllS.toFixed(2)} s`} after the last start (last up ${f.lastUpS?.toFixed(2) ?? '?'} s), load ${loadAtStart.toFixed(1)}`)
    if (j === o.joins - 1 && o.idleS > 0) {
      const t0 = agents.map((a) => cpuTicks(a.pid!) ?? NaN)
      await sleep(o.idleS * 1000)
      const t1 = agents.map((a) => cpuTicks(a.pid!) ?? NaN)
      const rss = agents.map((a) => (rssBytes(a.pid!) ?? NaN) / 2 ** 20).sort((x, y) => x - y)
      const cpu = t1.map((t, i) => ((t - t0[i]) / clkTck() / o.idleS) * 60)
      idle = { rssMb: { median: median(rss), max: rss[rss.length - 1] }, cpuSecondsPerMinute: cpu.reduce((x, y) => x + y, 0) / cpu.length, load: os.loadavg()[0] }
    }
    await stopAll(reg, agents)
  }
  loads.push(os.loadavg()[0])

  const flags = o.nodeFlags.length === 0 ? '(none)' : o.nodeFlags.join(' ')
  console.log(`\n${cli}, node flags: ${flags}; load average ${loads.map((l) => l.toFixed(1)).join(' → ')}`)
  if (solo.length > 0) {
    console.log(`\n${o.solo} lone agents, spawn to "agent started":`)
    const row = (label: string, xs: number[], digits: number): string[] => [label, median(xs).toFixed(digits), Math.min(...xs).toFixed(digits), Math.max(...xs).toFixed(digits)]
    console.log(table(['figure', 'median', 'min', 'max'], [
      row('CPU ms', solo.map((s) => s.cpuMs), 0),
      row('wall ms', solo.map((s) => s.wallMs), 0),
      row('RSS MB at start', solo.map((s) => s.rssMb), 1),
    ]))
  }
  if (joins.length > 0) {
    console.log(`\n${o.nodes} agents started ${o.staggerMs} ms apart, each joining the first:`)
    console.log(table(['join', 'all see all s', 'per agent median s', 'last up s', 'after last up s', 'spawn to up s, median / max', 'CPU ms to up (median)', 'CPU ms to all-see-all', 'retries', 'load'], joins.map((f, i) => [
      String(i + 1), f.allSeeAllS?.toFixed(2) ?? 'no', f.perAgentMedianS?.toFixed(2) ?? '?', f.lastUpS?.toFixed(2) ?? '?', f.allSeeAllAfterUpS?.toFixed(2) ?? '?', `${(f.upWallMs.median / 1000).toFixed(2)} / ${(f.upWallMs.max / 1000).toFixed(2)}`, f.cpuToStartMs.toFixed(0), f.cpuToJoinMs.toFixed(0), String(f.joinRetries), f.loadAtStart.toFixed(1),
    ])))
  }
  if (idle !== undefined) console.log(`\nidle ${o.idleS} s after the last join: RSS MB median ${idle.rssMb.median.toFixed(1)} / max ${idle.rssMb.max.toFixed(1)}, CPU ${idle.cpuSecondsPerMinute.toFixed(3)} s/min per agent, load ${idle.load.toFixed(1)}`)
  const outDir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, `startup-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ options: o, loads, solo, joins, idle }, null, 2))
  console.log(`\nwritten ${file}`)
}

main().catch((e: unknown) => {
  console.error((e as Error).message)
  process.exitCode = 1
})
