/**
 * `npm run bench:cluster`: a cluster of Grapevine agents and, at the same time, a cluster of Serf agents,
 * each agent a process on loopback with the LAN profile, compared side by side in one run (the machine is
 * shared and noisy, so the ratios Grapevine/Serf are the figures to read).
 *
 *   node dist/bench/cluster.js [--nodes 32] [--joins 1] [--stagger 80] [--window 60] [--warmup 20]
 *                              [--loss 25] [--loss-window 60] [--kills 10] [--kill-timeout 60]
 *                              [--settle 5] [--membership-only] [--no-netns]
 *
 * ```
 *   joins × (start agent i of each system together, every --stagger ms ─▶ until every agent sees all
 *            ─▶ join time from the last start; all killed and started again unless it was the last)
 *   ─▶ warm-up ─▶ idle window ─▶ --loss % of gossip packets dropped (nftables input hook, UDP and TCP)
 *   ─▶ 10 s for the loss to bite ─▶ loss window ─▶ loss removed, until all see all ─▶ kill rounds
 * ```
 *
 * As root the bench re-executes itself inside a network namespace of its own (`ip netns`, named
 * `<--netns-prefix>-<pid>`), where an nftables table counts the UDP and TCP packets and bytes each
 * system's agents send (told apart by port range); the namespace is deleted at the end, on errors and on
 * SIGINT too. Figures, per system:
 * - join: seconds from the last agent's start until every agent has logged every other alive (each
 *   agent's log replayed; bench/cluster-measure.ts); with --joins R, the median and the worst of R.
 * - packets/s and bytes/s per node: counted over a window, divided by the window and the running agents;
 *   whole IP packets, headers included. In the loss window these are what the agents sent, dropped or not.
 * - CPU s per node per minute: utime + stime from /proc/PID/stat over the window, mean over agents.
 * - RSS: VmRSS from /proc/PID/status at the end of the idle window, median and max over agents.
 * - detection: each round SIGKILLs one agent of each cluster (never the seed); time from the kill until
 *   the first and until the last surviving agent logs the victim failed (Grapevine: JSON line with event
 *   "failed"; Serf: "EventMemberFailed"), stamped when the line reaches the bench. Victims are not
 *   restarted, so the clusters shrink. A round that does not complete within --kill-timeout is a miss.
 * The machine's 1-minute load average is printed beside each window. Results: a table on stdout and
 * bench/results/cluster-<timestamp>.json.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { commandWorks, createNetns, deleteNetns, netnsPids, NftCounters, reexecInside, type PortRange } from './cluster-net.js'
import { freePortsIn, healthScore, pollUntil, ProcessRegistry, sleep, startGrapevine, startSerf, SYSTEMS, type ClusterAgent, type System } from './cluster-procs.js'
import { joinFigures, mean, measureWindow, type JoinFigures, type WindowFigures } from './cluster-measure.js'
import { censoredMedianS, reportRows, type HealthFigures, type KillRecord, type SystemResult } from './cluster-report.js'
import { setLossHere } from './faults-net.js'
import { table } from './sim.js'

// ------------------------------------------------------------------ options

interface Options {
  nodes: number
  joins: number
  lossPercent: number
  lossWindowS: number
  kills: number
  windowS: number
  warmupS: number
  killTimeoutS: number
  settleS: number
  staggerMs: number
  netns: boolean
  /** Grapevine agents without their state rounds and broadcast repair: SWIM + Serf's layer only, like Serf. */
  membershipOnly: boolean
  netnsPrefix: string
}

interface NumberFlag {
  readonly key: Exclude<keyof Options, 'netns' | 'membershipOnly' | 'netnsPrefix'>
  readonly min: number
  readonly max: number
  readonly integer: boolean
  readonly help: string
}

const NUMBER_FLAGS: Record<string, NumberFlag> = {
  '--nodes': { key: 'nodes', min: 3, max: 200, integer: true, help: 'agents per system' },
  '--joins': { key: 'joins', min: 1, max: 50, integer: true, help: 'times both clusters are formed from nothing (join time: median and worst)' },
  '--window': { key: 'windowS', min: 5, max: 3600, integer: false, help: 'idle window in seconds (packets, bytes, CPU)' },
  '--loss': { key: 'lossPercent', min: 0, max: 90, integer: true, help: 'percent of gossip packets dropped in the loss window (0: no loss window)' },
  '--loss-window': { key: 'lossWindowS', min: 5, max: 3600, integer: false, help: 'loss window in seconds (packets, bytes, CPU, false failures)' },
  '--kills': { key: 'kills', min: 0, max: 197, integer: true, help: 'SIGKILL rounds (one victim per system each), at most nodes - 2' },
  '--warmup': { key: 'warmupS', min: 0, max: 600, integer: false, help: 'unmeasured seconds between convergence and the window' },
  '--kill-timeout': { key: 'killTimeoutS', min: 5, max: 600, integer: false, help: 'seconds a kill may take to be seen by all before it counts as a miss' },
  '--settle': { key: 'settleS', min: 0, max: 120, integer: false, help: 'seconds between kill rounds' },
  '--stagger': { key: 'staggerMs', min: 0, max: 5000, integer: true, help: 'milliseconds between agent starts' },
}

const DEFAULTS: Options = {
  nodes: 32,
  joins: 1,
  lossPercent: 25,
  lossWindowS: 60,
  kills: 10,
  windowS: 60,
  warmupS: 20,
  killTimeoutS: 60,
  settleS: 5,
  staggerMs: 80,
  netns: true,
  membershipOnly: false,
  netnsPrefix: 'gvbench',
}

function usage(): string {
  const lines = ['usage: node dist/bench/cluster.js [options]', '']
  for (const [flag, f] of Object.entries(NUMBER_FLAGS)) lines.push(`  ${`${flag} <n>`.padEnd(20)} ${f.help} (default ${DEFAULTS[f.key]})`)
  lines.push(`  ${'--no-netns'.padEnd(20)} run in the current network namespace (byte counters then see only the agents' port ranges)`)
  lines.push(`  ${'--membership-only'.padEnd(20)} Grapevine agents without cluster-state rounds and broadcast repair (what Serf does)`)
  lines.push(`  ${'--netns-prefix <p>'.padEnd(20)} name of the bench's network namespace, before -<pid> (default ${DEFAULTS.netnsPrefix})`)
  return lines.join('\n')
}

class UsageError extends Error {}

/** Parses the public flags; `--inner` and `--netns-name` are the bench's own, for the re-executed copy. */
function parseArgs(argv: readonly string[]): { opts: Options; inner: boolean; netnsName?: string; help: boolean } {
  const opts: Options = { ...DEFAULTS }
  let inner = false
  let netnsName: string | undefined
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined
    const value = (): string => {
      if (inline !== undefined) return inline
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${flag} needs a value`)
      return v
    }
    if (flag === '--help' || flag === '-h') help = true
    else if (flag === '--no-netns') opts.netns = false
    else if (flag === '--membership-only') opts.membershipOnly = true
    else if (flag === '--inner') inner = true
    else if (flag === '--netns-name') netnsName = value()
    else if (flag === '--netns-prefix') {
      const p = value()
      if (!/^[a-z][a-z0-9-]{0,20}$/.test(p)) throw new UsageError(`--netns-prefix ${JSON.stringify(p)}: expected a lowercase letter then up to 20 letters, digits or dashes`)
      opts.netnsPrefix = p
    }
    else if (flag in NUMBER_FLAGS) {
      const f = NUMBER_FLAGS[flag]
      const raw = value()
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n) || (f.integer && !Number.isInteger(n)) || n < f.min || n > f.max) {
        throw new UsageError(`${flag} ${JSON.stringify(raw)}: expected ${f.integer ? 'an integer' : 'a number'} from ${f.min} to ${f.max}`)
      }
      opts[f.key] = n
    } else throw new UsageError(`unknown option ${JSON.stringify(arg)}`)
  }
  if (opts.kills > 0 && opts.kills > opts.nodes - 2) throw new UsageError(`--kills ${opts.kills}: at most --nodes - 2 (${opts.nodes - 2}), so that a victim always has at least two survivors and the seed is spared`)
  return { opts, inner, netnsName, help }
}

// ------------------------------------------------------------------ figures

/** Asks each running agent for its health score, one at a time (a burst of 64 requests would skew them). */
async function healthOf(agents: readonly ClusterAgent[]): Promise<HealthFigures> {
  const perAgent: Record<string, number> = {}
  for (const a of agents) {
    if (!a.running) continue
    const h = await healthScore(a)
    if (h !== undefined) perAgent[a.name] = h
  }
  const xs = Object.values(perAgent)
  return { mean: mean(xs), max: xs.length === 0 ? null : Math.max(...xs), perAgent }
}

// ------------------------------------------------------------------ the run

const GOSSIP_RANGES: Record<System, PortRange> = { grapevine: { from: 17000, to: 17999 }, serf: { from: 27000, to: 27999 } }
const CONTROL_RANGES: Record<System, PortRange> = { grapevine: { from: 18000, to: 18999 }, serf: { from: 28000, to: 28999 } }
const PREFIX: Record<System, string> = { grapevine: 'gv', serf: 'serf' }

function log(line: string): void {
  process.stderr.write(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

function firstLine(command: string, args: readonly string[]): string {
  const r = spawnSync(command, [...args], { encoding: 'utf8', timeout: 10_000 })
  return r.status === 0 ? (r.stdout ?? '').split('\n')[0].trim() : 'unknown'
}

interface Mode {
  readonly netns: string | undefined
  readonly notes: string[]
}

const loadText = (w: WindowFigures): string => `load ${w.loadavg[0].toFixed(2)} → ${w.loadavg[1].toFixed(2)}`

async function runBench(opts: Options, mode: Mode): Promise<void> {
  const reg = new ProcessRegistry()
  let nft: NftCounters | undefined
  let lossOn = false
  const gossipRanges = Object.values(GOSSIP_RANGES)
  const cleanupNet = (): void => {
    if (lossOn) setLossHere(0, gossipRanges)
    lossOn = false
    // Inside our own namespace the table goes with it; in the host namespace it must be removed.
    if (nft !== undefined && mode.netns === undefined) nft.remove()
    nft = undefined
  }
  const onExit = (): void => {
    reg.killAllNow()
    cleanupNet()
  }
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping every agent`)
    onExit()
    process.exit(130)
  }
  process.on('exit', onExit)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const notes = [...mode.notes]
  const N = opts.nodes
  const started = new Date()
  const serfVersion = firstLine('serf', ['version'])
  if (serfVersion === 'unknown') throw new Error("serf does not run: install Debian's serf package (bench/cluster-setup.sh does)")
  const cli = fileURLToPath(new URL('../src/cli/cli.js', import.meta.url))
  let agentConfig: string | undefined
  if (opts.membershipOnly) {
    agentConfig = join(mkdtempSync(join(os.tmpdir(), 'gvbench-')), 'agent.json')
    writeFileSync(agentConfig, JSON.stringify({ state: { roundIntervalMs: 0 }, broadcast: { repairIntervalMs: 0 } }))
  }

  try {
    // Byte counters.
    let bytesMethod: string
    if (commandWorks('nft', ['--version'])) {
      const candidate = new NftCounters(mode.netns === undefined ? `gvbench_${process.pid}` : 'gvbench', GOSSIP_RANGES)
      try {
        candidate.install()
        nft = candidate
        bytesMethod = `nftables output-hook counters by port range (Grapevine ${GOSSIP_RANGES.grapevine.from}-${GOSSIP_RANGES.grapevine.to}, Serf ${GOSSIP_RANGES.serf.from}-${GOSSIP_RANGES.serf.to}), ${mode.netns === undefined ? 'host namespace' : `in network namespace ${mode.netns}`}; whole IP packets`
      } catch (e) {
        bytesMethod = 'none'
        notes.push(`bytes not measured: ${(e as Error).message}`)
      }
    } else {
      bytesMethod = 'none'
      notes.push('bytes not measured: nft is not installed (bench/cluster-setup.sh installs it)')
    }

    // Ports and agents.
    const ports = {} as Record<System, { gossip: number[]; control: number[] }>
    for (const s of SYSTEMS) {
      ports[s] = {
        gossip: await freePortsIn(GOSSIP_RANGES[s].from + 1, GOSSIP_RANGES[s].to, N),
        control: await freePortsIn(CONTROL_RANGES[s].from + 1, CONTROL_RANGES[s].to, N),
      }
    }
    let agents: Record<System, ClusterAgent[]> = { grapevine: [], serf: [] }
    const start = (s: System, i: number): void => {
      const name = `${PREFIX[s]}-${String(i).padStart(2, '0')}`
      const addr = { port: ports[s].gossip[i], controlPort: ports[s].control[i] }
      const seed = i === 0 ? undefined : ports[s].gossip[0]
      agents[s].push(s === 'grapevine' ? startGrapevine(reg, cli, i, name, addr, seed, agentConfig) : startSerf(reg, i, name, addr, seed))
    }
    const all = (): ClusterAgent[] => [...agents.grapevine, ...agents.serf]
    const checkAlive = (): void => {
      const dead = all().find((a) => !a.killedByBench && !a.running)
      if (dead !== undefined) throw new Error(`${dead.name} exited (code ${dead.exit?.code}, signal ${dead.exit?.signal}); its last lines:\n${dead.logTail()}`)
    }
    const allSeeAll = (s: System): boolean => {
      const live = agents[s].filter((a) => !a.killedByBench)
      return live.every((a) => live.every((b) => a.view.has(b.name)))
    }
    const convergeLimitMs = 60_000 + 3000 * N

    /** Starts both clusters from nothing and waits until every agent sees every other; join figures per system. */
    const formClusters = async (attempt: number): Promise<Record<System, JoinFigures>> => {
      agents = { grapevine: [], serf: [] }
      for (const s of SYSTEMS) start(s, 0)
      const seedsUp = await pollUntil(() => all().every((a) => a.started || !a.running), 30_000)
      checkAlive()
      if (!seedsUp) throw new Error(`a seed did not start within 30 s:\n${all().map((a) => `${a.name}: ${a.logTail()}`).join('\n')}`)
      let lastStartAt = performance.now()
      for (let i = 1; i < N; i++) {
        await sleep(opts.staggerMs)
        for (const s of SYSTEMS) start(s, i)
        lastStartAt = performance.now()
        checkAlive()
      }
      let nextProgress = performance.now() + 10_000
      await pollUntil(() => {
        checkAlive()
        if (performance.now() >= nextProgress) {
          nextProgress += 10_000
          log(`waiting for convergence: ${SYSTEMS.map((s) => `${s} views ${agents[s].map((a) => a.view.size).join(',')}`).join('; ')}`)
        }
        return SYSTEMS.every(allSeeAll)
      }, convergeLimitMs, 100)
      const out = {} as Record<System, JoinFigures>
      for (const s of SYSTEMS) {
        out[s] = joinFigures(agents[s], lastStartAt)
        const j = out[s]
        if (j.allSeeAllS === null) notes.push(`${s}, join ${attempt}: ${j.incomplete} agents did not see every other within ${convergeLimitMs / 1000} s; figures measured anyway`)
      }
      log(`join ${attempt}/${opts.joins}: ${SYSTEMS.map((s) => `${s} all see all ${out[s].allSeeAllS === null ? 'NOT within the limit' : `${out[s].allSeeAllS!.toFixed(2)} s`} after the last start`).join(' | ')}`)
      return out
    }

    log(`${opts.joins} × starting ${N} Grapevine and ${N} Serf agents (${opts.staggerMs} ms apart)`)
    const joins: Record<System, JoinFigures[]> = { grapevine: [], serf: [] }
    for (let j = 1; j <= opts.joins; j++) {
      const f = await formClusters(j)
      for (const s of SYSTEMS) joins[s].push(f[s])
      if (j < opts.joins) {
        await reg.killAll()
        await sleep(1000)
      }
    }

    // Idle window.
    log(`warm-up ${opts.warmupS} s, then an idle window of ${opts.windowS} s`)
    await sleep(opts.warmupS * 1000)
    checkAlive()
    const idle = await measureWindow(agents, nft, opts.windowS)
    checkAlive()
    log(`idle window done (${idle.grapevine.windowS.toFixed(1)} s, ${loadText(idle.grapevine)}); reading health scores`)
    const healthBefore = { grapevine: await healthOf(agents.grapevine), serf: await healthOf(agents.serf) }

    // Loss window: only inside the bench's own namespace, where nothing else's packets can be dropped.
    let loss: Record<System, WindowFigures> | null = null
    const lossRecoveryS: Record<System, number | null> = { grapevine: null, serf: null }
    if (opts.lossPercent > 0 && mode.netns === undefined) notes.push(`no loss window: --loss drops packets only inside the bench's own network namespace (run as root, without --no-netns)`)
    else if (opts.lossPercent > 0) {
      log(`dropping ${opts.lossPercent} % of gossip packets: 10 s to bite, then a loss window of ${opts.lossWindowS} s`)
      setLossHere(opts.lossPercent, gossipRanges)
      lossOn = true
      await sleep(10_000)
      loss = await measureWindow(agents, nft, opts.lossWindowS)
      setLossHere(0, gossipRanges)
      lossOn = false
      const healed = performance.now()
      log(`loss window done (${loadText(loss.grapevine)}); loss removed, waiting until all see all`)
      await pollUntil(() => {
        checkAlive()
        for (const s of SYSTEMS) if (lossRecoveryS[s] === null && allSeeAll(s)) lossRecoveryS[s] = (performance.now() - healed) / 1000
        return SYSTEMS.every((s) => lossRecoveryS[s] !== null)
      }, convergeLimitMs, 100)
    }

    // Kill rounds: one victim per system per round, both SIGKILLed at the same moment.
    const kills: Record<System, KillRecord[]> = { grapevine: [], serf: [] }
    const killed: Record<System, Set<string>> = { grapevine: new Set(), serf: new Set() }
    const unexpectedExits: Record<System, string[]> = { grapevine: [], serf: [] }
    const killPhaseStart = performance.now()
    for (let r = 0; r < opts.kills; r++) {
      const round = {} as Record<System, { victim: ClusterAgent; survivors: ClusterAgent[]; at: number }>
      for (const s of SYSTEMS) {
        const victim = agents[s][N - 1 - r]
        const survivors = agents[s].filter((a) => a !== victim && !a.killedByBench && a.running)
        victim.killedByBench = true
        killed[s].add(victim.name)
        const at = performance.now()
        ProcessRegistry.kill(victim.proc)
        round[s] = { victim, survivors, at }
      }
      const seenBy = (s: System, a: ClusterAgent): boolean => a.firstEvent('failed', round[s].victim.name, round[s].at) !== undefined
      await pollUntil(() => SYSTEMS.every((s) => round[s].survivors.every((a) => seenBy(s, a) || !a.running)), opts.killTimeoutS * 1000)
      const parts: string[] = []
      for (const s of SYSTEMS) {
        const { victim, survivors, at } = round[s]
        const perSurvivorMs: Record<string, number | null> = {}
        const missed: string[] = []
        let firstSuspicion: number | null = null
        for (const a of survivors) {
          if (!a.running && !a.killedByBench && !unexpectedExits[s].includes(a.name)) unexpectedExits[s].push(a.name)
          const e = a.firstEvent('failed', victim.name, at)
          perSurvivorMs[a.name] = e === undefined ? null : e.at - at
          if (e === undefined) missed.push(a.name)
          const sus = a.firstEvent('suspect', victim.name, at)
          if (sus !== undefined) firstSuspicion = Math.min(firstSuspicion ?? Number.POSITIVE_INFINITY, sus.at - at)
        }
        const seen = Object.values(perSurvivorMs).filter((v): v is number => v !== null)
        const rec: KillRecord = {
          round: r + 1,
          victim: victim.name,
          survivors: survivors.length,
          perSurvivorMs,
          firstMs: seen.length === 0 ? null : Math.min(...seen),
          allMs: missed.length === 0 && seen.length > 0 ? Math.max(...seen) : null,
          firstSuspicionMs: firstSuspicion,
          missed,
        }
        kills[s].push(rec)
        const sec = (v: number | null): string => (v === null ? 'miss' : `${(v / 1000).toFixed(2)} s`)
        parts.push(`${victim.name}: first ${sec(rec.firstMs)}, all ${sec(rec.allMs)} (${seen.length}/${survivors.length})`)
      }
      log(`kill ${r + 1}/${opts.kills}: ${parts.join(' | ')}`)
      if (r < opts.kills - 1) await sleep(opts.settleS * 1000)
    }
    const killPhaseEnd = performance.now()
    const healthAfter = opts.kills > 0 ? { grapevine: await healthOf(agents.grapevine), serf: await healthOf(agents.serf) } : healthBefore

    const results = {} as Record<System, SystemResult>
    for (const s of SYSTEMS) {
      const ks = kills[s]
      results[s] = {
        joins: joins[s],
        idle: idle[s],
        loss: loss === null ? null : loss[s],
        lossRecoveryS: lossRecoveryS[s],
        kills: ks,
        detection: {
          firstMedianS: censoredMedianS(ks.map((k) => k.firstMs)),
          allMedianS: censoredMedianS(ks.map((k) => k.allMs)),
          roundsComplete: ks.filter((k) => k.allMs !== null).length,
          rounds: ks.length,
        },
        killPhaseFalseFailures: agents[s].reduce(
          (n, a) => n + (killed[s].has(a.name) ? 0 : a.events.filter((e) => e.kind === 'failed' && !killed[s].has(e.member) && e.at >= killPhaseStart && e.at <= killPhaseEnd).length),
          0,
        ),
        unexpectedExits: unexpectedExits[s],
        health: { beforeKills: healthBefore[s], afterKills: healthAfter[s] },
      }
      const misses = ks.filter((k) => k.allMs === null).length
      if (misses > 0) notes.push(`${s}: ${misses} of ${ks.length} kills not seen by every survivor within ${opts.killTimeoutS} s (counted as longer than any other in the medians)`)
    }

    // Report.
    const rows = reportRows(results, opts)
    const header = [
      `Grapevine vs Serf cluster bench — ${started.toISOString()} — node ${process.version}, ${serfVersion}, ${os.cpus().length} CPUs`,
      `${N} Grapevine${opts.membershipOnly ? ' (membership only: no state rounds, no broadcast repair)' : ' (full stack: membership, Serf layer, state rounds, broadcast repair)'} + ${N} Serf agents at the same time, each a process on 127.0.0.1, LAN profile, started ${opts.staggerMs} ms apart (${opts.joins} ${opts.joins === 1 ? 'start' : 'starts'})`,
      `idle window ${idle.grapevine.windowS.toFixed(1)} s after all saw all + ${opts.warmupS} s warm-up (${loadText(idle.grapevine)})${loss === null ? '' : `; loss window ${loss.grapevine.windowS.toFixed(1)} s at ${opts.lossPercent} % loss (${loadText(loss.grapevine)})`}`,
      `kills: ${opts.kills} rounds, each SIGKILLs one Grapevine and one Serf agent at once (never the seed); victims not restarted, so ${N}→${N - opts.kills} nodes`,
      `bytes: ${bytesMethod}`,
    ]
    console.log(`\n${header.join('\n')}\n`)
    console.log(table(['metric', 'Grapevine', 'Serf', 'ratio G/S', 'target', 'ok?'], rows.map((r) => [r.metric, r.grapevine, r.serf, r.ratio, r.target, r.ok])))
    if (opts.kills > 0) {
      console.log('\nper kill (s from SIGKILL: first / all survivors)')
      console.log(
        table(
          ['round', 'Grapevine victim', 'first', 'all', 'Serf victim', 'first', 'all'],
          results.grapevine.kills.map((g, i) => {
            const sv = results.serf.kills[i]
            const sec = (v: number | null): string => (v === null ? 'miss' : (v / 1000).toFixed(2))
            return [String(g.round), g.victim, sec(g.firstMs), sec(g.allMs), sv.victim, sec(sv.firstMs), sec(sv.allMs)]
          }),
        ),
      )
    }
    for (const n of notes) console.log(`note: ${n}`)

    const dir = new URL('../../bench/results/', import.meta.url)
    mkdirSync(dir, { recursive: true })
    const stamp = started.toISOString().replace(/[:.]/g, '-')
    const body = { date: started.toISOString(), node: process.version, serf: serfVersion, cpus: os.cpus().length, options: opts, mode: { netns: mode.netns ?? null, bytes: bytesMethod }, notes, table: rows, results }
    writeFileSync(new URL(`cluster-${stamp}.json`, dir), JSON.stringify(body, null, 2) + '\n')
    console.log(`\nresults written to bench/results/cluster-${stamp}.json`)
  } finally {
    await reg.killAll()
    cleanupNet()
    process.off('exit', onExit)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

// ------------------------------------------------------------------ namespace wrapper

/** Runs the bench inside a fresh network namespace; deletes it (and anything left in it) at the end. */
function runInNetns(argv: readonly string[], ns: string): Promise<number> {
  return reexecInside(ns, fileURLToPath(import.meta.url), ['--inner', '--netns-name', ns, ...argv], () => netnsPids(ns), () => deleteNetns(ns))
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>
  const argv = process.argv.slice(2)
  try {
    parsed = parseArgs(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    console.error(`bench:cluster: ${e.message} (--help lists the options)`)
    return 2
  }
  if (parsed.help) {
    console.log(usage())
    return 0
  }
  if (parsed.inner) {
    await runBench(parsed.opts, { netns: parsed.netnsName, notes: [] })
    return 0
  }
  const notes: string[] = []
  if (!parsed.opts.netns) notes.push('--no-netns: agents run in the current network namespace')
  else if (process.getuid?.() !== 0) notes.push('not root: no network namespace; agents run in the current one')
  else if (!commandWorks('ip', ['-V'])) notes.push('ip (iproute2) is missing: no network namespace; agents run in the current one')
  else {
    const ns = `${parsed.opts.netnsPrefix}-${process.pid}`
    const err = createNetns(ns)
    if (err === undefined) {
      log(`running inside network namespace ${ns}`)
      return runInNetns(argv, ns)
    }
    notes.push(`no network namespace (${err}); agents run in the current one`)
  }
  for (const n of notes) log(n)
  await runBench(parsed.opts, { netns: undefined, notes })
  return 0
}

try {
  process.exitCode = await main()
} catch (e) {
  console.error(`bench:cluster failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  process.exitCode = 1
}
