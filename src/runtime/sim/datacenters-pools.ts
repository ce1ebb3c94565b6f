/**
 * Per-pool figures of a datacenters run (datacenters-scenario.ts): what a single-pool run reports
 * (report.ts), for each datacenter's LAN pool and for the WAN pool, each pool watched on its own, so
 * that a node of dc1 not knowing the nodes of dc2 is not a wrong view, and the WAN pool's figures are
 * its servers' alone.
 *
 *   simulation observer ─▶ PoolWatch (one per pool; only the pool's own nodes pass)
 *     spawn / crash / restart ────────────────────▶ ViewTracker  (views between the pool's nodes)
 *     a member event about a member of the pool ──▶ ViewTracker  (detection milestones of a crash)
 *     first-hand suspected / failed, refuted ─────▶ Tally        (accusations, the false ones, refutations)
 *   at the end: each pool node's members() against the truth (authoritative convergence), detection
 *   per crashed node, and the pool's traffic from the nodes' own counters
 *
 * A server is two simulated nodes (its LAN node and its WAN node), so its LAN traffic and its WAN
 * traffic are counted apart, as the two sockets of a real server would count them.
 */
import type { NodeEvent, SwimConfig } from '../../node/index.js'
import { ViewTracker, checkConvergence } from './checkers.js'
import type { SimNode } from './node.js'
import type { DetectionReport } from './report.js'
import { Tally, aftermathWindowMs } from './scenario.js'
import type { SimObserver, Simulation } from './simulation.js'

/** What one pool did over the run, as a single-pool report has it. */
export interface PoolFigures {
  /** Nodes (servers, for the WAN pool) in the pool. */
  readonly members: number
  /** From the start until every node of the pool first saw every other alive; null when it never did before a fault. */
  readonly formedMs: number | null
  /** At the end, every live node of the pool sees every live one alive and every crashed one failed or gone (members()). */
  readonly converged: boolean
  readonly convergenceMismatches: number
  readonly convergenceExamples: readonly string[]
  /** One per crashed node of the pool: first suspicion, first failure and failed everywhere in this pool, after the crash. */
  readonly detection: readonly DetectionReport[]
  /** First-hand accusations made in the pool (a node's own probe failed or its own suspicion timer ran out). */
  readonly accusations: { readonly suspicions: number; readonly deaths: number }
  /** The part of them against a member that was running and reachable from the accuser at that instant. */
  readonly falsePositives: { readonly suspicions: number; readonly deaths: number }
  readonly refutations: number
  /** Lifeguard's local health score: the highest any node of the pool reached (0: none degraded). */
  readonly healthMax: number
  /** Packets and bytes the pool's nodes sent, per node and virtual second (streams not counted). */
  readonly packetsPerNodePerSec: number
  readonly bytesPerNodePerSec: number
}

/** Forwards the simulation's observations about one pool's nodes to that pool's tracker and tally. */
export class PoolWatch implements SimObserver {
  private readonly tracker = new ViewTracker()
  private readonly tally: Tally
  private readonly indices: Set<number>
  private firstFaultAtMs = Infinity

  constructor(
    private readonly sim: Simulation,
    private readonly nodes: readonly SimNode[],
    config: SwimConfig,
  ) {
    this.indices = new Set(nodes.map((n) => n.index))
    this.tally = new Tally(sim, aftermathWindowMs(config, nodes.length))
    this.tracker.reserve(Math.max(0, ...nodes.map((n) => n.index + 1)))
    // The pool's nodes were spawned before this watch existed, but nothing of theirs has run yet.
    for (const n of nodes) this.tracker.onSpawn(n, sim.nowMs)
    this.tracker.restartConvergenceClock()
    sim.observe(this)
  }

  onEvent(node: SimNode, event: NodeEvent, atMs: number): void {
    if (!this.indices.has(node.index)) return
    this.tracker.onEvent(node, event, atMs)
    this.tally.onEvent(node, event)
  }

  onCrash(node: SimNode, atMs: number): void {
    if (!this.indices.has(node.index)) return
    this.firstFaultAtMs = Math.min(this.firstFaultAtMs, atMs)
    this.tracker.onCrash(node, atMs)
  }

  onRestart(node: SimNode, atMs: number): void {
    if (this.indices.has(node.index)) this.tracker.onRestart(node, atMs)
  }

  /** Marks a fault that touches the pool from outside (a WAN cut): a pool formed after it did not form undisturbed. */
  faultAt(atMs: number): void {
    this.firstFaultAtMs = Math.min(this.firstFaultAtMs, atMs)
  }

  /** The figures so far, `elapsedMs` into the run. */
  figures(elapsedMs: number): PoolFigures {
    const final = checkConvergence(this.nodes)
    const formed = this.tracker.firstConvergedAtMs
    let packets = 0
    let bytes = 0
    for (const n of this.nodes) {
      packets += n.counters.packetsSent
      bytes += n.counters.bytesSent
    }
    const perNodeSec = this.nodes.length > 0 && elapsedMs > 0 ? 1000 / (this.nodes.length * elapsedMs) : 0
    const t = this.tally
    return {
      members: this.nodes.length,
      formedMs: formed !== null && formed <= this.firstFaultAtMs ? formed : null,
      converged: final.converged,
      convergenceMismatches: final.mismatches,
      convergenceExamples: final.examples,
      detection: this.tracker.detectionRecords().map((d) => ({
        node: d.node,
        crashedAtMs: d.crashedAtMs,
        firstSuspicionMs: d.firstSuspicionAtMs === null ? null : d.firstSuspicionAtMs - d.crashedAtMs,
        firstDeadMs: d.firstDeadAtMs === null ? null : d.firstDeadAtMs - d.crashedAtMs,
        deadEverywhereMs: d.deadEverywhereAtMs === null ? null : d.deadEverywhereAtMs - d.crashedAtMs,
      })),
      accusations: { suspicions: t.suspicions, deaths: t.deaths },
      falsePositives: { suspicions: t.falseSuspicions, deaths: t.falseDeaths },
      refutations: t.refutations,
      healthMax: Math.max(0, ...this.nodes.map((n) => t.healthMax[n.index] ?? 0)),
      packetsPerNodePerSec: packets * perNodeSec,
      bytesPerNodePerSec: bytes * perNodeSec,
    }
  }
}
