/**
 * The user events a datacenter's LAN pool fired recently, as one server saw them: what lets a relay
 * retried through another server (failover) not fire an event twice.
 *
 *   LAN user event (name, payload, lTime) seen at nowMs ──record──▶ ring of the last EVENTS_MAX
 *   retried relay request (retry: true) for (name, payload) ──firedSince(nowMs − window)──▶ lTime | undefined
 *
 * Why it works: a relay is retried only when the first server did not answer. If that server fired
 * the event, the LAN pool gossiped it to every node, this one included, within a second or two, long
 * before the retry arrives (a hop's deadline is seconds). So an identical event seen in the window
 * is taken as the first attempt's, and the retry answers with its Lamport time instead of firing.
 * The cost, stated: an identical event (same name and payload) fired by someone else within the
 * window makes a retried relay report that one. A first attempt is never deduplicated.
 */
import { bytesEqual } from '../swim/member.js'

/** How far back a retried relay looks for its event (a relay's hops and failovers end well within it). */
export const FIRED_EVENTS_WINDOW_MS = 60_000
const EVENTS_MAX = 256

interface Fired {
  readonly name: string
  readonly payload: Uint8Array
  readonly lTime: number
  readonly atMs: number
}

export class FiredEvents {
  private readonly ring: Fired[] = []

  /** A user event seen in the LAN pool (gossiped to us, or fired here). */
  record(name: string, payload: Uint8Array, lTime: number, nowMs: number): void {
    if (this.ring.length >= EVENTS_MAX) this.ring.shift()
    this.ring.push({ name, payload: payload.slice(), lTime, atMs: nowMs })
  }

  /** The Lamport time of the latest identical event seen within the window before nowMs, if any. */
  firedRecently(name: string, payload: Uint8Array, nowMs: number, windowMs = FIRED_EVENTS_WINDOW_MS): number | undefined {
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const f = this.ring[i]
      if (f.atMs < nowMs - windowMs) break
      if (f.name === name && bytesEqual(f.payload, payload)) return f.lTime
    }
    return undefined
  }
}
