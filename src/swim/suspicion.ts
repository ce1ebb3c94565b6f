/**
 * One suspicion of one member (memberlist suspicion.go, Lifeguard's dynamic suspicion).
 *
 *   accuser A ──suspect(X)──▶ us: timer starts at max (k ≥ 1) or min (k = 0)
 *   each new independent accuser B, C… (at most k): timer shrinks towards min, logarithmically
 *   timer fires while X still suspect at the same incarnation ──▶ dead(X, from: us)
 *     (with finalProbe: ──▶ one more probe of X; no ack ──▶ dead; an ack ──▶ again a probe interval later)
 *   calm healing's check (a third node's dead notice about X, which we last heard from too long ago to
 *   know it outlived the accusation): ──▶ probe X now; no ack ──▶ dead; an ack ──▶ the timer runs on
 *
 * The original accuser never counts twice. The epoch changes whenever the deadline moves, so the
 * timer scheduled for the old deadline is recognised as stale when it fires.
 */
import { remainingSuspicionMs } from './formulas.js'

export class Suspicion {
  private readonly confirmedBy = new Set<string>()
  private confirmations = 0
  epoch: number
  /** When we last sent the suspicion straight to the member (suspicionReminders). */
  remindedMs: number
  /** The sequence number of the final probe in flight (finalProbe), if any: its end decides. */
  finalProbeSeq: number | undefined
  /** The probe in flight is calm healing's check of a third node's dead notice, not the final probe. */
  checking = false

  constructor(
    readonly member: string,
    readonly incarnation: number,
    from: string,
    readonly startMs: number,
    readonly k: number,
    readonly minMs: number,
    readonly maxMs: number,
    epoch: number,
  ) {
    this.confirmedBy.add(from)
    this.epoch = epoch
    this.remindedMs = startMs
  }

  /** The first timeout, from the start. */
  initialTimeoutMs(): number {
    return this.k >= 1 ? this.maxMs : this.minMs
  }

  /** Time left (ms, ≤ 0 = due) until the deadline the confirmations so far give. */
  remainingMs(nowMs: number): number {
    return remainingSuspicionMs(this.confirmations, this.k, nowMs - this.startMs, this.minMs, this.maxMs)
  }

  get confirmationCount(): number {
    return this.confirmations
  }

  /**
   * Records an independent confirmation. Returns the new remaining time (ms, ≤ 0 = fire now) when it
   * was new and moved the deadline, or undefined when it did not count (duplicate, or k reached).
   */
  confirm(from: string, nowMs: number): number | undefined {
    if (this.confirmations >= this.k) return undefined
    if (this.confirmedBy.has(from)) return undefined
    this.confirmedBy.add(from)
    this.confirmations++
    return remainingSuspicionMs(this.confirmations, this.k, nowMs - this.startMs, this.minMs, this.maxMs)
  }
}
