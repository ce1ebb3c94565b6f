/**
 * The Serf layer: a SwimDelegate that speaks enough of Serf's protocol (serf/delegate.go, serf.go,
 * spec B.2–B.4) for real Serf agents to see Grapevine nodes join and leave the way they see each other.
 *
 *   start/join ──▶ join intent [1]{LTime, Node}   ──▶ Serf sets our statusLTime
 *   leave      ──▶ leave intent [0]{LTime, Node}  ──▶ Serf marks us `leaving`; the memberlist dead
 *                  (sent only after this intent went out) then makes it `left` instead of `failed`
 *   [8][0|1|3] from gossip ──▶ witness clocks, dedupe, re-broadcast what was new (as Serf does)
 *   push-pull  ◀─▶ [2]{LTime, StatusLTimes, LeftMembers, EventLTime, Events, QueryLTime}
 *
 * Intents and user events leave through two transmit-limited queues (Serf's `broadcasts` and
 * `eventBroadcasts`), each retransmitted retransmitLimit(retransmitMult, n) times, n being the
 * memberlist cluster size. A queued intent about a node is replaced by a newer one about the same node.
 *
 * Deliberately left out (NEEDSWORK when wanted): queries (type 4; Serf then lists us as not acking),
 * intents buffered for members we do not know yet (Serf keeps them 5 min; we record their LTime in
 * the same status map, which is bounded), coalescing, and LeftMembers in our push-pull state (always
 * empty: a wrong entry would make Serf mark a live node leaving, so we only report what is certain).
 *
 * Pure: no clock, timers or I/O. Everything happens inside the delegate calls SWIM makes.
 */
import { QueryResponder, QueryResponseError, SERF_QUERY_BUFFER, encodeQueryFilters } from './queries.js'
import type { ReceivedQuery } from './queries.js'
import { BroadcastQueue } from '../swim/broadcast-queue.js'
import type { SwimDelegate } from '../swim/delegate.js'
import type { MemberInfo } from '../swim/events.js'
import { SERF_CONFLICT_QUERY, encodeConflictResponse } from './conflict-query.js'
import { retransmitLimit } from '../swim/formulas.js'
import type { DecodeError } from '../wire/decode-error.js'
import { LamportClock } from './lamport.js'
import { QUERY_RESPONSE_FLAG_ACK, SERF_QUERY_SIZE_LIMIT, decodeSerfMessage, encodeSerfMessage } from './messages.js'
import type { SerfEventSlot, SerfPushPull } from './messages.js'

/** Serf's EventBuffer: user events are deduplicated in this many slots, indexed by LTime. */
/** What `serf reachability` sends: every member that takes it acks it, and nothing else happens. */
export const SERF_PING_QUERY = '_serf_ping'

export const SERF_EVENT_BUFFER = 512
/** Serf's MaxQueueDepth for its broadcast queues. */
export const SERF_QUEUE_DEPTH = 4096
/** Bound on the status LTimes we remember (members and intents for unknown members). */
export const SERF_STATUS_MAX = 65536
/** Serf's default UserEventSizeLimit: an encoded user event message may not be larger. */
export const SERF_USER_EVENT_LIMIT = 512

/** A user event that Serf would refuse (empty name, too large); nothing was sent. */
export class UserEventError extends Error {
  override readonly name = 'UserEventError'
}

export type SerfLayerEvent =
  /** A user event seen for the first time (from gossip, push-pull, or our own userEvent()). */
  | { readonly type: 'userEvent'; readonly name: string; readonly payload: Uint8Array; readonly lTime: number; readonly coalesce: boolean; readonly local: boolean }
  /** A join or leave intent that advanced a node's status time (`prune` only on leave intents). */
  | { readonly type: 'intent'; readonly intent: 'join' | 'leave'; readonly node: string; readonly lTime: number; readonly prune?: boolean }
  /** A Serf message we could not decode; dropped. */
  | { readonly type: 'dropped'; readonly error: DecodeError; readonly where: 'message' | 'state' }
  /** A query for the application (filters matched us; internal `_serf_` queries are not reported). Answer with respondToQuery. */
  | { readonly type: 'query'; readonly query: ReceivedQuery }
  /** An ack or a response to a query we sent (query()), once per member and kind, before its deadline. */
  | { readonly type: 'queryReply'; readonly lTime: number; readonly id: number; readonly from: string; readonly ack: boolean; readonly payload: Uint8Array }

export interface SerfLayerOptions {
  /** Our node name (memberlist's). */
  readonly name: string
  /** memberlist's RetransmitMult (4 on LAN); Serf's queues use the same. */
  readonly retransmitMult: number
  /** memberlist's NumMembers: the cluster size the retransmit limit scales with. */
  readonly clusterSize: () => number
  /**
   * Live members other than us (alive or suspect: their count, and whether a name is one), for
   * distinct-peer broadcasts (SwimConfig's distinctBroadcastPeers): a packet to a member that is not live
   * (memberlist gossips to the recently dead) carries none of our broadcasts and spends no transmit, so
   * the distinct members a broadcast reaches are live ones. Absent: memberlist's rule, a transmit per
   * packet whoever receives it.
   */
  readonly distinctPeers?: { readonly count: () => number; readonly isLive: (name: string) => boolean }
  /** Receives layer events; called synchronously inside delegate calls. */
  readonly onEvent?: (e: SerfLayerEvent) => void
  /**
   * A new leave intent about another node (a graceful leave or a force-leave): the membership layer
   * should record a failed member as left, and forget it when `prune` (Swim.forceLeave). Called
   * synchronously inside delegate calls, so the caller applies it once the current input is done.
   */
  readonly onLeaveIntent?: (node: string, prune: boolean) => void
  /** Our Serf tags, for queries' tag filters (default none). */
  readonly tags?: () => Readonly<Record<string, string>>
  /**
   * Serf's key-management queries (`_serf_install-key`, `_serf_use-key`, `_serf_remove-key`,
   * `_serf_list-keys`): the runtime applies them to its keyring and returns the key response payload
   * (key-queries.ts), or undefined to leave the query unanswered. Called synchronously, once per query.
   */
  readonly onKeyQuery?: (name: string, payload: Uint8Array) => Uint8Array | undefined
  /**
   * The membership's record of a member by name, for Serf's name-conflict votes (`_serf_conflict`,
   * conflict-query.ts). Without it such votes are acked but not answered.
   */
  readonly member?: (name: string) => MemberInfo | undefined
}

export class SerfLayer implements SwimDelegate {
  readonly name: string
  readonly clock = new LamportClock()
  readonly eventClock = new LamportClock()
  readonly queryClock = new LamportClock()
  /** Stats: messages by kind handled, duplicates, drops. */
  readonly counts = { joinIntents: 0, leaveIntents: 0, userEvents: 0, duplicates: 0, other: 0, dropped: 0 }

  private readonly statusLTimes = new Map<string, number>()
  /** Nodes whose latest intent is a leave (Serf's StatusLeaving): their death is a leave, not a failure. */
  private readonly leavingNodes = new Set<string>()
  private readonly eventBuffer: Array<SerfEventSlot & { events: Array<{ name: string; payload: Uint8Array }> } | null> = new Array(SERF_EVENT_BUFFER).fill(null)
  private eventMinTime = 0
  private readonly intents = new BroadcastQueue(SERF_QUEUE_DEPTH)
  private readonly events = new BroadcastQueue(SERF_QUEUE_DEPTH)
  private eventSeq = 0
  private leaving = false
  private queryMinTime = 0
  /** Queries we sent and still listen to, by `lTime/id`: who acked and who responded. */
  private readonly asked = new Map<string, { readonly deadlineMs: number; readonly acks: Set<string>; readonly responses: Set<string> }>()
  /** Queries: dedupe, filters, acks and responses (queries.ts). */
  readonly queries: QueryResponder

  constructor(private readonly opts: SerfLayerOptions) {
    this.name = opts.name
    this.queries = new QueryResponder(opts.name, opts.tags ?? (() => ({})))
  }

  /**
   * Our vote in a Serf agent's name-conflict resolution: our record of the member named in the payload
   * (Serf's nil when we know none). None about ourselves, as Serf: the asker is the other claimant.
   */
  private conflictAnswer(payload: Uint8Array): Uint8Array | undefined {
    if (this.opts.member === undefined) return undefined
    const name = new TextDecoder().decode(payload)
    if (name === this.name) return undefined
    return encodeConflictResponse(this.opts.member(name), this.leavingNodes.has(name))
  }

  /**
   * Sends a query (Serf's Query): LTime = queryClock, then increment; gossiped to every member, which
   * acks it (when `requestAck`) and may respond, by user message to `addr`:`port` (our memberlist
   * address) and to our name. Replies arrive as `queryReply` events until `nowMs + timeoutMs`. Filters:
   * only the `nodes` named, and only members whose tag matches each regular expression in `tags`.
   * Throws QueryResponseError when the query is over Serf's 1024-byte limit; nothing is sent then.
   * As in Serf, this node takes its own query too: it acks it (a `queryReply` from itself) and, when
   * the filters match it, delivers it as a `query` event; a response to it loops back here.
   */
  query(q: {
    readonly name: string
    readonly payload: Uint8Array
    readonly id: number
    readonly addr: Uint8Array
    readonly port: number
    readonly timeoutMs: number
    readonly nowMs: number
    readonly requestAck?: boolean
    readonly nodes?: readonly string[]
    readonly tags?: Readonly<Record<string, string>>
    /** Called once the query is sent, before this node takes it itself, so its own ack finds the query registered. */
    readonly onSent?: (lTime: number) => void
    /** Allows SERF_PING_QUERY, which a user's query may not be named. */
    readonly internal?: boolean
  }): { readonly lTime: number; readonly id: number } {
    // `_serf_ping` is the one internal query sent on a user's behalf: `serf reachability`'s (node.reachability()).
    if (typeof q.name !== 'string' || q.name.length === 0 || (q.name.startsWith('_serf_') && !(q.name === SERF_PING_QUERY && q.internal === true))) {
      throw new QueryResponseError(`query name: expected a non-empty name not starting with _serf_ (Serf's own queries), got ${JSON.stringify(q.name)}`)
    }
    const filters = encodeQueryFilters(q.nodes, q.tags)
    const lTime = this.queryClock.time()
    const msg = {
      type: 'query' as const, lTime, id: q.id, addr: q.addr, port: q.port, filters, flags: q.requestAck === false ? 0 : 1,
      relayFactor: 0, sourceNode: this.name, name: q.name, payload: q.payload, timeoutNs: Math.round(q.timeoutMs * 1e6),
    }
    const bytes = encodeSerfMessage(msg)
    if (bytes.length > SERF_QUERY_SIZE_LIMIT) {
      throw new QueryResponseError(`query ${JSON.stringify(q.name)} is ${bytes.length} bytes encoded; Serf's limit is ${SERF_QUERY_SIZE_LIMIT}`)
    }
    this.queryClock.increment()
    this.asked.set(`${lTime}/${q.id}`, { deadlineMs: q.nowMs + q.timeoutMs, acks: new Set(), responses: new Set() })
    if (this.asked.size > SERF_QUERY_BUFFER) this.asked.delete(this.asked.keys().next().value as string)
    this.events.queue(`e${this.eventSeq++}`, bytes, undefined, this.originTransmits())
    q.onSent?.(lTime)
    // Serf handles its own query as any member does (serf.go Query → handleQuery): the filters decide
    // whether we ack it and whether our handlers see it. Marks it seen, so copies gossiped back are duplicates.
    const o = this.queries.handle(msg, this.queryClock.time(), this.queryMinTime)
    if (o.ack !== undefined) this.notifyUserMessage(o.ack.payload, this.name, q.nowMs)
    if (o.deliver !== undefined) this.opts.onEvent?.({ type: 'query', query: o.deliver })
    return { lTime, id: q.id }
  }

  /** Stops listening to a query's replies (its deadline passed). */
  closeQuery(lTime: number, id: number): void {
    this.asked.delete(`${lTime}/${id}`)
  }

  /**
   * The response to a query delivered as a `query` event, as a user message for `to` (the querier).
   * Throws QueryResponseError when the query is unknown or answered already, or the response exceeds
   * Serf's 1024-byte limit.
   */
  respondToQuery(query: Pick<ReceivedQuery, 'lTime' | 'id'>, payload: Uint8Array): { readonly to: string; readonly payload: Uint8Array } {
    return this.queries.respond(query, payload)
  }

  /** Broadcasts a join intent at the current member clock (Serf's broadcastJoin), setting our status time. */
  join(): void {
    const lTime = this.clock.time()
    this.clock.witness(lTime)
    this.setStatus(this.name, lTime)
    this.intents.queue(this.name, encodeSerfMessage({ type: 'join', lTime, node: this.name }), undefined, this.originTransmits())
  }

  /**
   * Broadcasts our leave intent (Serf's Leave: LTime = clock, then increment). `onSent` runs once the
   * intent has been transmitted its retransmit limit (memberlist's Finished), or with false when it
   * was replaced or dropped from the queue.
   */
  leave(onSent?: (sent: boolean) => void): void {
    this.leaving = true
    const lTime = this.clock.time()
    this.clock.increment()
    this.setStatus(this.name, lTime)
    this.intents.queue(this.name, encodeSerfMessage({ type: 'leave', lTime, node: this.name, prune: false }), (reason) => onSent?.(reason === 'sent'), this.originTransmits())
  }

  /**
   * Serf's RemoveFailedNode / force-leave: a leave intent about another node at the current member
   * clock (then incremented), applied here first and then gossiped, so every member records the failed
   * node as left (and forgets it when `prune`). `onSent` as for leave(). A live node that receives it
   * about itself refutes it with a join intent.
   */
  forceLeave(node: string, prune: boolean, onSent?: (sent: boolean) => void): void {
    const lTime = this.clock.time()
    this.clock.increment()
    this.handleLeaveIntent(lTime, node, prune)
    this.intents.queue(node, encodeSerfMessage({ type: 'leave', lTime, node, prune }), (reason) => onSent?.(reason === 'sent'), this.originTransmits())
  }

  /**
   * Fires a user event (Serf's UserEvent): LTime = eventClock, then increment; delivered locally too,
   * then gossiped through the event queue. Returns its LTime. Throws UserEventError, sending nothing,
   * when the name is empty or the encoded message exceeds SERF_USER_EVENT_LIMIT (Serf's limit, which
   * Serf agents also enforce on what they relay).
   */
  userEvent(name: string, payload: Uint8Array, coalesce = false): number {
    if (typeof name !== 'string' || name.length === 0) throw new UserEventError(`event name: expected a non-empty string, got ${JSON.stringify(name)}`)
    const lTime = this.eventClock.time()
    const bytes = encodeSerfMessage({ type: 'userEvent', lTime, name, payload, coalesce })
    if (bytes.length > SERF_USER_EVENT_LIMIT) {
      throw new UserEventError(
        `user event ${JSON.stringify(name)} is ${bytes.length} bytes encoded; Serf's limit is ${SERF_USER_EVENT_LIMIT} (name and payload together can be about ${SERF_USER_EVENT_LIMIT - 40} bytes)`,
      )
    }
    this.eventClock.increment()
    this.recordEvent(lTime, name, payload, coalesce, true)
    this.events.queue(`e${this.eventSeq++}`, bytes, undefined, this.originTransmits())
    return lTime
  }

  /** Broadcasts waiting in the queues. */
  get pendingBroadcasts(): number {
    return this.intents.size + this.events.size
  }

  /**
   * True when the latest intent about `node` is a leave: Serf then records its death as `left`, not
   * `failed` (a node that announced its leave and crashed before memberlist's leave went out).
   */
  isLeaving(node: string): boolean {
    return this.leavingNodes.has(node)
  }

  /** The status LTime recorded for a node (its latest join/leave intent), if any. */
  statusLTime(node: string): number | undefined {
    return this.statusLTimes.get(node)
  }

  // ------------------------------------------------------------------ SwimDelegate

  /** A Serf message; `nowMs` times replies to our queries, `send` (by member name) carries query acks back to the querier. */
  notifyUserMessage(payload: Uint8Array, _fromName?: string, nowMs = 0, send?: (toName: string, payload: Uint8Array) => boolean): void {
    const decoded = decodeSerfMessage(payload)
    if (!decoded.ok) {
      this.counts.dropped++
      this.opts.onEvent?.({ type: 'dropped', error: decoded.error, where: 'message' })
      return
    }
    const msg = decoded.value
    let rebroadcast = false
    let queue = this.intents
    switch (msg.type) {
      case 'join':
        this.counts.joinIntents++
        rebroadcast = this.handleJoinIntent(msg.lTime, msg.node)
        break
      case 'leave':
        this.counts.leaveIntents++
        rebroadcast = this.handleLeaveIntent(msg.lTime, msg.node, msg.prune)
        break
      case 'userEvent':
        this.counts.userEvents++
        rebroadcast = this.handleUserEvent(msg.lTime, msg.name, msg.payload, msg.coalesce)
        queue = this.events
        break
      case 'query': {
        this.queryClock.witness(msg.lTime)
        const o = this.queries.handle(msg, this.queryClock.time(), this.queryMinTime)
        if (o.ack !== undefined) send?.(o.ack.to, o.ack.payload)
        if (o.internal !== undefined) {
          const answer = o.internal.name === SERF_CONFLICT_QUERY ? this.conflictAnswer(o.internal.payload) : this.opts.onKeyQuery?.(o.internal.name, o.internal.payload)
          if (answer !== undefined) {
            const r = this.queries.respondInternal(o.internal, answer)
            send?.(r.to, r.payload)
          }
        }
        if (o.deliver !== undefined) this.opts.onEvent?.({ type: 'query', query: o.deliver })
        rebroadcast = o.rebroadcast
        queue = this.events
        break
      }
      case 'queryResponse': {
        const asked = this.asked.get(`${msg.lTime}/${msg.id}`)
        const ack = (msg.flags & QUERY_RESPONSE_FLAG_ACK) !== 0
        const seen = asked === undefined ? undefined : ack ? asked.acks : asked.responses
        if (asked === undefined || seen === undefined || nowMs > asked.deadlineMs || seen.has(msg.from)) {
          this.counts.other++
          return
        }
        seen.add(msg.from)
        this.opts.onEvent?.({ type: 'queryReply', lTime: msg.lTime, id: msg.id, from: msg.from, ack, payload: msg.payload })
        return
      }
      case 'pushPull':
      case 'other':
        // Relays, key messages. A push-pull state never comes as a message.
        this.counts.other++
        return
    }
    if (!rebroadcast) return
    // Serf re-gossips the very bytes it received.
    const copy = payload.slice()
    if (msg.type === 'userEvent' || msg.type === 'query') queue.queue(`e${this.eventSeq++}`, copy)
    else queue.queue(msg.node, copy)
  }

  /**
   * Transmits of a broadcast we originate, with distinct peers: in a cluster small enough that every live
   * peer is at most twice the retransmit limit, one to each peer (so each gets it from us, whatever the
   * relays do); else the limit, as memberlist. Relayed copies always get the limit.
   */
  private originTransmits(): number | undefined {
    if (this.opts.distinctPeers === undefined) return undefined
    const peers = this.opts.distinctPeers.count()
    const limit = retransmitLimit(this.opts.retransmitMult, Math.max(1, this.opts.clusterSize()))
    return peers > limit && peers <= 2 * limit ? peers : undefined
  }

  /** Broadcasts for a packet to `toName` (when known: distinct-peer takes, see `distinctPeers`). */
  getBroadcasts(overheadBytes: number, limitBytes: number, toName?: string): Uint8Array[] {
    if (this.intents.size === 0 && this.events.size === 0) return []
    const limit = retransmitLimit(this.opts.retransmitMult, Math.max(1, this.opts.clusterSize()))
    const d = this.opts.distinctPeers
    if (d !== undefined && toName !== undefined && !d.isLive(toName)) return []
    const distinct = toName === undefined || d === undefined ? 0 : Math.min(limit, d.count())
    const msgs = this.intents.take(overheadBytes, limitBytes, limit, toName, distinct)
    let used = 0
    for (const m of msgs) used += m.length + overheadBytes
    if (limitBytes - used > overheadBytes) msgs.push(...this.events.take(overheadBytes, limitBytes - used, limit, toName, distinct))
    return msgs
  }

  localState(): Uint8Array {
    const state: SerfPushPull = {
      type: 'pushPull',
      lTime: this.clock.time(),
      statusLTimes: this.statusLTimes,
      leftMembers: [],
      eventLTime: this.eventClock.time(),
      events: this.eventBuffer,
      queryLTime: this.queryClock.time(),
    }
    return encodeSerfMessage(state)
  }

  mergeRemoteState(state: Uint8Array, join: boolean): void {
    const decoded = decodeSerfMessage(state)
    if (!decoded.ok || decoded.value.type !== 'pushPull') {
      this.counts.dropped++
      if (!decoded.ok) this.opts.onEvent?.({ type: 'dropped', error: decoded.error, where: 'state' })
      return
    }
    const pp = decoded.value
    // Serf witnesses one less: no message with that time has been sent yet.
    if (pp.lTime > 0) this.clock.witness(pp.lTime - 1)
    if (pp.eventLTime > 0) this.eventClock.witness(pp.eventLTime - 1)
    if (pp.queryLTime > 0) this.queryClock.witness(pp.queryLTime - 1)
    const left = new Set(pp.leftMembers)
    // Left members first, one past their join time (the leave was accepted after it).
    for (const name of left) this.handleLeaveIntent((pp.statusLTimes.get(name) ?? 0) + 1, name, false)
    for (const [name, lTime] of pp.statusLTimes) if (!left.has(name)) this.handleJoinIntent(lTime, name)
    // Serf's agent joins without replay: events from before the join are not delivered.
    if (join && pp.eventLTime > this.eventMinTime) this.eventMinTime = pp.eventLTime
    if (join && pp.queryLTime > this.queryMinTime) this.queryMinTime = pp.queryLTime
    for (const slot of pp.events) {
      if (slot === null) continue
      for (const e of slot.events) this.handleUserEvent(slot.lTime, e.name, e.payload, false)
    }
  }

  // ------------------------------------------------------------------ Serf's handlers

  /** handleNodeJoinIntent: true when the intent is news (and so re-gossiped). */
  private handleJoinIntent(lTime: number, node: string): boolean {
    this.clock.witness(lTime)
    const known = this.statusLTimes.get(node)
    if (known !== undefined && lTime <= known) return false
    this.setStatus(node, lTime)
    this.leavingNodes.delete(node)
    this.opts.onEvent?.({ type: 'intent', intent: 'join', node, lTime })
    return true
  }

  /** handleNodeLeaveIntent: an older leave intent about ourselves is refuted with a join intent. */
  private handleLeaveIntent(lTime: number, node: string, prune: boolean): boolean {
    this.clock.witness(lTime)
    const known = this.statusLTimes.get(node)
    if (known !== undefined && lTime <= known) return false
    if (node === this.name && !this.leaving) {
      this.join()
      return false
    }
    this.setStatus(node, lTime)
    if (node !== this.name) this.leavingNodes.add(node)
    this.opts.onEvent?.({ type: 'intent', intent: 'leave', node, lTime, prune })
    if (node !== this.name) this.opts.onLeaveIntent?.(node, prune)
    return true
  }

  /** handleUserEvent: dedupe in the ring of SERF_EVENT_BUFFER slots; true when new. */
  private handleUserEvent(lTime: number, name: string, payload: Uint8Array, coalesce: boolean): boolean {
    this.eventClock.witness(lTime)
    if (lTime < this.eventMinTime) return false
    const now = this.eventClock.time()
    if (now > SERF_EVENT_BUFFER && lTime < now - SERF_EVENT_BUFFER) return false
    const slot = this.eventBuffer[lTime % SERF_EVENT_BUFFER]
    if (slot !== null && slot.lTime === lTime && slot.events.some((e) => e.name === name && bytesEqual(e.payload, payload))) {
      this.counts.duplicates++
      return false
    }
    this.recordEvent(lTime, name, payload, coalesce, false)
    return true
  }

  private recordEvent(lTime: number, name: string, payload: Uint8Array, coalesce: boolean, local: boolean): void {
    const idx = lTime % SERF_EVENT_BUFFER
    let slot = this.eventBuffer[idx]
    if (slot === null || slot.lTime !== lTime) {
      slot = { lTime, events: [] }
      this.eventBuffer[idx] = slot
    }
    slot.events.push({ name, payload })
    this.opts.onEvent?.({ type: 'userEvent', name, payload, lTime, coalesce, local })
  }

  private setStatus(node: string, lTime: number): void {
    this.statusLTimes.delete(node)
    this.statusLTimes.set(node, lTime)
    if (this.statusLTimes.size > SERF_STATUS_MAX) {
      const oldest = this.statusLTimes.keys().next().value
      if (oldest !== undefined && oldest !== this.name) {
        this.statusLTimes.delete(oldest)
        this.leavingNodes.delete(oldest)
      }
    }
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
