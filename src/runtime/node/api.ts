/**
 * The real runtime's public face: what `startNode` resolves to, and the data its listeners get. The
 * node behind it is the composed node (src/node/); this file only names what a user calls.
 */
import type { CrdtApi } from './crdt.js'
import type { AggregateApi } from './aggregate.js'
import type { MemberState, SwimEvent } from '../../node/index.js'
import type {
  BroadcastMessage, Coordinate, CoordinateStats, EncryptionStatus, Member, MemberEvent, ProtocolStats, RttEstimate, QueryOptions as NodeQueryOptions, QueryResult,
  QueryToAnswer, SerfLayerEvent, StateEvent, SwimStats, Tags, Traffic, OverlayNodeEvent, OverlayStats,
} from '../../node/index.js'
import type { Address } from '../../core/types.js'
import type { DiscoveryEvent } from './discovery/rediscovery.js'
export type { DiscoveryEvent } from './discovery/rediscovery.js'
import type { ReachabilityReport } from './reachability.js'
export type { ReachabilityReport } from './reachability.js'

export type {
  BroadcastMessage, Coordinate, CoordinateStats, RttEstimate, EncryptionStatus, Member, MemberEvent, MemberEventType, ProtocolStats, QueryResult, Traffic,
} from '../../node/index.js'
export { serfEventId, SERF_BROADCAST_TIMEOUT_MS } from '../../node/index.js'

/**
 * A Serf query this node was asked (`serf query NAME PAYLOAD` on a Serf agent, and the filters matched
 * this node). The querier already got our ack; `respond` sends the one response it may take (at most
 * Serf's 1024 bytes encoded; throws QueryResponseError otherwise, or when called twice) and returns
 * false when the querier is no longer a live member. Respond within `timeoutMs`, or the querier has
 * stopped listening.
 */
export interface SerfQueryEvent extends QueryToAnswer {
  respond(payload: Uint8Array | string): boolean
}

/** Options of `node.query`. */
export interface QueryOptions extends NodeQueryOptions {
  /** Called for each response as it arrives. */
  readonly onResponse?: (from: string, payload: Uint8Array) => void
}

/** How `node.broadcast` sends: Grapevine's rumor mongering (default) or a Serf user event. */
export interface BroadcastOptions {
  /**
   * 'grapevine' (default): rumor mongering to the Grapevine nodes, payload up to the broadcast config's
   * maxPayloadBytes. 'serf': a Serf user event, which Serf agents receive too (their `user` event
   * handlers run); name and payload together at most Serf's 512 bytes.
   */
  readonly via?: 'grapevine' | 'serf'
  /** Serf user events only: let Serf agents merge events of this name that arrive close together. Default false. */
  readonly coalesce?: boolean
}

/** A node's view of the replicated cluster state (each node owns its own map; everyone reads all). */
export interface NodeStateApi {
  /** Sets a key of this node's map; replicated to every node. Returns the change's version. */
  set(key: string, value: string): number
  /** Deletes a key of this node's map (a tombstone, so it stays deleted everywhere); false if absent. */
  delete(key: string): boolean
  /** A key of a node's map (this node's by default). */
  get(node: string, key: string): string | undefined
  /** The live keys of a node's map (this node's by default), sorted by key. */
  entries(node?: string): Array<[string, string]>
  /** Nodes whose state this node holds. */
  nodes(): readonly string[]
  /** Calls `listener` for every change of a key starting with `prefix`, on any node; returns the unsubscribe. */
  watch(prefix: string, listener: (e: StateEvent) => void): () => void
}

/** forceLeave() named no member this node knows. Nothing was sent. */
export class UnknownMemberError extends Error {
  override readonly name = 'UnknownMemberError'
  constructor(readonly member: string) {
    super(`no member named ${JSON.stringify(member)}; node.members() lists the names`)
  }
}

/** join() found no seed that answered. Nothing changed except that the seeds are retried by the reconnect loop. */
export class JoinError extends Error {
  override readonly name: string = 'JoinError'
  constructor(readonly errors: readonly string[]) {
    super(`join failed: no seed answered${errors.length > 0 ? `\n  - ${errors.join('\n  - ')}` : ''}`)
  }
}

/**
 * A join refused because a live member already holds this node's name at another address. Nothing of
 * the seed's state was merged; the node stays up, alone, and retries only on the next explicit join.
 */
export class NameConflictError extends JoinError {
  override readonly name: string = 'NameConflictError'
  constructor(
    errors: readonly string[],
    /** The name both nodes claim. */
    readonly nodeName: string,
    /** Where the cluster keeps it. */
    readonly kept: Address,
  ) {
    super(errors)
    this.message = `join refused: name conflict: a live member named ${JSON.stringify(nodeName)} already exists at ${kept.ip}:${kept.port}; node names must be unique: give this node another name, or stop the other node and wait until the cluster marks it failed or left`
  }
}

export type NodeEventName = 'member' | 'event' | 'serf' | 'message' | 'state' | 'query' | 'keyring' | 'traffic' | 'discovery' | 'neighbor'

export interface GrapevineNode {
  readonly name: string
  /** The advertised address. */
  readonly address: Address
  /** The bound port (UDP and TCP). */
  readonly port: number
  /**
   * Push-pull with each seed ('HOST:PORT', dns://, srv://, k8s://; names resolved now); resolves with how
   * many answered, rejects with JoinError if none did (ConfigError, nothing sent, for a malformed seed).
   * Seeds that name something to look up are re-resolved every `discovery.rediscoverIntervalMs` from
   * now on, and new addresses joined (a `discovery` event per round).
   */
  join(addresses: readonly string[]): Promise<number>
  /**
   * `serf reachability`: sends Serf's `_serf_ping` query asking every member to ack, and at its deadline
   * (`timeoutMs`, default Serf's query timeout) reports which live members did not ack, which acked
   * without being live, and when each ack came. Throws NodeStoppedError after shutdown; ConfigError
   * without the Serf layer.
   */
  reachability(opts?: { timeoutMs?: number }): Promise<ReachabilityReport>
  /** One rediscovery round now (they also run on their timer); undefined while one runs or after leave. */
  rediscover(): Promise<DiscoveryEvent | undefined>
  /** Broadcasts our departure; resolves once it went out or after timeoutMs (config leaveTimeoutMs). */
  leave(timeoutMs?: number): Promise<void>
  /** Closes every socket and timer; idempotent. Afterwards nothing of ours keeps the process alive. */
  shutdown(): Promise<void>
  members(): Member[]
  localMember(): Member
  /**
   * Serf's force-leave: tells the cluster that a failed member will not come back. Every member (this
   * one first) records it `left`, which stops reconnect attempts; with `prune` it is also forgotten at
   * once (`reaped`). A live member is not affected (it refutes the intent). Resolves with the member's
   * state before; waits (at most SERF_BROADCAST_TIMEOUT_MS) until the intent went out. Rejects with
   * UnknownMemberError, sending nothing, when no member has that name (a typo would otherwise pass
   * unnoticed). Without the Serf layer only this node's view changes.
   */
  forceLeave(name: string, opts?: { prune?: boolean }): Promise<MemberState>
  /**
   * Fires a Serf user event: delivered here (`serf` event `userEvent`) and gossiped to every member,
   * where Serf agents run their `user` event handlers. `coalesce` (default false) lets Serf agents
   * merge events of the same name that arrive close together. Returns the event's Lamport time.
   * Throws UserEventError for an empty name or an event over Serf's 512-byte limit, and ConfigError
   * without the Serf layer.
   */
  userEvent(name: string, payload?: Uint8Array | string, opts?: { coalesce?: boolean }): number
  /**
   * Sends a Serf query to the cluster (what `serf query` does) and resolves at its deadline with the
   * members that acked and the responses (Serf agents answer through their `query` event handlers,
   * Grapevine nodes through `on('query')`). As in Serf, the querying node takes its own query too: it
   * acks it and, when the filters match it, its `on('query')` listeners see it and may respond. Throws
   * QueryResponseError for a name starting with `_serf_` or a query over Serf's 1024 bytes.
   */
  query(name: string, payload?: Uint8Array | string, opts?: QueryOptions): Promise<QueryResult>
  /** Replaces the tags (a new incarnation, gossiped). Throws ConfigError naming the bad tag. */
  setTags(tags: Tags): void
  /** Replaces the raw metadata (at most 512 bytes). */
  setMeta(meta: Uint8Array): void
  /**
   * Broadcasts a payload to every live Grapevine node, delivered once each (`message` events; here
   * too, at once). Returns its id. Throws BroadcastError when the payload or name is over its limit.
   * With `via: 'serf'` it goes out as a Serf user event instead (see userEvent), reaching Serf agents too.
   */
  broadcast(name: string, payload: Uint8Array | string, opts?: BroadcastOptions): string
  /** The replicated cluster state: this node's map to write, every node's to read. */
  readonly state: NodeStateApi
  /** Replicated data types (CRDTs) shared by the whole cluster: counters, sets, maps, registers, flags (crdt.ts). */
  readonly crdt: CrdtApi
  /** Aggregates the cluster computes by gossip: average, sum, count, min, max of a value per node (aggregate.ts). */
  readonly aggregate: AggregateApi
  /** The phi accrual suspicion level of a member, from its state heartbeats (undefined: none heard yet). */
  phi(name: string): number | undefined
  /**
   * This node's network coordinate (Serf's Vivaldi, learnt from probe round trips); undefined when
   * coordinates are off (`coordinates: false`, or membership-only).
   */
  coordinate(): Coordinate | undefined
  /**
   * Estimated round trip in ms between members `a` and `b` (default: this node), from their coordinates,
   * as `serf rtt` computes it; undefined when coordinates are off or a coordinate is unknown (a member
   * this node has not probed yet).
   */
  rtt(a: string, b?: string): number | undefined
  /** Live members, nearest first by estimated round trip (those without a coordinate last); at most k. */
  nearest(k?: number): RttEstimate[]
  /** Every coordinate this node knows (its own first), with counters; undefined when coordinates are off. */
  coordinates(): { readonly known: ReadonlyArray<{ readonly name: string; readonly coordinate: Coordinate }>; readonly stats: CoordinateStats } | undefined
  /** Counters of the broadcast and cluster-state protocols (live objects; metrics read them). */
  protocolStats(): ProtocolStats
  /** The protocol's counters (drops by reason, probes, …). */
  stats(): SwimStats
  /** With membership: 'hyparview': the views, tree sizes and counters; undefined with SWIM. */
  overlay(): OverlayStats | undefined
  /** Up to k peers for protocols that need a few partners: overlay ids (`ip:port`) with HyParView, member names with SWIM. */
  samplePeers(k: number): string[]
  /** Encryption and label status, keys by fingerprint. */
  encryption(): EncryptionStatus
  /** Installs a key (base64 or bytes) for decryption; the first key of an empty keyring becomes primary. Throws KeyringError. */
  installKey(key: string | Uint8Array): void
  /** Makes an installed key the primary (it encrypts from now on). Throws KeyringError when not installed. */
  useKey(key: string | Uint8Array): void
  /** Removes an installed key; throws KeyringError for the primary. */
  removeKey(key: string | Uint8Array): void
  /** Changes memberlist's verify switches while running (the plaintext-to-encrypted switch). */
  setEncryptionVerify(opts: { incoming?: boolean; outgoing?: boolean }): void
  /** The keys in base64, the primary first: for writing a keyring file. Never show them. */
  exportKeys(): string[]
  on(event: 'member', listener: (e: MemberEvent) => void): this
  on(event: 'event', listener: (e: SwimEvent) => void): this
  /** Serf layer facts: user events, join/leave intents, undecodable Serf messages (only with serf: true). */
  on(event: 'serf', listener: (e: SerfLayerEvent) => void): this
  /** A Serf query reached this node (Serf's own `_serf_…` queries are handled inside). */
  on(event: 'query', listener: (q: SerfQueryEvent) => void): this
  /** A broadcast or a Serf user event arrived (or was sent from here), once each. */
  on(event: 'message', listener: (m: BroadcastMessage) => void): this
  /** A key of some node's state changed here (set, deleted, or the node restarted with a new generation). */
  on(event: 'state', listener: (e: StateEvent) => void): this
  /** The keyring was changed from the network (Serf's `keys` queries); the agent saves its keyring file. */
  on(event: 'keyring', listener: () => void): this
  /** Each datagram and stream sent or received (with the peer's address and plaintext bytes), for observers. */
  on(event: 'traffic', listener: (t: Traffic) => void): this
  /** A rediscovery round: what the seeds resolved to, what was joined, and what failed. */
  on(event: 'discovery', listener: (e: DiscoveryEvent) => void): this
  /** With membership: 'hyparview': a neighbour came up, went down (with the cause), or none is left (isolated). */
  on(event: 'neighbor', listener: (e: OverlayNodeEvent) => void): this
  off(event: NodeEventName, listener: (...args: never[]) => void): this
}

