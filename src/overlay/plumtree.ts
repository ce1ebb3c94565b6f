/**
 * Plumtree, epidemic broadcast trees (Leitão, Pereira, Rodrigues, SRDS 2007), over any neighbour set
 * (HyParView's active view, or an eager sample of SWIM's members). Pure: time comes in as `nowMs`,
 * randomness is not needed, effects go to an OverlayOutbox.
 *
 * ```
 *  broadcast  X delivers (hops 0) ── GOSSIP(id, hops 1) ──▶ every eager peer; the id goes into the
 *             batched IHAVE queue of every lazy peer (flushed every ihaveIntervalMs, ihaveBatchMax ids).
 *  first copy Y delivers, forwards GOSSIP(hops + 1) to its eager peers but the sender, queues IHAVE for
 *             its lazy peers; the sender's link is (or becomes) eager.
 *  duplicate  Y ── PRUNE ──▶ sender; Y moves the sender to lazy, the sender moves Y to lazy: the tree
 *             loses a redundant edge.
 *  IHAVE      for an id not received: remember the announcer; graftTimeoutMs after the first IHAVE,
 *             Y ── GRAFT(id) ──▶ the first announcer (made eager), then every graftRetryMs the next one,
 *             until the message arrives or no announcer is left.
 *  GRAFT      X makes Y eager and sends the cached GOSSIP for each id it still has.
 *  optimize   an IHAVE for a received id whose hops beat the delivery path by optimizationHopThreshold:
 *             Y ── GRAFT() ──▶ announcer and PRUNE ──▶ old parent; the tree gets shallower. With
 *             optimizationScope 'current-links' (default) only while that path is still the tree: the
 *             old parent still eager and the announcer a neighbour since before the delivery (an
 *             announcement replayed to a new neighbour describes a tree that has changed since; a GRAFT
 *             on it with no parent left to prune closes a cycle), and once per message (a second change
 *             sends GRAFT then PRUNE to the first new parent; datagrams reordered, the PRUNE arrives
 *             first and leaves the link eager at its end only).
 *  neighbours a new neighbour is eager while this node is in no tree (nothing delivered yet, or no
 *             eager peer left), lazy otherwise (newNeighbors 'lazy-in-tree'; 'eager' is the paper's:
 *             an eager link between two tree nodes closes a cycle, two extra payloads until pruned);
 *             either way it is sent IHAVE for messages delivered in the last announceToNewNeighborMs
 *             (so a repaired overlay repairs the broadcasts in flight); a lost neighbour leaves both sets.
 *  one-sided  a duplicate from a lazy peer (its end of the link is eager, ours lazy) is answered with
 *             PRUNE as well, so the peer stops pushing.
 *  repair     a copy that answers this node's GRAFT means the tree above broke: with repairPush
 *             'lazy-too' (default) it is pushed to the lazy peers too (but its announcers; they do not
 *             push it on), so neighbours cut off by the same crashed parent, and their eager
 *             subtrees, get it at link speed, not after an IHAVE and a GRAFT timeout ('tree': the
 *             paper's, IHAVE to them).
 *  flood      mode 'flood': every neighbour stays eager, no PRUNE, no IHAVE except to new neighbours.
 * ```
 *
 * Ids are content-derived (SHA-256 of the payload, first 16 bytes, hex): the same payload broadcast
 * twice is one message. Memory is bounded: cacheMaxEntries payloads for cacheTtlMs, seenMaxEntries ids
 * for seenTtlMs (both Maps in insertion order, expired from the front), missingMaxEntries announced ids,
 * ihaveQueueMax ids per lazy peer. Payloads over maxPayloadBytes are refused with a BroadcastError when
 * broadcast and counted as `too-large` when received: never silent.
 */
// @noble/hashes, not node:crypto: the composed node (and so Plumtree) also runs in the browser's simulator.
import { sha256 } from '@noble/hashes/sha2.js'
import { BroadcastError } from '../gossip/rumor-types.js'
import { resolvePlumtreeConfig, type PlumtreeConfig } from './config.js'
import { decodeOverlayMessage, encodeOverlayMessage, idToHex, isPlumtreeMessage, type IHaveEntry, type PlumtreeMessage } from './messages.js'
import type { OverlayOutbox, PeerId, PlumtreeEvent, PlumtreeTimer } from './types.js'

export type PlumtreeOutbox = OverlayOutbox<PlumtreeTimer, PlumtreeEvent>

export interface PlumtreeOptions {
  readonly self: PeerId
  readonly config?: Partial<PlumtreeConfig>
}

export interface PlumtreeCounters {
  broadcasts: number
  delivered: number
  duplicates: number
  /** GOSSIP messages sent (the payload traffic, eager pushes and GRAFT answers). */
  gossipSent: number
  ihaveSent: number
  graftSent: number
  pruneSent: number
  /** Ids dropped from a full IHAVE queue. */
  ihaveDropped: number
  /** Announcements ignored because missingMaxEntries was reached. */
  missingDropped: number
  /** Missing messages given up on: every announcer was grafted and none delivered. */
  graftsExhausted: number
  /** Tree optimizations (an announcer grafted for a shorter path). */
  optimizations: number
  /** Messages that answered this node's GRAFT and were pushed to the lazy peers too (repairPush). */
  repairPushes: number
  decodeErrors: Record<string, number>
}

interface Cached {
  readonly payload: Uint8Array
  readonly hops: number
  readonly from: PeerId | undefined
  readonly atMs: number
  /** This node already changed parent for this message (optimizationScope 'current-links': once per message). */
  readonly optimized?: boolean
}

interface Missing {
  /** Announcers not yet grafted, in arrival order, with the hops their copy has. */
  readonly announcers: PeerId[]
  readonly hops: number[]
  timerArmed: boolean
  /** A GRAFT went out for it: a copy that arrives now is a repair. */
  grafted: boolean
}

/** The content-derived id of a payload. */
export function messageIdOf(payload: Uint8Array): string {
  return idToHex(sha256(payload).subarray(0, 16))
}

export class Plumtree {
  readonly config: PlumtreeConfig
  readonly self: PeerId
  readonly counters: PlumtreeCounters = {
    broadcasts: 0,
    delivered: 0,
    duplicates: 0,
    gossipSent: 0,
    ihaveSent: 0,
    graftSent: 0,
    pruneSent: 0,
    ihaveDropped: 0,
    missingDropped: 0,
    graftsExhausted: 0,
    optimizations: 0,
    repairPushes: 0,
    decodeErrors: {},
  }
  private readonly eager = new Set<PeerId>()
  private readonly lazy = new Set<PeerId>()
  private readonly cache = new Map<string, Cached>()
  private readonly seen = new Map<string, number>()
  private readonly missing = new Map<string, Missing>()
  private readonly ihaveQueue = new Map<PeerId, IHaveEntry[]>()
  /** When each current neighbour came up (optimizationScope 'current-links'). */
  private readonly linkSince = new Map<PeerId, number>()
  private flushArmed = false

  constructor(options: PlumtreeOptions) {
    this.config = resolvePlumtreeConfig(options.config)
    this.self = options.self
  }

  eagerPeers(): PeerId[] {
    return [...this.eager]
  }
  lazyPeers(): PeerId[] {
    return [...this.lazy]
  }
  get cacheSize(): number {
    return this.cache.size
  }
  get seenSize(): number {
    return this.seen.size
  }
  get missingSize(): number {
    return this.missing.size
  }

  /**
   * Broadcasts `payload`; returns its id. Throws BroadcastError('payload-too-large') over
   * maxPayloadBytes (nothing changed). Broadcasting a payload already seen is a no-op returning its id.
   */
  broadcast(payload: Uint8Array, nowMs: number, out: PlumtreeOutbox): string {
    if (payload.length > this.config.maxPayloadBytes) {
      throw new BroadcastError(
        'payload-too-large',
        `payload is ${payload.length} bytes, over maxPayloadBytes ${this.config.maxPayloadBytes}; split it or raise maxPayloadBytes (a GOSSIP must fit one message)`,
      )
    }
    const id = messageIdOf(payload)
    if (this.seen.has(id)) return id
    this.counters.broadcasts++
    this.deliver(id, payload, 0, undefined, nowMs, out)
    return id
  }

  /** A neighbour came up: eager, or lazy when this node is in a tree already (newNeighbors); it hears about recent messages. */
  neighborUp(peer: PeerId, nowMs: number, out: PlumtreeOutbox): void {
    if (peer === this.self) return
    if (!this.linkSince.has(peer)) this.linkSince.set(peer, nowMs)
    const inTree = this.config.mode === 'plumtree' && this.config.newNeighbors === 'lazy-in-tree' && this.counters.delivered > 0 && this.eager.size > 0
    if (inTree && !this.eager.has(peer)) {
      this.lazy.add(peer)
    } else {
      this.lazy.delete(peer)
      this.eager.add(peer)
    }
    if (this.config.announceToNewNeighborMs > 0) {
      const since = nowMs - this.config.announceToNewNeighborMs
      for (const [id, c] of this.cache) if (c.atMs >= since) this.enqueueIHave(peer, id, c.hops + 1, out)
    }
  }

  /** A neighbour went down: it leaves both sets and its IHAVE queue is dropped. */
  neighborDown(peer: PeerId): void {
    this.eager.delete(peer)
    this.lazy.delete(peer)
    this.ihaveQueue.delete(peer)
    this.linkSince.delete(peer)
  }

  handleMessage(bytes: Uint8Array, nowMs: number, out: PlumtreeOutbox): void {
    const r = decodeOverlayMessage(bytes, this.config.maxPayloadBytes)
    if (!r.ok) {
      this.counters.decodeErrors[r.error.reason] = (this.counters.decodeErrors[r.error.reason] ?? 0) + 1
      return
    }
    const m = r.value
    if (!isPlumtreeMessage(m)) {
      this.counters.decodeErrors['not-supported'] = (this.counters.decodeErrors['not-supported'] ?? 0) + 1
      return
    }
    this.receive(m, nowMs, out)
  }

  receive(m: PlumtreeMessage, nowMs: number, out: PlumtreeOutbox): void {
    if (m.from === this.self) return
    switch (m.kind) {
      case 'gossip':
        this.onGossip(m.from, m.id, m.hops, m.payload, nowMs, out)
        break
      case 'ihave':
        this.onIHave(m.from, m.entries, nowMs, out)
        break
      case 'graft':
        if (this.lazy.delete(m.from)) this.eager.add(m.from)
        this.expire(nowMs)
        for (const id of m.ids) {
          const c = this.cache.get(id)
          if (c !== undefined) this.sendGossip(out, m.from, id, c.hops + 1, c.payload)
        }
        break
      case 'prune':
        if (this.config.mode === 'flood') break
        if (this.eager.delete(m.from)) this.lazy.add(m.from)
        break
    }
  }

  handleTimer(timer: PlumtreeTimer, nowMs: number, out: PlumtreeOutbox): void {
    if (timer.kind === 'ihaveFlush') {
      this.flushArmed = false
      this.flush(out)
      return
    }
    const miss = this.missing.get(timer.id)
    if (miss === undefined) return
    if (this.seen.has(timer.id)) {
      this.missing.delete(timer.id)
      return
    }
    const peer = miss.announcers.shift()
    miss.hops.shift()
    if (peer === undefined) {
      this.missing.delete(timer.id)
      this.counters.graftsExhausted++
      return
    }
    if (this.lazy.delete(peer)) this.eager.add(peer)
    miss.grafted = true
    this.counters.graftSent++
    out.send(peer, encodeOverlayMessage({ kind: 'graft', from: this.self, ids: [timer.id] }))
    out.schedule({ kind: 'graft', id: timer.id, attempt: timer.attempt + 1 }, this.config.graftRetryMs)
    void nowMs
  }

  // --- handlers ---------------------------------------------------------------------------------

  private onGossip(from: PeerId, id: string, hops: number, payload: Uint8Array, nowMs: number, out: PlumtreeOutbox): void {
    if (this.seen.has(id)) {
      this.counters.duplicates++
      // An eager sender moves to lazy; a lazy one pushes over a link eager only at its end: both are pruned.
      if (this.config.mode === 'plumtree' && (this.eager.delete(from) || this.lazy.has(from))) {
        this.lazy.add(from)
        this.counters.pruneSent++
        out.send(from, encodeOverlayMessage({ kind: 'prune', from: this.self }))
      }
      return
    }
    // Off the tree while this node waited for it: it grafted it, or had an announcement pending and got
    // it over a link held lazy here (another node's repair push). The tree above is broken (a dead
    // parent, most likely) and the lazy peers that did not announce it may be cut off as well: with
    // repairPush 'lazy-too' they get the payload now, not an IHAVE and a GRAFT timeout. A push over a
    // lazy link that nothing announced first is a link left eager at one end, not a repair: pushing it
    // on would flood every later broadcast (RMR 1.4-1.8 for good after a 20 % crash, measured).
    const miss = this.missing.get(id)
    const offTree = this.config.mode === 'plumtree' && this.config.repairPush === 'lazy-too' && miss !== undefined && (miss.grafted || this.lazy.has(from))
    // The sender's link carries the tree (a GRAFT answer or a new parent): make it eager.
    if (this.lazy.delete(from)) this.eager.add(from)
    this.missing.delete(id)
    this.deliver(id, payload, hops, from, nowMs, out, offTree ? (miss?.announcers ?? []) : undefined)
  }

  private onIHave(from: PeerId, entries: readonly IHaveEntry[], nowMs: number, out: PlumtreeOutbox): void {
    for (const e of entries) {
      if (this.seen.has(e.id)) {
        this.maybeOptimize(from, e, out)
        continue
      }
      let miss = this.missing.get(e.id)
      if (miss === undefined) {
        if (this.missing.size >= this.config.missingMaxEntries) {
          this.counters.missingDropped++
          continue
        }
        miss = { announcers: [], hops: [], timerArmed: false, grafted: false }
        this.missing.set(e.id, miss)
      }
      if (!miss.announcers.includes(from) && miss.announcers.length < 64) {
        miss.announcers.push(from)
        miss.hops.push(e.hops)
      }
      if (!miss.timerArmed) {
        miss.timerArmed = true
        out.schedule({ kind: 'graft', id: e.id, attempt: 0 }, this.config.graftTimeoutMs)
      }
    }
    void nowMs
  }

  /** Paper §3.8: a much shorter path announced lazily replaces the eager parent. */
  private maybeOptimize(from: PeerId, e: IHaveEntry, out: PlumtreeOutbox): void {
    const threshold = this.config.optimizationHopThreshold
    if (this.config.mode !== 'plumtree' || threshold === 0) return
    const c = this.cache.get(e.id)
    if (c === undefined || c.from === undefined || c.from === from) return
    if (c.hops - e.hops < threshold || !this.lazy.has(from)) return
    if (this.config.optimizationScope === 'current-links' && (c.optimized === true || !this.eager.has(c.from) || (this.linkSince.get(from) ?? Infinity) > c.atMs)) return
    this.counters.optimizations++
    this.lazy.delete(from)
    this.eager.add(from)
    this.counters.graftSent++
    out.send(from, encodeOverlayMessage({ kind: 'graft', from: this.self, ids: [] }))
    if (this.eager.delete(c.from)) {
      this.lazy.add(c.from)
      this.counters.pruneSent++
      out.send(c.from, encodeOverlayMessage({ kind: 'prune', from: this.self }))
    }
    // The announcer is the parent now: a later announcement is compared with this shorter path, so one
    // message never grafts two new parents (which would close a cycle in the tree).
    this.cache.set(e.id, { payload: c.payload, hops: e.hops, from, atMs: c.atMs, optimized: true })
  }

  /** `pushLazy`: push to the lazy peers too, but those listed (they announced the message: they hold it). */
  private deliver(id: string, payload: Uint8Array, hops: number, from: PeerId | undefined, nowMs: number, out: PlumtreeOutbox, pushLazy?: readonly PeerId[]): void {
    this.expire(nowMs)
    this.remember(id, nowMs)
    this.cache.set(id, { payload, hops, from, atMs: nowMs })
    if (this.cache.size > this.config.cacheMaxEntries) this.cache.delete(this.cache.keys().next().value as string)
    this.counters.delivered++
    out.emit({ type: 'delivered', id, payload, hops, from })
    for (const p of this.eager) if (p !== from) this.sendGossip(out, p, id, hops + 1, payload)
    if (this.config.mode !== 'plumtree') return
    if (pushLazy !== undefined) this.counters.repairPushes++
    for (const p of this.lazy) {
      if (p === from) continue
      if (pushLazy !== undefined && !pushLazy.includes(p)) this.sendGossip(out, p, id, hops + 1, payload)
      else this.enqueueIHave(p, id, hops + 1, out)
    }
  }

  private remember(id: string, nowMs: number): void {
    this.seen.set(id, nowMs)
    if (this.seen.size > this.config.seenMaxEntries) this.seen.delete(this.seen.keys().next().value as string)
  }

  private expire(nowMs: number): void {
    const cacheLimit = nowMs - this.config.cacheTtlMs
    for (const [id, c] of this.cache) {
      if (c.atMs >= cacheLimit) break
      this.cache.delete(id)
    }
    const seenLimit = nowMs - this.config.seenTtlMs
    for (const [id, at] of this.seen) {
      if (at >= seenLimit) break
      this.seen.delete(id)
    }
  }

  private enqueueIHave(peer: PeerId, id: string, hops: number, out: PlumtreeOutbox): void {
    let q = this.ihaveQueue.get(peer)
    if (q === undefined) {
      q = []
      this.ihaveQueue.set(peer, q)
    }
    if (q.length >= this.config.ihaveQueueMax) {
      q.shift()
      this.counters.ihaveDropped++
    }
    q.push({ id, hops })
    if (!this.flushArmed) {
      this.flushArmed = true
      out.schedule({ kind: 'ihaveFlush' }, this.config.ihaveIntervalMs)
    }
  }

  private flush(out: PlumtreeOutbox): void {
    for (const [peer, q] of this.ihaveQueue) {
      if (!this.eager.has(peer) && !this.lazy.has(peer)) {
        this.ihaveQueue.delete(peer)
        continue
      }
      const batch = q.splice(0, this.config.ihaveBatchMax)
      if (q.length === 0) this.ihaveQueue.delete(peer)
      if (batch.length === 0) continue
      this.counters.ihaveSent++
      out.send(peer, encodeOverlayMessage({ kind: 'ihave', from: this.self, entries: batch }))
    }
    if (this.ihaveQueue.size > 0 && !this.flushArmed) {
      this.flushArmed = true
      out.schedule({ kind: 'ihaveFlush' }, this.config.ihaveIntervalMs)
    }
  }

  private sendGossip(out: PlumtreeOutbox, to: PeerId, id: string, hops: number, payload: Uint8Array): void {
    this.counters.gossipSent++
    out.send(to, encodeOverlayMessage({ kind: 'gossip', from: this.self, id, hops: Math.min(hops, 255), payload }))
  }
}
