/**
 * Delta-state CRDT replication over gossip (Almeida, Shoker, Baquero's delta intervals; Akka Distributed
 * Data's shape), as a pure state machine per node.
 *
 * ```
 *  write here ──▶ state.mutate → delta, numbered from..to = seq+1 per (origin replica, key)
 *             └─▶ queued (one entry per origin and key; a newer adjacent interval joins the queued one)
 *  queue ──▶ piggybacked on SWIM's pings, acks and gossip rounds, each retransmitMult·⌈log10(n+1)⌉ times
 *            (a delta larger than a packet: pushed in fragments to FANOUT peers at the next round)
 *  peer: delta [from..to] of origin O for key K
 *        ├─ to ≤ seq(O,K): already here, dropped
 *        ├─ from ≤ seq(O,K)+1: merged, seq(O,K) = to, queued to relay (infect, then die by the limit)
 *        └─ gap: merged anyway (a join is always safe), and the sender is asked for K:
 *                ──▶ states [need K]  ◀── states [K: full state, its seq per origin]  (seqs max-merged)
 *  every antiEntropyIntervalMs ──▶ digest of a window of our keys (key, 53-bit hash of the state) to one
 *        random peer ◀── states: its state of each key that differs (want: send yours back) or that we
 *        did not list, and the keys it lacks (need) ──▶ states: ours
 *  push-pull (join and SWIM's periodic exchange) ──▶ every key's full state, up to maxPushPullBytes
 * ```
 *
 * Why this converges: every state and delta is a lattice element and every receipt is a join, so loss,
 * duplication and reordering only delay. A lost delta is noticed as a gap at the next interval from the
 * same origin, or by a digest mismatch; either brings the full state. seq(O,K) is a promise that the
 * state holds every delta of O up to it, kept by advancing it only contiguously or from a full state
 * that made the same promise.
 *
 * Replica ids are per incarnation (`name#generation`): a node restarted without its data directory
 * starts a fresh id, so its new counter entry and its new dots can never collide with those of its past
 * life (which stay in every replica: no value lost, no removed element back). With a data directory the
 * id, the states and the seqs are reloaded and the node carries on where it stopped.
 *
 * Departed members (left or reaped, from SWIM): their reassembly buffers and their origins' seqs go; their
 * contributions stay in the states (a join never loses them), unless a graceful leaver handed them to
 * one heir that folded them (handoff.ts). A restarted node's past lives are folded by the node itself,
 * once it has run foldAfterMs (the only writer of its new replica id, so one fold per predecessor):
 *
 *   every round after foldAfterMs ──▶ each key holding an older generation of our name, once every live
 *        Grapevine peer (at least two) was seen holding the same state as ours (a digest that matched, or
 *        a full state that left ours equal to it) since a peer last died or restarted (fold-gate.ts)
 *        ──▶ a write of ours: their counter totals into our entry, floor name → our generation
 *        (crdt/floors.ts)
 *   any replica merging it ──▶ the predecessors' entries, context entries and seqs dropped; later deltas
 *        of theirs dropped (retiredDropped)
 *
 * Bounds: a key's state ≤ maxStateBytes, every message ≤ maxMessageBytes or ≤ maxFragments fragments, the
 * queue ≤ maxQueuedDeltas, reassembly ≤ maxReassemblies messages; per key, one counter entry, one context
 * entry, one seq and one floor per member name that wrote it (not per restart), plus the dots of live
 * elements.
 */
import { ConfigError } from '../core/errors.js'
import type { Rng } from '../core/rng.js'
import { decodeCrdt, encodeCrdt, floorsOf, foldCrdt, HybridClock, type Crdt } from '../crdt/index.js'
import { digestWindowEnd, prunableSeqs, stateBatches } from './batching.js'
import { BroadcastQueue } from '../swim/broadcast-queue.js'
import { retransmitLimit } from '../swim/formulas.js'
import { resolveReplicationConfig, STATE_FRAMING_BYTES, type ReplicationConfig } from './config.js'
import { fragment, MessageTooLargeError, Reassembly } from './fragments.js'
import { crdtKey, emptyState, hash53, kindType, parseKey, replicaMember, type CrdtKind, type CrdtKinds } from './keys.js'
import { FoldGate } from './fold-gate.js'
import { Handoff, type HandoffHost } from './handoff.js'
import { decodeReplicationMessage, encodeReplicationMessage, type DeltaMessage, type DigestMessage, type KeyState, type StatesMessage } from './messages.js'
import { CrdtCommitError, CrdtLimitError, newReplicationCounters, type KeyChange, type KeyRecord, type ReplicationCounters, type ReplicatorOptions } from './types.js'

/** Sends one message to a peer by name; false when there is no such live peer. */
export type Send = (to: string, bytes: Uint8Array) => boolean

/** Peers a delta too large for a packet is pushed to, in fragments, by each node that takes it. */
const LARGE_DELTA_FANOUT = 3

interface Entry {
  readonly key: string
  readonly kind: CrdtKind
  state: Crdt
  /** Per origin replica: every delta of it up to this number is in `state`. */
  readonly seqs: Map<string, number>
  /** Canonical encoding of `state`, cached until the next change. */
  encoded: Uint8Array | undefined
  hash: number | undefined
}

interface PendingDelta {
  readonly name: string
  readonly origin: string
  readonly key: string
  readonly from: number
  to: number
  delta: Crdt
}

export type { KeyChange, KeyRecord, ReplicatorOptions } from './types.js'

export class CrdtReplicator implements HandoffHost {
  readonly self: string
  readonly replica: string
  readonly config: ReplicationConfig
  readonly counters: ReplicationCounters = newReplicationCounters()
  /** Hybrid logical clock of LWW writes. */
  readonly clock = new HybridClock()
  private readonly rng: Rng
  private readonly entries = new Map<string, Entry>()
  private sortedKeys: string[] | undefined
  private readonly queue: BroadcastQueue
  private readonly pending = new Map<string, PendingDelta>()
  private large: DeltaMessage[] = []
  private readonly reassembly: Reassembly
  /** Members that left or were reaped and have not come back: their seqs are not recorded again. */
  private readonly gone = new Set<string>()
  private readonly changes = new Map<string, boolean>()
  private readonly gapAskedMs = new Map<string, number>()
  private cursor = 0
  private fragmentIds = 0
  private clusterSize = 1
  /** Keys that may hold a predecessor of ours (merged from a peer or restored since the last fold pass). */
  private readonly foldCandidates = new Set<string>()
  /** Per key, the live peers seen holding our state of it: what a fold waits for (fold-gate.ts). */
  private readonly foldGate = new FoldGate()
  private startedMs: number | undefined
  private durableCommit: ((record: KeyRecord) => void) | undefined
  /** Retires this replica on disk before a graceful leave's commit (handoff.ts; setDurableCommit). */
  durableRetire: (() => void) | undefined
  /** A graceful leave's handoff to one heir, and this replica's part as an heir (handoff.ts). */
  readonly handoff: Handoff = new Handoff(this)

  constructor(o: ReplicatorOptions) {
    this.self = o.self
    this.replica = o.replica
    this.rng = o.rng
    this.config = resolveReplicationConfig(o.config)
    this.queue = new BroadcastQueue(this.config.maxQueuedDeltas)
    this.reassembly = new Reassembly(this.config)
    for (const rec of o.restored ?? []) this.restore(rec)
  }

  // ------------------------------------------------------------------ reads

  /** The state of a key (live: read it, do not mutate it), or undefined when nobody wrote it yet. */
  get<K extends CrdtKind>(kind: K, name: string): CrdtKinds[K] | undefined {
    return this.entries.get(crdtKey(kind, name))?.state as CrdtKinds[K] | undefined
  }

  /** Every key held here, sorted. */
  keys(): readonly string[] {
    if (this.sortedKeys === undefined) this.sortedKeys = [...this.entries.keys()].sort()
    return this.sortedKeys
  }

  /** A key's durable record (state and seqs), or undefined. */
  record(key: string): KeyRecord | undefined {
    const e = this.entries.get(key)
    return e === undefined ? undefined : { key, state: this.encoded(e), seqs: [...e.seqs] }
  }

  /** The 53-bit hash of a key's canonical state (what digests compare), or undefined. */
  hashOf(key: string): number | undefined {
    const e = this.entries.get(key)
    return e === undefined ? undefined : this.hashEntry(e)
  }

  /** Keys changed since the last call, each once (local if any change to it was a write here). */
  takeChanges(): KeyChange[] {
    const out: KeyChange[] = []
    for (const [key, local] of this.changes) {
      const p = parseKey(key)!
      out.push({ key, kind: p.kind, name: p.name, local })
    }
    this.changes.clear()
    return out
  }

  get queuedDeltas(): number { return this.queue.size + this.large.length }
  /**
   * When the next gossip round is wanted: at once while deltas, fragments or a handoff are in flight;
   * else at `antiEntropyAtMs` if there are keys to compare, else not at all (an idle node does not wake).
   */
  nextRoundMs(nowMs: number, antiEntropyAtMs: number | undefined): number | undefined {
    if (this.queue.size > 0 || this.large.length > 0 || this.reassembly.size > 0 || this.startedMs === undefined || this.handoff.active) return nowMs
    // Folds run in rounds: a pending one wants its round when foldAfterMs has passed.
    const foldAtMs = this.foldCandidates.size > 0 ? Math.max(nowMs, this.startedMs + this.config.foldAfterMs) : undefined
    if (this.entries.size === 0) return foldAtMs
    return foldAtMs === undefined || antiEntropyAtMs === undefined ? antiEntropyAtMs ?? foldAtMs : Math.min(foldAtMs, antiEntropyAtMs)
  }

  // ------------------------------------------------------------------ writes

  /**
   * Makes every write durable before it counts: called with the key's new record after the state
   * changed and before the delta is queued; a throw undoes the write (crdt-store.ts commit). `retire`
   * forgets this replica on disk before a graceful leave commits it to an heir (crdt-store.ts retire).
   */
  setDurableCommit(commit: ((record: KeyRecord) => void) | undefined, retire?: () => void): void {
    this.durableCommit = commit
    this.durableRetire = retire
  }

  /**
   * Applies a write here and queues its delta. `mutate` changes the state in place and returns the
   * delta (the CRDT mutators do). Throws CrdtLimitError when the key's state would pass
   * maxStateBytes, CrdtCommitError when the durable commit failed, and whatever the mutator throws
   * (RangeError for a bad amount or value); in every case nothing changed and nothing is sent.
   */
  write<K extends CrdtKind>(kind: K, name: string, mutate: (state: CrdtKinds[K], replica: string, clock: HybridClock) => Crdt): Crdt {
    const key = crdtKey(kind, name)
    this.handoff.checkWritable(key)
    const existing = this.entries.get(key)
    const entry = existing ?? this.newEntry(key, kind)
    const before = entry.state.clone()
    const delta = mutate(entry.state as CrdtKinds[K], this.replica, this.clock)
    if (delta.isEmpty) {
      if (existing === undefined) this.entries.delete(key)
      return delta
    }
    this.handoff.stamp(key, delta)
    const encoded = encodeCrdt(entry.state)
    if (encoded.length > this.config.maxStateBytes) {
      entry.state = before
      if (existing === undefined) this.entries.delete(key)
      throw new CrdtLimitError(
        `${key}: this write makes its state ${encoded.length} bytes encoded; a key may hold at most ${this.config.maxStateBytes} bytes (replication.maxStateBytes), so that it travels in at most ${this.config.maxFragments} fragments of ${this.config.maxMessageBytes} bytes. Nothing changed; remove entries or split the data over several keys`,
      )
    }
    const seqsBefore = new Map(entry.seqs)
    const seq = (entry.seqs.get(this.replica) ?? 0) + 1
    entry.seqs.set(this.replica, seq)
    this.dropRetiredSeqs(entry)
    try {
      this.durableCommit?.({ key, state: encoded, seqs: [...entry.seqs] })
    } catch (err) {
      // Not durable, so not acknowledged and not sent: the write is undone as if never made.
      entry.state = before
      entry.seqs.clear()
      for (const [o, n] of seqsBefore) entry.seqs.set(o, n)
      if (existing === undefined) this.entries.delete(key)
      this.counters.commitFailures++
      throw new CrdtCommitError(`${key}: the write could not be made durable (${(err as Error).message}); nothing changed and nothing was sent. Check the data directory's disk, then retry`, { cause: err })
    }
    if (existing === undefined) this.sortedKeys = undefined
    entry.encoded = encoded
    entry.hash = undefined
    this.counters.writes++
    this.changes.set(key, true)
    // The naive exchange (fullStateGossip, benchmarks): the whole state, as the interval of every write so far.
    if (this.config.fullStateGossip) this.enqueue(this.replica, key, 1, seq, entry.state.clone())
    else this.enqueue(this.replica, key, seq, seq, delta)
    return delta
  }

  // ------------------------------------------------------------------ protocol inputs

  /** A message from a peer. Replies go through `send`. Malformed input is counted and dropped. */
  handleMessage(sender: string, bytes: Uint8Array, nowMs: number, send: Send): void {
    const d = decodeReplicationMessage(bytes)
    if (!d.ok) return this.decodeError(d.error.reason)
    const m = d.value
    switch (m.kind) {
      case 'fragment': {
        const whole = this.reassembly.add(sender, m, nowMs)
        if (whole === undefined) return
        const inner = decodeReplicationMessage(whole)
        if (!inner.ok) return this.decodeError(inner.error.reason)
        if (inner.value.kind === 'fragment') return this.decodeError('nested-fragment')
        return this.handleMessage(sender, whole, nowMs, send)
      }
      case 'delta':
        return this.onDelta(sender, m, nowMs, send)
      case 'digest':
        return this.onDigest(sender, m, send)
      case 'states':
        return this.onStates(sender, m, send)
      case 'handoff':
        return this.handoff.onMessage(sender, m, nowMs, send)
    }
  }

  /** Deltas to piggyback on a packet: at most `limitBytes`, each costing its length + `overheadBytes`. */
  piggyback(overheadBytes: number, limitBytes: number): Uint8Array[] {
    const out = this.queue.take(overheadBytes, limitBytes, retransmitLimit(this.config.retransmitMult, this.clusterSize))
    this.counters.deltasSent += out.length
    return out
  }

  /** One gossip round: large deltas pushed in fragments, then anti-entropy when due, then folds when due. */
  round(nowMs: number, peers: readonly string[], antiEntropyDue: boolean, send: Send): void {
    this.startedMs ??= nowMs
    this.clusterSize = peers.length + 1
    this.reassembly.expire(nowMs)
    if (this.large.length > 0 && peers.length > 0) {
      const large = this.large
      this.large = []
      for (const m of large) {
        for (const peer of this.rng.sample(peers, Math.min(LARGE_DELTA_FANOUT, peers.length))) {
          if (this.sendMessage(peer, encodeReplicationMessage(m), send)) this.counters.deltasSent++
        }
      }
    }
    if (antiEntropyDue && peers.length > 0) this.sendDigest(peers[this.rng.int(peers.length)], send)
    this.handoff.round(nowMs, peers, send)
    if (this.foldCandidates.size > 0 && nowMs - this.startedMs >= this.config.foldAfterMs && !this.handoff.isLeaving) {
      this.foldPredecessors()
      // A fold still waiting asks one live peer that has not confirmed for its state (fold-gate.ts).
      const ask = antiEntropyDue ? this.foldGate.unconfirmed(this.foldCandidates, this.rng) : undefined
      if (ask !== undefined) this.sendStates(ask.peer, [], ask.keys, send)
    }
  }

  /**
   * Folds this replica's predecessors into it, key by key (a write of ours each: numbered, queued, and
   * persisted like any write). A key the fold would push past maxStateBytes keeps its entries (counted
   * in `oversized`); nothing is lost.
   */
  private foldPredecessors(): void {
    const refused: string[] = []
    for (const key of this.foldCandidates) {
      const e = this.entries.get(key)
      if (e === undefined || e.kind === 'register') {
        this.foldCandidates.delete(key)
        continue
      }
      if (!this.foldGate.foldable(key)) continue
      this.foldCandidates.delete(key)
      this.foldGate.forget(key)
      try {
        const delta = this.write(e.kind, parseKey(key)!.name, (s, id) => foldCrdt(s, id)!)
        if (!delta.isEmpty) {
          this.counters.writes--
          this.counters.folds++
        }
      } catch (err) {
        // A fold the disk refused is undone (counted in commitFailures) and tried again at a later round.
        if (err instanceof CrdtCommitError) refused.push(key)
        else if (err instanceof CrdtLimitError) this.counters.oversized++
        else throw err
      }
    }
    for (const key of refused) this.foldCandidates.add(key)
  }

  /** Our part of a push-pull: the full state of every key (sorted) up to maxPushPullBytes. */
  localState(): Uint8Array {
    const states: KeyState[] = []
    let bytes = 0
    for (const key of this.keys()) {
      const s = this.keyState(key, false)
      bytes += s.state.length + STATE_FRAMING_BYTES / 8
      if (bytes > this.config.maxPushPullBytes) break
      states.push(s)
    }
    return encodeReplicationMessage({ kind: 'states', states, need: [] })
  }

  /** A peer's push-pull part. */
  mergeRemoteState(bytes: Uint8Array): void {
    const d = decodeReplicationMessage(bytes)
    if (!d.ok) return this.decodeError(d.error.reason)
    if (d.value.kind !== 'states') return this.decodeError('not-a-state-batch')
    this.onStates(undefined, d.value, () => false)
  }

  /**
   * A consistency query (node/crdt-query.ts): merges the states it carries and answers with our state
   * of each key it needs, in at most `limitBytes` (an empty answer when there is nothing to read; an
   * answer with no state when ours does not fit, which the querier counts as unreadable).
   */
  answerQuery(bytes: Uint8Array, limitBytes: number): Uint8Array {
    const d = decodeReplicationMessage(bytes)
    if (!d.ok || d.value.kind !== 'states') {
      this.decodeError(d.ok ? 'not-a-state-batch' : d.error.reason)
      return new Uint8Array(0)
    }
    this.onStates(undefined, { ...d.value, need: [] }, () => false)
    if (d.value.need.length === 0) return new Uint8Array(0)
    const states = d.value.need.filter((k) => this.entries.has(k)).map((k) => this.keyState(k, false))
    const answer = encodeReplicationMessage({ kind: 'states', states, need: [] })
    return answer.length <= limitBytes ? answer : encodeReplicationMessage({ kind: 'states', states: [], need: d.value.need })
  }

  /** A member left or was reaped: drop what we kept about it, keep what it contributed. */
  departed(member: string): void {
    if (member === this.self) return
    this.gone.add(member)
    this.reassembly.forgetSender(member)
    for (const e of this.entries.values()) {
      for (const origin of [...e.seqs.keys()]) if (origin !== this.replica && replicaMember(origin) === member) e.seqs.delete(origin)
    }
    this.counters.departedFolded++
  }

  /**
   * The live Grapevine peers and their incarnations (SWIM's alive members that speak the replication
   * protocol), after each membership change: folds wait for each of them (fold-gate.ts).
   */
  liveMembers(members: Iterable<{ readonly name: string; readonly incarnation: number }>): void {
    this.foldGate.liveMembers(members, this.self)
  }

  /** A member is in the membership (again): its deltas are numbered (again, if it had departed). */
  returned(member: string): void { this.gone.delete(member) }

  // ------------------------------------------------------------------ handlers

  private onDelta(sender: string, m: DeltaMessage, nowMs: number, send: Send): void {
    this.counters.deltasReceived++
    const parsed = parseKey(m.key)
    if (parsed === undefined) return this.decodeError('unknown-key-kind')
    const decoded = decodeCrdt(m.delta, kindType[parsed.kind])
    if (!decoded.ok) return this.decodeError(decoded.error.reason)
    const entry = this.entries.get(m.key) ?? this.newEntry(m.key, parsed.kind)
    if (floorsOf(entry.state)?.retired(m.origin) === true) {
      this.counters.retiredDropped++
      return
    }
    if (this.gone.has(replicaMember(m.origin))) {
      // A departed member's delta still on its way (relayed, queued): merged (a join is always safe), but
      // neither numbered nor relayed, so the departure's bookkeeping stays dropped.
      this.merge(entry, decoded.value)
      this.counters.departedDeltas++
      return
    }
    const have = entry.seqs.get(m.origin) ?? 0
    if (m.to <= have) {
      this.counters.duplicates++
      return
    }
    this.merge(entry, decoded.value)
    if (m.from <= have + 1) {
      entry.seqs.set(m.origin, m.to)
      if (have === 0) this.dropRetiredSeqs(entry)
      this.counters.deltasApplied++
      this.enqueue(m.origin, m.key, this.config.fullStateGossip ? 1 : m.from, m.to, this.config.fullStateGossip ? entry.state.clone() : decoded.value)
      return
    }
    this.counters.gaps++
    const asked = this.gapAskedMs.get(m.key)
    if (asked !== undefined && nowMs - asked < this.config.gapRequestIntervalMs) return
    this.gapAskedMs.set(m.key, nowMs)
    this.counters.gapRequests++
    this.sendMessage(sender, encodeReplicationMessage({ kind: 'states', states: [], need: [m.key] }), send)
  }

  private onDigest(sender: string, m: DigestMessage, send: Send): void {
    this.counters.digestsReceived++
    const listed = new Map(m.hashes)
    const states: KeyState[] = []
    const need: string[] = []
    for (const [key, hash] of m.hashes) {
      if (parseKey(key) === undefined) continue
      const e = this.entries.get(key)
      if (e === undefined) need.push(key)
      else if (this.hashEntry(e) !== hash) states.push(this.keyState(key, true))
      else this.confirm(key, sender)
    }
    for (const key of this.keys()) {
      if (listed.has(key)) continue
      if (m.complete || (key >= m.first && key <= m.last)) states.push(this.keyState(key, false))
    }
    if (states.length > 0 || need.length > 0) this.sendStates(sender, states, need, send)
  }

  private onStates(sender: string | undefined, m: StatesMessage, send: Send): void {
    this.counters.statesReceived += m.states.length
    const answer: KeyState[] = []
    for (const s of m.states) {
      const parsed = parseKey(s.key)
      if (parsed === undefined) {
        this.decodeError('unknown-key-kind')
        continue
      }
      const decoded = decodeCrdt(s.state, kindType[parsed.kind])
      if (!decoded.ok) {
        this.decodeError(decoded.error.reason)
        continue
      }
      const entry = this.entries.get(s.key) ?? this.newEntry(s.key, parsed.kind)
      this.merge(entry, decoded.value)
      if (sender !== undefined && this.hashEntry(entry) === hash53(encodeCrdt(decoded.value))) this.confirm(s.key, sender)
      for (const [origin, seq] of s.seqs) if (seq > (entry.seqs.get(origin) ?? 0) && !this.gone.has(replicaMember(origin))) entry.seqs.set(origin, seq)
      this.dropRetiredSeqs(entry)
      this.gapAskedMs.delete(s.key)
      if (s.want) answer.push(this.keyState(s.key, false))
    }
    for (const key of m.need) if (this.entries.has(key)) answer.push(this.keyState(key, false))
    if (sender !== undefined && answer.length > 0) this.sendStates(sender, answer, [], send)
  }

  // ------------------------------------------------------------------ sending

  private sendDigest(peer: string, send: Send): void {
    const keys = this.keys()
    if (keys.length === 0) return
    if (this.cursor >= keys.length) this.cursor = 0
    const start = this.cursor
    const end = digestWindowEnd(keys, start, this.config.maxMessageBytes)
    this.cursor = end
    const hashes: Array<[string, number]> = keys.slice(start, end).map((k) => [k, this.hashEntry(this.entries.get(k)!)])
    const m: DigestMessage = { kind: 'digest', first: keys[start], last: keys[end - 1], complete: start === 0 && end === keys.length, hashes }
    if (this.sendMessage(peer, encodeReplicationMessage(m), send)) this.counters.digestsSent++
  }

  /** State batches to `to`, each a packet where it fits (a larger state alone, in fragments). */
  private sendStates(to: string, states: readonly KeyState[], need: readonly string[], send: Send): void {
    for (const m of stateBatches(states, need, this.config.maxMessageBytes)) {
      if (this.sendMessage(to, encodeReplicationMessage(m), send)) this.counters.statesSent += m.states.length
    }
  }

  /** Sends a message, in fragments when larger than maxMessageBytes. */
  sendMessage(to: string, bytes: Uint8Array, send: Send): boolean {
    if (bytes.length <= this.config.maxMessageBytes) return send(to, bytes)
    let pieces: Uint8Array[]
    try {
      pieces = fragment(bytes, this.fragmentIds++ >>> 0, this.config)
    } catch (e) {
      if (!(e instanceof MessageTooLargeError)) throw e
      // Only a state merged from concurrent writers can get here (local writes are capped): counted.
      this.counters.oversized++
      return false
    }
    this.counters.fragmentsSent += pieces.length
    let ok = true
    for (const p of pieces) ok = send(to, p) && ok
    return ok
  }

  // ------------------------------------------------------------------ internals

  private enqueue(origin: string, key: string, from: number, to: number, delta: Crdt): void {
    const id = `${origin}\n${key}`
    let p = this.pending.get(id)
    if (p !== undefined && from <= p.to + 1 && to > p.to) {
      p.delta = p.delta.clone().merge(delta as never)
      p.to = to
    } else if (p === undefined || to > p.to) {
      p = { name: `${id}\n${from}`, origin, key, from, to, delta }
      this.pending.set(id, p)
    } else {
      return
    }
    const m: DeltaMessage = { kind: 'delta', key, origin, from: p.from, to: p.to, delta: encodeCrdt(p.delta) }
    const bytes = encodeReplicationMessage(m)
    const current = p
    if (bytes.length > this.config.maxMessageBytes) {
      // Too big to piggyback: pushed in fragments at the next round, and no longer joined with later ones.
      this.pending.delete(id)
      this.large = this.large.filter((x) => !(x.origin === origin && x.key === key))
      this.large.push(m)
      return
    }
    this.queue.queue(current.name, bytes, (reason) => {
      if (reason !== 'replaced' && this.pending.get(id) === current) this.pending.delete(id)
    })
  }

  private merge(entry: Entry, other: Crdt): void {
    const before = this.encoded(entry)
    entry.state.merge(other as never)
    const after = encodeCrdt(entry.state)
    if (after.length === before.length && after.every((b, i) => b === before[i])) return
    entry.encoded = after
    entry.hash = undefined
    if (!this.changes.has(entry.key)) this.changes.set(entry.key, false)
    if (this.config.foldPastLives) this.foldCandidates.add(entry.key)
    this.dropRetiredSeqs(entry)
  }

  private confirm(key: string, peer: string): void {
    if (this.foldCandidates.has(key)) this.foldGate.confirm(key, peer)
  }

  /** Forgets the seqs a key no longer needs (batching.ts prunableSeqs): one seq per member name is kept. */
  private dropRetiredSeqs(entry: Entry): void {
    for (const origin of prunableSeqs(entry.seqs.keys(), floorsOf(entry.state))) entry.seqs.delete(origin)
  }

  private keyState(key: string, want: boolean): KeyState {
    const e = this.entries.get(key)!
    return { key, state: this.encoded(e), seqs: [...e.seqs], want }
  }

  private encoded(e: Entry): Uint8Array {
    if (e.encoded === undefined) e.encoded = encodeCrdt(e.state)
    return e.encoded
  }

  private hashEntry(e: Entry): number {
    if (e.hash === undefined) e.hash = hash53(this.encoded(e))
    return e.hash
  }

  private newEntry(key: string, kind: CrdtKind): Entry {
    const e: Entry = { key, kind, state: emptyState(kind), seqs: new Map(), encoded: undefined, hash: undefined }
    this.entries.set(key, e)
    this.sortedKeys = undefined
    return e
  }

  private restore(rec: KeyRecord): void {
    const parsed = parseKey(rec.key)
    if (parsed === undefined) throw new ConfigError([`restored key ${JSON.stringify(rec.key)}: not kind/name with a known kind`], 'replication')
    const decoded = decodeCrdt(rec.state, kindType[parsed.kind])
    if (!decoded.ok) throw new ConfigError([`restored key ${rec.key}: ${decoded.error.message}`], 'replication')
    const e = this.newEntry(rec.key, parsed.kind)
    e.state = decoded.value
    for (const [origin, seq] of rec.seqs) e.seqs.set(origin, seq)
    if (this.config.foldPastLives) this.foldCandidates.add(rec.key)
  }

  private decodeError(reason: string): void {
    this.counters.decodeErrors[reason] = (this.counters.decodeErrors[reason] ?? 0) + 1
  }
}
