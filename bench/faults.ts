/**
 * `npm run bench:faults`: N Grapevine agents and N Serf agents on real sockets, in network namespaces the
 * bench creates and deletes (bench/faults-net.ts), under the same faults at the same time, compared side
 * by side in one run.
 *
 *   node dist/bench/faults.js [--nodes 32] [--loss 10,25] [--loss-duration 180] [--partition 60]
 *                             [--stop 20] [--baseline 30] [--recovery-limit 120] [--events-every 5]
 *
 * ```
 *   start both clusters ─▶ every agent sees all ─▶ baseline (no fault)
 *     ─▶ for each loss P: drop P % of gossip packets ─▶ heal ─▶ until all see all again
 *     ─▶ partition into halves A | B ─▶ heal ─▶ until all see all again
 *     ─▶ SIGSTOP one agent of each system ─▶ SIGCONT ─▶ until all see all again
 * ```
 *
 * Per phase and system, from the agents' own log lines (stamped when they reach the bench):
 * - suspicions raised by own probe: Serf logs a line for every failed probe of a member ("Suspect X has
 *   failed"), even one it already suspects; Grapevine logs each new suspicion with its accuser, and those
 *   whose accuser is the agent itself count here — so Serf's count can be higher for the same events;
 * - false failures: a member declared failed that was running all along (in the stop phase, the stopped
 *   agent's failure is a true one and not counted), with who declared it and how long until that agent
 *   saw it alive again; in the partition phase failures across the cut are expected and counted apart;
 * - recovery: from the end of the fault until every running agent sees every agent alive;
 * - calm healing: the fewest members any agent sees alive after the fault ends, against just before;
 * - user events: one every --events-every s from the seed during each loss phase, unique names, no
 *   coalescing; the fraction of (agent, event) pairs delivered by the end of the recovery;
 * - crashes: agents that exited on their own.
 * Results: a table with Grapevine/Serf ratios on stdout, bench/results/faults-<timestamp>.json.
 * Needs root (namespaces, nftables), `serf` and `nft` (bench/cluster-setup.sh installs them).
 */
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { ClusterAgent, pollUntil, ProcessRegistry, sleep, startGrapevine, startSerf, SYSTEMS, type System } from './cluster-procs.js'
import { reexecInside, type PortRange } from './cluster-net.js'
import { ADDRESS_A, ADDRESS_B, createPair, deletePair, nftWorks, pairPids, setFaults, type NamespacePair } from './faults-net.js'
import { table } from './sim.js'

interface Options {
  nodes: number
  losses: number[]
  lossS: number
  partitionS: number
  stopS: number
  baselineS: number
  recoveryLimitS: number
  eventsEveryS: number
  staggerMs: number
}

const DEFAULTS: Options = { nodes: 32, losses: [10, 25], lossS: 180, partitionS: 60, stopS: 20, baselineS: 30, recoveryLimitS: 120, eventsEveryS: 5, staggerMs: 100 }

const NUMBER_FLAGS: Record<string, { key: Exclude<keyof Options, 'losses'>; min: number; max: number; help: string }> = {
  '--nodes': { key: 'nodes', min: 4, max: 128, help: 'agents per system, split in two halves' },
  '--loss-duration': { key: 'lossS', min: 5, max: 3600, help: 'seconds of each loss phase' },
  '--partition': { key: 'partitionS', min: 0, max: 3600, help: 'seconds of the partition (0: none)' },
  '--stop': { key: 'stopS', min: 0, max: 600, help: 'seconds one agent of each system is SIGSTOPped (0: none)' },
  '--baseline': { key: 'baselineS', min: 0, max: 3600, help: 'seconds without faults first' },
  '--recovery-limit': { key: 'recoveryLimitS', min: 10, max: 3600, help: 'seconds to wait after a fault for every agent to see all' },
  '--events-every': { key: 'eventsEveryS', min: 1, max: 600, help: 'seconds between user events during loss' },
  '--stagger': { key: 'staggerMs', min: 0, max: 5000, help: 'milliseconds between agent starts' },
}

class UsageError extends Error {}

function usage(): string {
  const lines = ['usage: node dist/bench/faults.js [options]   (as root)', '']
  lines.push(`  ${'--loss <p,p>'.padEnd(22)} loss percentages, one phase each (default ${DEFAULTS.losses.join(',')}; integers 1-100)`)
  for (const [flag, f] of Object.entries(NUMBER_FLAGS)) lines.push(`  ${`${flag} <n>`.padEnd(22)} ${f.help} (default ${DEFAULTS[f.key]})`)
  return lines.join('\n')
}

function parseArgs(argv: readonly string[]): { opts: Options; inner?: NamespacePair; help: boolean } {
  const opts: Options = { ...DEFAULTS, losses: [...DEFAULTS.losses] }
  let inner: NamespacePair | undefined
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const value = (): string => {
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1)
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${flag} needs a value`)
      return v
    }
    if (flag === '--help' || flag === '-h') help = true
    else if (flag === '--inner') {
      const [a, b] = value().split(',')
      inner = { a, b }
    } else if (flag === '--loss') {
      const raw = value()
      const ps = raw.split(',').map((x) => Number(x.trim()))
      if (raw.trim() === '' || ps.some((p) => !Number.isInteger(p) || p < 0 || p > 100)) throw new UsageError(`--loss ${JSON.stringify(raw)}: expected integer percentages 0-100 separated by commas, like 10,25`)
      opts.losses = ps.filter((p) => p > 0)
    } else if (flag in NUMBER_FLAGS) {
      const f = NUMBER_FLAGS[flag]
      const raw = value()
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n) || n < f.min || n > f.max) throw new UsageError(`${flag} ${JSON.stringify(raw)}: expected a number from ${f.min} to ${f.max}`)
      opts[f.key] = n
    } else throw new UsageError(`unknown option ${JSON.stringify(arg)}`)
  }
  return { opts, inner, help }
}

// ------------------------------------------------------------------ figures

interface FalseFailure {
  observer: string
  member: string
  atS: number
  /** Seconds until the observer saw the member alive again; null if not by the end of the phase. */
  forS: number | null
}

interface PhaseFigures {
  accusations: number
  /** Grapevine: every suspicion an agent heard (own or gossiped); Serf does not log gossiped ones. */
  suspicionsHeard: number
  falseFailures: FalseFailure[]
  /** Distinct healthy members some agent declared failed. */
  membersFalselyFailed: number
  /** The longest any of those declarations lasted, in seconds (one still standing at the phase's end counts until then). */
  longestFalseFailureS: number | null
  /** Partition only: failures of members on the other side of the cut (expected). */
  failuresAcrossCut: number
  recoveryS: number | null
  aliveMinBeforeEnd: number
  aliveMinAfterEnd: number
  /** Events the origin agent accepted (its API answered OK), the ones it refused or did not answer in 5 s, and
   * the fraction of (accepted event, running agent) pairs delivered. */
  userEvents: { sent: number; notAccepted: number; notAcceptedWhy: string[]; deliveredFraction: number | null; missed: string[]; notAcceptedYetSeen: string[] }
  crashes: string[]
}

interface Phase {
  name: string
  startS: number
  endS: number
  /** The bench process's own longest event-loop stall in the phase (ms): a user event call that "did not
   * answer in 5 s" while this is near 5000 timed out in the bench, not in the agent. */
  benchLoopDelayMaxMs: number
  figures: Record<System, PhaseFigures>
}

const GOSSIP_RANGES: Record<System, PortRange> = { grapevine: { from: 17000, to: 17999 }, serf: { from: 27000, to: 27999 } }
const CONTROL_BASE: Record<System, number> = { grapevine: 18000, serf: 28000 }
const PREFIX: Record<System, string> = { grapevine: 'gv', serf: 'serf' }
/** The agents' HTTP API listens on the namespaces' addresses, off loopback, so it takes a token. */
const HTTP_TOKEN = `bench-${process.pid}`

function log(line: string): void {
  process.stderr.write(`[bench:faults ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

/** Sends one user event through the agent's API; null when accepted, else why not (status and body, or the error). */
function sendUserEvent(agent: ClusterAgent, host: string, name: string): Promise<string | null> {
  const started = performance.now()
  const took = (): string => `after ${((performance.now() - started) / 1000).toFixed(1)} s`
  if (agent.system === 'grapevine') {
    return fetch(`http://${host}:${agent.controlPort}/v1/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${HTTP_TOKEN}` },
      body: JSON.stringify({ name, payload: 'x', coalesce: false }),
      signal: AbortSignal.timeout(5000),
    }).then(
      async (r) => (r.ok ? null : `HTTP ${r.status} ${took()}: ${(await r.text().catch(() => '')).slice(0, 200)}`),
      (e: unknown) => `${e instanceof Error ? e.name : 'error'} ${took()}: ${e instanceof Error ? e.message : String(e)}`,
    )
  }
  return new Promise((resolve) => {
    execFile('serf', ['event', '-coalesce=false', `-rpc-addr=${host}:${agent.controlPort}`, name, 'x'], { timeout: 5000 }, (err, _out, stderr) =>
      resolve(err === null ? null : `${err.killed ? 'timed out' : `exit ${err.code}`} ${took()}: ${String(stderr).trim().slice(0, 200)}`),
    )
  })
}

async function runBench(opts: Options, pair: NamespacePair): Promise<void> {
  const reg = new ProcessRegistry()
  const onExit = (): void => reg.killAllNow()
  process.on('exit', onExit)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping every agent`)
      onExit()
      process.exit(130)
    })
  }
  const N = opts.nodes
  const half = Math.ceil(N / 2)
  const hostOf = (i: number): string => (i < half ? ADDRESS_A : ADDRESS_B)
  const cli = fileURLToPath(new URL('../src/cli/cli.js', import.meta.url))
  const gossip = Object.values(GOSSIP_RANGES)
  setFaults(pair, { lossPercent: 0, partition: false }, gossip)

  const agents: Record<System, ClusterAgent[]> = { grapevine: [], serf: [] }
  const all = (): ClusterAgent[] => [...agents.grapevine, ...agents.serf]
  const stopped = new Set<ClusterAgent>()
  const checkAlive = (): void => {
    const dead = all().find((a) => !a.running)
    if (dead !== undefined) throw new Error(`${dead.name} exited while the clusters formed (code ${dead.exit?.code}, signal ${dead.exit?.signal}); its last lines:\n${dead.logTail()}`)
  }
  const t0 = performance.now()
  const sinceS = (at: number): number => (at - t0) / 1000

  log(`starting ${N} Grapevine and ${N} Serf agents: ${half} in ${pair.a} (${ADDRESS_A}), ${N - half} in ${pair.b} (${ADDRESS_B})`)
  for (let i = 0; i < N; i++) {
    for (const s of SYSTEMS) {
      const name = `${PREFIX[s]}-${String(i).padStart(2, '0')}`
      const addr = { port: GOSSIP_RANGES[s].from + 1 + i, controlPort: CONTROL_BASE[s] + 1 + i, host: hostOf(i), netns: i < half ? pair.a : pair.b, seedHost: ADDRESS_A }
      const seed = i === 0 ? undefined : GOSSIP_RANGES[s].from + 1
      agents[s].push(s === 'grapevine' ? startGrapevine(reg, cli, i, name, addr, seed, undefined, ['--http-token', HTTP_TOKEN]) : startSerf(reg, i, name, addr, seed))
    }
    if (i === 0) {
      const up = await pollUntil(() => all().every((a) => a.started || !a.running), 30_000)
      checkAlive()
      if (!up) throw new Error(`a seed did not start within 30 s:\n${all().map((a) => `${a.name}: ${a.logTail()}`).join('\n')}`)
    }
    await sleep(opts.staggerMs)
  }
  const seesAll = (s: System): boolean => agents[s].every((a) => !a.running || stopped.has(a) || a.view.size >= N)
  const converged = await pollUntil(() => {
    checkAlive()
    return seesAll('grapevine') && seesAll('serf')
  }, (60 + 3 * N) * 1000, 250)
  for (const s of SYSTEMS) log(`${s}: ${seesAll(s) ? 'every agent sees all' : `NOT converged (views ${agents[s].map((a) => a.view.size).join(',')})`}`)
  if (!converged) throw new Error('the clusters did not converge; nothing to measure')

  // Alive-view sizes, sampled twice a second, for calm healing.
  const samples: Array<{ at: number; min: Record<System, number> }> = []
  const sampler = setInterval(() => {
    const min = {} as Record<System, number>
    for (const s of SYSTEMS) min[s] = Math.min(...agents[s].filter((a) => a.running && !stopped.has(a)).map((a) => a.view.size))
    samples.push({ at: performance.now(), min })
  }, 500)

  const phases: Phase[] = []
  const victims = { grapevine: agents.grapevine[N - 1], serf: agents.serf[N - 1] }

  /** Runs one fault from now for `seconds`, heals it, waits for recovery, and measures. */
  const phase = async (name: string, seconds: number, apply: () => void, heal: () => void, opt: { events?: boolean; cut?: boolean; victim?: boolean } = {}): Promise<void> => {
    const start = performance.now()
    const loopDelay = monitorEventLoopDelay({ resolution: 20 })
    loopDelay.enable()
    log(`${name}: ${seconds} s`)
    apply()
    const attempted: string[] = []
    const accepted: Record<System, string[]> = { grapevine: [], serf: [] }
    const refused: Record<System, string[]> = { grapevine: [], serf: [] }
    const sends: Array<Promise<void>> = []
    const end = start + seconds * 1000
    let nextEvent = start + opts.eventsEveryS * 1000
    while (performance.now() < end) {
      if (opt.events === true && performance.now() >= nextEvent) {
        nextEvent += opts.eventsEveryS * 1000
        const ev = `${name.replace(/[^a-z0-9]/gi, '')}-${attempted.length}`
        attempted.push(ev)
        for (const s of SYSTEMS) sends.push(sendUserEvent(agents[s][0], ADDRESS_A, ev).then((why) => void (why === null ? accepted[s].push(ev) : refused[s].push(`${ev}: ${why}`))))
      }
      await sleep(Math.min(250, Math.max(0, end - performance.now())))
    }
    const healedAt = performance.now()
    heal()
    await Promise.all(sends)
    const recovered: Record<System, number | null> = { grapevine: null, serf: null }
    await pollUntil(() => {
      for (const s of SYSTEMS) if (recovered[s] === null && seesAll(s)) recovered[s] = performance.now()
      return recovered.grapevine !== null && recovered.serf !== null
    }, opts.recoveryLimitS * 1000, 100)
    // Late deliveries and refutations: a few seconds more before counting.
    await sleep(5000)
    const done = performance.now()
    const figures = {} as Record<System, PhaseFigures>
    for (const s of SYSTEMS) {
      const victim = opt.victim === true ? victims[s].name : undefined
      const accusations = agents[s].reduce((n, a) => n + a.events.filter((e) => e.kind === 'suspect' && e.by === a.name && e.at >= start && e.at < done).length, 0)
      const heard = agents[s].reduce((n, a) => n + a.events.filter((e) => e.kind === 'suspect' && e.at >= start && e.at < done).length, 0)
      const falseFailures: FalseFailure[] = []
      let acrossCut = 0
      for (const a of agents[s]) {
        for (const e of a.events) {
          if (e.kind !== 'failed' || e.at < start || e.at >= done || e.member === victim) continue
          const other = agents[s].find((x) => x.name === e.member)
          if (opt.cut === true && other !== undefined && (other.index < half) !== (a.index < half) && e.at < healedAt) {
            acrossCut++
            continue
          }
          const back = a.events.find((x) => x.member === e.member && (x.kind === 'join' || x.kind === 'alive') && x.at > e.at)
          falseFailures.push({ observer: a.name, member: e.member, atS: (e.at - start) / 1000, forS: back === undefined ? null : (back.at - e.at) / 1000 })
        }
      }
      const before = samples.filter((x) => x.at >= healedAt - 2000 && x.at < healedAt).map((x) => x.min[s])
      const after = samples.filter((x) => x.at >= healedAt && x.at < done).map((x) => x.min[s])
      const running = agents[s].filter((a) => a.running)
      const sent = accepted[s]
      const delivered = sent.length === 0 ? null : running.reduce((n, a) => n + sent.filter((ev) => a.userEvents.has(ev)).length, 0) / (sent.length * running.length)
      figures[s] = {
        accusations,
        suspicionsHeard: heard,
        falseFailures,
        membersFalselyFailed: new Set(falseFailures.map((f) => f.member)).size,
        longestFalseFailureS: falseFailures.length === 0 ? null : Math.max(...falseFailures.map((f) => f.forS ?? (done - start) / 1000 - f.atS)),
        failuresAcrossCut: acrossCut,
        recoveryS: recovered[s] === null ? null : (recovered[s]! - healedAt) / 1000,
        aliveMinBeforeEnd: before.length === 0 ? N : Math.min(...before),
        aliveMinAfterEnd: after.length === 0 ? N : Math.min(...after),
        userEvents: {
          sent: sent.length,
          notAccepted: attempted.length - sent.length,
          notAcceptedWhy: refused[s],
          deliveredFraction: delivered,
          missed: sent.flatMap((ev) => running.filter((a) => !a.userEvents.has(ev)).map((a) => `${ev} at ${a.name}`)),
          // An event the origin's API did not confirm but that agents logged anyway: the call was slow or
          // failed after the agent took the event; none seen anywhere: it never entered the cluster.
          // (In notAcceptedWhy's order: each reason starts with the event's name and a colon.)
          notAcceptedYetSeen: refused[s].map((why) => why.slice(0, why.indexOf(':'))).map((ev) => `${ev} seen by ${running.filter((a) => a.userEvents.has(ev)).length} of ${running.length}`),
        },
        crashes: agents[s].filter((a) => !a.running && !a.killedByBench).map((a) => `${a.name} (code ${a.exit?.code}, signal ${a.exit?.signal})`),
      }
      const f = figures[s]
      log(`  ${s}: accusations ${f.accusations}, false failures ${f.falseFailures.length} (${f.membersFalselyFailed} members), recovery ${f.recoveryS?.toFixed(1) ?? 'not within the limit'} s, alive min ${f.aliveMinBeforeEnd}→${f.aliveMinAfterEnd}`)
    }
    loopDelay.disable()
    phases.push({ name, startS: sinceS(start), endS: sinceS(done), benchLoopDelayMaxMs: Math.round(loopDelay.max / 1e6), figures })
  }

  const none = (): void => setFaults(pair, { lossPercent: 0, partition: false }, gossip)
  try {
    if (opts.baselineS > 0) await phase('baseline', opts.baselineS, none, none, { events: true })
    for (const p of opts.losses) await phase(`loss ${p} %`, opts.lossS, () => setFaults(pair, { lossPercent: p, partition: false }, gossip), none, { events: true })
    if (opts.partitionS > 0) await phase('partition', opts.partitionS, () => setFaults(pair, { lossPercent: 0, partition: true }, gossip), none, { cut: true })
    if (opts.stopS > 0) {
      const signal = (sig: NodeJS.Signals): void => {
        for (const s of SYSTEMS) {
          const v = victims[s]
          if (v.pid !== undefined && v.running) process.kill(v.pid, sig)
          if (sig === 'SIGSTOP') stopped.add(v)
          else stopped.delete(v)
        }
      }
      await phase(`SIGSTOP ${opts.stopS} s`, opts.stopS, () => signal('SIGSTOP'), () => signal('SIGCONT'), { victim: true })
    }
  } finally {
    clearInterval(sampler)
    none()
  }
  await reg.killAll()
  report(opts, phases)
}

function report(opts: Options, phases: readonly Phase[]): void {
  const rows: string[][] = []
  const fmt = (x: number | null, d: number): string => (x === null ? '–' : x.toFixed(d))
  const ratio = (g: number | null, s: number | null): string => (g === null || s === null ? '–' : s === 0 ? (g === 0 ? '1.00' : '∞') : (g / s).toFixed(2))
  for (const p of phases) {
    const g = p.figures.grapevine
    const s = p.figures.serf
    const add = (what: string, gv: number | null, sv: number | null, d = 0): void => void rows.push([p.name, what, fmt(gv, d), fmt(sv, d), ratio(gv, sv)])
    add('suspicions raised by own probe', g.accusations, s.accusations)
    add('healthy members declared failed', g.falseFailures.length, s.falseFailures.length)
    add('  distinct members', g.membersFalselyFailed, s.membersFalselyFailed)
    if (g.longestFalseFailureS !== null || s.longestFalseFailureS !== null) add('  longest held failed (s)', g.longestFalseFailureS, s.longestFalseFailureS, 1)
    if (p.name === 'partition') add('failures across the cut (expected)', g.failuresAcrossCut, s.failuresAcrossCut)
    add('recovery: all see all (s)', g.recoveryS, s.recoveryS, 1)
    add('fewest alive seen, 2 s before the end', g.aliveMinBeforeEnd, s.aliveMinBeforeEnd)
    add('fewest alive seen after the end', g.aliveMinAfterEnd, s.aliveMinAfterEnd)
    if (g.userEvents.notAccepted + s.userEvents.notAccepted > 0) add('user events the origin did not accept', g.userEvents.notAccepted, s.userEvents.notAccepted)
    if (g.userEvents.sent > 0) add('user events delivered (%)', g.userEvents.deliveredFraction === null ? null : 100 * g.userEvents.deliveredFraction, s.userEvents.deliveredFraction === null ? null : 100 * s.userEvents.deliveredFraction, 1)
    add('crashes', g.crashes.length, s.crashes.length)
  }
  console.log(`\nbench:faults: ${opts.nodes} Grapevine and ${opts.nodes} Serf agents, the same faults at the same time (G/S = Grapevine ÷ Serf)\n`)
  console.log(table(['phase', 'figure', 'Grapevine', 'Serf', 'G/S'], rows))
  const who: string[] = []
  for (const p of phases) {
    for (const sys of SYSTEMS) {
      for (const f of p.figures[sys].falseFailures) who.push(`  ${p.name}, ${sys}: ${f.observer} declared ${f.member} failed at +${f.atS.toFixed(1)} s, ${f.forS === null ? 'still failed at the phase\'s end' : `alive again ${f.forS.toFixed(1)} s later`}`)
    }
  }
  for (const p of phases) {
    for (const sys of SYSTEMS) {
      const u = p.figures[sys].userEvents
      for (const [i, why] of u.notAcceptedWhy.entries()) who.push(`  ${p.name}, ${sys}: user event ${why} (${u.notAcceptedYetSeen[i] ?? '?'}; the bench's longest stall in the phase ${p.benchLoopDelayMaxMs} ms)`)
    }
  }
  if (who.length > 0) console.log(`\nhealthy members declared failed (by whom, for how long) and user events the origin did not accept:\n${who.slice(0, 40).join('\n')}${who.length > 40 ? `\n  … ${who.length - 40} more in the JSON` : ''}`)
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const name = `faults-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
  writeFileSync(`${dir}${name}`, JSON.stringify({ options: opts, machine: { cpus: os.cpus().length, loadavg: os.loadavg() }, phases }, null, 2))
  console.log(`\nresults written to bench/results/${name}`)
}

/** Re-runs this file inside namespace A; deletes both namespaces (and anything left in them) at the end. */
function runInPair(argv: readonly string[], pair: NamespacePair): Promise<number> {
  return reexecInside(pair.a, fileURLToPath(import.meta.url), ['--inner', `${pair.a},${pair.b}`, ...argv], () => pairPids(pair), () => deletePair(pair))
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    console.error(`bench:faults: ${e.message} (--help lists the options)`)
    return 2
  }
  if (parsed.help) {
    console.log(usage())
    return 0
  }
  if (parsed.inner !== undefined) {
    await runBench(parsed.opts, parsed.inner)
    return 0
  }
  if (process.getuid?.() !== 0) {
    console.error('bench:faults: needs root, to create network namespaces and nftables rules (run it as root)')
    return 2
  }
  if (!nftWorks()) {
    console.error('bench:faults: nft and ip are needed (bench/cluster-setup.sh installs nftables and iproute2)')
    return 2
  }
  const made = createPair(`gvf${process.pid}`)
  if ('error' in made) {
    console.error(`bench:faults: could not build the network: ${made.error}`)
    return 1
  }
  return runInPair(argv, made.pair)
}

try {
  process.exitCode = await main()
} catch (e) {
  console.error(`bench:faults failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  // Exiting runs the handler that stops every agent this copy started.
  process.exit(1)
}
