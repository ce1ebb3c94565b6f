/**
 * Generation floors: how a replica's past lives are retired from a state, so that restarts do not grow
 * it. Replica ids are `name#generation` (a node's name and the generation it started with, which grows
 * across restarts); a floor `name → g` says "every replica `name#h` with h < g is retired".
 *
 *   node `n` restarts as n#7 (its predecessors n#5, n#6 are dead: one process per name)
 *        └─ fold, a mutator only n#7 runs: n#5's and n#6's counter totals added to n#7's own entry,
 *           floor n → 7; delta = (n#7's new entry, floor n → 7)
 *   any replica merging it: floors join by max; entries of retired replicas are dropped (their value now
 *        lives in n#7's entry), their causal-context entries become "every dot seen"
 *
 * Why this is safe: the only writer of `n#7`'s entry is n#7, so there is exactly one fold per
 * predecessor (concurrent folds cannot double-count); floors only grow and retire whole replicas, so
 * the join stays commutative, associative and idempotent; a retired replica's dots can never come back
 * (its context is "all seen"), and a retired replica never writes again (it is dead: a process that
 * comes back after a false death keeps its own id, which nobody folds, since only a successor folds).
 * What a fold cannot see is lost: a predecessor's write that had reached some replicas but not the
 * successor when it folded, or a copy of a predecessor's entry larger than the successor's. The
 * replicator folds only after `foldAfterMs`, and only once every live peer was seen holding the
 * successor's state (replication/fold-gate.ts), for this reason.
 *
 * A member that leaves gracefully is retired the same way, by the one heir it handed its state to
 * (replication/handoff.ts): the heir `h#3` folds the leaver `n#5` (and any older `n#h` it still held)
 * into its own entry and raises the floor n → 6, so a later process named `n` must start a higher
 * generation (the wall clock does; a data directory whose replica was handed off starts a new one).
 *
 * Ids without `#generation` (tests, hand-made replicas) are never retired.
 */

/** The name and generation of `name#generation`, or undefined for an id without a numeric generation. */
export function replicaGeneration(replica: string): { readonly name: string; readonly generation: number } | undefined {
  const hash = replica.lastIndexOf('#')
  if (hash <= 0 || hash === replica.length - 1) return undefined
  const tail = replica.slice(hash + 1)
  if (!/^\d{1,16}$/.test(tail)) return undefined
  const generation = Number(tail)
  return Number.isSafeInteger(generation) ? { name: replica.slice(0, hash), generation } : undefined
}

export class GenerationFloors {
  private readonly floors = new Map<string, number>()

  /** True when `replica` is `name#h` and the floor of `name` is above h. */
  retired(replica: string): boolean {
    if (this.floors.size === 0) return false
    const g = replicaGeneration(replica)
    return g !== undefined && g.generation < (this.floors.get(g.name) ?? 0)
  }

  /** Retires every generation of `name` below `generation`; true when the floor rose. */
  raise(name: string, generation: number): boolean {
    if (generation <= (this.floors.get(name) ?? 0)) return false
    this.floors.set(name, generation)
    return true
  }

  /** Joins by max; true when any floor rose. */
  join(other: GenerationFloors): boolean {
    let rose = false
    for (const [name, g] of other.floors) rose = this.raise(name, g) || rose
    return rose
  }

  get(name: string): number {
    return this.floors.get(name) ?? 0
  }

  get size(): number {
    return this.floors.size
  }

  get isEmpty(): boolean {
    return this.floors.size === 0
  }

  /** Canonical listing: names sorted. */
  entries(): Array<[string, number]> {
    return [...this.floors].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  /** Sets a floor as decoded (codec-parts.ts readFloors); the caller checks the input. */
  setDecoded(name: string, generation: number): void {
    this.floors.set(name, generation)
  }

  clone(): GenerationFloors {
    const f = new GenerationFloors()
    f.join(this)
    return f
  }
}

/** What a fold retires: every replica `name#h` with h < generation (the floor it raises). */
export interface Retirement {
  readonly name: string
  readonly generation: number
}

/**
 * The retirement a leaver's heir raises: every generation of the leaver's name up to and including the
 * leaver's own (its past lives are dead, and the leaver hands over what it knew of them).
 */
export function departureOf(leaver: string): Retirement | undefined {
  const g = replicaGeneration(leaver)
  return g === undefined || g.generation >= Number.MAX_SAFE_INTEGER ? undefined : { name: g.name, generation: g.generation + 1 }
}

/**
 * The replica ids a fold into `replica` retires: of the ids a state mentions, those `retire` covers (by
 * default `replica`'s own predecessors: same name, lower generation) that `floors` has not retired yet,
 * never `replica` itself. Empty for an id without a generation.
 */
export function predecessorsOf(replica: string, ids: Iterable<string>, floors: GenerationFloors, retire: Retirement | undefined = replicaGeneration(replica)): string[] {
  if (retire === undefined || replicaGeneration(replica) === undefined) return []
  const out: string[] = []
  for (const id of ids) {
    const g = replicaGeneration(id)
    if (g !== undefined && id !== replica && g.name === retire.name && g.generation < retire.generation && !floors.retired(id)) out.push(id)
  }
  return out
}
