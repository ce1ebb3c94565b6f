/**
 * What a scenario run reports, and its readable form. Times are virtual milliseconds unless the
 * field name says wall; detection times are relative to the crash.
 */
import type { Profile } from '../../node/index.js'
import type { CoordinateAccuracy, CoordinatesReport } from './coordinate-accuracy.js'
import type { NetworkStats } from './network.js'
import type { TimeSeries } from './timeseries.js'
import type { BroadcastDeliveryReport, WorkloadReport } from './workload.js'
import type { CrdtWorkloadReport } from './crdt-workload.js'
import type { AggregateWorkloadReport } from './aggregate-workload.js'
import { aggregateRows } from './aggregate-report.js'

/** A stack run's workload: what was done, and the traffic it cost (the measured results are top-level fields of Report). */
export type WorkloadSummary = Omit<WorkloadReport, 'stateConvergenceMs' | 'stateDigest' | 'broadcastDelivery' | 'bytesPerUpdate'>

export interface DetectionReport {
  readonly node: string
  /** Virtual time of the crash (absolute). */
  readonly crashedAtMs: number
  /** From the crash to the first suspicion of it by any node. */
  readonly firstSuspicionMs: number | null
  /** From the crash to the first dead declaration by any node. */
  readonly firstDeadMs: number | null
  /** From the crash until every live node saw it dead, left or forgot it; null when never reached. */
  readonly deadEverywhereMs: number | null
}

export interface Report {
  readonly seed: number
  readonly nodes: number
  readonly profile: Profile
  readonly lifeguard: boolean
  /** The scenario's steps, printable. */
  readonly steps: readonly string[]
  /** Chaos phase length (the scenario's duration). */
  readonly durationMs: number
  /** Total virtual time run: chaos plus settle. */
  readonly virtualMs: number
  readonly wallMs: number
  /** Settle phase: partitions healed, loss, duplication and reordering off; ran until convergence or the max. */
  readonly settleMs: number
  readonly settleMaxMs: number
  /**
   * At the end, every live node sees every live node alive and every crashed or departed node dead,
   * left or absent (checked against each node's members()).
   */
  readonly converged: boolean
  /** Wrong (observer, target) views at the end; `convergenceExamples` shows a few. */
  readonly convergenceMismatches: number
  readonly convergenceExamples: readonly string[]
  /** From the start until every node first saw every node alive; null if a fault came first. */
  readonly joinConvergenceMs: number | null
  readonly detection: readonly DetectionReport[]
  /**
   * First-hand accusations (event `from` is the emitting node) of a node that was, at that instant,
   * running, not leaving, and connected to the accuser both ways.
   */
  readonly falsePositives: { readonly suspicions: number; readonly deaths: number }
  /**
   * The part of `falsePositives` that came within `windowMs` after a partition was lifted or the
   * accuser or accused resumed from a pause or restarted: accusations the fault set in motion that completed once
   * it was over (a probe already failed, a suspicion timer already running).
   */
  readonly falsePositivesInAftermath: { readonly suspicions: number; readonly deaths: number; readonly windowMs: number }
  /** First-hand accusations in total, justified or not. */
  readonly accusations: { readonly suspicions: number; readonly deaths: number }
  /** `refuted` events: a node answered an accusation about itself. */
  readonly refutations: number
  /** Lifeguard local health: the highest score per node that ever left 0. */
  readonly healthMaxima: ReadonlyArray<{ readonly node: string; readonly maxScore: number }>
  readonly messagesPerNodePerSec: number
  readonly bytesPerNodePerSec: number
  readonly streamsPerNodePerSec: number
  /** Simulation queue items processed (timers, deliveries, stream steps, faults). */
  readonly eventsProcessed: number
  readonly eventsPerWallSec: number
  /** Virtual seconds per wall second. */
  readonly speedup: number
  readonly network: NetworkStats
  /** Whole-stack runs only (scenario `stack` or `workload`): the writes and broadcasts made, Grapevine's bytes. */
  readonly workload?: WorkloadSummary
  /** Runs with a CRDT workload (`--crdt-ops`): what it did and measured (crdt-workload.ts). */
  readonly crdt?: CrdtWorkloadReport
  /** From the last CRDT op until every live node held identical states of every key; null when never. */
  readonly crdtConvergenceMs?: number | null
  /** The converged counter equals the increments performed; null unless converged. */
  readonly crdtExact?: boolean | null
  /** CRDT envelope bytes per op per node, anti-entropy included; null without ops. */
  readonly bytesPerOp?: number | null
  /**
   * Runs with an aggregate workload (`--aggregate`): per function, each epoch's published estimates
   * against the truth (worst and median relative error, spread), the time until every live node was
   * within 1 %, and the papers' theory beside it (aggregate-workload.ts).
   */
  readonly aggregate?: AggregateWorkloadReport
  /**
   * Whole-stack runs only. From the last write until every live node (running or paused) held the same
   * view of the cluster state: the same nodes and, for each, the same generation, version and live
   * entries; crashed nodes' maps count (they stay replicated). Checked every 100 ms of virtual time.
   * Null when it never happened in the run (`workload.stateConvergenceNote` says why).
   */
  readonly stateConvergenceMs?: number | null
  /** That common view's digest (16 hex chars, a 64-bit non-cryptographic hash); null unless converged. */
  readonly stateDigest?: string | null
  /**
   * Whole-stack runs only. Over (broadcast, node live at the end) pairs: the fraction delivered, the
   * latency from the broadcast to each delivery at another node, duplicates the engines suppressed, and
   * duplicate deliveries (must be 0: exactly once per process; a restarted node's new process may
   * deliver again what its predecessor did, counted apart).
   */
  readonly broadcastDelivery?: BroadcastDeliveryReport
  /**
   * Whole-stack runs only. Bytes of Grapevine envelopes (memberlist user messages whose payload starts
   * with 0x47) in every packet sent over the run, divided by (updates × nodes), where updates = key sets +
   * deletes + broadcasts: what one update cost each node, background rounds included; push-pull
   * streams not counted. Null without updates.
   */
  readonly bytesPerUpdate?: number | null
  /**
   * How well the network coordinates predict the link model's round trips (coordinate-accuracy.ts):
   * relative error over all pairs of running nodes, after 60 s and at the end. Absent when the nodes
   * run without coordinates (membership-only).
   */
  readonly coordinates?: CoordinatesReport
  /** Sampled every `intervalMs` when the scenario asked for it (scenario files always do; see timeseries.ts). */
  readonly timeSeries?: TimeSeries
  /** The scenario file's name, for runs of one. */
  readonly scenario?: string
  /** The command that replays this run, when the caller knows it (the CLI sets it). */
  replay?: string
}

function seconds(ms: number | null): string {
  return ms === null ? 'not reached' : `${(ms / 1000).toFixed(3)} s`
}

function plus(ms: number | null): string {
  return ms === null ? 'never' : `+${(ms / 1000).toFixed(3)} s`
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MB`
  if (n >= 1024) return `${(n / 1024).toFixed(2)} KB`
  return `${n.toFixed(0)} B`
}

/** The readable report: one aligned key/value line per fact, detection one line per crashed node. */
export function formatReport(r: Report): string {
  const rows: Array<[string, string]> = []
  if (r.scenario !== undefined) rows.push(['scenario', r.scenario])
  rows.push(['seed', String(r.seed)])
  rows.push(['nodes', String(r.nodes)])
  rows.push(['profile', `${r.profile}, Lifeguard ${r.lifeguard ? 'on' : 'off'}`])
  r.steps.forEach((s, i) => rows.push([i === 0 ? 'steps' : '', s]))
  rows.push(['virtual time', `${seconds(r.virtualMs)} (chaos ${seconds(r.durationMs)} + settle ${seconds(r.settleMs)}, settle max ${seconds(r.settleMaxMs)})`])
  rows.push(['wall time', `${seconds(r.wallMs)} (${r.speedup.toFixed(1)}× real time)`])
  rows.push(['converged', r.converged ? 'yes' : `NO: ${r.convergenceMismatches} wrong views, e.g. ${r.convergenceExamples.join('; ')}`])
  rows.push(['join convergence', seconds(r.joinConvergenceMs)])
  if (r.detection.length === 0) rows.push(['detection', 'no crashes'])
  r.detection.forEach((d, i) => {
    rows.push([
      i === 0 ? 'detection' : '',
      `${d.node} crashed at ${seconds(d.crashedAtMs)}: suspected ${plus(d.firstSuspicionMs)}, dead ${plus(d.firstDeadMs)}, dead everywhere ${plus(d.deadEverywhereMs)}`,
    ])
  })
  rows.push(['false positives', `${r.falsePositives.suspicions} suspicions, ${r.falsePositives.deaths} deaths (of ${r.accusations.suspicions} suspicions, ${r.accusations.deaths} deaths declared first-hand)`])
  const after = r.falsePositivesInAftermath
  if (after.suspicions + after.deaths > 0) {
    rows.push(['', `of which ${after.suspicions} suspicions, ${after.deaths} deaths within ${seconds(after.windowMs)} after a partition was lifted, a pause ended or a node restarted`])
  }
  rows.push(['refutations', String(r.refutations)])
  if (r.healthMaxima.length === 0) rows.push(['local health', 'every node stayed at 0'])
  else {
    const top = [...r.healthMaxima].sort((a, b) => b.maxScore - a.maxScore).slice(0, 5)
    rows.push(['local health', `${r.healthMaxima.length} nodes degraded; worst ${top.map((h) => `${h.node}=${h.maxScore}`).join(', ')}`])
  }
  rows.push(['traffic per node', `${r.messagesPerNodePerSec.toFixed(2)} packets/s, ${bytes(r.bytesPerNodePerSec)}/s, ${r.streamsPerNodePerSec.toFixed(3)} streams/s`])
  const n = r.network
  rows.push(['network', `${count(n.packetsRouted)} packets routed, ${count(n.packetsLost)} lost, ${count(n.packetsBlocked)} blocked, ${count(n.packetsDuplicated)} duplicated, ${count(n.packetsReordered)} reordered`])
  rows.push(['', `${count(n.streamHops)} stream segments sent, ${count(n.streamSegmentsLost)} lost, ${count(n.streamSegmentsBlocked)} blocked, ${count(n.streamRetransmits)} retransmitted; ${count(n.streamsTimedOut)} exchanges timed out`])
  rows.push(['queue events', `${count(r.eventsProcessed)} (${count(r.eventsPerWallSec)} per wall second)`])
  if (r.workload !== undefined) workloadRows(r, r.workload, rows)
  if (r.crdt !== undefined) crdtRows(r.crdt, rows)
  if (r.aggregate !== undefined) aggregateRows(r.aggregate, rows)
  if (r.coordinates !== undefined) {
    const c = r.coordinates
    const line = (a: CoordinateAccuracy): string =>
      `at ${seconds(a.atMs)}: median ${(a.medianRelativeError * 100).toFixed(1)}%, p90 ${(a.p90RelativeError * 100).toFixed(1)}% relative error (median ${a.medianAbsoluteErrorMs.toFixed(2)} ms) over ${count(a.pairs)} pairs`
    rows.push(['coordinates', c.after60s === null ? 'run shorter than 60 s: no early measurement' : line(c.after60s)])
    rows.push(['', line(c.atEnd)])
  }
  if (r.timeSeries !== undefined) timeSeriesRows(r.timeSeries, rows)
  if (r.replay !== undefined) rows.push(['replay', r.replay])
  const width = Math.max(...rows.map(([k]) => k.length)) + 2
  return rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join('\n')
}

/** A few lines about the time series: the widest gap between live nodes and what a node saw alive, accusations, peak traffic. */
function timeSeriesRows(ts: TimeSeries, rows: Array<[string, string]>): void {
  const n = ts.t.length
  if (n === 0) {
    rows.push(['time series', 'none (the run was shorter than one interval)'])
    return
  }
  // After the cluster first formed (every node seeing every live node), so that the initial joins do not count.
  const formed = ts.t.findIndex((_, i) => ts.aliveMin[i] === ts.live[i])
  let worst = Math.max(0, formed)
  for (let i = worst + 1; i < n; i++) if (ts.live[i] - ts.aliveMin[i] > ts.live[worst] - ts.aliveMin[worst]) worst = i
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0)
  const peak = Math.max(...ts.bytesPerSec)
  rows.push(['time series', `${n} samples, one per ${seconds(ts.intervalMs)} of virtual time (--json for the columns, --plot to draw them)`])
  rows.push(['', `widest gap${formed > 0 ? ' once formed' : ''}: at ${ts.t[worst]} s a node saw ${ts.aliveMin[worst]} of ${ts.live[worst]} live nodes alive (median ${ts.aliveMedian[worst]})`])
  rows.push(['', `${sum(ts.suspicions)} suspicions, ${sum(ts.deaths)} dead declarations first-hand; cluster traffic peak ${bytes(peak)}/s`])
}

/** The report as `grapevine sim --json` prints it: indented, with each time-series column on one line. */
export function reportJson(report: Report): string {
  const { timeSeries, ...rest } = report
  const text = JSON.stringify(rest, null, 2)
  if (timeSeries === undefined) return text
  const columns = Object.entries(timeSeries).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
  return `${text.slice(0, -2)},\n  "timeSeries": {\n${columns.join(',\n')}\n  }\n}`
}

function ms(v: number): string {
  return `${+v.toFixed(3)} ms`
}

function crdtRows(c: CrdtWorkloadReport, rows: Array<[string, string]>): void {
  rows.push(['crdt workload', `${c.crdtOpsPerSec} ops/s: ${count(c.ops)} ops, ${count(c.increments)} counted increments${c.durable ? '; data directories on (crashed nodes restart with their state)' : ''}`])
  if (c.crdtConvergenceMs === null) rows.push(['crdt convergence', `NOT REACHED: ${c.note ?? 'unknown'}`])
  else rows.push(['crdt convergence', `${ms(c.crdtConvergenceMs)} after the last op (digest ${c.crdtDigest}); counter ${c.counterValue} ${c.crdtExact === true ? 'exact, as are gcounter/hits and the map counters' : `NOT EXACT (${c.increments} performed; ${c.lost} increments missing over all counters)`}`])
  rows.push(['crdt traffic', `${bytes(c.crdtBytes)}; ${c.bytesPerOp === null ? 'n/a (no ops)' : `${bytes(c.bytesPerOp)} per op per node`}`])
}

function workloadRows(r: Report, w: WorkloadSummary, rows: Array<[string, string]>): void {
  // A CRDT-only run made no key-value writes nor broadcasts: its rows are the crdt ones.
  if (w.kvWritesPerSec > 0 || w.broadcastsPerSec > 0) {
    rows.push(['workload', `${w.kvWritesPerSec} writes/s, ${w.broadcastsPerSec} broadcasts/s for ${seconds(w.windowMs)}: ${count(w.sets)} sets, ${count(w.deletes)} deletes, ${count(w.broadcasts)} broadcasts`])
  }
  if (w.kvWritesPerSec === 0) {
    // No key-value writes were asked for: no state convergence to report.
  } else if (r.stateConvergenceMs === null || r.stateConvergenceMs === undefined) rows.push(['state convergence', `NOT REACHED: ${w.stateConvergenceNote ?? 'unknown'}`])
  else rows.push(['state convergence', `${ms(r.stateConvergenceMs)} after the last write (digest ${r.stateDigest})`])
  const d = r.broadcastDelivery
  if (d !== undefined) {
    const lat = d.latencyMs === null ? 'no latency (no deliveries elsewhere)' : `latency p50 ${ms(d.latencyMs.p50)}, p99 ${ms(d.latencyMs.p99)}, max ${ms(d.latencyMs.max)}`
    rows.push(['broadcast delivery', `${(d.fraction * 100).toFixed(2)}% of ${count(d.broadcasts * d.liveNodes)} (broadcast, live node) pairs; ${lat}`])
    rows.push(['', `${count(d.duplicatesSuppressed)} duplicate copies suppressed; ${d.duplicateDeliveries === 0 ? 'exactly once' : `ERROR: ${d.duplicateDeliveries} duplicate deliveries`}${d.redeliveriesAfterRestart > 0 ? ` per process (${count(d.redeliveriesAfterRestart)} delivered again by restarted nodes)` : ''}`])
    if (d.errors.length > 0) rows.push(['', `e.g. ${d.errors.join('; ')}`])
  }
  const per = r.bytesPerUpdate === null || r.bytesPerUpdate === undefined ? 'n/a (no updates)' : `${bytes(r.bytesPerUpdate)} per update per node`
  rows.push(['grapevine traffic', `${bytes(w.grapevineBytes)} in ${count(w.grapevineMessages)} envelopes (${bytes(w.grapevineBytesPerNodePerSec)}/s per node); ${per}`])
}
