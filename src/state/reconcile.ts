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
 * Two additions keep a large cluster fast and a quiet one cheap:
 * - Recent changes. A Syn also names, outside its window, the nodes whose generation or maxVersion changed
 *   here in the last RECENT_ROUNDS rounds (newest first, within RECENT_SHARE of the budget), and the
 *   nodes a peer's Ack showed we lack. The peer treats them like window digests, so news spreads
 *   epidemically (log N rounds) instead of waiting for a window to come round (N / window rounds).
 * - Compact windows. A window with no recent change is sent as a 53-bit hash of its nodes' (name,
 *   generation, maxVersion, lastGcVersion) and their heartbeats, a few bytes per node. A peer whose window
 *   hashes alike takes the heartbeats (the phi detector's input); one that differs answers with its own
 *   window's digests: the initiator pushes what the peer lacks in its Ack2 and names what it lacks itself
 *   in its next Syns. The hash folds per-node hashes cached while the node's versions hold
 *   (window-summary.ts), so a quiet Syn and its check cost a few operations per node and build no digests.
 *   The heartbeats go as one byte each, their value mod 256 (StateConfig.compactHeartbeats), rebuilt by
 *   the receiver from its own value within what the time since it last heard the node allows, plus a
 *   slack (`residueAdvance`); every 16th compact Syn carries whole values. A window that is the whole ring is
 *   named ['', ''] (from the first name) instead of by two names.
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
import { WindowHasher } from './window-summary.js'
import type { NodeStateView } from './node-state.js'
import {
  arrayHeaderSize,
  decodeStateMessage,
  digestSize,
  encodeStateMessage,
  HEARTBEAT_RESIDUE_MODULUS,
  residuesSize,
  strSize,
  STATE_LIMITS,
  uintSize,
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

/**
 * How far a residue heartbeat (the sender's value mod 256) moves our value `held` of a node whose
 * heartbeat last advanced here `sinceMs` ago: the forward distance from held to the residue, if it is
 * below half the modulus (a residue behind ours says nothing) and no more than the node can have ticked
 * since (one heartbeat a round) plus RESIDUE_SLACK_ROUNDS for how stale our value already was when we
 * took it (a few rounds in a small cluster, more where windows rotate). A sender 129–255 behind us
 * (back from a long partition) would read as ahead: the bound keeps such a phantom within the slack of
 * the truth instead of up to 127 heartbeats past it. A receiver that fell 128 or more behind takes
 * nothing from residues until a whole value comes (every RESIDUE_RESYNC_EVERY-th compact Syn, any
 * digest or delta, a join's push-pull). 0: nothing to take. Pure.
 */
export function residueAdvance(held: number, residue: number, sinceMs: number, roundIntervalMs: number): number {
  const forward = (residue - (held % HEARTBEAT_RESIDUE_MODULUS) + HEARTBEAT_RESIDUE_MODULUS) % HEARTBEAT_RESIDUE_MODULUS
  if (forward === 0 || forward >= HEARTBEAT_RESIDUE_MODULUS / 2) return 0
  const possible = Math.floor(Math.max(0, sinceMs) / Math.max(1, roundIntervalMs)) + RESIDUE_SLACK_ROUNDS
  return forward <= possible ? forward : 0
}

/** Rounds a residue may move a heartbeat beyond the time since it last advanced here (residueAdvance). */
export const RESIDUE_SLACK_ROUNDS = 32

/** Every how many compact Syns one carries whole heartbeats instead of residues. */
const RESIDUE_RESYNC_EVERY = 16

/** How many rounds a node stays among the recent changes a Syn names outside its window. */
const RECENT_ROUNDS = 6
/** Share of a Syn's budget for the digests of recently changed nodes. */
const RECENT_SHARE = 0.4

export class StateReconciler {
  readonly state: ClusterState
  readonly config: StateConfig
  private readonly rng: Rng
  /** Where the next Syn's window starts in the name ring. */
  private cursor = ''
  /** Peers we sent a Syn to, and when: an Ack gets an Ack2 only while its Syn is pending. */
  private readonly pending = new Map<NodeName, number>()
  /** Rounds ticked so far. */
  private round = 0
  /**
   * Nodes whose generation or maxVersion changed here in the last RECENT_ROUNDS rounds, with the round
   * of the change; Map order is recency (a change re-inserts), so the newest are last.
   */
  private readonly recent = new Map<NodeName, number>()
  /** Our own maxVersion when last recorded in `recent`. */
  private ownVersion = 0
  /** When each node's heartbeat last advanced here: bounds how far a residue may move it (residueAdvance). */
  private readonly heartbeatAt = new Map<NodeName, number>()
  /** Compact Syns built so far: every RESIDUE_RESYNC_EVERY-th carries whole heartbeats. */
  private compactSyns = 0

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
    this.round++
    this.noteOwnWrites()
    for (const [name, round] of this.recent) {
      if (this.round - round < RECENT_ROUNDS) break
      this.recent.delete(name)
    }
    return { collected: this.state.collectGarbage(nowMs) }
  }

  /** Forgets a departed node's state (ClusterState.forget) and stops naming it in Syns. */
  forget(name: NodeName, nowMs: number): boolean {
    this.recent.delete(name)
    this.heartbeatAt.delete(name)
    return this.state.forget(name, nowMs)
  }

  /**
   * Opens an exchange with `peer`: the digests of the recently changed nodes (newest first, within
   * RECENT_SHARE of the budget), then those of the next window of the name ring that fits the rest. The
   * recent digests spread a change epidemically (every node that learns it names it to its next peers),
   * which a window alone cannot do once a Syn no longer holds every digest; the window is the
   * anti-entropy that catches up everything else.
   */
  startRound(peer: NodeName, nowMs: number): Syn {
    const syn = this.buildSyn(peer, nowMs, this.config.maxDeltaBytes)
    // Config validation guarantees a digest of the largest allowed name fits, so the window is never empty
    // (an empty window [x, x) would read as the whole ring).
    if (syn === undefined) assert(false, `no digest fits a Syn of ${this.config.maxDeltaBytes} bytes`)
    return syn
  }

  /**
   * Whether anything changed here in the last RECENT_ROUNDS rounds (our own writes included): while it
   * did, exchanges run at full fanout; while not, one Syn a round is enough and may ride on a packet
   * that goes anyway (stack/protocols.ts).
   */
  hasNews(): boolean {
    this.noteOwnWrites()
    return this.recent.size > 0
  }

  /**
   * A Syn of at most `budgetBytes` (below maxDeltaBytes: the room left in a SWIM packet), or undefined
   * when not even one digest fits; nothing changes then.
   */
  startRoundWithin(peer: NodeName, nowMs: number, budgetBytes: number): Syn | undefined {
    return this.buildSyn(peer, nowMs, Math.min(budgetBytes, this.config.maxDeltaBytes))
  }

  private buildSyn(peer: NodeName, nowMs: number, budget: number): Syn | undefined {
    this.noteOwnWrites()
    const names = this.state.nodeNames()
    const n = names.length
    let start = this.cursor
    let first = lowerBound(names, start)
    if (first === n) first = 0
    const fixed = 2 + strSize(start)
    const extra: NodeDigest[] = []
    const extraNames = new Set<NodeName>()
    let extraBytes = 0
    const share = Math.floor(budget * RECENT_SHARE)
    const newestFirst = [...this.recent.keys()].reverse()
    for (const name of newestFirst) {
      // A node we heard of but do not hold is named with an empty digest, so a peer sends it whole.
      const d = this.state.digestOf(name) ?? emptyDigest(name)
      if (extraBytes + digestSize(d) > share) break
      extra.push(d)
      extraNames.add(name)
      extraBytes += digestSize(d)
    }
    let window = this.window(names, first, start, fixed, extraNames, extraBytes, extra.length, budget)
    if (window.count === 0 && extra.length > 0) {
      extra.length = 0
      extraNames.clear()
      window = this.window(names, first, start, fixed, extraNames, 0, 0, budget)
    }
    if (window.count === 0) return undefined
    this.pending.set(peer, nowMs)
    const count = window.count
    const end = count === n ? start : names[(first + count) % n]
    this.cursor = end
    if (count === n) {
      // The whole ring: named as ['', ''] from the first name, not from the cursor, so it costs two bytes
      // instead of two names (every decoder reads ['', ''] as the whole ring, from the first name).
      start = ''
      first = 0
    }
    const full = (): Syn => {
      const digests: NodeDigest[] = []
      for (let i = 0; i < count; i++) {
        const name = names[(first + i) % n]
        if (!extraNames.has(name)) digests.push(this.state.digestOf(name) as NodeDigest)
      }
      return { kind: 'syn', windowStart: start, windowEnd: count === n ? '' : end, digests: [...digests, ...extra] }
    }
    // The same window summarised: its hash and heartbeats. A quiet cluster's windows hash alike on both
    // sides, so a Syn costs a few bytes per node instead of a digest (names included) per node. A window
    // with a recent change here likely differs at the peer, and a differing summary costs the exchange a
    // round: it goes in full. (The extra, recent nodes are all in `recent`: a window without any recent
    // node holds none of them.)
    if (this.recent.size > 0) {
      for (let i = 0; i < count; i++) if (this.recent.has(names[(first + i) % n])) return full()
    }
    const hasher = new WindowHasher()
    const heartbeats = new Array<number>(count)
    let heartbeatBytes = 0
    for (let i = 0; i < count; i++) {
      const name = names[(first + i) % n]
      hasher.add(this.state.summaryHashOf(name) as number)
      const hb = (this.state.node(name) as NodeStateView).heartbeat
      heartbeats[i] = hb
      heartbeatBytes += uintSize(hb)
    }
    const hash = hasher.value
    // Residues (one byte a heartbeat) but whole values in every RESIDUE_RESYNC_EVERY-th compact Syn, so a
    // receiver that fell too far behind to rebuild residues catches up (StateConfig.compactHeartbeats).
    const residues = this.config.compactHeartbeats && this.compactSyns++ % RESIDUE_RESYNC_EVERY !== 0
    // The compact form drops the window's digests (window.digestBytes) for the hash and the heartbeats.
    const fullBytes = arrayHeaderSize(count + extra.length) + window.digestBytes
    const compactBytes = arrayHeaderSize(extra.length) + uintSize(hash) + (residues ? residuesSize(count) : arrayHeaderSize(count) + heartbeatBytes)
    if (compactBytes >= fullBytes) return full()
    const summary = residues ? { hash, heartbeats, residues } : { hash, heartbeats }
    return { kind: 'syn', windowStart: start, windowEnd: count === n ? '' : end, digests: extra, summary }
  }

  /**
   * The longest run of names from `first` whose digests fit beside the `extra` ones (named once, costing
   * `extraBytes`): how many names, and the bytes of the digests of those not among the extra ones.
   */
  private window(
    names: readonly NodeName[],
    first: number,
    start: string,
    fixed: number,
    extraNames: ReadonlySet<NodeName>,
    extraBytes: number,
    extraCount: number,
    budget: number,
  ): { count: number; digestBytes: number } {
    const n = names.length
    let used = fixed + extraBytes
    let digests = 0
    let digestBytes = 0
    let count = 0
    for (let step = 0; step < n; step++) {
      const name = names[(first + step) % n]
      const end = step + 1 === n ? start : names[(first + step + 1) % n]
      if (extraNames.has(name)) {
        if (used + arrayHeaderSize(digests + extraCount) + strSize(end) > budget) break
        count = step + 1
        continue
      }
      const size = digestSizeOf(name, this.state.node(name) as NodeStateView)
      if (used + size + arrayHeaderSize(digests + 1 + extraCount) + strSize(end) > budget) break
      used += size
      digestBytes += size
      digests++
      count = step + 1
    }
    return { count, digestBytes }
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
      else if (this.state.lacks(d) && !(isEmptyDigest(d) && this.state.node(d.node) === undefined)) {
        const ours = this.state.digestOf(d.node) ?? { node: d.node, generation: 0, heartbeat: 0, maxVersion: 0, lastGcVersion: 0 }
        wanted.push({ digest: ours, gap: ours.generation < d.generation ? d.maxVersion + 1 : d.maxVersion - ours.maxVersion })
      }
    }
    const offered: NodeDigest[] = []
    if (syn.summary === undefined) {
      for (const name of this.state.nodeNames()) {
        if (named.has(name) || !inWindow(name, syn.windowStart, syn.windowEnd)) continue
        const s = this.state.staleFor(name, undefined)
        if (s !== undefined) stale.push(s)
      }
    } else {
      if (!this.summaryMatches(syn.windowStart, syn.windowEnd, syn.summary.hash, syn.summary.heartbeats.length)) {
        // The windows differ and we cannot tell where: offer ours, the initiator sends what we lack in its
        // Ack2 and names what it lacks in its next Syns.
        for (const d of this.windowDigests(syn.windowStart, syn.windowEnd)) if (!named.has(d.node)) offered.push(d)
      } else {
        // Same nodes at the same versions (so the same generations): only the heartbeats are news.
        const names = this.state.nodeNames()
        let i = lowerBound(names, syn.windowStart)
        if (i === names.length) i = 0
        const residues = syn.summary.residues === true
        for (const hb of syn.summary.heartbeats) {
          const name = names[i]
          if (!residues) this.state.observeHeartbeat(name, hb, tally)
          else {
            const held = this.state.node(name)
            const advance = held === undefined ? 0 : residueAdvance(held.heartbeat, hb, nowMs - (this.heartbeatAt.get(name) ?? nowMs), this.config.roundIntervalMs)
            if (advance > 0) this.state.observeHeartbeat(name, held!.heartbeat + advance, tally)
          }
          if (++i === names.length) i = 0
        }
      }
    }
    // Digests first, at most half the budget when we also have deltas to send, and always leaving room
    // for the deltas array's header (an empty array is one byte: without it, digests that filled the
    // budget exactly made an Ack one byte over it).
    const budget = this.config.maxDeltaBytes - 2
    const digestBudget = (stale.length > 0 ? Math.floor(budget / 2) : budget) - arrayHeaderSize(0)
    this.rng.shuffle(wanted).sort((a, b) => b.gap - a.gap)
    const digests: NodeDigest[] = []
    let used = arrayHeaderSize(0)
    for (const d of [...wanted.map((w) => w.digest), ...this.rng.shuffle(offered)]) {
      const cost = digestSize(d) + arrayHeaderSize(digests.length + 1) - arrayHeaderSize(digests.length)
      if (used + cost > digestBudget) continue
      digests.push(d)
      used += cost
    }
    const { deltas } = buildDeltas(stale, budget - used, this.rng, this.config.lotteryShare)
    const reply: Ack | undefined = digests.length + deltas.length > 0 ? { kind: 'ack', digests, deltas } : undefined
    return { reply, applied: tally }
  }

  /** Applies the peer's deltas and, for the first Ack of a pending Syn, answers with the deltas it asked for. */
  handleAck(from: NodeName, ack: Ack, nowMs: number): HandleResult<Ack2> {
    const tally = this.applyDeltas(ack.deltas, nowMs)
    for (const d of ack.digests) {
      this.state.observeDigest(d, tally)
      // The peer holds more of this node than we do: name it in our next Syns so that a peer sends it.
      if (this.state.lacks(d) && !isEmptyDigest(d)) this.noteChange(d.node)
    }
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
    // Not news to gossip: a full state is a join's catch-up, and its nodes are known everywhere else.
    return this.noteHeartbeats(this.applyDeltas(full.deltas, nowMs, false), nowMs)
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
    const result = this.dispatch(from, m, nowMs)
    this.noteHeartbeats(result.applied, nowMs)
    return result
  }

  private dispatch(from: NodeName, m: StateMessage, nowMs: number): HandleResult<StateMessage> {
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

  private applyDeltas(deltas: readonly NodeDelta[], nowMs: number, news = true): ApplyTally {
    const tally = new ApplyTally()
    for (const d of deltas) this.state.applyDelta(d, nowMs, tally)
    if (news) for (const name of tally.changed) this.noteChange(name)
    return tally
  }

  /** Our digests of the nodes in the cyclic window [start, end), in its order (from the first name ≥ start). */
  private windowDigests(start: string, end: string): NodeDigest[] {
    const names = this.state.nodeNames()
    const n = names.length
    let first = lowerBound(names, start)
    if (first === n) first = 0
    const out: NodeDigest[] = []
    for (let i = 0; i < n; i++) {
      const name = names[(first + i) % n]
      if (!inWindow(name, start, end)) break
      out.push(this.state.digestOf(name) as NodeDigest)
    }
    return out
  }

  /** Whether our nodes in the cyclic window [start, end) are `count` and hash to `hash` (window-summary.ts). */
  private summaryMatches(start: string, end: string, hash: number, count: number): boolean {
    const names = this.state.nodeNames()
    const n = names.length
    let first = lowerBound(names, start)
    if (first === n) first = 0
    const hasher = new WindowHasher()
    let inside = 0
    for (let i = 0; i < n; i++) {
      const name = names[(first + i) % n]
      if (!inWindow(name, start, end)) break
      if (++inside > count) return false
      hasher.add(this.state.summaryHashOf(name) as number)
    }
    return inside === count && hasher.value === hash
  }

  /** Records when the heartbeats `tally` advanced (the bound residueAdvance puts on residues). */
  private noteHeartbeats(tally: ApplyTally, nowMs: number): ApplyTally {
    for (const name of tally.heartbeats) this.heartbeatAt.set(name, nowMs)
    return tally
  }

  /** Records a change of `name` (generation or maxVersion) as the newest recent one. */
  private noteChange(name: NodeName): void {
    this.recent.delete(name)
    this.recent.set(name, this.round)
  }

  /** Our own writes go through `state` directly: notice them by our maxVersion. */
  private noteOwnWrites(): void {
    const own = this.state.digestOf(this.self) as NodeDigest
    if (own.maxVersion !== this.ownVersion) {
      this.ownVersion = own.maxVersion
      this.noteChange(this.self)
    }
  }
}

function emptyDigest(node: NodeName): NodeDigest {
  return { node, generation: 0, heartbeat: 0, maxVersion: 0, lastGcVersion: 0 }
}

function isEmptyDigest(d: NodeDigest): boolean {
  return d.generation === 0 && d.heartbeat === 0 && d.maxVersion === 0 && d.lastGcVersion === 0
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

/** Bytes of the digest of `name` held as `ns` (digestSize without building the digest). */
function digestSizeOf(name: NodeName, ns: NodeStateView): number {
  return 1 + strSize(name) + uintSize(ns.generation) + uintSize(ns.heartbeat) + uintSize(ns.maxVersion) + uintSize(ns.lastGcVersion)
}

export { windowHash } from './window-summary.js'
