/**
 * Exchanges: the node's stream exchanges and what waits on their replies: push-pull (periodic, on
 * join with each seed, and Serf's reconnect loop), TCP pings for the probe cycle, and user messages
 * sent reliably. Each exchange gets an id; its reply (or failure) comes back through reply().
 *
 *   join(seeds)  ══pushPull(join)══▶ each seed      joinCompleted once every seed answered or failed
 *                (a newcomer whose name a seed holds alive elsewhere is refused: nameConflict)
 *   pushPullTick ══pushPull══▶ a random alive member
 *   reconnectTick ═pushPull══▶ a random failed member (probability failed/alive), or a lost seed
 *   probeTick, calmHealing, within 10 probe intervals of a failed member coming back alive
 *                ═pushPull══▶ one failed member not yet tried since (a partition is healing)
 */
import type { StreamResult } from '../core/effects.js'
import type { Rng } from '../core/rng.js'
import type { Address } from '../core/types.js'
import { addressKey, sameAddress } from '../core/types.js'
import type { Member } from './member.js'
import { isDeadOrLeft } from './member.js'
import type { SwimHost } from './host.js'
import { SwimPart } from './host.js'
import type { ProbeCycle } from './probe-cycle.js'
import type { PushPull } from './push-pull.js'
import type { PacketSender } from './sender.js'
import type { SwimOutbox } from './outbox.js'

/** What the exchanges need from the node. */
export interface ExchangesHost extends SwimHost {
  readonly rng: Rng
  readonly send: PacketSender
  readonly pushPull: PushPull
  readonly prober: ProbeCycle
  /** True once shutdown() ran: replies are then only forgotten. */
  isStopped(): boolean
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
  /** We knew no live member when the join began: a seed holding our name elsewhere refuses us. */
  readonly newcomer: boolean
  conflict?: { readonly name: string; readonly kept: Address }
}

/** Calm healing: how many probe intervals after a revival the failed members are each tried once. */
const REVIVAL_WINDOW_INTERVALS = 10

export class Exchanges extends SwimPart<ExchangesHost> {
  private readonly rng: Rng
  private readonly send: PacketSender
  private readonly pushPull: PushPull
  private readonly prober: ProbeCycle
  private readonly exchanges = new Map<number, Exchange>()
  private readonly joins = new Map<number, JoinState>()
  private readonly seeds: Address[] = []
  private exchangeSeq = 0
  private joinSeq = 0
  /** Calm healing: when a member we held dead last came back alive, and the failed members tried since. */
  private revivedAtMs: number | undefined
  private readonly triedSinceRevival = new Set<string>()
  /** A join was refused for a name conflict: no reconnect joins until the next explicit join(). */
  private nameRefused = false

  constructor(host: ExchangesHost) {
    super(host)
    this.rng = host.rng
    this.send = host.send
    this.pushPull = host.pushPull
    this.prober = host.prober
  }

  /**
   * A push-pull with each seed (join flag set); `joinCompleted` when every one has finished. Returns the
   * join id. `remember` false: the seeds are not retried by the reconnect loop (rediscovered addresses).
   */
  join(seeds: readonly Address[], out: SwimOutbox, remember = true): number {
    const joinId = ++this.joinSeq
    const targets = seeds.filter((s) => !sameAddress(s, this.address))
    if (remember) for (const s of targets) this.addSeed(s)
    // An explicit join tries again after a name conflict (the operator may have stopped the other node).
    this.nameRefused = false
    const state: JoinState = { pending: targets.length, contacted: 0, errors: [], newcomer: this.isNewcomer() }
    this.joins.set(joinId, state)
    if (targets.length === 0) {
      this.finishJoin(joinId, out)
      return joinId
    }
    const request = this.pushPull.localState(true)
    for (const seed of targets) this.startPushPull(seed, { kind: 'join', joinId, seed }, request, out)
    return joinId
  }

  /** Sends a user message reliably over a stream (memberlist SendReliable). */
  userStream(to: Address, payload: Uint8Array, out: SwimOutbox): void {
    const id = ++this.exchangeSeq
    this.exchanges.set(id, { kind: 'userMessage' })
    this.send.stream(to, 'userStream', this.send.encodeStream({ type: 'userStream', payload }), id, false, out)
  }

  reply(exchangeId: number, result: StreamResult, nowMs: number, out: SwimOutbox): void {
    const ex = this.exchanges.get(exchangeId)
    if (ex === undefined) return
    this.exchanges.delete(exchangeId)
    if (this.host.isStopped()) return
    if (!result.ok) this.stats.streamErrors++
    else this.stats.streamBytesIn += result.bytes.length
    switch (ex.kind) {
      case 'join': {
        const join = this.joins.get(ex.joinId)
        if (join === undefined) return
        const error = this.pushPull.handleReply(result, nowMs, out, ex.seed, join.newcomer)
        if (error === undefined) join.contacted++
        else if (typeof error === 'string') join.errors.push(`${addressKey(ex.seed)}: ${error}`)
        else {
          join.errors.push(`${addressKey(ex.seed)}: ${error.reason}`)
          join.conflict = { name: this.name, kept: error.kept }
          // Refused: the reconnect loop stops knocking on the seeds until the next explicit join.
          this.nameRefused = true
        }
        join.pending--
        if (join.pending === 0) this.finishJoin(ex.joinId, out)
        return
      }
      case 'pushPull':
      case 'reconnect': {
        const peer = this.members.get(ex.peer)
        this.pushPull.handleReply(result, nowMs, out, peer?.address ?? this.address)
        return
      }
      case 'tcpPing':
        this.prober.tcpPingReply(ex.seqNo, result, nowMs, out)
        return
      case 'userMessage':
        return
    }
  }

  periodicPushPull(out: SwimOutbox): void {
    const [peer] = this.members.randomMembers(1, (m) => m.state === 'alive')
    if (peer === undefined) return
    this.startPushPull(peer.address, { kind: 'pushPull', peer: peer.name }, this.pushPull.localState(false), out)
  }

  /** Calm healing: a member we held dead came back alive, so a partition may be healing. */
  noteRevival(nowMs: number): void {
    if (!this.config.calmHealing) return
    if (this.revivedAtMs === undefined || nowMs - this.revivedAtMs > REVIVAL_WINDOW_INTERVALS * this.config.probeIntervalMs) this.triedSinceRevival.clear()
    this.revivedAtMs = nowMs
  }

  /**
   * Calm healing, at each probe tick: within REVIVAL_WINDOW_INTERVALS probe intervals of a revival,
   * push-pull with one failed member not tried since. Serf's reconnect tries one with probability
   * failed/alive every 30 s, so the last member whose refutation's gossip missed us, held dead among
   * 59 alive, waited for the next periodic push-pull (up to a minute); this finds it within seconds.
   */
  reconnectAfterRevival(nowMs: number, out: SwimOutbox): void {
    if (this.revivedAtMs === undefined || nowMs - this.revivedAtMs > REVIVAL_WINDOW_INTERVALS * this.config.probeIntervalMs) return
    const candidates: Member[] = []
    for (const m of this.members.down) if (m.state === 'dead' && !this.triedSinceRevival.has(m.name)) candidates.push(m)
    if (candidates.length === 0) return
    const target = candidates[this.rng.int(candidates.length)]
    this.triedSinceRevival.add(target.name)
    this.stats.revivalReconnects++
    this.reconnectTo(target, out)
  }

  /** Push-pull with a member held dead now (a revival's follow-up, or a dead probe's ack). */
  reconnectTo(target: Member, out: SwimOutbox): void {
    this.startPushPull(target.address, { kind: 'reconnect', peer: target.name }, this.pushPull.localState(false), out)
  }

  /**
   * Serf's reconnect: with probability failed/alive, push-pull with a random failed member; and when a
   * seed address belongs to no alive member, try it, so the two sides of a long partition find each
   * other again even after they forgot each other.
   */
  reconnect(out: SwimOutbox): void {
    const alive = this.members.size - 1 - this.members.down.size
    const failed: Member[] = []
    for (const m of this.members.down) if (m.state === 'dead') failed.push(m)
    if (failed.length > 0) {
      const p = alive === 0 ? 1 : failed.length / alive
      if (this.rng.float() < p) {
        const target = failed[this.rng.int(failed.length)]
        this.startPushPull(target.address, { kind: 'reconnect', peer: target.name }, this.pushPull.localState(true), out)
      }
    }
    if (this.nameRefused) return
    const orphanSeeds = this.seeds.filter((s) => {
      const m = this.members.memberAt(s)
      return m === undefined || isDeadOrLeft(m.state)
    })
    if (orphanSeeds.length > 0) {
      const seed = orphanSeeds[this.rng.int(orphanSeeds.length)]
      const joinId = ++this.joinSeq
      this.joins.set(joinId, { pending: 1, contacted: 0, errors: [], newcomer: this.isNewcomer() })
      this.startPushPull(seed, { kind: 'join', joinId, seed }, this.pushPull.localState(true), out)
    }
  }

  openTcpPing(seqNo: number, to: Address, bytes: Uint8Array, timeoutMs: number, out: SwimOutbox): void {
    const id = ++this.exchangeSeq
    this.exchanges.set(id, { kind: 'tcpPing', seqNo })
    this.send.stream(to, 'ping', bytes, id, true, out, timeoutMs)
  }

  /** Remembers a seed address (not our own), for the reconnect loop. */
  addSeed(seed: Address): void {
    if (sameAddress(seed, this.address)) return
    if (!this.seeds.some((s) => sameAddress(s, seed))) this.seeds.push(seed)
  }

  private startPushPull(to: Address, exchange: Exchange, request: Uint8Array, out: SwimOutbox): void {
    const id = ++this.exchangeSeq
    this.exchanges.set(id, exchange)
    this.stats.pushPullsInitiated++
    this.send.stream(to, 'pushPull', request, id, true, out)
  }

  private finishJoin(joinId: number, out: SwimOutbox): void {
    const join = this.joins.get(joinId)
    if (join === undefined) return
    this.joins.delete(joinId)
    out.emit({ type: 'joinCompleted', joinId, contacted: join.contacted, errors: join.errors, ...(join.conflict === undefined ? {} : { conflict: join.conflict }) })
  }

  /** True while we know no live member but ourselves: a join now makes us the newcomer. */
  private isNewcomer(): boolean {
    for (const m of this.members.carriedMembers) if (m !== this.self && (m.state === 'alive' || m.state === 'suspect')) return false
    return true
  }
}
