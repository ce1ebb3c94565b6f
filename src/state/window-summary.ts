/**
 * The compact form of a Syn's window (reconcile.ts): one 53-bit hash of every node's (name, generation,
 * maxVersion, lastGcVersion), in the window's ring order, beside the nodes' heartbeats.
 *
 *   node N ──▶ nodeSummaryHash(N)  (two FNV-1a lanes over the name and the three numbers; cached in
 *              NodeState until maxVersion or lastGcVersion move, since a quiet node's never do)
 *   window [N1 … Nk] ──▶ fold of the k node hashes in order ──▶ WindowSummary.hash
 *
 * Folding cached per-node hashes makes a quiet Syn and its answer cost a few operations per node
 * instead of a pass over every name's characters. Heartbeats are left out of the hash: they move every
 * round, and travel beside it. Pure.
 */
import type { NodeName } from '../core/types.js'
import type { NodeDigest } from './messages.js'
import type { NodeState } from './node-state.js'

/** The fields of a node that its summary hash covers. */
export interface SummarisedNode {
  readonly generation: number
  readonly maxVersion: number
  readonly lastGcVersion: number
}

/** A 53-bit hash of one node's (name, generation, maxVersion, lastGcVersion). */
export function nodeSummaryHash(name: NodeName, n: SummarisedNode): number {
  let a = 0x811c9dc5
  let b = 0x2f6b1a3d
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  const words = [
    0x10000 + name.length,
    n.generation % 0x100000000,
    Math.floor(n.generation / 0x100000000),
    n.maxVersion % 0x100000000,
    Math.floor(n.maxVersion / 0x100000000),
    n.lastGcVersion % 0x100000000,
    Math.floor(n.lastGcVersion / 0x100000000),
  ]
  for (const w of words) {
    a = Math.imul(a ^ w, 0x01000193)
    b = Math.imul(b ^ w, 0x5bd1e995)
    b ^= b >>> 15
  }
  return (b >>> 11) * 0x100000000 + (a >>> 0)
}

/** A node's summary hash, cached in its state until maxVersion or lastGcVersion move. */
export function cachedSummaryHash(name: NodeName, ns: NodeState): number {
  const c = ns.summaryCache
  if (c !== undefined && c.maxVersion === ns.maxVersion && c.lastGcVersion === ns.lastGcVersion) return c.hash
  const hash = nodeSummaryHash(name, ns)
  ns.summaryCache = { maxVersion: ns.maxVersion, lastGcVersion: ns.lastGcVersion, hash }
  return hash
}

/** Folds node hashes, in window order, into the window's hash. */
export class WindowHasher {
  private a = 0x811c9dc5
  private b = 0x2f6b1a3d
  private count = 0

  add(nodeHash: number): void {
    const lo = nodeHash % 0x100000000
    const hi = Math.floor(nodeHash / 0x100000000)
    this.a = Math.imul(this.a ^ lo, 0x01000193)
    this.a = Math.imul(this.a ^ hi, 0x01000193)
    this.b = Math.imul(this.b ^ lo, 0x5bd1e995)
    this.b ^= this.b >>> 15
    this.b = Math.imul(this.b ^ hi, 0x5bd1e995)
    this.b ^= this.b >>> 15
    this.count++
  }

  get value(): number {
    const a = Math.imul(this.a ^ this.count, 0x01000193)
    return (this.b >>> 11) * 0x100000000 + (a >>> 0)
  }
}

/** The window hash of `digests` in order (the same value the cached path gives for the same nodes). */
export function windowHash(digests: readonly NodeDigest[]): number {
  const h = new WindowHasher()
  for (const d of digests) h.add(nodeSummaryHash(d.node, d))
  return h.value
}
