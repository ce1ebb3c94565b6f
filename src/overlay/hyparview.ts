/**
 * HyParView (Leitão, Pereira, Rodrigues, DSN 2007): a small symmetric *active* view of monitored
 * neighbours that broadcast layers use, and a larger *passive* view of backups, refreshed by shuffles.
 * Pure: time comes in as `nowMs`, randomness from the injected Rng, effects go to an OverlayOutbox.
 *
 * ```
 *  join       N ── JOIN ──▶ C          C adds N (evicting a random neighbour when full: DISCONNECT),
 *             N ◀── NEIGHBOR_REPLY(ok) ── C   tells N so the link is symmetric, and for every other
 *             C ── FORWARD_JOIN(N, ARWL) ──▶ A   active neighbour A starts a random walk.
 *  walk       A: ttl = 0 or A has only one neighbour → A adds N and tells it (NEIGHBOR_REPLY ok);
 *                ttl = PRWL → A puts N in its passive view; then forwards (ttl − 1) to a random neighbour.
 *  repair     X ── NEIGHBOR(high if X has no neighbour) ──▶ P (from X's passive view)
 *             X ◀── NEIGHBOR_REPLY(accepted | rejected) ── P   P accepts when high or not full; on
 *             rejection or neighborRequestTimeoutMs X tries another passive peer (a silent one is dropped).
 *  leave      X ── DISCONNECT(leaving) ──▶ every neighbour   (`shutdown`; otherwise `disconnect`)
 *  shuffle    X ── SHUFFLE(X, ARWL, X + ka active + kp passive) ──▶ random walk ──▶ Z
 *             X ◀── SHUFFLE_REPLY(as many of Z's passive peers) ── Z   both merge into their passive
 *             view, evicting first the entries they sent.
 *  liveness   X ── PING ──▶ each neighbour every keepAliveIntervalMs; anything heard refreshes it; silence
 *             for keepAliveTimeoutMs is `timeout`, a failed send `unreachable`. A message from a peer
 *             that is not our neighbour (other than the join/repair/shuffle kinds) is answered with
 *             DISCONNECT, so a link one side dropped is dropped by the other too: symmetry is restored.
 *  isolation  no neighbour left: emit `isolated`, try the passive view; when it is exhausted, JOIN a seed
 *             at each keep-alive tick until a neighbour comes up.
 *  heal       a neighbour lost to `timeout` is remembered (reconnectWindowMs); each shuffle period X sends
 *             one remembered peer a direct SHUFFLE (ttl 0); its SHUFFLE_REPLY proves the path is back, and
 *             for one reply in activeViewSize X ── NEIGHBOR(high) ──▶ it: after a partition, full active
 *             views on both sides would otherwise never take a peer from the other side.
 * ```
 *
 * Invariants (checked by `checkInvariants`, asserted in tests): neither view contains self or a
 * duplicate, the views are disjoint, |active| ≤ activeViewSize and |passive| ≤ passiveViewSize.
 * Memory is O(activeViewSize + passiveViewSize) ids plus one pending shuffle sample.
 */
import type { Rng } from '../core/rng.js'
import { resolveHyParViewConfig, type HyParViewConfig } from './config.js'
import { decodeOverlayMessage, encodeOverlayMessage, isHyParViewMessage, type HyParViewMessage } from './messages.js'
import {
  PEER_ID_MAX_BYTES,
  type HyParViewEvent,
  type HyParViewTimer,
  type NeighborDownCause,
  type OverlayOutbox,
  type PeerId,
  type PeerSampling,
} from './types.js'
import { ConfigError } from '../core/errors.js'
import { utf8Length } from '../wire/msgpack-writer.js'

export type HyParViewOutbox = OverlayOutbox<HyParViewTimer, HyParViewEvent>

export interface HyParViewOptions {
  readonly self: PeerId
  readonly rng: Rng
  readonly config?: Partial<HyParViewConfig>
  /** Peers to JOIN through when the node starts and whenever it is isolated with an empty passive view. */
  readonly seeds?: readonly PeerId[]
}

/** Cumulative counters (metrics read them). */
export interface HyParViewCounters {
  messagesSent: number
  messagesReceived: number
  shufflesSent: number
  neighborRequestsSent: number
  neighborRequestsRejected: number
  neighborUp: number
  neighborDown: Record<NeighborDownCause, number>
  rejoins: number
  /** Links made again to a lost neighbour that answered (partition heal). */
  reconnects: number
  /** Messages over a link we do not hold, answered with DISCONNECT (see linkUsedBy). */
  oneSidedLinksRefused: number
  /** Messages dropped as undecodable, by reason. */
  decodeErrors: Record<string, number>
}

export class HyParView implements PeerSampling {
  readonly config: HyParViewConfig
  readonly self: PeerId
  readonly counters: HyParViewCounters = {
    messagesSent: 0,
    messagesReceived: 0,
    shufflesSent: 0,
    neighborRequestsSent: 0,
    neighborRequestsRejected: 0,
    neighborUp: 0,
    neighborDown: { timeout: 0, disconnect: 0, shutdown: 0, evicted: 0, unreachable: 0 },
    rejoins: 0,
    reconnects: 0,
    oneSidedLinksRefused: 0,
    decodeErrors: {},
  }
  private readonly rng: Rng
  private seeds: PeerId[]
  private readonly active: PeerId[] = []
  /** Last time each active neighbour was heard from, parallel to `active`. */
  private readonly heardAtMs: number[] = []
  private readonly passive: PeerId[] = []
  /**
   * The outstanding NEIGHBOR request (one at a time) and when it was sent. One neighborTimeout timer is
   * armed at a time (due at neighborTimerDueMs, -1 when none): when it fires it times out a request as
   * old as neighborRequestTimeoutMs, or re-arms for the younger one sent since. A repair that asks one
   * full passive peer after another (a reply each round trip) so costs one timer, not one per request.
   */
  private pendingPeer: PeerId | undefined
  private pendingSinceMs = 0
  private neighborTimerDueMs = -1
  /** Passive peers asked since the last keep-alive tick (so a rejection moves on to another). */
  private readonly askedThisTick = new Set<PeerId>()
  /** Peers we sent in our last SHUFFLE: evicted first when the reply comes. */
  private lastShuffleSample: PeerId[] = []
  private epoch = 0
  private running = false
  private wasIsolated = false
  /** Neighbours lost to `timeout`, with when: probed for partition heal (bounded by passiveViewSize). */
  private readonly lost = new Map<PeerId, number>()

  constructor(options: HyParViewOptions) {
    this.config = resolveHyParViewConfig(options.config)
    const n = utf8Length(options.self)
    if (n === 0 || n > PEER_ID_MAX_BYTES) throw new ConfigError([`self: expected 1..${PEER_ID_MAX_BYTES} UTF-8 bytes, got ${n}`], 'HyParView')
    this.self = options.self
    this.rng = options.rng
    this.seeds = (options.seeds ?? []).filter((s) => s !== this.self)
  }

  /** Active neighbours (a copy). */
  activeView(): PeerId[] {
    return this.active.slice()
  }
  /** Passive backups (a copy). */
  passiveView(): PeerId[] {
    return this.passive.slice()
  }
  get activeSize(): number {
    return this.active.length
  }
  isActive(peer: PeerId): boolean {
    return this.active.includes(peer)
  }
  /** Reads the active view without copying (for drivers at scale). */
  forEachActive(fn: (peer: PeerId) => void): void {
    for (const p of this.active) fn(p)
  }

  samplePeers(k: number): PeerId[] {
    if (k <= 0) return []
    const out = this.rng.sample(this.active, Math.min(k, this.active.length))
    if (out.length < k) out.push(...this.rng.sample(this.passive, Math.min(k - out.length, this.passive.length)))
    return out
  }

  /**
   * Starts the periodic timers and joins through `contact` (or the first reachable seed). With neither,
   * the node is the first of its overlay and waits to be joined.
   */
  start(nowMs: number, out: HyParViewOutbox, contact?: PeerId): void {
    if (this.running) return
    this.running = true
    const e = ++this.epoch
    // Spread periodic work over the period so nodes started together do not shuffle in lockstep.
    out.schedule({ kind: 'shuffle', epoch: e }, 1 + this.rng.int(this.config.shuffleIntervalMs))
    out.schedule({ kind: 'keepAlive', epoch: e }, 1 + this.rng.int(this.config.keepAliveIntervalMs))
    const target = contact ?? (this.seeds.length > 0 ? this.seeds[this.rng.int(this.seeds.length)] : undefined)
    if (target !== undefined && target !== this.self) this.send(out, target, { kind: 'join', from: this.self })
    void nowMs
  }

  /** Joins (again) through `contact`: the node sends JOIN; the contact's reply makes the first link. */
  join(contact: PeerId, out: HyParViewOutbox): void {
    if (contact !== this.self) this.send(out, contact, { kind: 'join', from: this.self })
  }

  /** Leaves: tells every neighbour (`shutdown` there), forgets both views and stops the timers. */
  leave(out: HyParViewOutbox): void {
    for (const p of this.active) this.send(out, p, { kind: 'disconnect', from: this.self, leaving: true })
    this.active.length = 0
    this.heardAtMs.length = 0
    this.passive.length = 0
    this.lost.clear()
    this.pendingPeer = undefined
    this.neighborTimerDueMs = -1
    this.running = false
    this.epoch++
  }

  /** Adds seeds used to rejoin when isolated. */
  setSeeds(seeds: readonly PeerId[]): void {
    this.seeds = seeds.filter((s) => s !== this.self)
  }

  /** The runtime heard from `peer` on another channel (a Plumtree message): it counts as a keep-alive. */
  heardFrom(peer: PeerId, nowMs: number): void {
    const i = this.active.indexOf(peer)
    if (i >= 0) this.heardAtMs[i] = nowMs
  }

  /**
   * A message that presumes a link came from `peer` over another channel (a Plumtree push, IHAVE,
   * GRAFT or PRUNE): it counts as hearing from it, and when `peer` is not our neighbour (nor the one we
   * are asking to become one) the link is one-sided over there, so it is told to drop it, as a ping over
   * such a link is. One-sided links come from a DISCONNECT lost, or overtaken by the accept it followed
   * (a walk's end takes the new node and evicts it at once); unanswered, the other side pushed every
   * broadcast over the link for good, a duplicate each time. Returns whether `peer` is a neighbour.
   */
  linkUsedBy(peer: PeerId, nowMs: number, out: HyParViewOutbox): boolean {
    const i = this.active.indexOf(peer)
    if (i >= 0) {
      this.heardAtMs[i] = nowMs
      return true
    }
    if (this.running && peer !== this.pendingPeer && peer !== this.self) {
      this.counters.oneSidedLinksRefused++
      this.send(out, peer, { kind: 'disconnect', from: this.self, leaving: false })
    }
    return false
  }

  /** The runtime could not deliver to `peer` (refused or reset connection): it is down, `unreachable`. */
  sendFailed(peer: PeerId, nowMs: number, out: HyParViewOutbox): void {
    this.lost.delete(peer)
    if (this.removeActive(peer, 'unreachable', out)) {
      this.removePassive(peer)
      this.repair(nowMs, out)
    } else if (peer === this.pendingPeer) {
      this.removePassive(peer)
      this.pendingPeer = undefined
      this.repair(nowMs, out)
    } else {
      this.removePassive(peer)
    }
  }

  handleMessage(bytes: Uint8Array, nowMs: number, out: HyParViewOutbox): void {
    const r = decodeOverlayMessage(bytes, 0)
    if (!r.ok) {
      this.counters.decodeErrors[r.error.reason] = (this.counters.decodeErrors[r.error.reason] ?? 0) + 1
      return
    }
    const m = r.value
    if (!isHyParViewMessage(m)) {
      this.counters.decodeErrors['not-supported'] = (this.counters.decodeErrors['not-supported'] ?? 0) + 1
      return
    }
    this.receive(m, nowMs, out)
  }

  /** Handles a decoded message (drivers that decode once for several layers call this). */
  receive(m: HyParViewMessage, nowMs: number, out: HyParViewOutbox): void {
    if (!this.running || m.from === this.self) return
    this.counters.messagesReceived++
    this.heardFrom(m.from, nowMs)
    switch (m.kind) {
      case 'join':
        this.onJoin(m.from, nowMs, out)
        break
      case 'forwardJoin':
        this.onForwardJoin(m.from, m.newPeer, m.ttl, nowMs, out)
        break
      case 'neighbor':
        this.onNeighbor(m.from, m.highPriority, nowMs, out)
        break
      case 'neighborReply':
        this.onNeighborReply(m.from, m.accepted, nowMs, out)
        break
      case 'disconnect':
        if (this.removeActive(m.from, m.leaving ? 'shutdown' : 'disconnect', out)) {
          if (!m.leaving) this.addPassive(m.from)
          this.repair(nowMs, out)
        }
        if (m.leaving) this.removePassive(m.from)
        break
      case 'shuffle':
        this.onShuffle(m.from, m.origin, m.ttl, m.peers, out)
        break
      case 'shuffleReply':
        this.mergePassive(m.peers, this.lastShuffleSample)
        this.lastShuffleSample = []
        if (this.lost.delete(m.from)) this.reconnect(m.from, nowMs, out)
        break
      case 'ping':
        // A ping from a peer that is not our neighbour: the link is one-sided; tell it to drop it.
        if (!this.active.includes(m.from)) {
          this.counters.oneSidedLinksRefused++
          this.send(out, m.from, { kind: 'disconnect', from: this.self, leaving: false })
        }
        break
    }
  }

  handleTimer(timer: HyParViewTimer, nowMs: number, out: HyParViewOutbox): void {
    if (!this.running) return
    switch (timer.kind) {
      case 'shuffle':
        if (timer.epoch !== this.epoch) return
        this.shuffle(out)
        this.probeLost(nowMs, out)
        out.schedule(timer, this.config.shuffleIntervalMs)
        break
      case 'keepAlive':
        if (timer.epoch !== this.epoch) return
        this.keepAlive(nowMs, out)
        out.schedule(timer, this.config.keepAliveIntervalMs)
        break
      case 'neighborTimeout': {
        this.neighborTimerDueMs = -1
        const peer = this.pendingPeer
        if (peer === undefined) return
        const dueMs = this.pendingSinceMs + this.config.neighborRequestTimeoutMs
        if (nowMs < dueMs) {
          this.armNeighborTimer(nowMs, dueMs, out)
          return
        }
        // No answer: treat the backup as gone and try another.
        this.removePassive(peer)
        this.pendingPeer = undefined
        this.repair(nowMs, out)
        break
      }
    }
  }

  /** Checks the view invariants; returns the violations (empty when they hold). */
  checkInvariants(): string[] {
    const problems: string[] = []
    const a = new Set(this.active)
    const p = new Set(this.passive)
    if (a.size !== this.active.length) problems.push('duplicate in active view')
    if (p.size !== this.passive.length) problems.push('duplicate in passive view')
    if (a.has(this.self) || p.has(this.self)) problems.push('self in a view')
    for (const x of a) if (p.has(x)) problems.push(`${x} in both views`)
    if (this.active.length > this.config.activeViewSize) problems.push('active view over its size')
    if (this.passive.length > this.config.passiveViewSize) problems.push('passive view over its size')
    if (this.heardAtMs.length !== this.active.length) problems.push('liveness table out of step')
    return problems
  }

  // --- message handlers -------------------------------------------------------------------------

  private onJoin(newPeer: PeerId, nowMs: number, out: HyParViewOutbox): void {
    this.addActive(newPeer, nowMs, out)
    this.send(out, newPeer, { kind: 'neighborReply', from: this.self, accepted: true })
    const ttl = this.config.activeRandomWalkLength
    for (const p of this.active) {
      if (p !== newPeer) this.send(out, p, { kind: 'forwardJoin', from: this.self, newPeer, ttl })
    }
  }

  private onForwardJoin(sender: PeerId, newPeer: PeerId, ttl: number, nowMs: number, out: HyParViewOutbox): void {
    if (newPeer === this.self) return
    if (ttl === 0 || this.active.length <= 1) {
      if (!this.active.includes(newPeer)) {
        this.addActive(newPeer, nowMs, out)
        this.send(out, newPeer, { kind: 'neighborReply', from: this.self, accepted: true })
      }
      return
    }
    if (ttl === this.config.passiveRandomWalkLength) this.addPassive(newPeer)
    const next = this.randomActiveExcept(sender, newPeer)
    if (next === undefined) {
      if (!this.active.includes(newPeer)) {
        this.addActive(newPeer, nowMs, out)
        this.send(out, newPeer, { kind: 'neighborReply', from: this.self, accepted: true })
      }
      return
    }
    this.send(out, next, { kind: 'forwardJoin', from: this.self, newPeer, ttl: ttl - 1 })
  }

  private onNeighbor(peer: PeerId, high: boolean, nowMs: number, out: HyParViewOutbox): void {
    const accept = this.active.includes(peer) || high || this.active.length < this.config.activeViewSize
    if (accept) this.addActive(peer, nowMs, out)
    this.send(out, peer, { kind: 'neighborReply', from: this.self, accepted: accept })
  }

  private onNeighborReply(peer: PeerId, accepted: boolean, nowMs: number, out: HyParViewOutbox): void {
    const wasPending = peer === this.pendingPeer
    if (wasPending) this.pendingPeer = undefined
    if (accepted) {
      this.addActive(peer, nowMs, out)
    } else {
      this.counters.neighborRequestsRejected++
      if (wasPending) this.repair(nowMs, out)
    }
  }

  private onShuffle(sender: PeerId, origin: PeerId, ttl: number, peers: readonly PeerId[], out: HyParViewOutbox): void {
    if (origin === this.self) return
    const left = ttl > 0 ? ttl - 1 : 0
    if (left > 0 && this.active.length > 1) {
      const next = this.randomActiveExcept(sender, origin)
      if (next !== undefined) {
        this.send(out, next, { kind: 'shuffle', from: this.self, origin, ttl: left, peers })
        return
      }
    }
    const reply = this.rng.sample(this.passive, Math.min(peers.length, this.passive.length))
    this.send(out, origin, { kind: 'shuffleReply', from: this.self, peers: reply })
    this.mergePassive(peers, reply)
  }

  // --- periodic work ----------------------------------------------------------------------------

  private shuffle(out: HyParViewOutbox): void {
    if (this.active.length === 0) return
    const target = this.active[this.rng.int(this.active.length)]
    const others = this.active.filter((p) => p !== target)
    const sample = [
      ...this.rng.sample(others, Math.min(this.config.shuffleActiveCount, others.length)),
      ...this.rng.sample(this.passive, Math.min(this.config.shufflePassiveCount, this.passive.length)),
    ]
    this.lastShuffleSample = sample
    this.counters.shufflesSent++
    this.send(out, target, { kind: 'shuffle', from: this.self, origin: this.self, ttl: this.config.activeRandomWalkLength, peers: [this.self, ...sample] })
  }

  /** Heal: one remembered lost neighbour gets a direct SHUFFLE (its reply shows the path is back). */
  private probeLost(nowMs: number, out: HyParViewOutbox): void {
    if (this.lost.size === 0) return
    for (const [peer, at] of this.lost) if (nowMs - at > this.config.reconnectWindowMs) this.lost.delete(peer)
    if (this.lost.size === 0) return
    const peers = [...this.lost.keys()]
    const peer = peers[this.rng.int(peers.length)]
    const sample = this.rng.sample(this.passive, Math.min(this.config.shufflePassiveCount, this.passive.length))
    this.send(out, peer, { kind: 'shuffle', from: this.self, origin: this.self, ttl: 0, peers: [this.self, ...sample] })
  }

  /** A lost neighbour answered: for one answer in activeViewSize, make the link again (high priority). */
  private reconnect(peer: PeerId, nowMs: number, out: HyParViewOutbox): void {
    if (this.active.includes(peer) || this.pendingPeer !== undefined) return
    if (this.active.length >= this.config.activeViewSize && this.rng.int(this.config.activeViewSize) !== 0) return
    this.counters.reconnects++
    this.requestNeighbor(peer, true, nowMs, out)
  }

  private keepAlive(nowMs: number, out: HyParViewOutbox): void {
    if (this.config.keepAliveTimeoutMs > 0) {
      const deadline = nowMs - this.config.keepAliveTimeoutMs
      for (let i = this.active.length - 1; i >= 0; i--) {
        if (this.heardAtMs[i] >= deadline) continue
        const peer = this.active[i]
        this.removeActive(peer, 'timeout', out)
        if (this.config.reconnectWindowMs > 0) {
          if (this.lost.size >= this.config.passiveViewSize) this.lost.delete(this.lost.keys().next().value as PeerId)
          this.lost.set(peer, nowMs)
        }
      }
      for (const p of this.active) this.send(out, p, { kind: 'ping', from: this.self })
    }
    this.askedThisTick.clear()
    this.repair(nowMs, out)
  }

  /**
   * Fills the active view from the passive view, one NEIGHBOR request at a time; when nothing is left
   * to ask and the node has no neighbour, JOINs a seed (isolation repair).
   */
  private repair(nowMs: number, out: HyParViewOutbox): void {
    if (this.active.length === 0 && !this.wasIsolated) {
      this.wasIsolated = true
      out.emit({ type: 'isolated' })
    }
    if (this.active.length >= this.config.activeViewSize || this.pendingPeer !== undefined) return
    const candidates = this.passive.filter((p) => !this.askedThisTick.has(p))
    if (candidates.length > 0) {
      const peer = candidates[this.rng.int(candidates.length)]
      this.askedThisTick.add(peer)
      this.requestNeighbor(peer, this.active.length === 0, nowMs, out)
      return
    }
    if (this.active.length === 0 && this.seeds.length > 0 && !this.askedThisTick.has('\u0000seed')) {
      this.askedThisTick.add('\u0000seed')
      this.counters.rejoins++
      this.send(out, this.seeds[this.rng.int(this.seeds.length)], { kind: 'join', from: this.self })
    }
  }

  /** Asks `peer` to become a neighbour, one request at a time, under the one neighborTimeout timer. */
  private requestNeighbor(peer: PeerId, highPriority: boolean, nowMs: number, out: HyParViewOutbox): void {
    this.pendingPeer = peer
    this.pendingSinceMs = nowMs
    this.counters.neighborRequestsSent++
    this.send(out, peer, { kind: 'neighbor', from: this.self, highPriority })
    if (this.neighborTimerDueMs < 0) this.armNeighborTimer(nowMs, nowMs + this.config.neighborRequestTimeoutMs, out)
  }

  private armNeighborTimer(nowMs: number, dueMs: number, out: HyParViewOutbox): void {
    this.neighborTimerDueMs = dueMs
    out.schedule({ kind: 'neighborTimeout' }, dueMs - nowMs)
  }

  // --- views ------------------------------------------------------------------------------------

  private addActive(peer: PeerId, nowMs: number, out: HyParViewOutbox): void {
    if (peer === this.self) return
    const i = this.active.indexOf(peer)
    if (i >= 0) {
      this.heardAtMs[i] = nowMs
      return
    }
    if (this.active.length >= this.config.activeViewSize) {
      const victim = this.active[this.rng.int(this.active.length)]
      this.removeActive(victim, 'evicted', out)
      this.send(out, victim, { kind: 'disconnect', from: this.self, leaving: false })
      this.addPassive(victim)
    }
    this.removePassive(peer)
    this.active.push(peer)
    this.heardAtMs.push(nowMs)
    this.wasIsolated = false
    this.counters.neighborUp++
    out.emit({ type: 'neighbor-up', peer })
  }

  private removeActive(peer: PeerId, cause: NeighborDownCause, out: HyParViewOutbox): boolean {
    const i = this.active.indexOf(peer)
    if (i < 0) return false
    const last = this.active.length - 1
    this.active[i] = this.active[last]
    this.heardAtMs[i] = this.heardAtMs[last]
    this.active.pop()
    this.heardAtMs.pop()
    this.counters.neighborDown[cause]++
    out.emit({ type: 'neighbor-down', peer, cause })
    return true
  }

  private addPassive(peer: PeerId, preferEvict?: readonly PeerId[]): void {
    if (peer === this.self || this.active.includes(peer) || this.passive.includes(peer)) return
    if (this.passive.length >= this.config.passiveViewSize) {
      let victim = -1
      if (preferEvict !== undefined) {
        for (const q of preferEvict) {
          victim = this.passive.indexOf(q)
          if (victim >= 0) break
        }
      }
      if (victim < 0) victim = this.rng.int(this.passive.length)
      this.passive[victim] = this.passive[this.passive.length - 1]
      this.passive.pop()
    }
    this.passive.push(peer)
  }

  private removePassive(peer: PeerId): void {
    const i = this.passive.indexOf(peer)
    if (i < 0) return
    this.passive[i] = this.passive[this.passive.length - 1]
    this.passive.pop()
  }

  private mergePassive(peers: readonly PeerId[], preferEvict: readonly PeerId[]): void {
    for (const p of peers) this.addPassive(p, preferEvict)
  }

  private randomActiveExcept(a: PeerId, b: PeerId): PeerId | undefined {
    const n = this.active.length
    if (n === 0) return undefined
    const start = this.rng.int(n)
    for (let k = 0; k < n; k++) {
      const p = this.active[(start + k) % n]
      if (p !== a && p !== b) return p
    }
    return undefined
  }

  private send(out: HyParViewOutbox, to: PeerId, m: HyParViewMessage): void {
    this.counters.messagesSent++
    out.send(to, encodeOverlayMessage(m))
  }
}
