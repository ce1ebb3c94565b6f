/**
 * `grapevine sim`: flag parsing (pure functions, unit-tested), scenario building and the run itself.
 *
 *   grapevine sim [--nodes N] [--seed S] [--duration 120s] [--profile lan|wan|local] [--loss 0.05]
 *                 [--stream-loss 0.05] [--latency 1ms..10ms] [--crash COUNT@TIME]… [--pause COUNT@TIME:LENGTH[/EVERY]]…
 *                 [--partition FRACTION@TIME:LENGTH]… [--no-lifeguard] [--trace FILE] [--json]
 *                 [--kv-writes RATE] [--broadcasts RATE] [--workload-window TIME]
 *
 * A workload flag runs the whole Grapevine stack on every node (runtime/sim/workload.ts) and adds state
 * convergence, broadcast delivery and bytes per update to the report.
 *
 * A bad flag raises UsageError naming the flag, what was given and the expected form; the CLI prints
 * its message and exits with code 2.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { randomInt } from 'node:crypto'
import type { Profile } from '../swim/config.js'
import { isProfile } from '../swim/config.js'
import type { ScenarioOptions, ScenarioStep } from '../runtime/sim/scenario.js'
import { formatDurationMs, runScenario } from '../runtime/sim/scenario.js'
import type { Report } from '../runtime/sim/report.js'
import { formatReport, reportJson } from '../runtime/sim/report.js'
import type { TraceSink } from '../runtime/sim/trace.js'
import { checkPlotFile, writePlot } from './sim-plot.js'

/** A command-line mistake; the message is meant for the user as is. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The flags as commander hands them over (strings, repeatables as arrays). */
export interface RawSimFlags {
  nodes?: string
  seed?: string
  duration?: string
  profile?: string
  loss?: string
  streamLoss?: string
  latency?: string
  crash?: string[]
  pause?: string[]
  partition?: string[]
  lifeguard?: boolean
  trace?: string
  json?: boolean
  kvWrites?: string
  broadcasts?: string
  workloadWindow?: string
  plot?: string
}

export interface SimCommandOptions {
  readonly nodes: number
  readonly seed: number
  /** True when the seed was drawn at random (the report then says how to replay it). */
  readonly randomSeed: boolean
  readonly durationMs: number
  readonly profile: Profile
  readonly loss: number | undefined
  /** Loss of stream (TCP) segments; undefined: the same as `loss`. */
  readonly streamLoss: number | undefined
  readonly latencyMs: readonly [number, number] | undefined
  readonly steps: readonly ScenarioStep[]
  readonly lifeguard: boolean
  readonly trace: string | undefined
  readonly json: boolean
  /** Key writes per virtual second (0: none). */
  readonly kvWritesPerSec: number
  /** Broadcasts per virtual second (0: none). */
  readonly broadcastsPerSec: number
  /** How long the workload runs; undefined: the whole --duration. */
  readonly workloadWindowMs: number | undefined
}

const DURATION_FORM = 'a duration like 30s, 500ms or 2m'

function fail(flag: string, expected: string, given: string): never {
  throw new UsageError(`${flag}: expected ${expected}, got ${JSON.stringify(given)}`)
}

/** Parses one component of a compound flag value; a failure reports the whole value. */
function part<T>(parse: () => T, flag: string, expected: string, whole: string): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof UsageError) fail(flag, expected, whole)
    throw err
  }
}

/** `500ms`, `30s`, `1.5s`, `2m` → milliseconds. A unit is required. */
export function parseDurationMs(text: string, flag: string, expected = DURATION_FORM): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(text)
  if (!m) fail(flag, expected, text)
  const value = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000)
  if (!Number.isFinite(value)) fail(flag, expected, text)
  return value
}

/** A positive integer (or ≥ 0 with allowZero). */
export function parseCount(text: string, flag: string, expected = 'a positive integer like 50', allowZero = false): number {
  if (!/^\s*\d+\s*$/.test(text)) fail(flag, expected, text)
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) fail(flag, expected, text)
  return n
}

/** A probability: `0.05` or `5%`, in [0, 1]. */
export function parseProbability(text: string, flag: string, expected = 'a probability like 0.05 or 5%'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text)
  if (!m) fail(flag, expected, text)
  const p = Number(m[1]) / (m[2] === '%' ? 100 : 1)
  if (!(p >= 0 && p <= 1)) fail(flag, expected, text)
  return p
}

/** `1ms..10ms` (or one duration for a fixed delay) → [min, max] ms. */
export function parseLatency(text: string, flag = '--latency'): [number, number] {
  const expected = 'MIN..MAX like 1ms..10ms'
  const parts = text.split('..')
  if (parts.length > 2 || parts.some((p) => p.trim() === '')) fail(flag, expected, text)
  const [min, max] = parts.map((p) => part(() => parseDurationMs(p, flag), flag, expected, text))
  const hi = max ?? min
  if (min > hi) fail(flag, `${expected} with MIN ≤ MAX`, text)
  return [min, hi]
}

/** `3@30s` → crash 3 nodes at 30 s. */
export function parseCrash(text: string, flag = '--crash'): ScenarioStep {
  const expected = 'COUNT@TIME like 3@30s'
  const [count, at, extra] = text.split('@')
  if (at === undefined || extra !== undefined || count === '' || at === '') fail(flag, expected, text)
  return { kind: 'crash', count: part(() => parseCount(count, flag), flag, expected, text), atMs: part(() => parseDurationMs(at, flag), flag, expected, text) }
}

/** `2@30s:5s` → pause 2 nodes at 30 s for 5 s; `2@30s:5s/20s` repeats every 20 s. */
export function parsePause(text: string, flag = '--pause'): ScenarioStep {
  const expected = 'COUNT@TIME:LENGTH[/EVERY] like 2@30s:5s or 2@30s:5s/20s'
  const m = /^([^@]+)@([^:]+):([^/]+)(?:\/(.+))?$/.exec(text)
  if (!m) fail(flag, expected, text)
  const step = {
    kind: 'pause' as const,
    count: part(() => parseCount(m[1], flag), flag, expected, text),
    atMs: part(() => parseDurationMs(m[2], flag), flag, expected, text),
    lengthMs: part(() => parseDurationMs(m[3], flag), flag, expected, text),
    ...(m[4] === undefined ? {} : { everyMs: part(() => parseDurationMs(m[4], flag), flag, expected, text) }),
  }
  if (step.lengthMs <= 0 || (step.everyMs !== undefined && step.everyMs <= 0)) fail(flag, `${expected} with LENGTH and EVERY above 0`, text)
  return step
}

/** `0.3@40s:20s` (or `30%@40s:20s`) → cut 30% of the nodes from the rest at 40 s for 20 s. */
export function parsePartition(text: string, flag = '--partition'): ScenarioStep {
  const expected = 'FRACTION@TIME:LENGTH like 0.3@40s:20s'
  const m = /^([^@]+)@([^:]+):(.+)$/.exec(text)
  if (!m) fail(flag, expected, text)
  const fraction = part(() => parseProbability(m[1], flag), flag, expected, text)
  if (fraction <= 0 || fraction >= 1) fail(flag, `${expected} with 0 < FRACTION < 1`, text)
  const lengthMs = part(() => parseDurationMs(m[3], flag), flag, expected, text)
  if (lengthMs <= 0) fail(flag, `${expected} with LENGTH above 0`, text)
  return { kind: 'partition', fraction, atMs: part(() => parseDurationMs(m[2], flag), flag, expected, text), lengthMs }
}

/** Most workload operations per second a run accepts (each is one queue item). */
export const WORKLOAD_RATE_MAX = 10_000

/** A rate per second of virtual time: `50`, `0.5`; above 0 and at most WORKLOAD_RATE_MAX. */
export function parseRate(text: string, flag: string): number {
  const expected = `a rate per second of virtual time like 50 or 0.5 (above 0, at most ${WORKLOAD_RATE_MAX})`
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(text)) fail(flag, expected, text)
  const rate = Number(text)
  if (!(rate > 0 && rate <= WORKLOAD_RATE_MAX)) fail(flag, expected, text)
  return rate
}

/** A 32-bit unsigned seed. */
export function parseSeed(text: string, flag = '--seed'): number {
  const expected = 'an integer seed in [0, 4294967295] like 42'
  const n = parseCount(text, flag, expected, true)
  if (n > 0xffff_ffff) fail(flag, expected, text)
  return n
}

export function parseProfile(text: string, flag = '--profile'): Profile {
  if (!isProfile(text)) fail(flag, 'one of lan, wan, local', text)
  return text
}

/** Validates every flag and returns the run's options; throws UsageError on the first bad one. */
export function parseSimFlags(raw: RawSimFlags, randomSeed: () => number = () => randomInt(0, 0x1_0000_0000)): SimCommandOptions {
  const nodes = raw.nodes === undefined ? 50 : parseCount(raw.nodes, '--nodes', 'a node count like 50 (at least 2)')
  if (nodes < 2) fail('--nodes', 'a node count like 50 (at least 2)', raw.nodes ?? '')
  const durationMs = raw.duration === undefined ? 120_000 : parseDurationMs(raw.duration, '--duration')
  if (durationMs <= 0) fail('--duration', DURATION_FORM, raw.duration ?? '')
  const steps: ScenarioStep[] = [
    ...(raw.crash ?? []).map((t) => parseCrash(t)),
    ...(raw.pause ?? []).map((t) => parsePause(t)),
    ...(raw.partition ?? []).map((t) => parsePartition(t)),
  ]
  const crashes = steps.reduce((sum, s) => sum + (s.kind === 'crash' ? (s.count ?? 0) : 0), 0)
  if (crashes >= nodes) throw new UsageError(`--crash: ${crashes} crashes in total leave no node of the ${nodes} running; crash fewer or raise --nodes`)
  for (const s of steps) {
    if (s.atMs >= durationMs) {
      const flag = `--${s.kind}`
      throw new UsageError(`${flag}: the time ${formatDurationMs(s.atMs)} is not within --duration ${formatDurationMs(durationMs)}; faults happen in the chaos phase`)
    }
  }
  const kvWritesPerSec = raw.kvWrites === undefined ? 0 : parseRate(raw.kvWrites, '--kv-writes')
  const broadcastsPerSec = raw.broadcasts === undefined ? 0 : parseRate(raw.broadcasts, '--broadcasts')
  let workloadWindowMs: number | undefined
  if (raw.workloadWindow !== undefined) {
    if (kvWritesPerSec === 0 && broadcastsPerSec === 0) throw new UsageError('--workload-window: there is no workload to time; add --kv-writes RATE or --broadcasts RATE')
    workloadWindowMs = parseDurationMs(raw.workloadWindow, '--workload-window')
    if (workloadWindowMs <= 0 || workloadWindowMs > durationMs) {
      throw new UsageError(`--workload-window: ${formatDurationMs(workloadWindowMs)} must be above 0 and within --duration ${formatDurationMs(durationMs)}; shorten it or raise --duration`)
    }
  }
  return {
    nodes,
    seed: raw.seed === undefined ? randomSeed() : parseSeed(raw.seed),
    randomSeed: raw.seed === undefined,
    durationMs,
    profile: raw.profile === undefined ? 'lan' : parseProfile(raw.profile),
    loss: raw.loss === undefined ? undefined : parseProbability(raw.loss, '--loss'),
    streamLoss: raw.streamLoss === undefined ? undefined : parseProbability(raw.streamLoss, '--stream-loss'),
    latencyMs: raw.latency === undefined ? undefined : parseLatency(raw.latency),
    steps,
    lifeguard: raw.lifeguard ?? true,
    trace: raw.trace,
    json: raw.json ?? false,
    kvWritesPerSec,
    broadcastsPerSec,
    workloadWindowMs,
  }
}

/** The command line that replays a run (same seed, same scenario). */
export function replayCommand(o: SimCommandOptions): string {
  const parts = ['grapevine sim', `--nodes ${o.nodes}`, `--seed ${o.seed}`, `--duration ${formatDurationMs(o.durationMs)}`, `--profile ${o.profile}`]
  if (o.loss !== undefined) parts.push(`--loss ${o.loss}`)
  if (o.streamLoss !== undefined) parts.push(`--stream-loss ${o.streamLoss}`)
  if (o.latencyMs !== undefined) parts.push(`--latency ${formatDurationMs(o.latencyMs[0])}..${formatDurationMs(o.latencyMs[1])}`)
  for (const s of o.steps) {
    if (s.kind === 'crash') parts.push(`--crash ${s.count}@${formatDurationMs(s.atMs)}`)
    else if (s.kind === 'pause') parts.push(`--pause ${s.count}@${formatDurationMs(s.atMs)}:${formatDurationMs(s.lengthMs)}${s.everyMs ? `/${formatDurationMs(s.everyMs)}` : ''}`)
    else if (s.kind === 'partition') parts.push(`--partition ${s.fraction ?? 0}@${formatDurationMs(s.atMs)}:${formatDurationMs(s.lengthMs ?? 0)}`)
  }
  if (!o.lifeguard) parts.push('--no-lifeguard')
  if (o.kvWritesPerSec > 0) parts.push(`--kv-writes ${o.kvWritesPerSec}`)
  if (o.broadcastsPerSec > 0) parts.push(`--broadcasts ${o.broadcastsPerSec}`)
  if (o.workloadWindowMs !== undefined) parts.push(`--workload-window ${formatDurationMs(o.workloadWindowMs)}`)
  return parts.join(' ')
}

/** The scenario a parsed command runs. */
export function scenarioOf(o: SimCommandOptions): ScenarioOptions {
  return {
    seed: o.seed,
    nodes: o.nodes,
    durationMs: o.durationMs,
    profile: o.profile,
    lifeguard: o.lifeguard,
    network: {
      ...(o.loss === undefined ? {} : { packetLossProbability: o.loss }),
      ...(o.streamLoss === undefined ? {} : { streamSegmentLossProbability: o.streamLoss }),
      ...(o.latencyMs === undefined ? {} : { latencyMs: o.latencyMs }),
    },
    steps: o.steps,
    ...(o.kvWritesPerSec > 0 || o.broadcastsPerSec > 0
      ? { workload: { kvWritesPerSec: o.kvWritesPerSec, broadcastsPerSec: o.broadcastsPerSec, ...(o.workloadWindowMs === undefined ? {} : { windowMs: o.workloadWindowMs }) } }
      : {}),
  }
}

/** A trace sink writing to a file in large chunks. */
export function fileTrace(path: string): { sink: TraceSink; close: () => void } {
  const fd = openSync(path, 'w')
  let buffer: string[] = []
  const flush = (): void => {
    if (buffer.length === 0) return
    writeSync(fd, buffer.join('\n') + '\n')
    buffer = []
  }
  return {
    sink: (line) => {
      buffer.push(line)
      if (buffer.length >= 8192) flush()
    },
    close: () => {
      flush()
      closeSync(fd)
    },
  }
}

export interface CommandIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

/** Runs `grapevine sim`; resolves to the exit code (0 converged, 1 not converged, 2 usage error). */
export async function runSimCommand(raw: RawSimFlags, io: CommandIo): Promise<number> {
  let options: SimCommandOptions
  try {
    options = parseSimFlags(raw)
    checkPlotFile(raw.plot)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`grapevine sim: ${err.message}\n`)
      return 2
    }
    throw err
  }
  return finishRun((trace) => ({ ...runScenario({ ...scenarioOf(options), trace, ...(raw.plot !== undefined ? { sampleEveryMs: 1000 } : {}) }), replay: replayCommand(options) }), raw, io)
}

/**
 * Runs (with the --trace file open when asked), prints the report as text or JSON, draws --plot, and
 * resolves to the exit code: 0, or 1 when `runProblems` finds any.
 */
export async function finishRun(run: (trace: TraceSink | undefined) => Report, raw: Pick<RawSimFlags, 'trace' | 'json' | 'plot'>, io: CommandIo): Promise<number> {
  const trace = raw.trace === undefined ? undefined : fileTrace(raw.trace)
  let report: Report
  try {
    report = run(trace?.sink)
  } finally {
    trace?.close()
  }
  io.out((raw.json ? reportJson(report) : formatReport(report)) + '\n')
  if (raw.plot !== undefined) {
    await writePlot(raw.plot, report)
    io.err(`grapevine sim: time series plotted to ${raw.plot}\n`)
  }
  const problems = runProblems(report)
  if (problems.length > 0) {
    io.err(`grapevine sim: ${problems.join('; ')} (seed ${report.seed}); replay with:\n  ${report.replay}\n`)
    return 1
  }
  return 0
}

/** What makes a run fail: membership not converged; with a workload, state not converged or a broadcast delivered twice. */
export function runProblems(report: Report): string[] {
  const problems: string[] = []
  if (!report.converged) problems.push('the cluster did not converge')
  if (report.stateConvergenceMs === null && report.workload?.lastWriteAtMs !== null) problems.push('the cluster state did not converge')
  const dup = report.broadcastDelivery?.duplicateDeliveries ?? 0
  if (dup > 0) problems.push(`${dup} broadcasts were delivered twice`)
  return problems
}
