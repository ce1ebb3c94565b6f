/**
 * The cluster bench's results per system and its table (bench/cluster.ts): one row per figure, with
 * Grapevine, Serf, the ratio and issue 17's target.
 *
 *   SystemResult (joins, idle and loss windows, kills, health) ──▶ reportRows ──▶ table rows and JSON
 */
import type { System } from './cluster-procs.js'
import { median, type JoinFigures, type WindowFigures } from './cluster-measure.js'

/** The options the table depends on. */
export interface ReportOptions {
  readonly joins: number
  readonly lossPercent: number
  readonly kills: number
}

export interface KillRecord {
  round: number
  victim: string
  survivors: number
  /** ms from SIGKILL until each survivor logged the victim failed; null = not within the timeout. */
  perSurvivorMs: Record<string, number | null>
  firstMs: number | null
  allMs: number | null
  firstSuspicionMs: number | null
  missed: string[]
}

export interface HealthFigures {
  mean: number | null
  max: number | null
  perAgent: Record<string, number>
}

export interface SystemResult {
  joins: JoinFigures[]
  idle: WindowFigures
  /** Null when the run had no loss window. */
  loss: WindowFigures | null
  /** Seconds from the end of the loss until every agent saw every other alive again; null: not within the limit. */
  lossRecoveryS: number | null
  kills: KillRecord[]
  detection: { firstMedianS: number | null; allMedianS: number | null; roundsComplete: number; rounds: number }
  /** Failures logged about agents that were not killed, during the kill phase. */
  killPhaseFalseFailures: number
  unexpectedExits: string[]
  /** Lifeguard health scores per agent right after the idle window and after the last kill round. */
  health: { beforeKills: HealthFigures; afterKills: HealthFigures }
}

/** Median where a round that missed counts as longer than every round that did not (null if that is the median). */
export function censoredMedianS(values: ReadonlyArray<number | null>): number | null {
  const m = median(values.map((v) => (v === null ? Number.POSITIVE_INFINITY : v)))
  return m === null || !Number.isFinite(m) ? null : m / 1000
}

/** The worst of several join times, a join that never completed being the worst. */
function worstJoinS(joins: readonly JoinFigures[]): number | null {
  if (joins.length === 0 || joins.some((j) => j.allSeeAllS === null)) return null
  return Math.max(...joins.map((j) => j.allSeeAllS!))
}

export interface Row {
  metric: string
  grapevine: string
  serf: string
  ratio: string
  target: string
  ok: string
}

export function reportRows(r: Record<System, SystemResult>, opts: ReportOptions): Row[] {
  const rows: Row[] = []
  const add = (metric: string, g: number | null, s: number | null, digits: number, target?: { maxRatio?: number; maxGrapevine?: number; label: string }): void => {
    const fmt = (v: number | null): string => (v === null ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }))
    const ratio = g === null || s === null || s === 0 ? null : g / s
    let ok = ''
    if (target?.maxRatio !== undefined) ok = ratio === null ? 'n/a' : ratio <= target.maxRatio ? 'yes' : 'NO'
    if (target?.maxGrapevine !== undefined) ok = g === null ? 'n/a' : g <= target.maxGrapevine ? 'yes' : 'NO'
    rows.push({ metric, grapevine: fmt(g), serf: fmt(s), ratio: ratio === null ? 'n/a' : ratio.toFixed(2), target: target?.label ?? '', ok })
  }
  const g = r.grapevine
  const s = r.serf
  const window = (label: string, gw: WindowFigures, sw: WindowFigures): void => {
    add(`${label}: packets/s per node`, gw.packetsPerNodePerS?.total ?? null, sw.packetsPerNodePerS?.total ?? null, 2, { maxRatio: 1.1, label: '≤ 1.1×' })
    add(`${label}: UDP bytes/s per node`, gw.bytesPerNodePerS?.udp ?? null, sw.bytesPerNodePerS?.udp ?? null, 0)
    add(`${label}: TCP bytes/s per node`, gw.bytesPerNodePerS?.tcp ?? null, sw.bytesPerNodePerS?.tcp ?? null, 0)
    add(`${label}: bytes/s per node`, gw.bytesPerNodePerS?.total ?? null, sw.bytesPerNodePerS?.total ?? null, 0, { maxRatio: 1, label: '≤ 1×' })
    add(`${label}: CPU s per node per minute`, gw.cpuSecondsPerNodePerMin.mean, sw.cpuSecondsPerNodePerMin.mean, 3, { maxRatio: 1.5, label: '≤ 1.5×' })
  }
  const jm = (js: readonly JoinFigures[]): number | null => (js.some((j) => j.allSeeAllS === null) ? null : median(js.map((j) => j.allSeeAllS!)))
  add(`join: all see all after the last start, median of ${opts.joins} (s)`, jm(g.joins), jm(s.joins), 2, { maxGrapevine: 2, label: 'G ≤ 2 s' })
  if (opts.joins > 1) add(`join: all see all after the last start, worst of ${opts.joins} (s)`, worstJoinS(g.joins), worstJoinS(s.joins), 2, { maxGrapevine: 2, label: 'G ≤ 2 s' })
  const jmed = (js: readonly JoinFigures[], f: (j: JoinFigures) => number | null): number | null => (js.some((j) => f(j) === null) ? null : median(js.map((j) => f(j)!)))
  add('join: last agent up after the last start, median (s)', jmed(g.joins, (j) => j.lastUpS), jmed(s.joins, (j) => j.lastUpS), 2)
  add('join: all see all after the last agent was up, median (s)', jmed(g.joins, (j) => j.allSeeAllAfterUpS), jmed(s.joins, (j) => j.allSeeAllAfterUpS), 2)
  add(`join: failed join attempts retried, all ${opts.joins} starts`, g.joins.reduce((n, j) => n + j.joinRetries, 0), s.joins.reduce((n, j) => n + j.joinRetries, 0), 0)
  window('idle', g.idle, s.idle)
  add('idle: RSS per agent, median (MB)', g.idle.rssMb.median, s.idle.rssMb.median, 1)
  add('idle: RSS per agent, max (MB)', g.idle.rssMb.max, s.idle.rssMb.max, 1, { maxGrapevine: 45, label: 'G ≤ 45 MB' })
  add('idle: suspicions logged', g.idle.suspectEvents, s.idle.suspectEvents, 0)
  if (g.loss !== null && s.loss !== null) {
    window(`${opts.lossPercent} % loss`, g.loss, s.loss)
    add(`${opts.lossPercent} % loss: false failures logged`, g.loss.falseFailures, s.loss.falseFailures, 0)
    add(`${opts.lossPercent} % loss: all see all again after (s)`, g.lossRecoveryS, s.lossRecoveryS, 2)
  }
  if (opts.kills > 0) {
    add('detection, first node (median s)', g.detection.firstMedianS, s.detection.firstMedianS, 2, { maxRatio: 1, label: '≤ 1×' })
    add('detection, all nodes (median s)', g.detection.allMedianS, s.detection.allMedianS, 2, { maxRatio: 1, label: '≤ 1×' })
    add('first suspicion (median s)', censoredMedianS(g.kills.map((k) => k.firstSuspicionMs)), censoredMedianS(s.kills.map((k) => k.firstSuspicionMs)), 2)
    add('kills seen by all in time', g.detection.roundsComplete, s.detection.roundsComplete, 0)
    add('false failures while killing', g.killPhaseFalseFailures, s.killPhaseFalseFailures, 0)
  }
  add('health score, max (before kills)', g.health.beforeKills.max, s.health.beforeKills.max, 0)
  if (opts.kills > 0) add('health score, max (after kills)', g.health.afterKills.max, s.health.afterKills.max, 0)
  return rows
}
