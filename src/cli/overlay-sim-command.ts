/**
 * `grapevine sim --membership hyparview`: the composed node in its overlay mode, at scale
 * (runtime/sim/overlay-scenario.ts), with its wall time, CPU time and heap measured here (the
 * simulator reads no clock).
 *
 *   grapevine sim --membership hyparview [--nodes N] [--seed S] [--duration TIME] [--broadcasts RATE]
 *                 [--fail FRACTION@TIME]… [--loss P] [--latency MIN..MAX] [--shuffle-interval TIME]
 *                 [--keepalive-interval TIME] [--state-rounds TIME] [--json]
 *
 *   flags ──parseOverlaySimFlags──▶ OverlayScenarioOptions ──measured run──▶ report (text or JSON)
 *
 * A scenario file with `membership: hyparview` runs the same way (runOverlayFileCommand, from scenario-command.ts).
 *
 * SWIM's flags (--crash, --pause, --partition, --profile, --no-lifeguard, --kv-writes, --membership-only,
 * --workload-window, --plot, --stream-loss) do not apply and are refused by name, as is --fail without
 * this mode. Exit code 0; 1 when a broadcast sent with no failure scheduled missed a live node; 2 on a bad flag.
 */
import { randomInt } from 'node:crypto'
import { UsageError } from '../core/errors.js'
import type { CommandIo } from '../output/io.js'
import { fail, parseCount, parseDurationMs, parseLatency, parseProbability, parseRate, parseSeed } from '../runtime/sim/scenario-values.js'
import { formatDurationMs } from '../runtime/sim/steps.js'
import { formatOverlayReport, runOverlayScenario, type OverlayRunReport, type OverlayScenarioOptions } from '../runtime/sim/overlay-scenario.js'
import { fileTrace, type RawSimFlags } from './sim-command.js'
import { parseOverlayScenario } from '../runtime/sim/overlay-file.js'
import { fileErrorExit } from './datacenters-command.js'

export interface RawOverlayFlags extends RawSimFlags {
  membership?: string
  fail?: string[]
  shuffleInterval?: string
  keepaliveInterval?: string
  stateRounds?: string
}

const SWIM_ONLY: ReadonlyArray<[keyof RawOverlayFlags, string]> = [
  ['crash', '--crash'], ['pause', '--pause'], ['partition', '--partition'], ['profile', '--profile'], ['kvWrites', '--kv-writes'],
  ['membershipOnly', '--membership-only'], ['workloadWindow', '--workload-window'], ['plot', '--plot'], ['streamLoss', '--stream-loss'],
]

/** FRACTION@TIME, e.g. 0.5@60s. */
export function parseFail(text: string): { fraction: number; atMs: number } {
  const expected = 'FRACTION@TIME like 0.5@60s (half the live nodes crash at once at 60 s)'
  const m = /^([^@]+)@(.+)$/.exec(text)
  if (m === null) fail('--fail', expected, text)
  const fraction = Number(m[1])
  if (!(fraction > 0 && fraction < 1)) fail('--fail', expected, text)
  return { fraction, atMs: parseDurationMs(m[2], '--fail', expected) }
}

export interface OverlaySimCommand {
  readonly scenario: OverlayScenarioOptions
  readonly json: boolean
  readonly replay: string
}

export function parseOverlaySimFlags(raw: RawOverlayFlags, randomSeed: () => number = () => randomInt(0, 0x1_0000_0000)): OverlaySimCommand {
  for (const [key, flag] of SWIM_ONLY) {
    if (raw[key] !== undefined) throw new UsageError(`${flag}: a SWIM option; it does not apply with --membership hyparview (use --fail FRACTION@TIME for failures)`)
  }
  if (raw.lifeguard === false) throw new UsageError('--no-lifeguard: a SWIM option; it does not apply with --membership hyparview')
  const nodes = raw.nodes === undefined ? 1000 : parseCount(raw.nodes, '--nodes', 'a node count like 10000 (at least 2)')
  if (nodes < 2) fail('--nodes', 'a node count like 10000 (at least 2)', raw.nodes ?? '')
  const joinSpacingMs = 10
  const shuffleIntervalMs = raw.shuffleInterval === undefined ? 10_000 : parseDurationMs(raw.shuffleInterval, '--shuffle-interval')
  const warmupMs = (nodes - 1) * joinSpacingMs + 5 * shuffleIntervalMs
  const durationMs = raw.duration === undefined ? warmupMs + 60_000 : parseDurationMs(raw.duration, '--duration')
  const broadcastsPerSec = raw.broadcasts === undefined ? 0 : parseRate(raw.broadcasts, '--broadcasts')
  if (broadcastsPerSec > 0 && durationMs <= warmupMs) {
    throw new UsageError(`--duration: broadcasts start after the joins and 5 shuffle periods (${formatDurationMs(warmupMs)} for ${nodes} nodes); raise --duration above that or lower --nodes`)
  }
  const failures = (raw.fail ?? []).map(parseFail)
  for (const f of failures) if (f.atMs >= durationMs) throw new UsageError(`--fail: the time ${formatDurationMs(f.atMs)} is not within --duration ${formatDurationMs(durationMs)}`)
  const keepAliveIntervalMs = raw.keepaliveInterval === undefined ? undefined : parseDurationMs(raw.keepaliveInterval, '--keepalive-interval')
  const stateRoundMs = raw.stateRounds === undefined ? undefined : parseDurationMs(raw.stateRounds, '--state-rounds')
  const seed = raw.seed === undefined ? randomSeed() : parseSeed(raw.seed)
  // 0 turns pings off (the papers' model; failures then show only as failed sends, which UDP does not report):
  // the repair check still runs once a minute.
  const keepAlive =
    keepAliveIntervalMs === undefined ? {} : keepAliveIntervalMs === 0 ? { keepAliveIntervalMs: 60_000, keepAliveTimeoutMs: 0 } : { keepAliveIntervalMs, keepAliveTimeoutMs: 5 * keepAliveIntervalMs }
  const hyparview = { shuffleIntervalMs, ...keepAlive }
  const scenario: OverlayScenarioOptions = {
    seed,
    nodes,
    durationMs,
    joinSpacingMs,
    warmupMs,
    broadcastsPerSec,
    fail: failures,
    network: {
      ...(raw.loss === undefined ? {} : { packetLossProbability: parseProbability(raw.loss, '--loss') }),
      ...(raw.latency === undefined ? {} : { latencyMs: parseLatency(raw.latency) }),
    },
    overlay: { hyparview },
    ...(stateRoundMs === undefined ? {} : { stateRoundMs }),
  }
  const parts = ['grapevine sim --membership hyparview', `--nodes ${nodes}`, `--seed ${seed}`, `--duration ${formatDurationMs(durationMs)}`]
  if (broadcastsPerSec > 0) parts.push(`--broadcasts ${broadcastsPerSec}`)
  for (const f of failures) parts.push(`--fail ${f.fraction}@${formatDurationMs(f.atMs)}`)
  if (raw.loss !== undefined) parts.push(`--loss ${raw.loss}`)
  if (raw.latency !== undefined) parts.push(`--latency ${raw.latency}`)
  if (raw.shuffleInterval !== undefined) parts.push(`--shuffle-interval ${raw.shuffleInterval}`)
  if (raw.keepaliveInterval !== undefined) parts.push(`--keepalive-interval ${raw.keepaliveInterval}`)
  if (raw.stateRounds !== undefined) parts.push(`--state-rounds ${raw.stateRounds}`)
  return { scenario, json: raw.json ?? false, replay: parts.join(' ') }
}

/** Runs the scenario, measuring wall time, CPU time and heap around it (a collection first when --expose-gc). */
export function measuredOverlayRun(o: OverlayScenarioOptions): OverlayRunReport {
  const gc = (globalThis as { gc?: () => void }).gc
  let wall0 = 0
  let cpu0 = process.cpuUsage()
  let heap0 = 0
  let wallMs = 0
  let cpuMs = 0
  let heap1 = 0
  const report = runOverlayScenario({
    ...o,
    probe: (stage) => {
      if (stage === 'start') {
        gc?.()
        heap0 = process.memoryUsage().heapUsed
        cpu0 = process.cpuUsage()
        wall0 = performance.now()
        return
      }
      wallMs = performance.now() - wall0
      const cpu = process.cpuUsage(cpu0)
      cpuMs = (cpu.user + cpu.system) / 1000
      gc?.()
      heap1 = process.memoryUsage().heapUsed
    },
  })
  report.cost = { wallMs, cpuMs, speedup: report.virtualMs / Math.max(1, wallMs), heapBytesPerNode: (heap1 - heap0) / o.nodes }
  return report
}

const FILE_FLAGS = new Set(['seed', 'json', 'trace'])

/**
 * `grapevine sim FILE` for a file with `membership: hyparview` (runtime/sim/overlay-file.ts): only --seed,
 * --json and --trace apply; the file describes everything else. Exit codes as without a file.
 */
export async function runOverlayFileCommand(path: string, text: string, raw: RawOverlayFlags, io: CommandIo, randomSeed: () => number): Promise<number> {
  let scenario: OverlayScenarioOptions
  let replay: string
  try {
    for (const [k, v] of Object.entries(raw)) {
      if (v !== undefined && !(k === 'lifeguard' && v === true) && !FILE_FLAGS.has(k)) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: not for a hyparview scenario file; the file describes the cluster and its failures (only --seed, --json and --trace apply): change it in ${path}`)
    }
    const file = parseOverlayScenario(text, path)
    const seed = raw.seed !== undefined ? parseSeed(raw.seed) : (file.seed ?? randomSeed())
    scenario = { ...file.scenario, seed }
    replay = `grapevine sim ${path} --seed ${seed}`
  } catch (err) {
    return fileErrorExit(err, path, io)
  }
  return runAndPrint(scenario, replay, raw, io)
}

export async function runOverlaySimCommand(raw: RawOverlayFlags, io: CommandIo): Promise<number> {
  let cmd: OverlaySimCommand
  try {
    if (raw.membership !== 'hyparview') fail('--membership', "'swim' (the default) or 'hyparview'", raw.membership ?? '')
    cmd = parseOverlaySimFlags(raw)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`grapevine sim: ${err.message}\n`)
      return 2
    }
    throw err
  }
  return runAndPrint(cmd.scenario, cmd.replay, raw, io)
}

/** Runs, prints (text or --json), and exits 1 when a broadcast missed a live node with no failure scheduled. */
function runAndPrint(scenario: OverlayScenarioOptions, replay: string, raw: RawOverlayFlags, io: CommandIo): number {
  const trace = raw.trace === undefined ? undefined : fileTrace(raw.trace)
  let report: OverlayRunReport
  try {
    report = { ...measuredOverlayRun({ ...scenario, trace: trace?.sink }), replay }
  } finally {
    trace?.close()
  }
  io.out((raw.json === true ? JSON.stringify(report, null, 2) : formatOverlayReport(report)) + '\n')
  // Any timeline step but a join is a fault (crash, restart, pause, leave, partition, network change).
  const faults = (scenario.fail ?? []).length + (scenario.steps ?? []).filter((s) => s.kind !== 'join').length
  const missed = faults === 0 ? report.broadcast.perBroadcast.filter((b) => b.reliability < 1).length : 0
  if (missed > 0) {
    io.err(`grapevine sim: ${missed} broadcasts missed a live node with no failure scheduled (seed ${report.seed}); replay with:\n  ${report.replay}\n`)
    return 1
  }
  return 0
}
