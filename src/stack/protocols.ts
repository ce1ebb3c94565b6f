/**
 * The two Grapevine protocols as stack protocols (stack.ts): broadcasts (gossip/rumor.ts, envelope id
 * 1) and cluster state (state/reconcile.ts, id 2), plus the phi accrual detector the state's
 * heartbeats feed.
 *
 *   BroadcastProtocol   round every rumor gossipIntervalMs: engine.tick; messages: engine.handleMessage;
 *                       piggybacks: engine.piggyback, and the due repair pull on a packet that goes
 *                       anyway (engine.takeRepairPull); deliveries go to `onDelivery`
 *   StateProtocol       round every state roundIntervalMs: heartbeat + GC, then
 *                         busy (a change here in the last rounds, or a member appeared, failed, left or
 *                         came back; a suspicion raised or refuted is not a change):
 *                           a Syn to `fanout` random peers, each in a packet of its own
 *                         quiet: one Syn, owed until a SWIM ping or ack to a Grapevine peer leaves
 *                           and carried on it; a Syn still owed at the next round goes alone; while
 *                           nothing differs, only every 2nd, 4th … quietBackoffMaxRounds-th quiet
 *                           round owes Syns, and any difference (an Ack or Ack2 either way, a change
 *                           here or received, a membership change) owes them every round again
 *                       Syn → Ack → Ack2 answered on the spot; push-pull carries the full state (a
 *                       joining node gets everything); changes go to `onChange`, and every advanced
 *                       heartbeat is a phi sample
 *
 * Quiet when quiet: in a cluster where nothing changes, a quiet Syn is a window hash plus heartbeats
 * (reconcile.ts) and a peer that agrees does not answer, so the state rounds and the repair pulls cost
 * bytes on SWIM's own packets and no packet of their own, as memberlist's piggybacked broadcasts do. The
 * first change makes the node busy again at its next round, and every node that learns it is busy in
 * turn, so a change spreads at full fanout as before. Heartbeats keep flowing on the quiet Syns, so phi
 * keeps its samples, fewer while the quiet Syns back off (StateConfig.quietBackoffMaxRounds).
 *
 * SWIM's gossip rounds (every 200 ms on LAN) drive both; each keeps its own cadence from `nowMs` and
 * says when it next needs a round (nextRoundMs): broadcasts every round while a rumor is hot, else only
 * for a repair pull that found no ride; cluster state every roundIntervalMs. An idle node then wakes
 * for a round once a second instead of five times.
 * Pure, like everything in the stack.
 */
import type { Rng } from '../core/rng.js'
import { sampleOthers } from '../gossip/rumor.js'
import type { RumorMonger, Delivery } from '../gossip/rumor.js'
import type { StateReconciler } from '../state/reconcile.js'
import type { ApplyTally, StateEvent } from '../state/cluster-state.js'
import { decodeStateMessage, encodeStateMessage, STATE_LIMITS, StateMessageKind } from '../state/messages.js'
import type { PhiAccrualRegistry } from '../state/phi.js'
import type { PeerSend, StackProtocol } from './stack.js'
import type { MemberInfo } from '../swim/events.js'

export const BROADCAST_PROTOCOL = 1
export const STATE_PROTOCOL = 2

/**
 * Runs `fn` at most once per `intervalMs` of the times handed in, the first time at once. A caller more
 * than `stallIntervals` intervals late (a paused process) starts again from now; one less late keeps
 * the phase and may call again at once to catch up.
 */
export class Cadence {
  private nextMs: number | undefined
  constructor(
    private readonly intervalMs: number,
    private readonly stallIntervals = 1,
  ) {}
  due(nowMs: number): boolean {
    if (this.nextMs !== undefined && nowMs < this.nextMs) return false
    const stalled = this.nextMs === undefined || nowMs - this.nextMs > this.stallIntervals * this.intervalMs
    this.nextMs = stalled ? nowMs + this.intervalMs : this.nextMs! + this.intervalMs
    return true
  }
  /** When `due` next says yes (at once before the first time). */
  nextDueMs(nowMs: number): number {
    return this.nextMs ?? nowMs
  }
}

/**
 * Each member's state as of the last call: SWIM's membership version also moves when nothing we care
 * about did (the probe list reshuffled); `changed` says whether a member appeared, went or changed state.
 * A suspect counts as alive: a suspicion raised and refuted (every few seconds per node under heavy
 * loss) moves no state and no broadcast, and the quiet Syns' windows still compare every round, so it
 * need not make the rounds busy; a member that failed, left or came back does.
 */
export class MemberStates {
  private states = new Map<string, MemberInfo['state']>()
  changed(members: readonly MemberInfo[]): boolean {
    const states = new Map<string, MemberInfo['state']>()
    for (const m of members) states.set(m.name, m.state === 'suspect' ? 'alive' : m.state)
    let changed = states.size !== this.states.size
    if (!changed) for (const [name, state] of states) if (this.states.get(name) !== state) changed = true
    this.states = states
    return changed
  }
}

export class BroadcastProtocol implements StackProtocol {
  readonly id = BROADCAST_PROTOCOL
  private readonly cadence: Cadence
  private readonly members = new MemberStates()

  constructor(
    readonly engine: RumorMonger,
    private readonly onDelivery: (d: Delivery) => void,
  ) {
    this.cadence = new Cadence(engine.config.gossipIntervalMs)
  }

  /** A local broadcast: delivered here at once, spread from the next round (throws BroadcastError). */
  broadcast(name: string, payload: Uint8Array, nowMs: number): Delivery {
    const d = this.engine.broadcast(name, payload, nowMs)
    this.onDelivery(d)
    return d
  }

  onMessage(sender: string, payload: Uint8Array, nowMs: number, send: PeerSend): void {
    const out = this.engine.handleMessage(sender, payload, nowMs)
    for (const s of out.sends) send(s.to, s.bytes)
    for (const d of out.delivered) this.onDelivery(d)
  }

  onRound(nowMs: number, peers: readonly string[], send: PeerSend): void {
    if (!this.cadence.due(nowMs)) return
    const out = this.engine.tick(nowMs, peers)
    for (const s of out.sends) send(s.to, s.bytes)
    for (const d of out.delivered) this.onDelivery(d)
  }

  /** A member appeared, went or changed state (a partition healing, say): repair pulls wake (gossip/rumor.ts). */
  onMembership(members: readonly MemberInfo[], nowMs: number): void {
    if (this.members.changed(members)) this.engine.wakeRepair(nowMs)
  }

  /** Every round while rumors are hot (or the mode pulls); else only when a repair pull must go alone. */
  nextRoundMs(nowMs: number): number | undefined {
    const due = this.engine.nextTickDueMs(nowMs)
    return due === undefined ? undefined : Math.max(due, this.cadence.nextDueMs(nowMs))
  }

  piggyback(to: string, overheadBytes: number, limitBytes: number, nowMs: number, riding: boolean): Uint8Array[] {
    const out = this.engine.piggyback(to, nowMs, limitBytes - overheadBytes)
    if (!riding) return out
    let left = limitBytes
    for (const b of out) left -= b.length + overheadBytes
    const pull = this.engine.takeRepairPull(to, nowMs, left - overheadBytes)
    if (pull !== undefined) out.push(pull)
    return out
  }
}

export interface StateProtocolCounters {
  rounds: number
  synsSent: number
  repliesSent: number
  decodeErrors: Record<string, number>
  deltasApplied: number
  fullStatesMerged: number
  /** Departed nodes whose state was forgotten (StateConfig.forgetLeftAfterMs, or reaped by SWIM). */
  nodesForgotten: number
  /** Rounds with nothing new, where one Syn was owed to a ride instead of `fanout` sent alone. */
  quietRounds: number
  /** Syns (counted in synsSent too) that rode on a SWIM ping or ack. */
  synsRidden: number
  /** Quiet rounds that owed no Syn: the quiet backoff skipped them (heartbeat and GC still ran). */
  quietRoundsSkipped: number
  /** Differences that ended a quiet backoff (an Ack or Ack2 either way, a change received). */
  quietWakes: number
}

export function newStateCounters(): StateProtocolCounters {
  return { rounds: 0, synsSent: 0, repliesSent: 0, decodeErrors: {}, deltasApplied: 0, fullStatesMerged: 0, nodesForgotten: 0, quietRounds: 0, synsRidden: 0, quietRoundsSkipped: 0, quietWakes: 0 }
}

/** Rounds a node stays busy (full fanout) after SWIM's member list changed: a joiner's state spreads as before. */
const BUSY_ROUNDS_AFTER_MEMBERSHIP = 6

export class StateProtocol implements StackProtocol {
  readonly id = STATE_PROTOCOL
  readonly counters: StateProtocolCounters = newStateCounters()
  private readonly cadence: Cadence
  /** Syns of this quiet round still waiting for a ride (piggyback with `riding`), at most `fanout`. */
  private synsOwed = 0
  /** A Syn of this quiet round rode. */
  private rodeThisRound = false
  /** Rounds left at full fanout after a membership change. */
  private busyRounds = 0
  /** Quiet backoff: every how many quiet rounds one owes Syns (1 … quietBackoffMaxRounds). */
  private quietEvery = 1
  /** Quiet rounds still to skip before the next that owes Syns. */
  private quietWait = 0
  /** Something differed since the last quiet round that owed Syns: the backoff starts over. */
  private differed = false
  /** Names in SWIM's list at the last membership change (a name gone from it was reaped). */
  private members = new Set<string>()
  /** Each member's state at the last membership change: a real change (not a reshuffle) makes us busy. */
  private readonly memberStates = new MemberStates()
  /** Members that left, with when we saw it. */
  private readonly leftSince = new Map<string, number>()

  constructor(
    readonly reconciler: StateReconciler,
    private readonly rng: Rng,
    private readonly phi: PhiAccrualRegistry,
    private readonly onChange: (e: StateEvent) => void,
  ) {
    // Two intervals: a quiet round's fallback timer comes one interval late and runs two rounds (below).
    this.cadence = new Cadence(reconciler.config.roundIntervalMs, 2)
  }

  onMessage(sender: string, payload: Uint8Array, nowMs: number, send: PeerSend): void {
    const r = this.reconciler.handleBytes(sender, payload, nowMs)
    if (r.error !== undefined) {
      this.counters.decodeErrors[r.error.reason] = (this.counters.decodeErrors[r.error.reason] ?? 0) + 1
      return
    }
    if (r.applied !== undefined) this.took(r.applied, nowMs)
    // Only a Syn that matched is no news: an Ack or Ack2 (either side found a difference), a reply of ours
    // (we did) or an applied delta ends the quiet backoff.
    if (payload[0] !== StateMessageKind.syn || r.reply !== undefined || (r.applied?.applied ?? 0) > 0) this.wake()
    if (r.reply !== undefined && send(sender, r.reply)) this.counters.repliesSent++
  }

  /** A difference: quiet rounds owe Syns every round again, from the next one. */
  private wake(): void {
    if (this.quietEvery > 1 || this.quietWait > 0) this.counters.quietWakes++
    this.differed = true
    this.quietEvery = 1
    this.quietWait = 0
  }

  /**
   * Departed members: one that left is forgotten forgetLeftAfterMs later; one SWIM reaped (failed for
   * Serf's reconnect timeout, or force-left with prune) at once. A member back alive is taken again.
   */
  onMembership(members: readonly MemberInfo[], nowMs: number): void {
    const self = this.reconciler.self
    // SWIM's membership version also moves when nothing we care about did (the probe list reshuffled):
    // only a member that appeared, went or changed state makes the rounds busy.
    if (this.memberStates.changed(members)) {
      this.busyRounds = BUSY_ROUNDS_AFTER_MEMBERSHIP
      this.wake()
    }
    const present = new Set<string>()
    for (const m of members) {
      present.add(m.name)
      if (m.name === self) continue
      if (m.state === 'left') {
        if (!this.leftSince.has(m.name)) this.leftSince.set(m.name, nowMs)
        continue
      }
      this.leftSince.delete(m.name)
      if (m.state !== 'dead') this.reconciler.state.unforget(m.name)
    }
    for (const name of this.members) {
      if (present.has(name)) continue
      this.leftSince.delete(name)
      this.forget(name, nowMs)
    }
    this.members = present
  }

  /**
   * Every roundIntervalMs, and when a departed member is to be forgotten. Quiet, with this round's Syn
   * ridden: the next round is taken on the first SWIM packet that leaves after it is due (piggyback), so
   * a timer is wanted only one interval later, for when no packet went; that timer runs both rounds, and
   * the second sends its Syn alone, as it would have on time. A round that will send a Syn alone (none
   * rode this round: probes are rare) keeps its timer.
   */
  nextRoundMs(nowMs: number): number | undefined {
    const interval = this.reconciler.config.roundIntervalMs
    const lazy = this.quiet() && (this.rodeThisRound || this.synsOwed === 0)
    let at = interval === 0 ? undefined : this.cadence.nextDueMs(nowMs) + (lazy ? interval : 0)
    for (const since of this.leftSince.values()) {
      const forgetAt = since + this.reconciler.config.forgetLeftAfterMs
      if (at === undefined || forgetAt < at) at = forgetAt
    }
    return at
  }

  /** Nothing new here and no recent membership change: the next round may wait for a ride. */
  private quiet(): boolean {
    return this.busyRounds === 0 && !this.reconciler.hasNews()
  }

  onRound(nowMs: number, peers: readonly string[], send: PeerSend): void {
    for (const [name, since] of this.leftSince) {
      if (nowMs - since < this.reconciler.config.forgetLeftAfterMs) continue
      this.leftSince.delete(name)
      this.forget(name, nowMs)
    }
    this.round(nowMs, peers, send)
    // A quiet round no packet carried: its fallback timer came one interval late, so the next is due too.
    if (this.quiet()) this.round(nowMs, peers, send)
  }

  /** The state round when its cadence is due: heartbeat and GC, then a busy round's Syns or a quiet round's owed ones. */
  private round(nowMs: number, peers: readonly string[], send: PeerSend | undefined): void {
    if (this.reconciler.config.roundIntervalMs === 0 || !this.cadence.due(nowMs)) return
    this.counters.rounds++
    this.reconciler.tick(nowMs)
    this.flush()
    const busy = this.busyRounds > 0 || this.reconciler.hasNews()
    if (busy) this.wake()
    if (this.busyRounds > 0) this.busyRounds--
    // Quiet: up to `fanout` Syns, each carried by a SWIM ping or ack to a peer; when none rode all round,
    // one goes alone. (One a round would halve the quiet bytes, but phi would then hear each heartbeat
    // half as often and take twice as long to accuse a crashed member: the rides stay.)
    const fanout = this.reconciler.config.fanout
    const alone = busy ? fanout : this.synsOwed > 0 && !this.rodeThisRound ? 1 : 0
    this.synsOwed = busy ? 0 : this.quietOwes() ? fanout : 0
    this.rodeThisRound = false
    if (!busy) this.counters.quietRounds++
    if (send === undefined) return
    for (const peer of sampleOthers(this.rng, peers, alone, this.reconciler.self)) {
      const syn = this.reconciler.startRound(peer, nowMs)
      if (send(peer, encodeStateMessage(syn))) this.counters.synsSent++
    }
  }

  /**
   * Whether this quiet round owes Syns under the backoff: every round after a difference, then every 2nd,
   * 4th … quietBackoffMaxRounds-th while the exchanges between found nothing. A busy round starts over.
   */
  private quietOwes(): boolean {
    if (this.quietWait > 0) {
      this.quietWait--
      this.counters.quietRoundsSkipped++
      return false
    }
    this.quietEvery = this.differed ? 1 : Math.min(2 * this.quietEvery, this.reconciler.config.quietBackoffMaxRounds)
    this.differed = false
    this.quietWait = this.quietEvery - 1
    return true
  }

  /** The owed quiet Syn, on a packet to `to` that goes anyway, if it fits. */
  piggyback(to: string, overheadBytes: number, limitBytes: number, nowMs: number, riding: boolean): Uint8Array[] {
    if (!riding || to === this.reconciler.self) return []
    // A quiet round that is due is taken here, on a packet that leaves anyway, instead of by a timer of its
    // own (a busy round waits for its timer: its Syns go to `fanout` peers in packets of their own). A Syn
    // the round would have sent alone rides on this packet instead.
    if (this.quiet() && this.cadence.nextDueMs(nowMs) <= nowMs) {
      this.round(nowMs, [], undefined)
    }
    if (this.synsOwed === 0) return []
    const budget = limitBytes - overheadBytes
    const syn = this.reconciler.startRoundWithin(to, nowMs, budget)
    if (syn === undefined) return []
    const bytes = encodeStateMessage(syn)
    if (bytes.length > budget) return []
    this.synsOwed--
    this.rodeThisRound = true
    this.counters.synsSent++
    this.counters.synsRidden++
    return [bytes]
  }

  /**
   * The full state for a join's push-pull; nothing in a periodic one with StateConfig.pushPullState 'join'
   * (the Syn windows do that anti-entropy), unless the rounds are off and push-pull is all there is.
   */
  localState(join: boolean): Uint8Array | undefined {
    const config = this.reconciler.config
    if (!join && config.pushPullState === 'join' && config.roundIntervalMs > 0) return undefined
    return encodeStateMessage(this.reconciler.fullState())
  }

  mergeRemoteState(state: Uint8Array, _join: boolean, nowMs: number): void {
    const decoded = decodeStateMessage(state, STATE_LIMITS.fullStateMaxBytes)
    if (!decoded.ok || decoded.value.kind !== 'full') {
      const reason = decoded.ok ? 'not-a-full-state' : decoded.error.reason
      this.counters.decodeErrors[reason] = (this.counters.decodeErrors[reason] ?? 0) + 1
      return
    }
    this.counters.fullStatesMerged++
    const tally = this.reconciler.mergeFullState(decoded.value, nowMs)
    this.took(tally, nowMs)
    if (tally.applied > 0) this.wake()
  }

  private forget(name: string, nowMs: number): void {
    this.phi.remove(name)
    if (this.reconciler.forget(name, nowMs)) this.counters.nodesForgotten++
    this.flush()
  }

  /** Local writes and whatever else queued events: hand them out now. */
  flush(): void {
    for (const e of this.reconciler.state.takeEvents()) this.onChange(e)
  }

  private took(tally: ApplyTally, nowMs: number): void {
    this.counters.deltasApplied += tally.applied
    for (const name of tally.heartbeats) this.phi.heartbeat(name, nowMs)
    this.flush()
  }
}
