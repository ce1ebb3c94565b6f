/**
 * One simulated node as the simulation and its users see it: identity (index, name, virtual address),
 * lifecycle status, the current protocol instance, counters and the recorded events.
 *
 * Lifecycle:
 *
 *   running ──pause──▶ paused ──resume──▶ running
 *      │                  │
 *      ├──crash───────────┴──▶ crashed ──restart──▶ running (fresh protocol, same name and address)
 *      └──leave() … leaveCompleted ──▶ left ──restart──▶ running
 *
 * `generation` grows on every crash, leave completion and restart; queued timers and stream
 * exchanges remember the generation they belong to and are dropped when it no longer matches, the way
 * a restarted process never sees its predecessor's timers or sockets.
 */
import type { Address } from '../../core/types.js'
import type { MemberInfo, NodeEvent } from '../../node/index.js'
import type { SimOutbox, SimProtocol } from './protocol.js'

export type NodeStatus = 'running' | 'paused' | 'crashed' | 'left'

/** Per-node traffic counters, cumulative over restarts. */
export interface NodeCounters {
  packetsSent: number
  bytesSent: number
  packetsReceived: number
  bytesReceived: number
  /** Stream exchanges this node opened. */
  streamsOpened: number
  /** Stream requests delivered to this node. */
  streamsAccepted: number
  /** Exchanges this node opened that ended in refused, timeout, reset or unreachable. */
  streamsFailed: number
  streamBytesSent: number
  streamBytesReceived: number
  timersFired: number
  /** Timers dropped unfired because they would have done nothing (timerIsLive): a real node does not wake for them. */
  timersSkipped: number
  eventsEmitted: number
}

/** An event a node emitted, with the virtual time it was emitted at. */
export interface RecordedEvent {
  readonly atMs: number
  readonly event: NodeEvent
}

export class SimNode {
  status: NodeStatus = 'running'
  /** Bumped on crash, leave completion and restart; see the module comment. */
  generation = 0
  restarts = 0
  /** leave() was called on the current protocol instance. */
  leaving = false
  /** Virtual time the current pause ends, when paused. */
  pausedUntilMs = 0
  /** Events emitted so far (empty when the simulation does not record events). */
  readonly events: RecordedEvent[] = []
  readonly counters: NodeCounters = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamsFailed: 0,
    streamBytesSent: 0,
    streamBytesReceived: 0,
    timersFired: 0,
    timersSkipped: 0,
    eventsEmitted: 0,
  }
  /** Addresses this node joins through on spawn and restart (never its own). */
  seeds: Address[] = []
  /** The join id returned by the protocol's last join() (0 before any join). */
  lastJoinId = 0

  /** @internal Set by the simulation: runs a user operation with an outbox it then drains. */
  invokeOperation: ((node: SimNode, operation: (protocol: SimProtocol, nowMs: number, out: SimOutbox) => void) => void) | undefined

  /** @internal Queue items that came due or arrived while paused. */
  heldTimers: unknown[] = []
  /** @internal */
  heldDeliveries: unknown[] = []
  /** @internal Identifies the current pause so that a stale resume is ignored. */
  pauseToken = 0

  constructor(
    readonly index: number,
    readonly name: string,
    readonly address: Address,
    /** The current protocol instance (replaced on restart). */
    public protocol: SimProtocol,
  ) {}

  /** Running or paused: the process exists (a paused process only answers late). */
  get live(): boolean {
    return this.status === 'running' || this.status === 'paused'
  }

  /** The protocol's membership view (includes the node itself). */
  members(): MemberInfo[] {
    return this.protocol.members()
  }

  get healthScore(): number {
    return this.protocol.healthScore
  }

  /**
   * Replaces the node's metadata now (memberlist UpdateNode: a higher incarnation and an alive
   * broadcast). The node must be running. Same as `sim.invoke(node, (p, now, out) => p.setMeta(…))`.
   */
  setMeta(meta: Uint8Array): void {
    const invoke = this.invokeOperation
    if (invoke === undefined) throw new Error(`${this.name} is not attached to a simulation`)
    invoke(this, (protocol, nowMs, out) => {
      if (protocol.setMeta === undefined) throw new Error(`the protocol of ${this.name} has no setMeta`)
      protocol.setMeta(meta, nowMs, out)
    })
  }

  toString(): string {
    return this.name
  }
}
