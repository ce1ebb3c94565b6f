/**
 * The overlay's shared vocabulary: peer ids, the output sink, events, timers and counters.
 *
 *   runtime ── handleMessage / handleTimer / sendFailed / user op (nowMs) ──▶ HyParView, Plumtree
 *   HyParView, Plumtree ── send(peerId, bytes) / schedule(timer) / emit(event) ──▶ OverlayOutbox ──▶ runtime
 *
 * Peers are named by an opaque `PeerId` string that the runtime maps to a transport address (the
 * composed node uses the address key `ip:port`; the simulator a node index). This is the core
 * contract's Outbox with the address replaced by that id: a partial view holds only ids, so 10,000
 * simulated nodes cost a handful of shared strings each instead of parsed address objects.
 */

/** An overlay peer's identity: the string the runtime maps to an address. 1..255 UTF-8 bytes. */
export type PeerId = string

/** Longest peer id (UTF-8 bytes) accepted on the wire and in `new HyParView`. */
export const PEER_ID_MAX_BYTES = 255

/** The overlay's effects sink (the core contract's four verbs minus streams, with peers by id). */
export interface OverlayOutbox<Timer, Event> {
  /** Send one message to a peer. Best effort; the runtime may report a failure with `sendFailed`. */
  send(to: PeerId, bytes: Uint8Array): void
  /** Call handleTimer(timer) after `afterMs`. Never cancelled: stale timers carry an old epoch. */
  schedule(timer: Timer, afterMs: number): void
  emit(event: Event): void
}

/** Records effects for tests and drivers. */
export class CollectingOverlayOutbox<Timer, Event> implements OverlayOutbox<Timer, Event> {
  sent: Array<{ readonly to: PeerId; readonly bytes: Uint8Array }> = []
  timers: Array<{ readonly timer: Timer; readonly afterMs: number }> = []
  events: Event[] = []
  send(to: PeerId, bytes: Uint8Array): void {
    this.sent.push({ to, bytes })
  }
  schedule(timer: Timer, afterMs: number): void {
    this.timers.push({ timer, afterMs })
  }
  emit(event: Event): void {
    this.events.push(event)
  }
  clear(): void {
    this.sent = []
    this.timers = []
    this.events = []
  }
}

/**
 * Why an active neighbour went down.
 * - `timeout`: nothing heard from it for keepAliveTimeoutMs.
 * - `disconnect`: it told us it dropped the link (it keeps running; we keep it in the passive view).
 * - `shutdown`: it told us it is leaving the cluster (it is forgotten).
 * - `evicted`: we dropped it to make room for a new neighbour (it stays in our passive view).
 * - `unreachable`: the runtime reported that a send to it failed (a refused or reset connection).
 */
export type NeighborDownCause = 'timeout' | 'disconnect' | 'shutdown' | 'evicted' | 'unreachable'

export type HyParViewEvent =
  | { readonly type: 'neighbor-up'; readonly peer: PeerId }
  | { readonly type: 'neighbor-down'; readonly peer: PeerId; readonly cause: NeighborDownCause }
  /** The active view became empty; the node is rejoining through its passive view, then its seeds. */
  | { readonly type: 'isolated' }

export type HyParViewTimer =
  | { readonly kind: 'shuffle'; readonly epoch: number }
  | { readonly kind: 'keepAlive'; readonly epoch: number }
  /** Checks the outstanding NEIGHBOR request; one armed at a time however many requests it covers. */
  | { readonly kind: 'neighborTimeout' }

/** A Plumtree delivery: once per message per node, with the tree hops it travelled. */
export interface PlumtreeDelivery {
  readonly type: 'delivered'
  /** Content-derived message id (hex of the first 16 bytes of SHA-256 of the payload). */
  readonly id: string
  readonly payload: Uint8Array
  /** Hops from the origin: 0 for a local broadcast. */
  readonly hops: number
  /** The peer it came from (undefined for a local broadcast). */
  readonly from: PeerId | undefined
}

export type PlumtreeEvent = PlumtreeDelivery

export type PlumtreeTimer =
  | { readonly kind: 'ihaveFlush' }
  | { readonly kind: 'graft'; readonly id: string; readonly attempt: number }

/** Anything that can hand out peers for other protocols (state rounds, aggregation). */
export interface PeerSampling {
  /** Up to k distinct peers other than self, active neighbours first, in random order within each view. */
  samplePeers(k: number): PeerId[]
}
