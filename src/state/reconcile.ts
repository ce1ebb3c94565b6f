/**
 * Scuttlebutt reconciliation with Cassandra's three messages, as a pure state machine per node.
 *
 * ```
 *  initiator A                                   peer B
 *  startRound(B) ── Syn: window [s, e) of names,
 *                        digests (node, generation, heartbeat, maxVersion, lastGcVersion) ──▶ handleSyn
 *                ◀── Ack: deltas A lacks (nodes in the window B knows better or A does not know),
 *                         digests of the nodes A knows better ──────────────────────────────  (B)
 *  handleAck ───── Ack2: deltas for those digests ─────────────────────────────────────────▶ handleAck2
 * ```
 *
 * Every message fits `maxDeltaBytes`. A Syn carries the digests of a window of the name ring that fits
 * the budget; the next round starts where it stopped, so a large cluster is covered in a few rounds and
 * a peer also sends the nodes of the window the initiator has never heard of. Deltas are packed by
 * delta-builder.ts (stalest first, a lottery slot against starvation, ascending versions).
 *
 * Messages may be lost, duplicated, delayed and reordered: every application is idempotent (entries at or
 * below our maxVersion are skipped; a delta that would leave a hole is ignored), and an Ack2 is only sent
 * for the first Ack of a recent Syn. A joining node gets everything through `fullState()` /
 * `mergeFullState()` over the push-pull stream; a full state is a list of from-scratch node deltas.
 *
 * THE INVARIANT (checked by invariant.ts after every application in the tests; its monotonic half is
 * asserted by ClusterState.applyDelta at run time). For every node N and every replica R holding N at the
 * owner's current generation, with m = R's maxVersion of N and g = R's lastGcVersion of N:
 *
 *   R's copy of N is a version prefix of the owner's map: for each key k whose current entry at the owner
 *   has version v ≤ m, R holds exactly that entry (same version, value or tombstone) — except a tombstone
 *   with v ≤ g, which R may have collected; every entry R holds has a version ≤ m, is not older than the
 *   owner's entry when that one is ≤ m, and R holds no live value for a key the owner deleted at a version
 *   ≤ max(m, g). At one generation (g, m) only grows, lexicographically.
 *
 * So a replica never has holes, never resurrects a deleted key (a peer whose digest is behind the GC
 * watermark gets a from-scratch reset of that node, never a delta), and converges to the owner's map when
 * exchanges run to quiescence. A newer generation replaces the old state everywhere.
 */
import { assert } from '../core/assert.js'
import type { Rng } from '../core/rng.js'
import type { NodeName } from '../core/types.js'
import type { DecodeError } from '../wire/decode-error.js'
import { ApplyTally, ClusterState, type StaleNode } from './cluster-state.js'
import { resolveStateConfig, type StateConfig } from './config.js'
import { buildDeltas, packNode } from './delta-builder.js'
import {
  arrayHeaderSize,
  decodeStateMessage,
  digestSize,
  encodeStateMessage,
  strSize,
  STATE_LIMITS,
  type Ack,
  type Ack2,
  type FullState,
  type NodeDelta,
  type NodeDigest,
  type StateMessage,
  type Syn,
} from './messages.js'

export interface ReconcilerOptions {
  readonly self: NodeName
  /** Must grow across restarts of this node (wall-clock ms at start, or a persisted counter). */
  readonly generation: number
  readonly rng: Rng
  readonly config?: Partial<StateConfig>
}

/** The reply to send back (if any) and what applying the input did. */
export interface HandleResult<Reply> {
  readonly reply: Reply | undefined
  readonly applied: ApplyTally
}

/** Result of `handleBytes`: the encoded reply, or why the input was dropped. */
export interface BytesResult {
  readonly reply: Uint8Array | undefined
  readonly applied: ApplyTally | undefined
  readonly error: DecodeError | undefined
}

/** Whether `name` lies in the cyclic window [start, end) of string order (start === end: everything). */
export function inWindow(name: string, start: string, end: string): boolean {
  if (start === end) return true
  return start < end ? name >= start && name < end : name >= start || name < end
}

export class StateReconciler {
  readonly state: ClusterState
  readonly config: StateConfig
  private readonly rng: Rng
  /** Where the next Syn's window starts in the name ring. */
  private cursor = ''
  /** Peers we sent a Syn to, and when: an Ack gets an Ack2 only while its Syn is pending. */
  private readonly pending = new Map<NodeName, number>()

  constructor(options: ReconcilerOptions) {
    this.config = resolveStateConfig(options.config)
    this.rng = options.rng
    this.state = new ClusterState(options.self, options.generation, this.config)
  }

  get self(): NodeName {
    return this.state.self
  }

  /** Once per round, before starting exchanges: heartbeat, tombstone GC, forgotten exchanges. */
  tick(nowMs: number): { readonly collected: number } {
    this.state.tickHeartbeat()
    for (const [peer, sentAt] of this.pending) if (nowMs - sentAt > this.config.exchangeTimeoutMs) this.pending.delete(peer)
    return { collected: this.state.collectGarbage(nowMs) }
  }

  /** Opens an exchange with `peer`: the digests of the next window of the name ring that fits the budget. */
  startRound(peer: NodeName, nowMs: number): Syn {
    this.pending.set(peer, nowMs)
    const names = this.state.nodeNames()
    const n = names.length
    const start = this.cursor
    let first = lowerBound(names, start)
    if (first === n) first = 0
    const fixed = 2 + strSize(start)
    const digests: NodeDigest[] = []
    let used = fixed
    for (let step = 0; step < n; step++) {
      const d = this.state.digestOf(names[(first + step) % n]) as NodeDigest
      const count = step + 1
      const end = count === n ? start : names[(first + count) % n]
      if (used + digestSize(d) + arrayHeaderSize(count) + strSize(end) > this.config.maxDeltaBytes) break
      used += digestSize(d)
      digests.push(d)
    }
    // Config validation guarantees a digest of the largest allowed name fits, so the window is never empty
    // (an empty window [x, x) would read as the whole ring).
    assert(digests.length > 0, `no digest fits a Syn of ${this.config.maxDeltaBytes} bytes`)
    const end = digests.length === n ? start : names[(first + digests.length) % n]
    this.cursor = end
    return { kind: 'syn', windowStart: start, windowEnd: end, digests }
  }

  /** Answers a Syn with the deltas the initiator lacks and the digests of what we lack. */
  handleSyn(from: NodeName, syn: Syn, nowMs: number): HandleResult<Ack> {
    const tally = new ApplyTally()
    const stale: StaleNode[] = []
    const wanted: Array<{ digest: NodeDigest; gap: number }> = []
    const named = new Set<NodeName>()
    for (const d of syn.digests) {
      named.add(d.node)
      this.state.observeDigest(d, tally)
      const s = this.state.staleFor(d.node, d)
      if (s !== undefined) stale.push(s)
      else if (this.state.lacks(d)) {
        const ours = this.state.digestOf(d.node) ?? { node: d.node, generation: 0, heartbeat: 0, maxVersion: 0, lastGcVersion: 0 }
        wanted.push({ digest: ours, gap: ours.generation < d.generation ? d.maxVersion + 1 : d.maxVersion - ours.maxVersion })
      }
    }
    for (const name of this.state.nodeNames()) {
      if (named.has(name) || !inWindow(name, syn.windowStart, syn.windowEnd)) continue
      const s = this.state.staleFor(name, undefined)
      if (s !== undefined) stale.push(s)
    }
    // Digests first, at most half the budget when we also have deltas to send.
    const budget = this.config.maxDeltaBytes - 2
    const digestBudget = stale.length > 0 ? Math.floor(budget / 2) : budget
    this.rng.shuffle(wanted).sort((a, b) => b.gap - a.gap)
    const digests: NodeDigest[] = []
    let used = arrayHeaderSize(0)
    for (const w of wanted) {
      const cost = digestSize(w.digest) + arrayHeaderSize(digests.length + 1) - arrayHeaderSize(digests.length)
      if (used + cost > digestBudget) continue
      digests.push(w.digest)
      used += cost
    }
    const { deltas } = buildDeltas(stale, budget - used, this.rng, this.config.lotteryShare)
    const reply: Ack | undefined = digests.length + deltas.length > 0 ? { kind: 'ack', digests, deltas } : undefined
    return { reply, applied: tally }
  }

  /** Applies the peer's deltas and, for the first Ack of a pending Syn, answers with the deltas it asked for. */
  handleAck(from: NodeName, ack: Ack, nowMs: number): HandleResult<Ack2> {
    const tally = this.applyDeltas(ack.deltas, nowMs)
    for (const d of ack.digests) this.state.observeDigest(d, tally)
    const sentAt = this.pending.get(from)
    if (sentAt === undefined || nowMs - sentAt > this.config.exchangeTimeoutMs) return { reply: undefined, applied: tally }
    this.pending.delete(from)
    const stale: StaleNode[] = []
    for (const d of ack.digests) {
      const s = this.state.staleFor(d.node, d)
      if (s !== undefined) stale.push(s)
    }
    if (stale.length === 0) return { reply: undefined, applied: tally }
    const { deltas } = buildDeltas(stale, this.config.maxDeltaBytes - 2, this.rng, this.config.lotteryShare)
    return { reply: deltas.length > 0 ? { kind: 'ack2', deltas } : undefined, applied: tally }
  }

  /** Applies the initiator's closing deltas. */
  handleAck2(from: NodeName, ack2: Ack2, nowMs: number): ApplyTally {
    return this.applyDeltas(ack2.deltas, nowMs)
  }

  /** Every node's state from scratch, for the join-time push-pull (not budgeted: it goes over a stream). */
  fullState(): FullState {
    const deltas: NodeDelta[] = []
    for (const name of this.state.nodeNames()) {
      const whole = packNode(this.state.staleFor(name, undefined) as StaleNode, Infinity)
      if (whole !== undefined) deltas.push(whole.delta)
    }
    return { kind: 'full', deltas }
  }

  /** Merges a peer's full state (same rules as any delta: newer only, resets when needed). */
  mergeFullState(full: FullState, nowMs: number): ApplyTally {
    return this.applyDeltas(full.deltas, nowMs)
  }

  /**
   * Decodes a payload, handles it and encodes the reply: the glue's single entry point (`stream`: the
   * payload came over a stream, so a full state's larger bound applies). Bad input is dropped with its
   * reason; nothing changed.
   */
  handleBytes(from: NodeName, bytes: Uint8Array, nowMs: number, stream = false): BytesResult {
    const decoded = decodeStateMessage(bytes, stream ? STATE_LIMITS.fullStateMaxBytes : STATE_LIMITS.packetMaxBytes)
    if (!decoded.ok) return { reply: undefined, applied: undefined, error: decoded.error }
    const { reply, applied } = this.handle(from, decoded.value, nowMs)
    return { reply: reply === undefined ? undefined : encodeStateMessage(reply), applied, error: undefined }
  }

  /** Dispatches a decoded message. */
  handle(from: NodeName, m: StateMessage, nowMs: number): HandleResult<StateMessage> {
    switch (m.kind) {
      case 'syn':
        return this.handleSyn(from, m, nowMs)
      case 'ack':
        return this.handleAck(from, m, nowMs)
      case 'ack2':
        return { reply: undefined, applied: this.handleAck2(from, m, nowMs) }
      case 'full':
        return { reply: undefined, applied: this.mergeFullState(m, nowMs) }
    }
  }

  private applyDeltas(deltas: readonly NodeDelta[], nowMs: number): ApplyTally {
    const tally = new ApplyTally()
    for (const d of deltas) this.state.applyDelta(d, nowMs, tally)
    return tally
  }
}

function lowerBound(names: readonly string[], key: string): number {
  let lo = 0
  let hi = names.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (names[mid] < key) lo = mid + 1
    else hi = mid
  }
  return lo
}
