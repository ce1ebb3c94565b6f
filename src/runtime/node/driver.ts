/**
 * The driver: runs one composed node (src/node/) on real sockets and the real clock.
 *
 *   socket / timer / user op ──▶ run(input) ──▶ node.handleX(…, nowMs, out) ──▶ drain(out):
 *       packets → UdpTransport.send     streams → TcpTransport.exchange (result → node.handleStreamReply)
 *       timers  → TimerQueue            events  → EventEmitter ('event', every NodeEvent)
 *
 * Sealing and opening (keys, label) happen inside the node, so what the driver moves are wire bytes.
 * Effects are performed after each input, as the simulator does. Timers — SWIM's and the node's own
 * (Serf's leave wait, query deadlines…) — go into the same TimerQueue the simulator uses (ordered by due
 * time, then by scheduling sequence), and one real setTimeout is armed for the earliest entry; timers due
 * at the same instant fire in scheduling order. The clock is `performance.now()` (monotonic). Each input
 * gets a fresh outbox, so an event listener that calls back into the node is an input of its own.
 *
 * Socket before timers (`timersAfterIo`, default on). libuv runs due timers before it polls the sockets,
 * so a process that was starved of CPU (descheduled, or busy in a long callback) wakes up with its probe
 * timeout due AND the ack that came in time unread in the kernel buffer, and the timeout would win: a
 * suspicion of a live member. So the setTimeout only schedules a setImmediate, which runs after the next
 * poll phase has delivered what is pending. libuv reads at most 32 datagrams per socket per poll phase, so
 * a turn that delivered that many may have left more behind: it yields once more, at most MAX_IO_YIELDS
 * times, so an endless packet stream delays timers by a bounded number of loop turns and never starves them.
 * Go's runtime, under Serf, reads the socket in its own goroutine and has no such order.
 */
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { CollectingOutbox } from '../../core/effects.js'
import type { StreamResult } from '../../core/effects.js'
import { TimerQueue } from '../../core/timer-queue.js'
import type { Address } from '../../core/types.js'
import type { ComposedNode, DropReason, NodeEvent, NodeOutbox, NodeTimer } from '../../node/index.js'
import type { TcpTransport } from './tcp.js'
import type { UdpTransport } from './udp.js'

/** setTimeout's largest delay; longer waits re-arm on the way. */
const MAX_TIMEOUT_MS = 2_147_483_647
/** Loop turns a due timer waits at most for the sockets while full batches keep arriving. */
export const MAX_IO_YIELDS = 8
/** Datagrams libuv reads from one UDP socket per poll phase (uv__udp_recvmsg); a full batch may leave more. */
const UV_UDP_BATCH = 32

export interface DriverOptions {
  /** Due timers wait for the sockets' pending datagrams first (see the header). Default true. */
  readonly timersAfterIo?: boolean
}

export class Driver {
  readonly events = new EventEmitter()
  private readonly timers = new TimerQueue<NodeTimer>()
  private handle: ReturnType<typeof setTimeout> | undefined
  private immediate: ReturnType<typeof setImmediate> | undefined
  private armedDueMs = Infinity
  private readonly timersAfterIo: boolean
  /** Datagrams handed to the node so far; a yield that saw a full batch arrive yields again. */
  private packetsIn = 0
  /** Loop turns the due timers yielded to the sockets (driver.timerYields, for tests and benches). */
  timerYields = 0
  private stopped = false
  private udp: UdpTransport | undefined
  private tcp: TcpTransport | undefined

  constructor(readonly node: ComposedNode, options: DriverOptions = {}) {
    this.timersAfterIo = options.timersAfterIo ?? true
  }

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

  /** Runs one input against the node and performs its effects. */
  run<T>(input: (nowMs: number, out: NodeOutbox) => T): T {
    const out = new CollectingOutbox<NodeTimer, NodeEvent>()
    try {
      return input(this.now(), out)
    } finally {
      this.drain(out)
    }
  }

  packet(from: Address, bytes: Uint8Array): void {
    if (this.stopped) return
    this.packetsIn++
    this.run((now, out) => this.node.handlePacket(from, bytes, now, out))
  }

  streamRequest(from: Address, bytes: Uint8Array): Uint8Array | null {
    if (this.stopped) return null
    return this.run((now, out) => this.node.handleStreamRequest(from, bytes, now, out))
  }

  /** A drop the runtime saw before the node did: counted with the protocol's drops and reported. */
  dropped(reason: DropReason, from: Address | undefined, detail: string): void {
    if (this.stopped) return
    this.run((_now, out) => this.node.dropped(reason, from, detail, out))
  }

  /** Stops timers and ignores all later input. Sockets are the caller's to close. */
  stop(): void {
    this.stopped = true
    if (this.handle !== undefined) clearTimeout(this.handle)
    if (this.immediate !== undefined) clearImmediate(this.immediate)
    this.handle = undefined
    this.immediate = undefined
    this.armedDueMs = Infinity
    this.timers.clear()
  }

  private drain(out: CollectingOutbox<NodeTimer, NodeEvent>): void {
    if (this.stopped) return
    const { packets, streams, timers, events } = out
    out.clear()
    const nowMs = this.now()
    for (const p of packets) {
      const refused = this.udp?.send(p.to, p.bytes, (reason) => this.dropped('send-failed', p.to, reason))
      if (refused !== undefined) this.dropped(`send-${refused}`, p.to, `datagram to ${p.to.ip}:${p.to.port} not sent`)
    }
    for (const s of streams) {
      this.tcp?.exchange(s.to, s.bytes, s.timeoutMs, s.expectReply, (result: StreamResult) => {
        if (this.stopped) return
        this.run((now, o) => this.node.handleStreamReply(s.exchangeId, result, now, o))
      })
    }
    for (const t of timers) this.timers.push(nowMs + t.afterMs, t.timer)
    this.arm()
    for (const e of events) this.events.emit('event', e)
  }

  /**
   * Keeps one setTimeout armed for the earliest queued timer. Timers that would do nothing (a probe
   * timeout whose ack came, a gossip round re-armed: node.timerIsLive) are dropped from the head first,
   * so an idle node does not wake for them; the simulator drops them the same way.
   */
  private arm(): void {
    // A pass is waiting for the sockets; it re-arms when it has run.
    if (this.stopped || this.immediate !== undefined) return
    let next = this.timers.peek()
    while (next !== undefined && !this.node.timerIsLive(next.item)) {
      this.timers.pop()
      next = this.timers.peek()
    }
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
    this.handle = setTimeout(() => this.due(), delay)
  }

  /** The setTimeout came: fire now, or first let the next poll phase deliver pending datagrams. */
  private due(): void {
    this.handle = undefined
    this.armedDueMs = Infinity
    if (!this.timersAfterIo) return this.fire()
    this.yieldToIo(0)
  }

  private yieldToIo(yields: number): void {
    const seen = this.packetsIn
    this.timerYields++
    this.immediate = setImmediate(() => {
      this.immediate = undefined
      if (this.stopped) return
      if (this.packetsIn - seen >= UV_UDP_BATCH && yields + 1 < MAX_IO_YIELDS) return this.yieldToIo(yields + 1)
      this.fire()
    })
  }

  /** Fires every timer that is due, one input each, in (due time, sequence) order. */
  private fire(): void {
    try {
      // Timers scheduled by these inputs with a zero delay are due too and run in this same pass.
      for (;;) {
        if (this.stopped) return
        const next = this.timers.peek()
        if (next === undefined || next.dueAtMs > this.now()) break
        this.timers.pop()
        if (!this.node.timerIsLive(next.item)) continue
        this.run((now, out) => this.node.handleTimer(next.item, now, out))
      }
    } finally {
      this.arm()
    }
  }
}
