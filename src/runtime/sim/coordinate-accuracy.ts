/**
 * How well the nodes' network coordinates predict the simulated network: for every pair of running
 * nodes, the estimate (the distance between their two coordinates, as `serf rtt a b` computes it)
 * against the true round trip of the link model, as relative error |estimate − truth| / truth.
 *
 *   every running node's coordinate ──▶ pairs (i < j) ──▶ estimate_ij = distance(c_i, c_j)
 *   network.linkOptions(i→j), (j→i)  ──▶ truth_ij = mean one-way delay i→j + mean one-way delay j→i
 *                                   ──▶ median and 90th percentile of |estimate − truth| / truth
 *
 * The truth is the expected round trip of the model in force at the moment of measuring (a latency
 * matrix, shape rules and per-link overrides included): uniform delays have the midpoint as mean; an
 * exponential tail cut at the maximum has min + m·(1 − e^(−(max − min)/m)). Reordering delays are left
 * out (they hit a few packets, and the latency filter's median discards them, as it does on a real
 * network). The simulated probe RTTs are these delays with no processing time added.
 */
import { distanceMs } from '../../node/index.js'
import type { Coordinate } from '../../node/index.js'
import type { LinkOptions } from './network.js'

/** The accuracy of the coordinates at one moment. */
export interface CoordinateAccuracy {
  /** Virtual time of the measurement. */
  readonly atMs: number
  /** Pairs of running nodes with coordinates that were compared. */
  readonly pairs: number
  readonly medianRelativeError: number
  readonly p90RelativeError: number
  /** Median of |estimate − truth| in ms: what a relative error means on the shortest links. */
  readonly medianAbsoluteErrorMs: number
}

/** The report field: after the first 60 s (null when the run was shorter) and at the end. */
export interface CoordinatesReport {
  readonly after60s: CoordinateAccuracy | null
  readonly atEnd: CoordinateAccuracy
}

/** When the first measurement is taken. */
export const COORDINATES_FIRST_CHECK_MS = 60_000

/** The expected one-way delay of a link. */
export function meanOneWayMs(o: LinkOptions): number {
  const min = o.oneWayDelayMsMin
  const max = o.oneWayDelayMsMax
  if (max <= min) return min
  if (o.oneWayDelayDistribution !== 'exponential') return (min + max) / 2
  const m = (o.oneWayDelayMsMean ?? (min + max) / 2) - min
  return m <= 0 ? min : min + m * (1 - Math.exp(-(max - min) / m))
}

/** What the measurement reads: running nodes with their coordinates, and the link model. */
export interface AccuracyInput {
  readonly nowMs: number
  readonly nodes: ReadonlyArray<{ readonly index: number; readonly coordinate: Coordinate }>
  readonly link: (from: number, to: number) => LinkOptions
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/** The accuracy over all pairs; undefined when fewer than two nodes have coordinates. */
export function measureCoordinateAccuracy(input: AccuracyInput): CoordinateAccuracy | undefined {
  const nodes = input.nodes
  if (nodes.length < 2) return undefined
  const relative: number[] = []
  const absolute: number[] = []
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]
      const b = nodes[j]
      const truth = meanOneWayMs(input.link(a.index, b.index)) + meanOneWayMs(input.link(b.index, a.index))
      if (!(truth > 0)) continue
      const err = Math.abs(distanceMs(a.coordinate, b.coordinate) - truth)
      relative.push(err / truth)
      absolute.push(err)
    }
  }
  relative.sort((x, y) => x - y)
  absolute.sort((x, y) => x - y)
  return {
    atMs: input.nowMs,
    pairs: relative.length,
    medianRelativeError: quantile(relative, 0.5),
    p90RelativeError: quantile(relative, 0.9),
    medianAbsoluteErrorMs: quantile(absolute, 0.5),
  }
}
