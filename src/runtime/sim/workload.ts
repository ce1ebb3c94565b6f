/**
 * The whole Grapevine stack under a workload, in a scenario: every node is the composed node a real
 * node runs (SWIM, Serf's layer, broadcasts, cluster state, phi), and the workload writes keys and
 * broadcasts through the node's own operations while the scenario's faults apply. What it measures
 * goes into the report (report.ts):
 *
 *   writes       `kvWritesPerSec` per virtual second during the window, each on a random running node:
 *                a set of a random key of a bounded key space (so keys are overwritten), or with
 *                probability `deleteFraction` a delete of one of that node's live keys
 *   broadcasts   `broadcastsPerSec` per virtual second during the window, from a random running node
 *   state        after the last write, checked every CHECK_EVERY_MS: converged when every live node
 *                (running or paused) holds the same maps of the same nodes, crashed nodes' maps
 *                included (they stay replicated); the digest is a hash of that common view
 *   delivery     per (broadcast, node live at the end): delivered or not, when, and how often
 *   bytes        Grapevine envelopes (memberlist user messages starting with 0x47) in every packet
 *                sent, read from the simulator's packet stream
 *
 * Deterministic: the workload draws from its own generator derived from the run seed; each node's
 * randomness is the simulation's (one seed per node and restart), and its state generation grows
 * across restarts.
 */
import { SeededRng, deriveSeed } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import { ComposedNode, ENVELOPE_MAGIC } from '../../node/index.js'
import type { ClusterState, NodeEvent } from '../../node/index.js'
import { decodePacket } from '../../wire/codec.js'
import type { SimNode } from './node.js'
import type { SimObserver, Simulation } from './simulation.js'
import type { AggregateWorkloadOptions } from './aggregate-workload.js'

/** Reserved child-seed index of the workload's generator (next to the simulation's own). */
export const WORKLOAD_SEED_INDEX = 0x7ff0_0004

/** How often state convergence is checked after the last write (the resolution of stateConvergenceMs). */
export const CHECK_EVERY_MS = 100

export interface WorkloadOptions {
  /** Key writes per virtual second, cluster-wide (0: none). */
  readonly kvWritesPerSec?: number
  /** Broadcasts per virtual second, cluster-wide (0: none). */
  readonly broadcastsPerSec?: number
  /** Writes and broadcasts happen in [0, windowMs); default the scenario's duration. */
  readonly windowMs?: number
  /** Keys per node map are drawn from k0..k(keySpace−1). Default 32. */
  readonly keySpace?: number
  /** Share of writes that delete a live key instead of setting one. Default 0.1. */
  readonly deleteFraction?: number
  /** Broadcast payload size in bytes. Default 32. */
  readonly payloadBytes?: number
  /** Writes of the replicated data types per virtual second, cluster-wide (crdt-workload.ts; 0: none). */
  readonly crdtOpsPerSec?: number
  /**
   * Every node keeps its CRDT state in a data directory (crdt-disk.ts): a crashed node restarts with its
   * replica id and keys, as a real node with `dataDir` does. Default false: a restart starts afresh.
   */
  readonly crdtDurable?: boolean
  /** The CRDT ops start this long (virtual ms) after the nodes are spawned, e.g. once the joins settled. Default 0. */
  readonly crdtStartMs?: number
  /** Aggregates every node computes (aggregate-workload.ts); absent: none. */
  readonly aggregate?: AggregateWorkloadOptions
}

export interface BroadcastDeliveryReport {
  readonly broadcasts: number
  /** Nodes live at the end of the run: each should have delivered every broadcast. */
  readonly liveNodes: number
  /** (broadcast, live node) pairs delivered / all such pairs; 1 when there were no broadcasts. */
  readonly fraction: number
  readonly missing: number
  /** From the broadcast to its delivery at another node, over every such delivery. Null without any. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number } | null
  /** Copies received of rumors already known, summed over every engine (rumor counters `duplicates`). */
  readonly duplicatesSuppressed: number
  /** Deliveries of a broadcast the same process of a node had already delivered: must be 0 (exactly once). */
  readonly duplicateDeliveries: number
  /** Deliveries by a restarted node's new process of a broadcast its predecessor had delivered (legitimate). */
  readonly redeliveriesAfterRestart: number
  /** A few examples of missing or duplicate deliveries. */
  readonly errors: readonly string[]
}

export interface WorkloadReport {
  readonly kvWritesPerSec: number
  readonly broadcastsPerSec: number
  readonly windowMs: number
  readonly sets: number
  readonly deletes: number
  readonly broadcasts: number
  /** Virtual time of the last write; null without writes. */
  readonly lastWriteAtMs: number | null
  /**
   * From the last write until every live node (running or paused) held the same view: the same nodes,
   * and for each the same generation, version and live entries (crashed nodes' maps included).
   * Null when that never happened within the run; `stateConvergenceNote` says why.
   */
  readonly stateConvergenceMs: number | null
  /** 16 hex chars: a (non-cryptographic, 64-bit) hash of that common view; null unless converged. */
  readonly stateDigest: string | null
  readonly stateConvergenceNote: string | null
  readonly broadcastDelivery: BroadcastDeliveryReport
  /** Bytes of Grapevine envelopes in packets sent over the whole run (chaos and settle). */
  readonly grapevineBytes: number
  /** Envelopes counted in `grapevineBytes`. */
  readonly grapevineMessages: number
  /**
   * grapevineBytes per node and virtual second over the whole run: mostly the state rounds' Syn
   * digests when the cluster is quiet, so it shows how much of bytesPerUpdate is background.
   */
  readonly grapevineBytesPerNodePerSec: number
  /**
   * grapevineBytes / ((sets + deletes + broadcasts) × nodes): what one update cost per node, the
   * protocols' background traffic (state rounds, heartbeats, repair pulls) included. Push-pull
   * streams (SWIM's periodic full exchange, which carries the state too) are not counted. Null
   * without updates.
   */
  readonly bytesPerUpdate: number | null
}

/** Two FNV-1a lanes over UTF-16 code units: a 64-bit digest as 16 hex chars. Not cryptographic. */
export class Hash64 {
  private a = 0x811c9dc5
  private b = 0x01000193 ^ 0x9e3779b9

  update(text: string): this {
    let a = this.a
    let b = this.b
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x5bd1e995)
      b ^= b >>> 15
    }
    this.a = a
    this.b = b
    return this
  }

  hex(): string {
    const mix = (x: number): number => {
      x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
      x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
      return (x ^ (x >>> 16)) >>> 0
    }
    const hi = mix(this.a ^ Math.imul(this.b, 31))
    const lo = mix(this.b + this.a)
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
  }
}

/** The cluster state a simulated node holds (its composed node's). */
function stateOf(node: SimNode): ClusterState {
  const st = node.protocol instanceof ComposedNode ? node.protocol.clusterState : undefined
  if (st === undefined) throw new Error(`${node.name} runs no cluster state: the workload needs the whole stack on every node`)
  return st
}

/** Cheap: node names with generation and maxVersion (under the reconciliation invariant, equal pairs mean equal maps). */
function versionsOf(st: ClusterState): string {
  let s = ''
  for (const name of st.nodeNames()) {
    const n = st.node(name)!
    s += `${name}:${n.generation}:${n.maxVersion};`
  }
  return s
}

/** The full view: every held map's live entries, hashed. */
export function stateDigest(st: ClusterState): string {
  const h = new Hash64()
  for (const name of st.nodeNames()) {
    h.update(`\n${name}@${st.node(name)!.generation}\n`)
    for (const [k, v] of st.entries(name)) h.update(`${k}=${v}\n`)
  }
  return h.hex()
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** Rounds to microseconds, as the network does, so reports print cleanly. */
function us(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/**
 * Drives the workload on the composed nodes and measures it. Observe the simulation with it before
 * spawning, then call `start(durationMs)`; `settled()` tells the settle phase when to stop; `report()` at the end.
 */
export class StackWorkload implements SimObserver {
  /** Every node process started (restarts included), for the protocols' counters. */
  private readonly allNodes: ComposedNode[] = []
  private readonly rng: SeededRng
  private readonly kvRate: number
  private readonly bcRate: number
  private readonly keySpace: number
  private readonly deleteFraction: number
  private readonly payloadBytes: number
  private windowMs = 0
  private sets = 0
  private deletes = 0
  private lastWriteAtMs: number | null = null
  private writesScheduledUntilMs = 0
  private convergedAtMs: number | null = null
  private digest: string | null = null
  private checking = false
  /** Broadcast id → virtual time sent. */
  private readonly sentAt = new Map<string, number>()
  /** Broadcast id → node name → virtual time delivered. */
  private readonly delivered = new Map<string, Map<string, number>>()
  private duplicateDeliveries = 0
  /** (broadcast id, node, process start) triples delivered. */
  private readonly deliveredBy = new Set<string>()
  private redeliveries = 0
  private readonly duplicateExamples: string[] = []
  private bytes = 0
  private messages = 0

  constructor(
    private readonly sim: Simulation,
    private readonly nodes: number,
    private readonly options: WorkloadOptions = {},
  ) {
    this.rng = new SeededRng(deriveSeed(sim.seed, WORKLOAD_SEED_INDEX))
    this.kvRate = options.kvWritesPerSec ?? 0
    this.bcRate = options.broadcastsPerSec ?? 0
    this.keySpace = options.keySpace ?? 32
    this.deleteFraction = options.deleteFraction ?? 0.1
    this.payloadBytes = options.payloadBytes ?? 32
  }

  onSpawn(node: SimNode): void {
    if (node.protocol instanceof ComposedNode) this.allNodes.push(node.protocol)
  }

  onRestart(node: SimNode): void {
    this.onSpawn(node)
  }

  onEvent(node: SimNode, event: NodeEvent): void {
    if (event.type === 'message' && event.message.via === 'grapevine') this.onDelivery(node.name, node.restarts, event.message.id)
  }

  /** Schedules the writes and broadcasts of [now, now + windowMs). */
  start(durationMs: number): void {
    const sim = this.sim
    const t0 = sim.nowMs
    this.windowMs = Math.min(this.options.windowMs ?? durationMs, durationMs)
    if (this.kvRate > 0) {
      const every = 1000 / this.kvRate
      for (let i = 0; i * every < this.windowMs; i++) {
        this.writesScheduledUntilMs = t0 + i * every
        sim.at(t0 + i * every, () => this.write(i))
      }
    }
    if (this.bcRate > 0) {
      const every = 1000 / this.bcRate
      for (let i = 0; i * every < this.windowMs; i++) sim.at(t0 + i * every, () => this.broadcast(i))
    }
    // State convergence is watched from the last scheduled write on (checked only once it was made).
    if (this.kvRate > 0) sim.at(this.writesScheduledUntilMs, () => this.watchState())
  }

  /** State converged (or no writes) and every live node delivered every broadcast. */
  settled(): boolean {
    return (this.kvRate === 0 || this.lastWriteAtMs === null || this.convergedAtMs !== null) && this.missingDeliveries(1).missing === 0
  }

  onPacket(_from: SimNode, _to: Address, bytes: Uint8Array): void {
    // Cheap filter: no 'G' byte anywhere, no envelope.
    if (bytes.indexOf(ENVELOPE_MAGIC) < 0) return
    for (const m of decodePacket(bytes).messages) {
      if (m.type === 'user' && m.payload.length > 0 && m.payload[0] === ENVELOPE_MAGIC) {
        this.bytes += m.payload.length
        this.messages++
      }
    }
  }

  report(): WorkloadReport {
    const converged = this.convergedAtMs !== null && this.lastWriteAtMs !== null
    let note: string | null = null
    if (this.lastWriteAtMs === null) note = 'no writes were made'
    else if (!converged) note = this.divergence()
    const updates = this.sets + this.deletes + this.sentAt.size
    return {
      kvWritesPerSec: this.kvRate,
      broadcastsPerSec: this.bcRate,
      windowMs: this.windowMs,
      sets: this.sets,
      deletes: this.deletes,
      broadcasts: this.sentAt.size,
      lastWriteAtMs: this.lastWriteAtMs,
      stateConvergenceMs: converged ? us(this.convergedAtMs! - this.lastWriteAtMs!) : null,
      stateDigest: converged ? this.digest : null,
      stateConvergenceNote: note,
      broadcastDelivery: this.deliveryReport(),
      grapevineBytes: this.bytes,
      grapevineMessages: this.messages,
      grapevineBytesPerNodePerSec: this.sim.nowMs > 0 ? (this.bytes * 1000) / (this.nodes * this.sim.nowMs) : 0,
      bytesPerUpdate: updates > 0 ? this.bytes / (updates * this.nodes) : null,
    }
  }

  // ------------------------------------------------------------------ workload

  private running(): SimNode[] {
    return this.sim.nodes.filter((n) => n.status === 'running' && !n.leaving)
  }

  private write(i: number): void {
    const nodes = this.running()
    if (nodes.length === 0) return
    const node = nodes[this.rng.int(nodes.length)]
    const now = this.sim.nowMs
    const live = stateOf(node).entries()
    if (live.length > 0 && this.rng.float() < this.deleteFraction) {
      const key = live[this.rng.int(live.length)][0]
      this.sim.invoke(node, (p, t, out) => (p as ComposedNode).deleteKey(key, t, out))
      this.deletes++
    } else {
      this.sim.invoke(node, (p, t, out) => (p as ComposedNode).setKey(`k${this.rng.int(this.keySpace)}`, `v${i}`, t, out))
      this.sets++
    }
    this.lastWriteAtMs = now
  }

  private broadcast(i: number): void {
    const nodes = this.running()
    if (nodes.length === 0) return
    const node = nodes[this.rng.int(nodes.length)]
    const payload = new Uint8Array(this.payloadBytes)
    for (let b = 0; b < payload.length; b++) payload[b] = (i >>> ((b % 4) * 8)) & 0xff
    const now = this.sim.nowMs
    const id = this.sim.invoke(node, (p, t, out) => (p as ComposedNode).broadcast('sim', payload, t, out))
    this.sentAt.set(id, now)
  }

  /**
   * A delivery by process `start` of node `name`. Exactly once holds per process: a restarted node is
   * a fresh process that has seen nothing, so delivering again what its predecessor delivered is right
   * (counted in `redeliveriesAfterRestart`); the first delivery's time is the one measured.
   */
  private onDelivery(name: string, start: number, id: string): void {
    let byNode = this.delivered.get(id)
    if (byNode === undefined) {
      byNode = new Map()
      this.delivered.set(id, byNode)
    }
    const key = `${id}\n${name}\n${start}`
    if (this.deliveredBy.has(key)) {
      this.duplicateDeliveries++
      if (this.duplicateExamples.length < 5) this.duplicateExamples.push(`${name} delivered ${id} twice`)
      return
    }
    this.deliveredBy.add(key)
    if (byNode.has(name)) this.redeliveries++
    else byNode.set(name, this.sim.nowMs)
  }

  // ------------------------------------------------------------------ measurements

  /** Checks state convergence now and again every CHECK_EVERY_MS until it holds. */
  private watchState(): void {
    if (this.checking) return
    this.checking = true
    const check = (): void => {
      if (this.convergedAtMs !== null) return
      const digest = this.commonDigest()
      if (digest !== null) {
        this.convergedAtMs = this.sim.nowMs
        this.digest = digest
        return
      }
      this.sim.at(this.sim.nowMs + CHECK_EVERY_MS, check)
    }
    check()
  }

  private liveStates(): Array<[SimNode, ClusterState]> {
    return this.sim.liveNodes().map((n) => [n, stateOf(n)])
  }

  /** The digest every live node's view has, or null when two differ. */
  private commonDigest(): string | null {
    const states = this.liveStates()
    if (states.length === 0) return null
    const first = versionsOf(states[0][1])
    for (let i = 1; i < states.length; i++) if (versionsOf(states[i][1]) !== first) return null
    const digest = stateDigest(states[0][1])
    for (let i = 1; i < states.length; i++) if (stateDigest(states[i][1]) !== digest) return null
    return digest
  }

  /** Why the views differ at the end: how many distinct views, and an example pair. */
  private divergence(): string {
    const states = this.liveStates()
    const groups = new Map<string, string[]>()
    for (const [n, st] of states) {
      const d = stateDigest(st)
      const g = groups.get(d) ?? []
      g.push(n.name)
      groups.set(d, g)
    }
    const sorted = [...groups.values()].sort((a, b) => b.length - a.length)
    const example = sorted.length > 1 ? `; e.g. ${sorted[1][0]} differs from ${sorted[0][0]}` : ''
    return `not converged by the end of the run: ${groups.size} distinct views among ${states.length} live nodes, the largest held by ${sorted[0]?.length ?? 0}${example}`
  }

  private missingDeliveries(limit: number): { missing: number; examples: string[] } {
    const live = this.sim.liveNodes()
    let missing = 0
    const examples: string[] = []
    for (const id of this.sentAt.keys()) {
      const byNode = this.delivered.get(id)
      for (const n of live) {
        if (byNode?.has(n.name)) continue
        missing++
        if (examples.length < limit) examples.push(`${n.name} never delivered ${id}`)
        if (missing >= limit && limit === 1) return { missing, examples }
      }
    }
    return { missing, examples }
  }

  private deliveryReport(): BroadcastDeliveryReport {
    const live = this.sim.liveNodes()
    const { missing, examples } = this.missingDeliveries(5)
    const pairs = this.sentAt.size * live.length
    const latencies: number[] = []
    for (const [id, sent] of this.sentAt) {
      const origin = id.slice(0, id.lastIndexOf('/'))
      for (const [name, at] of this.delivered.get(id) ?? []) if (name !== origin) latencies.push(at - sent)
    }
    latencies.sort((a, b) => a - b)
    let duplicatesSuppressed = 0
    for (const n of this.allNodes) duplicatesSuppressed += n.protocolStats().broadcast.duplicates
    return {
      broadcasts: this.sentAt.size,
      liveNodes: live.length,
      fraction: pairs === 0 ? 1 : (pairs - missing) / pairs,
      missing,
      latencyMs: latencies.length === 0 ? null : { p50: us(percentile(latencies, 50)), p99: us(percentile(latencies, 99)), max: us(latencies[latencies.length - 1]) },
      duplicatesSuppressed,
      duplicateDeliveries: this.duplicateDeliveries,
      redeliveriesAfterRestart: this.redeliveries,
      errors: [...this.duplicateExamples, ...examples].slice(0, 5),
    }
  }
}
