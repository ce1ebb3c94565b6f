/**
 * The papers' figures from the thing that ships: the composed node (`membership: 'hyparview'`) run by
 * the simulator (runOverlayScenario, as `grapevine sim --membership hyparview` runs it), for
 * `npm run bench:overlay` beside the harness rows of overlay.ts.
 *
 *   healthy run   N nodes join one by one (10 ms apart, each through a random earlier node), P shuffle
 *                 periods of 10 s, then B broadcasts 1 s apart from random live nodes
 *                 ──▶ overlay metrics at the end, per-broadcast payloads (exactly N − 1?) and RMR
 *   flooding run  the healthy run with the node flooding (`overlay.plumtree.mode: 'flood'`)
 *                 ──▶ RMR and reliability of every broadcast (the papers' 3.0 and 100 %)
 *   failure run   the same prefix (same seed: the same overlay and broadcasts), then a fraction f of the
 *                 live nodes crashes at once, silently, as UDP sees it (packets to them are lost; no
 *                 connection reset tells anyone); B broadcasts 200 ms apart from the crash on (the
 *                 papers' "no membership round in between"), then one a second for repairMs; Plumtree
 *                 for each of failFractions, flooding for each of floodFailFractions
 *                 ──▶ per broadcast: reliability within 1 s of its send and at the end; the first
 *                 broadcast from which every later one reached every live node, at the end and within
 *                 1 s (a "round" is one broadcast after another, as in the papers' figures)
 *
 * Keep-alive pings are what finds a crashed neighbour over UDP (the papers assume TCP, whose broken
 * connection reports the dead at the send): the failure runs use `keepAliveMs` (default the library's
 * 1 s, timeout 5 ×) and, since pings are most of their events, `failShufflePeriods` (default 5)
 * instead of the papers' 50 (shuffles change passive views only; the active views they crash are
 * full after the joins). The healthy run has pings off, the papers' model. Deliveries are timed by an
 * observer attached to the run (no clock is read).
 */
import type { NodeEvent } from '../src/node/index.js'
import type { ComposedNode } from '../src/node/node.js'
import { runOverlayScenario, type OverlayRunReport } from '../src/runtime/sim/overlay-scenario.js'
import type { SimNode } from '../src/runtime/sim/node.js'
import type { SimObserver } from '../src/runtime/sim/types.js'

export interface ComposedOptions {
  readonly nodes: number
  readonly seed: number
  /** Shuffle periods (10 s) after the last join before the first broadcast. Papers: 50. */
  readonly shufflePeriods: number
  readonly broadcasts: number
  readonly failFractions: readonly number[]
  /**
   * Keep-alive ping interval of the failure runs (timeout 5 ×): over UDP nothing else finds a crashed
   * neighbour. The healthy run has pings off (the papers' model; with no failure they change no link,
   * and at 1 s they are most of a run's events).
   */
  readonly keepAliveMs: number
  /** Shuffle periods before the healthy broadcasts of a failure run (its pings make it costly). */
  readonly failShufflePeriods: number
  /** After the burst of broadcasts that follows a crash, one broadcast a second for this long. */
  readonly repairMs: number
  /** Fractions crashed with the node in flooding mode (`overlay.plumtree.mode: 'flood'`). */
  readonly floodFailFractions: readonly number[]
  /** Plumtree's repairPush (default the library's): 'tree' is the paper's, for a before/after in one build. */
  readonly repairPush?: 'lazy-too' | 'tree'
  /** Skip the two healthy runs (Plumtree and flooding): only the failure rows. */
  readonly failuresOnly?: boolean
  readonly progress?: (line: string) => void
}

export interface ComposedBroadcast {
  readonly atMs: number
  readonly reliability: number
  readonly reliabilityWithin1s: number
  readonly payloadMessages: number
  readonly rmr: number
  readonly ldh: number
}

export interface ComposedFailure {
  readonly fraction: number
  readonly mode: 'plumtree' | 'flood'
  readonly crashAtMs: number
  readonly liveAfter: number
  readonly broadcasts: readonly ComposedBroadcast[]
  /** Crashed neighbours found (neighbour-down by keep-alive timeout): the first and the last, ms after the crash. */
  readonly firstDetectionAfterMs: number | undefined
  readonly lastDetectionAfterMs: number | undefined
  /** The last neighbour-up after the crash (the overlay's repair done), ms after the crash; undefined: none. */
  readonly repairDoneAfterMs: number | undefined
  /** The first broadcast (index among those after the crash) from which every later one reached every live node in the end. */
  readonly fullFromIndex: number | undefined
  readonly fullFromAfterCrashMs: number | undefined
  /** …and within 1 s of its send. */
  readonly fullWithin1sFromIndex: number | undefined
  readonly fullWithin1sFromAfterCrashMs: number | undefined
  readonly cpuMs: number
  readonly events: number
  /** Plumtree messages that arrived off the tree and were pushed to lazy peers too, summed over nodes. */
  readonly repairPushes: number
}

export interface ComposedResult {
  readonly settings: Omit<ComposedOptions, 'progress'>
  readonly healthy: {
    readonly report: Omit<OverlayRunReport, 'broadcast'> & { broadcast: Omit<OverlayRunReport['broadcast'], 'perBroadcast'> }
    readonly broadcasts: readonly ComposedBroadcast[]
    /** Broadcasts after the first with exactly N − 1 payload messages and every node reached. */
    readonly exactAfterFirst: number
    readonly lowRmrAfterFirst: number
    readonly cpuMs: number
  } | undefined
  /** The same healthy run with the node flooding (every neighbour eager): RMR and reliability of every broadcast. */
  readonly flood: {
    readonly broadcasts: readonly ComposedBroadcast[]
    readonly rmr: number
    readonly reliability: number
    readonly cpuMs: number
  } | undefined
  readonly failures: readonly ComposedFailure[]
}

const SHUFFLE_MS = 10_000
const JOIN_SPACING_MS = 10
const HEALTHY_GAP_MS = 1000
const BURST_GAP_MS = 200

/** Times each delivery and the overlay's repair (neighbour events after the crash). */
class DeliveryClock implements SimObserver {
  /** By payload (the scenario's `b1`, `b2`, … in broadcast order): the delivering node indices and times. */
  readonly deliveries = new Map<string, { nodes: number[]; atMs: number[] }>()
  private readonly text = new TextDecoder()
  /** Neighbour events count from here (the crash; Infinity in a run without one). */
  constructor(private readonly crashAtMs: number) {}
  readonly crashed = new Set<number>()
  lastNeighborUpMs = -1
  /** Neighbour-down events (crashed neighbours found by keep-alive timeout): first and last time. */
  firstDownMs = -1
  lastDownMs = -1
  /** Every node that emitted an event (each has a neighbour up), for the Plumtree counters at the end. */
  private readonly nodes = new Set<SimNode>()
  repairPushes(): number {
    let sum = 0
    for (const n of this.nodes) sum += (n.protocol as ComposedNode).overlay?.tree.counters.repairPushes ?? 0
    return sum
  }
  onEvent(node: SimNode, event: NodeEvent, atMs: number): void {
    this.nodes.add(node)
    if (event.type === 'message') {
      const key = this.text.decode(event.message.payload)
      let d = this.deliveries.get(key)
      if (d === undefined) {
        d = { nodes: [], atMs: [] }
        this.deliveries.set(key, d)
      }
      d.nodes.push(node.index)
      d.atMs.push(atMs)
    } else if (atMs < this.crashAtMs) {
      return
    } else if (event.type === 'neighborUp') {
      this.lastNeighborUpMs = atMs
    } else if (event.type === 'neighborDown' && event.cause === 'timeout') {
      if (this.firstDownMs < 0) this.firstDownMs = atMs
      this.lastDownMs = atMs
    }
  }
  onCrash(node: SimNode): void {
    this.crashed.add(node.index)
  }
}

function run(o: ComposedOptions, fraction: number | undefined, mode: 'plumtree' | 'flood'): { report: OverlayRunReport; clock: DeliveryClock; cpuMs: number; crashAtMs: number; repairPushes: number } {
  const periods = fraction === undefined ? o.shufflePeriods : o.failShufflePeriods
  const warmupMs = (o.nodes - 1) * JOIN_SPACING_MS + periods * SHUFFLE_MS
  const crashAtMs = warmupMs + o.broadcasts * HEALTHY_GAP_MS + 1000
  const steps: Array<{ atMs: number; count: number }> = []
  for (let b = 0; b < o.broadcasts; b++) steps.push({ atMs: warmupMs + b * HEALTHY_GAP_MS, count: 1 })
  let durationMs = crashAtMs
  if (fraction !== undefined) {
    // The first burst broadcast 10 ms after the crash: no keep-alive period passes before it.
    for (let b = 0; b < o.broadcasts; b++) steps.push({ atMs: crashAtMs + 10 + b * BURST_GAP_MS, count: 1 })
    const burstEnd = crashAtMs + 10 + o.broadcasts * BURST_GAP_MS
    for (let at = burstEnd + 1000; at < burstEnd + o.repairMs; at += 1000) steps.push({ atMs: at, count: 1 })
    durationMs = burstEnd + o.repairMs
  }
  const clock = new DeliveryClock(fraction === undefined ? Infinity : crashAtMs)
  const cpu0 = process.cpuUsage()
  const keepAlive = fraction !== undefined && o.keepAliveMs > 0 ? { keepAliveIntervalMs: o.keepAliveMs, keepAliveTimeoutMs: 5 * o.keepAliveMs } : { keepAliveIntervalMs: 60_000, keepAliveTimeoutMs: 0 }
  const report = runOverlayScenario({
    seed: o.seed,
    nodes: o.nodes,
    joinSpacingMs: JOIN_SPACING_MS,
    warmupMs,
    durationMs,
    broadcastSteps: steps,
    fail: fraction === undefined ? [] : [{ fraction, atMs: crashAtMs }],
    overlay: { hyparview: { shuffleIntervalMs: SHUFFLE_MS, ...keepAlive }, plumtree: { mode, ...(o.repairPush === undefined ? {} : { repairPush: o.repairPush }) } },
    pathSources: 200,
    drainMs: 3000,
    observers: [clock],
  })
  const cpu = process.cpuUsage(cpu0)
  return { report, clock, cpuMs: (cpu.user + cpu.system) / 1000, crashAtMs, repairPushes: clock.repairPushes() }
}

/** Per broadcast of the report, its reliability within 1 s among the nodes live at the end (and at its send). */
function timed(report: OverlayRunReport, clock: DeliveryClock, from: number): ComposedBroadcast[] {
  const live = report.liveNodes
  return report.broadcast.perBroadcast.slice(from).map((b, i) => {
    const d = clock.deliveries.get(`b${from + i + 1}`)
    let within = 1 // the origin
    if (d !== undefined) for (let k = 0; k < d.nodes.length; k++) if (d.atMs[k] <= b.atMs + 1000 && !clock.crashed.has(d.nodes[k])) within++
    return { atMs: b.atMs, reliability: b.reliability, reliabilityWithin1s: Math.min(1, within / live), payloadMessages: b.payloadMessages, rmr: b.rmr, ldh: b.ldh }
  })
}

/** The first index from which every later value is full (1), or undefined. */
function fullFrom(xs: readonly number[]): number | undefined {
  let i = xs.length
  while (i > 0 && xs[i - 1] === 1) i--
  return i === xs.length ? undefined : i
}

export function runComposedFigures(o: ComposedOptions): ComposedResult {
  let healthy: ComposedResult['healthy']
  let flood: ComposedResult['flood']
  if (o.failuresOnly !== true) {
    o.progress?.(`composed node: ${o.nodes} nodes, ${o.shufflePeriods} shuffle periods, pings off: healthy run…`)
    const h = run(o, undefined, 'plumtree')
    const broadcasts = timed(h.report, h.clock, 0)
    const after = broadcasts.slice(1)
    const n1 = h.report.liveNodes - 1
    const { perBroadcast: _omit, ...summary } = h.report.broadcast
    void _omit
    healthy = {
      report: { ...h.report, broadcast: summary },
      broadcasts,
      exactAfterFirst: after.filter((b) => b.payloadMessages === n1 && b.reliability === 1).length,
      lowRmrAfterFirst: after.filter((b) => b.rmr <= 0.01 && b.reliability === 1).length,
      cpuMs: h.cpuMs,
    }
    o.progress?.(`composed node: ${o.nodes} nodes, ${o.shufflePeriods} shuffle periods, pings off, flooding: healthy run…`)
    const fl = run(o, undefined, 'flood')
    const fb = timed(fl.report, fl.clock, 0)
    flood = { broadcasts: fb, rmr: fl.report.broadcast.rmr, reliability: fl.report.broadcast.reliability, cpuMs: fl.cpuMs }
  }
  const failure = (fraction: number, mode: 'plumtree' | 'flood'): ComposedFailure => {
    o.progress?.(`composed node: ${o.nodes} nodes, ${o.failShufflePeriods} shuffle periods, pings ${o.keepAliveMs > 0 ? `every ${o.keepAliveMs} ms` : 'off'}, ${mode}, ${fraction * 100} % crash…`)
    const f = run(o, fraction, mode)
    const post = timed(f.report, f.clock, o.broadcasts)
    const end = fullFrom(post.map((b) => b.reliability))
    const in1s = fullFrom(post.map((b) => b.reliabilityWithin1s))
    return {
      fraction,
      mode,
      crashAtMs: f.crashAtMs,
      liveAfter: f.report.liveNodes,
      broadcasts: post,
      firstDetectionAfterMs: f.clock.firstDownMs > f.crashAtMs ? f.clock.firstDownMs - f.crashAtMs : undefined,
      lastDetectionAfterMs: f.clock.lastDownMs > f.crashAtMs ? f.clock.lastDownMs - f.crashAtMs : undefined,
      repairDoneAfterMs: f.clock.lastNeighborUpMs > f.crashAtMs ? f.clock.lastNeighborUpMs - f.crashAtMs : undefined,
      fullFromIndex: end,
      fullFromAfterCrashMs: end === undefined ? undefined : post[end].atMs - f.crashAtMs,
      fullWithin1sFromIndex: in1s,
      fullWithin1sFromAfterCrashMs: in1s === undefined ? undefined : post[in1s].atMs - f.crashAtMs,
      cpuMs: f.cpuMs,
      events: f.report.eventsProcessed,
      repairPushes: f.repairPushes,
    }
  }
  const failures = [...o.floodFailFractions.map((x) => failure(x, 'flood')), ...o.failFractions.map((x) => failure(x, 'plumtree'))]
  const { progress: _p, ...settings } = o
  void _p
  return { settings, healthy, flood, failures }
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`
const sec = (ms: number | undefined): string => (ms === undefined ? 'never in the run' : `${(ms / 1000).toFixed(2)} s`)

/** Rows [figure, paper, composed node] for the table of overlay.ts. */
export function composedRows(r: ComposedResult): string[][] {
  const rows: string[][] = []
  if (r.healthy !== undefined) {
    const o = r.healthy.report.overlay
    const n = r.healthy.broadcasts.length - 1
    const after = r.healthy.broadcasts.slice(1)
    const mean = (f: (b: ComposedBroadcast) => number): number => after.reduce((s, b) => s + f(b), 0) / Math.max(1, after.length)
    rows.push(
      ['nodes with exactly 5 active neighbours', '≥ 90 %', pct(o.fractionAtActiveSize)],
      ['active links symmetric', '100 %', pct(o.symmetricFraction)],
      ['average clustering coefficient', '< 0.002', o.clustering.toFixed(5)],
      ['average shortest path', '≈ 6.4', o.avgShortestPath.toFixed(2)],
      ['components / isolated nodes', '1 / 0', `${o.components} / ${o.isolated}`],
    )
    if (r.flood !== undefined) {
      const rmrs = r.flood.broadcasts.map((b) => b.rmr)
      rows.push(['flooding the active view: RMR (mean, min–max), reliability', '3.0 ± 0.05, 100 %', `${r.flood.rmr.toFixed(3)} (${Math.min(...rmrs).toFixed(3)}–${Math.max(...rmrs).toFixed(3)}), ${pct(r.flood.reliability)}`])
    }
    rows.push(
      ['Plumtree broadcasts with RMR ≤ 0.01, all reached (after the first)', '≥ 95 %', `${pct(r.healthy.lowRmrAfterFirst / Math.max(1, n))} (${r.healthy.lowRmrAfterFirst} of ${n})`],
      ['Plumtree broadcasts with exactly N − 1 payload messages', '≥ 95 %', `${pct(r.healthy.exactAfterFirst / Math.max(1, n))} (${r.healthy.exactAfterFirst} of ${n})`],
      ['Plumtree: mean RMR, payload messages, LDH (after the first)', '≈ 0, N − 1', `${mean((b) => b.rmr).toFixed(4)}, ${mean((b) => b.payloadMessages).toFixed(1)}, ${mean((b) => b.ldh).toFixed(1)}`],
    )
  }
  for (const f of r.failures) {
    const b = f.broadcasts
    const what = `${f.fraction * 100} % crashed, ${f.mode === 'flood' ? 'flooding' : 'Plumtree'}`
    const ends = b.slice(0, 3).map((x) => pct(x.reliability)).join(', ')
    const in1s = b.slice(0, 3).map((x) => pct(x.reliabilityWithin1s)).join(', ')
    if (f.mode === 'flood') {
      rows.push([`${what}: broadcast 1 (no round between), in the end / within 1 s`, '≥ 99 % (50 %)', `${pct(b[0]?.reliability ?? 0)} / ${pct(b[0]?.reliabilityWithin1s ?? 0)}`])
      continue
    }
    rows.push(
      [`${what}: broadcasts 1..3 in the end`, '100 % from 2nd', ends],
      [`${what}: broadcasts 1..3 within 1 s`, '', in1s],
      [`${what}: every later broadcast 100 % (end / 1 s) from`, '2nd', `${f.fullFromIndex === undefined ? 'never' : `#${f.fullFromIndex + 1}`} / ${f.fullWithin1sFromIndex === undefined ? 'never' : `#${f.fullWithin1sFromIndex + 1}, ${sec(f.fullWithin1sFromAfterCrashMs)} after the crash`}`],
      [`${what}: dead found, last link up (after the crash); repair pushes`, '', `${sec(f.firstDetectionAfterMs)}–${sec(f.lastDetectionAfterMs)}, ${sec(f.repairDoneAfterMs)}; ${f.repairPushes}`],
    )
  }
  return rows
}
