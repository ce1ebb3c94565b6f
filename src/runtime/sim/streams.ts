/**
 * The simulator's streams (memberlist's TCP: push-pull, the fallback ping, joins) as TCP connections
 * whose segments cross the virtual network like datagrams (Network.routeSegment: partitions, loss or
 * streamLoss, latency, reordering) and are resent on Linux's timers until the caller's deadline.
 *
 *   opener                                                target
 *   SYN         ───────────────────────────────────────▶  crashed or departed: RST ──▶ `refused`
 *               ◀─────────────────────────────────────── SYN-ACK (the kernel answers, even while paused)
 *   request     ───────────────────────────────────────▶  held while paused, then handleStreamRequest;
 *   (segments)                                            a process that started since the SYN: RST ──▶ `reset`
 *               ◀─────────────────────────────────────── reply (segments), or a close without one ──▶ `reset`
 *   handleStreamReply: ok, refused, reset, or timeout at the caller's deadline (`timeoutMs`)
 *
 * Timers, as Linux sets them:
 * - SYN: sent again 1 s after it was sent while no SYN-ACK came, then 2 s, 4 s … (initial RTO 1 s,
 *   doubling). A lost RST is covered the same way: the next SYN draws another.
 * - SYN-ACK: the target sends it again 1 s, 3 s, 7 s … after the first SYN arrived, and whenever a
 *   resent SYN arrives, until the handshake is done.
 * - Data: RTO = srtt + max(4·rttvar, 200 ms) (tcp_rtt_estimator; `rttvar` is floored at the 200 ms
 *   minimum RTO), the handshake's round trip R being the first sample: srtt = R, 4·rttvar = 2R, so
 *   RTO = max(3R, R + 200 ms): 205 ms on a LAN with 5 ms round trips. It doubles with each
 *   retransmission of a message, up to 120 s.
 *
 * Simplifications (each leaves unchanged when the application hears what, or errs on the slow side):
 * - A message is ceil(bytes / 1448) segments (the MSS of a 1500-byte MTU with TCP timestamps), all
 *   sent at once: no slow start. The receiver's application has the message when its last segment has
 *   arrived, so reordering is absorbed. Every segment lost in a round is sent again when the RTO fires;
 *   there is no fast retransmit, SACK recovery or tail loss probe, so a large message over a lossy link
 *   recovers a little slower than on Linux, and always slower than a one-segment ping.
 * - ACKs are not modelled: the reply acknowledges the request, the request carries the handshake's
 *   last ACK, and a lost ACK would only make the sender resend what the receiver then discards.
 *   Duplicated segments are discarded too, so none are drawn.
 * - Both ends use the RTO of the handshake's one sample: the one-way delays of the SYN and SYN-ACK
 *   that got through (Linux measures it with timestamps even across retransmissions).
 * - The request is written with the connect: the opener's kernel sends it as the handshake completes,
 *   paused or not. A reply, once written, is delivered even if the target dies meanwhile (the kernel
 *   keeps sending an orphaned socket's data).
 * - Without `expectReply`, the opener hears success the instant its request is delivered.
 * - Once the caller's deadline passes or its process stops, the connection is gone at both ends: no
 *   segment is sent for it any more, as if the opener's RST had reached the target.
 *
 * Trace lines, besides `open`, `request` (read by the target's process) and `result`:
 *
 *   <t> stream#<id> lost|blocked syn|syn-ack|request|reply|close|rst <from> > <to> [<lost>/<sent>]
 *   <t> stream#<id> resend <what> <from> > <to> [<n> segments] #<retransmission>
 *   <t> stream#<id> refused|reset <opener> > <target> (<target's status>)
 *
 * Cost: on a clean link an exchange is five queue items, as against three when streams were one
 * delay each way: the SYN's and SYN-ACK's arrivals (scheduled actions), the request's delivery
 * (STREAM_REQUEST), the reply's (STREAM_RESULT) and the deadline (STREAM_TIMEOUT). A loss adds a
 * retransmission timer (two for a SYN-ACK: the target's and the opener's); segment fates are decided when they are sent, so no per-segment
 * item and no per-byte work. Every draw comes from the network's generator, in queue order: the same
 * seed gives the same run.
 */
import type { OpenedStream, StreamResult } from '../../core/effects.js'
import type { ItemQueue } from './item-queue.js'
import type { Exchange } from './items.js'
import { ACTION, Item, OK_EMPTY, REFUSED, RESET, STREAM_REQUEST, STREAM_RESULT, STREAM_TIMEOUT, TIMEOUT } from './items.js'
import { Fate } from './network.js'
import type { Network } from './network.js'
import type { SimNode } from './node.js'
import type { SimOutbox, SimProtocol } from './protocol.js'
import type { TraceSink } from './trace.js'
import { formatTimeMs } from './trace.js'
import { describeStream } from '../../wire/describe.js'
import type { SimulationStats } from './types.js'

/** Linux's initial retransmission timeout (TCP_TIMEOUT_INIT), for SYN and SYN-ACK. */
export const SYN_RTO_MS = 1000
/** Linux's floor (TCP_RTO_MIN) and ceiling (TCP_RTO_MAX) of the data RTO. */
export const MIN_RTO_MS = 200
export const MAX_RTO_MS = 120_000
/** Payload bytes per segment. */
export const MSS_BYTES = 1448

/** The data RTO after a first round-trip sample (see the module comment). */
export function rtoAfterSampleMs(rttMs: number): number {
  return Math.min(MAX_RTO_MS, rttMs + Math.max(2 * rttMs, MIN_RTO_MS))
}

/** How many segments carry a message of `bytes` (an empty message still takes one). */
export function segmentsOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / MSS_BYTES))
}

/** What the stream model needs from the simulation. */
export interface StreamHost {
  readonly network: Network
  readonly queue: ItemQueue<Item>
  readonly stats: SimulationStats
  readonly trace: TraceSink | undefined
  /** The virtual time. */
  now(): number
  /** Hands the node's protocol an input now and performs the effects it wrote. */
  input<R>(node: SimNode, input: (protocol: SimProtocol, nowMs: number, out: SimOutbox) => R): R
}

/** One exchange: what the simulation's queue items carry, and its connection's state. */
class Connection implements Exchange {
  done = false
  /** The generation of the target process whose kernel answered the SYN (-1: none yet). */
  targetGen = -1
  /** The opener has the SYN-ACK. */
  established = false
  synsSent = 0
  lastSynAtMs = 0
  /** The SYN (by count) the opener's retransmission timer is armed for. */
  synTimerFor = -1
  /** One-way delay of the latest SYN that arrived: half of the RTT sample. */
  synDelayMs = 0
  firstSynArrivedAtMs = -1
  synAcksSent = 0
  synAckTimerArmed = false
  synAckTimeouts = 0
  rtoMs = 0
  /** The message in flight (the request, then the reply): segments still to deliver, when its latest delivered segment arrives, retransmission rounds so far. */
  missing = 0
  arrivesAtMs = 0
  rounds = 0
  /** What the opener hears once the answer's segments are in, and what the answer is (for the trace). */
  outcome: StreamResult = RESET
  answer: 'reply' | 'close' | 'rst' = 'reply'

  constructor(
    readonly id: number,
    readonly opener: SimNode,
    readonly openerGen: number,
    readonly exchangeId: number,
    readonly target: SimNode | undefined,
    readonly bytes: Uint8Array,
    readonly expectReply: boolean,
    readonly deadlineMs: number,
  ) {}
}

export class Streams {
  private seq = 0

  constructor(private readonly host: StreamHost) {}

  /** `opener` opens an exchange (the target is the node at the address, or undefined: nobody, it times out). */
  open(opener: SimNode, s: OpenedStream, target: SimNode | undefined): void {
    const { host } = this
    const now = host.now()
    opener.counters.streamsOpened++
    opener.counters.streamBytesSent += s.bytes.length
    host.stats.streamsOpened++
    const c = new Connection(++this.seq, opener, opener.generation, s.exchangeId, target, s.bytes, s.expectReply, now + s.timeoutMs)
    host.queue.push(c.deadlineMs, new Item(STREAM_TIMEOUT, opener, opener.generation, null, null, null, c, null, null))
    if (host.trace) {
      const to = target?.name ?? `${s.to.ip}:${s.to.port}`
      host.trace(`${formatTimeMs(now)} stream#${c.id} open ${opener.name} > ${to} ${s.bytes.length}B ${describeStream(s.bytes)} reply=${s.expectReply} timeout=${s.timeoutMs}${target === undefined ? ' no-host' : ''}`)
    }
    if (target !== undefined) this.sendSyn(c)
  }

  /** The request's last segment reached a running target (STREAM_REQUEST; a paused one reads it on resume). */
  requestArrived(node: SimNode, ex: Exchange): void {
    const c = ex as Connection
    if (c.done) return // the opener gave up before the request was read
    if (node.generation !== c.targetGen) {
      this.requestToStopped(node, c) // a new process: its kernel knows no such connection
      return
    }
    const { host } = this
    node.counters.streamsAccepted++
    node.counters.streamBytesReceived += c.bytes.length
    const from = c.opener.address
    const reply = host.input(node, (protocol, nowMs, out) => protocol.handleStreamRequest(from, c.bytes, nowMs, out))
    if (host.trace) {
      host.trace(`${formatTimeMs(host.now())} stream#${c.id} request ${c.opener.name} > ${node.name} reply=${reply === null ? 'none' : `${reply.length}B ${describeStream(reply)}`}`)
    }
    if (!c.expectReply) {
      // Delivered: the opener hears success at this instant, as its own queue item.
      host.queue.push(host.now(), new Item(STREAM_RESULT, c.opener, c.openerGen, null, null, null, c, OK_EMPTY, null))
      return
    }
    if (reply === null) {
      this.answer(c, 'close', RESET, 0)
      return
    }
    node.counters.streamBytesSent += reply.length
    this.answer(c, 'reply', { ok: true, bytes: reply }, reply.length)
  }

  /** The request reached a host whose process is gone (crashed, departed, or replaced since the SYN): its kernel answers RST. */
  requestToStopped(node: SimNode, ex: Exchange): void {
    const c = ex as Connection
    if (c.done) return
    if (this.host.trace) this.host.trace(`${formatTimeMs(this.host.now())} stream#${c.id} reset ${c.opener.name} > ${node.name} (${node.status === 'running' ? 'restarted' : node.status})`)
    this.answer(c, 'rst', RESET, 0)
  }

  /** A STREAM_RESULT or STREAM_TIMEOUT came due at the opener (running, or resumed): the exchange ends. */
  finished(node: SimNode, item: Item): void {
    const c = item.stream as Connection
    if (c.done || item.gen !== node.generation) return
    c.done = true
    const { host } = this
    const result = item.kind === STREAM_TIMEOUT ? TIMEOUT : item.result!
    if (item.kind === STREAM_TIMEOUT) host.network.stats.streamsTimedOut++
    if (!result.ok) {
      node.counters.streamsFailed++
      host.stats.streamsFailed++
    } else {
      node.counters.streamBytesReceived += result.bytes.length
    }
    if (host.trace) host.trace(`${formatTimeMs(host.now())} stream#${c.id} result ${node.name} ${result.ok ? `ok ${result.bytes.length}B` : `error=${result.error}`}`)
    host.input(node, (protocol, nowMs, out) => protocol.handleStreamReply(c.exchangeId, result, nowMs, out))
  }

  // ------------------------------------------------------------------ the handshake

  /** Whether anyone still waits for the connection: the opener's process, before its deadline. */
  private wanted(c: Connection): boolean {
    return !c.done && this.host.now() < c.deadlineMs && c.opener.generation === c.openerGen
  }

  private sendSyn(c: Connection): void {
    if (!this.wanted(c) || c.established) return
    const target = c.target!
    const sent = c.synsSent++
    c.lastSynAtMs = this.host.now()
    if (sent > 0) this.resent(c, 'syn', c.opener, target, 1, sent)
    const delay = this.host.network.routeSegment(c.opener.index, target.index)
    if (delay < 0) {
      this.vanished(c, 'syn', c.opener, target, '')
      this.armSynTimer(c)
      return
    }
    this.after(delay, () => this.synArrived(c, delay))
  }

  /** The opener's SYN timer: it fires for its latest SYN unless the SYN-ACK came first. */
  private armSynTimer(c: Connection): void {
    const latest = c.synsSent - 1
    if (c.synTimerFor === latest) return
    c.synTimerFor = latest
    this.at(c.lastSynAtMs + SYN_RTO_MS * 2 ** latest, () => this.sendSyn(c))
  }

  private synArrived(c: Connection, delay: number): void {
    if (!this.wanted(c) || c.established) return
    const { host } = this
    const target = c.target!
    if (!target.live) {
      if (host.trace) host.trace(`${formatTimeMs(host.now())} stream#${c.id} refused ${c.opener.name} > ${target.name} (${target.status})`)
      const back = host.network.routeSegment(target.index, c.opener.index)
      if (back >= 0) host.queue.push(host.now() + back, new Item(STREAM_RESULT, c.opener, c.openerGen, null, null, null, c, REFUSED, null))
      else {
        this.vanished(c, 'rst', target, c.opener, '')
        this.armSynTimer(c)
      }
      return
    }
    c.targetGen = target.generation
    c.synDelayMs = delay
    if (c.firstSynArrivedAtMs < 0) c.firstSynArrivedAtMs = host.now()
    this.sendSynAck(c)
  }

  private sendSynAck(c: Connection): void {
    const target = c.target!
    const sent = c.synAcksSent++
    if (sent > 0) this.resent(c, 'syn-ack', target, c.opener, 1, sent)
    const delay = this.host.network.routeSegment(target.index, c.opener.index)
    if (delay < 0) {
      this.vanished(c, 'syn-ack', target, c.opener, '')
      this.armSynTimer(c)
      this.armSynAckTimer(c)
      return
    }
    const rtt = c.synDelayMs + delay
    this.after(delay, () => this.synAckArrived(c, rtt))
  }

  /** The target's SYN-ACK timer: 1 s, 3 s, 7 s … after the first SYN arrived, while the handshake is not done. */
  private armSynAckTimer(c: Connection): void {
    if (c.synAckTimerArmed) return
    c.synAckTimerArmed = true
    const fired = c.synAckTimeouts
    this.at(c.firstSynArrivedAtMs + SYN_RTO_MS * (2 ** (fired + 1) - 1), () => {
      c.synAckTimerArmed = false
      c.synAckTimeouts++
      const target = c.target!
      if (this.wanted(c) && !c.established && target.live && target.generation === c.targetGen) this.sendSynAck(c)
    })
  }

  private synAckArrived(c: Connection, rttMs: number): void {
    if (!this.wanted(c) || c.established) return
    c.established = true
    c.rtoMs = rtoAfterSampleMs(rttMs)
    this.startMessage(c, c.bytes.length)
    this.sendData(c, false)
  }

  // ------------------------------------------------------------------ data

  /**
   * The target answers: the reply's segments, or one for a close or an RST, go back to the opener. (A
   * lost RST is not resent: the opener resends its request and draws another, on the same timer.)
   */
  private answer(c: Connection, answer: Connection['answer'], outcome: StreamResult, bytes: number): void {
    c.answer = answer
    c.outcome = outcome
    this.startMessage(c, bytes)
    this.sendData(c, true)
  }

  private startMessage(c: Connection, bytes: number): void {
    c.missing = segmentsOf(bytes)
    c.arrivesAtMs = 0
    c.rounds = 0
  }

  /** Sends the message's missing segments (the request, or with `back` the reply); resends what is lost after the RTO. */
  private sendData(c: Connection, back: boolean): void {
    if (!this.wanted(c)) return
    const { host } = this
    const from = back ? c.target! : c.opener
    const to = back ? c.opener : c.target!
    const what = back ? c.answer : 'request'
    const now = host.now()
    const sending = c.missing
    if (c.rounds > 0) this.resent(c, what, from, to, sending, c.rounds)
    let lost = 0
    for (let i = 0; i < sending; i++) {
      const delay = host.network.routeSegment(from.index, to.index)
      if (delay < 0) lost++
      else if (now + delay > c.arrivesAtMs) c.arrivesAtMs = now + delay
    }
    c.missing = lost
    if (lost > 0) {
      this.vanished(c, what, from, to, ` ${lost}/${sending}`)
      const wait = Math.min(MAX_RTO_MS, c.rtoMs * 2 ** c.rounds)
      c.rounds++
      this.after(wait, () => this.sendData(c, back))
      return
    }
    if (back) host.queue.push(c.arrivesAtMs, new Item(STREAM_RESULT, c.opener, c.openerGen, null, null, null, c, c.outcome, null))
    else host.queue.push(c.arrivesAtMs, new Item(STREAM_REQUEST, to, c.targetGen, null, null, null, c, null, null))
  }

  // ------------------------------------------------------------------ helpers

  private after(ms: number, action: () => void): void {
    this.at(this.host.now() + ms, action)
  }

  private at(atMs: number, action: () => void): void {
    this.host.queue.push(Math.max(atMs, this.host.now()), new Item(ACTION, null, 0, null, null, null, null, null, action))
  }

  private resent(c: Connection, what: string, from: SimNode, to: SimNode, segments: number, round: number): void {
    const { host } = this
    host.network.stats.streamRetransmits += segments
    if (host.trace) host.trace(`${formatTimeMs(host.now())} stream#${c.id} resend ${what} ${from.name} > ${to.name}${segments > 1 ? ` ${segments} segments` : ''} #${round}`)
  }

  private vanished(c: Connection, what: string, from: SimNode, to: SimNode, detail: string): void {
    const { host } = this
    if (host.trace) host.trace(`${formatTimeMs(host.now())} stream#${c.id} ${host.network.lastFate === Fate.blocked ? 'blocked' : 'lost'} ${what} ${from.name} > ${to.name}${detail}`)
  }
}
