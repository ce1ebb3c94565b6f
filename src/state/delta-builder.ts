/**
 * Packs node deltas into a byte budget (chitchat's `compute_partial_delta_respecting_mtu`, with the
 * order below and exact byte accounting).
 *
 * Order of nodes:
 * 1. one stale node drawn uniformly goes first with at most `lotteryShare` of the budget — the
 *    anti-starvation slot: however busy the other nodes are, every stale node reaches the front of a
 *    delta with probability ≥ 1/(stale nodes) per exchange;
 * 2. then the stalest first: largest version gap (our maxVersion − the peer's), ties in random order.
 *
 * Within a node, entries go in ascending version and the delta is cut at the first entry that does not
 * fit, so a receiver always gets a version prefix (no holes): a cut delta's toVersion is the version of
 * its last entry, a whole one's is our maxVersion. A node whose header and first entry do not fit is
 * skipped and a smaller one tried; the rest follows in later rounds.
 *
 * NEEDSWORK: finding the entries above a floor walks the node's map from its oldest entry, O(keys per
 * node) for each stale node. Fine for hundreds of keys per node; a version-indexed array would make it
 * a binary search for nodes with many thousands.
 */
import { assert } from '../core/assert.js'
import type { Rng } from '../core/rng.js'
import type { StaleNode } from './cluster-state.js'
import { arrayHeaderSize, deltaHeaderSize, deltaSize, entrySize, uintSize, type DeltaEntry, type NodeDelta } from './messages.js'
import { isTombstone } from './node-state.js'

/** The smallest possible node delta (a one-byte name, small numbers, no entries). */
const MIN_DELTA_BYTES = 9

/** Deltas for `stale` within `budgetBytes` (the encoded deltas array, header included). */
export function buildDeltas(stale: readonly StaleNode[], budgetBytes: number, rng: Rng, lotteryShare: number): { deltas: NodeDelta[]; bytes: number } {
  const order = rng.shuffle(stale.slice()).sort((a, b) => b.gap - a.gap)
  let capFirst = Infinity
  if (lotteryShare > 0 && order.length > 1) {
    const drawn = rng.int(order.length)
    if (drawn > 0) {
      const [node] = order.splice(drawn, 1)
      order.unshift(node)
      capFirst = Math.floor(budgetBytes * lotteryShare)
    }
  }
  const deltas: NodeDelta[] = []
  let used = arrayHeaderSize(0)
  for (let i = 0; i < order.length; i++) {
    const grow = arrayHeaderSize(deltas.length + 1) - arrayHeaderSize(deltas.length)
    const room = budgetBytes - used - grow
    if (room < MIN_DELTA_BYTES) break
    let packed = packNode(order[i], i === 0 ? Math.min(room, capFirst) : room)
    if (packed === undefined && i === 0 && capFirst < room) packed = packNode(order[i], room)
    if (packed === undefined) continue
    deltas.push(packed.delta)
    used += grow + packed.bytes
  }
  if (used > budgetBytes) assert(false, `deltas of ${used} bytes exceed the budget of ${budgetBytes}`)
  return { deltas, bytes: used }
}

/** The longest version prefix of a stale node's entries that fits `limit` bytes, or undefined. */
export function packNode(s: StaleNode, limit: number): { delta: NodeDelta; bytes: number } | undefined {
  const ns = s.state
  const head = { node: s.name, generation: ns.generation, heartbeat: ns.heartbeat, lastGcVersion: ns.lastGcVersion, fromVersion: s.fromVersion, toVersion: ns.maxVersion }
  let used = deltaHeaderSize(head) + arrayHeaderSize(0)
  if (used > limit) return undefined
  const entries: DeltaEntry[] = []
  let cut = false
  for (const [key, v] of ns.entriesAbove(s.fromVersion)) {
    const e: DeltaEntry = { key, version: v.version, value: isTombstone(v) ? null : v.value }
    const cost = entrySize(e) + arrayHeaderSize(entries.length + 1) - arrayHeaderSize(entries.length)
    if (used + cost > limit) {
      cut = true
      break
    }
    entries.push(e)
    used += cost
  }
  if (cut && entries.length === 0) return undefined
  const toVersion = cut ? entries[entries.length - 1].version : ns.maxVersion
  // The header was counted with our maxVersion; a cut delta carries a smaller (never longer) number.
  used += uintSize(toVersion) - uintSize(ns.maxVersion)
  const delta: NodeDelta = { ...head, toVersion, entries }
  return { delta, bytes: used }
}

/** Exact size of a list of deltas (for assertions). */
export function deltasBytes(deltas: readonly NodeDelta[]): number {
  let n = arrayHeaderSize(deltas.length)
  for (const d of deltas) n += deltaSize(d)
  return n
}
