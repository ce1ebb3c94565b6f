/**
 * The reconciliation invariant (stated in reconcile.ts) as executable checks, for tests, simulations and
 * debug builds. Pure: give it the replica's copy of a node and the owner's own state.
 */
import { InvariantError } from '../core/assert.js'
import type { NodeName } from '../core/types.js'
import { isTombstone, type NodeStateView } from './node-state.js'

/** Problems with a copy on its own: iteration order ascending, versions ≤ maxVersion, tombstones counted. */
export function checkStructure(node: NodeName, view: NodeStateView): string[] {
  const problems: string[] = []
  let last = 0
  for (const [key, v] of view.entries) {
    if (v.version <= last) problems.push(`${node}: ${key}@${v.version} out of ascending order after ${last}`)
    if (v.version > view.maxVersion) problems.push(`${node}: ${key}@${v.version} above maxVersion ${view.maxVersion}`)
    last = v.version
  }
  return problems
}

/**
 * Problems with `replica`'s copy of `node` measured against the owner's current state `owner`. Copies of an
 * older generation are only checked structurally (they are waiting to be replaced).
 */
export function checkReplica(node: NodeName, replica: NodeStateView, owner: NodeStateView): string[] {
  const problems = checkStructure(node, replica)
  if (replica.generation > owner.generation) return [...problems, `${node}: replica generation ${replica.generation} above the owner's ${owner.generation}`]
  if (replica.generation < owner.generation) return problems
  const m = replica.maxVersion
  const g = replica.lastGcVersion
  if (m > owner.maxVersion) problems.push(`${node}: replica maxVersion ${m} above the owner's ${owner.maxVersion}`)
  // Completeness: every current owner entry at or below m is here (collected tombstones ≤ g excepted).
  for (const [key, o] of owner.entries) {
    if (o.version > m) continue
    const r = replica.entries.get(key)
    if (r === undefined) {
      if (!(isTombstone(o) && o.version <= g)) problems.push(`${node}: ${key}@${o.version} missing below maxVersion ${m} (hole)`)
    } else if (r.version !== o.version || isTombstone(r) !== isTombstone(o) || r.value !== o.value) {
      problems.push(`${node}: ${key} is @${r.version} ${JSON.stringify(r.value)}, owner has @${o.version} ${JSON.stringify(o.value)} ≤ ${m}`)
    }
  }
  // Soundness: what the replica holds is the owner's entry, or an older one the owner superseded above m.
  for (const [key, r] of replica.entries) {
    const o = owner.entries.get(key)
    if (o === undefined) {
      // The owner collected the key's tombstone, at a version ≤ its lastGcVersion.
      if (!isTombstone(r) && Math.max(m, g) >= owner.lastGcVersion) {
        problems.push(`${node}: ${key} live @${r.version} but the owner deleted and collected it at or below ${owner.lastGcVersion} ≤ ${Math.max(m, g)} (resurrection)`)
      }
    } else if (r.version > o.version) {
      problems.push(`${node}: ${key}@${r.version} newer than the owner's @${o.version}`)
    } else if (r.version < o.version && o.version <= m) {
      problems.push(`${node}: ${key}@${r.version} stale although the owner's @${o.version} ≤ maxVersion ${m}`)
    }
  }
  return problems
}

/** Throws InvariantError listing the problems of `checkReplica`. */
export function assertReplica(replicaName: NodeName, node: NodeName, replica: NodeStateView, owner: NodeStateView): void {
  const problems = checkReplica(node, replica, owner)
  if (problems.length > 0) throw new InvariantError(`reconciliation invariant broken at ${replicaName}:\n  ${problems.slice(0, 10).join('\n  ')}`)
}
