/**
 * The deterministic simulator: many protocol instances, one virtual clock, one event queue.
 *
 * Every input to every node is an item in ONE ItemQueue (item-queue.ts) ordered by (due time, sequence): timer
 * firings, datagram deliveries, stream segments, requests, results and timeouts, pause ends and
 * scheduled faults. `step()` pops the earliest item, sets the clock to its due time, hands it to the node's
 * protocol with a reused CollectingOutbox, then performs the effects the protocol wrote:
 *
 *   queue ──pop──▶ node.protocol.handleX(…, nowMs, out) ──▶ out.packets  → Network.route → queue (delivery)
 *                                                          out.streams  → Streams (TCP) → queue
 *                                                          out.timers   → queue (timer firing)
 *                                                          out.events   → record, observers, trace
 *
 * Packets travel as the bytes the protocol produced; the simulator never passes objects between
 * nodes. It keeps a reference to those bytes until delivery, so a protocol must not reuse a buffer it
 * handed to `send` or `openStream`.
 *
 * Streams are TCP connections (streams.ts): handshake, request and reply segments cross the network
 * like datagrams and are resent on Linux's timers. An exchange fails with `timeout` at the caller's
 * deadline (to an address nobody owns, always), `refused` from a crashed or departed node, `reset`
 * when the target's process changed after the handshake. Replies to an opener that crashed since are
 * dropped; a paused target's kernel still does the handshake, its process reads the request on resume.
 *
 * Faults: `crash` (the node stops; packets to it vanish), `restart` (a fresh protocol with the same
 * name and address rejoins through its seeds), `pause` (everything addressed to the node waits; on
 * resume, as Node's event loop after a long GC pause, every timer that came due fires first in due
 * order, then the held packets and streams are delivered in arrival order, all at the resume time),
 * `leave` (graceful; the node stops at `leaveCompleted`), `partition`/`heal` (see Network).
 *
 * Nodes are built by builder.ts: the composed node by default, from settings checked as a real node's.
 *
 * Determinism: node n's protocol gets SeededRng(deriveSeed(seed, n)) (a restart r of it
 * deriveSeed(deriveSeed(seed, n), r)); the network and the simulator's own choices use seeds derived
 * from the run seed with reserved indexes. Nothing here reads the wall clock or iterates a Map whose
 * order depends on anything but insertion.
 */
import { assert } from '../../core/assert.js'
import { CollectingOutbox } from '../../core/effects.js'
import { SeededRng, deriveSeed } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import type { NodeEvent, NodeTimer, SwimConfig } from '../../node/index.js'
import { NodeBuilder } from './builder.js'
import type { NodeSetup } from './builder.js'
import { Network } from './network.js'
import type { RecordedEvent } from './node.js'
import { SimNode } from './node.js'
import type { SimOutbox, SimProtocol } from './protocol.js'
import type { FaultKind, FaultRecord, SimObserver, SimulationOptions, SimulationStats, SpawnOptions } from './types.js'
import { SimulationError } from './types.js'
import { ItemQueue } from './item-queue.js'
import { ACTION, Item, PACKET, RESUME, STREAM_REQUEST, STREAM_RESULT, STREAM_TIMEOUT, TIMER } from './items.js'
import type { ConvergenceCheck } from './checkers.js'
import { checkConvergence } from './checkers.js'
import type { TraceSink } from './trace.js'
import { nodeIndexOfIp, nodeIp, nodeName } from './names.js'
import { Streams } from './streams.js'
import { describeEvent, describeFate, formatTimeMs } from './trace.js'
import { describePacket } from '../../wire/describe.js'

export type { SimulationOptions, SpawnOptions, SimObserver, FaultKind, FaultRecord, SimulationStats } from './types.js'
export { SimulationError } from './types.js'

const indexOf = (n: SimNode | number): number => (typeof n === 'number' ? n : n.index)

/** Reserved child-seed indexes (node indexes stay far below). */
export const NETWORK_SEED_INDEX = 0x7ff0_0001
export const CONTROL_SEED_INDEX = 0x7ff0_0002
export const SCENARIO_SEED_INDEX = 0x7ff0_0003

export class Simulation {
  readonly seed: number
  readonly network: Network
  /** The configuration every node gets unless spawned with overrides. */
  readonly config: SwimConfig
  readonly stats: SimulationStats = { eventsProcessed: 0, packetsSent: 0, bytesSent: 0, packetsDelivered: 0, packetsVanished: 0, packetsToNowhere: 0, streamsOpened: 0, streamsFailed: 0 }
  /** Every fault and lifecycle step, in order. */
  readonly faults: FaultRecord[] = []

  private now = 0
  private readonly queue = new ItemQueue<Item>()
  private readonly out = new CollectingOutbox<NodeTimer, NodeEvent>()
  private readonly nodeList: SimNode[] = []
  private readonly setups: NodeSetup[] = []
  private readonly byIp = new Map<string, SimNode>()
  private readonly byName = new Map<string, SimNode>()
  private readonly observers: SimObserver[] = []
  private readonly rng: SeededRng
  private readonly trace: TraceSink | undefined
  private readonly recordEvents: boolean
  private readonly builder: NodeBuilder
  private readonly port: number
  private readonly streams: Streams
  private stepping = false

  constructor(opts: SimulationOptions) {
    assert(Number.isInteger(opts.seed), `seed must be an integer (got ${String(opts.seed)})`)
    this.seed = opts.seed >>> 0
    this.network = new Network(deriveSeed(this.seed, NETWORK_SEED_INDEX), opts.network)
    this.builder = new NodeBuilder(this.seed, opts)
    this.config = this.builder.config
    this.rng = new SeededRng(deriveSeed(this.seed, CONTROL_SEED_INDEX))
    this.trace = opts.trace
    this.recordEvents = opts.recordEvents ?? true
    this.port = opts.port ?? 7946
    this.streams = new Streams({ network: this.network, queue: this.queue, stats: this.stats, trace: this.trace, now: () => this.now, input: (node, input) => this.input(node, input) })
  }

  /** Virtual time in ms since the simulation began. */
  get nowMs(): number {
    return this.now
  }

  /** Every node ever spawned, by index (crashed and departed ones included). */
  get nodes(): readonly SimNode[] {
    return this.nodeList
  }

  /** Nodes whose process exists (running or paused). */
  liveNodes(): SimNode[] {
    return this.nodeList.filter((n) => n.live)
  }

  node(name: string): SimNode | undefined {
    return this.byName.get(name)
  }

  nodeAt(address: Address): SimNode | undefined {
    const i = nodeIndexOfIp(address.ip)
    const n = i >= 0 && i < this.nodeList.length && this.nodeList[i].address.ip === address.ip ? this.nodeList[i] : this.byIp.get(address.ip)
    return n !== undefined && n.address.port === address.port ? n : undefined
  }

  /** Items waiting in the queue. */
  get pending(): number {
    return this.queue.size
  }

  observe(observer: SimObserver): void {
    this.observers.push(observer)
  }

  /** The name of node `index` (the same before it is spawned): node-000, node-001, … */
  nameFor(index: number): string {
    return nodeName(index)
  }

  /** The virtual address of node `index`: 127.1.x.y with y in 1..250. */
  addressFor(index: number): Address {
    return { ip: nodeIp(index), port: this.port }
  }

  // ------------------------------------------------------------------ lifecycle

  /** Creates `count` nodes, starts them and (by default) joins them through the first node. */
  spawn(count: number, opts: SpawnOptions = {}): SimNode[] {
    assert(Number.isInteger(count) && count >= 0, `spawn count must be a non-negative integer (got ${count})`)
    assert(this.nodeList.length + count <= 250 * 256, 'at most 64000 simulated nodes')
    assert(opts.name === undefined || (count === 1 && !this.byName.has(opts.name)), `a spawn name is for one node, and unique (got ${String(opts.name)} for ${count})`)
    const created: SimNode[] = []
    const seeds = this.seedAddresses(opts.join ?? true)
    for (let i = 0; i < count; i++) {
      const index = this.nodeList.length
      const setup = this.builder.setupFor(index, opts)
      const name = setup.name
      const address = this.addressFor(index)
      const own = seeds.filter((s) => s.ip !== address.ip || s.port !== address.port)
      const node = new SimNode(index, name, address, this.builder.build(index, address, setup, 0, own))
      node.seeds = own
      node.invokeOperation = (n, operation) => this.invoke(n, operation)
      this.nodeList.push(node)
      this.setups.push(setup)
      this.byIp.set(address.ip, node)
      this.byName.set(name, node)
      created.push(node)
    }
    if (count === 0) return created
    this.fault('spawn', created.length === 1 ? [created[0].name] : [`${created[0].name}..${created[created.length - 1].name}`])
    for (const node of created) {
      for (const o of this.observers) o.onSpawn?.(node, this.now)
      this.input(node, (p, now, out) => p.start(now, out), new CollectingOutbox())
    }
    const spread = opts.joinSpreadMs ?? 0
    for (const node of created) {
      if (node.seeds.length === 0) continue
      if (spread > 0) {
        const gen = node.generation
        this.at(this.now + this.rng.float() * spread, () => {
          if (node.status === 'running' && node.generation === gen) this.joinNow(node, node.seeds)
        })
      } else {
        this.joinNow(node, node.seeds)
      }
    }
    return created
  }

  /** Spawns one node that joins through the simulation's first node (or `opts.join`). */
  addNode(opts: SpawnOptions = {}): SimNode {
    return this.spawn(1, opts)[0]
  }

  /** The node stops at once: its timers and pending exchanges die, packets to it vanish. No-op unless live. */
  crash(node: SimNode): void {
    if (!node.live) return
    this.stop(node, 'crashed')
    this.fault('crash', [node.name])
    for (const o of this.observers) o.onCrash?.(node, this.now)
  }

  /**
   * A fresh protocol instance with the same name and address starts and rejoins through the node's
   * live seeds (or, when none is live, the first other live node). A live node is crashed first.
   */
  restart(node: SimNode): void {
    if (node.live) this.crash(node)
    node.generation++
    node.restarts++
    node.status = 'running'
    node.leaving = false
    const setup = this.setups[node.index]
    // Its seeds that are still up (an address no node owns is kept: it may be outside the simulation);
    // when none is, the first other live node, so that a restart always has someone to join.
    let seeds = node.seeds.filter((s) => this.nodeAt(s)?.live ?? true)
    if (seeds.length === 0) {
      const other = this.nodeList.find((n) => n !== node && n.live)
      seeds = other === undefined ? [] : [other.address]
    }
    node.protocol = this.builder.build(node.index, node.address, setup, node.restarts, seeds)
    this.fault('restart', [node.name], `restart #${node.restarts}`)
    for (const o of this.observers) o.onRestart?.(node, this.now)
    this.input(node, (p, now, out) => p.start(now, out), new CollectingOutbox())
    if (seeds.length > 0) this.joinNow(node, seeds)
  }

  /**
   * The node processes nothing for `ms`: what arrives waits, timers that come due wait. On resume, the
   * late timers fire first (in due order), then the held deliveries (in arrival order). Pausing a
   * paused node extends the pause. No-op unless live.
   */
  pause(node: SimNode, ms: number): void {
    assert(ms >= 0, `pause length must be ≥ 0 (got ${ms})`)
    if (!node.live) return
    const until = Math.max(this.now + ms, node.status === 'paused' ? node.pausedUntilMs : 0)
    node.status = 'paused'
    node.pausedUntilMs = until
    node.pauseToken++
    this.queue.push(until, new Item(RESUME, node, node.pauseToken, null, null, null, null, null, null))
    this.fault('pause', [node.name], `until ${until.toFixed(3)}`)
    for (const o of this.observers) o.onPause?.(node, this.now, until)
  }

  /** Graceful leave: the protocol broadcasts its departure; the node stops when it reports leaveCompleted. */
  leave(node: SimNode): void {
    if (node.status !== 'running') throw new SimulationError(`cannot leave ${node.name}: it is ${node.status}`, this.seed, this.now)
    if (node.leaving) return
    node.leaving = true
    this.fault('leave', [node.name])
    this.input(node, (p, now, out) => p.leave(now, out), new CollectingOutbox())
  }

  /**
   * Runs a user operation on a running node's protocol now, with an outbox whose effects the
   * simulation then performs: `sim.invoke(node, (swim, now, out) => swim.setMeta(meta, now, out))`.
   * The protocol is typed as the simulator sees it; cast it to the concrete class for its other
   * operations.
   */
  invoke<R>(node: SimNode, operation: (protocol: SimProtocol, nowMs: number, out: SimOutbox) => R): R {
    if (node.status !== 'running') throw new SimulationError(`cannot invoke an operation on ${node.name}: it is ${node.status}`, this.seed, this.now)
    return this.input(node, operation, new CollectingOutbox())
  }

  /**
   * Cuts groupA from groupB (both directions, or only A → B with oneWay). Nodes may be given by index,
   * including nodes not spawned yet (they are cut once they exist). Returns rule ids for `unblock`.
   */
  partition(groupA: ReadonlyArray<SimNode | number>, groupB: ReadonlyArray<SimNode | number>, opts: { oneWay?: boolean } = {}): number[] {
    const ids = this.network.partition(groupA.map(indexOf), groupB.map(indexOf), opts)
    this.fault('partition', [...groupA.map((n) => this.nameOf(n)), '|', ...groupB.map((n) => this.nameOf(n))], opts.oneWay ? 'one-way' : 'both ways')
    return ids
  }

  /** Isolates each group from every other, both directions (see `partition` for indexes). Returns rule ids. */
  split(groups: ReadonlyArray<ReadonlyArray<SimNode | number>>): number[] {
    const ids = this.network.split(groups.map((g) => g.map(indexOf)))
    const names: string[] = []
    groups.forEach((g, i) => names.push(...(i > 0 ? ['|'] : []), ...g.map((n) => this.nameOf(n))))
    this.fault('partition', names, 'split')
    return ids
  }

  private nameOf(n: SimNode | number): string {
    return typeof n === 'number' ? (this.nodeList[n]?.name ?? this.nameFor(n)) : n.name
  }

  /** Lifts the given partition rules. */
  unblock(ids: readonly number[]): void {
    this.network.unblock(ids)
    this.fault('unblock', [], ids.join(','))
  }

  /** Lifts every partition. */
  heal(): void {
    this.network.heal()
    this.fault('heal', [])
  }

  /** Runs `action` at virtual time `atMs` (not before now), in queue order with everything else. */
  at(atMs: number, action: () => void): void {
    this.queue.push(Math.max(atMs, this.now), new Item(ACTION, null, 0, null, null, null, null, null, action))
  }

  // ------------------------------------------------------------------ running

  /** Processes the next queue item; false when the queue is empty. */
  step(): boolean {
    if (this.stepping) throw new SimulationError('step() or run*() called from inside an observer or action', this.seed, this.now)
    const item = this.queue.pop()
    if (item === undefined) return false
    this.now = this.queue.poppedDueMs
    this.stats.eventsProcessed++
    this.stepping = true
    try {
      this.dispatch(item)
    } catch (err) {
      if (err instanceof SimulationError) throw err
      const who = item.node?.name ?? 'a scheduled action'
      throw new SimulationError(`${who} threw: ${err instanceof Error ? err.message : String(err)}`, this.seed, this.now, { cause: err })
    } finally {
      this.stepping = false
    }
    return true
  }

  /** Runs every item due within the next `ms`, then sets the clock to the end of the span. */
  runFor(ms: number): void {
    assert(ms >= 0, `runFor needs ms ≥ 0 (got ${ms})`)
    this.runUntilTime(this.now + ms)
  }

  /** Runs every item due at or before `atMs`, then sets the clock to `atMs`. */
  runUntilTime(atMs: number): void {
    for (;;) {
      if (this.queue.nextDueMs > atMs) break
      this.step()
    }
    if (atMs > this.now) this.now = atMs
  }

  /**
   * Runs until `predicate` holds or `maxMs` of virtual time passed; returns whether it held. The
   * predicate is checked before starting, then after every item, or (with checkEveryMs > 0) at each
   * multiple of that period only, which keeps expensive predicates cheap.
   */
  runUntil(predicate: (sim: Simulation) => boolean, maxMs: number, opts: { checkEveryMs?: number } = {}): boolean {
    const deadline = this.now + maxMs
    if (predicate(this)) return true
    const every = opts.checkEveryMs ?? 0
    if (every > 0) {
      for (let t = this.now + every; ; t += every) {
        const stop = Math.min(t, deadline)
        this.runUntilTime(stop)
        if (predicate(this)) return true
        if (stop >= deadline) return false
      }
    }
    for (;;) {
      if (this.queue.nextDueMs > deadline) break
      this.step()
      if (predicate(this)) return true
    }
    if (deadline > this.now) this.now = deadline
    return predicate(this)
  }

  /**
   * Checks, from every live node's own membership list, that it sees every live node alive and every
   * crashed or departed node dead, left or not at all. O(n²); use at checkpoints, not per event.
   */
  convergence(): ConvergenceCheck {
    return checkConvergence(this.nodeList)
  }

  /** Events of every node merged in virtual-time order (ties by node index). Requires recordEvents. */
  allEvents(): Array<RecordedEvent & { readonly node: string }> {
    const all: Array<RecordedEvent & { node: string; i: number }> = []
    for (const n of this.nodeList) n.events.forEach((e, i) => all.push({ ...e, node: n.name, i }))
    return all.sort((a, b) => a.atMs - b.atMs)
  }

  // ------------------------------------------------------------------ internals

  private seedAddresses(join: NonNullable<SpawnOptions['join']>): Address[] {
    if (join === false) return []
    if (join === true) {
      // The first node, or the first live one when it is down; node 0 itself when about to be created.
      const first = this.nodeList.find((n) => n.live)
      return [first === undefined || this.nodeList[0].live ? this.addressFor(0) : first.address]
    }
    return join.map((s) => (s instanceof SimNode ? s.address : s))
  }

  private joinNow(node: SimNode, seeds: readonly Address[]): void {
    node.lastJoinId = this.input(node, (p, now, out) => p.join(seeds.slice(), now, out), new CollectingOutbox())
  }

  private stop(node: SimNode, status: 'crashed' | 'left'): void {
    node.status = status
    node.generation++
    node.heldTimers = []
    node.heldDeliveries = []
    node.pauseToken++
    node.protocol.shutdown?.()
  }

  private fault(kind: FaultKind, nodes: readonly string[], detail?: string): void {
    this.faults.push({ atMs: this.now, kind, nodes, detail })
    if (this.trace) this.trace(`${formatTimeMs(this.now)} fault ${kind}${nodes.length > 0 ? ' ' + nodes.join(' ') : ''}${detail ? ' ' + detail : ''}`)
  }

  private dispatch(item: Item): void {
    const kind = item.kind
    if (kind === ACTION) {
      item.action!()
      return
    }
    const node = item.node!
    if (kind === RESUME) {
      this.resume(node, item.gen)
      return
    }
    switch (node.status) {
      case 'running':
        this.process(node, item)
        return
      case 'paused':
        if ((kind === TIMER || kind === STREAM_TIMEOUT || kind === STREAM_RESULT) && item.gen !== node.generation) return
        if (kind === TIMER || kind === STREAM_TIMEOUT) node.heldTimers.push(item)
        else node.heldDeliveries.push(item)
        return
      default:
        this.inputToStopped(node, item)
    }
  }

  private resume(node: SimNode, token: number): void {
    if (node.status !== 'paused' || node.pauseToken !== token) return
    node.status = 'running'
    const timers = node.heldTimers as Item[]
    const deliveries = node.heldDeliveries as Item[]
    node.heldTimers = []
    node.heldDeliveries = []
    this.fault('resume', [node.name], `${timers.length} timers, ${deliveries.length} deliveries held`)
    for (const o of this.observers) o.onResume?.(node, this.now)
    const held = timers.concat(deliveries)
    for (let i = 0; i < held.length; i++) {
      // An observer may have paused or crashed the node again meanwhile: hand the rest back to dispatch.
      if (node.status !== 'running') this.dispatch(held[i])
      else this.process(node, held[i])
    }
  }

  private process(node: SimNode, item: Item): void {
    const out = this.out
    switch (item.kind) {
      case TIMER:
        if (item.gen !== node.generation) return
        // As the real driver does: a timer that would do nothing is dropped, not fired.
        if (node.protocol.timerIsLive?.(item.timer!) === false) {
          node.counters.timersSkipped++
          return
        }
        node.counters.timersFired++
        node.protocol.handleTimer(item.timer!, this.now, out)
        this.drain(node, out)
        return
      case PACKET: {
        const bytes = item.bytes!
        node.counters.packetsReceived++
        node.counters.bytesReceived += bytes.length
        this.stats.packetsDelivered++
        node.protocol.handlePacket(item.from!.address, bytes, this.now, out)
        this.drain(node, out)
        return
      }
      case STREAM_REQUEST:
        this.streams.requestArrived(node, item.stream!)
        return
      case STREAM_RESULT:
      case STREAM_TIMEOUT:
        this.streams.finished(node, item)
        return
    }
  }

  /** An input reached a crashed or departed node. */
  private inputToStopped(node: SimNode, item: Item): void {
    if (item.kind === PACKET) {
      this.stats.packetsVanished++
      if (this.trace) this.trace(`${formatTimeMs(this.now)} pkt-vanished ${item.from!.name} > ${node.name} ${item.bytes!.length}B (${node.status})`)
    } else if (item.kind === STREAM_REQUEST) {
      this.streams.requestToStopped(node, item.stream!)
    }
  }

  /**
   * Hands the node's protocol an input now and performs the effects it wrote. The event loop's inputs
   * share one outbox; lifecycle steps and user operations, which an observer may call while an outbox
   * is being drained, bring a fresh one.
   */
  private input<R>(node: SimNode, input: (protocol: SimProtocol, nowMs: number, out: SimOutbox) => R, out: CollectingOutbox<NodeTimer, NodeEvent> = this.out): R {
    const result = input(node.protocol, this.now, out)
    this.drain(node, out)
    return result
  }

  /** Performs and empties everything the protocol of `node` wrote into `out`. */
  private drain(node: SimNode, out: CollectingOutbox<NodeTimer, NodeEvent>): void {
    const packets = out.packets
    if (packets.length > 0) {
      for (let i = 0; i < packets.length; i++) this.sendPacket(node, packets[i].to, packets[i].bytes)
      out.packets = []
    }
    const streams = out.streams
    if (streams.length > 0) {
      for (let i = 0; i < streams.length; i++) this.streams.open(node, streams[i], this.nodeAt(streams[i].to))
      out.streams = []
    }
    const timers = out.timers
    if (timers.length > 0) {
      const gen = node.generation
      for (let i = 0; i < timers.length; i++) {
        const t = timers[i]
        this.queue.push(this.now + t.afterMs, new Item(TIMER, node, gen, t.timer, null, null, null, null, null))
      }
      out.timers = []
    }
    const events = out.events
    if (events.length > 0) {
      for (let i = 0; i < events.length; i++) this.emitted(node, events[i])
      out.events = []
    }
    if (!out.isEmpty) assert(false, `the outbox of ${node.name} was not drained`)
  }

  private sendPacket(from: SimNode, to: Address, bytes: Uint8Array): void {
    from.counters.packetsSent++
    from.counters.bytesSent += bytes.length
    this.stats.packetsSent++
    this.stats.bytesSent += bytes.length
    for (let i = 0; i < this.observers.length; i++) this.observers[i].onPacket?.(from, to, bytes, this.now)
    const target = this.nodeAt(to)
    if (target === undefined) {
      this.stats.packetsToNowhere++
      if (this.trace) this.trace(`${formatTimeMs(this.now)} pkt ${from.name} > ${to.ip}:${to.port} ${bytes.length}B [${describePacket(bytes)}] no-host`)
      return
    }
    const net = this.network
    const copies = net.route(from.index, target.index)
    for (let i = 0; i < copies; i++) {
      this.queue.push(this.now + net.delays[i], new Item(PACKET, target, 0, null, from, bytes, null, null, null))
    }
    if (this.trace) {
      this.trace(`${formatTimeMs(this.now)} pkt ${from.name} > ${target.name} ${bytes.length}B [${describePacket(bytes)}] ${describeFate(net.lastFate, copies, net.delays)}`)
    }
  }

  private emitted(node: SimNode, event: NodeEvent): void {
    node.counters.eventsEmitted++
    if (this.recordEvents) node.events.push({ atMs: this.now, event })
    if (this.trace) this.trace(`${formatTimeMs(this.now)} event ${node.name} ${describeEvent(event)}`)
    for (let i = 0; i < this.observers.length; i++) this.observers[i].onEvent?.(node, event, this.now)
    if (event.type === 'leaveCompleted' && node.live) {
      this.stop(node, 'left')
      this.fault('left', [node.name], event.timedOut ? 'timed out' : undefined)
      for (const o of this.observers) o.onLeft?.(node, this.now)
    }
  }
}
