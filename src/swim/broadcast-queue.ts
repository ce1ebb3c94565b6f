/**
 * memberlist's TransmitLimitedQueue (queue.go): broadcasts piggybacked on packets, each retransmitted
 * up to retransmitLimit(n) times.
 *
 * - A new broadcast about the same name (a node) replaces the queued one: newer state invalidates older.
 * - Selection: fewest transmits first; within a transmit count, the largest that still fits; ties go to
 *   the newest. Each pick costs len + overhead. An item is retired when transmits reach the limit.
 * - Distinct peers (optional, per take): given the packet's destination and a count d, an item already
 *   sent to that destination is skipped (it keeps its transmits) until it has gone to d distinct ones
 *   (or its own minTransmits, when larger: a broadcast that should reach that many peers itself).
 * - Bounded: beyond `maxItems`, the most-transmitted (then smallest, oldest) items are dropped and counted.
 *
 * Layout: one bucket per transmit count, each kept sorted by (size desc, id desc), so a take walks the
 * buckets in selection order and finds "the largest that still fits" by binary search, without sorting
 * the whole queue per packet (which dominated a 1000-node join).
 */
export interface QueuedBroadcast {
  readonly name: string
  readonly bytes: Uint8Array
  readonly id: number
  transmits: number
  /** The destinations it went to, while fewer than the take's distinct count (distinct-peer takes only). */
  sentTo?: string[]
  /** At least this many transmits, whatever the take's limit (and, in distinct-peer takes, this many distinct peers). */
  readonly minTransmits?: number
  /** Called when the broadcast is retired (sent limit times), replaced or dropped. */
  readonly onDone?: (reason: 'sent' | 'replaced' | 'dropped') => void
}

export class BroadcastQueue {
  private readonly byName = new Map<string, QueuedBroadcast>()
  private readonly buckets: QueuedBroadcast[][] = []
  private count = 0
  private nextId = 0
  dropped = 0

  constructor(private readonly maxItems = 4096) {}

  get size(): number {
    return this.count
  }

  queue(name: string, bytes: Uint8Array, onDone?: QueuedBroadcast['onDone'], minTransmits?: number): void {
    const old = this.byName.get(name)
    if (old) {
      this.removeFromBucket(old)
      this.byName.delete(name)
      this.count--
      old.onDone?.('replaced')
    }
    const item: QueuedBroadcast = { name, bytes, id: this.nextId++, transmits: 0, onDone, minTransmits }
    this.byName.set(name, item)
    this.insert(item)
    this.count++
    if (this.count > this.maxItems) this.prune()
  }

  /**
   * Picks broadcasts fitting in limitBytes, each costing its length + overheadBytes. With `dest` and
   * `distinct` > 0, items already sent to `dest` are passed over until they reached `distinct` peers.
   */
  take(overheadBytes: number, limitBytes: number, transmitLimit: number, dest?: string, distinct = 0): Uint8Array[] {
    if (this.count === 0) return []
    const picked: QueuedBroadcast[] = []
    let used = 0
    scan: for (let t = 0; t < this.buckets.length; t++) {
      const bucket = this.buckets[t]
      if (bucket === undefined || bucket.length === 0) continue
      let i = firstFitting(bucket, limitBytes - used - overheadBytes, 0)
      while (i < bucket.length) {
        const item = bucket[i]
        if (distinct > 0 && dest !== undefined && item.sentTo !== undefined && item.sentTo.length < Math.max(distinct, item.minTransmits ?? 0) && item.sentTo.includes(dest)) {
          i = firstFitting(bucket, limitBytes - used - overheadBytes, i + 1)
          continue
        }
        used += item.bytes.length + overheadBytes
        picked.push(item)
        if (limitBytes - used < overheadBytes + 1) break scan
        i = firstFitting(bucket, limitBytes - used - overheadBytes, i + 1)
      }
    }
    if (picked.length === 0) return []
    const out: Uint8Array[] = new Array<Uint8Array>(picked.length)
    for (let k = 0; k < picked.length; k++) out[k] = picked[k].bytes
    if (distinct > 0 && dest !== undefined) {
      for (const item of picked) {
        const sent = (item.sentTo ??= [])
        if (sent.length < Math.max(distinct, item.minTransmits ?? 0) && !sent.includes(dest)) sent.push(dest)
      }
    }
    this.advance(picked, transmitLimit)
    return out
  }

  /**
   * Moves the picked items up one transmit count, highest count first (the order their onDone calls
   * come in). Each leaves its bucket and enters the next by binary search and splice: a packet picks a
   * few items out of buckets that hold up to one per member, so moving the few (a memmove each) costs
   * less than rebuilding the whole bucket, which during a 1,000-node join was done for every packet.
   */
  private advance(picked: readonly QueuedBroadcast[], transmitLimit: number): void {
    // `picked` runs in ascending transmit count: walk its runs from the last one back.
    let end = picked.length
    while (end > 0) {
      const t = picked[end - 1].transmits
      let begin = end - 1
      while (begin > 0 && picked[begin - 1].transmits === t) begin--
      for (let k = begin; k < end; k++) {
        const item = picked[k]
        this.removeFromBucket(item)
        item.transmits = t + 1
        if (item.transmits >= Math.max(transmitLimit, item.minTransmits ?? 0)) {
          this.byName.delete(item.name)
          this.count--
          item.onDone?.('sent')
        } else {
          this.insert(item)
        }
      }
      end = begin
    }
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  clear(): void {
    this.byName.clear()
    this.buckets.length = 0
    this.count = 0
  }

  private insert(item: QueuedBroadcast): void {
    let bucket = this.buckets[item.transmits]
    if (bucket === undefined) {
      for (let t = this.buckets.length; t <= item.transmits; t++) this.buckets.push([])
      bucket = this.buckets[item.transmits]
    }
    bucket.splice(position(bucket, item), 0, item)
  }

  private removeFromBucket(item: QueuedBroadcast): void {
    const bucket = this.buckets[item.transmits]
    // The sort key is unique per item (ids are), so the binary search lands on it.
    const at = position(bucket, item)
    if (bucket[at] === item) bucket.splice(at, 1)
  }

  private prune(): void {
    for (let t = this.buckets.length - 1; t >= 0 && this.count > this.maxItems; t--) {
      const bucket = this.buckets[t]
      while (bucket.length > 0 && this.count > this.maxItems) {
        const victim = bucket.pop()!
        this.byName.delete(victim.name)
        this.count--
        this.dropped++
        victim.onDone?.('dropped')
      }
    }
  }
}

/** a sorts before b: larger first, then newer first. */
function before(a: QueuedBroadcast, b: QueuedBroadcast): boolean {
  if (a.bytes.length !== b.bytes.length) return a.bytes.length > b.bytes.length
  return a.id > b.id
}

/** Index of the first element that does not sort before `item` in (size desc, id desc). */
function position(bucket: readonly QueuedBroadcast[], item: QueuedBroadcast): number {
  let lo = 0
  let hi = bucket.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(bucket[mid], item)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the first item at or after `from` whose size is ≤ room (the bucket is sorted by size desc). */
function firstFitting(bucket: readonly QueuedBroadcast[], room: number, from: number): number {
  if (room < 0) return bucket.length
  let lo = from
  let hi = bucket.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bucket[mid].bytes.length > room) lo = mid + 1
    else hi = mid
  }
  return lo
}
