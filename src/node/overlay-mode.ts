/**
 * `membership: 'hyparview'`: the composed node without SWIM. HyParView keeps a few monitored neighbours
 * and a passive view of backups, Plumtree carries `node.broadcast` along a tree over the neighbours,
 * and the other protocols (cluster state) send to `samplePeers(k)` instead of the full membership.
 *
 *   packet (opened by the node) ──decodeOverlayMessage──▶ HyParView kinds ──▶ HyParView.receive
 *                                                        Plumtree kinds  ──▶ linkUsedBy (DISCONNECT when one-sided) + Plumtree.receive
 *                                                        APP(protocol)   ──▶ heardFrom + stack protocol.onMessage
 *   HyParView ── neighbor-up / neighbor-down(cause) / isolated ──▶ Plumtree.neighborUp/Down + node events
 *   Plumtree ── delivered(hops) ──▶ unwrap [name, origin, seq, payload] ──▶ `message` event (via 'grapevine')
 *                                                        APP(CRDT)       ──▶ heardFrom + OverlayCrdt (overlay-crdt.ts)
 *   timer overlayRound (every state roundIntervalMs) ──▶ StateProtocol.onRound(samplePeers(fanout)) ──▶ APP
 *   after every input ──▶ wake(): a CRDT round armed when deltas are queued or keys held ──▶ APP(CRDT)
 *   join(seeds) ──▶ JOIN to each seed (at most activeViewSize) ──▶ joinCompleted at the first neighbour,
 *                   or at joinTimeoutMs with the reason
 *   sends ──▶ peer id `ip:port` parsed to an address ──▶ the node's outbox (sealed there)
 *
 * Peer ids are the address keys members listen on (`10.0.0.5:7946`, `[::1]:7946`): the runtime needs no
 * table from ids to addresses, and the overlay's wire carries them as strings. A peer id that does not
 * parse as an address is never sent to (counted as `bad-peer`).
 *
 * The broadcast's own envelope makes every call a new message (origin, generation, sequence), so the
 * content-derived Plumtree id of two identical payloads from two calls differs; a copy that comes back
 * is one message. Pure, like the node: time comes with each call, effects go to the outbox passed in.
 */
import type { Rng } from '../core/rng.js'
import { ConfigError } from '../core/errors.js'
import { addressKey, parseAddress, type Address } from '../core/types.js'
import { BroadcastError } from '../gossip/rumor-types.js'
import { HyParView } from '../overlay/hyparview.js'
import { Plumtree } from '../overlay/plumtree.js'
import { decodeOverlayMessage, encodeOverlayMessage, isHyParViewMessage, isPlumtreeMessage, type OverlayMessage } from '../overlay/messages.js'
import type { HyParViewCounters } from '../overlay/hyparview.js'
import type { PlumtreeCounters } from '../overlay/plumtree.js'
import type { HyParViewEvent, HyParViewTimer, OverlayOutbox, PeerId, PlumtreeEvent, PlumtreeTimer } from '../overlay/types.js'
import type { GrapevineStack } from '../stack/create.js'
import { STATE_PROTOCOL } from '../stack/protocols.js'
import { CRDT_PROTOCOL } from '../stack/crdt-protocol.js'
import type { PeerSend } from '../stack/stack.js'
import { OverlayCrdt } from './overlay-crdt.js'
import { STATE_DEFAULTS, type StateConfig } from '../state/config.js'
import type { SwimStats } from '../swim/stats.js'
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import type { ResolvedOverlay } from './overlay-settings.js'

export { hyparviewRefusal } from './overlay-settings.js'
import type { NodeEvent, NodeOutbox, OverlayNodeTimer } from './types.js'

export interface OverlayModeOptions {
  readonly name: string
  readonly address: Address
  readonly generation: number
  readonly rng: Rng
  readonly overlay: ResolvedOverlay
  /** Addresses rejoined through when isolated (join() adds its seeds too). */
  readonly seeds?: readonly Address[]
  /**
   * The node's stack, built at the first call (node-parts.ts): the cluster state protocol rides on the
   * overlay. Called only when a round is due or an APP message arrives, so a node with state rounds
   * off never builds it.
   */
  readonly stack: () => GrapevineStack | undefined
  /** The stack if something already built it (a CRDT write does): never builds it. */
  readonly builtStack: () => GrapevineStack | undefined
  /** The node's `state` settings: their roundIntervalMs (default STATE_DEFAULTS') paces the rounds. */
  readonly state?: Partial<StateConfig>
  /** Where decode failures are counted (the node's stats). */
  readonly stats: SwimStats
}

/** The overlay's state and counters, for metrics and the simulator's report. */
export interface OverlayStats {
  readonly active: readonly PeerId[]
  readonly passive: readonly PeerId[]
  /** How many tree links push payloads (eager) and announce them (lazy), and which peers they are. */
  readonly eager: number
  readonly lazy: number
  readonly eagerPeers: readonly PeerId[]
  readonly lazyPeers: readonly PeerId[]
  /** Plumtree's bounded memory: payloads cached for GRAFTs, ids remembered, messages announced but missing. */
  readonly cacheSize: number
  readonly seenSize: number
  readonly missingSize: number
  readonly hyparview: HyParViewCounters
  readonly plumtree: PlumtreeCounters
  /** Replicated data types over sampled peers: rounds run, messages sent and received. */
  readonly crdt: OverlayCrdt['counters'] | undefined
  /** Messages dropped before reaching a protocol, by reason (undecodable, unknown protocol, bad peer id). */
  readonly dropped: Readonly<Record<string, number>>
}

const writer = new MsgpackWriter(2048)
const reader = new MsgpackReader(4)

/**
 * Peer ids parsed to addresses, shared by every node of the process (an id names the same address
 * everywhere; addresses are never changed): parsing was a tenth of the simulator's time at 2,000
 * nodes. Cleared when it reaches ADDRESS_CACHE_MAX entries, so it stays bounded.
 */
const addressCache = new Map<string, Address | null>()
const ADDRESS_CACHE_MAX = 65_536

function addressOf(peer: PeerId): Address | undefined {
  let a = addressCache.get(peer)
  if (a === undefined) {
    if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear()
    a = parseAddress(peer) ?? null
    addressCache.set(peer, a)
  }
  return a ?? undefined
}

export class OverlayMode {
  readonly hv: HyParView
  readonly tree: Plumtree
  /** The replicated data types' transport (undefined without the stack). */
  private crdtPart: OverlayCrdt | undefined
  private readonly self: PeerId
  private readonly dropped: Record<string, number> = {}
  private out: NodeOutbox | undefined
  private nowMs = 0
  private seq = 0
  private roundEpoch = 0
  private pendingJoin: number | undefined
  private joinSeq = 0
  private readonly hvOut: OverlayOutbox<HyParViewTimer, HyParViewEvent>
  private readonly treeOut: OverlayOutbox<PlumtreeTimer, PlumtreeEvent>

  constructor(private readonly o: OverlayModeOptions) {
    this.self = addressKey(o.address)
    // No seeds until start: HyParView.start JOINs a seed it holds, and joining is join()'s (the simulator
    // builds a node with its seeds and then calls join: two JOINs, twice the walks, every join).
    this.hv = new HyParView({ self: this.self, rng: o.rng, config: o.overlay.hyparview })
    this.tree = new Plumtree({ self: this.self, config: o.overlay.plumtree })
    this.hvOut = {
      send: (to, bytes) => this.send(to, bytes),
      schedule: (timer, afterMs) => this.out?.schedule({ kind: 'overlayView', timer }, afterMs),
      emit: (e) => this.viewEvent(e),
    }
    this.treeOut = {
      send: (to, bytes) => this.send(to, bytes),
      schedule: (timer, afterMs) => this.out?.schedule({ kind: 'overlayTree', timer }, afterMs),
      emit: (e) => this.delivered(e),
    }
  }

  start(nowMs: number, out: NodeOutbox): void {
    this.with(nowMs, out, () => {
      this.hv.start(nowMs, this.hvOut)
      this.hv.setSeeds((this.o.seeds ?? []).map(addressKey))
      const round = this.o.state?.roundIntervalMs ?? STATE_DEFAULTS.roundIntervalMs
      if (round > 0) out.schedule({ kind: 'overlayRound', epoch: ++this.roundEpoch }, 1 + this.o.rng.int(round))
    })
  }

  /** JOINs through each seed (at most activeViewSize of them); `joinCompleted` with the returned id follows. */
  join(seeds: readonly Address[], nowMs: number, out: NodeOutbox): number {
    const id = ++this.joinSeq
    const own = seeds.filter((s) => addressKey(s) !== this.self)
    this.with(nowMs, out, () => {
      this.hv.setSeeds([...new Set([...(this.o.seeds ?? []), ...own].map(addressKey))])
      if (own.length === 0) {
        out.emit({ type: 'joinCompleted', joinId: id, contacted: 0, errors: ['no seed other than this node itself'] })
        return
      }
      this.pendingJoin = id
      for (const s of own.slice(0, this.hv.config.activeViewSize)) this.hv.join(addressKey(s), this.hvOut)
      out.schedule({ kind: 'overlayJoin', joinId: id }, this.o.overlay.joinTimeoutMs)
    })
    return id
  }

  /** Leaves: DISCONNECT(leaving) to every neighbour (`shutdown` there), then `leaveCompleted`. */
  leave(nowMs: number, out: NodeOutbox): void {
    this.with(nowMs, out, () => {
      // The tree loses every link too: a message still arriving is delivered here but forwarded nowhere.
      this.hv.forEachActive((peer) => this.tree.neighborDown(peer))
      this.hv.leave(this.hvOut)
      this.roundEpoch++
      out.emit({ type: 'leaveCompleted', timedOut: false })
    })
  }

  broadcast(name: string, payload: Uint8Array, nowMs: number, out: NodeOutbox): string {
    if (!(payload instanceof Uint8Array)) throw new ConfigError([`payload: expected bytes, got ${typeof payload}`])
    if (new TextEncoder().encode(name).length > 255) throw new ConfigError([`name: expected at most 255 bytes, got ${name.length} characters`])
    const w = writer.reset()
    w.value([name, this.o.name, this.o.generation, this.seq + 1, payload])
    const wrapped = w.finish()
    const max = this.tree.config.maxPayloadBytes
    if (wrapped.length > max) {
      throw new BroadcastError(
        'payload-too-large',
        `payload is ${payload.length} bytes; with its envelope (name, origin, sequence: ${wrapped.length - payload.length} bytes) it is over overlay.plumtree.maxPayloadBytes ${max}; split it or raise that setting`,
      )
    }
    this.seq++
    return this.with(nowMs, out, () => this.tree.broadcast(wrapped, nowMs, this.treeOut))
  }

  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: NodeOutbox): void {
    const r = decodeOverlayMessage(bytes, this.tree.config.maxPayloadBytes)
    if (!r.ok) {
      this.o.stats.decodeError(r.error.reason)
      this.o.stats.drop(r.error.reason)
      this.count(r.error.reason)
      out.emit({ type: 'dropped', reason: r.error.reason, from, detail: r.error.detail })
      return
    }
    // As `with`, without a closure per packet (the simulator's hottest path).
    const prev = this.out
    this.out = out
    this.nowMs = nowMs
    try {
      this.receive(r.value, nowMs)
    } finally {
      this.out = prev
    }
  }

  private receive(m: OverlayMessage, nowMs: number): void {
    if (isHyParViewMessage(m)) return this.hv.receive(m, nowMs, this.hvOut)
    if (isPlumtreeMessage(m)) {
      // Tree messages presume a link: one we do not hold is one-sided over there and is refused.
      this.hv.linkUsedBy(m.from, nowMs, this.hvOut)
      return this.tree.receive(m, nowMs, this.treeOut)
    }
    this.hv.heardFrom(m.from, nowMs)
    const crdt = m.protocol === CRDT_PROTOCOL ? this.crdtOf(true) : undefined
    if (crdt !== undefined) return crdt.onMessage(m.from, m.payload, nowMs, this.crdtSend)
    const state = this.o.stack()?.state
    if (m.protocol !== STATE_PROTOCOL || state === undefined) return this.count('unknown-protocol')
    state.onMessage(m.from, m.payload, nowMs, this.peerSend)
  }

  handleTimer(t: OverlayNodeTimer, nowMs: number, out: NodeOutbox): void {
    this.with(nowMs, out, () => {
      switch (t.kind) {
        case 'overlayView':
          return this.hv.handleTimer(t.timer, nowMs, this.hvOut)
        case 'overlayTree':
          return this.tree.handleTimer(t.timer, nowMs, this.treeOut)
        case 'overlayJoin':
          if (t.joinId !== this.pendingJoin) return
          this.pendingJoin = undefined
          out.emit({ type: 'joinCompleted', joinId: t.joinId, contacted: 0, errors: [`no seed answered the JOIN within ${this.o.overlay.joinTimeoutMs} ms`] })
          return
        case 'overlayCrdtRound':
          return this.crdtOf(false)?.round(t.epoch, nowMs, (k) => this.hv.samplePeers(k), this.crdtSend)
        case 'overlayRound': {
          if (t.epoch !== this.roundEpoch) return
          const state = this.o.stack()?.state
          if (state === undefined) return
          state.onRound(nowMs, this.hv.samplePeers(Math.max(1, state.reconciler.config.fanout)), this.peerSend)
          out.schedule(t, state.reconciler.config.roundIntervalMs)
        }
      }
    })
  }

  /** After every input of the node: arms a CRDT round when there is work (writes, received deltas). */
  wake(nowMs: number, out: NodeOutbox): void {
    this.crdtOf(false)?.wake(nowMs, (epoch, afterMs) => out.schedule({ kind: 'overlayCrdtRound', epoch }, afterMs))
  }

  samplePeers(k: number): PeerId[] {
    return this.hv.samplePeers(k)
  }

  stats(): OverlayStats {
    return {
      active: this.hv.activeView(),
      passive: this.hv.passiveView(),
      eager: this.tree.eagerPeers().length,
      lazy: this.tree.lazyPeers().length,
      eagerPeers: this.tree.eagerPeers(),
      lazyPeers: this.tree.lazyPeers(),
      cacheSize: this.tree.cacheSize,
      seenSize: this.tree.seenSize,
      missingSize: this.tree.missingSize,
      hyparview: this.hv.counters,
      plumtree: this.tree.counters,
      crdt: this.crdtPart?.counters,
      dropped: this.dropped,
    }
  }

  // ------------------------------------------------------------------ internals

  private readonly peerSend: PeerSend = (to, payload) => this.send(to, encodeOverlayMessage({ kind: 'app', from: this.self, protocol: STATE_PROTOCOL, payload }))
  /** CRDT replication over the overlay, once the stack exists (`build`: build the stack for it, as a CRDT message arriving does). */
  private crdtOf(build: boolean): OverlayCrdt | undefined {
    if (this.crdtPart === undefined) {
      const stack = build ? this.o.stack() : this.o.builtStack()
      if (stack !== undefined) this.crdtPart = new OverlayCrdt(stack.crdt)
    }
    return this.crdtPart
  }

  private readonly crdtSend: PeerSend = (to, payload) => this.send(to, encodeOverlayMessage({ kind: 'app', from: this.self, protocol: CRDT_PROTOCOL, payload }))

  /** Runs `fn` with the outbox the overlay's sinks write to. */
  private with<T>(nowMs: number, out: NodeOutbox, fn: () => T): T {
    const prev = this.out
    this.out = out
    this.nowMs = nowMs
    try {
      return fn()
    } finally {
      this.out = prev
    }
  }

  private send(to: PeerId, bytes: Uint8Array): boolean {
    const address = addressOf(to)
    if (address === undefined || this.out === undefined) {
      this.count('bad-peer')
      return false
    }
    this.out.send(address, bytes)
    return true
  }

  private count(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1
  }

  private viewEvent(e: HyParViewEvent): void {
    const out = this.out
    if (out === undefined) return
    if (e.type === 'isolated') return out.emit({ type: 'isolated' })
    const address = addressOf(e.peer) ?? { ip: '0.0.0.0', port: 0 }
    if (e.type === 'neighbor-up') {
      this.tree.neighborUp(e.peer, this.nowMs, this.treeOut)
      out.emit({ type: 'neighborUp', peer: e.peer, address })
      if (this.pendingJoin !== undefined) {
        out.emit({ type: 'joinCompleted', joinId: this.pendingJoin, contacted: 1, errors: [] })
        this.pendingJoin = undefined
      }
      return
    }
    this.tree.neighborDown(e.peer)
    out.emit({ type: 'neighborDown', peer: e.peer, address, cause: e.cause })
  }

  private delivered(e: PlumtreeEvent): void {
    const out = this.out
    if (out === undefined) return
    let fields: unknown[]
    try {
      const r = reader.reset(e.payload, 0)
      const n = r.arrayHeader('broadcast')
      if (n !== 5) r.fail('bad-field', `broadcast envelope has ${n} fields, expected 5`)
      fields = [r.str(255, 'name'), r.str(255, 'origin'), r.uint(Number.MAX_SAFE_INTEGER, 'generation'), r.uint(Number.MAX_SAFE_INTEGER, 'seq'), r.bytes(e.payload.length, 'payload')]
    } catch {
      this.count('bad-broadcast')
      return
    }
    const [name, origin, , , payload] = fields as [string, string, number, number, Uint8Array]
    out.emit({ type: 'message', message: { id: e.id, name, payload, origin, hops: e.hops, via: 'grapevine' } })
  }
}
