/**
 * Dot stores and their join, the one merge rule every causal CRDT here shares (Almeida et al. 2018,
 * "Delta State Replicated Data Types", section 5.2):
 *
 *   (s, c) ⊔ (s', c') = ( entries in both
 *                       ∪ entries of s  whose dot c'  has not seen
 *                       ∪ entries of s' whose dot c   has not seen ,  c ∪ c' )
 *
 * so an entry disappears exactly when the other side has seen its dot and no longer holds it: that is a
 * remove, and it needs no tombstone. A `DotFun<V>` maps dots to immutable values (a dot is written once,
 * so both sides hold the same value for a shared dot); a DotSet is a `DotFun<null>`; a dot map (OR-Set,
 * OR-Map) is a plain `Map<key, DotFun>` joined key by key under the shared contexts.
 *
 *   local mutator ──► delta (DotFun + CausalContext) ──► joinDotFun at every replica, in any order
 */
import type { CausalContext } from './causal-context.js'
import { compareNames } from './causal-context.js'
import type { GenerationFloors } from './floors.js'
import { predecessorsOf, replicaGeneration, type Retirement } from './floors.js'

/** Dots to values: replica name -> counter -> value. Never holds an empty inner map. */
export type DotFun<V> = Map<string, Map<number, V>>

export function dotFunSize<V>(f: DotFun<V>): number {
  let n = 0
  for (const inner of f.values()) n += inner.size
  return n
}

export function setDot<V>(f: DotFun<V>, node: string, counter: number, value: V): void {
  let inner = f.get(node)
  if (inner === undefined) f.set(node, (inner = new Map()))
  inner.set(counter, value)
}

/** Calls `visit` for every entry, in canonical order (replica name, then counter). */
export function forEachDot<V>(f: DotFun<V>, visit: (node: string, counter: number, value: V) => void): void {
  for (const node of [...f.keys()].sort(compareNames)) {
    const inner = f.get(node)!
    for (const counter of [...inner.keys()].sort((a, b) => a - b)) visit(node, counter, inner.get(counter)!)
  }
}

/** Adds every dot of `f` to `ctx`. */
export function addDotsTo<V>(f: DotFun<V>, ctx: CausalContext): void {
  for (const [node, inner] of f) for (const counter of inner.keys()) ctx.add(node, counter)
}

export function cloneDotFun<V>(f: DotFun<V>): DotFun<V> {
  const out: DotFun<V> = new Map()
  for (const [node, inner] of f) out.set(node, new Map(inner))
  return out
}

/**
 * The join of (a, ca) and (b, cb) for the store part; the caller joins the contexts afterwards. Returns a
 * new store; neither input is changed.
 */
export function joinDotFun<V>(a: DotFun<V>, ca: CausalContext, b: DotFun<V>, cb: CausalContext): DotFun<V> {
  const out: DotFun<V> = new Map()
  for (const [node, inner] of a) {
    const other = b.get(node)
    for (const [counter, value] of inner) {
      if (other?.has(counter) === true || !cb.has(node, counter)) setDot(out, node, counter, value)
    }
  }
  for (const [node, inner] of b) {
    const mine = a.get(node)
    for (const [counter, value] of inner) {
      if (mine?.has(counter) !== true && !ca.has(node, counter)) setDot(out, node, counter, value)
    }
  }
  return out
}

/** Joins two dot maps key by key; keys whose store ends empty are dropped. */
export function joinDotMap<V>(
  a: ReadonlyMap<string, DotFun<V>>,
  ca: CausalContext,
  b: ReadonlyMap<string, DotFun<V>>,
  cb: CausalContext,
): Map<string, DotFun<V>> {
  const out = new Map<string, DotFun<V>>()
  const empty: DotFun<V> = new Map()
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const joined = joinDotFun(a.get(key) ?? empty, ca, b.get(key) ?? empty, cb)
    if (joined.size > 0) out.set(key, joined)
  }
  return out
}

/** The entries of retired replicas (floors.ts): what a fold delta re-asserts so that they stay. */
export function retiredDots<V>(f: DotFun<V>, floors: GenerationFloors): DotFun<V> {
  const out: DotFun<V> = new Map()
  for (const [node, inner] of f) if (floors.retired(node)) out.set(node, new Map(inner))
  return out
}

/** The entries of retired replicas in each store of a dot map; stores left empty are skipped. */
export function retiredEntries<V>(stores: ReadonlyMap<string, DotFun<V>>, floors: GenerationFloors): Map<string, DotFun<V>> {
  const out = new Map<string, DotFun<V>>()
  for (const [key, dots] of stores) {
    const kept = retiredDots(dots, floors)
    if (kept.size > 0) out.set(key, kept)
  }
  return out
}

/**
 * What a fold by `replica` retires in a causal state (its context and stores): `retire` (by default
 * `replica`'s own name and generation) when the state mentions a replica it covers not yet retired,
 * else undefined (nothing to fold).
 */
export function retirementOf(replica: string, ctx: CausalContext, stores: Iterable<DotFun<unknown>>, retire: Retirement | undefined = replicaGeneration(replica)): Retirement | undefined {
  const ids = ctx.replicas()
  for (const f of stores) for (const node of f.keys()) ids.add(node)
  return predecessorsOf(replica, ids, ctx.floors, retire).length === 0 ? undefined : retire
}
