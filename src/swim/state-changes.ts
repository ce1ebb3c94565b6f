/**
 * StateChanges: memberlist's aliveNode, suspectNode and deadNode (state.go), the only code that moves
 * a member along the lattice, plus the suspicions (Lifeguard) and refutation of accusations about us.
 *
 *   alive(X, inc)   new member, or inc higher than known (or a reclaimable address) ──▶ alive, joined/alive/updated
 *   suspect(X, inc) alive X at inc ≥ known ──▶ suspect, timer; already suspect ──▶ one more confirmation
 *   suspicion timer still suspect at the same incarnation ──▶ dead(X, from: us)
 *     finalProbe: ──▶ probe X once more (probe-cycle.ts); no ack ──▶ dead; ack ──▶ timer again in a
 *     probe interval, until X's refutation arrives or the suspicion reached its longest timeout
 *   dead(X, inc)    inc ≥ known ──▶ dead, or left when X sent it about itself
 *     calmHealing, a third node's notice about X that sent us a packet: within the minimum suspicion
 *     timeout ──▶ suspect (X told at once); within the longest ──▶ suspect, and X probed now (unless our
 *     own final probe of X is running: it decides): no ack ──▶ dead, by us; an ack ──▶ our own timer decides
 *   each probe tick, suspicionReminders: suspect(X) straight to X, every two probe intervals per suspicion
 *   any of them about us (not leaving) ──▶ refute: incarnation past the accusation, alive broadcast
 *     directRefutation: + our alive straight to the packet's sender and the accuser; an accusation
 *     already refuted (incarnation below ours) ──▶ our current alive straight to them (rate-limited)
 *
 * Every accepted change is queued as a broadcast (a newer one about the same node replaces the older)
 * before the member changes, and leaves as an event. Sources: packets, push-pull merges, our own
 * probes and timers, and the user operations (start, setMeta, leave).
 */
import type { Address } from '../core/types.js'
import { addressKey, sameAddress } from '../core/types.js'
import { encodeMessage } from '../wire/codec.js'
import type { AliveMsg, DeadMsg, SuspectMsg } from '../wire/messages.js'
import type { MemberInfo, SuspicionSource } from './events.js'
import { expectedConfirmations, suspicionTimeoutMs } from './formulas.js'
import type { Member } from './member.js'
import { EMPTY, bytesEqual, internAddress, internVsn, isDeadOrLeft, snapshot } from './member.js'
import type { SwimHost } from './host.js'
import { SwimPart } from './host.js'
import type { PacketSender } from './sender.js'
import { Suspicion } from './suspicion.js'
import type { SwimOutbox } from './outbox.js'
import type { SwimTimer } from './timers.js'

/** What the state handlers need from the node. */
export interface StateChangeHost extends SwimHost {
  readonly send: PacketSender
  isLeaving(): boolean
  /** Queues a broadcast about `name` (replacing an older one), waking idle gossip rounds. */
  enqueue(name: string, bytes: Uint8Array, nowMs: number, out: SwimOutbox, onDone?: () => void): void
  /** Our own left broadcast reached its transmit limit (or was replaced). */
  leaveBroadcastSent(): void
  /** A member we held dead or left came back alive (calm healing reconnects to the other failed members). */
  revived(nowMs: number): void
  /** finalProbe: probes the suspect once more; returns the probe's sequence number (its end comes back through finalProbeEnded). */
  probeBeforeDeath(target: Member, nowMs: number, out: SwimOutbox): number
}

/** The alive message announcing `m` at `incarnation`. */
export function aliveOf(m: Member, incarnation: number): AliveMsg {
  return { type: 'alive', incarnation, node: m.name, addr: m.addr, port: m.address.port, meta: m.meta, vsn: m.vsn }
}

export class StateChanges extends SwimPart<StateChangeHost> {
  private readonly suspicions = new Map<string, Suspicion>()
  private suspicionEpoch = 0
  /** Calm healing: when we last asked a member we hold dead to refute (name → ms). */
  private readonly askedToRefute = new Map<string, number>()
  /** directRefutation: when we last sent our alive at an incarnation straight to an address ("address#incarnation" → ms). */
  private readonly directSent = new Map<string, number>()

  /** memberlist aliveNode. `bootstrap` marks our own alive at start or on a meta update. */
  alive(msg: AliveMsg, nowMs: number, out: SwimOutbox, bootstrap: boolean, from?: Address): void {
    const h = this.host
    const isSelf = msg.node === this.name
    if (isSelf && h.isLeaving()) return
    const known = this.members.get(msg.node)
    if (
      known !== undefined && !isSelf && !known.forgotten && msg.incarnation <= known.incarnation &&
      known.address.port === (msg.port === 0 ? this.address.port : msg.port) && bytesEqual(known.addr, msg.addr)
    ) {
      return // Old news, the common case in push-pull merges: nothing to check or convert.
    }
    const vsn = msg.vsn
    if (vsn.length !== 6 || vsn[0] === 0 || vsn[1] === 0 || vsn[0] > vsn[1]) {
      h.dropped('bad-vsn', from ?? this.address, out, `alive ${msg.node}`)
      return
    }
    const interned = internAddress(msg.addr, msg.port === 0 ? this.address.port : msg.port)
    if (interned === undefined) {
      h.dropped('bad-field', from ?? this.address, out, `alive ${msg.node} address`)
      return
    }
    const address = interned.address
    const vsnShared = internVsn(msg.vsn)
    let m = this.members.get(msg.node)
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
        h.dropped('rejected-by-delegate', from ?? address, out, reason)
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
        this.members.put(m)
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
        this.stats.nameConflicts++
        out.emit({ type: 'nameConflict', name: msg.node, kept: m.address, refused: address, role: isSelf ? 'established' : 'witness' })
        h.dropped('conflict', from ?? address, out, `${msg.node} claimed from ${addressKey(address)}, known at ${addressKey(m.address)}`)
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
    h.enqueue(m.name, encodeMessage(msg), nowMs, out)
    const oldState = m.state
    const wasFresh = fresh
    const metaChanged = !bytesEqual(m.meta, msg.meta)
    m.incarnation = msg.incarnation
    m.meta = msg.meta === null || msg.meta.length === 0 ? EMPTY : msg.meta
    m.vsn = vsnShared
    this.members.setAddress(m, address)
    m.addr = interned.addr
    this.members.changed()
    if (m.forgotten) {
      m.forgotten = false
      this.members.insert(m)
    }
    if (m.state !== 'alive') {
      m.state = 'alive'
      m.stateChangeMs = nowMs
    }
    this.members.markUp(m)
    if (isSelf) {
      if (wasFresh || oldState !== 'alive') out.emit({ type: 'joined', member: snapshot(m) })
      else if (metaChanged) out.emit({ type: 'updated', member: snapshot(m) })
      return
    }
    if (!wasFresh && oldState === 'dead') h.revived(nowMs)
    if (wasFresh || isDeadOrLeft(oldState)) out.emit({ type: 'joined', member: snapshot(m) })
    else if (oldState === 'suspect') out.emit({ type: 'alive', member: snapshot(m) })
    else if (metaChanged || addressChanged) out.emit({ type: 'updated', member: snapshot(m) })
  }

  /** memberlist suspectNode. */
  suspect(msg: SuspectMsg, nowMs: number, out: SwimOutbox, via: SuspicionSource, from?: Address): void {
    const h = this.host
    const m = this.members.get(msg.node)
    if (m === undefined || m.forgotten) return
    if (msg.incarnation < m.incarnation) {
      if (m === this.self) this.answerAccusation(msg.from, from, nowMs, out)
      return
    }
    const existing = this.suspicions.get(m.name)
    if (existing !== undefined) {
      const remaining = existing.confirm(msg.from, nowMs)
      if (remaining !== undefined) {
        out.emit({ type: 'suspicionConfirmed', member: snapshot(m), from: msg.from })
        existing.epoch = ++this.suspicionEpoch
        h.enqueue(m.name, encodeMessage(msg), nowMs, out)
        out.schedule(
          { kind: 'suspicionTimeout', member: m.name, incarnation: existing.incarnation, epoch: existing.epoch },
          Math.max(0, remaining),
        )
      }
      return
    }
    if (m.state !== 'alive') return
    if (m === this.self) {
      if (!h.isLeaving()) {
        this.refute(msg.incarnation, 'suspect', nowMs, out)
        this.answerAccusation(msg.from, from, nowMs, out)
      }
      return
    }
    h.enqueue(m.name, encodeMessage(msg), nowMs, out)
    m.state = 'suspect'
    m.incarnation = msg.incarnation
    m.stateChangeMs = nowMs
    this.members.changed()
    if (via === 'probe') this.stats.suspicionsRaised++
    else if (via === 'phi') this.stats.suspicionsByPhi++
    const c = this.config
    const n = this.members.carried
    const minMs = suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs)
    const k = c.lifeguard ? expectedConfirmations(c.suspicionMult, n) : 0
    const maxMs = c.lifeguard ? c.suspicionMaxTimeoutMult * minMs : minMs
    const s = new Suspicion(m.name, msg.incarnation, msg.from, nowMs, k, minMs, maxMs, ++this.suspicionEpoch)
    this.suspicions.set(m.name, s)
    out.schedule({ kind: 'suspicionTimeout', member: m.name, incarnation: msg.incarnation, epoch: s.epoch }, s.initialTimeoutMs())
    out.emit({ type: 'suspected', member: snapshot(m), from: msg.from, via })
  }

  /** A suspicion timer fired: dead, if the member is still suspect at the same incarnation and epoch. */
  suspicionTimeout(timer: Extract<SwimTimer, { kind: 'suspicionTimeout' }>, nowMs: number, out: SwimOutbox): void {
    const s = this.suspicions.get(timer.member)
    if (s === undefined || s.epoch !== timer.epoch) return
    const m = this.members.get(timer.member)
    if (m === undefined || m.state !== 'suspect' || m.incarnation !== timer.incarnation) return
    if (s.finalProbeSeq !== undefined) return // the final probe in flight decides
    if (this.config.finalProbe) {
      this.stats.finalProbes++
      s.finalProbeSeq = this.host.probeBeforeDeath(m, nowMs, out)
      return
    }
    this.declareDead(s, m, nowMs, out)
  }

  /**
   * suspicionReminders (at each probe tick): every suspicion we hold that we have not sent to its member
   * for two probe intervals goes straight to it, so that it refutes to us even if we missed its
   * refutation's gossip; memberlist tells a suspect only when it probes it.
   */
  remindSuspects(nowMs: number, out: SwimOutbox): void {
    if (!this.config.suspicionReminders) return
    const every = 2 * this.config.probeIntervalMs
    for (const s of this.suspicions.values()) {
      if (nowMs - s.remindedMs < every) continue
      const m = this.members.get(s.member)
      if (m === undefined || m.state !== 'suspect' || m.incarnation !== s.incarnation) continue
      s.remindedMs = nowMs
      this.stats.suspicionReminders++
      this.host.send.message(m.address, { type: 'suspect', incarnation: s.incarnation, node: m.name, from: this.name }, m, out, false)
    }
  }

  /**
   * finalProbe: the last probe of a suspect ended. An ack postpones the death by a probe interval (the
   * refutation it provoked is on its way), until the suspicion has lasted its longest timeout plus its
   * shortest (then dead, so that a member whose refutations never reach us is not suspect for ever); no ack: dead.
   * Calm healing's check of a dead notice ends here too: an ack puts the suspicion back on its timer.
   */
  finalProbeEnded(name: string, seqNo: number, acked: boolean, nowMs: number, out: SwimOutbox): void {
    const s = this.suspicions.get(name)
    if (s === undefined || s.finalProbeSeq !== seqNo) return
    s.finalProbeSeq = undefined
    const m = this.members.get(name)
    if (m === undefined || m.state !== 'suspect' || m.incarnation !== s.incarnation) return
    if (s.checking) {
      s.checking = false
      if (acked) {
        // It lives: the dead notice stays a suspicion, on the timer its confirmations give.
        this.stats.deadNoticeChecksAcked++
        s.epoch = ++this.suspicionEpoch
        out.schedule({ kind: 'suspicionTimeout', member: name, incarnation: s.incarnation, epoch: s.epoch }, Math.max(0, s.remainingMs(nowMs)))
        return
      }
    } else if (acked && nowMs - s.startMs < s.maxMs + s.minMs) {
      this.stats.finalProbeAcks++
      s.epoch = ++this.suspicionEpoch
      out.schedule({ kind: 'suspicionTimeout', member: name, incarnation: s.incarnation, epoch: s.epoch }, this.config.probeIntervalMs)
      return
    }
    this.declareDead(s, m, nowMs, out)
  }

  private declareDead(s: Suspicion, m: Member, nowMs: number, out: SwimOutbox): void {
    const timer = { kind: 'suspicionTimeout', member: m.name, incarnation: s.incarnation, epoch: s.epoch } as const
    if (this.delegate?.confirmDead?.(m.name, nowMs - s.startMs, nowMs) === false) {
      // A second opinion says it still lives: stay suspect and ask again in a probe interval.
      this.stats.deathsPostponed++
      out.schedule(timer, this.config.probeIntervalMs)
      return
    }
    this.stats.deathsDeclared++
    this.dead({ type: 'dead', incarnation: s.incarnation, node: m.name, from: this.name }, nowMs, out, 'timeout')
  }

  /**
   * directRefutation: our current alive, straight to the packet that carried an accusation about us and
   * to its accuser, at most once per probe interval per address and incarnation (a refutation's gossip is
   * transmit-limited and misses some of the members that hold the suspicion; these do hold it).
   */
  private answerAccusation(accuser: string, from: Address | undefined, nowMs: number, out: SwimOutbox): void {
    if (!this.config.directRefutation || this.host.isLeaving()) return
    const a = this.members.get(accuser)
    const accuserAddress = a !== undefined && a !== this.self && (a.state === 'alive' || a.state === 'suspect') ? a.address : undefined
    if (this.directSent.size > 1024) {
      for (const [k, at] of this.directSent) if (nowMs - at >= this.config.probeIntervalMs) this.directSent.delete(k)
    }
    const msg = aliveOf(this.self, this.self.incarnation)
    for (const to of [from, accuserAddress]) {
      if (to === undefined) continue
      const key = `${addressKey(to)}#${msg.incarnation}`
      const last = this.directSent.get(key)
      if (last !== undefined && nowMs - last < this.config.probeIntervalMs) continue
      this.directSent.set(key, nowMs)
      this.stats.directRefutations++
      this.host.send.message(to, msg, this.members.memberAt(to), out, false)
    }
  }

  /**
   * memberlist deadNode. `from === node` means the node left. `awaitDelivery` (our own leave) reports
   * through the host when the broadcast has gone out.
   */
  dead(msg: DeadMsg, nowMs: number, out: SwimOutbox, via: SuspicionSource, awaitDelivery = false, from?: Address): void {
    const h = this.host
    const m = this.members.get(msg.node)
    if (m === undefined || m.forgotten) return
    if (msg.incarnation < m.incarnation) {
      if (m === this.self && msg.from !== this.name && !h.isLeaving()) this.answerAccusation(msg.from, from, nowMs, out)
      return
    }
    if (isDeadOrLeft(m.state)) {
      this.suspicions.delete(m.name)
      return
    }
    if (m !== this.self && via === 'gossip' && msg.from !== msg.node && msg.from !== this.name) {
      const heard = this.heardWithin(m, nowMs)
      if (heard !== undefined) {
        // Calm healing: a third node's dead notice about a member we hear from ourselves is only a
        // suspicion (one more confirmation of the one we hold, if any), which the member, told at once,
        // refutes. Heard from within the minimum suspicion timeout: it outlived the accusation, and our
        // own suspicion timer decides. Heard from before that, but within the longest: we cannot tell
        // the notice from a crash's, so we probe the member now (checkDeadNotice).
        this.stats.deadNoticesSoftened++
        this.forwardAccusation(m, msg.incarnation, out)
        this.suspect({ type: 'suspect', incarnation: msg.incarnation, node: msg.node, from: msg.from }, nowMs, out, 'gossip')
        if (heard === 'max') this.checkDeadNotice(m, nowMs, out)
        return
      }
    }
    this.suspicions.delete(m.name)
    const encoded = encodeMessage(msg)
    if (m === this.self) {
      if (!h.isLeaving()) {
        this.refute(msg.incarnation, 'dead', nowMs, out)
        this.answerAccusation(msg.from, from, nowMs, out)
        return
      }
      // Our own leave: broadcast it and learn when it has gone out.
      h.enqueue(m.name, encoded, nowMs, out, awaitDelivery ? () => h.leaveBroadcastSent() : undefined)
      m.state = 'left'
      m.stateChangeMs = nowMs
      this.members.changed()
      out.emit({ type: 'left', member: snapshot(m) })
      return
    }
    h.enqueue(m.name, encoded, nowMs, out)
    m.incarnation = msg.incarnation
    // Left when it said so itself, or when the layer above heard it announce its leave first (Serf's
    // `leaving` status: the node crashed before memberlist's own leave went out).
    m.state = msg.from === msg.node || this.delegate?.isLeaving?.(m.name) === true ? 'left' : 'dead'
    m.stateChangeMs = nowMs
    this.members.markDown(m)
    this.members.changed()
    if (m.state === 'left') out.emit({ type: 'left', member: snapshot(m) })
    else out.emit({ type: 'failed', member: snapshot(m), from: msg.from, via })
  }

  /**
   * Calm healing: the member sent us a packet within the minimum suspicion timeout (so it lived after
   * any crash that a dead notice could be reporting by now), or, with `window` 'max', within the
   * longest suspicion timeout (for push-pull entries, which only ever raise suspicions; the dead notices
   * of a real crash still come by gossip). False with calmHealing off.
   */
  heardRecently(m: Member, nowMs: number, window: 'min' | 'max' = 'min'): boolean {
    const heard = this.heardWithin(m, nowMs)
    return heard === 'min' || (heard === 'max' && window === 'max')
  }

  /**
   * Calm healing: the narrowest suspicion window (minimum timeout, or longest) within which the member
   * last sent us a packet; undefined when neither, when it is not alive or suspect, or with calmHealing off.
   */
  private heardWithin(m: Member, nowMs: number): 'min' | 'max' | undefined {
    if (!this.config.calmHealing || m === this.self || m.heardMs === undefined) return undefined
    if (m.state !== 'alive' && m.state !== 'suspect') return undefined
    const c = this.config
    const minMs = suspicionTimeoutMs(c.suspicionMult, this.members.carried, c.probeIntervalMs)
    const sinceMs = nowMs - m.heardMs
    if (sinceMs <= minMs) return 'min'
    return c.lifeguard && sinceMs <= c.suspicionMaxTimeoutMult * minMs ? 'max' : undefined
  }

  /**
   * Calm healing's check: a third node reports dead a member we last heard from within the longest
   * suspicion timeout but before the minimum, so possibly before the accusation began. Rather than take
   * its word (memberlist) or wait out a suspicion of our own, we probe the member now, as a final probe
   * (ping carrying the suspicion, then helpers and TCP): no ack ──▶ we declare it dead ourselves; an ack
   * ──▶ it lives, and stays suspect on our own timer until its refutation arrives.
   */
  private checkDeadNotice(m: Member, nowMs: number, out: SwimOutbox): void {
    const s = this.suspicions.get(m.name)
    if (s === undefined || s.finalProbeSeq !== undefined || m.state !== 'suspect' || m.incarnation !== s.incarnation) return
    this.stats.deadNoticesChecked++
    s.checking = true
    s.finalProbeSeq = this.host.probeBeforeDeath(m, nowMs, out)
  }

  /**
   * Calm healing: a push-pull state holds alive, at the incarnation we hold it dead, a member (after a
   * partition, the other side's members). An alive at the same incarnation cannot revive it (memberlist's
   * rule), and memberlist waits until someone's accusation makes it refute; so we send it our dead notice
   * straight, once per probe interval: it refutes, and (directRefutation) its alive comes straight back.
   */
  askDeadToRefute(name: string, incarnation: number, nowMs: number, out: SwimOutbox): void {
    if (!this.config.calmHealing) return
    const m = this.members.get(name)
    if (m === undefined || m === this.self || m.forgotten || m.state !== 'dead' || incarnation !== m.incarnation) return
    const last = this.askedToRefute.get(name)
    if (last !== undefined && nowMs - last < this.config.probeIntervalMs) return
    if (this.askedToRefute.size > 1024) {
      for (const [k, at] of this.askedToRefute) if (nowMs - at >= this.config.probeIntervalMs) this.askedToRefute.delete(k)
    }
    this.askedToRefute.set(name, nowMs)
    this.stats.accusationsForwarded++
    const msg: DeadMsg = { type: 'dead', incarnation: m.incarnation, node: m.name, from: this.name }
    this.host.send.message(m.address, msg, m, out, false)
  }

  /**
   * A second-hand accusation about a member we hear from, handed straight to it (a suspect from us at
   * the accused incarnation), so that it refutes now instead of when gossip reaches it.
   */
  forwardAccusation(m: Member, incarnation: number, out: SwimOutbox): void {
    if (incarnation < m.incarnation) return
    this.stats.accusationsForwarded++
    const msg: SuspectMsg = { type: 'suspect', incarnation, node: m.name, from: this.name }
    this.host.send.message(m.address, msg, m, out, false)
  }

  /** memberlist refute: jump past the accusation and broadcast our alive. */
  private refute(accusedIncarnation: number, accusation: 'suspect' | 'dead' | 'alive' | 'state', nowMs: number, out: SwimOutbox): void {
    const h = this.host
    let inc = this.self.incarnation + 1
    if (accusedIncarnation >= inc) inc = accusedIncarnation + 1
    this.self.incarnation = inc
    this.members.changed()
    this.stats.refutations++
    this.applyHealth(1, out)
    h.enqueue(this.name, encodeMessage(aliveOf(this.self, inc)), nowMs, out)
    out.emit({ type: 'refuted', incarnation: inc, accusation })
  }
}
