/**
 * The composed node's vocabulary: what goes in (timers it owns besides SWIM's), what comes out (events
 * of every layer in one union), and the data both runtimes hand to users (messages, queries, members).
 *
 *   runtime ──input──▶ ComposedNode ──▶ Outbox<NodeTimer, NodeEvent>
 *                                        timers: SwimTimer | NodeOwnTimer
 *                                        events: SwimEvent | message | stateChanged | serf | keyringChanged
 *                                                | queryCompleted | forceLeaveCompleted
 */
import type { Outbox } from '../core/effects.js'
import type { RumorCounters } from '../gossip/rumor-types.js'
import type { ReceivedQuery } from '../serf/queries.js'
import type { SerfLayerEvent } from '../serf/serf-layer.js'
import type { StateProtocolCounters } from '../stack/protocols.js'
import type { StateEvent } from '../state/cluster-state.js'
import type { KeyChange } from '../replication/replicator.js'
import type { AggregateEstimate } from '../aggregation/common.js'
import type { KeyringInfo } from '../wire/keyring.js'
import type { MemberInfo, SwimEvent } from '../swim/events.js'
import type { SwimTimer } from '../swim/timers.js'
import type { Address } from '../core/types.js'
import type { HyParViewTimer, NeighborDownCause, PlumtreeTimer } from '../overlay/types.js'

/** Timers the node owns above SWIM's; like SWIM's, data that carries what must still hold when it fires. */
export type NodeOwnTimer =
  /** Serf's leave intent had SERF_BROADCAST_TIMEOUT_MS to go out; go on with memberlist's leave. */
  | { readonly kind: 'serfLeaveWait'; readonly epoch: number }
  /** The caller's overall leave deadline: report the leave completed (timed out). */
  | { readonly kind: 'leaveDeadline'; readonly epoch: number }
  /** A force-leave intent had SERF_BROADCAST_TIMEOUT_MS to go out. */
  | { readonly kind: 'forceLeaveWait'; readonly seq: number }
  /** A query we sent stops collecting acks and responses. */
  | { readonly kind: 'queryDeadline'; readonly lTime: number; readonly id: number }
  | OverlayNodeTimer

/** The overlay's timers (membership: 'hyparview'; node/overlay-mode.ts). */
export type OverlayNodeTimer =
  | { readonly kind: 'overlayView'; readonly timer: HyParViewTimer }
  | { readonly kind: 'overlayTree'; readonly timer: PlumtreeTimer }
  /** A cluster state round to sampled peers. */
  | { readonly kind: 'overlayRound'; readonly epoch: number }
  /** join() gives up waiting for a first neighbour. */
  | { readonly kind: 'overlayJoin'; readonly joinId: number }
  /** A round of the replicated data types to sampled peers (node/overlay-crdt.ts). */
  | { readonly kind: 'overlayCrdtRound'; readonly epoch: number }

export type NodeTimer = SwimTimer | NodeOwnTimer

const OVERLAY_TIMERS = new Set<string>(['overlayView', 'overlayTree', 'overlayRound', 'overlayJoin', 'overlayCrdtRound'])
const OWN_TIMERS = new Set<string>(['serfLeaveWait', 'leaveDeadline', 'forceLeaveWait', 'queryDeadline', ...OVERLAY_TIMERS])

/** The overlay's timers among the node's own. */
export function isOverlayTimer(t: NodeTimer): t is OverlayNodeTimer {
  return OVERLAY_TIMERS.has(t.kind)
}

/** The timers the composed node handles itself (the rest are SWIM's). */
export function isOwnTimer(t: NodeTimer): t is NodeOwnTimer {
  return OWN_TIMERS.has(t.kind)
}

/** A query's key among those in flight: its Lamport time and id. */
export function queryKey(lTime: number, id: number): string {
  return `${lTime}/${id}`
}

/**
 * A broadcast as `message` listeners get it: Grapevine's own (`via: 'grapevine'`, rumor mongering to the
 * Grapevine nodes) or a Serf user event (`via: 'serf'`, from any Serf agent or Grapevine node of the
 * cluster, as `serf event NAME PAYLOAD` sends them).
 */
export interface BroadcastMessage {
  /** `origin/epoch.seq` for Grapevine's broadcasts; `serf:LTIME:NAME` for Serf user events. */
  readonly id: string
  readonly name: string
  readonly payload: Uint8Array
  /** The node that broadcast it; null for a Serf user event from another node (Serf's message does not say who sent it). */
  readonly origin: string | null
  /** Gossip hops from the origin (0 for our own; 0 for Serf user events, which do not count them). */
  readonly hops: number
  readonly via: 'grapevine' | 'serf'
  /** Serf user events only: the event's Lamport time and whether Serf agents may coalesce it. */
  readonly lTime?: number
  readonly coalesce?: boolean
}

/** What a query collected by its deadline. */
export interface QueryResult {
  readonly name: string
  readonly lTime: number
  /** Members that acked, in arrival order. */
  readonly acks: readonly string[]
  readonly responses: ReadonlyArray<{ readonly from: string; readonly payload: Uint8Array }>
}

/** Options of a query the node sends (Serf's QueryParam). */
export interface QueryOptions {
  /** How long to collect acks and responses; default Serf's: 16 gossip intervals × ceil(log10(N + 1)). */
  readonly timeoutMs?: number
  /** Ask every member that takes the query to ack it (default true). */
  readonly ack?: boolean
  /** Only these members take the query (Serf's node filter). */
  readonly nodes?: readonly string[]
  /** Only members whose tag matches each regular expression take it (Serf's tag filters). */
  readonly tags?: Readonly<Record<string, string>>
}

/** Every event the composed node emits: SWIM's, then the layers' above it. */
export type NodeEvent =
  | SwimEvent
  /** A broadcast or a Serf user event delivered here (or sent from here), once each. */
  | { readonly type: 'message'; readonly message: BroadcastMessage }
  /** A key of some node's cluster state changed here. */
  | { readonly type: 'stateChanged'; readonly event: StateEvent }
  /** Replicated data (CRDT keys) changed here: by our writes (`local`) or by what peers sent. */
  | { readonly type: 'crdtChanged'; readonly changes: readonly KeyChange[] }
  /** A fact of Serf's layer (user events, intents, queries to answer, query replies, drops). */
  | { readonly type: 'serf'; readonly event: SerfLayerEvent }
  /** The keyring was changed from the network (Serf's `keys` queries). */
  | { readonly type: 'keyringChanged' }
  /** A query we sent reached its deadline: everything it collected. */
  | { readonly type: 'queryCompleted'; readonly id: number; readonly result: QueryResult }
  /** A force-leave's intent went out (or its wait ended). */
  | { readonly type: 'forceLeaveCompleted'; readonly seq: number }
  /** An aggregate's epoch ended here: this node's estimate of it (node/aggregation.ts). */
  | { readonly type: 'aggregateEstimate'; readonly name: string; readonly estimate: AggregateEstimate }
  | OverlayNodeEvent

/**
 * Membership events with `membership: 'hyparview'`: the node knows its neighbours, not the cluster.
 * `peer` is the neighbour's overlay id (the address it listens on, `ip:port`).
 */
export type OverlayNodeEvent =
  | { readonly type: 'neighborUp'; readonly peer: string; readonly address: Address }
  /** Why: `timeout` (silent), `disconnect` (it dropped the link), `shutdown` (it left), `evicted` (we made room), `unreachable` (a send failed). */
  | { readonly type: 'neighborDown'; readonly peer: string; readonly address: Address; readonly cause: NeighborDownCause }
  /** No neighbour left: rejoining through the passive view, then the seeds. */
  | { readonly type: 'isolated' }

export type NodeOutbox = Outbox<NodeTimer, NodeEvent>

/** A Serf query this node was asked, as the node reports it (answer with ComposedNode.respondToQuery). */
export type QueryToAnswer = ReceivedQuery

/** What `protocolStats()` returns. */
export interface ProtocolStats {
  readonly broadcast: RumorCounters
  /** Rumors this node is still spreading. */
  readonly hotRumors: number
  readonly state: StateProtocolCounters
  /** Nodes whose state this node holds (itself included). */
  readonly stateNodes: number
  /** The highest version of this node's own map. */
  readonly stateVersion: number
  /** Grapevine envelopes handled and dropped (malformed, unknown protocol). */
  readonly stack: { readonly messages: number; readonly dropped: number }
}

/** What a node's wire security is: keys by fingerprint only, never key material. */
export interface EncryptionStatus extends KeyringInfo {
  /** True when keys are installed and outgoing traffic is encrypted. */
  readonly encrypting: boolean
  readonly verifyIncoming: boolean
  readonly verifyOutgoing: boolean
  /** The cluster label, '' when none. */
  readonly label: string
}

/** A member as the node reports it: the protocol's snapshot plus its decoded Serf tags. */
export interface Member extends MemberInfo {
  readonly tags: Readonly<Record<string, string>>
}

export type MemberEventType = 'joined' | 'updated' | 'suspected' | 'alive' | 'failed' | 'left' | 'reaped'

export interface MemberEvent {
  readonly type: MemberEventType
  readonly member: Member
}

/** SWIM events that are about a member's state, as `member` listeners get them. */
export const MEMBER_EVENT_TYPES: ReadonlySet<string> = new Set<MemberEventType>(['joined', 'updated', 'suspected', 'alive', 'failed', 'left', 'reaped'])

/** A datagram or stream this node sent or received (plaintext), for observers (the dashboard's gossip view). */
export interface Traffic {
  readonly direction: 'in' | 'out'
  readonly kind: 'packet' | 'stream'
  readonly peer: { readonly ip: string; readonly port: number }
  readonly bytes: Uint8Array
}

/** The id under which a Serf user event is reported to `message` listeners. */
export function serfEventId(lTime: number, name: string): string {
  return `serf:${lTime}:${name}`
}

/** Serf's BroadcastTimeout: how long a leave or force-leave waits for its intent to go out. */
export const SERF_BROADCAST_TIMEOUT_MS = 5_000
