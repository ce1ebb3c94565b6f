/**
 * The replicated cluster state: every node's versioned key-value map as this node knows it (Cassandra's
 * endpoint states, chitchat's ClusterState, scuttlebutt's per-owner maps).
 *
 * Only the owner writes its map. Each change takes the owner's next version; a delete leaves a tombstone
 * that is garbage-collected after a grace period and moves `lastGcVersion` past it. Replicas learn
 * changes through node deltas (reconcile.ts) and apply them under these rules, in this order:
 *
 * 1. a delta about this node itself is ignored: the owner is the only authority on its own map;
 * 2. an older generation is ignored; a newer generation (or an unknown node) replaces everything known of
 *    the node, and is only accepted from version 0 (it must bring the state from scratch);
 * 3. same generation: the heartbeat takes the larger value, then
 *    - fromVersion above our maxVersion leaves a hole: ignored;
 *    - if the sender has collected tombstones we may not have seen (its lastGcVersion above both our
 *      maxVersion and our lastGcVersion), only a delta from version 0 is usable and it resets our copy;
 *    - otherwise the entries above our maxVersion are applied in ascending order and maxVersion becomes
 *      the delta's toVersion.
 *
 * The pair (lastGcVersion, maxVersion) of a node at one generation only grows, lexicographically (chitchat's
 * `monotonic_property`), and every application asserts it. The reconciliation invariant this upholds is
 * written in reconcile.ts and checked by invariant.ts.
 *
 * Data structures return facts (ApplyOutcome, ApplyTally); change notifications for `watch(prefix)` are
 * queued as StateEvents that the runtime drains and turns into callbacks.
 */
import { assert } from '../core/assert.js'
import type { NodeName } from '../core/types.js'
import { utf8Length } from '../wire/msgpack-writer.js'
import type { StateConfig } from './config.js'
import type { DeltaEntry, NodeDelta, NodeDigest } from './messages.js'
import { isTombstone, NodeState, type NodeStateView, type VersionedValue } from './node-state.js'
import { cachedSummaryHash } from './window-summary.js'

/** A visible change, for watchers. Emitted only when a live value appears, changes or disappears. */
export type StateEvent =
  | { readonly type: 'keySet'; readonly node: NodeName; readonly key: string; readonly value: string; readonly version: number; readonly previous: string | undefined }
  | { readonly type: 'keyDeleted'; readonly node: NodeName; readonly key: string; readonly previous: string }
  | { readonly type: 'nodeRestarted'; readonly node: NodeName; readonly generation: number; readonly previousGeneration: number }
  /** The node departed and its state was forgotten here (after a keyDeleted for each of its live keys). */
  | { readonly type: 'nodeForgotten'; readonly node: NodeName; readonly generation: number }

/** What applying one node delta did. */
export type ApplyOutcome =
  | 'applied'
  | 'reset'
  | 'replaced'
  | 'self'
  | 'stale-generation'
  | 'hole'
  | 'needs-reset'
  | 'not-newer'
  | 'forgotten'

/** Facts collected while applying a message. */
export class ApplyTally {
  /** Node deltas that changed state (applied, reset, replaced). */
  applied = 0
  ignored = 0
  /** Same-generation resets: the sender had collected tombstones past what we knew. */
  resets = 0
  /** Copies created or replaced by a newer generation. */
  replacements = 0
  /** Nodes whose state changed. */
  readonly changed: NodeName[] = []
  /** Nodes whose heartbeat advanced (input for the phi accrual detector). */
  readonly heartbeats: NodeName[] = []
}

/** A node whose state a peer lacks, and from which version to send it. */
export interface StaleNode {
  readonly name: NodeName
  readonly state: NodeState
  /** The peer holds everything up to this version (0: send from scratch). */
  readonly fromVersion: number
  /** How far behind the peer is: our maxVersion − fromVersion. */
  readonly gap: number
}

/** Thrown by `set`/`delete` on a key or value outside the configured bounds. Nothing changed. */
export class StateInputError extends Error {
  override readonly name = 'StateInputError'
}

/** Strings are sent as UTF-8; a lone surrogate would arrive as U+FFFD and replicas would differ. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export class ClusterState {
  private readonly nodes = new Map<NodeName, NodeState>()
  /** Departed nodes whose state we dropped: refused up to this generation until `untilMs` (a node tombstone). */
  private readonly forgotten = new Map<NodeName, { readonly generation: number; readonly untilMs: number }>()
  private sortedNames: NodeName[] | undefined
  private events: StateEvent[] = []
  private readonly own: NodeState

  constructor(
    readonly self: NodeName,
    generation: number,
    private readonly config: StateConfig,
  ) {
    assert(Number.isSafeInteger(generation) && generation >= 0, `generation must be a safe non-negative integer, got ${generation}`)
    this.own = new NodeState(generation)
    this.nodes.set(self, this.own)
  }

  // -------------------------------------------------------------------------------------------------
  // Local operations (the owner's writes)

  /** Sets a key of this node's map. Returns the change's version (unchanged when the value is the same). */
  set(key: string, value: string): number {
    this.checkKey(key)
    if (LONE_SURROGATE.test(value)) throw new StateInputError(`value of ${key} is not well-formed UTF-16 (a lone surrogate would not survive UTF-8)`)
    if (utf8Length(value) > this.config.maxValueBytes) {
      throw new StateInputError(`value of ${key} is longer than maxValueBytes (${this.config.maxValueBytes} bytes)`)
    }
    const current = this.own.entries.get(key)
    if (current !== undefined && !isTombstone(current) && current.value === value) return current.version
    const version = ++this.own.maxVersion
    this.own.put(key, { value, version, deletedAtMs: undefined })
    this.events.push({ type: 'keySet', node: this.self, key, value, version, previous: current === undefined || isTombstone(current) ? undefined : current.value })
    return version
  }

  /** Deletes a key of this node's map, leaving a tombstone. Returns false when the key was not live. */
  delete(key: string, nowMs: number): boolean {
    this.checkKey(key)
    const current = this.own.entries.get(key)
    if (current === undefined || isTombstone(current)) return false
    const version = ++this.own.maxVersion
    this.own.put(key, { value: '', version, deletedAtMs: nowMs })
    this.events.push({ type: 'keyDeleted', node: this.self, key, previous: current.value })
    return true
  }

  private checkKey(key: string): void {
    if (key.length === 0) throw new StateInputError('keys must not be empty')
    if (LONE_SURROGATE.test(key)) throw new StateInputError('key is not well-formed UTF-16 (a lone surrogate would not survive UTF-8)')
    if (utf8Length(key) > this.config.maxKeyBytes) throw new StateInputError(`key is longer than maxKeyBytes (${this.config.maxKeyBytes} bytes)`)
  }

  /** Advances this node's heartbeat (once per round). */
  tickHeartbeat(): number {
    return ++this.own.heartbeat
  }

  /** Garbage-collects tombstones older than the grace period, in every node's map, and expired node tombstones. Returns how many entries. */
  collectGarbage(nowMs: number): number {
    let dropped = 0
    for (const ns of this.nodes.values()) dropped += ns.collectGarbage(nowMs, this.config.tombstoneGraceMs)
    for (const [name, f] of this.forgotten) if (nowMs >= f.untilMs) this.forgotten.delete(name)
    return dropped
  }

  /**
   * Drops a departed node's state (never our own): watchers see its live keys deleted, then
   * `nodeForgotten`. Its state at that generation or older is refused for tombstoneGraceMs, so peers that
   * still hold it cannot bring it back; a newer generation (the node restarted) is taken as usual.
   * Returns false when nothing was known of the node.
   */
  forget(name: NodeName, nowMs: number): boolean {
    if (name === this.self) return false
    const ns = this.nodes.get(name)
    if (ns === undefined) return false
    this.nodes.delete(name)
    this.sortedNames = undefined
    this.forgotten.set(name, { generation: ns.generation, untilMs: nowMs + this.config.tombstoneGraceMs })
    for (const [key, v] of ns.entries) if (!isTombstone(v)) this.events.push({ type: 'keyDeleted', node: name, key, previous: v.value })
    this.events.push({ type: 'nodeForgotten', node: name, generation: ns.generation })
    return true
  }

  /** Lifts a node tombstone: the node is a member again (back from a long partition at the same generation). */
  unforget(name: NodeName): boolean {
    return this.forgotten.delete(name)
  }

  /** Whether `name`'s state at `generation` was forgotten and must not be taken back. */
  isForgotten(name: NodeName, generation: number): boolean {
    const f = this.forgotten.get(name)
    return f !== undefined && generation <= f.generation
  }

  /** Node tombstones held (departed nodes whose state is refused). */
  get forgottenCount(): number {
    return this.forgotten.size
  }

  // -------------------------------------------------------------------------------------------------
  // Reads

  get generation(): number {
    return this.own.generation
  }

  /** The live value of `key` in `node`'s map. */
  get(node: NodeName, key: string): string | undefined {
    return this.nodes.get(node)?.get(key)
  }

  /** Live entries of `node`'s map (this node's by default), sorted by key. */
  entries(node: NodeName = this.self): Array<[string, string]> {
    const ns = this.nodes.get(node)
    if (ns === undefined) return []
    const out: Array<[string, string]> = []
    for (const [k, v] of ns.entries) if (!isTombstone(v)) out.push([k, v.value])
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  /** A read-only view of one node's state, tombstones included. */
  node(name: NodeName): NodeStateView | undefined {
    return this.nodes.get(name)
  }

  /** Known node names in ascending order (cached; do not mutate). */
  nodeNames(): readonly NodeName[] {
    this.sortedNames ??= [...this.nodes.keys()].sort()
    return this.sortedNames
  }

  digestOf(name: NodeName): NodeDigest | undefined {
    const ns = this.nodes.get(name)
    if (ns === undefined) return undefined
    return { node: name, generation: ns.generation, heartbeat: ns.heartbeat, maxVersion: ns.maxVersion, lastGcVersion: ns.lastGcVersion }
  }

  /** `name`'s window-summary hash (window-summary.ts), cached while its versions hold; undefined if unknown. */
  summaryHashOf(name: NodeName): number | undefined {
    const ns = this.nodes.get(name)
    return ns === undefined ? undefined : cachedSummaryHash(name, ns)
  }

  /** Queued change notifications, oldest first; the queue is emptied. */
  takeEvents(): StateEvent[] {
    const out = this.events
    this.events = []
    return out
  }

  // -------------------------------------------------------------------------------------------------
  // Reconciliation

  /**
   * Whether a peer whose digest of `name` is `digest` (undefined: the peer does not know the node) lacks
   * something we hold, and from which version to send it.
   */
  staleFor(name: NodeName, digest: NodeDigest | undefined): StaleNode | undefined {
    const ns = this.nodes.get(name)
    if (ns === undefined) return undefined
    if (digest === undefined || digest.generation < ns.generation) {
      return { name, state: ns, fromVersion: 0, gap: ns.maxVersion + 1 }
    }
    if (digest.generation > ns.generation) return undefined
    // Chitchat's reset rule: the peer may miss tombstones we collected, unless it already knows every
    // version up to our watermark or was itself reset past it.
    const reset = digest.lastGcVersion < ns.lastGcVersion && digest.maxVersion < ns.lastGcVersion
    if (reset) return { name, state: ns, fromVersion: 0, gap: ns.maxVersion + 1 }
    if (ns.maxVersion <= digest.maxVersion) return undefined
    return { name, state: ns, fromVersion: digest.maxVersion, gap: ns.maxVersion - digest.maxVersion }
  }

  /** Whether the peer's digest shows it holds something of `digest.node` we lack. */
  lacks(digest: NodeDigest): boolean {
    if (digest.node === this.self) return false
    const ns = this.nodes.get(digest.node)
    if (ns === undefined) return !this.isForgotten(digest.node, digest.generation)
    return digest.generation > ns.generation || (digest.generation === ns.generation && digest.maxVersion > ns.maxVersion)
  }

  /** Takes the heartbeat a digest reports, when it is newer for the same generation. */
  observeDigest(d: NodeDigest, tally: ApplyTally): void {
    if (d.node === this.self) return
    const ns = this.nodes.get(d.node)
    if (ns !== undefined && ns.generation === d.generation && d.heartbeat > ns.heartbeat) {
      ns.heartbeat = d.heartbeat
      tally.heartbeats.push(d.node)
    }
  }

  /** Takes a heartbeat of `name` reported at the generation we hold (a window summary that hashed alike). */
  observeHeartbeat(name: NodeName, heartbeat: number, tally: ApplyTally): void {
    if (name === this.self) return
    const ns = this.nodes.get(name)
    if (ns !== undefined && heartbeat > ns.heartbeat) {
      ns.heartbeat = heartbeat
      tally.heartbeats.push(name)
    }
  }

  /** Applies one node delta under the rules in the header. */
  applyDelta(d: NodeDelta, nowMs: number, tally: ApplyTally): ApplyOutcome {
    const outcome = this.applyDeltaInner(d, nowMs, tally)
    if (outcome === 'applied' || outcome === 'reset' || outcome === 'replaced') {
      tally.applied++
      tally.changed.push(d.node)
      if (outcome === 'reset') tally.resets++
      if (outcome === 'replaced') tally.replacements++
    } else {
      tally.ignored++
    }
    return outcome
  }

  private applyDeltaInner(d: NodeDelta, nowMs: number, tally: ApplyTally): ApplyOutcome {
    if (d.node === this.self) return 'self'
    const ns = this.nodes.get(d.node)
    if (ns !== undefined && d.generation < ns.generation) return 'stale-generation'
    if (ns === undefined || d.generation > ns.generation) {
      if (ns === undefined && this.isForgotten(d.node, d.generation)) return 'forgotten'
      if (d.fromVersion !== 0) return 'hole'
      this.forgotten.delete(d.node)
      const fresh = this.rebuild(d, nowMs, d.heartbeat)
      if (ns !== undefined) {
        this.events.push({ type: 'nodeRestarted', node: d.node, generation: d.generation, previousGeneration: ns.generation })
      }
      this.replace(d.node, ns, fresh)
      tally.heartbeats.push(d.node)
      return 'replaced'
    }
    if (d.heartbeat > ns.heartbeat) {
      ns.heartbeat = d.heartbeat
      tally.heartbeats.push(d.node)
    }
    if (d.fromVersion > ns.maxVersion) return 'hole'
    const compatible = d.lastGcVersion <= ns.lastGcVersion || d.lastGcVersion <= ns.maxVersion
    if (!compatible) {
      if (d.fromVersion !== 0) return 'needs-reset'
      const fresh = this.rebuild(d, nowMs, ns.heartbeat)
      // The reset moves lastGcVersion strictly up: the monotonic property holds even if maxVersion drops.
      assert(fresh.lastGcVersion > ns.lastGcVersion, `reset of ${d.node} did not advance lastGcVersion`)
      this.replace(d.node, ns, fresh)
      return 'reset'
    }
    if (d.toVersion <= ns.maxVersion) return 'not-newer'
    const floor = ns.maxVersion
    for (const e of d.entries) {
      if (e.version <= floor) continue
      if (e.value === null && e.version <= ns.lastGcVersion) {
        // A tombstone we already collected: keep it collected, and make sure the key is not live.
        const gone = ns.entries.get(e.key)
        ns.remove(e.key)
        if (gone !== undefined && !isTombstone(gone)) this.events.push({ type: 'keyDeleted', node: d.node, key: e.key, previous: gone.value })
        continue
      }
      this.putEntry(d.node, ns, e, nowMs)
    }
    ns.maxVersion = d.toVersion
    return 'applied'
  }

  /** A node's state rebuilt from a from-scratch delta. */
  private rebuild(d: NodeDelta, nowMs: number, heartbeat: number): NodeState {
    const fresh = new NodeState(d.generation, d.lastGcVersion)
    fresh.heartbeat = heartbeat
    for (const e of d.entries) {
      if (e.value === null && e.version <= fresh.lastGcVersion) continue
      fresh.put(e.key, toVersioned(e, nowMs))
    }
    fresh.maxVersion = d.toVersion
    return fresh
  }

  /** Installs `fresh` as `name`'s state and queues events for the live values that changed. */
  private replace(name: NodeName, old: NodeState | undefined, fresh: NodeState): void {
    this.nodes.set(name, fresh)
    if (old === undefined) this.sortedNames = undefined
    for (const [key, v] of fresh.entries) {
      if (isTombstone(v)) continue
      const previous = old?.get(key)
      if (previous !== v.value) this.events.push({ type: 'keySet', node: name, key, value: v.value, version: v.version, previous })
    }
    if (old === undefined) return
    for (const [key, v] of old.entries) {
      if (!isTombstone(v) && fresh.get(key) === undefined) this.events.push({ type: 'keyDeleted', node: name, key, previous: v.value })
    }
  }

  private putEntry(name: NodeName, ns: NodeState, e: DeltaEntry, nowMs: number): void {
    const previous = ns.put(e.key, toVersioned(e, nowMs))
    const before = previous === undefined || isTombstone(previous) ? undefined : previous.value
    if (e.value === null) {
      if (before !== undefined) this.events.push({ type: 'keyDeleted', node: name, key: e.key, previous: before })
    } else if (before !== e.value) {
      this.events.push({ type: 'keySet', node: name, key: e.key, value: e.value, version: e.version, previous: before })
    }
  }
}

function toVersioned(e: DeltaEntry, nowMs: number): VersionedValue {
  return e.value === null ? { value: '', version: e.version, deletedAtMs: nowMs } : { value: e.value, version: e.version, deletedAtMs: undefined }
}
