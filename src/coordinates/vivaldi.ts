/**
 * Vivaldi network coordinates with Serf's update rule (serf/coordinate, 0.9.4): every node keeps a point
 * in an 8-dimensional Euclidean space plus a "height" (the access-link part of any path) and an
 * adjustment (a per-node correction learnt from recent errors); the estimated round trip between two
 * nodes is the distance between their coordinates.
 *
 *   probe ──▶ (peer, peer's coordinate, measured RTT) ──▶ checks (dimensions, finite, 0 ≤ RTT ≤ 10 s)
 *     ──▶ latency filter: median of the last 3 RTTs to that peer (Grapevine's default: 5); of an even
 *         number, Serf the upper middle one, Grapevine's default the lower (latencyFilterEven)
 *     ──▶ Vivaldi: error ← CE·w·|dist − rtt|/rtt + error·(1 − CE·w), force CC·w·(rtt − dist) along the
 *         unit vector from the peer (w = our error / (ours + theirs)); the height moves with the force
 *     ──▶ adjustment ← mean of the last 20 (rtt − raw distance) / 2
 *     ──▶ gravity: a pull towards the origin growing with (distance / 150 s)²
 *     ──▶ a NaN or infinite component anywhere resets the coordinate (counted in `resets`)
 *
 * Written by hand: there is no maintained JavaScript Vivaldi library with Serf's exact rule and wire
 * form, and interop needs the same numbers as Serf (same constants, same order of operations, the same
 * truncation of distances to whole nanoseconds that Go's time.Duration makes). Pure: the only randomness
 * (a random direction when two coordinates coincide) comes from the injected Rng.
 */
import type { Rng } from '../core/rng.js'

/** A network coordinate, in seconds, as Serf's coordinate.Coordinate. */
export interface Coordinate {
  readonly vec: readonly number[]
  readonly error: number
  readonly adjustment: number
  readonly height: number
}

/** Serf's coordinate.Config; the defaults are Serf's DefaultConfig(). */
export interface VivaldiConfig {
  /** Dimensions of the Euclidean part; Serf and Consul use 8, and coordinates of other sizes are refused. */
  readonly dimensions: number
  /** Upper bound of a coordinate's error estimate, and the error a fresh coordinate starts with. */
  readonly errorMax: number
  /** Weight of a new observation in the error estimate (Vivaldi's c_e). */
  readonly ce: number
  /** Fraction of the remaining error a single observation corrects (Vivaldi's c_c). */
  readonly cc: number
  /** Samples in the adjustment's moving window; 0 turns the adjustment off. */
  readonly adjustmentWindow: number
  /** Smallest height, seconds (10 µs): the floor of every path's access part. */
  readonly heightMinS: number
  /** RTTs per peer whose median feeds the update (filters a slow outlier). */
  readonly latencyFilterSize: number
  /** Gravity's scale, seconds: the pull towards the origin is (distance / rho)². */
  readonly gravityRhoS: number
  /**
   * Which middle sample the latency filter takes when it holds an even number of RTTs to a peer (with
   * a window of 3: only the second probe of that peer; of 5: the second and the fourth). Serf takes the upper one (Go's sorted[n/2]),
   * so the second RTT to every peer feeds the slower of two; 'lower' feeds the faster one, as the
   * full window's median drops the slowest. Only the warm-up differs: from the third RTT on, both are
   * the median of 3.
   */
  readonly latencyFilterEven: 'upper' | 'lower'
}

export const SERF_VIVALDI: VivaldiConfig = {
  dimensions: 8,
  errorMax: 1.5,
  ce: 0.25,
  cc: 0.25,
  adjustmentWindow: 20,
  heightMinS: 10.0e-6,
  latencyFilterSize: 3,
  gravityRhoS: 150.0,
  latencyFilterEven: 'upper',
}

/**
 * Grapevine's default: Serf's constants and update rule, with two changes to the latency filter. Its
 * warm-up takes the lower of a peer's first two RTTs (without the echo, bench/coordinates.ts, 30 nodes,
 * seeds 1–10: median relative error at 60 s 16.2 % → 15.0 %). And it keeps the median of the last 5
 * RTTs per peer instead of 3: with the coordinate echo (echo.ts) every peer is measured twice as often,
 * so 5 samples span about the time Serf's 3 do, and the median of 5 lets less jitter through (30 nodes,
 * seeds 1–3, 300 s, with the echo: 11.2 % → 10.6 %). The wire and every estimate are Serf's.
 */
export const GRAPEVINE_VIVALDI: VivaldiConfig = { ...SERF_VIVALDI, latencyFilterSize: 5, latencyFilterEven: 'lower' }

/** Serf refuses RTTs above this (a probe answered after 10 s says nothing about the network). */
export const RTT_MAX_MS = 10_000
const ZERO_THRESHOLD = 1.0e-6

export function newCoordinate(config: VivaldiConfig = SERF_VIVALDI): Coordinate {
  return { vec: new Array<number>(config.dimensions).fill(0), error: config.errorMax, adjustment: 0, height: config.heightMinS }
}

export function coordinateIsValid(c: Coordinate): boolean {
  return c.vec.every(Number.isFinite) && Number.isFinite(c.error) && Number.isFinite(c.adjustment) && Number.isFinite(c.height)
}

function magnitude(v: readonly number[]): number {
  let sum = 0
  for (const x of v) sum += x * x
  return Math.sqrt(sum)
}

function rawDistanceS(a: Coordinate, b: Coordinate): number {
  let sum = 0
  for (let i = 0; i < a.vec.length; i++) {
    const d = a.vec[i] - b.vec[i]
    sum += d * d
  }
  return Math.sqrt(sum) + a.height + b.height
}

/**
 * Estimated round trip between two coordinates, in seconds, as Serf's DistanceTo: the raw distance plus
 * both adjustments when that stays positive, truncated to whole nanoseconds as Go's time.Duration is.
 * Throws on coordinates of different dimensions (a caller's bug: remote ones are checked on arrival).
 */
export function distanceS(a: Coordinate, b: Coordinate): number {
  if (a.vec.length !== b.vec.length) throw new RangeError(`coordinates of ${a.vec.length} and ${b.vec.length} dimensions`)
  let dist = rawDistanceS(a, b)
  const adjusted = dist + a.adjustment + b.adjustment
  if (adjusted > 0) dist = adjusted
  return Math.trunc(dist * 1e9) / 1e9
}

/** Estimated round trip in milliseconds. */
export function distanceMs(a: Coordinate, b: Coordinate): number {
  return distanceS(a, b) * 1000
}

function scaled(v: readonly number[], factor: number): number[] {
  return v.map((x) => x * factor)
}

/** The unit vector pointing from `to` at `from`, and their distance; random when they coincide. */
function unitVectorAt(from: readonly number[], to: readonly number[], rng: Rng): { unit: number[]; mag: number } {
  const d = from.map((x, i) => x - to[i])
  const mag = magnitude(d)
  // Scaled by the reciprocal, as Serf does: dividing differs in the last bit, and that bit can move a
  // distance across a whole-nanosecond boundary.
  if (mag > ZERO_THRESHOLD) return { unit: scaled(d, 1 / mag), mag }
  const r = d.map(() => rng.float() - 0.5)
  const rmag = magnitude(r)
  if (rmag > ZERO_THRESHOLD) return { unit: scaled(r, 1 / rmag), mag: 0 }
  const unit = new Array<number>(d.length).fill(0)
  unit[0] = 1
  return { unit, mag: 0 }
}

/** Serf's ApplyForce: moves `c` by `force` seconds away from `other` (towards it when negative). */
export function applyForce(c: Coordinate, force: number, other: Coordinate, config: VivaldiConfig, rng: Rng): Coordinate {
  const { unit, mag } = unitVectorAt(c.vec, other.vec, rng)
  let height = c.height
  if (mag > ZERO_THRESHOLD) height = Math.max((c.height + other.height) * force / mag + c.height, config.heightMinS)
  return { vec: c.vec.map((x, i) => x + unit[i] * force), error: c.error, adjustment: c.adjustment, height }
}

/** Why an observation was refused; the coordinate did not change. */
export type RejectReason = 'dimensions' | 'invalid-coordinate' | 'rtt-range'

export interface VivaldiStats {
  /** Observations applied. */
  updates: number
  /** Observations refused, by reason. */
  rejected: Record<RejectReason, number>
  /** Times the coordinate became NaN or infinite and started over. */
  resets: number
  /** Observations with an RTT of exactly 0 (coarse clocks); applied, as Serf does. */
  zeroRtt: number
}

/**
 * One node's coordinate and the state its updates need (Serf's coordinate.Client). Not shared between
 * nodes; every method is synchronous and deterministic given the Rng.
 */
export class VivaldiClient {
  private coord: Coordinate
  private readonly origin: Coordinate
  private readonly adjustmentSamples: number[]
  private adjustmentIndex = 0
  private readonly latencySamples = new Map<string, number[]>()
  readonly stats: VivaldiStats = { updates: 0, rejected: { dimensions: 0, 'invalid-coordinate': 0, 'rtt-range': 0 }, resets: 0, zeroRtt: 0 }

  constructor(readonly config: VivaldiConfig, private readonly rng: Rng) {
    if (!Number.isInteger(config.dimensions) || config.dimensions < 1) throw new RangeError('coordinates need at least 1 dimension')
    this.coord = newCoordinate(config)
    this.origin = newCoordinate(config)
    this.adjustmentSamples = new Array<number>(config.adjustmentWindow).fill(0)
  }

  coordinate(): Coordinate {
    return this.coord
  }

  /** Peers whose latency samples are kept (bounded by the members we probe). */
  get trackedPeers(): number {
    return this.latencySamples.size
  }

  /** Drops a peer's latency samples (it left the cluster), as Serf's ForgetNode. */
  forget(peer: string): void {
    this.latencySamples.delete(peer)
  }

  /** Why `other` cannot be used, or undefined when it can. */
  check(other: Coordinate): RejectReason | undefined {
    if (other.vec.length !== this.coord.vec.length) return 'dimensions'
    if (!coordinateIsValid(other)) return 'invalid-coordinate'
    return undefined
  }

  /**
   * One observation: `peer` at coordinate `other` answered in `rttMs`. Returns the new coordinate, or
   * the reason it was refused (then nothing changed, the latency filter included).
   */
  update(peer: string, other: Coordinate, rttMs: number): Coordinate | RejectReason {
    const bad = this.check(other) ?? (rttMs >= 0 && rttMs <= RTT_MAX_MS ? undefined : 'rtt-range')
    if (bad !== undefined) {
      this.stats.rejected[bad]++
      return bad
    }
    if (rttMs === 0) this.stats.zeroRtt++
    // Go hands the RTT over as whole nanoseconds (rounded: 8.11333 ms * 1e6 is 8113329.999… in binary).
    const rttS = this.latencyFilter(peer, Math.round(rttMs * 1e6) / 1e9)
    this.updateVivaldi(other, rttS)
    this.updateAdjustment(other, rttS)
    this.updateGravity()
    if (!coordinateIsValid(this.coord)) {
      this.stats.resets++
      this.coord = newCoordinate(this.config)
    }
    this.stats.updates++
    return this.coord
  }

  private latencyFilter(peer: string, rttS: number): number {
    let samples = this.latencySamples.get(peer)
    if (samples === undefined) {
      samples = []
      this.latencySamples.set(peer, samples)
    }
    samples.push(rttS)
    if (samples.length > this.config.latencyFilterSize) samples.shift()
    const sorted = [...samples].sort((a, b) => a - b)
    const lower = this.config.latencyFilterEven === 'lower' && sorted.length % 2 === 0
    return sorted[Math.floor(sorted.length / 2) - (lower ? 1 : 0)]
  }

  private updateVivaldi(other: Coordinate, rttSIn: number): void {
    const c = this.config
    const dist = distanceS(this.coord, other)
    const rttS = Math.max(rttSIn, ZERO_THRESHOLD)
    const wrongness = Math.abs(dist - rttS) / rttS
    const totalError = Math.max(this.coord.error + other.error, ZERO_THRESHOLD)
    const weight = this.coord.error / totalError
    const error = Math.min(c.ce * weight * wrongness + this.coord.error * (1 - c.ce * weight), c.errorMax)
    const force = c.cc * weight * (rttS - dist)
    this.coord = applyForce({ ...this.coord, error }, force, other, c, this.rng)
  }

  private updateAdjustment(other: Coordinate, rttS: number): void {
    const window = this.config.adjustmentWindow
    if (window === 0) return
    this.adjustmentSamples[this.adjustmentIndex] = rttS - rawDistanceS(this.coord, other)
    this.adjustmentIndex = (this.adjustmentIndex + 1) % window
    let sum = 0
    for (const s of this.adjustmentSamples) sum += s
    this.coord = { ...this.coord, adjustment: sum / (2 * window) }
  }

  private updateGravity(): void {
    const dist = distanceS(this.origin, this.coord)
    const force = -1 * Math.pow(dist / this.config.gravityRhoS, 2)
    this.coord = applyForce(this.coord, force, this.origin, this.config, this.rng)
  }
}
