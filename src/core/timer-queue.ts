/**
 * A binary min-heap ordered by (dueAtMs, seq). Both runtimes use it, so that two timers due at the same
 * instant fire in the order they were scheduled, in production and in simulation alike.
 */
export interface QueueEntry<T> {
  readonly dueAtMs: number
  readonly seq: number
  readonly item: T
}

export class TimerQueue<T> {
  private heap: QueueEntry<T>[] = []
  private nextSeq = 0

  get size(): number {
    return this.heap.length
  }

  push(dueAtMs: number, item: T): QueueEntry<T> {
    const entry = { dueAtMs, seq: this.nextSeq++, item }
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(entry, h[parent])) break
      h[i] = h[parent]
      i = parent
    }
    h[i] = entry
    return entry
  }

  peek(): QueueEntry<T> | undefined {
    return this.heap[0]
  }

  pop(): QueueEntry<T> | undefined {
    const h = this.heap
    const top = h[0]
    if (top === undefined) return undefined
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && before(h[r], h[l]) ? r : l
        if (!before(h[c], last)) break
        h[i] = h[c]
        i = c
      }
      h[i] = last
    }
    return top
  }

  clear(): void {
    this.heap = []
  }
}

function before<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  return a.dueAtMs < b.dueAtMs || (a.dueAtMs === b.dueAtMs && a.seq < b.seq)
}
