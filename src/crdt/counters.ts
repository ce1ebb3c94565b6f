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
 *
 *   successor n#7: fold(n#7)   -> delta { n#7: own + Σ totals of n#h (h < 7) }, floor n → 7 (floors.ts)
 *   heir h#3 of leaver n#5: fold(h#3, n → 6) -> delta { h#3: own + Σ totals of n#h (h ≤ 5) }, floor n → 6
 *   any replica: merge         -> floors by max, then entries of retired replicas dropped
 *
 * so a node restarted without its data directory costs one entry per name, not one per restart.
 */
import type { MsgpackReader } from '../wire/msgpack-reader.js'
import type { MsgpackWriter } from '../wire/msgpack-writer.js'
import { compareNames } from './causal-context.js'
import { crdtMaxCount, readNodeEntries } from './codec-parts.js'
import { GenerationFloors, predecessorsOf, replicaGeneration, type Retirement } from './floors.js'

function checkAmount(by: number, what: string): void {
  if (!Number.isSafeInteger(by) || by < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${by}`)
  }
}

export class GCounter {
  readonly type = 'g-counter'
  private readonly entries = new Map<string, number>()

  /** `floors`: shared by a PN-Counter's two halves; a G-Counter of its own otherwise. */
  constructor(readonly floors: GenerationFloors = new GenerationFloors()) {}

  /** Adds `by` (a non-negative integer) to replica `node`'s entry; returns the delta to replicate. */
  increment(node: string, by = 1): GCounter {
    checkAmount(by, 'increment')
    const total = (this.entries.get(node) ?? 0) + by
    if (!Number.isSafeInteger(total)) throw new RangeError(`counter entry of ${node} would pass ${crdtMaxCount}`)
    const delta = new GCounter()
    if (by === 0) return delta
    this.entries.set(node, total)
    delta.entries.set(node, total)
    // After a fold our total holds our predecessors': the delta carries the floor that retires them, so a
    // replica that gets it before the fold's own delta does not count them twice.
    const me = replicaGeneration(node)
    if (me !== undefined && this.floors.get(me.name) > 0) delta.floors.raise(me.name, this.floors.get(me.name))
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
    const rose = this.floors === other.floors ? false : this.floors.join(other.floors)
    this.mergeEntries(other)
    if (rose) this.prune()
    return this
  }

  /** Entry-wise max, skipping retired replicas (the floors are the caller's). */
  mergeEntries(other: GCounter): void {
    for (const [node, v] of other.entries) if (v > (this.entries.get(node) ?? 0) && !this.floors.retired(node)) this.entries.set(node, v)
  }

  /** Drops the entries of retired replicas. */
  prune(): void {
    for (const node of [...this.entries.keys()]) if (this.floors.retired(node)) this.entries.delete(node)
  }

  /** The replica ids holding an entry. */
  replicas(): IterableIterator<string> {
    return this.entries.keys()
  }

  /**
   * Folds the entries `retire` covers (by default `replica`'s predecessors: same name, older generation)
   * into `replica`'s own and retires them. Only `replica` itself may run it. Returns the delta (empty
   * when there is nothing to fold).
   */
  fold(replica: string, retire: Retirement | undefined = replicaGeneration(replica)): GCounter {
    const delta = new GCounter()
    const old = predecessorsOf(replica, this.entries.keys(), this.floors, retire)
    if (retire === undefined || old.length === 0) return delta
    let total = this.entries.get(replica) ?? 0
    for (const id of old) total += this.entries.get(id)!
    if (!Number.isSafeInteger(total)) throw new RangeError(`counter entry of ${replica} would pass ${crdtMaxCount}`)
    this.floors.raise(retire.name, retire.generation)
    delta.floors.raise(retire.name, retire.generation)
    this.prune()
    if (total > 0) {
      this.entries.set(replica, total)
      delta.entries.set(replica, total)
    }
    return delta
  }

  clone(): GCounter {
    return new GCounter().merge(this)
  }

  get isEmpty(): boolean {
    return this.entries.size === 0 && this.floors.isEmpty
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

  /** `floors`: the encoding's generation floors (codec.ts), when it has any. */
  static read(r: MsgpackReader, floors?: GenerationFloors): GCounter {
    const c = new GCounter(floors?.clone())
    readNodeEntries(r, 'counter', '[node, total]', 2, (node, at) => {
      const total = r.uint(crdtMaxCount, 'counter total')
      if (total === 0) r.fail('bad-field', `counter entry of "${node}" is zero`, at)
      if (!c.floors.retired(node)) c.entries.set(node, total)
    })
    return c
  }
}

export class PNCounter {
  readonly type = 'pn-counter'
  readonly floors = new GenerationFloors()
  private readonly up = new GCounter(this.floors)
  private readonly down = new GCounter(this.floors)

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
    const rose = this.floors.join(other.floors)
    this.up.mergeEntries(other.up)
    this.down.mergeEntries(other.down)
    if (rose) {
      this.up.prune()
      this.down.prune()
    }
    return this
  }

  /** The replica ids holding an entry (increments or decrements). */
  replicas(): Set<string> {
    return new Set([...this.up.replicas(), ...this.down.replicas()])
  }

  /** GCounter.fold on both halves: `replica`'s predecessors retired, their totals in its own entries. */
  fold(replica: string, retire: Retirement | undefined = replicaGeneration(replica)): PNCounter {
    const delta = new PNCounter()
    // Both halves share the floors: fold `down` against a copy, or `up`'s fold would hide its predecessors.
    const downFolded = this.down.clone().fold(replica, retire)
    delta.up.merge(this.up.fold(replica, retire))
    this.down.merge(downFolded)
    this.down.prune()
    delta.down.merge(downFolded)
    return delta
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

  static read(r: MsgpackReader, floors?: GenerationFloors): PNCounter {
    const at = r.pos
    if (r.arrayHeader('pn-counter') !== 2) r.fail('bad-field', 'pn-counter is not [increments, decrements]', at)
    const c = new PNCounter()
    if (floors !== undefined) c.floors.join(floors)
    c.up.merge(GCounter.read(r))
    c.down.merge(GCounter.read(r))
    return c
  }
}
