/**
 * Duplicate suppression with bounded memory: the ids of delivered rumors, remembered for a time window
 * and at most `maxEntries` of them.
 *
 * Entries are kept in a Map in insertion order, which is time order because `nowMs` is monotonic, so
 * expiry and eviction both pop from the front: O(1) amortised per rumor, memory O(maxEntries).
 *
 * Known weak spot: an id forgotten early (the set was full before the window ended) or a copy arriving
 * after the window would be delivered again. The engine makes the second impossible in practice (rumors
 * older than maxRumorAgeMs ≤ window / 2 are neither forwarded nor accepted) and counts the first
 * (`evictedEarly`) so an operator sees when dedupeMaxEntries is too small for the broadcast rate.
 */
import { rumorKey, type RumorId } from './messages.js'

export class SeenSet {
  private readonly firstSeenMs = new Map<string, number>()
  /** Ids forgotten because the set was full, before their window ended. */
  evictedEarly = 0

  /** The most recently added ids, newest at `recentNext - 1` (a ring of `recentCap`), for pull digests. */
  private readonly recent: Array<RumorId | undefined>
  private recentNext = 0

  constructor(
    readonly windowMs: number,
    readonly maxEntries: number,
    readonly recentCap = 0,
  ) {
    this.recent = new Array<RumorId | undefined>(recentCap).fill(undefined)
  }

  get size(): number {
    return this.firstSeenMs.size
  }

  has(key: string): boolean {
    return this.firstSeenMs.has(key)
  }

  /** Records `key` as seen at `nowMs` (callers check `has` first). Evicts the oldest when full. */
  add(key: string, id: RumorId, nowMs: number): void {
    this.expire(nowMs)
    while (this.firstSeenMs.size >= this.maxEntries) {
      const oldest = this.firstSeenMs.entries().next().value
      if (oldest === undefined) break
      this.firstSeenMs.delete(oldest[0])
      if (oldest[1] + this.windowMs > nowMs) this.evictedEarly++
    }
    this.firstSeenMs.set(key, nowMs)
    if (this.recentCap > 0) {
      this.recent[this.recentNext] = id
      this.recentNext = (this.recentNext + 1) % this.recentCap
    }
  }

  /** Forgets ids whose window has ended. */
  expire(nowMs: number): void {
    for (const [key, at] of this.firstSeenMs) {
      if (at + this.windowMs > nowMs) break
      this.firstSeenMs.delete(key)
    }
  }

  /** Up to `n` of the most recently added ids still remembered, newest first. */
  newest(n: number): RumorId[] {
    const out: RumorId[] = []
    for (let i = 1; i <= this.recentCap && out.length < n; i++) {
      const id = this.recent[(this.recentNext - i + this.recentCap) % this.recentCap]
      if (id === undefined) break
      if (this.firstSeenMs.has(rumorKey(id))) out.push(id)
    }
    return out
  }
}
