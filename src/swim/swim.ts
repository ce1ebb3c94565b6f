/**
 * Swim: SWIM membership with the Lifeguard extensions, as memberlist 0.2.2 implements it, as a pure
 * state machine. Every input carries `nowMs` and an Outbox; nothing here touches a socket, a timer,
 * the clock or a random source of its own.
 *
 * Probe cycle (one target per probe interval, round-robin over a shuffled list):
 *
 *   us ──ping(seq)────────────────▶ target            (+ piggybacked broadcasts; buddy suspect if suspect)
 *   us ◀──────────────────ack(seq)── target           → success, health −1
 *   … probeTimeout without ack:
 *   us ──indirectPing(seq, nack)──▶ k helpers ──ping──▶ target
 *   us ◀──ack(seq) or nack(seq)──── helpers            (a nack says "the helper is fine, the target is not")
 *   us ══TCP ping═════════════════▶ target            (fallback, when the target speaks protocol ≥ 3)
 *   … scaled deadline without any ack: suspect(target, from: us), health + missing nacks
 *
 * Dissemination: every state change is queued as a named broadcast (a newer one about the same node
 * replaces the older) and piggybacked on pings, acks and gossip rounds until its transmit limit.
 * Anti-entropy: push-pull of the whole table over a stream, periodically and on join.
 */
import type { Outbox, StreamResult } from '../core/effects.js'
import type { Rng } from '../core/rng.js'
import type { Address } from '../core/types.js'
import { addressKey, ipToBytes, sameAddress } from '../core/types.js'
import { assert } from '../core/assert.js'
import {
  decodePacket,
  decodeStream,
  encodeCompound,
  encodeCompress,
  encodeMessage,
  encodeStream,
} from '../wire/codec.js'
import { addCrc } from '../wire/crc32.js'
import type { DecodeError } from '../wire/decode-error.js'
import type {
  AckMsg,
  AliveMsg,
  DeadMsg,
  IndirectPingMsg,
  NackMsg,
  PacketMessage,
  PingMsg,
  PushNodeState,
  PushPullMsg,
  SuspectMsg,
  WireStateNumber,
} from '../wire/messages.js'
import { Awareness } from './awareness.js'
import { BroadcastQueue } from './broadcast-queue.js'
import type { SwimConfig } from './config.js'
import type { SwimDelegate } from './delegate.js'
import type { MemberInfo, MemberState, SuspicionSource, SwimEvent } from './events.js'
import { expectedConfirmations, pushPullScaleMs, retransmitLimit, suspicionTimeoutMs } from './formulas.js'
import type { Member } from './member.js'
import { EMPTY, addressFromWire, bytesEqual, internAddress, internVsn, isDeadOrLeft, protocolMax, snapshot } from './member.js'
import { SwimStats } from './stats.js'
import { Suspicion } from './suspicion.js'
import type { SwimTimer } from './timers.js'

export type SwimOutbox = Outbox<SwimTimer, SwimEvent>

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
}

/** Largest node metadata memberlist accepts (MetaMaxSize). */
export const META_MAX_BYTES = 512
const COMPOUND_HEADER_OVERHEAD = 2
const COMPOUND_PART_OVERHEAD = 2
const USER_MSG_OVERHEAD = 1
/** Packets shorter than this are never smaller after LZW plus its wrapper; skip the attempt. */
const COMPRESS_MIN_BYTES = 96
/** memberlist 0.2.2 misparses compounds of more than 127 parts. */
const MAX_COMPOUND_PARTS = 127
/**
 * LZW as the Go that builds Debian's serf 0.9.4 (1.19) writes it: a clear code first. The spec's
 * section 6 describes the older writer without it; both decode everywhere, this one is byte-identical
 * to what serf sends (checked against Go output in test/wire/golden.ts).
 */
const GO_LZW = { leadingClear: true } as const
/** Fraction of the probe timeout an indirect-probe helper waits before sending a nack (Lifeguard paper). */
const NACK_TIMEOUT_FRACTION = 0.8

interface ProbeState {
  readonly seqNo: number
  readonly target: Member
  readonly startMs: number
  /** Start + the probe interval scaled by local health at the start. */
  readonly deadlineMs: number
  expectedNacks: number
  nacks: number
  indirectSent: boolean
}

interface RelayState {
  readonly requester: Address
  readonly requesterSeqNo: number
  readonly nack: boolean
}

type Exchange =
  | { readonly kind: 'join'; readonly joinId: number; readonly seed: Address }
  | { readonly kind: 'pushPull'; readonly peer: string }
  | { readonly kind: 'reconnect'; readonly peer: string }
  | { readonly kind: 'tcpPing'; readonly seqNo: number }
  | { readonly kind: 'userMessage' }

interface JoinState {
  pending: number
  contacted: number
  readonly errors: string[]
}

export class Swim {
  readonly name: string
  readonly address: Address
  readonly config: SwimConfig
  readonly stats = new SwimStats()

  private readonly rng: Rng
  private readonly delegate: SwimDelegate | undefined
  private readonly self: Member
  private readonly table = new Map<string, Member>()
  /** memberlist's node list: every member the protocol still carries, in probe order. */
  private probeList: Member[] = []
  private probeIndex = 0
  /** Counts of members by state among those not forgotten (self included). */
  private carried = 0
  private readonly awareness: Awareness
  private readonly queue = new BroadcastQueue()
  private readonly suspicions = new Map<string, Suspicion>()
  private readonly probes = new Map<number, ProbeState>()
  private readonly relays = new Map<number, RelayState>()
  private readonly exchanges = new Map<number, Exchange>()
  private readonly joins = new Map<number, JoinState>()
  private readonly seeds: Address[] = []
  private seqNo = 0
  private exchangeSeq = 0
  private joinSeq = 0
  private suspicionEpoch = 0
  /** Bumped by shutdown(): every periodic timer of an older epoch is ignored. */
  private epoch = 0
  private started = false
  private leaving = false
  private readonly startIncarnation: number
  private leaveDone = false
  /** Gossip rounds run at gossipPhaseMs + k × gossipIntervalMs; scheduled only while there is something to send. */
  private gossipPhaseMs = 0
  private gossipScheduled = false
  /** Members other than ourselves that are dead or left: what reap and reconnect look at. */
  private readonly down = new Set<Member>()
  /** Bumped on every change the push-pull state shows; keys the encoded-state cache. */
  private tableVersion = 0
  private encodedState: { readonly version: number; readonly bytes: Uint8Array } | undefined
  private encodedJoinState: { readonly version: number; readonly bytes: Uint8Array } | undefined
  /** Set when our own left broadcast reached its transmit limit (or was replaced). */
  private leaveBroadcastSent = false
  private stopped = false

  constructor(opts: SwimOptions) {
    this.name = opts.name
    this.address = opts.address
    this.config = opts.config
    this.rng = opts.rng
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
    for (const s of opts.seeds ?? []) this.addSeed(s)
    const inc = opts.incarnation ?? 1
    assert(Number.isInteger(inc) && inc >= 1 && inc <= 0xffffffff, `incarnation ${inc} is not an integer in 1..2^32-1`)
    this.startIncarnation = inc
  }

  // ------------------------------------------------------------------ public surface

  get healthScore(): number {
    return this.awareness.score
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
    return this.carried
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
    this.table.set(this.name, this.self)
    this.insertMember(this.self)
    const c = this.config
    const e = this.epoch
    out.schedule({ kind: 'probeTick', epoch: e }, this.rng.int(c.probeIntervalMs))
    const gossipStagger = this.rng.int(c.gossipIntervalMs)
    this.gossipPhaseMs = nowMs + gossipStagger
    this.gossipScheduled = true
    out.schedule({ kind: 'gossipTick', epoch: e }, gossipStagger)
    if (c.pushPullIntervalMs > 0) out.schedule({ kind: 'pushPullTick', epoch: e }, this.rng.int(c.pushPullIntervalMs))
    if (c.reconnectIntervalMs > 0) out.schedule({ kind: 'reconnectTick', epoch: e }, this.rng.int(c.reconnectIntervalMs))
    out.schedule({ kind: 'reapTick', epoch: e }, c.reapIntervalMs)
    // Our own alive, queued for gossip (after the gossip cadence is set up).
    this.aliveNode(this.aliveOf(this.self, this.startIncarnation), nowMs, out, true)
  }

  /**
   * Joins through the given addresses with a push-pull each (join flag set); one answer is enough.
   * Emits `joinCompleted` when every attempt has finished. Returns the join id.
   */
  join(seeds: readonly Address[], nowMs: number, out: SwimOutbox): number {
    assert(this.started, 'join() before start()')
    const joinId = ++this.joinSeq
    const targets = seeds.filter((s) => !sameAddress(s, this.address))
    for (const s of targets) this.addSeed(s)
    const state: JoinState = { pending: targets.length, contacted: 0, errors: [] }
    this.joins.set(joinId, state)
    if (targets.length === 0) {
      this.finishJoin(joinId, out)
      return joinId
    }
    const request = this.encodeLocalState(true)
    for (const seed of targets) {
      const id = ++this.exchangeSeq
      this.exchanges.set(id, { kind: 'join', joinId, seed })
      this.stats.pushPullsInitiated++
      this.sendStream(seed, 'pushPull', request, id, true, out)
    }
    void nowMs
    return joinId
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
    const anyoneAlive = this.probeList.some((m) => m !== this.self && m.state === 'alive')
    const msg: DeadMsg = { type: 'dead', incarnation: this.self.incarnation, node: this.name, from: this.name }
    this.deadNode(msg, nowMs, out, 'gossip', anyoneAlive)
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
      this.tableVersion++
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
    const alive: AliveMsg = { ...this.aliveOf(this.self, this.self.incarnation + 1), meta }
    this.aliveNode(alive, nowMs, out, true)
  }

  /** Sends a user message best-effort by UDP (memberlist SendBestEffort). */
  sendUserPacket(to: Address, payload: Uint8Array, out: SwimOutbox): void {
    const bytes = new Uint8Array(payload.length + 1)
    bytes[0] = 8
    bytes.set(payload, 1)
    this.sendRaw(to, bytes, this.memberAt(to), out, 'user')
  }

  /** Sends a user message reliably over a stream (memberlist SendReliable). */
  sendUserStream(to: Address, payload: Uint8Array, out: SwimOutbox): void {
    const id = ++this.exchangeSeq
    this.exchanges.set(id, { kind: 'userMessage' })
    this.sendStream(to, 'userStream', encodeStream({ type: 'userStream', payload }, { compress: this.config.enableCompression, ...GO_LZW }), id, false, out)
  }

  // ------------------------------------------------------------------ inputs

  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: SwimOutbox): void {
    if (this.stopped) return
    this.stats.packetsIn++
    this.stats.bytesIn += bytes.length
    const { messages, sizes, errors } = decodePacket(bytes)
    for (const err of errors) this.undecodable(err, from, out)
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]
      this.stats.countIn(msg.type, sizes[i])
      switch (msg.type) {
        case 'ping':
          this.handlePing(msg, from, out)
          break
        case 'indirectPing':
          this.handleIndirectPing(msg, from, nowMs, out)
          break
        case 'ack':
          this.handleAck(msg, nowMs, out)
          break
        case 'nack':
          this.handleNack(msg)
          break
        case 'alive':
          this.aliveNode(msg, nowMs, out, false, from)
          break
        case 'suspect':
          this.suspectNode(msg, nowMs, out, 'gossip')
          break
        case 'dead':
          this.deadNode(msg, nowMs, out, 'gossip')
          break
        case 'user':
          this.delegate?.notifyUserMessage?.(msg.payload, undefined)
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
        return this.streamReply('err', encodeStream({ type: 'err', error: `Failed to read stream: ${decoded.error.message}` }, { compress: false }))
      }
      return null
    }
    const msg = decoded.value
    this.stats.streamIn(msg.type, bytes.length)
    switch (msg.type) {
      case 'pushPull': {
        this.stats.pushPullsServed++
        const reply = this.encodeLocalState(msg.join)
        this.mergeRemoteState(msg, nowMs, out, from)
        return this.streamReply('pushPull', reply)
      }
      case 'ping':
        if (msg.node !== '' && msg.node !== this.name) {
          this.dropped('wrong-node', from, out, `stream ping for ${msg.node}`)
          return null
        }
        return this.streamReply('ack', encodeStream({ type: 'ack', seqNo: msg.seqNo, payload: null }, { compress: this.config.enableCompression, ...GO_LZW }))
      case 'userStream':
        this.delegate?.notifyUserMessage?.(msg.payload, this.memberAt(from)?.name)
        return null
      case 'ack':
      case 'err':
        this.dropped('unexpected-stream-message', from, out, msg.type)
        return null
    }
  }

  handleStreamReply(exchangeId: number, result: StreamResult, nowMs: number, out: SwimOutbox): void {
    const ex = this.exchanges.get(exchangeId)
    if (ex === undefined) return
    this.exchanges.delete(exchangeId)
    if (this.stopped) return
    if (!result.ok) this.stats.streamErrors++
    else this.stats.streamBytesIn += result.bytes.length
    switch (ex.kind) {
      case 'join': {
        const join = this.joins.get(ex.joinId)
        if (join === undefined) return
        const error = this.handlePushPullReply(result, nowMs, out, ex.seed)
        if (error === undefined) join.contacted++
        else join.errors.push(`${addressKey(ex.seed)}: ${error}`)
        join.pending--
        if (join.pending === 0) this.finishJoin(ex.joinId, out)
        return
      }
      case 'pushPull':
      case 'reconnect': {
        const peer = this.table.get(ex.peer)
        this.handlePushPullReply(result, nowMs, out, peer?.address ?? this.address)
        return
      }
      case 'tcpPing': {
        const probe = this.probes.get(ex.seqNo)
        if (probe === undefined || !result.ok) return
        const decoded = decodeStream(result.bytes)
        if (!decoded.ok) this.undecodable(decoded.error, probe.target.address, out)
        else this.stats.streamIn(decoded.value.type, result.bytes.length)
        if (decoded.ok && decoded.value.type === 'ack' && decoded.value.seqNo === ex.seqNo) {
          this.stats.tcpFallbackSuccesses++
          this.finishProbe(probe, true, nowMs, out, null, 0)
        }
        return
      }
      case 'userMessage':
        return
    }
  }

  handleTimer(timer: SwimTimer, nowMs: number, out: SwimOutbox): void {
    if (this.stopped) return
    switch (timer.kind) {
      case 'probeTick':
        if (timer.epoch !== this.epoch || this.leaving) return
        this.probeTick(nowMs, out)
        return
      case 'probeTimeout':
        this.probeTimeout(timer.seqNo, nowMs, out)
        return
      case 'probeDeadline':
        this.probeDeadline(timer.seqNo, nowMs, out)
        return
      case 'relayTimeout': {
        const relay = this.relays.get(timer.seqNo)
        if (relay === undefined) return
        this.relays.delete(timer.seqNo)
        if (relay.nack) this.sendMessage(relay.requester, { type: 'nack', seqNo: relay.requesterSeqNo }, undefined, out, false)
        return
      }
      case 'suspicionTimeout':
        this.suspicionTimeout(timer, nowMs, out)
        return
      case 'gossipTick':
        if (timer.epoch !== this.epoch) return
        this.gossipScheduled = false
        this.gossip(nowMs, out)
        // Idle while there is nothing to send; enqueue() wakes the rounds on the same cadence.
        if (this.queue.size > 0 || this.delegate?.getBroadcasts !== undefined) {
          this.gossipScheduled = true
          out.schedule({ kind: 'gossipTick', epoch: this.epoch }, this.config.gossipIntervalMs)
        }
        return
      case 'pushPullTick':
        if (timer.epoch !== this.epoch) return
        out.schedule({ kind: 'pushPullTick', epoch: this.epoch }, pushPullScaleMs(this.config.pushPullIntervalMs, this.carried))
        if (!this.leaving) this.periodicPushPull(out)
        return
      case 'reconnectTick':
        if (timer.epoch !== this.epoch) return
        out.schedule({ kind: 'reconnectTick', epoch: this.epoch }, this.config.reconnectIntervalMs)
        if (!this.leaving) this.reconnect(out)
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

  // ------------------------------------------------------------------ probing

  private probeTick(nowMs: number, out: SwimOutbox): void {
    // The next tick waits for the scaled interval: a node in poor health probes (and accuses) slower.
    out.schedule({ kind: 'probeTick', epoch: this.epoch }, this.scaled(this.config.probeIntervalMs))
    const target = this.nextProbeTarget(nowMs)
    if (target === undefined) return
    const seqNo = this.nextSeqNo()
    const probe: ProbeState = {
      seqNo,
      target,
      startMs: nowMs,
      deadlineMs: nowMs + this.scaled(this.config.probeIntervalMs),
      expectedNacks: 0,
      nacks: 0,
      indirectSent: false,
    }
    this.probes.set(seqNo, probe)
    this.stats.probes++
    const ping: PingMsg = { type: 'ping', seqNo, node: target.name, ...this.sourceFields() }
    if (target.state === 'suspect' && this.config.lifeguard) {
      // Buddy system: tell the suspect directly so it can refute; no other piggyback.
      const suspect: SuspectMsg = { type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.name }
      const parts = [encodeMessage(ping), encodeMessage(suspect)]
      this.countParts(parts)
      this.sendRaw(target.address, encodeCompound(parts), target, out, undefined)
    } else {
      this.sendMessage(target.address, ping, target, out, true)
    }
    // The deadline is scheduled only if the probe goes indirect (most acks come first).
    out.schedule({ kind: 'probeTimeout', seqNo }, this.config.probeTimeoutMs)
  }

  /** Round-robin over the probe list; a full pass drops long-dead members and reshuffles (memberlist resetNodes). */
  private nextProbeTarget(nowMs: number): Member | undefined {
    for (let checked = 0; checked <= this.probeList.length; checked++) {
      if (this.probeIndex >= this.probeList.length) {
        this.resetProbeList(nowMs)
        this.probeIndex = 0
        if (this.probeList.length === 0) return undefined
      }
      const m = this.probeList[this.probeIndex++]
      if (m === this.self || isDeadOrLeft(m.state)) continue
      return m
    }
    return undefined
  }

  private resetProbeList(nowMs: number): void {
    const keep: Member[] = []
    for (const m of this.probeList) {
      if (isDeadOrLeft(m.state) && m !== this.self && nowMs - m.stateChangeMs > this.config.gossipToTheDeadTimeMs) {
        m.forgotten = true
        this.carried--
        continue
      }
      keep.push(m)
    }
    this.probeList = this.rng.shuffle(keep)
    this.tableVersion++
  }

  private probeTimeout(seqNo: number, nowMs: number, out: SwimOutbox): void {
    const probe = this.probes.get(seqNo)
    if (probe === undefined || probe.indirectSent) return
    probe.indirectSent = true
    const overdue = nowMs >= probe.deadlineMs
    if (!overdue) out.schedule({ kind: 'probeDeadline', seqNo }, probe.deadlineMs - nowMs)
    const target = probe.target
    const helpers = this.randomMembers(this.config.indirectChecks, (m) => m.state === 'alive' && m !== target)
    for (const helper of helpers) {
      const nack = this.config.lifeguard && protocolMax(helper.vsn) >= 4
      if (nack) probe.expectedNacks++
      const req: IndirectPingMsg = {
        type: 'indirectPing',
        seqNo,
        target: target.addr,
        port: target.address.port,
        node: target.name,
        nack,
        ...this.sourceFields(),
      }
      this.stats.indirectProbesSent++
      this.sendMessage(helper.address, req, helper, out, true)
    }
    if (!this.config.disableTcpPings && protocolMax(target.vsn) >= 3) {
      const id = ++this.exchangeSeq
      this.exchanges.set(id, { kind: 'tcpPing', seqNo })
      this.stats.tcpFallbackProbes++
      const remaining = Math.max(1, probe.deadlineMs - nowMs)
      const ping: PingMsg = { type: 'ping', seqNo, node: target.name, ...this.sourceFields() }
      this.sendStream(target.address, 'ping', encodeStream(ping, { compress: this.config.enableCompression, ...GO_LZW }), id, true, out, remaining)
    }
    // Woken past the deadline (a paused or starved process): the deadline is due too, and like any due
    // timer it runs before the packets that queued up meanwhile (as two separate timers would).
    if (overdue) this.probeDeadline(seqNo, nowMs, out)
  }

  private probeDeadline(seqNo: number, nowMs: number, out: SwimOutbox): void {
    const probe = this.probes.get(seqNo)
    if (probe === undefined) return
    // Missing nacks mean the trouble may be ours (Lifeguard); with no nack expected, count one.
    const delta = probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacks : 1
    this.finishProbe(probe, false, nowMs, out, null, delta)
    const target = probe.target
    if (target.state !== 'alive' && target.state !== 'suspect') return
    this.stats.probeFailures++
    const msg: SuspectMsg = { type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.name }
    this.suspectNode(msg, nowMs, out, 'probe')
  }

  private finishProbe(
    probe: ProbeState,
    success: boolean,
    nowMs: number,
    out: SwimOutbox,
    payload: Uint8Array | null,
    healthDelta: number,
  ): void {
    this.probes.delete(probe.seqNo)
    if (success) this.delegate?.notifyPingComplete?.(snapshot(probe.target), nowMs - probe.startMs, payload)
    this.applyHealth(healthDelta, out)
  }

  private handlePing(msg: PingMsg, from: Address, out: SwimOutbox): void {
    if (msg.node !== '' && msg.node !== this.name) {
      this.dropped('wrong-node', from, out, `ping for ${msg.node}`)
      return
    }
    const to = this.replyAddress(msg.sourceAddr, msg.sourcePort, from)
    const payload = this.delegate?.ackPayload?.() ?? null
    const dest = msg.sourceNode !== undefined ? this.table.get(msg.sourceNode) : undefined
    this.sendMessage(to, { type: 'ack', seqNo: msg.seqNo, payload }, dest, out, true)
  }

  private handleIndirectPing(msg: IndirectPingMsg, from: Address, nowMs: number, out: SwimOutbox): void {
    const target = internAddress(msg.target, msg.port === 0 ? this.address.port : msg.port)?.address
    if (target === undefined) {
      this.dropped('bad-field', from, out, 'indirect ping target address')
      return
    }
    const requester = this.replyAddress(msg.sourceAddr, msg.sourcePort, from)
    const seqNo = this.nextSeqNo()
    this.relays.set(seqNo, { requester, requesterSeqNo: msg.seqNo, nack: msg.nack })
    this.stats.indirectProbesRelayed++
    const ping: PingMsg = { type: 'ping', seqNo, node: msg.node, ...this.sourceFields() }
    this.sendMessage(target, ping, this.table.get(msg.node), out, true)
    // Lifeguard sends the nack at 80% of the probe timeout so that it reaches the requester before the
    // requester's deadline (memberlist 0.2.2 waits the full timeout, and its nacks then race the
    // deadline and mostly lose, charging healthy probers for the target's failure).
    out.schedule({ kind: 'relayTimeout', seqNo }, Math.floor(this.config.probeTimeoutMs * NACK_TIMEOUT_FRACTION))
    void nowMs
  }

  private handleAck(msg: AckMsg, nowMs: number, out: SwimOutbox): void {
    this.stats.acksReceived++
    const probe = this.probes.get(msg.seqNo)
    if (probe !== undefined) {
      this.finishProbe(probe, true, nowMs, out, msg.payload, -1)
      return
    }
    const relay = this.relays.get(msg.seqNo)
    if (relay !== undefined) {
      this.relays.delete(msg.seqNo)
      this.sendMessage(relay.requester, { type: 'ack', seqNo: relay.requesterSeqNo, payload: null }, undefined, out, true)
    }
  }

  private handleNack(msg: NackMsg): void {
    this.stats.nacksReceived++
    const probe = this.probes.get(msg.seqNo)
    if (probe !== undefined) probe.nacks++
  }

  // ------------------------------------------------------------------ state changes (the lattice)

  /** memberlist aliveNode. `bootstrap` marks our own alive at start or on a meta update. */
  private aliveNode(msg: AliveMsg, nowMs: number, out: SwimOutbox, bootstrap: boolean, from?: Address): void {
    const isSelf = msg.node === this.name
    if (isSelf && this.leaving) return
    const known = this.table.get(msg.node)
    if (
      known !== undefined && !isSelf && !known.forgotten && msg.incarnation <= known.incarnation &&
      known.address.port === (msg.port === 0 ? this.address.port : msg.port) && bytesEqual(known.addr, msg.addr)
    ) {
      return // Old news, the common case in push-pull merges: nothing to check or convert.
    }
    const vsn = msg.vsn
    if (vsn.length !== 6 || vsn[0] === 0 || vsn[1] === 0 || vsn[0] > vsn[1]) {
      this.dropped('bad-vsn', from ?? this.address, out, `alive ${msg.node}`)
      return
    }
    const interned = internAddress(msg.addr, msg.port === 0 ? this.address.port : msg.port)
    if (interned === undefined) {
      this.dropped('bad-field', from ?? this.address, out, `alive ${msg.node} address`)
      return
    }
    const address = interned.address
    const vsnShared = internVsn(msg.vsn)
    let m = this.table.get(msg.node)
    const candidate = (): MemberInfo => ({
      name: msg.node,
      address,
      state: 'alive',
      incarnation: msg.incarnation,
      meta: msg.meta ?? EMPTY,
      vsn: msg.vsn,
      stateChangeMs: nowMs,
    })
    if (!isSelf && this.delegate?.notifyAlive) {
      const reason = this.delegate.notifyAlive(candidate())
      if (reason !== undefined) {
        this.dropped('rejected-by-delegate', from ?? address, out, reason)
        return
      }
    }
    let fresh = false
    if (m === undefined || m.forgotten) {
      fresh = true
      if (m === undefined) {
        m = {
          name: msg.node,
          address,
          addr: interned.addr,
          state: 'dead',
          incarnation: 0,
          meta: EMPTY,
          vsn: vsnShared,
          stateChangeMs: nowMs,
          forgotten: true,
        }
        this.table.set(m.name, m)
      }
    }
    let addressChanged = false
    if (!sameAddress(m.address, address)) {
      const reclaimable =
        fresh ||
        m.state === 'left' ||
        (m.state === 'dead' && this.config.deadNodeReclaimTimeMs > 0 && nowMs - m.stateChangeMs > this.config.deadNodeReclaimTimeMs)
      if (!reclaimable || isSelf) {
        this.delegate?.notifyConflict?.(snapshot(m), candidate())
        this.dropped('conflict', from ?? address, out, `${msg.node} claimed from ${addressKey(address)}, known at ${addressKey(m.address)}`)
        return
      }
      addressChanged = !fresh
    }
    if (!isSelf) {
      if (!fresh && !addressChanged && msg.incarnation <= m.incarnation) return
    } else if (msg.incarnation < m.incarnation) {
      return
    }
    this.suspicions.delete(m.name)
    if (isSelf && !bootstrap) {
      if (msg.incarnation === m.incarnation && bytesEqual(msg.meta, m.meta) && bytesEqual(msg.vsn, m.vsn)) return
      this.refute(msg.incarnation, 'alive', nowMs, out)
      return
    }
    this.enqueue(m.name, encodeMessage(msg), nowMs, out)
    const oldState = m.state
    const wasFresh = fresh
    const metaChanged = !bytesEqual(m.meta, msg.meta)
    m.incarnation = msg.incarnation
    m.meta = msg.meta === null || msg.meta.length === 0 ? EMPTY : msg.meta
    m.vsn = vsnShared
    m.address = address
    m.addr = interned.addr
    this.tableVersion++
    if (m.forgotten) {
      m.forgotten = false
      this.insertMember(m)
    }
    if (m.state !== 'alive') {
      m.state = 'alive'
      m.stateChangeMs = nowMs
    }
    this.down.delete(m)
    if (isSelf) {
      if (wasFresh || oldState !== 'alive') out.emit({ type: 'joined', member: snapshot(m) })
      else if (metaChanged) out.emit({ type: 'updated', member: snapshot(m) })
      return
    }
    if (wasFresh || isDeadOrLeft(oldState)) out.emit({ type: 'joined', member: snapshot(m) })
    else if (oldState === 'suspect') out.emit({ type: 'alive', member: snapshot(m) })
    else if (metaChanged || addressChanged) out.emit({ type: 'updated', member: snapshot(m) })
  }

  /** memberlist suspectNode. */
  private suspectNode(msg: SuspectMsg, nowMs: number, out: SwimOutbox, via: SuspicionSource): void {
    const m = this.table.get(msg.node)
    if (m === undefined || m.forgotten || msg.incarnation < m.incarnation) return
    const existing = this.suspicions.get(m.name)
    if (existing !== undefined) {
      const remaining = existing.confirm(msg.from, nowMs)
      if (remaining !== undefined) {
        existing.epoch = ++this.suspicionEpoch
        this.enqueue(m.name, encodeMessage(msg), nowMs, out)
        out.schedule(
          { kind: 'suspicionTimeout', member: m.name, incarnation: existing.incarnation, epoch: existing.epoch },
          Math.max(0, remaining),
        )
      }
      return
    }
    if (m.state !== 'alive') return
    if (m === this.self) {
      if (!this.leaving) this.refute(msg.incarnation, 'suspect', nowMs, out)
      return
    }
    this.enqueue(m.name, encodeMessage(msg), nowMs, out)
    m.state = 'suspect'
    m.incarnation = msg.incarnation
    m.stateChangeMs = nowMs
    this.tableVersion++
    if (via === 'probe') this.stats.suspicionsRaised++
    const c = this.config
    const n = this.carried
    const minMs = suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs)
    const k = c.lifeguard ? expectedConfirmations(c.suspicionMult, n) : 0
    const maxMs = c.lifeguard ? c.suspicionMaxTimeoutMult * minMs : minMs
    const s = new Suspicion(m.name, msg.incarnation, msg.from, nowMs, k, minMs, maxMs, ++this.suspicionEpoch)
    this.suspicions.set(m.name, s)
    out.schedule({ kind: 'suspicionTimeout', member: m.name, incarnation: msg.incarnation, epoch: s.epoch }, s.initialTimeoutMs())
    out.emit({ type: 'suspected', member: snapshot(m), from: msg.from, via })
  }

  private suspicionTimeout(timer: Extract<SwimTimer, { kind: 'suspicionTimeout' }>, nowMs: number, out: SwimOutbox): void {
    const s = this.suspicions.get(timer.member)
    if (s === undefined || s.epoch !== timer.epoch) return
    const m = this.table.get(timer.member)
    if (m === undefined || m.state !== 'suspect' || m.incarnation !== timer.incarnation) return
    this.stats.deathsDeclared++
    this.deadNode({ type: 'dead', incarnation: timer.incarnation, node: m.name, from: this.name }, nowMs, out, 'timeout')
  }

  /** memberlist deadNode. `from === node` means the node left. */
  private deadNode(msg: DeadMsg, nowMs: number, out: SwimOutbox, via: SuspicionSource, awaitDelivery = false): void {
    const m = this.table.get(msg.node)
    if (m === undefined || m.forgotten || msg.incarnation < m.incarnation) return
    this.suspicions.delete(m.name)
    if (isDeadOrLeft(m.state)) return
    const encoded = encodeMessage(msg)
    if (m === this.self) {
      if (!this.leaving) {
        this.refute(msg.incarnation, 'dead', nowMs, out)
        return
      }
      // Our own leave: broadcast it and learn when it has gone out.
      this.enqueue(m.name, encoded, nowMs, out, awaitDelivery ? () => { this.leaveBroadcastSent = true } : undefined)
      m.state = 'left'
      m.stateChangeMs = nowMs
      this.tableVersion++
      out.emit({ type: 'left', member: snapshot(m) })
      return
    }
    this.enqueue(m.name, encoded, nowMs, out)
    m.incarnation = msg.incarnation
    m.state = msg.from === msg.node ? 'left' : 'dead'
    m.stateChangeMs = nowMs
    this.down.add(m)
    this.tableVersion++
    if (m.state === 'left') out.emit({ type: 'left', member: snapshot(m) })
    else out.emit({ type: 'failed', member: snapshot(m), from: msg.from, via })
  }

  /** memberlist refute: jump past the accusation and broadcast our alive. */
  private refute(accusedIncarnation: number, accusation: 'suspect' | 'dead' | 'alive' | 'state', nowMs: number, out: SwimOutbox): void {
    let inc = this.self.incarnation + 1
    if (accusedIncarnation >= inc) inc = accusedIncarnation + 1
    this.self.incarnation = inc
    this.tableVersion++
    this.stats.refutations++
    this.applyHealth(1, out)
    this.enqueue(this.name, encodeMessage(this.aliveOf(this.self, inc)), nowMs, out)
    out.emit({ type: 'refuted', incarnation: inc, accusation })
    void nowMs
  }

  // ------------------------------------------------------------------ gossip

  private gossip(nowMs: number, out: SwimOutbox): void {
    // Nothing to say: skip choosing targets (memberlist would stop at the first empty take anyway).
    if (this.queue.size === 0 && this.delegate?.getBroadcasts === undefined) return
    const targets = this.randomMembers(this.config.gossipNodes, (m) => {
      if (m.state === 'alive' || m.state === 'suspect') return true
      return m.state === 'dead' && nowMs - m.stateChangeMs <= this.config.gossipToTheDeadTimeMs
    })
    const limit = this.config.packetBytesBudget - COMPOUND_HEADER_OVERHEAD
    for (const target of targets) {
      const parts = this.takeBroadcasts(COMPOUND_PART_OVERHEAD, limit, out)
      if (parts.length === 0) return
      this.countParts(parts)
      this.sendParts(target.address, parts, target, out)
    }
  }

  /**
   * Sends parts as one packet, or as several compounds of at most 127 parts each (memberlist 0.2.2
   * misparses larger compounds; newer memberlist splits them the same way), so nothing taken is lost.
   */
  private sendParts(to: Address, parts: readonly Uint8Array[], dest: Member | undefined, out: SwimOutbox): void {
    if (parts.length === 1) {
      this.sendRaw(to, parts[0], dest, out, undefined)
      return
    }
    for (let i = 0; i < parts.length; i += MAX_COMPOUND_PARTS) {
      const chunk = parts.slice(i, i + MAX_COMPOUND_PARTS)
      this.sendRaw(to, chunk.length === 1 ? chunk[0] : encodeCompound(chunk), dest, out, undefined)
    }
  }

  private countParts(parts: readonly Uint8Array[]): void {
    for (const p of parts) this.stats.countOut(MESSAGE_NAMES[p[0]] ?? 'unknown', p.length)
  }

  /** Our queue first, then the delegate's user messages (each prefixed with type byte 8). */
  private takeBroadcasts(overhead: number, limit: number, out: SwimOutbox): Uint8Array[] {
    const parts = this.queue.take(overhead, limit, retransmitLimit(this.config.retransmitMult, this.carried))
    // Our own leave broadcast may have just been retired by this take.
    if (this.leaveBroadcastSent && !this.leaveDone) this.finishLeave(false, out)
    if (this.delegate?.getBroadcasts) {
      let used = 0
      for (const p of parts) used += p.length + overhead
      const user = this.delegate.getBroadcasts(overhead + USER_MSG_OVERHEAD, limit - used)
      for (const u of user) {
        const framed = new Uint8Array(u.length + 1)
        framed[0] = 8
        framed.set(u, 1)
        parts.push(framed)
      }
    }
    return parts
  }

  // ------------------------------------------------------------------ push-pull

  private periodicPushPull(out: SwimOutbox): void {
    const [peer] = this.randomMembers(1, (m) => m.state === 'alive')
    if (peer === undefined) return
    const id = ++this.exchangeSeq
    this.exchanges.set(id, { kind: 'pushPull', peer: peer.name })
    this.stats.pushPullsInitiated++
    this.sendStream(peer.address, 'pushPull', this.encodeLocalState(false), id, true, out)
  }

  /**
   * Serf's reconnect: with probability failed/alive, push-pull with a random failed member; and when a
   * seed address belongs to no alive member, try it, so the two sides of a long partition find each
   * other again even after they forgot each other.
   */
  private reconnect(out: SwimOutbox): void {
    const alive = this.table.size - 1 - this.down.size
    const failed: Member[] = []
    for (const m of this.down) if (m.state === 'dead') failed.push(m)
    if (failed.length > 0) {
      const p = alive === 0 ? 1 : failed.length / alive
      if (this.rng.float() < p) {
        const target = failed[this.rng.int(failed.length)]
        const id = ++this.exchangeSeq
        this.exchanges.set(id, { kind: 'reconnect', peer: target.name })
        this.stats.pushPullsInitiated++
        this.sendStream(target.address, 'pushPull', this.encodeLocalState(true), id, true, out)
      }
    }
    const orphanSeeds = this.seeds.filter((s) => {
      const m = this.memberAt(s)
      return m === undefined || isDeadOrLeft(m.state)
    })
    if (orphanSeeds.length > 0) {
      const seed = orphanSeeds[this.rng.int(orphanSeeds.length)]
      const joinId = ++this.joinSeq
      this.joins.set(joinId, { pending: 1, contacted: 0, errors: [] })
      const id = ++this.exchangeSeq
      this.exchanges.set(id, { kind: 'join', joinId, seed })
      this.stats.pushPullsInitiated++
      this.sendStream(seed, 'pushPull', this.encodeLocalState(true), id, true, out)
    }
  }

  /** Returns undefined on success, or the error text. */
  private handlePushPullReply(result: StreamResult, nowMs: number, out: SwimOutbox, peer: Address): string | undefined {
    if (!result.ok) return result.error
    const decoded = decodeStream(result.bytes)
    if (!decoded.ok) {
      this.undecodable(decoded.error, peer, out)
      return `bad reply: ${decoded.error.message}`
    }
    const msg = decoded.value
    this.stats.streamIn(msg.type, result.bytes.length)
    if (msg.type === 'err') return `remote error: ${msg.error}`
    if (msg.type !== 'pushPull') {
      this.dropped('unexpected-stream-message', peer, out, msg.type)
      return `unexpected reply ${msg.type}`
    }
    return this.mergeRemoteState(msg, nowMs, out, peer)
  }

  /** memberlist mergeRemoteState + mergeState. Returns a rejection reason, or undefined. */
  private mergeRemoteState(msg: PushPullMsg, nowMs: number, out: SwimOutbox, from: Address): string | undefined {
    const incompatible = this.verifyProtocol(msg.nodes)
    if (incompatible !== undefined) {
      this.stats.pushPullsRejected++
      this.dropped('incompatible-version', from, out, incompatible)
      return incompatible
    }
    if (msg.join && this.delegate?.notifyMerge) {
      const peers: MemberInfo[] = []
      for (const n of msg.nodes) {
        const address = addressFromWire(n.addr, n.port)
        if (address === undefined) continue
        peers.push({ name: n.name, address, state: WIRE_STATES[n.state], incarnation: n.incarnation, meta: n.meta ?? EMPTY, vsn: n.vsn, stateChangeMs: nowMs })
      }
      const reason = this.delegate.notifyMerge(peers)
      if (reason !== undefined) {
        this.stats.pushPullsRejected++
        this.dropped('rejected-by-delegate', from, out, reason)
        return reason
      }
    }
    for (const n of msg.nodes) {
      switch (n.state) {
        case 0:
          this.aliveNode(
            { type: 'alive', incarnation: n.incarnation, node: n.name, addr: n.addr, port: n.port, meta: n.meta, vsn: n.vsn },
            nowMs,
            out,
            false,
            from,
          )
          break
        case 3:
          this.deadNode({ type: 'dead', incarnation: n.incarnation, node: n.name, from: n.name }, nowMs, out, 'pushPull')
          break
        case 1:
        case 2:
          // A remote dead is only a suspicion here: we let the member refute before believing it.
          this.suspectNode({ type: 'suspect', incarnation: n.incarnation, node: n.name, from: this.name }, nowMs, out, 'pushPull')
          break
      }
    }
    if (msg.userState.length > 0) this.delegate?.mergeRemoteState?.(msg.userState, msg.join)
    return undefined
  }

  /** memberlist verifyProtocol: every alive node must speak a protocol every other one accepts. */
  private verifyProtocol(remote: readonly PushNodeState[]): string | undefined {
    let maxPMin = 0
    let minPMax = 255
    let maxDMin = 0
    let minDMax = 255
    const consider = (vsn: Uint8Array): void => {
      maxPMin = Math.max(maxPMin, vsn[0])
      minPMax = Math.min(minPMax, vsn[1])
      maxDMin = Math.max(maxDMin, vsn[3])
      minDMax = Math.min(minDMax, vsn[4])
    }
    for (const n of remote) if (n.state === 0 && n.vsn.length === 6) consider(n.vsn)
    for (const m of this.probeList) if (m.state === 'alive') consider(m.vsn)
    const check = (name: string, vsn: Uint8Array): string | undefined => {
      if (vsn.length !== 6) return `node ${name} sent no protocol versions`
      if (vsn[2] < maxPMin || vsn[2] > minPMax) return `node ${name} protocol version ${vsn[2]} is incompatible: [${maxPMin}, ${minPMax}]`
      if (vsn[5] < maxDMin || vsn[5] > minDMax) return `node ${name} delegate protocol version ${vsn[5]} is incompatible: [${maxDMin}, ${minDMax}]`
      return undefined
    }
    for (const n of remote) {
      const bad = check(n.name, n.vsn)
      if (bad !== undefined) return bad
    }
    for (const m of this.probeList) {
      if (m.state !== 'alive') continue
      const bad = check(m.name, m.vsn)
      if (bad !== undefined) return bad
    }
    return undefined
  }

  private encodeLocalState(join: boolean): Uint8Array {
    // The table changes rarely in a steady cluster, while a 1000-member state costs milliseconds to
    // encode and compress: reuse the bytes until the table changes (never with delegate state, which
    // may change without our knowing).
    const cacheable = this.delegate?.localState === undefined
    const cached = join ? this.encodedJoinState : this.encodedState
    if (cacheable && cached !== undefined && cached.version === this.tableVersion) return cached.bytes
    const bytes = this.encodeLocalStateUncached(join)
    if (cacheable) {
      const entry = { version: this.tableVersion, bytes: bytes.slice() }
      if (join) this.encodedJoinState = entry
      else this.encodedState = entry
      return entry.bytes
    }
    return bytes
  }

  private encodeLocalStateUncached(join: boolean): Uint8Array {
    const nodes: PushNodeState[] = []
    for (const m of this.probeList) {
      nodes.push({
        name: m.name,
        addr: m.addr,
        port: m.address.port,
        meta: m.meta,
        incarnation: m.incarnation,
        state: STATE_NUMBERS[m.state],
        vsn: m.vsn,
      })
    }
    const userState = this.delegate?.localState?.(join) ?? EMPTY
    return encodeStream({ type: 'pushPull', join, nodes, userState }, { compress: this.config.enableCompression, ...GO_LZW })
  }

  private finishJoin(joinId: number, out: SwimOutbox): void {
    const join = this.joins.get(joinId)
    if (join === undefined) return
    this.joins.delete(joinId)
    out.emit({ type: 'joinCompleted', joinId, contacted: join.contacted, errors: join.errors })
  }

  // ------------------------------------------------------------------ leave and reaping

  private finishLeave(timedOut: boolean, out: SwimOutbox): void {
    if (this.leaveDone) return
    this.leaveDone = true
    out.emit({ type: 'leaveCompleted', timedOut })
  }

  private reap(nowMs: number, out: SwimOutbox): void {
    for (const m of this.down) {
      const limit = m.state === 'dead' ? this.config.reconnectTimeoutMs : m.state === 'left' ? this.config.tombstoneTimeoutMs : undefined
      if (limit === undefined || nowMs - m.stateChangeMs <= limit) continue
      this.forget(m, out)
    }
  }

  /** Removes a failed or left member from the table and the probe list: `reaped`. */
  private forget(m: Member, out: SwimOutbox): void {
    this.table.delete(m.name)
    this.down.delete(m)
    if (!m.forgotten) {
      m.forgotten = true
      this.carried--
      const i = this.probeList.indexOf(m)
      if (i >= 0) {
        this.probeList.splice(i, 1)
        if (i < this.probeIndex) this.probeIndex--
      }
      this.tableVersion++
    }
    out.emit({ type: 'reaped', member: snapshot(m) })
  }

  // ------------------------------------------------------------------ helpers

  /** Queues a broadcast, and wakes idle gossip rounds at the next tick of their original cadence. */
  private enqueue(name: string, bytes: Uint8Array, nowMs: number, out: SwimOutbox, onDone?: (reason: 'sent' | 'replaced' | 'dropped') => void): void {
    this.queue.queue(name, bytes, onDone)
    if (this.gossipScheduled || !this.started || this.stopped) return
    const interval = this.config.gossipIntervalMs
    const elapsed = nowMs - this.gossipPhaseMs
    const next = this.gossipPhaseMs + (Math.floor(elapsed / interval) + 1) * interval
    this.gossipScheduled = true
    out.schedule({ kind: 'gossipTick', epoch: this.epoch }, next - nowMs)
  }

  private insertMember(m: Member): void {
    // A new member takes a random place in the probe order, as in memberlist; the member it displaces
    // moves to the end (O(1) instead of shifting the list: a 1000-node join inserts a million times).
    const list = this.probeList
    const at = list.length === 0 ? 0 : this.rng.int(list.length + 1)
    if (at === list.length) list.push(m)
    else {
      list.push(list[at])
      list[at] = m
    }
    this.carried++
    this.tableVersion++
  }

  /** Up to k distinct random members (never self) satisfying `accept`; memberlist's kRandomNodes. */
  private randomMembers(k: number, accept: (m: Member) => boolean): Member[] {
    const list = this.probeList
    const n = list.length
    const out: Member[] = []
    if (k <= 0 || n <= 1) return out
    for (let tries = 0; tries < 3 * n && out.length < k; tries++) {
      const m = list[this.rng.int(n)]
      if (m === this.self || !accept(m) || out.includes(m)) continue
      out.push(m)
    }
    return out
  }

  private memberAt(address: Address): Member | undefined {
    for (const m of this.table.values()) if (sameAddress(m.address, address)) return m
    return undefined
  }

  private addSeed(seed: Address): void {
    if (sameAddress(seed, this.address)) return
    if (!this.seeds.some((s) => sameAddress(s, seed))) this.seeds.push(seed)
  }

  private nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0
    return this.seqNo
  }

  private scaled(ms: number): number {
    return this.config.lifeguard ? this.awareness.scale(ms) : ms
  }

  private applyHealth(delta: number, out: SwimOutbox): void {
    if (!this.config.lifeguard || delta === 0) return
    if (this.awareness.applyDelta(delta)) out.emit({ type: 'health', score: this.awareness.score })
  }

  private sourceFields(): { sourceAddr: Uint8Array; sourcePort: number; sourceNode: string } {
    return { sourceAddr: this.self.addr, sourcePort: this.address.port, sourceNode: this.name }
  }

  private replyAddress(addr: Uint8Array | undefined, port: number | undefined, from: Address): Address {
    if (addr !== undefined && addr.length > 0 && port !== undefined && port > 0) {
      return internAddress(addr, port)?.address ?? from
    }
    return from
  }

  private vsnArray(): Uint8Array {
    const [dMin, dMax, dCur] = this.config.delegateVersions
    return Uint8Array.of(1, 5, this.config.protocolVersion, dMin, dMax, dCur)
  }

  private aliveOf(m: Member, incarnation: number): AliveMsg {
    return { type: 'alive', incarnation, node: m.name, addr: m.addr, port: m.address.port, meta: m.meta, vsn: m.vsn }
  }

  /** Encodes one message and sends it, with piggybacked broadcasts when `piggyback`. */
  private sendMessage(to: Address, msg: PacketMessage, dest: Member | undefined, out: SwimOutbox, piggyback: boolean): void {
    const bytes = encodeMessage(msg)
    this.stats.countOut(msg.type, bytes.length)
    if (piggyback) {
      const avail = this.config.packetBytesBudget - bytes.length - COMPOUND_HEADER_OVERHEAD - COMPOUND_PART_OVERHEAD
      const extra = avail > 0 ? this.takeBroadcasts(COMPOUND_PART_OVERHEAD, avail, out) : []
      if (extra.length > 0) {
        this.countParts(extra)
        this.sendParts(to, [bytes, ...extra], dest, out)
        return
      }
    }
    this.sendRaw(to, bytes, dest, out, undefined)
  }

  /** The last step of every packet: compress when it helps, CRC for peers that speak protocol 5. */
  private sendRaw(to: Address, payload: Uint8Array, dest: Member | undefined, out: SwimOutbox, countAs: string | undefined): void {
    if (countAs !== undefined) this.stats.countOut(countAs, payload.length)
    let bytes = payload
    if (this.config.enableCompression && payload.length >= COMPRESS_MIN_BYTES) {
      const compressed = encodeCompress(payload, GO_LZW)
      if (compressed.length < payload.length) bytes = compressed
    }
    if (dest !== undefined && protocolMax(dest.vsn) >= 5) bytes = addCrc(bytes)
    this.stats.packetsOut++
    this.stats.bytesOut += bytes.length
    out.send(to, bytes)
  }

  private sendStream(to: Address, type: string, bytes: Uint8Array, exchangeId: number, expectReply: boolean, out: SwimOutbox, timeoutMs = this.config.streamTimeoutMs): void {
    this.stats.streamsOut++
    this.stats.streamBytesOut += bytes.length
    this.stats.streamOut(type, bytes.length)
    out.openStream(to, bytes, exchangeId, timeoutMs, expectReply)
  }

  /** Counts a stream reply we are about to send back. */
  private streamReply(type: string, bytes: Uint8Array): Uint8Array {
    this.stats.streamBytesOut += bytes.length
    this.stats.streamOut(type, bytes.length)
    return bytes
  }

  /** Input that could not be decoded: counted by reason, then dropped like any other rejection. */
  private undecodable(err: DecodeError, from: Address, out: SwimOutbox): void {
    this.stats.decodeError(err.reason)
    this.dropped(err.reason, from, out, err.message)
  }

  private dropped(reason: string, from: Address, out: SwimOutbox, detail?: string): void {
    this.stats.drop(reason)
    out.emit({ type: 'dropped', reason, from, detail })
  }
}

const STATE_NUMBERS: Readonly<Record<MemberState, WireStateNumber>> = { alive: 0, suspect: 1, dead: 2, left: 3 }
const WIRE_STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left']
const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  0: 'ping',
  1: 'indirectPing',
  2: 'ack',
  3: 'suspect',
  4: 'alive',
  5: 'dead',
  8: 'user',
  11: 'nack',
}
