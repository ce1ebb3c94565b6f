/**
 * Scenarios of `membership: 'hyparview'` clusters (`grapevine sim --membership hyparview`): the composed
 * node every real node runs, in its overlay mode, at up to tens of thousands of nodes.
 *
 *   joins     node 0 starts; node i starts at i × joinSpacingMs and joins through a random earlier live node
 *   warm-up   until warmupMs (default: the last join plus 5 shuffle periods)
 *   traffic   broadcasts at `broadcastsPerSec` from random live nodes until durationMs (payload: a counter)
 *   faults    `fail`: at each time, that fraction of the live nodes crashes at once (silently, as hosts
 *             that vanish: packets to them are lost; neighbours find out by keep-alive timeout)
 *   drain     drainMs more, so the last broadcasts finish, then the overlay is measured
 *
 *   packets (onPacket) ──▶ GOSSIP? charged to its broadcast (by id) : IHAVE/GRAFT/PRUNE charged to the latest
 *   message events (onEvent) ──▶ deliveries and last delivery hop of each broadcast
 *   active views at the end ──▶ overlay-metrics.ts (sizes, symmetry, components, clustering, paths, in-degrees)
 *
 * Reliability of a broadcast is the fraction of the nodes live at its send that delivered it, among
 * those still live at the end; RMR is payload messages / (deliveries − 1) − 1 (the Plumtree paper's).
 * Cluster state rounds are off unless `stateRoundMs` is given: replicating every node's heartbeat to
 * every node is O(N²) bytes per round, which is what this mode exists to avoid at scale.
 */
import { SeededRng, deriveSeed } from '../../core/rng.js'
import type { NodeEvent, NodeSettings, OverlaySettings } from '../../node/index.js'
import type { ComposedNode } from '../../node/node.js'
import { measureOverlay, type OverlayReport } from './overlay-metrics.js'
import type { NetworkOptionsInput } from './network.js'
import type { SimNode } from './node.js'
import { SCENARIO_SEED_INDEX, Simulation } from './simulation.js'
import type { SimObserver } from './types.js'
import { StepRunner, formatDurationMs, formatStep, type ScenarioStep } from './steps.js'
import type { Address } from '../../core/types.js'
import type { TraceSink } from './trace.js'

export interface OverlayScenarioOptions {
  readonly seed: number
  readonly nodes: number
  /** Virtual time broadcasts and faults run until. */
  readonly durationMs: number
  /** Gap between two joins. Default 10 ms. */
  readonly joinSpacingMs?: number
  /** Broadcasts start here. Default: the last join plus 5 shuffle periods. */
  readonly warmupMs?: number
  readonly broadcastsPerSec?: number
  readonly fail?: ReadonlyArray<{ readonly fraction: number; readonly atMs: number }>
  /** Timeline steps of a scenario file (steps.ts: crash, restart, pause, leave, partition, heal, join, network). */
  readonly steps?: readonly ScenarioStep[]
  /** Broadcasts at a time: `count` of them at `atMs`, from node `from` (default: random live nodes). */
  readonly broadcastSteps?: ReadonlyArray<{ readonly atMs: number; readonly count: number; readonly from?: string }>
  readonly network?: NetworkOptionsInput
  readonly overlay?: OverlaySettings
  /** Cluster state rounds every this many ms (default off; see the module comment). */
  readonly stateRoundMs?: number
  /** Run this long after durationMs before measuring. Default 3000. */
  readonly drainMs?: number
  /** Shortest-path sources sampled. Default 200. */
  readonly pathSources?: number
  readonly trace?: TraceSink
  /** More observers of the run (a bench timing each delivery, say), attached before the first node. */
  readonly observers?: readonly SimObserver[]
  readonly log?: (text: string, atMs: number) => void
  /**
   * Called as the run starts and once more just before the measurement at the end, while every node is
   * still in memory: the caller reads its clocks and heap there (the simulator itself reads neither).
   */
  readonly probe?: (stage: 'start' | 'end') => void
}

/** What the caller measured around the run (wall and CPU time, heap): see `probe`. */
export interface OverlayRunCost {
  readonly wallMs: number
  readonly cpuMs: number
  /** Virtual seconds per wall second. */
  readonly speedup: number
  /** Heap growth from start to end per node (with --expose-gc, after a collection). */
  readonly heapBytesPerNode: number
}

export interface BroadcastOutcome {
  readonly atMs: number
  readonly reliability: number
  readonly rmr: number
  readonly ldh: number
  readonly payloadMessages: number
  readonly controlMessages: number
}

export interface OverlayRunReport {
  readonly membership: 'hyparview'
  readonly seed: number
  readonly nodes: number
  readonly steps: readonly string[]
  readonly durationMs: number
  readonly virtualMs: number
  readonly eventsProcessed: number
  /** Filled in by the caller that measured the run (the CLI, the bench). */
  cost?: OverlayRunCost
  readonly liveNodes: number
  readonly overlay: OverlayReport
  readonly broadcast: {
    readonly count: number
    readonly reliability: number
    readonly rmr: number
    readonly ldh: number
    readonly payloadMessages: number
    readonly controlMessages: number
    readonly perBroadcast: readonly BroadcastOutcome[]
  }
  /** Neighbour-down events over all nodes, by cause. */
  readonly neighborDown: Readonly<Record<string, number>>
  readonly replay?: string
}

interface Tracked {
  readonly atMs: number
  /** By node index: LIVE when the node was live at the send, | GOT once it delivered (a restarted node counts once). */
  readonly marks: Uint8Array
  /** Deliveries, every copy counted (RMR's receivers). */
  delivered: number
  ldh: number
  payloadMessages: number
  controlMessages: number
}

const GOSSIP_KIND = 16
const ID_BYTES = 16
const LIVE = 1
const GOT = 2

/**
 * The id (hex) of a GOSSIP's message, or undefined for another kind: [kind, from:str, id, …], the id's
 * 16 bytes behind a one-byte (fixstr, as the writer emits raw bytes) or two-byte (str8, bin8) header.
 */
export function gossipIdOf(bytes: Uint8Array): string | undefined {
  if (bytes.length < 24 || bytes[1] !== GOSSIP_KIND) return undefined
  const h = bytes[2]
  let at: number
  if ((h & 0xe0) === 0xa0) at = 3 + (h & 0x1f)
  else if (h === 0xd9) at = 4 + bytes[3]
  else return undefined
  if (bytes[at] === (0xa0 | ID_BYTES)) at += 1
  else if ((bytes[at] === 0xc4 || bytes[at] === 0xd9) && bytes[at + 1] === ID_BYTES) at += 2
  else return undefined
  if (at + ID_BYTES > bytes.length) return undefined
  let hex = ''
  for (let i = at; i < at + ID_BYTES; i++) hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16)
  return hex
}

class BroadcastMeter implements SimObserver {
  readonly byId = new Map<string, Tracked>()
  readonly order: Tracked[] = []
  readonly downs: Record<string, number> = {}
  private latest: Tracked | undefined
  /** Packets of the broadcast call in progress (its id is known only when the call returns). */
  private held: Uint8Array[] | undefined

  /** The origin's broadcast call starts: its own pushes are held until `track` names the id. */
  hold(): void {
    this.held = []
  }

  /** Starts measuring broadcast `id` (the origin delivered it at hops 0 during the call). */
  track(id: string, atMs: number, live: readonly SimNode[], nodeCount: number, origin: SimNode): void {
    const marks = new Uint8Array(nodeCount)
    for (const n of live) marks[n.index] = LIVE
    marks[origin.index] |= GOT
    const t: Tracked = { atMs, marks, delivered: 1, ldh: 0, payloadMessages: 0, controlMessages: 0 }
    this.byId.set(id, t)
    this.order.push(t)
    this.latest = t
    const held = this.held ?? []
    this.held = undefined
    for (const bytes of held) this.count(bytes)
  }

  onPacket(_from: SimNode, _to: Address, bytes: Uint8Array): void {
    if (this.held !== undefined) this.held.push(bytes)
    else this.count(bytes)
  }

  private count(bytes: Uint8Array): void {
    if (bytes[1] === GOSSIP_KIND) {
      const id = gossipIdOf(bytes)
      const t = id === undefined ? undefined : this.byId.get(id)
      if (t !== undefined) t.payloadMessages++
    } else if (bytes[1] >= 17 && bytes[1] <= 19 && this.latest !== undefined) {
      this.latest.controlMessages++
    }
  }

  onEvent(node: SimNode, event: NodeEvent): void {
    if (event.type === 'message') {
      const t = this.byId.get(event.message.id)
      if (t === undefined) return
      t.delivered++
      if (node.index < t.marks.length) t.marks[node.index] |= GOT
      if (event.message.hops > t.ldh) t.ldh = event.message.hops
    } else if (event.type === 'neighborDown') {
      this.downs[event.cause] = (this.downs[event.cause] ?? 0) + 1
    }
  }
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)

export function runOverlayScenario(o: OverlayScenarioOptions): OverlayRunReport {
  o.probe?.('start')
  const spacing = o.joinSpacingMs ?? 10
  const shuffleMs = o.overlay?.hyparview?.shuffleIntervalMs ?? 10_000
  const lastJoinMs = (o.nodes - 1) * spacing
  const warmupMs = o.warmupMs ?? lastJoinMs + 5 * shuffleMs
  const node: NodeSettings = { membership: 'hyparview', overlay: o.overlay ?? {}, state: { roundIntervalMs: o.stateRoundMs ?? 0 } }
  const sim = new Simulation({ seed: o.seed, network: { latencyMs: [1, 10], ...o.network }, trace: o.trace, recordEvents: false, node })
  const rng = new SeededRng(deriveSeed(sim.seed, SCENARIO_SEED_INDEX))
  const meter = new BroadcastMeter()
  sim.observe(meter)
  for (const extra of o.observers ?? []) sim.observe(extra)
  const log = (text: string): void => o.log?.(text, sim.nowMs)
  const steps = [`${o.nodes} nodes join one by one every ${formatDurationMs(spacing)}, each through a random earlier node`]

  sim.spawn(1)
  for (let i = 1; i < o.nodes; i++) {
    sim.at(i * spacing, () => {
      // A random live node, drawn without listing them (a list per join made the joins O(N²)): the
      // same draw as from the live list while no node has failed.
      const nodes = sim.nodes
      let via = nodes[rng.int(nodes.length)]
      for (let tries = 0; !via.live && tries < 64; tries++) via = nodes[rng.int(nodes.length)]
      if (!via.live) {
        const live = nodes.filter((n) => n.live)
        if (live.length > 0) via = live[rng.int(live.length)]
      }
      sim.spawn(1, { join: [via] })
    })
  }
  let seq = 0
  /** One measured broadcast from `from` (default: a random running node). */
  const broadcast = (from?: SimNode): void => {
    const liveNodes = sim.nodes.filter((n) => n.status === 'running')
    const origin = from ?? liveNodes[rng.int(liveNodes.length)]
    if (origin === undefined || origin.status !== 'running') return log(`broadcast skipped: ${origin?.name ?? 'no node'} is not running`)
    const payload = new TextEncoder().encode(`b${++seq}`)
    meter.hold()
    const id = sim.invoke(origin, (p, now, out) => (p as ComposedNode).broadcast('sim', payload, now, out))
    meter.track(id, sim.nowMs, liveNodes, sim.nodes.length, origin)
  }
  const rate = o.broadcastsPerSec ?? 0
  if (rate > 0) {
    const gap = 1000 / rate
    steps.push(`broadcasts: ${rate}/s from random live nodes, ${formatDurationMs(warmupMs)}..${formatDurationMs(o.durationMs)}`)
    for (let at = warmupMs; at < o.durationMs; at += gap) sim.at(at, () => broadcast())
  }
  for (const b of o.broadcastSteps ?? []) {
    steps.push(`${formatDurationMs(b.atMs)} broadcast ×${b.count} from ${b.from ?? 'random live nodes'}`)
    sim.at(b.atMs, () => {
      for (let k = 0; k < b.count; k++) broadcast(b.from === undefined ? undefined : sim.node(b.from))
    })
  }
  // A file's timeline: the single-pool steps, each joining node through a random live node.
  const runner = new StepRunner({
    sim,
    rng,
    durationMs: o.durationMs,
    log,
    joinThrough: () => {
      const live = sim.nodes.filter((n) => n.live)
      return live.length === 0 ? undefined : live[rng.int(live.length)]
    },
  })
  for (const step of o.steps ?? []) {
    steps.push(formatStep(step))
    runner.schedule(step)
  }
  for (const f of o.fail ?? []) {
    steps.push(`${+(f.fraction * 100).toFixed(2)}% of the live nodes crash at ${formatDurationMs(f.atMs)}`)
    sim.at(f.atMs, () => {
      const live = sim.nodes.filter((n) => n.live)
      const victims = rng.shuffle(live).slice(0, Math.round(f.fraction * live.length))
      for (const v of victims) sim.crash(v)
      log(`crashed ${victims.length} of ${live.length} nodes`)
    })
  }
  sim.runUntilTime(o.durationMs + (o.drainMs ?? 3000))
  o.probe?.('end')

  const index = new Map<string, number>(sim.nodes.map((n) => [`${n.address.ip}:${n.address.port}`, n.index]))
  const overlay = measureOverlay(
    {
      n: sim.nodes.length,
      isAlive: (i) => sim.nodes[i].live,
      activeOf: (i) => ((sim.nodes[i].protocol as ComposedNode).overlay?.hv.activeView() ?? []).map((p) => index.get(p) ?? -1).filter((j) => j >= 0),
      activeViewSize: (sim.nodes[0].protocol as ComposedNode).overlay?.hv.config.activeViewSize ?? 5,
    },
    { pathSources: o.pathSources ?? 200, seed: sim.seed },
  )
  const perBroadcast: BroadcastOutcome[] = meter.order.map((t) => {
    // Among the nodes live at the send and still live now, the share that delivered it.
    let live = 0
    let got = 0
    for (let i = 0; i < t.marks.length; i++) {
      if ((t.marks[i] & LIVE) === 0 || !sim.nodes[i].live) continue
      live++
      if ((t.marks[i] & GOT) !== 0) got++
    }
    return {
      atMs: t.atMs,
      reliability: live === 0 ? 0 : got / live,
      rmr: t.delivered > 1 ? t.payloadMessages / (t.delivered - 1) - 1 : 0,
      ldh: t.ldh,
      payloadMessages: t.payloadMessages,
      controlMessages: t.controlMessages,
    }
  })
  return {
    membership: 'hyparview',
    seed: sim.seed,
    nodes: o.nodes,
    steps,
    durationMs: o.durationMs,
    virtualMs: sim.nowMs,
    eventsProcessed: sim.stats.eventsProcessed,
    liveNodes: overlay.liveNodes,
    overlay,
    broadcast: {
      count: perBroadcast.length,
      reliability: mean(perBroadcast.map((b) => b.reliability)),
      rmr: mean(perBroadcast.map((b) => b.rmr)),
      ldh: mean(perBroadcast.map((b) => b.ldh)),
      payloadMessages: mean(perBroadcast.map((b) => b.payloadMessages)),
      controlMessages: mean(perBroadcast.map((b) => b.controlMessages)),
      perBroadcast,
    },
    neighborDown: meter.downs,
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`

/** The report as text. */
export function formatOverlayReport(r: OverlayRunReport): string {
  const o = r.overlay
  const b = r.broadcast
  const lines = [
    `grapevine sim --membership hyparview: ${r.nodes} nodes, seed ${r.seed}`,
    ...r.steps.map((s) => `  ${s}`),
    `ran ${formatDurationMs(r.virtualMs)} virtual, ${r.eventsProcessed} events` +
      (r.cost === undefined ? '' : ` in ${(r.cost.wallMs / 1000).toFixed(1)} s wall (${r.cost.speedup.toFixed(1)}× real time, ${(r.cost.cpuMs / 1000).toFixed(1)} s CPU), ${(r.cost.heapBytesPerNode / 1024).toFixed(1)} kB heap per node`),
    `overlay (${r.liveNodes} live): active view ${o.activeSize.mean.toFixed(2)} mean [${o.activeSize.min}..${o.activeSize.max}], ${pct(o.fractionAtActiveSize)} full, ${pct(o.symmetricFraction)} symmetric links`,
    `  ${o.components} component(s), ${o.isolated} isolated, clustering ${o.clustering.toFixed(5)}, average shortest path ${o.avgShortestPath.toFixed(2)}`,
    `  in-degrees: ${o.inDegreeHistogram.map((c, d) => `${d}:${c}`).filter((x) => !x.endsWith(':0')).join(' ')}`,
    `  neighbours down: ${Object.entries(r.neighborDown).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
  ]
  if (b.count > 0) {
    lines.push(`broadcasts: ${b.count}, reliability ${pct(b.reliability)}, RMR ${b.rmr.toFixed(3)}, last delivery hop ${b.ldh.toFixed(1)}, ${b.payloadMessages.toFixed(0)} payload and ${b.controlMessages.toFixed(0)} control messages each (means)`)
    const worst = b.perBroadcast.filter((x) => x.reliability < 1).slice(0, 5)
    for (const w of worst) lines.push(`  at ${formatDurationMs(w.atMs)}: reliability ${pct(w.reliability)}, RMR ${w.rmr.toFixed(3)}`)
  }
  if (r.replay !== undefined) lines.push(`replay: ${r.replay}`)
  return lines.join('\n')
}
