/**
 * The overlay simulator: many HyParView nodes, each with one or more broadcast layers (Plumtree or
 * flooding) over its active view, driven in virtual time through the simulator's Network (latency,
 * loss, duplication, reordering, partitions). Every message is encoded to bytes and decoded by the
 * receiver, as on a real wire.
 *
 *   node i ── send(peer, bytes) ──▶ Network.route(i, peer) ──▶ queue (arrival time) ──▶ node peer.handleMessage
 *   node i ── schedule(timer) ──▶ queue ──▶ node i.handleTimer          (one TimerQueue: same-instant order defined)
 *   HyParView neighbour up/down ──▶ every layer's neighborUp / neighborDown   (as the composed node will wire them)
 *   a send to a crashed node ──▶ (connectionRefused) sendFailed after one round trip, else silence
 *
 * It runs the overlay protocols alone, not the composed node (whose `membership: 'hyparview'` mode
 * the Simulation runs: node-mode.test.ts), so it lives beside the tests, as the rumor harness does,
 * for the protocol tests and for `npm run bench:overlay`. It runs nodes the size of the overlay's state only: 10,000 fit in memory.
 *
 * Crash model: a crashed node stops at once; packets to it vanish. With `connectionRefused` (the
 * papers' TCP model: a dead process's connections are closed by its host, and a send over a broken
 * connection fails fast), its active neighbours learn of it one link delay later and any other sender
 * one round trip after its send, through `sendFailed`; without it only keep-alive timeouts find
 * failures (UDP). A host that vanishes without closing anything is the second case.
 */
import { SeededRng, deriveSeed } from '../../src/core/rng.js'
import { TimerQueue } from '../../src/core/timer-queue.js'
import { HyParView } from '../../src/overlay/hyparview.js'
import { Plumtree, messageIdOf } from '../../src/overlay/plumtree.js'
import { idToHex } from '../../src/overlay/messages.js'
import type { HyParViewConfig, PlumtreeConfig } from '../../src/overlay/config.js'
import type { HyParViewEvent, HyParViewTimer, OverlayOutbox, PlumtreeEvent, PlumtreeTimer } from '../../src/overlay/types.js'
import { Network, type NetworkOptionsInput } from '../../src/runtime/sim/network.js'
import { measureOverlay, type OverlayReport } from '../../src/runtime/sim/overlay-metrics.js'

export interface OverlaySimOptions {
  readonly seed: number
  readonly network?: NetworkOptionsInput
  readonly hyparview?: Partial<HyParViewConfig>
  /** One broadcast layer per entry (e.g. one flooding, one Plumtree, side by side on the same overlay). */
  readonly layers?: ReadonlyArray<Partial<PlumtreeConfig>>
  /** Sends to crashed nodes fail after one round trip (TCP's refused connection). Default true. */
  readonly connectionRefused?: boolean
}

/** Per-layer traffic counters, by message class. */
export interface LayerTraffic {
  payloadMessages: number
  controlMessages: number
}

/** One broadcast's outcome on one layer. */
export interface BroadcastRecord {
  readonly id: string
  readonly layer: number
  readonly atMs: number
  readonly origin: number
  /** Live nodes when it was sent. */
  readonly liveAtSend: number
  delivered: number
  ldh: number
  payloadMessages: number
  controlMessages: number
}

type Ev =
  | { readonly k: 0; readonly from: number; readonly to: number; readonly bytes: Uint8Array; readonly ch: number }
  | { readonly k: 1; readonly node: number; readonly timer: HyParViewTimer }
  | { readonly k: 2; readonly node: number; readonly ch: number; readonly timer: PlumtreeTimer }
  | { readonly k: 3; readonly node: number; readonly peer: string }
  | { readonly k: 4; readonly run: () => void }

/** Message kind byte of an encoded overlay message (a fixarray header comes first). */
const GOSSIP_KIND = 16

export class OverlaySim {
  readonly network: Network
  readonly hv: HyParView[] = []
  readonly layers: Plumtree[][] = []
  readonly traffic: LayerTraffic[]
  /** HyParView messages sent (the membership traffic). */
  membershipMessages = 0
  readonly broadcasts: BroadcastRecord[] = []
  private readonly alive: number[] = []
  private readonly queue = new TimerQueue<Ev>()
  private readonly layerConfigs: ReadonlyArray<Partial<PlumtreeConfig>>
  private readonly hvSinks: Array<OverlayOutbox<HyParViewTimer, HyParViewEvent>> = []
  private readonly layerSinks: Array<Array<OverlayOutbox<PlumtreeTimer, PlumtreeEvent>>> = []
  /**
   * Broadcasts being measured, by layer and id: deliveries and payload messages are charged to their
   * own broadcast; control messages (IHAVE, GRAFT, PRUNE, which may name several) to the latest one.
   */
  private readonly current = new Map<string, BroadcastRecord>()
  private readonly currentByLayer: Array<BroadcastRecord | undefined>
  private nowMs = 0
  private liveCount = 0
  private eventsRun = 0

  constructor(private readonly options: OverlaySimOptions) {
    this.network = new Network(deriveSeed(options.seed, 1 << 30), options.network ?? {})
    this.layerConfigs = options.layers ?? [{}]
    this.traffic = this.layerConfigs.map(() => ({ payloadMessages: 0, controlMessages: 0 }))
    this.currentByLayer = this.layerConfigs.map(() => undefined)
  }

  get now(): number {
    return this.nowMs
  }
  get size(): number {
    return this.hv.length
  }
  get live(): number {
    return this.liveCount
  }
  get events(): number {
    return this.eventsRun
  }
  isAlive(i: number): boolean {
    return this.alive[i] === 1
  }

  /** Adds a node (not started). Returns its index; its PeerId is the decimal index. */
  add(): number {
    const i = this.hv.length
    const self = String(i)
    const rng = new SeededRng(deriveSeed(this.options.seed, i))
    const hv = new HyParView({ self, rng, config: this.options.hyparview })
    this.hv.push(hv)
    this.alive.push(0)
    const layers = this.layerConfigs.map((config) => new Plumtree({ self, config }))
    this.layers.push(layers)
    this.layerSinks.push(layers.map((_, ch) => this.layerSink(i, ch)))
    this.hvSinks.push(this.hvSink(i))
    return i
  }

  /** Starts node i, joining through `contact` (none: it is the first node). */
  start(i: number, contact?: number): void {
    if (this.alive[i] === 1) return
    this.alive[i] = 1
    this.liveCount++
    this.hv[i].start(this.nowMs, this.hvSinks[i], contact === undefined ? undefined : String(contact))
  }

  /**
   * Crashes node i: it stops at once. With `connectionRefused` its process's connections are closed by
   * its host, so each active neighbour learns of it one link delay later (`sendFailed`), as over TCP
   * when a process dies; without it the neighbours find out only by keep-alive timeout.
   */
  crash(i: number): void {
    if (this.alive[i] !== 1) return
    this.alive[i] = 0
    this.liveCount--
    if (this.options.connectionRefused === false) return
    const self = String(i)
    this.hv[i].forEachActive((peer) => {
      const j = Number(peer)
      if (this.network.route(i, j) > 0) this.queue.push(this.nowMs + this.network.delays[0], { k: 3, node: j, peer: self })
    })
  }

  /** Node i leaves gracefully (DISCONNECT with `leaving` to its neighbours), then stops. */
  leave(i: number): void {
    if (this.alive[i] !== 1) return
    this.hv[i].leave(this.hvSinks[i])
    this.crash(i)
  }

  /** Runs `fn` at virtual time `atMs` (in order with the other events). */
  at(atMs: number, fn: () => void): void {
    this.queue.push(Math.max(atMs, this.nowMs), { k: 4, run: fn })
  }

  /** Broadcasts `payload` from node `origin` on layer `layer`, recording its outcome. */
  broadcast(origin: number, payload: Uint8Array, layer = 0): BroadcastRecord {
    const rec: BroadcastRecord = {
      id: '',
      layer,
      atMs: this.nowMs,
      origin,
      liveAtSend: this.liveCount,
      delivered: 0,
      ldh: 0,
      payloadMessages: 0,
      controlMessages: 0,
    }
    this.currentByLayer[layer] = rec
    // Registered under its content-derived id first, so the origin's own pushes are charged to it.
    ;(rec as { id: string }).id = messageIdOf(payload)
    this.current.set(`${layer}:${rec.id}`, rec)
    this.layers[origin][layer].broadcast(payload, this.nowMs, this.layerSinks[origin][layer])
    this.broadcasts.push(rec)
    return rec
  }

  /** The overlay's graph measures now (see overlay-metrics.ts). */
  measure(pathSources = 100): OverlayReport {
    return measureOverlay(
      {
        n: this.hv.length,
        isAlive: (i) => this.alive[i] === 1,
        activeOf: (i) => this.hv[i].activeView().map(Number),
        activeViewSize: this.hv[0]?.config.activeViewSize ?? 0,
      },
      { pathSources, seed: this.options.seed },
    )
  }

  /** Runs events until virtual time `untilMs` (inclusive). */
  runUntil(untilMs: number): void {
    const q = this.queue
    for (;;) {
      const top = q.peek()
      if (top === undefined || top.dueAtMs > untilMs) break
      q.pop()
      this.nowMs = top.dueAtMs
      this.eventsRun++
      this.dispatch(top.item)
    }
    this.nowMs = Math.max(this.nowMs, untilMs)
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms)
  }

  private dispatch(e: Ev): void {
    switch (e.k) {
      case 0:
        if (this.alive[e.to] !== 1) return
        if (e.ch === 0) this.hv[e.to].handleMessage(e.bytes, this.nowMs, this.hvSinks[e.to])
        else {
          // As the composed node does (node/overlay-mode.ts): a tree message over a link the receiver does
          // not hold is answered with DISCONNECT, so one-sided links end.
          this.hv[e.to].linkUsedBy(String(e.from), this.nowMs, this.hvSinks[e.to])
          this.layers[e.to][e.ch - 1].handleMessage(e.bytes, this.nowMs, this.layerSinks[e.to][e.ch - 1])
        }
        return
      case 1:
        if (this.alive[e.node] === 1) this.hv[e.node].handleTimer(e.timer, this.nowMs, this.hvSinks[e.node])
        return
      case 2:
        if (this.alive[e.node] === 1) this.layers[e.node][e.ch].handleTimer(e.timer, this.nowMs, this.layerSinks[e.node][e.ch])
        return
      case 3:
        if (this.alive[e.node] === 1) this.hv[e.node].sendFailed(e.peer, this.nowMs, this.hvSinks[e.node])
        return
      case 4:
        e.run()
        return
    }
  }

  /** Routes bytes from → to through the network; `ch` 0 is HyParView, c + 1 is layer c. */
  private route(from: number, toId: string, bytes: Uint8Array, ch: number): void {
    const to = Number(toId)
    if (!(to >= 0 && to < this.hv.length)) return
    const copies = this.network.route(from, to)
    if (this.alive[to] !== 1 && this.options.connectionRefused !== false && this.alive[from] === 1) {
      // The papers' TCP model: the sender's connection to a dead peer fails about one round trip later.
      const rtt = copies > 0 ? 2 * this.network.delays[0] : 2 * this.network.options.oneWayDelayMsMax
      this.queue.push(this.nowMs + rtt, { k: 3, node: from, peer: toId })
      return
    }
    for (let c = 0; c < copies; c++) this.queue.push(this.nowMs + this.network.delays[c], { k: 0, from, to, bytes, ch })
  }

  private hvSink(i: number): OverlayOutbox<HyParViewTimer, HyParViewEvent> {
    return {
      send: (to, bytes) => {
        this.membershipMessages++
        this.route(i, to, bytes, 0)
      },
      schedule: (timer, afterMs) => {
        this.queue.push(this.nowMs + afterMs, { k: 1, node: i, timer })
      },
      emit: (event) => {
        const layers = this.layers[i]
        const sinks = this.layerSinks[i]
        if (event.type === 'neighbor-up') for (let c = 0; c < layers.length; c++) layers[c].neighborUp(event.peer, this.nowMs, sinks[c])
        else if (event.type === 'neighbor-down') for (const l of layers) l.neighborDown(event.peer)
      },
    }
  }

  private layerSink(i: number, ch: number): OverlayOutbox<PlumtreeTimer, PlumtreeEvent> {
    return {
      send: (to, bytes) => {
        const t = this.traffic[ch]
        const rec = this.currentByLayer[ch]
        if (bytes[1] === GOSSIP_KIND) {
          t.payloadMessages++
          const own = this.current.get(`${ch}:${gossipIdOf(bytes)}`)
          if (own !== undefined) own.payloadMessages++
        } else {
          t.controlMessages++
          if (rec !== undefined) rec.controlMessages++
        }
        this.route(i, to, bytes, ch + 1)
      },
      schedule: (timer, afterMs) => {
        this.queue.push(this.nowMs + afterMs, { k: 2, node: i, ch, timer })
      },
      emit: (event) => {
        const rec = this.current.get(`${ch}:${event.id}`)
        if (rec === undefined) return
        rec.delivered++
        if (event.hops > rec.ldh) rec.ldh = event.hops
      },
    }
  }
}

/**
 * The id of an encoded GOSSIP, as hex: fixarray, kind, the sender as a fixstr (ids here are short
 * decimal strings), then the 16-byte id with a one-byte (fixstr) or two-byte (str8, bin8) header.
 */
function gossipIdOf(bytes: Uint8Array): string {
  const idHeader = 3 + (bytes[2] & 0x1f)
  const at = idHeader + ((bytes[idHeader] & 0xe0) === 0xa0 ? 1 : 2)
  return idToHex(bytes.subarray(at, at + 16))
}
