/**
 * G-Counter and PN-Counter (Shapiro, Preguiça, Baquero, Zawirski 2011), delta-state form.
 *
 *   replica A: increment(A, n) -> delta { A: total_A }      (only A's own entry, never the whole vector)
 *   any replica: merge(delta)  -> entry-wise max            (so a delta applied twice changes nothing)
 *   value()                    =  sum of entries
 *
 * A PN-Counter is two G-Counters, increments and decrements. Totals are exact integers up to
 * Number.MAX_SAFE_INTEGER per replica entry; a mutation that would pass it throws RangeError and changes
 * nothing.
 */
import type { MsgpackReader } from '../wire/msgpack-reader.js'
import type { MsgpackWriter } from '../wire/msgpack-writer.js'
import { compareNames } from './causal-context.js'
import { crdtMaxCount, readNodeEntries } from './codec-parts.js'

function checkAmount(by: number, what: string): void {
  if (!Number.isSafeInteger(by) || by < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${by}`)
  }
}

export class GCounter {
  readonly type = 'g-counter'
  private readonly entries = new Map<string, number>()

  /** Adds `by` (a non-negative integer) to replica `node`'s entry; returns the delta to replicate. */
  increment(node: string, by = 1): GCounter {
    checkAmount(by, 'increment')
    const total = (this.entries.get(node) ?? 0) + by
    if (!Number.isSafeInteger(total)) throw new RangeError(`counter entry of ${node} would pass ${crdtMaxCount}`)
    const delta = new GCounter()
    if (by === 0) return delta
    this.entries.set(node, total)
    delta.entries.set(node, total)
    return delta
  }

  value(): number {
    let sum = 0
    for (const v of this.entries.values()) sum += v
    return sum
  }

  /** This replica's own contribution. */
  contribution(node: string): number {
    return this.entries.get(node) ?? 0
  }

  merge(other: GCounter): this {
    for (const [node, v] of other.entries) if (v > (this.entries.get(node) ?? 0)) this.entries.set(node, v)
    return this
  }

  clone(): GCounter {
    return new GCounter().merge(this)
  }

  get isEmpty(): boolean {
    return this.entries.size === 0
  }

  /** Body: [[node, total] ...], nodes sorted. */
  write(w: MsgpackWriter): void {
    const nodes = [...this.entries.keys()].sort(compareNames)
    w.arrayHeader(nodes.length)
    for (const node of nodes) {
      w.arrayHeader(2)
      w.str(node)
      w.uint(this.entries.get(node)!)
    }
  }

  static read(r: MsgpackReader): GCounter {
    const c = new GCounter()
    readNodeEntries(r, 'counter', '[node, total]', 2, (node, at) => {
      const total = r.uint(crdtMaxCount, 'counter total')
      if (total === 0) r.fail('bad-field', `counter entry of "${node}" is zero`, at)
      c.entries.set(node, total)
    })
    return c
  }
}

export class PNCounter {
  readonly type = 'pn-counter'
  private readonly up = new GCounter()
  private readonly down = new GCounter()

  /** Adds `by` (any safe integer, negative to decrement); returns the delta to replicate. */
  increment(node: string, by = 1): PNCounter {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment must be a safe integer, got ${by}`)
    const delta = new PNCounter()
    if (by >= 0) delta.up.merge(this.up.increment(node, by))
    else delta.down.merge(this.down.increment(node, -by))
    return delta
  }

  decrement(node: string, by = 1): PNCounter {
    checkAmount(by, 'decrement')
    return this.increment(node, -by)
  }

  value(): number {
    return this.up.value() - this.down.value()
  }

  merge(other: PNCounter): this {
    this.up.merge(other.up)
    this.down.merge(other.down)
    return this
  }

  clone(): PNCounter {
    return new PNCounter().merge(this)
  }

  get isEmpty(): boolean {
    return this.up.isEmpty && this.down.isEmpty
  }

  /** Body: [increments, decrements], each a G-Counter body. */
  write(w: MsgpackWriter): void {
    w.arrayHeader(2)
    this.up.write(w)
    this.down.write(w)
  }

  static read(r: MsgpackReader): PNCounter {
    const at = r.pos
    if (r.arrayHeader('pn-counter') !== 2) r.fail('bad-field', 'pn-counter is not [increments, decrements]', at)
    const c = new PNCounter()
    c.up.merge(GCounter.read(r))
    c.down.merge(GCounter.read(r))
    return c
  }
}
