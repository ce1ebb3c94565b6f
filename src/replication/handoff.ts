/**
 * Graceful leave of the replicated data types: the leaver hands its state to ONE heir, which folds the
 * leaver's entries into its own and retires the leaver (crdt/floors.ts), so churn under fresh names
 * does not leave one entry per departed replica in every key forever.
 *
 * ```
 *  leaver L = n#5 (writes refused from now on)          heir H = h#3 (a live peer; rendezvous order)
 *   offer [id, part i of k, L's full states] ──────────▶ merged (a join: always safe), part noted
 *                                            ◀────────── ready [i]
 *   (all k parts ready) data directory retired (a new id at the next start; refused: leave unfolded),
 *   then commit [id] ──────────────────────────────────▶ every key mentioning n#≤5: a write of H's own,
 *                                                         fold(h#3, n → 6): n's counter totals into H's
 *                                                         entry, n's context "all seen", floor n → 6,
 *                                                         in ONE delta (numbered, durable, gossiped)
 *                                            ◀────────── done
 *   then Serf's and SWIM's leave
 *  no ready within handoffTimeoutMs, or refused ──▶ the next candidate (H never got commit: it folds nothing)
 *  no done after commit within handoffTimeoutMs ──▶ leave anyway, counted uncertain (H folded or it did not;
 *        both are safe: never two heirs, since commit goes to one heir only)
 *  no candidate left ──▶ leave unfolded (the entries stay, exact, as before): counted
 * ```
 *
 * Why two phases: an heir may fold only once it holds the leaver's final state, and only one heir may
 * ever fold a leaver (two heirs would each add its totals). The offer makes the first true; sending
 * commit to one candidate only, and failing over only before any commit was sent, makes the second.
 * An heir that is itself leaving refuses, and one that does not hold every part of the offer (a restart
 * in between) refuses the commit.
 *
 * For foldAfterMs after the fold (time for its delta to reach every replica, or for anti-entropy to
 * repair it), the heir's later writes of a folded key carry the floor too (stamp), so a replica that
 * missed the fold's delta never counts the leaver in the heir's total and in its own entry at once.
 */
import { departureOf, floorsOf, foldCrdt, type Crdt, type Retirement } from '../crdt/index.js'
import type { ReplicationConfig } from './config.js'
import { emptyState, hash53, parseKey, type CrdtKind, type CrdtKinds } from './keys.js'
import { encodeReplicationMessage, keyStateSize, type HandoffMessage, type HandoffStep, type KeyState } from './messages.js'
import { CrdtCommitError, CrdtLeavingError, CrdtLimitError, type KeyRecord, type ReplicationCounters } from './types.js'

export type HandoffOutcome = 'folded' | 'unfolded' | 'uncertain'

/** What the handoff needs of its replicator. */
export interface HandoffHost {
  readonly replica: string
  readonly config: ReplicationConfig
  readonly counters: ReplicationCounters
  /** Every key held, sorted. */
  keys(): readonly string[]
  /** A key's full state and seqs. */
  record(key: string): KeyRecord | undefined
  /** Merges a peer's states message, as a push-pull does. */
  mergeRemoteState(bytes: Uint8Array): void
  /** A write of this replica (numbered, durable, gossiped); throws as CrdtReplicator.write does. */
  write<K extends CrdtKind>(kind: K, name: string, mutate: (state: CrdtKinds[K], replica: string) => Crdt): Crdt
  /** Sends a message (in fragments when large); false when it could not. */
  sendMessage(to: string, bytes: Uint8Array, send: (to: string, bytes: Uint8Array) => boolean): boolean
  /**
   * Retires this replica on disk (the data directory's keys deleted, the next start takes a new id),
   * before the commit leaves; throws when the disk refused. Undefined without a data directory.
   */
  readonly durableRetire: (() => void) | undefined
}

interface Leaving {
  readonly id: number
  readonly onEnd: (outcome: HandoffOutcome) => void
  parts: HandoffMessage[] | undefined
  candidates: string[] | undefined
  index: number
  step: 'offer' | 'commit'
  ready: Set<number>
  deadlineMs: number
  resendAtMs: number
}

interface Offer {
  readonly parts: number
  readonly got: Set<number>
  readonly atMs: number
}

/** Most offers an heir tracks at once (one per leaver mid-handoff); beyond it the oldest is forgotten. */
const MAX_OFFERS = 64

export class Handoff {
  private leaving: Leaving | undefined
  private ended: HandoffOutcome | undefined
  private commitSent = false
  private readonly offers = new Map<string, Offer>()
  /** Per key, the retirements this replica folded in as an heir (name → generation, when): stamped on its later deltas of the key. */
  private readonly inherited = new Map<string, Map<string, { readonly generation: number; readonly atMs: number }>>()

  constructor(private readonly host: HandoffHost) {}

  /** True from the start of a handoff: writes are refused (CrdtLeavingError). */
  get isLeaving(): boolean {
    return this.leaving !== undefined || this.ended !== undefined
  }

  /** How the handoff ended, once it has. */
  get outcome(): HandoffOutcome | undefined {
    return this.ended
  }

  /**
   * True once a commit went to an heir: from then on this replica may be retired by that heir, so it
   * must never write again, even after a restart from its data directory (crdt-store.ts retire).
   */
  get committed(): boolean {
    return this.commitSent
  }

  /** Whether a round is wanted now (a handoff in progress). */
  get active(): boolean {
    return this.leaving !== undefined
  }

  /**
   * Starts handing this replica's state to an heir; `onEnd` is called once it ended (at a later round or
   * message). False (and nothing started) when there is nothing to hand over or handoffs are off.
   */
  begin(onEnd: (outcome: HandoffOutcome) => void): boolean {
    if (this.isLeaving || this.host.keys().length === 0 || this.host.config.handoffCandidates === 0 || departureOf(this.host.replica) === undefined) return false
    // One handoff per replica id: a later one (the same id reloaded from a data directory) re-sends every part.
    this.leaving = { id: 1, onEnd, parts: undefined, candidates: undefined, index: 0, step: 'offer', ready: new Set(), deadlineMs: 0, resendAtMs: 0 }
    return true
  }

  /** Throws CrdtLeavingError once a handoff began. */
  checkWritable(key: string): void {
    if (this.isLeaving) throw new CrdtLeavingError(`${key}: this node is leaving and handed its replicated state to an heir; nothing changed. Write through a member that stays`)
  }

  /** Adds the floors this replica folded into `key` as an heir to a delta of it. */
  stamp(key: string, delta: Crdt): void {
    const retired = this.inherited.get(key)
    const floors = floorsOf(delta)
    if (retired !== undefined && floors !== undefined) for (const [name, r] of retired) floors.raise(name, r.generation)
  }

  round(nowMs: number, peers: readonly string[], send: (to: string, bytes: Uint8Array) => boolean): void {
    for (const [k, o] of this.offers) if (nowMs - o.atMs > 10 * this.host.config.handoffTimeoutMs) this.offers.delete(k)
    for (const [key, retired] of this.inherited) {
      for (const [name, r] of retired) if (nowMs - r.atMs > this.host.config.foldAfterMs) retired.delete(name)
      if (retired.size === 0) this.inherited.delete(key)
    }
    const l = this.leaving
    if (l === undefined) return
    if (l.candidates === undefined) {
      const me = this.host.replica
      l.candidates = [...peers].sort((a, b) => hash53(enc(`${me}\n${a}`)) - hash53(enc(`${me}\n${b}`)) || (a < b ? -1 : 1)).slice(0, this.host.config.handoffCandidates)
      l.parts = this.offerParts(l.id)
      return this.next(l, nowMs, send, false)
    }
    if (nowMs >= l.deadlineMs) {
      if (l.step === 'offer') return this.next(l, nowMs, send, true)
      this.host.counters.handoffsUncertain++
      return this.end('uncertain')
    }
    if (nowMs >= l.resendAtMs) this.transmit(l, nowMs, send)
  }

  /** A handoff message from `sender`. */
  onMessage(sender: string, m: HandoffMessage, nowMs: number, send: (to: string, bytes: Uint8Array) => boolean): void {
    const reply = (step: HandoffStep, part = 0, parts = 1): void => {
      this.host.sendMessage(sender, encodeReplicationMessage({ kind: 'handoff', id: m.id, leaver: m.leaver, step, part, parts, states: [] }), send)
    }
    const offerKey = `${m.leaver}\n${m.id}`
    switch (m.step) {
      case 'offer': {
        if (this.isLeaving || departureOf(m.leaver) === undefined || m.leaver === this.host.replica) return reply('refused')
        this.host.mergeRemoteState(encodeReplicationMessage({ kind: 'states', states: m.states, need: [] }))
        let o = this.offers.get(offerKey)
        if (o === undefined) {
          if (this.offers.size >= MAX_OFFERS) this.offers.delete(this.offers.keys().next().value!)
          this.offers.set(offerKey, (o = { parts: m.parts, got: new Set(), atMs: nowMs }))
        }
        o.got.add(m.part)
        this.host.counters.offersTaken++
        return reply('ready', m.part, m.parts)
      }
      case 'commit': {
        const o = this.offers.get(offerKey)
        if (this.isLeaving || o === undefined || o.got.size < o.parts) return reply('refused')
        const retire = departureOf(m.leaver)!
        const folded = this.foldDeparted(retire)
        for (const key of folded) {
          let r = this.inherited.get(key)
          if (r === undefined) this.inherited.set(key, (r = new Map()))
          r.set(retire.name, { generation: Math.max(r.get(retire.name)?.generation ?? 0, retire.generation), atMs: nowMs })
        }
        if (folded.length > 0) this.host.counters.heirFolds++
        return reply('done')
      }
      default:
        return this.onAnswer(sender, m, nowMs, send)
    }
  }

  private onAnswer(sender: string, m: HandoffMessage, nowMs: number, send: (to: string, bytes: Uint8Array) => boolean): void {
    const l = this.leaving
    if (l === undefined || m.id !== l.id || m.leaver !== this.host.replica || l.candidates?.[l.index] !== sender) return
    if (m.step === 'refused') {
      if (l.step === 'offer') return this.next(l, nowMs, send, true)
      // Refused after commit: this process of the heir never folded, but an earlier one may have.
      this.host.counters.handoffsUncertain++
      return this.end('uncertain')
    }
    if (m.step === 'done' && l.step === 'commit') {
      this.host.counters.handoffsFolded++
      return this.end('folded')
    }
    if (m.step === 'ready' && l.step === 'offer') {
      l.ready.add(m.part)
      if (l.ready.size < l.parts!.length) return
      l.step = 'commit'
      l.deadlineMs = nowMs + this.host.config.handoffTimeoutMs
      this.transmit(l, nowMs, send)
    }
  }

  /** Moves to the next candidate (the first when `failover` is false), or ends unfolded. */
  private next(l: Leaving, nowMs: number, send: (to: string, bytes: Uint8Array) => boolean, failover: boolean): void {
    if (failover) {
      l.index++
      this.host.counters.handoffFailovers++
    }
    if (l.index >= l.candidates!.length) {
      this.host.counters.handoffsUnfolded++
      return this.end('unfolded')
    }
    l.step = 'offer'
    l.ready = new Set()
    l.deadlineMs = nowMs + this.host.config.handoffTimeoutMs
    this.transmit(l, nowMs, send)
  }

  /** Sends what the current candidate has not answered yet: the offer parts not ready, or the commit. */
  private transmit(l: Leaving, nowMs: number, send: (to: string, bytes: Uint8Array) => boolean): void {
    const to = l.candidates![l.index]
    l.resendAtMs = nowMs + Math.max(1, Math.floor(this.host.config.handoffTimeoutMs / 4))
    if (l.step === 'commit') {
      if (!this.commitSent && !this.retireOnDisk()) {
        this.host.counters.handoffsUnfolded++
        return this.end('unfolded')
      }
      this.commitSent = true
      this.host.sendMessage(to, encodeReplicationMessage({ kind: 'handoff', id: l.id, leaver: this.host.replica, step: 'commit', part: 0, parts: 1, states: [] }), send)
      return
    }
    for (const p of l.parts!) if (!l.ready.has(p.part)) this.host.sendMessage(to, encodeReplicationMessage(p), send)
  }

  /**
   * Before the first commit leaves, the data directory forgets this replica (its keys deleted, a new id at
   * the next start): once the heir may have folded it, a restart from that directory must not write as it
   * again, or its writes would be dropped everywhere as a retired replica's. A crash between this and the
   * commit leaves the replica unfolded, which is exact: the heir merged the whole offer already. False when
   * the disk refused: no commit is sent, and the leave goes on unfolded.
   */
  private retireOnDisk(): boolean {
    try {
      this.host.durableRetire?.()
      return true
    } catch {
      this.host.counters.commitFailures++
      return false
    }
  }

  private end(outcome: HandoffOutcome): void {
    const l = this.leaving!
    this.leaving = undefined
    this.ended = outcome
    l.onEnd(outcome)
  }

  /**
   * Folds `retire` into this replica in every key holding a replica it covers: one write of ours per key.
   * A key the disk refused or that would pass maxStateBytes keeps the leaver's entries (exact, unfolded).
   */
  private foldDeparted(retire: Retirement): string[] {
    const folded: string[] = []
    for (const key of [...this.host.keys()]) {
      const { kind, name } = parseKey(key)!
      try {
        const delta = this.host.write(kind, name, (s, id) => foldCrdt(s, id, retire) ?? emptyState(kind))
        if (delta.isEmpty) continue
        this.host.counters.writes--
        folded.push(key)
      } catch (err) {
        if (err instanceof CrdtCommitError) continue
        if (err instanceof CrdtLimitError) this.host.counters.oversized++
        else throw err
      }
    }
    return folded
  }

  /** The offer: every key's full state, cut into parts that each fit one fragmented message. */
  private offerParts(id: number): HandoffMessage[] {
    const c = this.host.config
    const room = c.maxStateBytes
    const groups: KeyState[][] = [[]]
    let bytes = 0
    for (const key of this.host.keys()) {
      const s: KeyState = { ...this.host.record(key)!, want: false }
      const size = keyStateSize(s)
      if (bytes + size > room && groups[groups.length - 1].length > 0) {
        groups.push([])
        bytes = 0
      }
      groups[groups.length - 1].push(s)
      bytes += size
    }
    return groups.map((states, part) => ({ kind: 'handoff', id, leaver: this.host.replica, step: 'offer', part, parts: groups.length, states }))
  }
}

const encoder = new TextEncoder()
function enc(s: string): Uint8Array {
  return encoder.encode(s)
}
