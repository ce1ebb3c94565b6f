/**
 * `grapevine sim`: flag parsing (pure functions, unit-tested), scenario building and the run itself.
 *
 *   grapevine sim [--nodes N] [--seed S] [--duration 120s] [--profile lan|wan|local] [--loss 0.05]
 *                 [--stream-loss 0.05] [--latency 1ms..10ms] [--crash COUNT@TIME]… [--pause COUNT@TIME:LENGTH[/EVERY]]…
 *                 [--partition FRACTION@TIME:LENGTH]… [--no-lifeguard] [--trace FILE] [--json]
 *                 [--kv-writes RATE] [--broadcasts RATE] [--workload-window TIME]
 *                 [--aggregate avg,sum,count,min,max|all [--aggregate-mode push-pull|push-sum]
 *                  [--aggregate-cycle 1s] [--aggregate-epoch-cycles 20]]
 *
 *                 [--membership-only]
 *
 * Every node runs the composed node a real node runs (SWIM, Serf's layer, broadcasts, cluster state,
 * phi); --membership-only gives SWIM alone. A workload flag adds writes and broadcasts
 * (runtime/sim/workload.ts) and state convergence, broadcast delivery and bytes per update to the report;
 * --aggregate runs aggregates on every node and adds their error per epoch (runtime/sim/aggregate-workload.ts).
 *
 * A bad flag raises UsageError naming the flag, what was given and the expected form; the CLI prints
 * its message and exits with code 2.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { randomInt } from 'node:crypto'
import { UsageError } from '../core/errors.js'
import type { Profile } from '../swim/config.js'
import type { CommandIo } from '../output/io.js'
import { parseAggregateCycleMs, parseAggregateFunctions, parseAggregationMode, parseEpochCycles } from '../runtime/sim/scenario-values.js'
import type { AggregateWorkloadOptions } from '../runtime/sim/aggregate-workload.js'
import { DURATION_FORM, fail, parseCount, parseCrash, parseDurationMs, parseLatency, parsePartition, parsePause, parseProbability, parseProfile, parseRate, parseSeed } from '../runtime/sim/scenario-values.js'
import type { ScenarioOptions, ScenarioStep } from '../runtime/sim/scenario.js'
import { formatDurationMs, runScenario } from '../runtime/sim/scenario.js'
import type { Report } from '../runtime/sim/report.js'
import { formatReport, reportJson } from '../runtime/sim/report.js'
import type { TraceSink } from '../runtime/sim/trace.js'
import { checkPlotFile, writePlot } from './sim-plot.js'

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
  crdtOps?: string
  crdtDurable?: boolean
  aggregate?: string
  aggregateMode?: string
  aggregateCycle?: string
  aggregateEpochCycles?: string
  workloadWindow?: string
  plot?: string
  membershipOnly?: boolean
  /** 'hyparview': the CLI runs overlay-sim-command.ts instead. */
  membership?: string
  /** HyParView mode only: FRACTION@TIME. */
  fail?: string[]
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
  /** Writes of the replicated data types per virtual second (0: none). */
  readonly crdtOpsPerSec?: number
  /** Simulated data directories: crashed nodes restart with their CRDT state (--crdt-durable). */
  readonly crdtDurable?: boolean
  /** Aggregates every node computes (--aggregate and its settings); undefined: none. */
  readonly aggregate?: AggregateWorkloadOptions
  /** How long the workload runs; undefined: the whole --duration. */
  readonly workloadWindowMs: number | undefined
  /** SWIM alone on every node (default: the whole stack, as every real node runs it). */
  readonly membershipOnly?: boolean
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
  const crdtOpsPerSec = raw.crdtOps === undefined ? 0 : parseRate(raw.crdtOps, '--crdt-ops')
  let workloadWindowMs: number | undefined
  if (raw.workloadWindow !== undefined) {
    if (kvWritesPerSec === 0 && broadcastsPerSec === 0 && crdtOpsPerSec === 0) throw new UsageError('--workload-window: there is no workload to time; add --kv-writes RATE, --broadcasts RATE or --crdt-ops RATE')
    workloadWindowMs = parseDurationMs(raw.workloadWindow, '--workload-window')
    if (workloadWindowMs <= 0 || workloadWindowMs > durationMs) {
      throw new UsageError(`--workload-window: ${formatDurationMs(workloadWindowMs)} must be above 0 and within --duration ${formatDurationMs(durationMs)}; shorten it or raise --duration`)
    }
  }
  if (raw.crdtDurable === true && crdtOpsPerSec === 0) throw new UsageError('--crdt-durable: there is no CRDT workload to keep on disk; add --crdt-ops RATE')
  const aggregate = parseAggregateFlags(raw)
  const membershipOnly = raw.membershipOnly === true
  if (membershipOnly && (kvWritesPerSec > 0 || broadcastsPerSec > 0 || crdtOpsPerSec > 0 || aggregate !== undefined)) {
    throw new UsageError(`--membership-only: a workload (--kv-writes, --broadcasts, --crdt-ops, --aggregate) needs the whole stack; drop --membership-only or the workload`)
  }
  return {
    membershipOnly,
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
    ...(crdtOpsPerSec > 0 ? { crdtOpsPerSec } : {}),
    ...(raw.crdtDurable === true ? { crdtDurable: true } : {}),
    ...(aggregate !== undefined ? { aggregate } : {}),
    workloadWindowMs,
  }
}

/** --aggregate and its settings; the settings without --aggregate are a mistake worth naming. */
export function parseAggregateFlags(raw: RawSimFlags): AggregateWorkloadOptions | undefined {
  if (raw.aggregate === undefined) {
    const stray = (['aggregateMode', 'aggregateCycle', 'aggregateEpochCycles'] as const).find((k) => raw[k] !== undefined)
    if (stray !== undefined) throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: there is no aggregate to set it for; add --aggregate avg (or a list like avg,count, or all)`)
    return undefined
  }
  return {
    functions: parseAggregateFunctions(raw.aggregate),
    ...(raw.aggregateMode !== undefined ? { mode: parseAggregationMode(raw.aggregateMode) } : {}),
    ...(raw.aggregateCycle !== undefined ? { cycleMs: parseAggregateCycleMs(raw.aggregateCycle) } : {}),
    ...(raw.aggregateEpochCycles !== undefined ? { epochCycles: parseEpochCycles(raw.aggregateEpochCycles) } : {}),
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
  if ((o.crdtOpsPerSec ?? 0) > 0) parts.push(`--crdt-ops ${o.crdtOpsPerSec}`)
  if (o.crdtDurable === true) parts.push('--crdt-durable')
  if (o.aggregate !== undefined) {
    const a = o.aggregate
    parts.push(`--aggregate ${a.functions.join(',')}`)
    if (a.mode !== undefined) parts.push(`--aggregate-mode ${a.mode}`)
    if (a.cycleMs !== undefined) parts.push(`--aggregate-cycle ${formatDurationMs(a.cycleMs)}`)
    if (a.epochCycles !== undefined) parts.push(`--aggregate-epoch-cycles ${a.epochCycles}`)
  }
  if (o.workloadWindowMs !== undefined) parts.push(`--workload-window ${formatDurationMs(o.workloadWindowMs)}`)
  if (o.membershipOnly === true) parts.push('--membership-only')
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
    membershipOnly: o.membershipOnly === true,
    ...(o.kvWritesPerSec > 0 || o.broadcastsPerSec > 0 || (o.crdtOpsPerSec ?? 0) > 0 || o.aggregate !== undefined
      ? { workload: { kvWritesPerSec: o.kvWritesPerSec, broadcastsPerSec: o.broadcastsPerSec, ...((o.crdtOpsPerSec ?? 0) > 0 ? { crdtOpsPerSec: o.crdtOpsPerSec } : {}), ...(o.crdtDurable === true ? { crdtDurable: true } : {}), ...(o.aggregate !== undefined ? { aggregate: o.aggregate } : {}), ...(o.workloadWindowMs === undefined ? {} : { windowMs: o.workloadWindowMs }) } }
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

/** Runs `grapevine sim`; resolves to the exit code (0 converged, 1 not converged, 2 usage error). */
export async function runSimCommand(raw: RawSimFlags, io: CommandIo): Promise<number> {
  let options: SimCommandOptions
  try {
    if (raw.fail !== undefined) throw new UsageError('--fail: a --membership hyparview option; with SWIM use --crash COUNT@TIME')
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
