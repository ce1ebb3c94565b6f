/**
 * Gossip aggregation under a scenario (`--aggregate avg,count`, scenario field `workload: { aggregate:
 * { functions: [avg, count], mode: push-sum, cycle: 1s, epochCycles: 20 } }`): every node runs the
 * composed node a real node runs, and each named function is started on it through the node's own input
 * (node/aggregation.ts startAggregate) as soon as it starts, again after each restart, and on nodes that
 * join later, while the scenario's faults apply to the very packets the aggregation sends.
 *
 *   values     node i contributes 1 + (a number in 0..99 drawn for i from the run seed): fixed per node,
 *              so the truth changes only with membership (crashes, restarts, joins, leaves)
 *   truth      over the live nodes (running or paused) at that instant: avg, sum, count, min, max
 *   epochs     each `aggregateEstimate` event (a node published its estimate of an epoch) is compared
 *              with the truth then: per epoch the worst and median relative error, the nodes that
 *              published, and the widest `spread` they reported
 *   1 %        sampled once a cycle: `firstWithin1PctMs`, from the start until every live node's published
 *              estimate is within 1 % of the truth; `cyclesToWithin1Pct`, per epoch, from the first
 *              sample that saw the epoch until every live node's running estimate of it was within 1 %
 *   theory     the papers' variance factor per cycle (push-pull 1/(2√e) ≈ 0.303, push-sum 1/2) and the
 *              cycles it predicts for the estimates' standard deviation to fall to 1 % of the truth from
 *              the values' initial relative variance (count and sum start from one node's weight: N)
 *
 * Deterministic: values derive from the run seed; sampling is by virtual time.
 */
import { deriveSeed, SeededRng } from '../../core/rng.js'
import { aggregateStatus, startAggregate, AGGREGATE_DEFAULTS } from '../../node/index.js'
import type { AggregateFunctionName, AggregationMode, ComposedNode, NodeEvent } from '../../node/index.js'
import type { SimNode } from './node.js'
import type { SimObserver, Simulation } from './simulation.js'

/** Reserved child-seed index of the nodes' values. */
export const AGGREGATE_WORKLOAD_SEED_INDEX = 0x7ff0_0006
const WITHIN = 0.01

export interface AggregateWorkloadOptions {
  /** The functions computed, each as an aggregate named after it. */
  readonly functions: readonly AggregateFunctionName[]
  /** Default push-pull. */
  readonly mode?: AggregationMode
  /** Default 1000 (the node's default). */
  readonly cycleMs?: number
  /** Default 20 (the node's default). */
  readonly epochCycles?: number
}

export interface AggregateEpochReport {
  readonly epoch: number
  /** The truth when the first node published this epoch. */
  readonly truth: number
  /** Nodes that published an estimate of this epoch (a node away for it publishes none). */
  readonly nodes: number
  /** Over those nodes, |estimate − truth| / |truth| (estimates with no value count as 1). */
  readonly maxRelativeError: number
  readonly medianRelativeError: number
  /** The widest `spread` a node published for this epoch. */
  readonly maxSpread: number
}

export interface AggregateFunctionReport {
  readonly function: AggregateFunctionName
  readonly mode: AggregationMode
  readonly cycleMs: number
  readonly epochCycles: number
  /** The truth over the live nodes at the end of the run. */
  readonly truthAtEnd: number
  readonly epochs: readonly AggregateEpochReport[]
  /** From the start until every live node's published estimate was within 1 %; null when never. */
  readonly firstWithin1PctMs: number | null
  /** Per complete epoch seen by the sampler: cycles until every live node's running estimate was within 1 % (null: not within it). */
  readonly cyclesToWithin1Pct: ReadonlyArray<number | null>
  readonly theory: { readonly varianceFactorPerCycle: number | null; readonly cyclesToStdWithin1Pct: number | null; readonly note: string }
}

export interface AggregateWorkloadReport {
  readonly mode: AggregationMode
  readonly cycleMs: number
  readonly epochCycles: number
  readonly functions: readonly AggregateFunctionReport[]
}

interface EpochAcc {
  truth: number
  errors: number[]
  maxSpread: number
}

interface FunctionAcc {
  readonly fn: AggregateFunctionName
  readonly epochs: Map<number, EpochAcc>
  firstWithinMs: number | null
  /** Per epoch: the first sample time that saw it, and when it was within 1 % everywhere. */
  readonly sampled: Map<number, { firstSeenMs: number; withinMs: number | null }>
}

export function truthOf(fn: AggregateFunctionName, values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sum = values.reduce((a, b) => a + b, 0)
  switch (fn) {
    case 'avg':
      return sum / values.length
    case 'sum':
      return sum
    case 'count':
      return values.length
    case 'min':
      return Math.min(...values)
    case 'max':
      return Math.max(...values)
  }
}

function relativeError(value: number | undefined, truth: number): number {
  if (value === undefined || !Number.isFinite(value)) return 1
  return Math.abs(value - truth) / Math.max(Math.abs(truth), 1e-12)
}

/** The papers' variance factor per cycle and the cycles it predicts for the std to reach 1 % of the truth. */
export function aggregateTheory(fn: AggregateFunctionName, mode: AggregationMode, values: readonly number[]): AggregateFunctionReport['theory'] {
  if (fn === 'min' || fn === 'max') return { varianceFactorPerCycle: null, cyclesToStdWithin1Pct: null, note: 'an epidemic: every node within about log2 N + ln N cycles' }
  const factor = mode === 'push-pull' ? 1 / (2 * Math.sqrt(Math.E)) : 0.5
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / n
  // avg (and push-sum's avg weights) mix the values; count and sum carry one node's weight: relative variance N − 1.
  const relVar0 = fn === 'avg' ? variance / (mean * mean) : n - 1
  const cycles = relVar0 <= WITHIN * WITHIN ? 0 : Math.ceil(Math.log((WITHIN * WITHIN) / relVar0) / Math.log(factor))
  const paper = mode === 'push-pull' ? 'variance × 1/(2√e) ≈ 0.303 a cycle (Jelasity et al. 2005)' : 'variance × 1/2 a cycle once mixed (Kempe et al. 2003)'
  return { varianceFactorPerCycle: factor, cyclesToStdWithin1Pct: cycles, note: `${paper}; from a relative variance of ${relVar0.toPrecision(3)}` }
}

export class AggregateWorkload implements SimObserver {
  readonly mode: AggregationMode
  readonly cycleMs: number
  readonly epochCycles: number
  private readonly acc: FunctionAcc[]
  private readonly valueSeed: number
  private readonly values = new Map<number, number>()
  private startMs = 0
  private initialValues: number[] = []

  constructor(
    private readonly sim: Simulation,
    options: AggregateWorkloadOptions,
  ) {
    this.mode = options.mode ?? AGGREGATE_DEFAULTS.mode
    this.cycleMs = options.cycleMs ?? AGGREGATE_DEFAULTS.cycleMs
    this.epochCycles = options.epochCycles ?? AGGREGATE_DEFAULTS.epochCycles
    this.acc = [...new Set(options.functions)].map((fn) => ({ fn, epochs: new Map(), firstWithinMs: null, sampled: new Map() }))
    this.valueSeed = deriveSeed(sim.seed, AGGREGATE_WORKLOAD_SEED_INDEX)
  }

  /** The value node `index` contributes (fixed for the run). */
  valueOf(index: number): number {
    let v = this.values.get(index)
    if (v === undefined) this.values.set(index, (v = 1 + new SeededRng(deriveSeed(this.valueSeed, index)).int(100)))
    return v
  }

  /** Starts sampling; nodes spawned or restarted from now on run the aggregates. Call before spawning. */
  start(): void {
    this.startMs = this.sim.nowMs
    const sample = (): void => {
      this.sample()
      this.sim.at(this.sim.nowMs + this.cycleMs, sample)
    }
    this.sim.at(this.startMs + this.cycleMs, sample)
  }

  onSpawn(node: SimNode, atMs: number): void {
    this.sim.at(atMs, () => this.run(node))
  }

  onRestart(node: SimNode, atMs: number): void {
    this.sim.at(atMs, () => this.run(node))
  }

  onEvent(_node: SimNode, event: NodeEvent): void {
    if (event.type !== 'aggregateEstimate') return
    const a = this.acc.find((x) => x.fn === event.name)
    if (a === undefined) return
    const e = event.estimate
    let epoch = a.epochs.get(e.epoch)
    if (epoch === undefined) a.epochs.set(e.epoch, (epoch = { truth: this.truth(a.fn), errors: [], maxSpread: 0 }))
    epoch.errors.push(relativeError(e.value, epoch.truth))
    if (Number.isFinite(e.spread)) epoch.maxSpread = Math.max(epoch.maxSpread, e.spread)
  }

  report(): AggregateWorkloadReport {
    if (this.initialValues.length === 0) this.initialValues = this.sim.nodes.map((n) => this.valueOf(n.index))
    return {
      mode: this.mode,
      cycleMs: this.cycleMs,
      epochCycles: this.epochCycles,
      functions: this.acc.map((a) => ({
        function: a.fn,
        mode: this.mode,
        cycleMs: this.cycleMs,
        epochCycles: this.epochCycles,
        truthAtEnd: this.truth(a.fn),
        epochs: [...a.epochs.entries()].sort(([x], [y]) => x - y).map(([epoch, e]) => {
          const sorted = [...e.errors].sort((x, y) => x - y)
          return { epoch, truth: e.truth, nodes: sorted.length, maxRelativeError: sorted[sorted.length - 1], medianRelativeError: sorted[Math.floor((sorted.length - 1) / 2)], maxSpread: e.maxSpread }
        }),
        firstWithin1PctMs: a.firstWithinMs,
        // The last epoch sampled may still be under way: only epochs a later one followed count.
        cyclesToWithin1Pct: [...a.sampled.entries()].sort(([x], [y]) => x - y).slice(0, -1).map(([, s]) => (s.withinMs === null ? null : Math.round((s.withinMs - s.firstSeenMs) / this.cycleMs))),
        theory: aggregateTheory(a.fn, this.mode, this.initialValues),
      })),
    }
  }

  // ------------------------------------------------------------------ internals

  private run(node: SimNode): void {
    if (node.status !== 'running') return
    if (node.protocol === undefined || (node.protocol as ComposedNode).stack === undefined) throw new Error(`${node.name} runs no Grapevine stack: the aggregate workload needs the whole stack on every node`)
    // The initial values, for the theory: those of the nodes spawned at the start.
    if (this.sim.nowMs === this.startMs) this.initialValues.push(this.valueOf(node.index))
    const value = this.valueOf(node.index)
    for (const a of this.acc) {
      this.sim.invoke(node, (p, now, out) => startAggregate(p as ComposedNode, a.fn, a.fn, () => value, { mode: this.mode, cycleMs: this.cycleMs, epochCycles: this.epochCycles }, now, out))
    }
  }

  private truth(fn: AggregateFunctionName): number {
    return truthOf(fn, this.sim.liveNodes().map((n) => this.valueOf(n.index)))
  }

  private sample(): void {
    const live = this.sim.liveNodes()
    if (live.length === 0) return
    const now = this.sim.nowMs
    for (const a of this.acc) {
      const truth = this.truth(a.fn)
      let published = true
      let epoch: number | undefined
      let sameEpoch = true
      let running = true
      for (const n of live) {
        const s = aggregateStatus(n.protocol as ComposedNode, a.fn)
        if (s === undefined) {
          published = running = sameEpoch = false
          break
        }
        if (relativeError(s.estimate?.value, truth) > WITHIN) published = false
        if (epoch === undefined) epoch = s.running.epoch
        else if (epoch !== s.running.epoch) sameEpoch = false
        if (relativeError(s.running.value, truth) > WITHIN) running = false
      }
      if (published && a.firstWithinMs === null) a.firstWithinMs = now - this.startMs
      if (epoch === undefined || !sameEpoch) continue
      let seen = a.sampled.get(epoch)
      if (seen === undefined) a.sampled.set(epoch, (seen = { firstSeenMs: now, withinMs: null }))
      if (running && seen.withinMs === null) seen.withinMs = now
    }
  }
}
