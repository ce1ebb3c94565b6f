/**
 * The core contract: protocol objects never perform effects, they write them into an Outbox.
 *
 *   runtime ── handlePacket / handleStreamRequest / handleStreamReply / handleTimer / user op ──▶ protocol
 *   protocol ── send / openStream / schedule / emit ──▶ Outbox ──▶ runtime performs them
 *
 * Timers are plain tagged values that are never cancelled: the protocol carries an epoch in the timer
 * and ignores stale ones when they fire.
 */
import type { Address } from './types.js'

/** The outcome of a stream exchange the protocol opened, as the runtime reports it. */
export type StreamResult =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: StreamFailure }

/** Why a stream exchange failed. `refused`: nothing listened; `timeout`: deadline passed; `reset`: broken mid-way. */
export type StreamFailure = 'refused' | 'timeout' | 'reset' | 'unreachable'

export interface Outbox<Timer, Event> {
  /** Send one datagram. Best effort: it may be lost, duplicated or reordered. */
  send(to: Address, bytes: Uint8Array): void
  /**
   * Open a stream to `to`, write `bytes` and wait up to `timeoutMs` for one reply message (or for the
   * write to complete when `expectReply` is false). The runtime answers with handleStreamReply(exchangeId, …).
   */
  openStream(to: Address, bytes: Uint8Array, exchangeId: number, timeoutMs: number, expectReply: boolean): void
  /** Call handleTimer(timer) after `afterMs` milliseconds. Never cancelled. */
  schedule(timer: Timer, afterMs: number): void
  /** Report an event to the application. */
  emit(event: Event): void
}

export interface SentPacket { readonly to: Address; readonly bytes: Uint8Array }
export interface OpenedStream {
  readonly to: Address
  readonly bytes: Uint8Array
  readonly exchangeId: number
  readonly timeoutMs: number
  readonly expectReply: boolean
}
export interface ScheduledTimer<Timer> { readonly timer: Timer; readonly afterMs: number }

/** Records effects for tests and for runtimes that perform them after each input. */
export class CollectingOutbox<Timer, Event> implements Outbox<Timer, Event> {
  packets: SentPacket[] = []
  streams: OpenedStream[] = []
  timers: ScheduledTimer<Timer>[] = []
  events: Event[] = []

  send(to: Address, bytes: Uint8Array): void {
    this.packets.push({ to, bytes })
  }
  openStream(to: Address, bytes: Uint8Array, exchangeId: number, timeoutMs: number, expectReply: boolean): void {
    this.streams.push({ to, bytes, exchangeId, timeoutMs, expectReply })
  }
  schedule(timer: Timer, afterMs: number): void {
    this.timers.push({ timer, afterMs })
  }
  emit(event: Event): void {
    this.events.push(event)
  }
  get isEmpty(): boolean {
    return this.packets.length + this.streams.length + this.timers.length + this.events.length === 0
  }
  clear(): void {
    this.packets = []
    this.streams = []
    this.timers = []
    this.events = []
  }
}
