/**
 * Scenarios: a cluster, a list of printable fault steps, and a report.
 *
 *   phase 1, chaos   spawn N nodes at 0 (joining node-000), run the steps until `durationMs`
 *   phase 2, settle  heal every partition, turn loss (datagrams and stream segments), duplication and
 *                    reordering off (latency stays), run until every live node's view is right or
 *                    `settleMaxMs` passed
 *
 * Every node runs the composed node a real node runs (SWIM, Serf's layer, broadcasts, cluster state,
 * phi), unless `membershipOnly` gives SWIM alone. With `stack: true` or a `workload`, the stack is
 * measured too (workload.ts): the workload's writes and broadcasts run during the chaos phase, and the
 * settle phase also waits for the state to converge and every broadcast to arrive.
 *
 * as TigerBeetle's VOPR runs safety then liveness. Who crashes, pauses or lands on which side of a
 * partition is drawn from a generator derived from the run seed, so a scenario and a seed name one run.
 */
import { SeededRng, deriveSeed } from '../../core/rng.js'
import { resolveConfig } from '../../node/index.js'
import type { Coordinate, NodeEvent, Profile, ReplicationConfig, SwimConfig } from '../../node/index.js'
import { pushPullScaleMs, suspicionTimeoutMs } from '../../node/index.js'
import { ViewTracker } from './checkers.js'
import { COORDINATES_FIRST_CHECK_MS, measureCoordinateAccuracy } from './coordinate-accuracy.js'
import type { CoordinateAccuracy } from './coordinate-accuracy.js'
import { nodeIndexOf } from './names.js'
import type { NetworkOptionsInput } from './network.js'
import type { SimNode } from './node.js'
import type { ProtocolFactory } from './protocol.js'
import type { DetectionReport, Report } from './report.js'
import type { SimObserver } from './simulation.js'
import { SCENARIO_SEED_INDEX, Simulation } from './simulation.js'
import type { TraceSink } from './trace.js'
import type { WorkloadOptions } from './workload.js'
import { CHECK_EVERY_MS, StackWorkload } from './workload.js'
import { CrdtWorkload } from './crdt-workload.js'
import { SimCrdtDisks } from './crdt-disk.js'
import { AggregateWorkload } from './aggregate-workload.js'
import { StepRunner, formatDurationMs, formatStep } from './steps.js'
import type { ScenarioStep } from './steps.js'
import { TimeSeriesSampler } from './timeseries.js'

export type { ScenarioStep, NodePick, Repeat, NetworkChange, LinkScope } from './steps.js'
export { formatStep, formatDurationMs, formatNames } from './steps.js'

export interface ScenarioOptions {
  readonly seed: number
  readonly nodes: number
  /** Length of the chaos phase (virtual ms). */
  readonly durationMs: number
  readonly profile?: Profile
  /** Lifeguard on (default) or classic SWIM. */
  readonly lifeguard?: boolean
  /** Further SWIM configuration. */
  readonly config?: Partial<SwimConfig>
  /** Network knobs; latency defaults to the profile's (see PROFILE_LATENCY_MS). */
  readonly network?: NetworkOptionsInput
  readonly steps?: readonly ScenarioStep[]
  /** Spread the initial joins over this many ms (default 0). */
  readonly joinSpreadMs?: number
  /** Longest settle phase; default from the configuration (suspicion, push-pull and reconnect periods). */
  readonly settleMaxMs?: number
  readonly trace?: TraceSink
  /** Told about every executed step ("crash node-012 node-031") and phase change, with the virtual time. */
  readonly log?: (text: string, atMs: number) => void
  /** Extra observer (the demo prints membership changes through it). */
  readonly observer?: SimObserver
  /** Protocol factory (tests); default the composed node. */
  readonly createProtocol?: ProtocolFactory
  /** SWIM alone on every node, as a real node with `membershipOnly: true`. Default false: the whole stack. */
  readonly membershipOnly?: boolean
  /** Measure the stack (state convergence, broadcast delivery, envelope bytes) even without a workload. */
  readonly stack?: boolean
  /** Key writes and broadcasts during the chaos phase (workload.ts); needs the whole stack. */
  readonly workload?: WorkloadOptions
  /**
   * One-way latency between and inside groups of nodes (names), set before the nodes start, on top of
   * `network`: each entry shapes every link from `from` to `to` and back (inside one group when both are
   * the same). Later entries win where they overlap.
   */
  readonly latencyMatrix?: ReadonlyArray<LatencyMatrixEntry>
  /** Replication settings of every node's CRDTs (bench:crdt sets fullStateGossip). */
  readonly replication?: Partial<ReplicationConfig>
  /** Sample time series every this many virtual ms (timeseries.ts) into `report.timeSeries`; default none. */
  readonly sampleEveryMs?: number
}

/** One cell of a latency matrix: one-way delay bounds between two groups of nodes (by name), both ways. */
export interface LatencyMatrixEntry {
  readonly from: string
  readonly to: string
  readonly fromNodes: readonly string[]
  readonly toNodes: readonly string[]
  readonly latencyMs: readonly [number, number]
}

/** Default one-way delay bounds per profile, in ms. */
export const PROFILE_LATENCY_MS: Readonly<Record<Profile, readonly [number, number]>> = {
  local: [0.1, 1],
  lan: [0.5, 5],
  wan: [20, 150],
}

/** The default settle budget: a crash at the very end must be detectable, and a healed partition must re-merge. */
export function defaultSettleMaxMs(config: SwimConfig, nodes: number): number {
  const suspicionMax = config.suspicionMaxTimeoutMult * suspicionTimeoutMs(config.suspicionMult, nodes, config.probeIntervalMs)
  const pushPull = config.pushPullIntervalMs > 0 ? pushPullScaleMs(config.pushPullIntervalMs, nodes) : 0
  return Math.max(60_000, Math.ceil(suspicionMax + pushPull + config.reconnectIntervalMs + 10_000))
}

export function runScenario(opts: ScenarioOptions): Report {
  const wallStart = performance.now()
  const profile = opts.profile ?? opts.config?.profile ?? 'lan'
  const lifeguard = opts.lifeguard ?? opts.config?.lifeguard ?? true
  const config = resolveConfig({ ...opts.config, lifeguard }, profile)
  const latency = PROFILE_LATENCY_MS[profile]
  const disks = opts.workload?.crdtDurable === true ? new SimCrdtDisks() : undefined
  if (disks !== undefined && opts.createProtocol !== undefined) throw new RangeError('crdtDurable: the simulated data directories build the nodes themselves; drop createProtocol or crdtDurable')
  const sim = new Simulation({
    seed: opts.seed,
    profile,
    config: { ...opts.config, lifeguard },
    network: { latencyMs: latency, ...opts.network },
    trace: opts.trace,
    recordEvents: false,
    createProtocol: disks?.factory ?? opts.createProtocol,
    node: { membershipOnly: opts.membershipOnly ?? false, tags: { role: 'sim' }, ...(opts.replication === undefined ? {} : { replication: opts.replication }) },
  })
  if (opts.membershipOnly && (opts.stack || opts.workload !== undefined)) {
    throw new RangeError('a workload needs the whole stack: drop membershipOnly (--membership-only) or the workload')
  }
  const rng = new SeededRng(deriveSeed(sim.seed, SCENARIO_SEED_INDEX))
  const log = (text: string): void => opts.log?.(text, sim.nowMs)
  const tracker = new ViewTracker()
  tracker.reserve(opts.nodes)
  sim.observe(tracker)
  const tally = new Tally(sim, aftermathWindowMs(config, opts.nodes))
  sim.observe(tally)
  if (opts.observer) sim.observe(opts.observer)
  const workload = opts.stack || opts.workload !== undefined ? new StackWorkload(sim, opts.nodes, opts.workload) : undefined
  if (workload) sim.observe(workload)
  const crdtRate = opts.workload?.crdtOpsPerSec ?? 0
  const crdt = crdtRate > 0 ? new CrdtWorkload(sim, opts.nodes, crdtRate, disks !== undefined) : undefined
  if (crdt) sim.observe(crdt)
  disks?.bind((atMs, fn) => sim.at(atMs, fn))
  if (disks) sim.observe(disks)
  const aggregate = opts.workload?.aggregate === undefined ? undefined : new AggregateWorkload(sim, opts.workload.aggregate)
  if (aggregate) (sim.observe(aggregate), aggregate.start())

  const steps = opts.steps ?? []
  let firstGoneAtMs = Infinity
  const sampler = opts.sampleEveryMs ? new TimeSeriesSampler(sim, tracker, opts.sampleEveryMs) : undefined
  if (sampler) sim.observe(sampler)
  const runner = new StepRunner({
    sim,
    rng,
    durationMs: opts.durationMs,
    log: (text) => {
      sampler?.mark(text)
      log(text)
    },
    onGone: (atMs) => (firstGoneAtMs = Math.min(firstGoneAtMs, atMs)),
  })

  // Phase 1: chaos.
  const networkSteps = [...describeNetwork(sim), ...applyLatencyMatrix(sim, opts.latencyMatrix ?? [])]
  let coordinatesAfter60s: CoordinateAccuracy | null = null
  const coordinateAccuracy = (): CoordinateAccuracy | undefined => {
    const nodes: Array<{ index: number; coordinate: Coordinate }> = []
    for (const n of sim.nodes) {
      const coordinate = n.status === 'running' ? n.protocol.coordinate?.() : undefined
      if (coordinate !== undefined) nodes.push({ index: n.index, coordinate })
    }
    return measureCoordinateAccuracy({ nowMs: sim.nowMs, nodes, link: (a, b) => sim.network.linkOptions(a, b) })
  }
  sim.at(COORDINATES_FIRST_CHECK_MS, () => (coordinatesAfter60s = coordinateAccuracy() ?? null))
  sim.spawn(opts.nodes, { joinSpreadMs: opts.joinSpreadMs })
  tracker.restartConvergenceClock()
  log(`spawned ${opts.nodes} nodes running ${opts.membershipOnly ? 'SWIM alone' : 'the whole Grapevine stack'}`)
  workload?.start(opts.durationMs)
  crdt?.start(opts.durationMs, opts.workload?.windowMs, opts.workload?.crdtStartMs)
  sampler?.start()
  for (const step of steps) runner.schedule(step)
  sim.runUntilTime(opts.durationMs)

  // Phase 2: heal and settle.
  const settleMaxMs = opts.settleMaxMs ?? defaultSettleMaxMs(config, opts.nodes)
  const settleStart = sim.nowMs
  sim.heal()
  sim.network.calm()
  log('settle: partitions healed, loss off')
  sampler?.mark('settle')
  const settleEnd = settleStart + settleMaxMs
  let final = sim.convergence()
  while (!final.converged && sim.nowMs < settleEnd) {
    // The incremental tracker is cheap; the members() check is authoritative. Both must agree.
    if (sim.runUntil(() => tracker.converged, settleEnd - sim.nowMs)) {
      final = sim.convergence()
      if (!final.converged) sim.runFor(Math.min(1000, settleEnd - sim.nowMs))
    }
    final = sim.convergence()
  }
  log(final.converged ? 'converged' : `not converged after ${formatDurationMs(settleMaxMs)} of settling`)
  if (workload && sim.nowMs < settleEnd) {
    const settled = sim.runUntil(() => workload.settled() && (crdt?.settled() ?? true), settleEnd - sim.nowMs, { checkEveryMs: CHECK_EVERY_MS })
    log(settled ? 'state converged, broadcasts delivered' : 'state or broadcasts not settled')
  }

  const coordinatesAtEnd = coordinateAccuracy()
  const wallMs = performance.now() - wallStart
  const virtualMs = sim.nowMs
  const seconds = virtualMs / 1000
  const perNodeSec = opts.nodes > 0 && seconds > 0 ? 1 / (opts.nodes * seconds) : 0
  let streams = 0
  for (const n of sim.nodes) streams += n.counters.streamsOpened
  const detection: DetectionReport[] = tracker.detectionRecords().map((d) => ({
    node: d.node,
    crashedAtMs: d.crashedAtMs,
    firstSuspicionMs: d.firstSuspicionAtMs === null ? null : d.firstSuspicionAtMs - d.crashedAtMs,
    firstDeadMs: d.firstDeadAtMs === null ? null : d.firstDeadAtMs - d.crashedAtMs,
    deadEverywhereMs: d.deadEverywhereAtMs === null ? null : d.deadEverywhereAtMs - d.crashedAtMs,
  }))
  const joined = tracker.firstConvergedAtMs
  return {
    seed: sim.seed,
    nodes: opts.nodes,
    profile,
    lifeguard,
    steps: [`spawn ${opts.nodes} nodes at 0s, joining node-000`, ...networkSteps, ...steps.map(formatStep)],
    durationMs: opts.durationMs,
    virtualMs,
    wallMs,
    settleMs: virtualMs - settleStart,
    settleMaxMs,
    converged: final.converged,
    convergenceMismatches: final.mismatches,
    convergenceExamples: final.examples,
    joinConvergenceMs: joined !== null && joined <= firstGoneAtMs ? joined : null,
    detection,
    falsePositives: { suspicions: tally.falseSuspicions, deaths: tally.falseDeaths },
    falsePositivesInAftermath: { suspicions: tally.aftermathSuspicions, deaths: tally.aftermathDeaths, windowMs: tally.windowMs },
    accusations: { suspicions: tally.suspicions, deaths: tally.deaths },
    refutations: tally.refutations,
    healthMaxima: sim.nodes.filter((n) => (tally.healthMax[n.index] ?? 0) > 0).map((n) => ({ node: n.name, maxScore: tally.healthMax[n.index] })),
    messagesPerNodePerSec: sim.stats.packetsSent * perNodeSec,
    bytesPerNodePerSec: sim.stats.bytesSent * perNodeSec,
    streamsPerNodePerSec: streams * perNodeSec,
    eventsProcessed: sim.stats.eventsProcessed,
    eventsPerWallSec: wallMs > 0 ? (sim.stats.eventsProcessed * 1000) / wallMs : 0,
    speedup: wallMs > 0 ? virtualMs / wallMs : 0,
    network: { ...sim.network.stats },
    ...(workload ? workloadFields(workload) : {}),
    ...(crdt ? crdtFields(crdt) : {}),
    ...(aggregate ? { aggregate: aggregate.report() } : {}),
    ...(coordinatesAtEnd !== undefined ? { coordinates: { after60s: coordinatesAfter60s, atEnd: coordinatesAtEnd } } : {}),
    ...(sampler ? { timeSeries: sampler.result } : {}),
  }
}

function crdtFields(crdt: CrdtWorkload): Pick<Report, 'crdt' | 'crdtConvergenceMs' | 'crdtExact' | 'bytesPerOp'> {
  const r = crdt.report()
  return { crdt: r, crdtConvergenceMs: r.crdtConvergenceMs, crdtExact: r.crdtExact, bytesPerOp: r.bytesPerOp }
}

function workloadFields(workload: StackWorkload): Pick<Report, 'workload' | 'stateConvergenceMs' | 'stateDigest' | 'broadcastDelivery' | 'bytesPerUpdate'> {
  const { stateConvergenceMs, stateDigest, broadcastDelivery, bytesPerUpdate, ...summary } = workload.report()
  return { workload: summary, stateConvergenceMs, stateDigest, broadcastDelivery, bytesPerUpdate }
}

/** Shapes the links of a latency matrix; returns one line per entry for the report's steps. */
function applyLatencyMatrix(sim: Simulation, matrix: readonly LatencyMatrixEntry[]): string[] {
  const lines: string[] = []
  for (const e of matrix) {
    const a = e.fromNodes.map(nodeIndexOf).filter((i) => i >= 0)
    const b = e.toNodes.map(nodeIndexOf).filter((i) => i >= 0)
    const overrides = { oneWayDelayMsMin: e.latencyMs[0], oneWayDelayMsMax: e.latencyMs[1] }
    sim.network.shape(a, b, overrides)
    if (e.from !== e.to) sim.network.shape(b, a, overrides)
    const where = e.from === e.to ? `inside ${e.from}` : `between ${e.from} and ${e.to}`
    lines.push(`latency ${formatDurationMs(e.latencyMs[0])}..${formatDurationMs(e.latencyMs[1])} one way ${where}`)
  }
  return lines
}

function describeNetwork(sim: Simulation): string[] {
  const o = sim.network.options
  const lines = [`latency ${formatDurationMs(o.oneWayDelayMsMin)}..${formatDurationMs(o.oneWayDelayMsMax)} one way`]
  if (o.packetLossProbability > 0) lines.push(`loss ${+(o.packetLossProbability * 100).toFixed(3)}%`)
  const streamLoss = o.streamSegmentLossProbability
  if (streamLoss !== undefined && streamLoss !== o.packetLossProbability) lines.push(`stream segment loss ${+(streamLoss * 100).toFixed(3)}%`)
  if (o.packetDuplicationProbability > 0) lines.push(`duplication ${+(o.packetDuplicationProbability * 100).toFixed(3)}%`)
  if (o.packetReorderProbability > 0) lines.push(`reordering ${+(o.packetReorderProbability * 100).toFixed(3)}%`)
  return lines
}

/**
 * How long after a fault ends an accusation it caused can still complete: a probe interval plus the
 * longest suspicion timeout (Lifeguard's max, or the fixed min without it).
 */
export function aftermathWindowMs(config: SwimConfig, nodes: number): number {
  const min = suspicionTimeoutMs(config.suspicionMult, nodes, config.probeIntervalMs)
  return Math.ceil(config.probeIntervalMs + (config.lifeguard ? config.suspicionMaxTimeoutMult * min : min))
}

/** Counts accusations (and which were false), refutations and health maxima from the event stream. */
export class Tally implements SimObserver {
  suspicions = 0
  deaths = 0
  falseSuspicions = 0
  falseDeaths = 0
  aftermathSuspicions = 0
  aftermathDeaths = 0
  refutations = 0
  readonly healthMax: number[] = []

  constructor(
    private readonly sim: Simulation,
    readonly windowMs: number,
  ) {}

  /** Whether a partition was lifted, or either node resumed from a pause or restarted, within the window before now. */
  private inAftermath(accuser: SimNode, accused: SimNode, atMs: number): boolean {
    const faults = this.sim.faults
    for (let i = faults.length - 1; i >= 0; i--) {
      const f = faults[i]
      if (atMs - f.atMs > this.windowMs) return false
      if (f.kind === 'heal' || f.kind === 'unblock') return true
      if ((f.kind === 'resume' || f.kind === 'restart') && (f.nodes[0] === accuser.name || f.nodes[0] === accused.name)) return true
    }
    return false
  }

  onEvent(node: SimNode, event: NodeEvent): void {
    switch (event.type) {
      case 'suspected':
      case 'failed': {
        // First-hand only: this node's own probe failed, or its own suspicion timer expired. memberlist
        // also turns dead/suspect entries of a push-pull into local suspicions with from = self; those
        // are second-hand news, not this node's judgement.
        if (event.from !== node.name || (event.via !== 'probe' && event.via !== 'timeout')) return
        const isSuspicion = event.type === 'suspected'
        if (isSuspicion) this.suspicions++
        else this.deaths++
        const accused = this.sim.node(event.member.name)
        if (accused === undefined || accused.status !== 'running' || accused.leaving) return
        if (!this.sim.network.connected(node.index, accused.index)) return
        const aftermath = this.inAftermath(node, accused, this.sim.nowMs)
        if (isSuspicion) {
          this.falseSuspicions++
          if (aftermath) this.aftermathSuspicions++
        } else {
          this.falseDeaths++
          if (aftermath) this.aftermathDeaths++
        }
        return
      }
      case 'refuted':
        this.refutations++
        return
      case 'health':
        if (event.score > (this.healthMax[node.index] ?? 0)) this.healthMax[node.index] = event.score
        return
    }
  }
}
