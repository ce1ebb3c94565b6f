/**
 * Gossip aggregation at scale (typed arrays, millions of nodes): push-pull averaging (Jelasity, Montresor,
 * Babaoglu, "Gossip-based aggregation in large dynamic networks", ACM TOCS 2005) and push-sum (Kempe,
 * Dobra, Gehrke, "Gossip-based computation of aggregate information", FOCS 2003), with the theory each
 * paper derives printed beside the measurement.
 *
 *   push-pull, one exchange:  i ──x_i──► j,  j ──x_j──► i,  both set x := (x_i + x_j) / 2   (min/max: min/max)
 *   push-sum,  one round:     every i keeps (s_i/2, w_i/2) and sends (s_i/2, w_i/2) to one random node;
 *                             estimate s_i / w_i                                         (min/max: send the value)
 *
 * Pairings of a push-pull cycle (N exchanges), and the per-cycle variance factor the 2005 paper derives:
 *   sequential  every node initiates once, in a fresh random order, with a random peer   1/(2√e) ≈ 0.303
 *   random      N pairs drawn uniformly at random, one after another                     1/e    ≈ 0.368
 *   matching    two random perfect matchings (each node in one pair of each)              1/4
 * Push-sum: the mass potential halves per round (Kempe et al.), so the error falls by about 1/√2.
 *
 * Functions: avg (x_0 = value), sum (average of the value over the average of an indicator that is 1 at
 * one node: N·avg), count (the indicator alone: N = 1 / x), min, max. Values are drawn uniformly in
 * [0, 100). The network of this model is the papers': exchanges are atomic and never lost; what loss and
 * concurrent exchanges do is a question for the simulator, not for this lab.
 */
import { deriveSeed } from '../core/rng.js'
import { LabRng } from './lab-rng.js'

export const AGGREGATE_MODES = ['push-pull', 'push-sum'] as const
export const AGGREGATE_FUNCTIONS = ['avg', 'sum', 'count', 'min', 'max'] as const
export const AGGREGATE_PAIRINGS = ['sequential', 'random', 'matching'] as const
export type AggregateMode = (typeof AGGREGATE_MODES)[number]
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number]
export type AggregatePairing = (typeof AGGREGATE_PAIRINGS)[number]

export interface AggregateOptions {
  mode: AggregateMode
  fn: AggregateFunction
  pairing: AggregatePairing
  nodes: number
  cycles: number
  runs: number
  seed: number
}

/** Per cycle (index 0: before the first cycle), the mean over runs. */
export interface AggregateResult {
  options: AggregateOptions
  /** The exact aggregate of the initial values (mean over runs). */
  truth: number
  /** Variance across nodes of the quantity being averaged (push-sum: of the estimates s/w where w > 0). */
  variance: number[]
  /** variance[c] / variance[c-1] (index 0: null); null once the variance reaches rounding noise. */
  varianceFactor: Array<number | null>
  /** max over nodes of |estimate - truth| / |truth|; null while some node has no estimate (count, w = 0). */
  maxRelativeError: Array<number | null>
  /** The median node's estimate (for count: of N). */
  estimate: number[]
  theory: AggregateTheory
  /**
   * Geometric mean of the measured variance factors from `settledFromCycle` on, before rounding noise.
   * Push-pull's factor holds from the first cycle; push-sum's only once the weights have mixed, after
   * about 2·log2 N rounds (before that, nodes holding almost no weight give wild estimates).
   */
  meanVarianceFactor: number | null
  settledFromCycle: number
  elapsedMs: number
}

export interface AggregateTheory {
  /** Expected variance factor per cycle; null for min/max, which spread as an epidemic instead. */
  varianceFactor: number | null
  /** Expected error factor per cycle (the square root). */
  errorFactor: number | null
  source: string
}

export function aggregateTheory(mode: AggregateMode, fn: AggregateFunction, pairing: AggregatePairing): AggregateTheory {
  if (fn === 'min' || fn === 'max') {
    return { varianceFactor: null, errorFactor: null, source: 'min/max spread as an epidemic: every node knows after about log3 N + O(ln ln N) push-pull cycles (Karp et al. 2000)' }
  }
  if (mode === 'push-sum') return { varianceFactor: 0.5, errorFactor: Math.SQRT1_2, source: 'Kempe, Dobra, Gehrke 2003: the potential halves per round' }
  const f = pairing === 'sequential' ? 1 / (2 * Math.sqrt(Math.E)) : pairing === 'random' ? 1 / Math.E : 0.25
  return { varianceFactor: f, errorFactor: Math.sqrt(f), source: `Jelasity, Montresor, Babaoglu 2005, ${pairing} pairing` }
}

/** Variance below this fraction of the initial one is floating-point noise: factors stop being reported. */
const NOISE_FLOOR = 1e-24

/** One run's state: the averaged quantities of every node. */
class Run {
  readonly x: Float64Array
  /** sum: the indicator average; push-sum: the weight. */
  readonly w: Float64Array
  /** push-sum's outgoing halves of this round. */
  private readonly inX: Float64Array
  private readonly inW: Float64Array
  private readonly order: Int32Array
  truth = 0

  constructor(readonly o: AggregateOptions, readonly rng: LabRng) {
    const n = o.nodes
    this.x = new Float64Array(n)
    this.w = new Float64Array(n)
    this.inX = new Float64Array(n)
    this.inW = new Float64Array(n)
    this.order = new Int32Array(n)
    let sum = 0
    let min = Infinity
    let max = -Infinity
    for (let i = 0; i < n; i++) {
      const v = rng.float() * 100
      sum += v
      if (v < min) min = v
      if (v > max) max = v
      this.x[i] = o.fn === 'count' ? (i === 0 ? 1 : 0) : v
      // push-pull avg/min/max ignore w; push-sum avg: w = 1 everywhere; sum and count: an indicator.
      this.w[i] = o.fn === 'sum' || o.fn === 'count' ? (i === 0 ? 1 : 0) : 1
    }
    if (o.mode === 'push-sum' && o.fn === 'count') this.x.fill(1)
    this.truth = o.fn === 'avg' ? sum / n : o.fn === 'sum' ? sum : o.fn === 'count' ? n : o.fn === 'min' ? min : max
  }

  private exchange(i: number, j: number): void {
    const x = this.x
    if (this.o.fn === 'min') x[i] = x[j] = Math.min(x[i], x[j])
    else if (this.o.fn === 'max') x[i] = x[j] = Math.max(x[i], x[j])
    else {
      x[i] = x[j] = (x[i] + x[j]) / 2
      const w = this.w
      w[i] = w[j] = (w[i] + w[j]) / 2
    }
  }

  private peerOf(i: number): number {
    const j = this.rng.below(this.o.nodes - 1)
    return j >= i ? j + 1 : j
  }

  private shuffle(): void {
    const a = this.order
    for (let i = 0; i < a.length; i++) a[i] = i
    for (let i = a.length - 1; i > 0; i--) {
      const k = this.rng.below(i + 1)
      const t = a[i]
      a[i] = a[k]
      a[k] = t
    }
  }

  cycle(): void {
    const n = this.o.nodes
    if (this.o.mode === 'push-sum') return this.pushSumRound()
    if (this.o.pairing === 'sequential') {
      this.shuffle()
      for (let k = 0; k < n; k++) this.exchange(this.order[k], this.peerOf(this.order[k]))
    } else if (this.o.pairing === 'random') {
      for (let k = 0; k < n; k++) {
        const i = this.rng.below(n)
        this.exchange(i, this.peerOf(i))
      }
    } else {
      for (let m = 0; m < 2; m++) {
        this.shuffle()
        for (let k = 0; k + 1 < n; k += 2) this.exchange(this.order[k], this.order[k + 1])
      }
    }
  }

  private pushSumRound(): void {
    const { x, w, inX, inW } = this
    const n = this.o.nodes
    const extreme = this.o.fn === 'min' || this.o.fn === 'max'
    if (extreme) inX.set(x)
    else {
      inX.fill(0)
      inW.fill(0)
    }
    for (let i = 0; i < n; i++) {
      const j = this.peerOf(i)
      if (extreme) {
        inX[j] = this.o.fn === 'min' ? Math.min(inX[j], x[i]) : Math.max(inX[j], x[i])
        continue
      }
      const hx = x[i] / 2
      const hw = w[i] / 2
      inX[i] += hx
      inW[i] += hw
      inX[j] += hx
      inW[j] += hw
    }
    x.set(inX)
    if (!extreme) w.set(inW)
  }

  /** A node's estimate of the aggregate, or NaN when it has none yet. */
  estimateOf(i: number): number {
    const { fn, mode } = this.o
    if (fn === 'min' || fn === 'max') return this.x[i]
    if (mode === 'push-sum') return this.w[i] > 0 ? this.x[i] / this.w[i] : NaN
    if (fn === 'avg') return this.x[i]
    if (fn === 'count') return this.x[i] > 0 ? 1 / this.x[i] : NaN
    return this.w[i] > 0 ? this.x[i] / this.w[i] : NaN // sum = avg(value) / avg(indicator)
  }

  /** Variance of the averaged quantity (push-pull) or of the defined estimates (push-sum, min, max). */
  variance(): number {
    const n = this.o.nodes
    const direct = this.o.mode === 'push-pull' && this.o.fn !== 'sum'
    let count = 0
    let mean = 0
    let m2 = 0
    for (let i = 0; i < n; i++) {
      const v = direct ? this.x[i] : this.o.fn === 'sum' && this.o.mode === 'push-pull' ? this.w[i] : this.estimateOf(i)
      if (Number.isNaN(v)) continue
      count++
      const d = v - mean
      mean += d / count
      m2 += d * (v - mean)
    }
    return count > 1 ? m2 / (count - 1) : 0
  }

  /** [max relative error or NaN if some node has no estimate, median estimate]. */
  errorAndMedian(scratch: Float64Array): [number, number] {
    const n = this.o.nodes
    let worst = 0
    let undefinedSeen = false
    for (let i = 0; i < n; i++) {
      const e = this.estimateOf(i)
      scratch[i] = Number.isNaN(e) ? Infinity : e
      if (Number.isNaN(e)) undefinedSeen = true
      else worst = Math.max(worst, Math.abs(e - this.truth) / Math.abs(this.truth))
    }
    scratch.sort()
    return [undefinedSeen ? NaN : worst, scratch[n >> 1]]
  }
}

export function runAggregate(o: AggregateOptions, clockMs: () => number = () => 0): AggregateResult {
  const started = clockMs()
  const c = o.cycles
  const variance = new Array<number>(c + 1).fill(0)
  const errorSum = new Array<number>(c + 1).fill(0)
  const errorUndefined = new Array<boolean>(c + 1).fill(false)
  const estimate = new Array<number>(c + 1).fill(0)
  const scratch = new Float64Array(o.nodes)
  let truth = 0
  for (let r = 0; r < o.runs; r++) {
    const run = new Run(o, new LabRng(deriveSeed(o.seed, r)))
    truth += run.truth / o.runs
    for (let k = 0; k <= c; k++) {
      if (k > 0) run.cycle()
      variance[k] += run.variance() / o.runs
      const [err, median] = run.errorAndMedian(scratch)
      if (Number.isNaN(err)) errorUndefined[k] = true
      else errorSum[k] += err / o.runs
      estimate[k] += median / o.runs
    }
  }
  const floor = variance[0] * NOISE_FLOOR
  const varianceFactor = variance.map((v, k) => (k === 0 || variance[k - 1] <= floor || v <= floor ? null : v / variance[k - 1]))
  const settledFromCycle = o.mode === 'push-pull' ? 1 : 2 * Math.ceil(Math.log2(o.nodes)) + 1
  const factors = varianceFactor.filter((f, k): f is number => f !== null && k >= settledFromCycle)
  const meanVarianceFactor = factors.length === 0 ? null : Math.exp(factors.reduce((s, f) => s + Math.log(f), 0) / factors.length)
  return {
    options: o,
    truth,
    variance,
    varianceFactor,
    maxRelativeError: errorSum.map((e, k) => (errorUndefined[k] ? null : e)),
    estimate,
    theory: aggregateTheory(o.mode, o.fn, o.pairing),
    meanVarianceFactor,
    settledFromCycle,
    elapsedMs: clockMs() - started,
  }
}
