/**
 * What the membership layer reports, as past-tense facts. Runtimes and the simulator consume these;
 * `startNode` turns them into `node.on('member', …)`.
 */
import type { Address } from '../core/types.js'
import type { DecodeErrorReason } from '../wire/decode-error.js'

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

/**
 * How a suspicion or death reached this node: `probe`, its own probe failed; `timeout`, its own
 * suspicion ended in its own unanswered probe (the timer expired, or, calm healing, it checked a third
 * node's dead notice); `gossip`, a suspect/dead message from another node; `pushPull`, a dead or
 * suspect entry in an anti-entropy exchange (memberlist turns those into local suspicions); `phi`, the
 * layer above accused the member (phi accrual over its threshold, delegate `accused`).
 * Only `probe`, `phi` and `timeout` are first-hand declarations by this node.
 */
export type SuspicionSource = 'probe' | 'timeout' | 'gossip' | 'pushPull' | 'phi'

/** A read-only snapshot of one member as this node sees it. */
export interface MemberInfo {
  readonly name: string
  readonly address: Address
  readonly state: MemberState
  readonly incarnation: number
  readonly meta: Uint8Array
  /** [PMin, PMax, PCur, DMin, DMax, DCur] */
  readonly vsn: Uint8Array
  /** When this node last saw the member's state change (runtime ms). */
  readonly stateChangeMs: number
}

/**
 * Why a remote packet or stream (or one of our own sends) was dropped: the label of `dropped` events and
 * of the `dropped` counters (SwimStats, the agent's metrics). Stable strings. Every reason, by who finds it:
 *
 * - the codec and the security layer: every DecodeErrorReason (wire/decode-error.ts).
 * - the membership layer (swim/): `wrong-node` (a ping for another node), `bad-vsn` (an alive with protocol
 *   versions we cannot read), `conflict` (a name claimed from another address), `rejected-by-delegate`
 *   (the delegate vetoed an alive or a join), `incompatible-version` (a push-pull from an incompatible
 *   protocol version), `unexpected-stream-message` (an ack or error where a request was expected).
 * - the protocol stack over the user channel (stack/): `bad-envelope`, `unknown-protocol`, `bad-state`.
 * - the real runtime's sockets (runtime/node/): `socket-error`, `bad-source`, `stream-rate-limited`,
 *   `stream-evicted-idle`, `too-many-streams`, `stream-timeout`, `stream-reset`, `stream-truncated`; and for
 *   datagrams we could not send, `send-failed`, `send-closed`, `send-unreachable-family`.
 */
export type DropReason =
  | DecodeErrorReason
  | 'wrong-node'
  | 'bad-vsn'
  | 'conflict'
  | 'rejected-by-delegate'
  | 'incompatible-version'
  | 'unexpected-stream-message'
  | 'bad-envelope'
  | 'unknown-protocol'
  | 'bad-state'
  | 'socket-error'
  | 'bad-source'
  | 'stream-rate-limited'
  | 'stream-evicted-idle'
  | 'too-many-streams'
  | 'stream-timeout'
  | 'stream-reset'
  | 'stream-truncated'
  | 'send-failed'
  | 'send-closed'
  | 'send-unreachable-family'

/**
 * Our part in a name conflict: `established` (the name is ours; a newcomer claims it), `newcomer` (we
 * claimed a name the cluster already holds: our join is refused), `witness` (two others claim one name).
 */
export type NameConflictRole = 'established' | 'newcomer' | 'witness'

export type SwimEvent =
  /** A member became alive: new, or back from dead/left. */
  | { readonly type: 'joined'; readonly member: MemberInfo }
  /** An alive member's metadata (or address, after reclaim) changed. */
  | { readonly type: 'updated'; readonly member: MemberInfo }
  /** A member is suspected. `from` is the accuser; `from === self` means this node's own probe failed. */
  | { readonly type: 'suspected'; readonly member: MemberInfo; readonly from: string; readonly via: SuspicionSource }
  /** Another member independently confirmed an existing suspicion (Lifeguard: the timeout shrinks). */
  | { readonly type: 'suspicionConfirmed'; readonly member: MemberInfo; readonly from: string }
  /** A suspected member refuted the suspicion (suspect → alive with a higher incarnation). */
  | { readonly type: 'alive'; readonly member: MemberInfo }
  /** A member was declared dead. `from === self` means this node's own suspicion ended (via `timeout`). */
  | { readonly type: 'failed'; readonly member: MemberInfo; readonly from: string; readonly via: SuspicionSource }
  /** A member left on purpose. */
  | { readonly type: 'left'; readonly member: MemberInfo }
  /** A failed or left member was forgotten after its reap time. */
  | { readonly type: 'reaped'; readonly member: MemberInfo }
  /** This node refuted an accusation about itself, moving to `incarnation`. */
  | { readonly type: 'refuted'; readonly incarnation: number; readonly accusation: 'suspect' | 'dead' | 'alive' | 'state' }
  /** A join attempt finished. `contacted` counts the seeds that answered a push-pull. */
  | {
      readonly type: 'joinCompleted'
      readonly joinId: number
      readonly contacted: number
      readonly errors: readonly string[]
      /** Set when a seed reported our name alive at another address: the join is refused whatever `contacted` says. */
      readonly conflict?: { readonly name: string; readonly kept: Address }
    }
  /**
   * Two nodes claim one name from different addresses. The cluster keeps `kept` (the member it held
   * first) and refuses `refused`; counted in stats.nameConflicts.
   */
  | { readonly type: 'nameConflict'; readonly name: string; readonly kept: Address; readonly refused: Address; readonly role: NameConflictRole }
  /** leave() finished: the left broadcast went out (or the timeout passed). */
  | { readonly type: 'leaveCompleted'; readonly timedOut: boolean }
  /** A remote packet or stream was dropped. Counted; the node carries on. */
  | { readonly type: 'dropped'; readonly reason: DropReason; readonly from: Address; readonly detail?: string }
  /** Local health score changed (0 = healthy). */
  | { readonly type: 'health'; readonly score: number }
