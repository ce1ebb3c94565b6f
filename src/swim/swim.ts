/**
 * Swim: SWIM membership with the Lifeguard extensions, as memberlist 0.2.2 implements it, as a pure
 * state machine. Every input carries `nowMs` and an Outbox; nothing here touches a socket, a timer,
 * the clock or a random source of its own.
 *
 * This file is the driver: the public surface, the dispatch of inputs, the periodic timers, gossip
 * rounds, joins, leave and reaping. The protocol's parts live beside it:
 *
 *   member-table.ts   the members, the probe order (round-robin over a shuffled list), random picks
 *   probe-cycle.ts    probe → indirect probes (+ TCP) → suspect; the helper's relays and nacks
 *   state-changes.ts  alive / suspect / dead handlers, Lifeguard suspicions, refutation
 *   push-pull.ts      anti-entropy: our state encoded, a remote state verified and merged
 *   exchanges.ts      stream exchanges and their replies: joins, periodic push-pull, reconnect, TCP pings
 *   sender.ts         encoding, piggybacking, compounds, compression, CRC, traffic counters
 *   host.ts           the narrow view of this node those parts work through
 *   outbox.ts         SwimOutbox, the effects sink every part writes to
 *
 * Dissemination: every state change is queued as a named broadcast (a newer one about the same node
 * replaces the older) and piggybacked on pings, acks and gossip rounds until its transmit limit.
 * Anti-entropy: push-pull of the whole table over a stream, periodically and on join.
 */
import type { StreamResult } from '../core/effects.js'
import type { Rng } from '../core/rng.js'
import type { Address } from '../core/types.js'
import { ipToBytes } from '../core/types.js'
import { assert } from '../core/assert.js'
import { decodePacket, decodeStream } from '../wire/codec.js'
import type { DecodeError } from '../wire/decode-error.js'
import type { AliveMsg, DeadMsg } from '../wire/messages.js'
import { Awareness } from './awareness.js'
import { BroadcastQueue } from './broadcast-queue.js'
import type { SwimConfig } from './config.js'
import type { SwimDelegate } from './delegate.js'
import type { DropReason, MemberInfo, MemberState } from './events.js'
import { pushPullScaleMs, retransmitLimit } from './formulas.js'
import type { Member } from './member.js'
import { EMPTY, isDeadOrLeft, snapshot } from './member.js'
import { MemberTable } from './member-table.js'
import type { ProbeHost } from './probe-cycle.js'
import { ProbeCycle } from './probe-cycle.js'
import { PushPull } from './push-pull.js'
import { Exchanges } from './exchanges.js'
import { PacketSender } from './sender.js'
import type { StateChangeHost } from './state-changes.js'
import { StateChanges, aliveOf } from './state-changes.js'
import { SwimStats } from './stats.js'
import type { SwimTimer } from './timers.js'
import type { SwimOutbox } from './outbox.js'


export interface SwimOptions {
  readonly name: string
  /** The address advertised to others (IP literal and port). */
  readonly address: Address
  readonly config: SwimConfig
  readonly rng: Rng
  readonly delegate?: SwimDelegate
  /** Initial node metadata (≤ 512 bytes); the delegate's nodeMeta wins when present. */
  readonly meta?: Uint8Array
  /** Seed addresses retried by the reconnect loop (join() adds its seeds here too). */
  readonly seeds?: readonly Address[]
  /**
   * The incarnation start() announces (default 1). A restarted node passes one more than the last it
   * used, so peers that still hold it dead or suspect accept it at once instead of after a refutation.
   */
  readonly incarnation?: number
  /** Counters to count into (the composed node's, which exist before SWIM is built); default a fresh set. */
  readonly stats?: SwimStats
}

/** Largest node metadata memberlist accepts (MetaMaxSize). */
export const META_MAX_BYTES = 512
const USER_MSG_OVERHEAD = 1

export class Swim {
  readonly name: string
  readonly address: Address
  readonly config: SwimConfig
  readonly stats: SwimStats

  private readonly rng: Rng
  private readonly delegate: SwimDelegate | undefined
  private readonly self: Member
  private readonly table: MemberTable
  private readonly send: PacketSender
  private readonly states: StateChanges
  private readonly prober: ProbeCycle
  private readonly pushPull: PushPull
  private readonly awareness: Awareness
  private readonly exchanges: Exchanges
  private readonly queue = new BroadcastQueue()
  /** Bumped by shutdown(): every periodic timer of an older epoch is ignored. */
  private epoch = 0
  private started = false
  private leaving = false
  private readonly startIncarnation: number
  private leaveDone = false
  /**
   * Gossip rounds run at gossipPhaseMs + k × gossipIntervalMs, armed only while something wants one (our
   * queue, or the delegate's nextRoundMs); gossipDueMs is the armed round (Infinity: none).
   */
  private gossipPhaseMs = 0
  private gossipDueMs = Number.POSITIVE_INFINITY
  /** Set when our own left broadcast reached its transmit limit (or was replaced). */
  private leaveBroadcastSent = false
  private stopped = false

  constructor(opts: SwimOptions) {
    this.name = opts.name
    this.address = opts.address
    this.config = opts.config
    this.rng = opts.rng
    this.stats = opts.stats ?? new SwimStats()
    this.delegate = opts.delegate
    this.awareness = new Awareness(opts.config.awarenessMaxMultiplier)
    const addr = ipToBytes(opts.address.ip)
    assert(addr !== undefined, `address ${opts.address.ip} is not an IP literal`)
    assert(opts.name.length > 0, 'node name must not be empty')
    const meta = this.delegate?.nodeMeta?.(META_MAX_BYTES) ?? opts.meta ?? EMPTY
    assert(meta.length <= META_MAX_BYTES, `node metadata is ${meta.length} bytes; the limit is ${META_MAX_BYTES}`)
    this.self = {
      name: opts.name,
      address: opts.address,
      addr,
      state: 'alive',
      incarnation: 0,
      meta,
      vsn: this.vsnArray(),
      stateChangeMs: 0,
      forgotten: false,
    }
    this.table = new MemberTable(this.rng, this.self, opts.config.gossipToTheDeadTimeMs)
    this.send = new PacketSender(opts.config, this.stats, (overhead, limit, out, dest, riding) => this.takeBroadcasts(overhead, limit, out, dest, riding))
    // The narrow view of this node its parts work through (see each part's host interface).
    const host: StateChangeHost & Omit<ProbeHost, 'suspect' | 'openTcpPing' | 'sendUserTo' | 'finalProbeEnded' | 'deadAnswered' | 'rng'> = {
      name: this.name,
      address: this.address,
      config: this.config,
      stats: this.stats,
      delegate: this.delegate,
      members: this.table,
      self: this.self,
      awareness: this.awareness,
      send: this.send,
      isLeaving: () => this.leaving,
      enqueue: (name, bytes, nowMs, out, onDone) => this.enqueue(name, bytes, nowMs, out, onDone),
      dropped: (reason, from, out, detail) => this.dropped(reason, from, out, detail),
      undecodable: (err, from, out) => this.undecodable(err, from, out),
      leaveBroadcastSent: () => void (this.leaveBroadcastSent = true),
      probeBeforeDeath: (target, nowMs, out) => this.prober.probeBeforeDeath(target, nowMs, out),
      revived: (nowMs) => this.exchanges.noteRevival(nowMs),
    }
    this.states = new StateChanges(host)
    this.prober = new ProbeCycle({
      ...host,
      suspect: (msg, nowMs, out) => this.states.suspect(msg, nowMs, out, 'probe'),
      finalProbeEnded: (name, seqNo, acked, nowMs, out) => this.states.finalProbeEnded(name, seqNo, acked, nowMs, out),
      openTcpPing: (seqNo, to, bytes, timeoutMs, out) => this.exchanges.openTcpPing(seqNo, to, bytes, timeoutMs, out),
      sendUserTo: (name, payload, out) => this.sendUserTo(name, payload, out),
      deadAnswered: (member, _nowMs, out) => this.exchanges.reconnectTo(member, out),
      rng: this.rng,
    })
    this.pushPull = new PushPull({ ...host, states: this.states })
    this.exchanges = new Exchanges({ ...host, rng: this.rng, pushPull: this.pushPull, prober: this.prober, isStopped: () => this.stopped })
    for (const s of opts.seeds ?? []) this.exchanges.addSeed(s)
    const inc = opts.incarnation ?? 1
    assert(Number.isInteger(inc) && inc >= 1 && inc <= 0xffffffff, `incarnation ${inc} is not an integer in 1..2^32-1`)
    this.startIncarnation = inc
    this.delegate?.bind?.(this)
  }

  // ------------------------------------------------------------------ public surface

  get healthScore(): number {
    return this.awareness.score
  }

  /** Grows whenever a member's state, incarnation, address or metadata changed: what views key on. */
  get membershipVersion(): number {
    return this.table.version
  }

  get incarnation(): number {
    return this.self.incarnation
  }

  get isLeaving(): boolean {
    return this.leaving
  }

  /** Every member this node knows, itself included (failed and left ones until reaped). */
  members(): MemberInfo[] {
    const out: MemberInfo[] = []
    for (const m of this.table.values()) out.push(snapshot(m))
    return out
  }

  member(name: string): MemberInfo | undefined {
    const m = this.table.get(name)
    return m ? snapshot(m) : undefined
  }

  localMember(): MemberInfo {
    return snapshot(this.self)
  }

  /** memberlist's numNodes: every entry the protocol carries, including recent dead ones and self. */
  estimatedClusterSize(): number {
    return this.table.carried
  }

  /** Members other than us that are alive or suspect; isLivePeer: whether `name` is one. */
  livePeerCount(): number {
    return Math.max(0, this.table.size - 1 - this.table.down.size)
  }
  isLivePeer(name: string): boolean {
    const m = this.table.get(name)
    return m !== undefined && m.name !== this.name && (m.state === 'alive' || m.state === 'suspect')
  }

  /** Number of broadcasts waiting to be piggybacked. */
  get pendingBroadcasts(): number {
    return this.queue.size
  }

  /** Starts the node: alive at its start incarnation (1 by default), periodic timers staggered at random. */
  start(nowMs: number, out: SwimOutbox): void {
    assert(!this.started, 'start() called twice')
    this.started = true
    this.self.stateChangeMs = nowMs
    this.table.put(this.self)
    this.table.insert(this.self)
    const c = this.config
    const e = this.epoch
    out.schedule({ kind: 'probeTick', epoch: e }, this.rng.int(c.probeIntervalMs))
    const gossipStagger = this.rng.int(c.gossipIntervalMs)
    this.gossipPhaseMs = nowMs + gossipStagger
    this.gossipDueMs = this.gossipPhaseMs
    out.schedule({ kind: 'gossipTick', epoch: e, dueMs: this.gossipDueMs }, gossipStagger)
    if (c.pushPullIntervalMs > 0) out.schedule({ kind: 'pushPullTick', epoch: e }, this.rng.int(c.pushPullIntervalMs))
    if (c.reconnectIntervalMs > 0) out.schedule({ kind: 'reconnectTick', epoch: e }, this.rng.int(c.reconnectIntervalMs))
    out.schedule({ kind: 'reapTick', epoch: e }, c.reapIntervalMs)
    // Our own alive, queued for gossip (after the gossip cadence is set up).
    this.states.alive(aliveOf(this.self, this.startIncarnation), nowMs, out, true)
  }

  /**
   * Joins through the given addresses with a push-pull each (join flag set); one answer is enough.
   * Emits `joinCompleted` when every attempt has finished. Returns the join id.
   */
  join(seeds: readonly Address[], nowMs: number, out: SwimOutbox, remember = true): number {
    assert(this.started, 'join() before start()')
    void nowMs
    return this.exchanges.join(seeds, out, remember)
  }

  /**
   * Leaves gracefully: broadcasts dead(self, from: self), which others record as left, and emits
   * `leaveCompleted` once it went out (transmit limit reached) or after leaveTimeoutMs. Probing and
   * push-pull stop; acks and gossip go on until shutdown().
   */
  leave(nowMs: number, out: SwimOutbox): void {
    assert(this.started, 'leave() before start()')
    if (this.leaving) return
    this.leaving = true
    const anyoneAlive = this.table.carriedMembers.some((m) => m !== this.self && m.state === 'alive')
    const msg: DeadMsg = { type: 'dead', incarnation: this.self.incarnation, node: this.name, from: this.name }
    this.states.dead(msg, nowMs, out, 'gossip', anyoneAlive)
    if (!anyoneAlive) {
      this.finishLeave(false, out)
      return
    }
    out.schedule({ kind: 'leaveTimeout', epoch: this.epoch }, this.config.leaveTimeoutMs)
  }

  /**
   * Serf's force-leave, as each node applies it locally (nothing goes on the wire here; the Serf
   * layer gossips the intent): a failed member becomes left, so it is no longer reconnected and is
   * reaped after tombstoneTimeoutMs; with `prune`, a failed or left member is forgotten at once
   * (`reaped`). Live members are not touched: a live node refutes the intent itself.
   * Returns the member's state before, or undefined when the name is unknown.
   */
  forceLeave(name: string, prune: boolean, nowMs: number, out: SwimOutbox): MemberState | undefined {
    const m = this.table.get(name)
    if (m === undefined) return undefined
    const before = m.state
    if (m === this.self || !isDeadOrLeft(m.state)) return before
    if (m.state === 'dead') {
      m.state = 'left'
      m.stateChangeMs = nowMs
      this.table.changed()
      out.emit({ type: 'left', member: snapshot(m) })
    }
    if (prune) this.forget(m, out)
    return before
  }

  /** Stops every periodic timer; the node ignores all later input. */
  shutdown(): void {
    this.stopped = true
    this.epoch++
  }

  /** Replaces the local metadata: a higher incarnation and an alive broadcast (memberlist UpdateNode). */
  setMeta(meta: Uint8Array, nowMs: number, out: SwimOutbox): void {
    assert(meta.length <= META_MAX_BYTES, `node metadata is ${meta.length} bytes; the limit is ${META_MAX_BYTES}`)
    const alive: AliveMsg = { ...aliveOf(this.self, this.self.incarnation + 1), meta }
    this.states.alive(alive, nowMs, out, true)
  }

  /** Sends a user message best-effort by UDP (memberlist SendBestEffort). */
  sendUserPacket(to: Address, payload: Uint8Array, out: SwimOutbox): void {
    const bytes = new Uint8Array(payload.length + 1)
    bytes[0] = 8
    bytes.set(payload, 1)
    this.send.raw(to, bytes, this.table.memberAt(to), out, 'user')
  }

  /**
   * Sends a user message by UDP to a member by name (alive or suspect only); false when there is no
   * such member to send to. What delegates use to talk to one peer.
   */
  sendUserTo(name: string, payload: Uint8Array, out: SwimOutbox): boolean {
    const m = this.table.get(name)
    if (m === undefined || m === this.self || (m.state !== 'alive' && m.state !== 'suspect')) return false
    this.sendUserPacket(m.address, payload, out)
    return true
  }

  /** Sends a user message reliably over a stream (memberlist SendReliable). */
  sendUserStream(to: Address, payload: Uint8Array, out: SwimOutbox): void {
    this.exchanges.userStream(to, payload, out)
  }

  // ------------------------------------------------------------------ inputs

  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: SwimOutbox): void {
    if (this.stopped) return
    this.stats.packetsIn++
    this.stats.bytesIn += bytes.length
    if (this.config.calmHealing) {
      // First-hand evidence that the sender lives (calm healing, state-changes.ts heardRecently).
      const sender = this.table.memberFrom(from)
      if (sender !== undefined) sender.heardMs = nowMs
    }
    const { messages, sizes, errors } = decodePacket(bytes)
    for (const err of errors) this.undecodable(err, from, out)
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]
      this.stats.countIn(msg.type, sizes[i])
      switch (msg.type) {
        case 'ping':
          this.prober.handlePing(msg, from, out)
          break
        case 'indirectPing':
          this.prober.handleIndirectPing(msg, from, out)
          break
        case 'ack':
          this.prober.handleAck(msg, nowMs, out)
          break
        case 'nack':
          this.prober.handleNack(msg)
          break
        case 'alive':
          this.states.alive(msg, nowMs, out, false, from)
          break
        case 'suspect':
          this.states.suspect(msg, nowMs, out, 'gossip', from)
          break
        case 'dead':
          this.states.dead(msg, nowMs, out, 'gossip', false, from)
          break
        case 'user':
          this.delegate?.notifyUserMessage?.(msg.payload, this.table.memberAt(from)?.name, nowMs, (to, p) => this.sendUserTo(to, p, out))
          break
      }
    }
  }

  /** A stream request arrived; returns the reply bytes, or null when none is due. */
  handleStreamRequest(from: Address, bytes: Uint8Array, nowMs: number, out: SwimOutbox): Uint8Array | null {
    if (this.stopped) return null
    this.stats.streamsIn++
    this.stats.streamBytesIn += bytes.length
    const decoded = decodeStream(bytes)
    if (!decoded.ok) {
      this.stats.streamErrors++
      this.undecodable(decoded.error, from, out)
      // memberlist answers an errResp only when the envelope itself is unreadable.
      if (decoded.error.reason === 'bad-compression') {
        return this.send.streamReply('err', this.send.encodeStream({ type: 'err', error: `Failed to read stream: ${decoded.error.message}` }, false))
      }
      return null
    }
    const msg = decoded.value
    this.stats.streamIn(msg.type, bytes.length)
    switch (msg.type) {
      case 'pushPull': {
        this.stats.pushPullsServed++
        const reply = this.pushPull.localState(msg.join)
        this.pushPull.merge(msg, nowMs, out, from)
        return this.send.streamReply('pushPull', reply)
      }
      case 'ping':
        if (msg.node !== '' && msg.node !== this.name) {
          this.dropped('wrong-node', from, out, `stream ping for ${msg.node}`)
          return null
        }
        return this.send.streamReply('ack', this.send.encodeStream({ type: 'ack', seqNo: msg.seqNo, payload: null }))
      case 'userStream':
        this.delegate?.notifyUserMessage?.(msg.payload, this.table.memberAt(from)?.name, nowMs, (to, p) => this.sendUserTo(to, p, out))
        return null
      case 'ack':
      case 'err':
        this.dropped('unexpected-stream-message', from, out, msg.type)
        return null
    }
  }

  handleStreamReply(exchangeId: number, result: StreamResult, nowMs: number, out: SwimOutbox): void {
    this.exchanges.reply(exchangeId, result, nowMs, out)
  }

  /** The delegate's accusations (phi over its threshold) become our own suspicions of alive members. */
  private raiseAccusations(nowMs: number, out: SwimOutbox): void {
    const accused = this.delegate?.accused?.(nowMs)
    if (accused === undefined) return
    for (const name of accused) {
      const m = this.table.get(name)
      if (m === undefined || m === this.self || m.forgotten || m.state !== 'alive') continue
      this.states.suspect({ type: 'suspect', incarnation: m.incarnation, node: m.name, from: this.name }, nowMs, out, 'phi')
    }
  }

  handleTimer(timer: SwimTimer, nowMs: number, out: SwimOutbox): void {
    if (this.stopped) return
    switch (timer.kind) {
      case 'probeTick':
        if (timer.epoch !== this.epoch || this.leaving) return
        this.prober.tick(this.epoch, nowMs, out)
        this.raiseAccusations(nowMs, out)
        this.states.remindSuspects(nowMs, out)
        this.exchanges.reconnectAfterRevival(nowMs, out)
        return
      case 'probeTimeout':
        this.prober.timeout(timer.seqNo, nowMs, out)
        return
      case 'probeDeadline':
        this.prober.deadline(timer.seqNo, nowMs, out)
        return
      case 'relayTimeout':
        this.prober.relayTimeout(timer.seqNo, out)
        return
      case 'suspicionTimeout':
        this.states.suspicionTimeout(timer, nowMs, out)
        return
      case 'gossipTick':
        if (timer.epoch !== this.epoch || (timer.dueMs !== undefined && timer.dueMs !== this.gossipDueMs)) return
        this.gossipDueMs = Number.POSITIVE_INFINITY
        this.gossip(nowMs, out)
        this.delegate?.onGossipRound?.(nowMs, (to, payload) => this.sendUserTo(to, payload, out))
        // Idle while nothing wants a round; enqueue() and wakeGossip() wake the rounds on the same cadence.
        this.wakeGossip(nowMs, out)
        return
      case 'pushPullTick':
        if (timer.epoch !== this.epoch) return
        out.schedule({ kind: 'pushPullTick', epoch: this.epoch }, pushPullScaleMs(this.config.pushPullIntervalMs, this.table.carried))
        if (!this.leaving) this.exchanges.periodicPushPull(out)
        return
      case 'reconnectTick':
        if (timer.epoch !== this.epoch) return
        out.schedule({ kind: 'reconnectTick', epoch: this.epoch }, this.config.reconnectIntervalMs)
        if (!this.leaving) this.exchanges.reconnect(out)
        return
      case 'reapTick':
        if (timer.epoch !== this.epoch) return
        out.schedule({ kind: 'reapTick', epoch: this.epoch }, this.config.reapIntervalMs)
        this.reap(nowMs, out)
        return
      case 'leaveTimeout':
        if (timer.epoch !== this.epoch) return
        this.finishLeave(true, out)
        return
    }
  }

  /** False only when handleTimer would return at once (a probe answered, a round re-armed, stopped): runtimes drop it unfired. */
  timerIsLive(timer: SwimTimer): boolean {
    if (this.stopped) return false
    switch (timer.kind) {
      case 'probeTimeout':
      case 'probeDeadline':
      case 'relayTimeout':
        return this.prober.timerLive(timer.kind, timer.seqNo)
      case 'gossipTick':
        return timer.epoch === this.epoch && (timer.dueMs === undefined || timer.dueMs === this.gossipDueMs)
      default:
        return !('epoch' in timer) || timer.kind === 'suspicionTimeout' || timer.epoch === this.epoch
    }
  }

  // ------------------------------------------------------------------ gossip

  private gossip(nowMs: number, out: SwimOutbox): void {
    // Nothing to say: skip choosing targets (memberlist would stop at the first empty take anyway).
    if (this.queue.size === 0 && this.delegate?.getBroadcasts === undefined) return
    const targets = this.table.randomMembers(this.config.gossipNodes, (m) => {
      if (m.state === 'alive' || m.state === 'suspect') return true
      return m.state === 'dead' && nowMs - m.stateChangeMs <= this.config.gossipToTheDeadTimeMs
    })
    this.send.gossip(targets, out)
  }

  /** The piggyback source: our queue first, then the delegate's user messages (each prefixed with type byte 8). */
  private takeBroadcasts(overhead: number, limit: number, out: SwimOutbox, dest: Member | undefined, riding: boolean): Uint8Array[] {
    const parts = this.queue.take(overhead, limit, retransmitLimit(this.config.retransmitMult, this.table.carried))
    // Our own leave broadcast may have just been retired by this take.
    if (this.leaveBroadcastSent && !this.leaveDone) this.finishLeave(false, out)
    if (this.delegate?.getBroadcasts) {
      let used = 0
      for (const p of parts) used += p.length + overhead
      const user = this.delegate.getBroadcasts(overhead + USER_MSG_OVERHEAD, limit - used, dest?.name, riding)
      for (const u of user) {
        const framed = new Uint8Array(u.length + 1)
        framed[0] = 8
        framed.set(u, 1)
        parts.push(framed)
      }
    }
    return parts
  }

  /** Queues a broadcast, and wakes idle gossip rounds at the next tick of their original cadence. */
  private enqueue(name: string, bytes: Uint8Array, nowMs: number, out: SwimOutbox, onDone?: (reason: 'sent' | 'replaced' | 'dropped') => void): void {
    this.queue.queue(name, bytes, onDone)
    this.wakeGossip(nowMs, out)
  }

  /**
   * When the next gossip round is wanted: at the next tick while our queue holds anything, else when
   * the delegate says (its nextRoundMs; undefined: no round wanted). A delegate that piggybacks but
   * cannot say gets every round, as memberlist's gossip ticker does.
   */
  private gossipWantedAtMs(nowMs: number): number | undefined {
    if (this.queue.size > 0) return nowMs
    const d = this.delegate
    if (d?.nextRoundMs !== undefined) return d.nextRoundMs(nowMs)
    return d?.getBroadcasts !== undefined || d?.onGossipRound !== undefined ? nowMs : undefined
  }

  /**
   * Arms a gossip round at the first tick of the cadence after `nowMs` and at or after the time one is
   * wanted. The composed node calls this after every input, so whatever an input queued above SWIM (a
   * user event, a write, a rumor) wakes idle rounds without a round per tick. A round wanted later (a
   * quiet state round taken on a ride) moves the armed one, which the runtime then drops (timerIsLive).
   */
  wakeGossip(nowMs: number, out: SwimOutbox): void {
    if (!this.started || this.stopped) return
    const wanted = this.gossipWantedAtMs(nowMs)
    if (wanted === undefined) return
    const interval = this.config.gossipIntervalMs
    const ticks = Math.max(Math.floor((nowMs - this.gossipPhaseMs) / interval) + 1, Math.ceil((wanted - this.gossipPhaseMs) / interval))
    let next = this.gossipPhaseMs + ticks * interval
    // Floating point: with a fractional phase, (now - phase) / interval can land a hair under a whole tick,
    // and the round would be armed at `now` itself, again and again. The next round is always later.
    while (next <= nowMs) next += interval
    if (next === this.gossipDueMs) return
    // Later only when what is wanted moved past the armed round, never putting off one already due.
    if (next > this.gossipDueMs && (this.gossipDueMs <= nowMs || wanted <= this.gossipDueMs)) return
    this.gossipDueMs = next
    out.schedule({ kind: 'gossipTick', epoch: this.epoch, dueMs: next }, next - nowMs)
  }

  // ------------------------------------------------------------------ leave and reaping

  private finishLeave(timedOut: boolean, out: SwimOutbox): void {
    if (this.leaveDone) return
    this.leaveDone = true
    out.emit({ type: 'leaveCompleted', timedOut })
  }

  private reap(nowMs: number, out: SwimOutbox): void {
    for (const m of this.table.down) {
      const limit = m.state === 'dead' ? this.config.reconnectTimeoutMs : m.state === 'left' ? this.config.tombstoneTimeoutMs : undefined
      if (limit === undefined || nowMs - m.stateChangeMs <= limit) continue
      this.forget(m, out)
    }
  }

  /** Removes a failed or left member from the table and the probe list: `reaped`. */
  private forget(m: Member, out: SwimOutbox): void {
    this.table.remove(m)
    out.emit({ type: 'reaped', member: snapshot(m) })
  }

  // ------------------------------------------------------------------ helpers

  private vsnArray(): Uint8Array {
    const [dMin, dMax, dCur] = this.config.delegateVersions
    return Uint8Array.of(1, 5, this.config.protocolVersion, dMin, dMax, dCur)
  }

  /** Input that could not be decoded: counted by reason, then dropped like any other rejection. */
  private undecodable(err: DecodeError, from: Address, out: SwimOutbox): void {
    this.stats.decodeError(err.reason)
    this.dropped(err.reason, from, out, err.message)
  }

  private dropped(reason: DropReason, from: Address, out: SwimOutbox, detail?: string): void {
    this.stats.drop(reason)
    out.emit({ type: 'dropped', reason, from, detail })
  }
}
