/**
 * One node's versioned key-value map, as held by its owner or by any replica.
 *
 * Values are strings, as in Cassandra's VersionedValue and chitchat: the state holds small facts (load,
 * addresses, roles, schema versions) that users read, log, show in the HTTP API and the dashboard, and
 * compare; binary payloads belong to broadcasts and user events. Anyone needing bytes can base64 them.
 *
 * Entries are kept in a Map whose insertion order is ascending version: a key is removed and re-inserted
 * whenever it changes, and a change always carries a version above every version held (the owner's next
 * version, or a delta entry above the replica's maxVersion). So the entries a peer lacks — those above its
 * floor — are a suffix of the iteration, already in the order a delta must send them.
 */
import { assert } from '../core/assert.js'

/** A key's latest change. A tombstone (deleted key) has `deletedAtMs`: the local time it was learned. */
export interface VersionedValue {
  /** The value; '' for a tombstone. */
  readonly value: string
  readonly version: number
  /** Set for tombstones: local time this node recorded the deletion (GC counts grace from here). */
  readonly deletedAtMs: number | undefined
}

/** Read-only view of a node's state. */
export interface NodeStateView {
  /** Grows across restarts of the owner; a newer generation replaces everything known of the older. */
  readonly generation: number
  /** Grows with every round of the owner while it is alive (carried in digests, not versioned). */
  readonly heartbeat: number
  /** Every change of the owner with a version ≤ this is reflected here (see the reconciliation invariant). */
  readonly maxVersion: number
  /** Tombstones with versions ≤ this may have been garbage-collected here. */
  readonly lastGcVersion: number
  /** key → latest change, iterated in ascending version. Includes tombstones. */
  readonly entries: ReadonlyMap<string, VersionedValue>
}

export function isTombstone(v: VersionedValue): boolean {
  return v.deletedAtMs !== undefined
}

export class NodeState implements NodeStateView {
  heartbeat = 0
  maxVersion = 0
  lastGcVersion: number
  readonly entries = new Map<string, VersionedValue>()
  /** Number of tombstones in `entries` (GC skips nodes without any). */
  tombstones = 0
  /** This node's window-summary hash and the versions it was computed at (window-summary.ts). */
  summaryCache: { readonly maxVersion: number; readonly lastGcVersion: number; readonly hash: number } | undefined = undefined
  /** Highest version ever inserted: a new entry must exceed it (ascending iteration order). */
  private topVersion = 0

  constructor(
    readonly generation: number,
    lastGcVersion = 0,
  ) {
    this.lastGcVersion = lastGcVersion
  }

  /** Records `key`'s latest change, moving it to the end of the iteration order. */
  put(key: string, value: VersionedValue): VersionedValue | undefined {
    if (value.version <= this.topVersion) assert(false, `entry ${key}@${value.version} does not ascend past ${this.topVersion}`)
    const previous = this.entries.get(key)
    if (previous !== undefined) {
      this.entries.delete(key)
      if (isTombstone(previous)) this.tombstones--
    }
    this.entries.set(key, value)
    if (isTombstone(value)) this.tombstones++
    this.topVersion = value.version
    return previous
  }

  /** Removes `key` outright (a tombstone that was garbage-collected, or a key dropped by a reset). */
  remove(key: string): void {
    const previous = this.entries.get(key)
    if (previous === undefined) return
    this.entries.delete(key)
    if (isTombstone(previous)) this.tombstones--
  }

  /** Entries with a version above `floor`, ascending. */
  *entriesAbove(floor: number): IterableIterator<[string, VersionedValue]> {
    if (floor >= this.topVersion) return
    for (const item of this.entries) if (item[1].version > floor) yield item
  }

  /**
   * Drops the tombstones learned at least `graceMs` ago and moves `lastGcVersion` past them. Returns the
   * number dropped.
   */
  collectGarbage(nowMs: number, graceMs: number): number {
    if (this.tombstones === 0) return 0
    let dropped = 0
    for (const [key, v] of this.entries) {
      if (v.deletedAtMs !== undefined && v.deletedAtMs + graceMs <= nowMs) {
        this.entries.delete(key)
        this.tombstones--
        dropped++
        if (v.version > this.lastGcVersion) this.lastGcVersion = v.version
      }
    }
    return dropped
  }

  /** Live (non-tombstone) value of `key`. */
  get(key: string): string | undefined {
    const v = this.entries.get(key)
    return v === undefined || isTombstone(v) ? undefined : v.value
  }
}
