/**
 * memberlist's TransmitLimitedQueue (queue.go): broadcasts piggybacked on packets, each retransmitted
 * up to retransmitLimit(n) times.
 *
 * - A new broadcast about the same name (a node) replaces the queued one: newer state invalidates older.
 * - Selection: fewest transmits first; within a transmit count, the largest that still fits; ties go to
 *   the newest. Each pick costs len + overhead. An item is retired when transmits reach the limit.
 * - Bounded: beyond `maxItems`, the most-transmitted (then oldest) items are dropped and counted.
 */
export interface QueuedBroadcast {
  readonly name: string
  readonly bytes: Uint8Array
  readonly id: number
  transmits: number
  /** Called when the broadcast is retired (sent limit times) or replaced. */
  readonly onDone?: (reason: 'sent' | 'replaced' | 'dropped') => void
}

export class BroadcastQueue {
  private readonly byName = new Map<string, QueuedBroadcast>()
  private items: QueuedBroadcast[] = []
  private sorted = true
  private nextId = 0
  dropped = 0

  constructor(private readonly maxItems = 4096) {}

  get size(): number {
    return this.items.length
  }

  queue(name: string, bytes: Uint8Array, onDone?: QueuedBroadcast['onDone']): void {
    const old = this.byName.get(name)
    if (old) {
      this.remove(old)
      old.onDone?.('replaced')
    }
    const item: QueuedBroadcast = { name, bytes, id: this.nextId++, transmits: 0, onDone }
    this.byName.set(name, item)
    this.items.push(item)
    this.sorted = false
    if (this.items.length > this.maxItems) this.prune()
  }

  /** Picks broadcasts fitting in limitBytes, each costing its length + overheadBytes. */
  take(overheadBytes: number, limitBytes: number, transmitLimit: number): Uint8Array[] {
    if (this.items.length === 0) return []
    if (!this.sorted) {
      this.items.sort(order)
      this.sorted = true
    }
    const out: Uint8Array[] = []
    let used = 0
    let retired = false
    for (const item of this.items) {
      const cost = item.bytes.length + overheadBytes
      if (used + cost > limitBytes) continue
      used += cost
      out.push(item.bytes)
      item.transmits++
      if (item.transmits >= transmitLimit) {
        this.byName.delete(item.name)
        retired = true
      }
      if (limitBytes - used < overheadBytes + 1) break
    }
    if (out.length > 0) {
      this.sorted = false
      if (retired) {
        const keep: QueuedBroadcast[] = []
        for (const item of this.items) {
          if (item.transmits >= transmitLimit) item.onDone?.('sent')
          else keep.push(item)
        }
        this.items = keep
      }
    }
    return out
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  clear(): void {
    this.byName.clear()
    this.items = []
  }

  private remove(item: QueuedBroadcast): void {
    this.byName.delete(item.name)
    const i = this.items.indexOf(item)
    if (i >= 0) this.items.splice(i, 1)
  }

  private prune(): void {
    this.items.sort(order)
    while (this.items.length > this.maxItems) {
      const victim = this.items.pop()!
      this.byName.delete(victim.name)
      this.dropped++
      victim.onDone?.('dropped')
    }
  }
}

function order(a: QueuedBroadcast, b: QueuedBroadcast): number {
  if (a.transmits !== b.transmits) return a.transmits - b.transmits
  if (a.bytes.length !== b.bytes.length) return b.bytes.length - a.bytes.length
  return b.id - a.id
}
