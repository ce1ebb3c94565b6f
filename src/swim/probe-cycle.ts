/**
 * ProbeCycle: failure detection, one target per probe interval (memberlist probe/probeNode), and the
 * helper's side of indirect probes.
 *
 *   us ──ping(seq)────────────────▶ target            (+ piggybacked broadcasts; buddy suspect if suspect)
 *   us ◀──────────────────ack(seq)── target           → success, health −1
 *   … probeTimeout without ack:
 *   us ──indirectPing(seq, nack)──▶ k helpers ──ping──▶ target
 *   us ◀──ack(seq) or nack(seq)──── helpers            (a nack says "the helper is fine, the target is not")
 *   us ══TCP ping═════════════════▶ target            (fallback, when the target speaks protocol ≥ 3)
 *   … scaled deadline without any ack: suspect(target, from: us), health + missing nacks
 *
 * Timing, as memberlist's probe loop (a fixed ticker whose ticks a running probe holds back): the
 * ticker keeps the base interval whatever the local health; a probe that is still running when its
 * successor is due holds that tick (one at most, like Go's one-slot ticker channel) and the held probe
 * starts the moment the running one ends. So a successful probe waits only the base interval, while a
 * failing probe in poor health waits its health-scaled deadline before the next one starts: a node at
 * health score 4 returns to 0 after 4 successful probes, about 4 probe intervals.
 *
 * Final probe (finalProbe, state-changes.ts): an expired suspicion's member is probed once more, outside
 * the ticker's order, the same way (ping + suspect, then helpers and TCP, deadline scaled by health);
 * its end, ack or deadline, goes back to the suspicion instead of raising one.
 *
 * Dead probes (deadProbeWindowMs): each tick may also ping one member declared dead within the window;
 *   us ──ping(seq)──▶ dead member ──ack(seq)──▶ us → host.deadAnswered: push-pull with it (the heal)
 * An unanswered dead ping is forgotten at the next tick; it raises nothing and changes no health.
 *
 * As a helper: ping the target with our own sequence number, relay its ack to the requester, or send a
 * nack at 80% of the probe timeout when none came. Probes and relays are keyed by sequence number;
 * their timers find nothing once the probe or relay has finished, so none needs cancelling.
 */
import type { StreamResult } from '../core/effects.js'
import type { Rng } from '../core/rng.js'
import type { Address } from '../core/types.js'
import type { AckMsg, IndirectPingMsg, NackMsg, PingMsg, SuspectMsg } from '../wire/messages.js'
import { decodeStream } from '../wire/codec.js'
import type { SwimHost } from './host.js'
import { SwimPart } from './host.js'
import type { Member } from './member.js'
import { internAddress, protocolMax, snapshot } from './member.js'
import type { PacketSender } from './sender.js'
import type { SwimOutbox } from './outbox.js'

/**
 * Dead probes: about this many pings to recently dead members per probe interval, cluster-wide (each node
 * pings at every tick while there are at most this many live members, at a proportional share beyond).
 */
export const DEAD_PROBES_PER_INTERVAL = 16

/** Fraction of the probe timeout an indirect-probe helper waits before sending a nack (Lifeguard paper). */
const NACK_TIMEOUT_FRACTION = 0.8

/** What the probe cycle needs from the node. */
export interface ProbeHost extends SwimHost {
  readonly send: PacketSender
  /** A probe failed: suspect the target. */
  suspect(msg: SuspectMsg, nowMs: number, out: SwimOutbox): void
  /** A final probe (probeBeforeDeath) ended: acked or not. */
  finalProbeEnded(name: string, seqNo: number, acked: boolean, nowMs: number, out: SwimOutbox): void
  /** True once leave() began: probing stops. */
  isLeaving(): boolean
  /** A dead probe was acked: the member is reachable again. */
  deadAnswered(member: Member, nowMs: number, out: SwimOutbox): void
  /** The node's randomness (the dead probes' share of ticks and their target), as Exchanges has it. */
  readonly rng: Rng
  /** Sends a user message by UDP to a live member by name; false when there is none (Swim.sendUserTo). */
  sendUserTo(name: string, payload: Uint8Array, out: SwimOutbox): boolean
  /** Opens the TCP fallback ping as a stream exchange that reports back through tcpPingReply. */
  openTcpPing(seqNo: number, to: Address, bytes: Uint8Array, timeoutMs: number, out: SwimOutbox): void
}

interface ProbeState {
  readonly seqNo: number
  readonly target: Member
  readonly startMs: number
  /** Start + the probe interval scaled by local health at the start. */
  readonly deadlineMs: number
  expectedNacks: number
  nacks: number
  indirectSent: boolean
  /** A final probe of a suspect (probeBeforeDeath): it does not hold the ticker, and its end goes to the suspicion. */
  readonly final: boolean
}

interface RelayState {
  readonly requester: Address
  readonly requesterSeqNo: number
  readonly nack: boolean
}

export class ProbeCycle extends SwimPart<ProbeHost> {
  private readonly probes = new Map<number, ProbeState>()
  private readonly relays = new Map<number, RelayState>()
  private seqNo = 0
  private readonly send: PacketSender
  /** The probe the last tick started, until it ends (ack, TCP ack or deadline). */
  private running: ProbeState | undefined
  /** A tick came while `running` was still going: its probe starts when that one ends. */
  private tickHeld = false
  /** Dead probes sent at the last tick, until their ack or the next tick. */
  private readonly deadPings = new Map<number, Member>()

  constructor(host: ProbeHost) {
    super(host)
    this.send = host.send
  }

  /**
   * The probe interval came round: ping the next target, or hold the tick while the last probe is
   * still running. The ticker itself keeps the base interval (memberlist's time.NewTicker).
   */
  tick(epoch: number, nowMs: number, out: SwimOutbox): void {
    out.schedule({ kind: 'probeTick', epoch }, this.config.probeIntervalMs)
    this.pingDead(nowMs, out)
    if (this.running !== undefined) {
      this.tickHeld = true
      return
    }
    this.probeNext(nowMs, out)
  }

  /**
   * Whether a probe timer would still do something when it fires: false once its probe ended (an ack
   * came) or already went indirect, or its relay was answered. A runtime may drop such a timer unfired.
   */
  timerLive(kind: 'probeTimeout' | 'probeDeadline' | 'relayTimeout', seqNo: number): boolean {
    if (kind === 'relayTimeout') return this.relays.has(seqNo)
    const probe = this.probes.get(seqNo)
    return probe !== undefined && (kind === 'probeDeadline' || !probe.indirectSent)
  }

  /** Starts the probe of the next target in the round-robin order. */
  private probeNext(nowMs: number, out: SwimOutbox): void {
    const target = this.members.nextProbeTarget(nowMs)
    if (target === undefined) return
    this.running = this.start(target, false, nowMs, out)
  }

  /** Dead probes: ping one member that died within the window, on this node's share of ticks. */
  private pingDead(nowMs: number, out: SwimOutbox): void {
    this.deadPings.clear()
    const windowMs = this.config.deadProbeWindowMs
    if (windowMs <= 0 || this.members.down.size === 0) return
    const alive = this.members.size - this.members.down.size
    if (alive > DEAD_PROBES_PER_INTERVAL && this.host.rng.float() * alive >= DEAD_PROBES_PER_INTERVAL) return
    const recent: Member[] = []
    for (const m of this.members.down) if (m.state === 'dead' && nowMs - m.stateChangeMs <= windowMs) recent.push(m)
    if (recent.length === 0) return
    const target = recent[Math.floor(this.host.rng.float() * recent.length)]
    const seqNo = this.nextSeqNo()
    this.deadPings.set(seqNo, target)
    this.stats.deadProbes++
    this.send.message(target.address, { type: 'ping', seqNo, node: target.name, ...this.sourceFields() }, target, out, true)
  }

  /** finalProbe: probes a suspect once more before its suspicion turns to death; returns the sequence number. */
  probeBeforeDeath(target: Member, nowMs: number, out: SwimOutbox): number {
    return this.start(target, true, nowMs, out).seqNo
  }

  private start(target: Member, final: boolean, nowMs: number, out: SwimOutbox): ProbeState {
    const seqNo = this.nextSeqNo()
    const probe: ProbeState = {
      seqNo,
      target,
      startMs: nowMs,
      deadlineMs: nowMs + this.scaled(this.config.probeIntervalMs),
      expectedNacks: 0,
      nacks: 0,
      indirectSent: false,
      final,
    }
    this.probes.set(seqNo, probe)
    this.stats.probes++
    const ping: PingMsg = { type: 'ping', seqNo, node: target.name, ...this.sourceFields() }
    if (target.state === 'suspect' && (this.config.lifeguard || final)) {
      // Buddy system: tell the suspect directly so it can refute; no other piggyback.
      const suspect: SuspectMsg = { type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.name }
      this.send.compound(target.address, [ping, suspect], target, out)
    } else {
      this.send.message(target.address, ping, target, out, true)
    }
    // The deadline is scheduled only if the probe goes indirect (most acks come first).
    out.schedule({ kind: 'probeTimeout', seqNo }, this.config.probeTimeoutMs)
    return probe
  }

  /** No ack within the probe timeout: ask k helpers, and try TCP. */
  timeout(seqNo: number, nowMs: number, out: SwimOutbox): void {
    const h = this.host
    const probe = this.probes.get(seqNo)
    if (probe === undefined || probe.indirectSent) return
    probe.indirectSent = true
    const overdue = nowMs >= probe.deadlineMs
    if (!overdue) out.schedule({ kind: 'probeDeadline', seqNo }, probe.deadlineMs - nowMs)
    const target = probe.target
    const helpers = this.members.randomMembers(this.config.indirectChecks, (m) => m.state === 'alive' && m !== target)
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
      this.send.message(helper.address, req, helper, out, true)
    }
    if (!this.config.disableTcpPings && protocolMax(target.vsn) >= 3) {
      this.stats.tcpFallbackProbes++
      const remaining = Math.max(1, probe.deadlineMs - nowMs)
      const ping: PingMsg = { type: 'ping', seqNo, node: target.name, ...this.sourceFields() }
      h.openTcpPing(seqNo, target.address, this.send.encodeStream(ping), remaining, out)
    }
    // Woken past the deadline (a paused or starved process): the deadline is due too, and like any due
    // timer it runs before the packets that queued up meanwhile (as two separate timers would).
    if (overdue) this.deadline(seqNo, nowMs, out)
  }

  /** The scaled deadline passed without an ack: the probe failed. */
  deadline(seqNo: number, nowMs: number, out: SwimOutbox): void {
    const probe = this.probes.get(seqNo)
    if (probe === undefined) return
    // Missing nacks mean the trouble may be ours (Lifeguard); with no nack expected, count one.
    const delta = probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacks : 1
    this.finish(probe, false, nowMs, out, null, delta)
    const target = probe.target
    if (probe.final) {
      this.host.finalProbeEnded(target.name, seqNo, false, nowMs, out)
      return
    }
    if (target.state !== 'alive' && target.state !== 'suspect') {
      this.releaseHeldTick(nowMs, out)
      return
    }
    this.stats.probeFailures++
    const msg: SuspectMsg = { type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.name }
    this.host.suspect(msg, nowMs, out)
    this.releaseHeldTick(nowMs, out)
  }

  /** The running probe ended: a tick it held back starts the next probe now. */
  private releaseHeldTick(nowMs: number, out: SwimOutbox): void {
    if (!this.tickHeld || this.running !== undefined) return
    this.tickHeld = false
    if (!this.host.isLeaving()) this.probeNext(nowMs, out)
  }

  /** The TCP fallback ping of probe `seqNo` finished. */
  tcpPingReply(seqNo: number, result: StreamResult, nowMs: number, out: SwimOutbox): void {
    const h = this.host
    const probe = this.probes.get(seqNo)
    if (probe === undefined || !result.ok) return
    const decoded = decodeStream(result.bytes)
    if (!decoded.ok) h.undecodable(decoded.error, probe.target.address, out)
    else this.stats.streamIn(decoded.value.type, result.bytes.length)
    if (decoded.ok && decoded.value.type === 'ack' && decoded.value.seqNo === seqNo) {
      this.stats.tcpFallbackSuccesses++
      this.finish(probe, true, nowMs, out, null, 0)
      if (probe.final) this.host.finalProbeEnded(probe.target.name, seqNo, true, nowMs, out)
      this.releaseHeldTick(nowMs, out)
    }
  }

  handlePing(msg: PingMsg, from: Address, out: SwimOutbox): void {
    const h = this.host
    if (msg.node !== '' && msg.node !== this.name) {
      h.dropped('wrong-node', from, out, `ping for ${msg.node}`)
      return
    }
    const to = this.replyAddress(msg.sourceAddr, msg.sourcePort, from)
    const payload = this.delegate?.ackPayload?.() ?? null
    const dest = msg.sourceNode !== undefined ? this.members.get(msg.sourceNode) : undefined
    this.send.message(to, { type: 'ack', seqNo: msg.seqNo, payload }, dest, out, true)
  }

  handleIndirectPing(msg: IndirectPingMsg, from: Address, out: SwimOutbox): void {
    const h = this.host
    const target = internAddress(msg.target, msg.port === 0 ? this.address.port : msg.port)?.address
    if (target === undefined) {
      h.dropped('bad-field', from, out, 'indirect ping target address')
      return
    }
    const requester = this.replyAddress(msg.sourceAddr, msg.sourcePort, from)
    const seqNo = this.nextSeqNo()
    this.relays.set(seqNo, { requester, requesterSeqNo: msg.seqNo, nack: msg.nack })
    this.stats.indirectProbesRelayed++
    const ping: PingMsg = { type: 'ping', seqNo, node: msg.node, ...this.sourceFields() }
    this.send.message(target, ping, this.members.get(msg.node), out, true)
    // Lifeguard sends the nack at 80% of the probe timeout so that it reaches the requester before the
    // requester's deadline (memberlist 0.2.2 waits the full timeout, and its nacks then race the
    // deadline and mostly lose, charging healthy probers for the target's failure).
    out.schedule({ kind: 'relayTimeout', seqNo }, Math.floor(this.config.probeTimeoutMs * NACK_TIMEOUT_FRACTION))
  }

  handleAck(msg: AckMsg, nowMs: number, out: SwimOutbox): void {
    this.stats.acksReceived++
    const probe = this.probes.get(msg.seqNo)
    if (probe !== undefined) {
      this.finish(probe, true, nowMs, out, msg.payload, -1)
      if (probe.final) this.host.finalProbeEnded(probe.target.name, probe.seqNo, true, nowMs, out)
      this.releaseHeldTick(nowMs, out)
      return
    }
    const dead = this.deadPings.get(msg.seqNo)
    if (dead !== undefined) {
      this.deadPings.delete(msg.seqNo)
      this.stats.deadProbeAcks++
      if (dead.state === 'dead') this.host.deadAnswered(dead, nowMs, out)
      return
    }
    const relay = this.relays.get(msg.seqNo)
    if (relay !== undefined) {
      this.relays.delete(msg.seqNo)
      this.send.message(relay.requester, { type: 'ack', seqNo: relay.requesterSeqNo, payload: null }, undefined, out, true)
    }
  }

  handleNack(msg: NackMsg): void {
    this.stats.nacksReceived++
    const probe = this.probes.get(msg.seqNo)
    if (probe !== undefined) probe.nacks++
  }

  /** A relay's target did not answer in time: nack the requester when it asked for one. */
  relayTimeout(seqNo: number, out: SwimOutbox): void {
    const relay = this.relays.get(seqNo)
    if (relay === undefined) return
    this.relays.delete(seqNo)
    if (relay.nack) this.send.message(relay.requester, { type: 'nack', seqNo: relay.requesterSeqNo }, undefined, out, false)
  }

  private finish(probe: ProbeState, success: boolean, nowMs: number, out: SwimOutbox, payload: Uint8Array | null, healthDelta: number): void {
    this.probes.delete(probe.seqNo)
    if (this.running === probe) this.running = undefined
    if (success) this.delegate?.notifyPingComplete?.(snapshot(probe.target), nowMs - probe.startMs, payload, (to, p) => this.host.sendUserTo(to, p, out))
    this.applyHealth(healthDelta, out)
  }

  private nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0
    return this.seqNo
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
}
