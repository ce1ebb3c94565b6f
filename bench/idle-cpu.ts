/**
 * `npm run bench:idle-cpu`: what an idle agent costs in CPU, measured so that a loaded machine moves the
 * figure little — CPU time and retired instructions of each agent process, not wall time.
 *
 *   node dist/bench/idle-cpu.js [--nodes 8] [--window 60] [--warmup 20] [--serf] [--cpu-prof DIR]
 *                               [--perf-agents 2] [--port-base 27100]
 *
 * ```
 *   N Grapevine agents (and with --serf, N Serf agents), loopback, LAN profile, all joining agent 0
 *   ─▶ until every agent sees every other ─▶ --warmup s ─▶ window: /proc utime+stime of every agent,
 *      and `perf stat -e instructions:u` attached to the first --perf-agents agents of each system
 *   ─▶ RSS ─▶ agents stopped (SIGTERM; with --cpu-prof, agent 1 runs under V8's profiler, writes its
 *      profile into DIR and the bench prints the functions with the most self time within the window;
 *      that agent is left out of the CPU figures)
 * ```
 *
 * CPU time still rises somewhat on a loaded machine (cache and frequency effects), so every figure
 * goes out with the load average beside it; instructions are the steadier figure. Results: a table
 * on stdout and bench/results/idle-cpu-<timestamp>.json.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { commandWorks } from './cluster-net.js'
import { clkTck, cpuTicks, freePortsIn, pollUntil, ProcessRegistry, rssBytes, sleep, startGrapevine, startSerf, type ClusterAgent, type System } from './cluster-procs.js'
import { table } from './sim.js'

/** With --cpu-prof, the agent that runs under the profiler (not the seed: a typical member). */
const PROFILED = 1

interface Options {
  nodes: number
  windowS: number
  warmupS: number
  serf: boolean
  cpuProfDir: string | undefined
  perfAgents: number
  portBase: number
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { nodes: 8, windowS: 60, warmupS: 20, serf: false, cpuProfDir: undefined, perfAgents: 2, portBase: 27100 }
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v)
    if (!Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}, got ${v ?? 'nothing'}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--nodes') o.nodes = num(a, argv[++i], 2)
    else if (a === '--window') o.windowS = num(a, argv[++i], 5)
    else if (a === '--warmup') o.warmupS = num(a, argv[++i], 0)
    else if (a === '--serf') o.serf = true
    else if (a === '--cpu-prof') o.cpuProfDir = argv[++i]
    else if (a === '--perf-agents') o.perfAgents = num(a, argv[++i], 0)
    else if (a === '--port-base') o.portBase = num(a, argv[++i], 1024)
    else throw new Error(`unknown flag ${a}; flags: --nodes N --window S --warmup S --serf --cpu-prof DIR --perf-agents K --port-base P`)
  }
  if (o.cpuProfDir === '') throw new Error('--cpu-prof needs a directory')
  return o
}

/** Retired user-space instructions of `pid` over `seconds` (perf stat attached), or undefined. */
function perfInstructions(pid: number, seconds: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const p = spawn('perf', ['stat', '-x', ',', '-e', 'instructions:u', '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')))
    p.on('error', () => resolve(undefined))
    p.on('exit', () => {
      const line = err.split('\n').find((l) => l.includes('instructions'))
      const n = line === undefined ? NaN : Number(line.split(',')[0])
      resolve(Number.isFinite(n) ? n : undefined)
    })
  })
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

/** Microseconds of CLOCK_MONOTONIC, the clock V8 stamps its profile samples with. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * The functions with the most self time in a V8 .cpuprofile between two CLOCK_MONOTONIC instants (µs),
 * idle samples left out, as table rows (function, ms, % of the busy time).
 */
export function topSelf(profilePath: string, fromUs: number, toUs: number, count: number): string[][] {
  const prof = JSON.parse(readFileSync(profilePath, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let at = prof.startTime
  for (let i = 0; i < prof.samples.length; i++) {
    at += prof.timeDeltas[i] ?? 0
    if (at < fromUs || at > toUs) continue
    const n = byId.get(prof.samples[i])
    if (n === undefined || n.callFrame.functionName === '(idle)') continue
    const url = n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`
    self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i + 1] ?? 0))
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([k, us]) => [k.length > 90 ? k.slice(0, 87) + '...' : k, (us / 1000).toFixed(0), ((100 * us) / total).toFixed(1)])
}

interface SystemFigures {
  agents: number
  cpuSecondsPerMinute: { mean: number; min: number; max: number }
  instructionsPerSecond: number[]
  rssMb: { median: number; max: number }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const cli = fileURLToPath(new URL('../src/cli/cli.js', import.meta.url))
  const reg = new ProcessRegistry()
  process.on('exit', () => reg.killAllNow())
  process.on('SIGINT', () => process.exit(130))
  const systems: System[] = o.serf ? ['grapevine', 'serf'] : ['grapevine']
  const agents: Record<System, ClusterAgent[]> = { grapevine: [], serf: [] }
  let base = o.portBase
  for (const s of systems) {
    const gossip = await freePortsIn(base, base + 999, o.nodes)
    const control = await freePortsIn(base + 1000, base + 1999, o.nodes)
    base += 2000
    for (let i = 0; i < o.nodes; i++) {
      const name = `${s === 'grapevine' ? 'gv' : 'sf'}-${String(i).padStart(2, '0')}`
      const addr = { port: gossip[i], controlPort: control[i] }
      const seed = i === 0 ? undefined : gossip[0]
      if (s === 'serf') agents.serf.push(startSerf(reg, i, name, addr, seed))
      else {
        const nodeFlags = i === PROFILED && o.cpuProfDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []
        agents.grapevine.push(startGrapevine(reg, cli, i, name, addr, seed, undefined, [], nodeFlags))
      }
      if (i === 0) await pollUntil(() => agents[s][0].started, 30_000)
    }
  }
  const all = (): ClusterAgent[] => systems.flatMap((s) => agents[s])
  const seesAll = (s: System): boolean => agents[s].every((a) => agents[s].every((b) => a.view.has(b.name)))
  const joined = await pollUntil(() => systems.every(seesAll), 60_000 + 3000 * o.nodes, 200)
  const dead = all().find((a) => !a.running)
  if (dead !== undefined) throw new Error(`${dead.name} exited; its last lines:\n${dead.logTail()}`)
  if (!joined) throw new Error('the agents did not all see each other within the limit')
  console.log(`joined; warm-up ${o.warmupS} s`)
  await sleep(o.warmupS * 1000)

  const loadBefore = os.loadavg()[0]
  const windowFromUs = monotonicUs()
  const perfOk = o.perfAgents > 0 && commandWorks('perf', ['--version'])
  const ticks0 = new Map(all().map((a) => [a, cpuTicks(a.pid!) ?? NaN]))
  const perfRuns = new Map<ClusterAgent, Promise<number | undefined>>()
  if (perfOk) for (const s of systems) for (const a of agents[s].slice(0, o.perfAgents)) perfRuns.set(a, perfInstructions(a.pid!, o.windowS))
  await sleep(o.windowS * 1000)
  const ticks1 = new Map(all().map((a) => [a, cpuTicks(a.pid!) ?? NaN]))
  const windowToUs = monotonicUs()
  const loadAfter = os.loadavg()[0]
  const figures = {} as Record<System, SystemFigures>
  for (const s of systems) {
    // The profiled agent pays for its sampling: it is left out of the CPU figures.
    const measured = agents[s].filter((a) => !(s === 'grapevine' && a.index === PROFILED && o.cpuProfDir !== undefined))
    const cpu = measured.map((a) => ((ticks1.get(a)! - ticks0.get(a)!) / clkTck() / o.windowS) * 60)
    const rss = measured.map((a) => (rssBytes(a.pid!) ?? NaN) / 2 ** 20).sort((a, b) => a - b)
    const instr: number[] = []
    for (const a of agents[s]) {
      const p = perfRuns.get(a)
      if (p === undefined) continue
      const n = await p
      if (n !== undefined) instr.push(n / o.windowS)
    }
    figures[s] = {
      agents: measured.length,
      cpuSecondsPerMinute: { mean: cpu.reduce((x, y) => x + y, 0) / cpu.length, min: Math.min(...cpu), max: Math.max(...cpu) },
      instructionsPerSecond: instr,
      rssMb: { median: rss[Math.floor(rss.length / 2)], max: rss[rss.length - 1] },
    }
  }

  // Stop gracefully so that a profiled agent writes its profile.
  for (const a of all()) if (a.pid !== undefined) process.kill(a.pid, 'SIGTERM')
  await pollUntil(() => all().every((a) => !a.running), 15_000)
  await reg.killAll()

  const rows = systems.map((s) => {
    const f = figures[s]
    const instr = f.instructionsPerSecond.length === 0 ? 'n/a' : f.instructionsPerSecond.map((n) => (n / 1e6).toFixed(1)).join(' / ')
    return [s, String(f.agents), f.cpuSecondsPerMinute.mean.toFixed(3), `${f.cpuSecondsPerMinute.min.toFixed(3)}–${f.cpuSecondsPerMinute.max.toFixed(3)}`, instr, `${f.rssMb.median.toFixed(1)} / ${f.rssMb.max.toFixed(1)}`]
  })
  console.log(`\nidle window ${o.windowS} s after ${o.warmupS} s of warm-up; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`)
  console.log(table(['system', 'agents', 'CPU s/min, mean', 'min–max', 'M instructions/s (perf, first agents)', 'RSS MB median / max'], rows))
  let profile: string[][] | undefined
  if (o.cpuProfDir !== undefined) {
    const files = readdirSync(o.cpuProfDir).filter((f) => f.endsWith('.cpuprofile')).sort()
    if (files.length > 0) {
      profile = topSelf(join(o.cpuProfDir, files[files.length - 1]), windowFromUs, windowToUs, 30)
      console.log(`\nagent ${PROFILED}'s profile over the window (${files[files.length - 1]}), self time, idle left out:`)
      console.log(table(['function', 'ms', '%'], profile))
    }
  }
  const outDir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, `idle-cpu-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ options: o, load: [loadBefore, loadAfter], figures, profile }, null, 2))
  console.log(`\nwritten ${file}`)
}

main().catch((e: unknown) => {
  console.error((e as Error).message)
  process.exitCode = 1
})
