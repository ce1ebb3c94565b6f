/**
 * The simulator's event queue: a binary min-heap of Items ordered by (due time, push sequence), the
 * order of core/timer-queue.ts (same-instant items in the order they were pushed), kept as parallel
 * arrays instead of one entry object per item.
 *
 *   push(dueMs, item) ──▶ due[], seq[] (Float64Array), items[]: sift up by (due, seq)
 *   pop() ──▶ items[0], its due time in poppedDueMs; the last slot sifts down from the root
 *
 * Why not TimerQueue<Item>: at 10,000 simulated nodes the heap holds tens of thousands of items and
 * every comparison read two entry objects scattered over the heap (a cache miss each), and each push
 * allocated an entry beside the Item. Here a comparison reads two adjacent-array numbers and a push
 * allocates nothing once the arrays have grown. The items themselves are untouched until popped.
 */
export class ItemQueue<T> {
  private due = new Float64Array(1024)
  private seq = new Float64Array(1024)
  private items: Array<T | undefined> = new Array<T | undefined>(1024).fill(undefined)
  private n = 0
  private nextSeq = 0
  /** Due time of the item the last `pop` returned. */
  poppedDueMs = 0

  get size(): number {
    return this.n
  }

  /** Due time of the next item, or Infinity when the queue is empty. */
  get nextDueMs(): number {
    return this.n === 0 ? Infinity : this.due[0]
  }

  push(dueAtMs: number, item: T): void {
    if (this.n === this.due.length) this.grow()
    const due = this.due
    const seq = this.seq
    const items = this.items
    const s = this.nextSeq++
    let i = this.n++
    while (i > 0) {
      const parent = (i - 1) >> 1
      const pd = due[parent]
      if (pd < dueAtMs || (pd === dueAtMs && seq[parent] < s)) break
      due[i] = pd
      seq[i] = seq[parent]
      items[i] = items[parent]
      i = parent
    }
    due[i] = dueAtMs
    seq[i] = s
    items[i] = item
  }

  pop(): T | undefined {
    const n = this.n
    if (n === 0) return undefined
    const due = this.due
    const seq = this.seq
    const items = this.items
    const top = items[0]
    this.poppedDueMs = due[0]
    const last = n - 1
    this.n = last
    if (last > 0) {
      const ld = due[last]
      const ls = seq[last]
      const li = items[last]
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= last) break
        const r = l + 1
        let c = l
        if (r < last && (due[r] < due[l] || (due[r] === due[l] && seq[r] < seq[l]))) c = r
        const cd = due[c]
        if (ld < cd || (ld === cd && ls < seq[c])) break
        due[i] = cd
        seq[i] = seq[c]
        items[i] = items[c]
        i = c
      }
      due[i] = ld
      seq[i] = ls
      items[i] = li
    }
    items[last] = undefined
    return top
  }

  clear(): void {
    this.items.fill(undefined, 0, this.n)
    this.n = 0
  }

  private grow(): void {
    const size = 2 * this.due.length
    const due = new Float64Array(size)
    due.set(this.due)
    const seq = new Float64Array(size)
    seq.set(this.seq)
    this.due = due
    this.seq = seq
    for (let i = this.items.length; i < size; i++) this.items.push(undefined)
  }
}
