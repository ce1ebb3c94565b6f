/**
 * The φ (phi) accrual failure detector of Hayashibara, Défago, Yared and Katayama (2004), with Akka's
 * semantics, fed by heartbeat arrivals; pure (the caller passes `nowMs`, a monotonic clock reading).
 *
 * Instead of a yes/no verdict it gives a suspicion level that grows with the silence since the last
 * heartbeat, scaled by how regular the heartbeats have been:
 *
 * ```
 *   heartbeats ──▶ intervals (bounded window) ──▶ mean μ, standard deviation σ
 *                                                          │
 *   nowMs − lastHeartbeatMs = t ─────────────────────────▶ φ(t) = −log10(1 − F(t))
 *                                                          │
 *                                        φ ≥ threshold ──▶ not available
 * ```
 *
 * F is the CDF of a normal distribution with mean μ + acceptableHeartbeatPauseMs and deviation
 * max(σ, minStdDeviationMs). φ = 1 means the heartbeat being this late had a 10 % chance, φ = 8 a chance
 * of 10⁻⁸. Like Akka, F is the logistic approximation of the normal CDF (Bowling et al. 2009,
 * "A logistic approximation to the cumulative normal distribution"):
 *
 * ```
 *   y = (t − μ − pause) / σ        z = y · (1.5976 + 0.070566 · y²)
 *   1 − F(t) ≈ 1 / (1 + e^z)   so   φ(t) = log10(1 + e^z)
 * ```
 *
 * Akka evaluates `−log10(e / (1 + e))` with `e = exp(−z)`, which becomes +∞ once e underflows (y ≳ 21.6,
 * about 2.2 s past the expected arrival when σ = 100 ms), in two branches. We evaluate
 * the same quantity as a stable softplus, `(max(z, 0) + log1p(exp(−|z|))) / ln 10`: identical where
 * Akka's is finite, finite for every finite input (≈ 0.0306 · y³ for large y), ≥ 0, and non-decreasing in
 * t, so no cap is needed. `elapsedForPhi` inverts it exactly (a depressed cubic), which gives the time
 * at which a silent node crosses the threshold: `thresholdElapsedMs()`.
 *
 * ## Parameters and defaults
 *
 * | field | default | source |
 * | --- | --- | --- |
 * | `threshold` | 8 | Akka `akka.cluster.failure-detector.threshold = 8.0`; Cassandra `phi_convict_threshold: 8`; chitchat 8 |
 * | `maxSampleSize` | 1000 | Akka `max-sample-size = 1000`; Cassandra's `ArrivalWindow` keeps 1000; chitchat's window 1000 |
 * | `minStdDeviationMs` | 100 | Akka `min-std-deviation = 100 ms` (cluster and remote watch) |
 * | `acceptableHeartbeatPauseMs` | 3000 | Akka cluster `acceptable-heartbeat-pause = 3 s` |
 * | `firstHeartbeatEstimateMs` | 1000 | Akka uses `heartbeat-interval = 1 s`; our state gossip runs every second |
 *
 * Why these and not Cassandra's shape: Cassandra models arrivals as exponential (φ = t / (μ ln 10), so
 * σ is effectively μ and a 1 s heartbeat is convicted after ≈ 18 s), and drops intervals longer than
 * `fd_max_interval_ms`; it has no minimum deviation or pause. We keep Akka's normal model, where the
 * tolerance is explicit: `minStdDeviationMs` only matters for very regular arrivals (it stops φ from
 * becoming a step function), and `acceptableHeartbeatPauseMs` is the knob that says "this much extra
 * silence is normal" (GC, a lost gossip round). A bigger minimum deviation would hide the same margin
 * in a less readable unit, so we take Akka's 100 ms. With regular 1 s heartbeats a crash is declared
 * about 1000 + 3000 + 5.23 · 100 ≈ 4.5 s after the last heartbeat. Heartbeats relayed by gossip are
 * jittery and σ is learned from them: with σ = 500 ms the crossing is at 1000 + 3000 + 5.23 · 500 ≈ 6.6 s.
 *
 * Bootstrap (Akka): the first heartbeat seeds the window with μ ± μ/4 for μ = firstHeartbeatEstimateMs,
 * that is σ = μ/4, so φ is meaningful from the first heartbeat; the seeds age out of the window like
 * any interval. An interval is recorded only if the node was available when the heartbeat arrived
 * (φ < threshold): a long outage must not teach the detector that outages are normal.
 *
 * What to feed it: call `heartbeat` once per observed increase of a node's heartbeat counter (in the
 * state protocol, a Syn/Ack/Ack2 digest or delta that carries a higher heartbeat), not once per message
 * that mentions the node. A restarted node (new generation) can be `remove`d and start afresh.
 *
 * ## With SWIM
 *
 * SWIM's probe-based suspicion (with Lifeguard) decides membership; φ is a second opinion computed from
 * a different signal: heartbeats that reach us by gossip, possibly relayed, so φ says "someone in the
 * cluster still hears from this node", while a failed probe says "I cannot reach it now". Two ways to
 * combine them, both in `combineVerdict`:
 *
 * - `phiVeto`: declare a member dead only when its suspicion timeout expired AND φ ≥ threshold (or no
 *   heartbeat was ever heard). A slow or badly connected node whose heartbeats still arrive stays
 *   suspect instead of flapping dead/alive, which cuts false positives; a crashed node stops
 *   heartbeating, φ crosses the threshold within seconds, so detection is delayed at most by
 *   max(0, φ-crossing − suspicion timeout).
 * - `phiEarlySuspect`: raise suspicion as soon as φ ≥ threshold, without waiting for our own probe of
 *   the node (we probe a given member once per n probe intervals). The gain is small while SWIM runs
 *   everywhere (some member probes it about every interval), and gossip-relayed heartbeats that are
 *   merely delayed would cause extra suspect broadcasts; it suits clusters where few members probe.
 *
 * Grapevine's default is `swimOnly`: φ is exposed (`node.phi(name)`) but membership is decided exactly
 * as memberlist does, so timings match Serf agents in a mixed cluster. `phiVeto` is the recommended
 * opt-in: it can only turn a dead verdict into a continued suspicion, never the reverse, so it cannot
 * make detection of a real crash wrong, only later by a bounded amount. It governs only our own
 * suspicion timeout: a `dead` message from another member still applies (memberlist semantics), and
 * the member refutes it if alive. A node that can send but not be reached (one-way partition, blocked
 * probe port) keeps heartbeating by gossip; `vetoMaxMs` (default 60 s) bounds how long the veto holds,
 * after which SWIM's verdict wins. `phiOnly` is for clusters that run the state protocol without SWIM:
 * φ alone decides (`PhiAccrualRegistry.isAvailable`); under SWIM it makes φ both the accuser and the
 * judge of an expired suspicion, and members never heard from (Serf agents) fall back to SWIM.
 *
 * How it is wired (`PhiSecondOpinion`, plugged into SWIM's delegate by the stack): when our own
 * suspicion timer of a member expires, SWIM asks `confirmDead`; a veto keeps the member suspect and SWIM
 * asks again every probe interval. At every probe tick SWIM asks `accused` and suspects the alive members
 * named (suspicion source `phi`); a member is accused once per silence, not again until a new heartbeat
 * arrived and went silent in turn, so a merely late member is not re-suspected every second.
 */
import { assert } from '../core/assert.js'
import type { NodeName } from '../core/types.js'
import { ConfigError } from '../core/errors.js'

export interface PhiConfig {
  /** φ at or above which a node is not available. Lower detects faster with more false suspicions; 8 means a 1-in-10⁸ lateness. Must be > 0. */
  readonly threshold: number
  /** Inter-arrival intervals kept to estimate mean and deviation; older ones are dropped. Integer ≥ 2. */
  readonly maxSampleSize: number
  /** Floor on the standard deviation used in φ, so very regular heartbeats do not make φ a cliff. Must be > 0. */
  readonly minStdDeviationMs: number
  /** Extra silence accepted as normal (GC pause, a lost gossip round), added to the mean. Must be ≥ 0. */
  readonly acceptableHeartbeatPauseMs: number
  /** Expected heartbeat interval before any is measured: seeds the window with this ± a quarter. Must be > 0. */
  readonly firstHeartbeatEstimateMs: number
  /**
   * How φ takes part in SWIM's membership verdict (see "With SWIM" above): 'swimOnly' (default, as
   * memberlist), 'phiVeto', 'phiEarlySuspect' or 'phiOnly'.
   */
  readonly mode: PhiCombineMode
  /**
   * Under 'phiVeto' and 'phiOnly', the longest a veto holds: a member suspected this long is declared
   * dead whatever φ says, so a node that can send but not be reached (one-way partition) still dies.
   * Default 60000; 0 means no bound. Must be ≥ 0.
   */
  readonly vetoMaxMs: number
}

/** Akka's cluster failure-detector defaults; see the module header for sources. */
export const PHI_DEFAULTS: PhiConfig = {
  threshold: 8,
  maxSampleSize: 1000,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 3000,
  firstHeartbeatEstimateMs: 1000,
  mode: 'swimOnly',
  vetoMaxMs: 60_000,
}

/**
 * φ accuses (phiEarlySuspect, phiOnly) only a member whose window holds this many measured intervals
 * besides the two bootstrap seeds. Before that, φ rests on firstHeartbeatEstimateMs, and where heartbeats
 * really come slower than the estimate (rare probes carry them), the first gaps looked like silences: 3 of
 * 8 seeds of a 12-node simulation with 10 s probes had a live member accused 10–14 s after joining. SWIM's
 * own probes decide until then.
 */
export const PHI_ACCUSE_MIN_INTERVALS = 8

const PHI_MODES: readonly PhiCombineMode[] = ['swimOnly', 'phiVeto', 'phiEarlySuspect', 'phiOnly']

/** Every problem in `config`, each naming the field, the requirement and the fix; empty when valid. */
export function phiConfigProblems(candidate: object): string[] {
  const config = candidate as Readonly<Record<string, unknown>>
  const problems: string[] = []
  const known = Object.keys(PHI_DEFAULTS)
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) problems.push(`${key} is not a phi detector field; check the spelling (fields: ${known.join(', ')})`)
  }
  const check = (name: Exclude<keyof PhiConfig, 'mode'>, ok: (v: number) => boolean, requirement: string): void => {
    const v = config[name]
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
      problems.push(`${name} must be ${requirement} (got ${String(v)}); the default is ${PHI_DEFAULTS[name]}`)
    }
  }
  check('threshold', (v) => v > 0, 'a number > 0')
  check('maxSampleSize', (v) => Number.isInteger(v) && v >= 2 && v <= 1_000_000, 'an integer in [2, 1000000]')
  check('minStdDeviationMs', (v) => v > 0, 'a number of milliseconds > 0')
  check('acceptableHeartbeatPauseMs', (v) => v >= 0, 'a number of milliseconds ≥ 0')
  check('firstHeartbeatEstimateMs', (v) => v > 0, 'a number of milliseconds > 0, near the heartbeat interval')
  check('vetoMaxMs', (v) => v >= 0, 'a number of milliseconds ≥ 0 (0: no bound)')
  if (!PHI_MODES.includes(config.mode as PhiCombineMode)) {
    problems.push(`mode must be one of ${PHI_MODES.map((m) => `'${m}'`).join(', ')} (got ${JSON.stringify(config.mode)}); the default is '${PHI_DEFAULTS.mode}'`)
  }
  return problems
}

/** Merges `partial` over PHI_DEFAULTS and validates it. Throws ConfigError listing every bad field; nothing changed. */
export function resolvePhiConfig(partial: Partial<PhiConfig> = {}): PhiConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const config = { ...PHI_DEFAULTS, ...defined }
  const problems = phiConfigProblems(config)
  if (problems.length > 0) throw new ConfigError(problems)
  return config as PhiConfig
}

const LN10 = Math.LN10

/**
 * φ after `elapsedMs` of silence for arrivals ~ Normal(meanMs, stdDeviationMs), with the logistic
 * approximation of the normal CDF. Finite, ≥ 0 and non-decreasing in elapsedMs; log10(2) at the mean.
 */
export function phiValue(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs
  const z = y * (1.5976 + 0.070566 * y * y)
  // log(1 + e^z) without overflow or underflow.
  return (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / LN10
}

/** The silence after which phiValue reaches `phi` (> 0): the exact inverse of phiValue. */
export function elapsedForPhi(phi: number, meanMs: number, stdDeviationMs: number): number {
  assert(phi > 0, `phi must be > 0 to be reached (got ${phi})`)
  const s = phi * LN10
  const z = s > 30 ? s + Math.log1p(-Math.exp(-s)) : Math.log(Math.expm1(s))
  // Solve y³ + p·y + q = 0 (p > 0: one real root). The cubic is odd, so solve for |z| and restore the sign;
  // v = −p / 3u avoids Cardano's cancellation.
  const p = 1.5976 / 0.070566
  const q = -Math.abs(z) / 0.070566
  const u = Math.cbrt(-q / 2 + Math.sqrt((q * q) / 4 + (p * p * p) / 27))
  const y = u === 0 ? 0 : u - p / (3 * u)
  return meanMs + Math.sign(z) * y * stdDeviationMs
}

/**
 * Failure detector for one monitored node. Memory is bounded by maxSampleSize intervals. A fresh
 * detector has heard nothing: φ is 0 (Akka treats unmonitored as healthy); the registry reports such
 * nodes as undefined instead.
 */
export class PhiAccrualDetector {
  readonly config: PhiConfig
  private lastMs: number | undefined
  /** Intervals; a ring once full, `oldest` being the next to be overwritten. */
  private readonly intervals: number[] = []
  private oldest = 0
  // Sums of (interval − shift) and its square: shifting by the expected interval keeps the variance
  // formula Σx²/n − mean² clear of cancellation. Recomputed exactly every maxSampleSize evictions so
  // rounding errors from the running updates cannot accumulate.
  private readonly shift: number
  private sum = 0
  private squares = 0
  private evictions = 0

  /** Throws ConfigError if `config` is invalid. */
  constructor(config: Partial<PhiConfig> = {}) {
    this.config = resolvePhiConfig(config)
    this.shift = this.config.firstHeartbeatEstimateMs
  }

  /** Records a heartbeat observed at `nowMs`. `nowMs` must not go back in time (a monotonic clock). */
  heartbeat(nowMs: number): void {
    if (!Number.isFinite(nowMs)) assert(false, `nowMs must be finite (got ${nowMs})`)
    const last = this.lastMs
    if (last === undefined) {
      const estimate = this.config.firstHeartbeatEstimateMs
      this.record(estimate - estimate / 4)
      this.record(estimate + estimate / 4)
    } else {
      if (nowMs < last) assert(false, `heartbeat time went backwards: ${nowMs} < ${last}`)
      // Akka: the interval that ends an outage is not a sample of normal behaviour.
      if (this.isAvailable(nowMs)) this.record(nowMs - last)
    }
    this.lastMs = nowMs
  }

  /** Suspicion level at `nowMs`: 0 before any heartbeat; otherwise finite, ≥ 0, non-decreasing in nowMs. */
  phi(nowMs: number): number {
    assert(!Number.isNaN(nowMs), 'nowMs must be a number')
    if (this.lastMs === undefined) return 0
    const elapsedMs = Math.max(0, nowMs - this.lastMs)
    return phiValue(elapsedMs, this.meanMs + this.config.acceptableHeartbeatPauseMs, this.effectiveStdDeviationMs)
  }

  /** phi(nowMs) < threshold. True before any heartbeat, like Akka. */
  isAvailable(nowMs: number): boolean {
    return this.phi(nowMs) < this.config.threshold
  }

  /** Silence after the last heartbeat at which φ reaches the threshold, given the current samples. */
  thresholdElapsedMs(): number {
    return elapsedForPhi(this.config.threshold, this.meanMs + this.config.acceptableHeartbeatPauseMs, this.effectiveStdDeviationMs)
  }

  /** Time of the last heartbeat, undefined before the first. */
  get lastHeartbeatMs(): number | undefined {
    return this.lastMs
  }

  /** Intervals in the window (the two bootstrap seeds included); never above maxSampleSize. */
  get sampleCount(): number {
    return this.intervals.length
  }

  /** Mean inter-arrival interval of the window; the first-heartbeat estimate when empty. */
  get meanMs(): number {
    const n = this.intervals.length
    return n === 0 ? this.shift : this.shift + this.sum / n
  }

  /** Population standard deviation of the window, before the minStdDeviationMs floor. */
  get stdDeviationMs(): number {
    const n = this.intervals.length
    if (n === 0) return 0
    const m = this.sum / n
    return Math.sqrt(Math.max(0, this.squares / n - m * m))
  }

  /** The deviation φ uses: max(stdDeviationMs, minStdDeviationMs). */
  get effectiveStdDeviationMs(): number {
    return Math.max(this.stdDeviationMs, this.config.minStdDeviationMs)
  }

  private record(intervalMs: number): void {
    const x = intervalMs - this.shift
    if (this.intervals.length < this.config.maxSampleSize) {
      this.intervals.push(x)
      this.sum += x
      this.squares += x * x
      return
    }
    const old = this.intervals[this.oldest]
    this.intervals[this.oldest] = x
    this.oldest = (this.oldest + 1) % this.intervals.length
    this.evictions++
    if (this.evictions >= this.intervals.length) {
      this.evictions = 0
      this.sum = 0
      this.squares = 0
      for (const v of this.intervals) {
        this.sum += v
        this.squares += v * v
      }
    } else {
      this.sum += x - old
      this.squares += x * x - old * old
    }
  }
}

/**
 * One detector per node name, all with one configuration (`node.phi(name)` reads from here). Holds a
 * detector only for nodes that heartbeated and were not removed; remove members when membership
 * forgets them.
 */
export class PhiAccrualRegistry {
  readonly config: PhiConfig
  private readonly detectors = new Map<NodeName, PhiAccrualDetector>()

  /** Throws ConfigError if `config` is invalid. */
  constructor(config: Partial<PhiConfig> = {}) {
    this.config = resolvePhiConfig(config)
  }

  /** Records a heartbeat of `name` observed at `nowMs`, creating its detector on the first. */
  heartbeat(name: NodeName, nowMs: number): void {
    let detector = this.detectors.get(name)
    if (detector === undefined) {
      detector = new PhiAccrualDetector(this.config)
      this.detectors.set(name, detector)
    }
    detector.heartbeat(nowMs)
  }

  /** φ of `name` at `nowMs`; undefined for a node never heard (or removed). */
  phi(name: NodeName, nowMs: number): number | undefined {
    return this.detectors.get(name)?.phi(nowMs)
  }

  /** φ of `name` < threshold; undefined for a node never heard (or removed). */
  isAvailable(name: NodeName, nowMs: number): boolean | undefined {
    return this.detectors.get(name)?.isAvailable(nowMs)
  }

  /** The detector of `name`, for introspection (mean, deviation, samples). */
  detector(name: NodeName): PhiAccrualDetector | undefined {
    return this.detectors.get(name)
  }

  /** Forgets `name` and its samples. Returns whether it was monitored. */
  remove(name: NodeName): boolean {
    return this.detectors.delete(name)
  }

  has(name: NodeName): boolean {
    return this.detectors.has(name)
  }

  get size(): number {
    return this.detectors.size
  }

  names(): IterableIterator<NodeName> {
    return this.detectors.keys()
  }
}

/** How φ takes part in the membership verdict; see "With SWIM" in the module header. */
export type PhiCombineMode = 'swimOnly' | 'phiVeto' | 'phiEarlySuspect' | 'phiOnly'

/** What SWIM alone concludes about a member: not suspected, suspected, or suspicion timeout expired. */
export type SwimOpinion = 'alive' | 'suspect' | 'suspectExpired'

export type MemberVerdict = 'alive' | 'suspect' | 'dead'

export interface VerdictInput {
  readonly swim: SwimOpinion
  /** φ of the member now; undefined when no heartbeat was ever heard from it. */
  readonly phi: number | undefined
  readonly threshold: number
  readonly mode: PhiCombineMode
}

/**
 * Combines SWIM's opinion with φ. The cases:
 * - `swimOnly`: SWIM's opinion, φ ignored (the default; memberlist's behaviour).
 * - `phiVeto`: an expired suspicion becomes dead only if φ ≥ threshold; while heartbeats still arrive
 *   it stays suspect. No φ (never heard) vetoes nothing, or members that do not run the state
 *   protocol could never die.
 * - `phiEarlySuspect`: an alive member with φ ≥ threshold is suspect; otherwise SWIM's opinion.
 * - `phiOnly`: dead iff φ ≥ threshold, SWIM ignored; never heard is alive (nothing to judge yet).
 */
export function combineVerdict(input: VerdictInput): MemberVerdict {
  const { swim, phi, threshold, mode } = input
  const phiAccuses = phi !== undefined && phi >= threshold
  const swimVerdict: MemberVerdict = swim === 'suspectExpired' ? 'dead' : swim
  switch (mode) {
    case 'swimOnly':
      return swimVerdict
    case 'phiVeto':
      return swimVerdict === 'dead' && phi !== undefined && !phiAccuses ? 'suspect' : swimVerdict
    case 'phiEarlySuspect':
      return swimVerdict === 'alive' && phiAccuses ? 'suspect' : swimVerdict
    case 'phiOnly':
      return phiAccuses ? 'dead' : 'alive'
  }
}

/**
 * φ as SWIM's second opinion (the delegate's `confirmDead` and `accused`), by the registry's `mode`.
 * See "With SWIM" in the module header.
 */
export class PhiSecondOpinion {
  /** The heartbeat time at which each member was last accused, so a silence is accused once. */
  private readonly accusedAt = new Map<NodeName, number>()

  private readonly config: PhiConfig

  constructor(private readonly registry: PhiAccrualRegistry) {
    this.config = registry.config
  }

  get mode(): PhiCombineMode {
    return this.config.mode
  }

  /** Whether SWIM may declare `name` dead now that our own suspicion of it expired. */
  confirmDead(name: NodeName, suspectedForMs: number, nowMs: number): boolean {
    const mode = this.config.mode
    if (mode === 'swimOnly' || mode === 'phiEarlySuspect') return true
    if (this.config.vetoMaxMs > 0 && suspectedForMs >= this.config.vetoMaxMs) return true
    const phi = this.registry.phi(name, nowMs)
    // Never heard from (a Serf agent, or state rounds off): φ has no opinion, SWIM decides.
    if (phi === undefined) return true
    return combineVerdict({ swim: 'suspectExpired', phi, threshold: this.config.threshold, mode }) === 'dead'
  }

  /** Members whose φ crossed the threshold since their last heartbeat and were not accused for this silence yet. */
  accused(nowMs: number): NodeName[] {
    const mode = this.config.mode
    if (mode !== 'phiEarlySuspect' && mode !== 'phiOnly') return []
    const out: NodeName[] = []
    for (const name of this.registry.names()) {
      const d = this.registry.detector(name)
      const last = d?.lastHeartbeatMs
      if (d === undefined || last === undefined || this.accusedAt.get(name) === last) continue
      if (d.sampleCount < PHI_ACCUSE_MIN_INTERVALS + 2) continue
      if (d.phi(nowMs) < this.config.threshold) continue
      this.accusedAt.set(name, last)
      out.push(name)
    }
    if (this.accusedAt.size > 2 * this.registry.size + 64) {
      for (const name of this.accusedAt.keys()) if (!this.registry.has(name)) this.accusedAt.delete(name)
    }
    return out
  }
}
