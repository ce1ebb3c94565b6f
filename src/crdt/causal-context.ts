/**
 * Dots and causal contexts, the bookkeeping under every causal CRDT here (Flag, MV-Register, OR-Set,
 * OR-Map), after Almeida, Shoker and Baquero, "Delta State Replicated Data Types" (2018), section 5,
 * and riak_dt's ORSWOT ("OR-Set without tombstones").
 *
 *   replica A mutates          -> new dot (A, n) = next event of A
 *   delta = (store, context)   -> the context says which events the delta has seen
 *   receiver joins             -> an entry survives unless the other side has SEEN its dot and dropped it
 *
 * A dot names one event: (replica name, counter). A causal context is the set of dots a state has seen,
 * kept as a version vector (every counter 1..n of a replica seen) plus a "dot cloud" of counters seen out
 * of order (deltas carry isolated dots). `add` and `join` compact the cloud into the vector, so two equal
 * contexts always have the same representation (the codec's canonical bytes depend on it).
 *
 * Generation floors (floors.ts) retire a replica's past lives: a retired replica `name#h` counts as
 * "every dot seen" and keeps no vector or cloud entry, so restarts cost one entry per name, not one per
 * restart. A retired replica's dots may stay in a store (live elements it added); they are seen.
 *
 * Hand-written: no npm library implements delta-state dot kernels with a canonical binary form.
 */
import { GenerationFloors } from './floors.js'

/** A dot: the `counter`-th event of replica `node`. Counters start at 1. */
export interface Dot {
  readonly node: string
  readonly counter: number
}

export class CausalContext {
  /** Per replica: every counter in 1..n has been seen. Entries with n = 0 are never stored. */
  private readonly vector = new Map<string, number>()
  /** Per replica: counters above the vector's n seen out of order. Never empty sets. */
  private readonly cloud = new Map<string, Set<number>>()
  /** Retired replicas: every dot of theirs counts as seen. */
  readonly floors = new GenerationFloors()

  /** True when the dot (node, counter) has been seen. */
  has(node: string, counter: number): boolean {
    if ((this.vector.get(node) ?? 0) >= counter) return true
    return (this.cloud.get(node)?.has(counter) ?? false) || this.floors.retired(node)
  }

  /** Records one dot as seen. */
  add(node: string, counter: number): void {
    if (this.floors.retired(node)) return
    const top = this.vector.get(node) ?? 0
    if (counter <= top) return
    if (counter === top + 1) {
      this.vector.set(node, counter)
      this.compact(node)
      return
    }
    let set = this.cloud.get(node)
    if (set === undefined) this.cloud.set(node, (set = new Set()))
    set.add(counter)
  }

  /** Records every dot (node, 1..top) as seen. */
  addUpTo(node: string, top: number): void {
    if ((this.vector.get(node) ?? 0) >= top || this.floors.retired(node)) return
    this.vector.set(node, top)
    this.compact(node)
  }

  /** The counter of `node`'s next event: one above the highest it has seen of `node`. */
  next(node: string): number {
    let top = this.vector.get(node) ?? 0
    const set = this.cloud.get(node)
    if (set !== undefined) for (const c of set) if (c > top) top = c
    return top + 1
  }

  /** Adds every dot of `other` (set union). */
  join(other: CausalContext): void {
    if (this.floors.join(other.floors)) this.prune()
    for (const [node, n] of other.vector) this.addUpTo(node, n)
    for (const [node, set] of other.cloud) for (const c of set) this.add(node, c)
  }

  /** Retires every generation of `name` below `generation` (floors.ts). */
  retire(name: string, generation: number): void {
    if (this.floors.raise(name, generation)) this.prune()
  }

  /** The replica ids with a vector or cloud entry. */
  replicas(): Set<string> {
    return new Set([...this.vector.keys(), ...this.cloud.keys()])
  }

  clone(): CausalContext {
    const c = new CausalContext()
    c.floors.join(this.floors)
    for (const [node, n] of this.vector) c.vector.set(node, n)
    for (const [node, set] of this.cloud) c.cloud.set(node, new Set(set))
    return c
  }

  get isEmpty(): boolean {
    return this.vector.size === 0 && this.cloud.size === 0 && this.floors.isEmpty
  }

  /**
   * Canonical listing for encoding and comparison: replicas sorted by name, each with its contiguous
   * top and its out-of-order counters in ascending order.
   */
  entries(): Array<{ node: string; contiguous: number; cloud: number[] }> {
    const names = new Set<string>([...this.vector.keys(), ...this.cloud.keys()])
    return [...names].sort(compareNames).map((node) => ({
      node,
      contiguous: this.vector.get(node) ?? 0,
      cloud: [...(this.cloud.get(node) ?? [])].sort((a, b) => a - b),
    }))
  }

  private prune(): void {
    for (const node of [...this.vector.keys()]) if (this.floors.retired(node)) this.vector.delete(node)
    for (const node of [...this.cloud.keys()]) if (this.floors.retired(node)) this.cloud.delete(node)
  }

  /** Moves cloud counters that now follow the vector's top into the vector. */
  private compact(node: string): void {
    const set = this.cloud.get(node)
    if (set === undefined) return
    let top = this.vector.get(node) ?? 0
    for (const c of set) if (c <= top) set.delete(c)
    while (set.delete(top + 1)) top++
    if (top > 0) this.vector.set(node, top)
    if (set.size === 0) this.cloud.delete(node)
  }
}

/** Replica and element names in one fixed order (UTF-16 code units), so encodings are canonical. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
