/**
 * The driver: runs one Swim state machine on real sockets and the real clock.
 *
 *   socket / timer / user op ──▶ run(input) ──▶ swim.handleX(…, nowMs, out) ──▶ drain(out):
 *       packets → UdpTransport.send     streams → TcpTransport.exchange (result → run(handleStreamReply))
 *       timers  → TimerQueue            events  → EventEmitter ('event')
 *
 * With a WireSecurity (keys or a cluster label), every datagram and stream message is sealed on the way
 * out and opened on the way in here, around the protocol (memberlist's order, spec 4.1): what cannot
 * be opened (wrong key, no key, plaintext where encryption is required, another label) is counted and
 * dropped before the protocol sees it; a stream request that cannot be opened is answered with an
 * error message, as memberlist does.
 *
 * Effects are performed after each input, as the simulator does. Timers go into the same TimerQueue the
 * simulator uses (ordered by due time, then by scheduling sequence), and one real setTimeout is armed
 * for the earliest entry; timers due at the same instant fire in scheduling order. The clock is
 * `performance.now()` (monotonic). Each input gets a fresh outbox, so an event listener that calls
 * back into the node (setTags in a handler, say) is an input of its own.
 */
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { CollectingOutbox } from '../../core/effects.js'
import type { StreamResult } from '../../core/effects.js'
import { TimerQueue } from '../../core/timer-queue.js'
import type { Address } from '../../core/types.js'
import type { DropReason, SwimEvent } from '../../swim/events.js'
import type { Swim } from '../../swim/swim.js'
import type { SwimOutbox } from '../../swim/outbox.js'
import type { SwimTimer } from '../../swim/timers.js'
import type { DecodeError } from '../../wire/decode-error.js'
import type { WireSecurity } from '../../wire/security.js'
import type { TcpTransport } from './tcp.js'
import type { UdpTransport } from './udp.js'

/** A datagram or stream this node sent or received (plaintext), for observers (the dashboard's gossip view). */
export interface Traffic {
  readonly direction: 'in' | 'out'
  readonly kind: 'packet' | 'stream'
  readonly peer: Address
  readonly bytes: Uint8Array
}

/** setTimeout's largest delay; longer waits re-arm on the way. */
const MAX_TIMEOUT_MS = 2_147_483_647

export class Driver {
  readonly events = new EventEmitter()
  private readonly timers = new TimerQueue<SwimTimer>()
  private handle: ReturnType<typeof setTimeout> | undefined
  private armedDueMs = Infinity
  private stopped = false
  private udp: UdpTransport | undefined
  private tcp: TcpTransport | undefined

  constructor(readonly swim: Swim, readonly security?: WireSecurity) {}

  /** The transports, attached once both are bound. */
  attach(udp: UdpTransport, tcp: TcpTransport): void {
    this.udp = udp
    this.tcp = tcp
  }

  now(): number {
    return performance.now()
  }

  get isStopped(): boolean {
    return this.stopped
  }

  /** Runs one input against the state machine and performs its effects. */
  run<T>(input: (nowMs: number, out: SwimOutbox) => T): T {
    const out = new CollectingOutbox<SwimTimer, SwimEvent>()
    try {
      return input(this.now(), out)
    } finally {
      this.drain(out)
    }
  }

  packet(from: Address, bytes: Uint8Array): void {
    if (this.stopped) return
    let plain = bytes
    if (this.security !== undefined) {
      const opened = this.security.openPacket(bytes)
      if (!opened.ok) {
        this.swim.stats.packetsIn++
        this.swim.stats.bytesIn += bytes.length
        return this.rejected(opened.error, from)
      }
      plain = opened.value
      // The protocol counts what it decodes; the envelope is on the wire too.
      this.swim.stats.bytesIn += bytes.length - plain.length
    }
    this.observe('in', 'packet', from, plain)
    this.run((now, out) => this.swim.handlePacket(from, plain, now, out))
  }

  streamRequest(from: Address, bytes: Uint8Array): Uint8Array | null {
    if (this.stopped) return null
    const sec = this.security
    if (sec === undefined) return this.serveStream(from, bytes)
    const opened = sec.openStream(bytes, true)
    this.swim.stats.streamBytesIn += bytes.length - (opened.ok ? opened.value.length : 0)
    if (!opened.ok) {
      this.rejected(opened.error, from)
      const reply = sec.rejectedRequestReply(opened.error)
      if (reply !== null) this.swim.stats.streamBytesOut += reply.length
      return reply
    }
    const reply = this.serveStream(from, opened.value)
    return reply === null ? null : this.sealedStream(sec, reply, false)
  }

  /** Runs a (plaintext) stream request; observers see it and the reply. */
  private serveStream(from: Address, bytes: Uint8Array): Uint8Array | null {
    this.observe('in', 'stream', from, bytes)
    const reply = this.run((now, out) => this.swim.handleStreamRequest(from, bytes, now, out))
    if (reply !== null) this.observe('out', 'stream', from, reply)
    return reply
  }

  /** Seals a stream message, counting the envelope as wire bytes. */
  private sealedStream(sec: WireSecurity, bytes: Uint8Array, dialer: boolean): Uint8Array {
    const sealed = sec.sealStream(bytes, dialer)
    this.swim.stats.streamBytesOut += sealed.length - bytes.length
    return sealed
  }

  /** Seals a packet, counting the envelope as wire bytes. */
  private sealedPacket(sec: WireSecurity, bytes: Uint8Array): Uint8Array {
    const sealed = sec.sealPacket(bytes)
    this.swim.stats.bytesOut += sealed.length - bytes.length
    return sealed
  }

  /** Input the security layer refused: counted like a decode error, reported, never seen by the protocol. */
  private rejected(err: DecodeError, from: Address): void {
    this.swim.stats.decodeError(err.reason)
    this.dropped(err.reason, from, err.detail)
  }

  /** A drop the runtime saw before the protocol did: counted with the protocol's drops and reported. */
  dropped(reason: DropReason, from: Address | undefined, detail: string): void {
    if (this.stopped) return
    this.swim.stats.drop(reason)
    const event: SwimEvent = { type: 'dropped', reason, from: from ?? { ip: '0.0.0.0', port: 0 }, detail }
    this.events.emit('event', event)
  }

  /** Stops timers and ignores all later input. Sockets are the caller's to close. */
  stop(): void {
    this.stopped = true
    if (this.handle !== undefined) clearTimeout(this.handle)
    this.handle = undefined
    this.armedDueMs = Infinity
    this.timers.clear()
  }

  private drain(out: CollectingOutbox<SwimTimer, SwimEvent>): void {
    if (this.stopped) return
    const { packets, streams, timers, events } = out
    out.clear()
    const nowMs = this.now()
    const sec = this.security
    for (const p of packets) {
      this.observe('out', 'packet', p.to, p.bytes)
      const refused = this.udp?.send(p.to, sec === undefined ? p.bytes : this.sealedPacket(sec, p.bytes), (reason) => this.dropped('send-failed', p.to, reason))
      if (refused !== undefined) this.dropped(`send-${refused}`, p.to, `datagram to ${p.to.ip}:${p.to.port} not sent`)
    }
    for (const s of streams) {
      this.observe('out', 'stream', s.to, s.bytes)
      this.tcp?.exchange(s.to, sec === undefined ? s.bytes : this.sealedStream(sec, s.bytes, true), s.timeoutMs, s.expectReply, (result: StreamResult) => {
        if (this.stopped) return
        const opened = sec === undefined || !result.ok || !s.expectReply ? result : this.openReply(sec, s.to, result.bytes)
        this.run((now, o) => this.swim.handleStreamReply(s.exchangeId, opened, now, o))
      })
    }
    for (const t of timers) this.timers.push(nowMs + t.afterMs, t.timer)
    this.arm()
    for (const e of events) this.events.emit('event', e)
  }

  /** A reply to our stream request, opened (see WireSecurity.openReply); one that cannot be is counted. */
  private openReply(sec: WireSecurity, from: Address, bytes: Uint8Array): StreamResult {
    const opened = sec.openReply(bytes)
    this.swim.stats.streamBytesIn += bytes.length - (opened.error === undefined ? opened.bytes.length : 0)
    if (opened.error !== undefined) this.rejected(opened.error, from)
    return { ok: true, bytes: opened.bytes }
  }

  /** Emits `traffic` only when someone listens, so an unobserved node pays one counter read. */
  private observe(direction: Traffic['direction'], kind: Traffic['kind'], peer: Address, bytes: Uint8Array): void {
    if (this.events.listenerCount('traffic') > 0) this.events.emit('traffic', { direction, kind, peer, bytes } satisfies Traffic)
  }

  /** Keeps one setTimeout armed for the earliest queued timer. */
  private arm(): void {
    if (this.stopped) return
    const next = this.timers.peek()
    if (next === undefined) {
      if (this.handle !== undefined) clearTimeout(this.handle)
      this.handle = undefined
      this.armedDueMs = Infinity
      return
    }
    if (this.handle !== undefined && this.armedDueMs <= next.dueAtMs) return
    if (this.handle !== undefined) clearTimeout(this.handle)
    this.armedDueMs = next.dueAtMs
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(next.dueAtMs - this.now())))
    this.handle = setTimeout(() => this.fire(), delay)
  }

  /** Fires every timer that is due, one input each, in (due time, sequence) order. */
  private fire(): void {
    this.handle = undefined
    this.armedDueMs = Infinity
    try {
      // Timers scheduled by these inputs with a zero delay are due too and run in this same pass.
      for (;;) {
        if (this.stopped) return
        const next = this.timers.peek()
        if (next === undefined || next.dueAtMs > this.now()) break
        this.timers.pop()
        this.run((now, out) => this.swim.handleTimer(next.item, now, out))
      }
    } finally {
      this.arm()
    }
  }
}
