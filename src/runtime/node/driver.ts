/**
 * The driver: runs one Swim state machine on real sockets and the real clock.
 *
 *   socket / timer / user op ──▶ run(input) ──▶ swim.handleX(…, nowMs, out) ──▶ drain(out):
 *       packets → UdpTransport.send     streams → TcpTransport.exchange (result → run(handleStreamReply))
 *       timers  → TimerQueue            events  → EventEmitter ('event')
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
import type { SwimEvent } from '../../swim/events.js'
import type { Swim, SwimOutbox } from '../../swim/swim.js'
import type { SwimTimer } from '../../swim/timers.js'
import type { TcpTransport } from './tcp.js'
import type { UdpTransport } from './udp.js'

/** A datagram or stream this node sent or received, for observers (the dashboard's gossip view). */
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

  constructor(readonly swim: Swim) {}

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
    this.observe('in', 'packet', from, bytes)
    this.run((now, out) => this.swim.handlePacket(from, bytes, now, out))
  }

  streamRequest(from: Address, bytes: Uint8Array): Uint8Array | null {
    if (this.stopped) return null
    this.observe('in', 'stream', from, bytes)
    const reply = this.run((now, out) => this.swim.handleStreamRequest(from, bytes, now, out))
    if (reply !== null) this.observe('out', 'stream', from, reply)
    return reply
  }

  /** A drop the runtime saw before the protocol did: counted with the protocol's drops and reported. */
  dropped(reason: string, from: Address | undefined, detail: string): void {
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
    for (const p of packets) {
      this.observe('out', 'packet', p.to, p.bytes)
      const refused = this.udp?.send(p.to, p.bytes, (reason) => this.dropped('send-failed', p.to, reason))
      if (refused !== undefined) this.dropped(`send-${refused}`, p.to, `datagram to ${p.to.ip}:${p.to.port} not sent`)
    }
    for (const s of streams) {
      this.observe('out', 'stream', s.to, s.bytes)
      this.tcp?.exchange(s.to, s.bytes, s.timeoutMs, s.expectReply, (result: StreamResult) => {
        if (this.stopped) return
        this.run((now, o) => this.swim.handleStreamReply(s.exchangeId, result, now, o))
      })
    }
    for (const t of timers) this.timers.push(nowMs + t.afterMs, t.timer)
    this.arm()
    for (const e of events) this.events.emit('event', e)
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
