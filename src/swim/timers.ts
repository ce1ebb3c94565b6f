/**
 * Timers are data. Each carries what must still hold when it fires (an epoch, a sequence number, an
 * incarnation); the driver ignores a timer whose facts went stale, so nothing is ever cancelled.
 */
export type SwimTimer =
  /** Probe the next member (every probeIntervalMs; a tick that finds the last probe running is held until it ends). */
  | { readonly kind: 'probeTick'; readonly epoch: number }
  /** The direct ack did not come within probeTimeoutMs: go indirect. */
  | { readonly kind: 'probeTimeout'; readonly seqNo: number }
  /** The whole probe's deadline (scaled probe interval): suspect if nothing answered. */
  | { readonly kind: 'probeDeadline'; readonly seqNo: number }
  /** As an indirect-probe helper: the target did not ack in time, send a nack. */
  | { readonly kind: 'relayTimeout'; readonly seqNo: number }
  /** A suspicion's timer: declare the member dead if still suspect at the same incarnation. */
  | { readonly kind: 'suspicionTimeout'; readonly member: string; readonly incarnation: number; readonly epoch: number }
  /** A gossip round, armed for `dueMs` (a round armed sooner since makes it stale; absent: always runs). */
  | { readonly kind: 'gossipTick'; readonly epoch: number; readonly dueMs?: number }
  /** Periodic push-pull anti-entropy. */
  | { readonly kind: 'pushPullTick'; readonly epoch: number }
  /** Periodic reconnect attempt to failed members and seed addresses. */
  | { readonly kind: 'reconnectTick'; readonly epoch: number }
  /** Periodic reaping of failed and left members. */
  | { readonly kind: 'reapTick'; readonly epoch: number }
  /** leave() gives up waiting for its broadcast. */
  | { readonly kind: 'leaveTimeout'; readonly epoch: number }
