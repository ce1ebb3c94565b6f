/**
 * The seam where higher layers plug into SWIM, as Serf plugs into memberlist. Every method is optional,
 * synchronous and does no I/O.
 */
import type { MemberInfo } from './events.js'

/** What a delegate may read of the membership (the Swim node itself). */
export interface MembershipView {
  readonly name: string
  /** Grows whenever a member's state, incarnation, address or metadata changed. */
  readonly membershipVersion: number
  members(): MemberInfo[]
  /** One member by name (O(1)); optional for views that only list. */
  member?(name: string): MemberInfo | undefined
}

export interface SwimDelegate {
  /** Called once, from the Swim constructor, with the node the delegate serves. */
  bind?(membership: MembershipView): void
  /** Metadata for the local node's alive messages; at most limitBytes (512). */
  nodeMeta?(limitBytes: number): Uint8Array
  /**
   * A user message (packet or stream) arrived; `fromName` is the member at the source address, if
   * known. `send` sends a user message by UDP to a live member by name (false when there is none).
   */
  notifyUserMessage?(payload: Uint8Array, fromName: string | undefined, nowMs: number, send: (toName: string, payload: Uint8Array) => boolean): void
  /**
   * Up to limitBytes of user messages to piggyback on a packet to `toName` (undefined when the packet
   * goes to an address that is not a member); each costs its length + overheadBytes. `riding` is true
   * when the packet goes out anyway (a ping or an ack: what rides on it costs bytes, not packets) and
   * false for a gossip round's packet, sent only because something was returned here.
   */
  getBroadcasts?(overheadBytes: number, limitBytes: number, toName?: string, riding?: boolean): Uint8Array[]
  /**
   * Runs at every gossip round (gossipIntervalMs) after SWIM's own gossip went out; `send` sends a user
   * message by UDP to a live member by name (false when there is none). Where protocols riding on
   * SWIM run their own rounds.
   */
  onGossipRound?(nowMs: number, send: (toName: string, payload: Uint8Array) => boolean): void
  /**
   * The earliest time the delegate wants a gossip round (a round's packet or onGossipRound), or
   * undefined for none: SWIM then arms no round while its own queue is empty, and an idle node takes
   * no timer every gossipIntervalMs. Without this method every round runs.
   */
  nextRoundMs?(nowMs: number): number | undefined
  /** State sent in push-pull (join = during a join). */
  localState?(join: boolean): Uint8Array
  /** State received in push-pull. */
  mergeRemoteState?(state: Uint8Array, join: boolean, nowMs: number): void
  /** Veto an alive about a new or known member; return a reason to reject it. */
  notifyAlive?(member: MemberInfo): string | undefined
  /** Veto a push-pull merge during join; return a reason to reject it. */
  notifyMerge?(peers: readonly MemberInfo[]): string | undefined
  /** Someone claimed a known name from another address. */
  notifyConflict?(existing: MemberInfo, other: MemberInfo): void
  /**
   * A member is about to be recorded dead: true records it left instead, because the layer above
   * heard it announce its leave (Serf's leave intent, then a crash before memberlist's leave went out).
   */
  isLeaving?(name: string): boolean
  /**
   * Our own suspicion timeout for `name` expired and SWIM is about to declare it dead: false postpones
   * the declaration (a second opinion, such as phi accrual hearing the member's heartbeats), and SWIM asks
   * again every probe interval while the member stays suspect at the same incarnation. It governs only
   * our own timer: a `dead` message from another member still applies.
   */
  confirmDead?(name: string, suspectedForMs: number, nowMs: number): boolean
  /**
   * Members the layer above accuses now (phi accrual over its threshold). Asked at every probe tick;
   * SWIM suspects those it holds alive, as if its own probe of them had failed (source `phi`).
   */
  accused?(nowMs: number): readonly string[]
  /** Payload for acks to pings (Serf's network coordinates). */
  ackPayload?(): Uint8Array
  /**
   * A probe completed; rttMs measured, payload as the target sent it. `send` sends a user message by
   * UDP to a live member by name (false when there is none): Grapevine's coordinate echo uses it.
   */
  notifyPingComplete?(member: MemberInfo, rttMs: number, payload: Uint8Array | null, send?: (toName: string, payload: Uint8Array) => boolean): void
}
