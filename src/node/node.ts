/**
 * THE composed node: one resolved configuration in, SWIM + Serf's layer + Grapevine's stack (broadcasts,
 * cluster state, phi as SWIM's second opinion; SWIM and the stack built at first use by node-parts.ts,
 * so the overlay mode pays for neither) + sealing and opening of packets out. Both runtimes drive
 * only this; neither builds SWIM's delegate stack itself.
 *
 *   runtime input (nowMs, out) ──▶ open (keys, label) ──▶ Swim.handleX ──▶ delegate: ProtocolStack
 *        │                                                                   ├─ SerfLayer (intents, events, queries, keys)
 *        │                                                                   ├─ broadcasts, cluster state, phi
 *        │                                                 (wrapped by) network coordinates: ack payloads, probe RTTs
 *        └─ node timers (Serf leave wait, force-leave wait, query deadlines, leave deadline)
 *   layer callbacks ──▶ events into the input's outbox; leave intents ──▶ applied right after the input
 *   sends ──▶ sealed ──▶ out (the runtime performs them)
 *
 * Pure: no sockets, timers, clocks or Math.random. Time comes with every input, randomness from the
 * Rng (and, for AES-GCM nonces, the runtime's random bytes), and every effect goes to the outbox.
 * Every timer the node needs, its own included, is data in that outbox.
 *
 * Operations a user calls (join, leave, broadcast, set a key, query…) are inputs too: each takes
 * `nowMs` and an outbox. Reads (members, state, stats) take nothing and change nothing.
 *
 * A new protocol plugs in at one place: a StackProtocol in the stack (stack/create.ts) rides on SWIM's
 * packets, rounds and push-pull; its operations and events are added here, and both runtimes, the
 * simulator's workloads and the dashboard get it without another line of composition.
 */
import type { StreamResult } from '../core/effects.js'
import { SeededRng, type Rng } from '../core/rng.js'
import { ipToBytes, type Address } from '../core/types.js'
import { ConfigError, NodeStoppedError } from '../core/errors.js'
import type { SwimConfig } from '../swim/config.js'
import type { DropReason, MemberInfo, MemberState } from '../swim/events.js'
import { META_MAX_BYTES, Swim } from '../swim/swim.js'
import type { SwimStats } from '../swim/stats.js'
import { SERF_PING_QUERY, SerfLayer, type SerfLayerEvent } from '../serf/serf-layer.js'
import { answerKeyQuery, keyringControl } from '../serf/key-queries.js'
import type { ReceivedQuery } from '../serf/queries.js'
import { newRumorCounters } from '../gossip/rumor-types.js'
import { newStateCounters } from '../stack/protocols.js'
import type { GrapevineStack } from '../stack/create.js'
import type { CrdtReplicator } from '../replication/replicator.js'
import { markMeta } from '../stack/envelope.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { DecodeError } from '../wire/decode-error.js'
import { WireSecurity, type RandomBytes } from '../wire/security.js'
import type { Aead } from '../wire/aead.js'
import { decodeTags, encodeTags, tagProblems } from '../serf/tags.js'
import type { Tags } from '../serf/tags.js'
import { COORDINATES_SEED_MASK, NetworkCoordinates } from '../coordinates/network-coordinates.js'
import type { CoordinateStats, RttEstimate } from '../coordinates/network-coordinates.js'
import type { Coordinate } from '../coordinates/vivaldi.js'
import { SealingOutbox } from './sealing.js'
import { CRDT_QUERY, answerCrdtQuery } from './crdt-query.js'
import { SERF_BROADCAST_TIMEOUT_MS, isOverlayTimer, isOwnTimer, serfEventId } from './types.js'
import { PendingQueries, defaultQueryTimeoutMs } from './pending-queries.js'
import { OverlayMode, hyparviewRefusal } from './overlay-mode.js'
import { NodeParts, type NodeSpec } from './node-parts.js'
export type { NodeSpec } from './node-parts.js'
import type { NodeEvent, NodeOutbox, NodeOwnTimer, NodeTimer, ProtocolStats, QueryOptions, QueryResult, Traffic } from './types.js'

/** What the runtime hands in: the node's randomness. */
export interface NodeEnv {
  /** Seeds every protocol's generator (each gets its own stream). */
  readonly rng: Rng
  /** Bytes for AES-GCM nonces; the real runtime gives crypto's, the simulator the seeded generator's. Default: `rng`. */
  readonly randomBytes?: RandomBytes
  /** AES-GCM, needed when keys are configured (the real runtime gives Node's, wire/aead-node.ts). */
  readonly aead?: Aead
}

type LeavePhase = 'none' | 'handoff' | 'serf' | 'swim' | 'done'

const noProtocols = (): ProtocolStats => ({ broadcast: newRumorCounters(), hotRumors: 0, stateNodes: 0, stateVersion: 0, stack: { messages: 0, dropped: 0 }, state: newStateCounters() })

export class ComposedNode {
  readonly name: string
  readonly address: Address
  readonly serf: SerfLayer | undefined
  readonly security: WireSecurity
  readonly settings: NodeSpec
  /** Serf's network coordinates; undefined when turned off. */
  readonly coords: NetworkCoordinates | undefined
  /** HyParView + Plumtree, with `membership: 'hyparview'` (SWIM is then built only if read, and never started). */
  readonly overlay: OverlayMode | undefined
  /** Called with each datagram and stream sent or received, in plaintext, when set (the dashboard's view). */
  onTraffic: ((t: Traffic) => void) | undefined

  private readonly rng: Rng
  /** SWIM and the stack, built at first use (node-parts.ts). */
  private readonly parts: NodeParts
  /** What protocolStats() reports when membership-only (counters that stay zero), made at the first read. */
  private noProtocols: ProtocolStats | undefined
  /** The outbox of the input being handled: where layer callbacks emit. */
  private out: NodeOutbox | undefined
  /** Actions that must run after the current input (a leave intent applied to SWIM, a leave's next phase). */
  private readonly deferred: Array<(nowMs: number, out: NodeOutbox) => void> = []
  private leavePhase: LeavePhase = 'none'
  private leaveEpoch = 0
  private forceSeq = 0
  private readonly forceWaits = new Set<number>()
  private readonly queries = new PendingQueries()
  private stopped = false
  /** Events a layer raised outside any input (a read that touched state); emitted with the next input. */
  private orphans: NodeEvent[] = []
  /** The last input's sealing outbox, reused while the runtime hands in the same outbox (one per input was garbage). */
  private sealed: SealingOutbox | undefined

  constructor(spec: NodeSpec, env: NodeEnv) {
    this.settings = spec
    this.name = spec.name
    this.address = spec.address
    this.rng = env.rng
    const child = (): Rng => new SeededRng(env.rng.u32())
    const swimSeed = env.rng.u32()
    // Derived, not drawn: turning coordinates on leaves every other stream as it was.
    this.coords = spec.coordinates ? new NetworkCoordinates(spec.name, new SeededRng(swimSeed ^ COORDINATES_SEED_MASK), spec.vivaldi, spec.coordinateEcho ?? true) : undefined
    const stackSeed = env.rng.u32()
    const nonceRng = env.randomBytes === undefined ? child() : undefined
    if (spec.keyring.enabled && env.aead === undefined) {
      throw new ConfigError(['encryption.keys: keys need an AES-GCM implementation from the runtime; give NodeEnv.aead (the simulator: its `aead` option, nodeAead from grapevine/wire)'])
    }
    this.security = new WireSecurity(
      { keyring: spec.keyring, label: spec.label, verifyIncoming: spec.verifyIncoming, verifyOutgoing: spec.verifyOutgoing, aead: env.aead },
      env.randomBytes ?? ((n) => (nonceRng as Rng).bytes(n)),
    )
    const keyControl = keyringControl(spec.keyring, () => this.emit({ type: 'keyringChanged' }))
    this.serf = spec.serf
      ? new SerfLayer({
          name: spec.name,
          retransmitMult: spec.config.retransmitMult,
          clusterSize: () => this.parts.builtSwim?.estimatedClusterSize() ?? 1,
          distinctPeers: spec.config.distinctBroadcastPeers ? { count: () => this.parts.builtSwim?.livePeerCount() ?? 0, isLive: (n) => this.parts.builtSwim?.isLivePeer(n) ?? false } : undefined,
          tags: () => (this.parts.builtSwim === undefined ? {} : decodeTags(this.parts.builtSwim.localMember().meta)),
          onEvent: (e) => this.serfEvent(e),
          // Arrives inside a SWIM input; applied to SWIM right after it.
          onLeaveIntent: (node, prune) => this.defer((now, out) => this.swim.forceLeave(node, prune, now, out)),
          // Serf's key queries (`serf keys …` on an agent): answered from the keyring at once, as Serf does.
          onKeyQuery: (name, payload) => answerKeyQuery(name, payload, keyControl),
          // Serf's name-conflict votes: our record of the name, so a Serf agent that owns it keeps it.
          member: (name) => this.parts.builtSwim?.member(name),
        })
      : undefined
    this.parts = new NodeParts({ spec, swimSeed, stackSeed, serf: this.serf, coords: this.coords, packetOverheadBytes: this.security.packetOverheadBytes, emit: (e) => this.emit(e) })
    // SWIM runs from start() unless the overlay does: then built now (the stack first, its delegate).
    if (spec.membership !== 'hyparview') void this.parts.swim
    const o = spec.overlay
    this.overlay = spec.membership === 'hyparview' && o !== undefined ? new OverlayMode({ ...spec, overlay: o, rng: child(), stack: () => this.stack, builtStack: () => this.parts.builtStack, stats: this.stats }) : undefined
  }

  /** SWIM (with `membership: 'hyparview'` built at the first read, never started). */
  get swim(): Swim { return this.parts.swim }

  /** Grapevine's protocols; undefined when membership-only (with `membership: 'hyparview'` built at first use). */
  get stack(): GrapevineStack | undefined { return this.parts.stack }

  // ------------------------------------------------------------------ inputs from the network and timers

  start(nowMs: number, out: NodeOutbox): void {
    this.input(nowMs, out, (o) => {
      if (this.overlay !== undefined) return this.overlay.start(nowMs, o)
      this.swim.start(nowMs, o)
      // Serf's join intent: queued now, it goes out with the first gossip to anyone and sets our statusLTime.
      this.serf?.join()
    })
  }

  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: NodeOutbox): void {
    if (this.stopped) return
    const opened = this.security.openPacket(bytes)
    if (!opened.ok) {
      this.stats.packetsIn++
      this.stats.bytesIn += bytes.length
      return this.rejected(opened.error, from, out)
    }
    const plain = opened.value
    // The protocol counts what it decodes; the envelope is on the wire too.
    this.stats.bytesIn += bytes.length - plain.length
    this.onTraffic?.({ direction: 'in', kind: 'packet', peer: from, bytes: plain })
    this.input(nowMs, out, (o) => (this.overlay ?? this.swim).handlePacket(from, plain, nowMs, o))
  }

  /** A stream request (a whole message); returns the reply to write back, sealed, or null for none. */
  handleStreamRequest(from: Address, bytes: Uint8Array, nowMs: number, out: NodeOutbox): Uint8Array | null {
    if (this.stopped) return null
    const sec = this.security
    const opened = sec.openStream(bytes, true)
    this.stats.streamBytesIn += bytes.length - (opened.ok ? opened.value.length : 0)
    if (!opened.ok) {
      this.rejected(opened.error, from, out)
      const reply = sec.rejectedRequestReply(opened.error)
      if (reply !== null) this.stats.streamBytesOut += reply.length
      return reply
    }
    this.onTraffic?.({ direction: 'in', kind: 'stream', peer: from, bytes: opened.value })
    const reply = this.input(nowMs, out, (o) => this.swim.handleStreamRequest(from, opened.value, nowMs, o))
    if (reply === null) return null
    this.onTraffic?.({ direction: 'out', kind: 'stream', peer: from, bytes: reply })
    const sealed = sec.sealStream(reply, false)
    this.stats.streamBytesOut += sealed.length - reply.length
    return sealed
  }

  /** The outcome of a stream we opened (the reply as it came off the wire). */
  handleStreamReply(exchangeId: number, result: StreamResult, nowMs: number, out: NodeOutbox): void {
    if (this.stopped) return
    let r = result
    if (result.ok && result.bytes.length > 0) {
      const opened = this.security.openReply(result.bytes)
      this.stats.streamBytesIn += result.bytes.length - (opened.error === undefined ? opened.bytes.length : 0)
      if (opened.error !== undefined) this.rejected(opened.error, this.address, out)
      r = { ok: true, bytes: opened.bytes }
    }
    this.input(nowMs, out, (o) => this.swim.handleStreamReply(exchangeId, r, nowMs, o))
  }

  handleTimer(timer: NodeTimer, nowMs: number, out: NodeOutbox): void {
    if (this.stopped) return
    this.input(nowMs, out, (o) => (isOwnTimer(timer) ? this.ownTimer(timer, nowMs, o) : this.swim.handleTimer(timer, nowMs, o)))
  }

  /** False when `timer` would do nothing if it fired (SWIM's answered probes, re-armed rounds): runtimes drop it unfired. */
  timerIsLive(timer: NodeTimer): boolean { return !this.stopped && (isOwnTimer(timer) || this.parts.builtSwim?.timerIsLive(timer) !== false) }
  /** A drop the runtime saw before the protocol did (a send that failed, a stream cut): counted and reported. */
  dropped(reason: DropReason, from: Address | undefined, detail: string, out: NodeOutbox): void {
    if (this.stopped) return
    this.stats.drop(reason)
    out.emit({ type: 'dropped', reason, from: from ?? { ip: '0.0.0.0', port: 0 }, detail })
  }

  /** Stops for good: later inputs are ignored. Pending waits end (their completions are not reported). */
  shutdown(): void {
    if (this.stopped) return
    this.stopped = true
    this.parts.builtSwim?.shutdown()
  }

  get isStopped(): boolean { return this.stopped }

  /** leave() ran to its end (its `leaveCompleted` was reported). */
  get hasLeft(): boolean {
    return this.leavePhase === 'done'
  }

  // ------------------------------------------------------------------ operations

  /** Push-pull with each seed; a `joinCompleted` event with this id reports how many answered. `remember` false: not retried by the reconnect loop. */
  join(seeds: readonly Address[], nowMs: number, out: NodeOutbox, remember = true): number {
    this.live()
    return this.input(nowMs, out, (o) => {
      if (this.overlay !== undefined) return this.overlay.join(seeds, nowMs, o)
      const id = this.swim.join(seeds, nowMs, o, remember)
      // Serf's Join broadcasts a join intent once memberlist joined.
      this.serf?.join()
      return id
    })
  }

  /**
   * Leaves gracefully, as Serf does: first Serf's leave intent (so Serf agents record `left`, not
   * `failed`) with up to SERF_BROADCAST_TIMEOUT_MS to go out, then memberlist's own leave. A
   * `leaveCompleted` event ends it, at the latest `timeoutMs` after this call when given. Before all
   * that, the replicated data types hand this node's state to one heir (handoff.ts). A second
   * call while leaving does nothing.
   */
  leave(nowMs: number, out: NodeOutbox, timeoutMs?: number): void {
    if (this.stopped || this.leavePhase !== 'none' || this.parts.builtSwim?.isLeaving === true) return
    const epoch = ++this.leaveEpoch
    this.input(nowMs, out, (o) => {
      if (this.overlay !== undefined) return this.overlay.leave(nowMs, o)
      if (timeoutMs !== undefined) o.schedule({ kind: 'leaveDeadline', epoch }, Math.max(0, timeoutMs))
      // The replicated data types first hand this node's state to one heir (replication/handoff.ts).
      const then = (now: number, o2: NodeOutbox): void => this.leaveAfterHandoff(now, o2, epoch, timeoutMs)
      if (this.stack?.crdt.handOff(() => this.defer((now, o2) => this.leavePhase === 'handoff' && then(now, o2))) === true) this.leavePhase = 'handoff'
      else then(nowMs, o)
    })
  }

  private leaveAfterHandoff(nowMs: number, o: NodeOutbox, epoch: number, timeoutMs: number | undefined): void {
    const serf = this.serf
    // Skipped without the Serf layer or when alone (as Serf does).
    if (serf === undefined || !this.othersAlive()) return this.leaveSwim(nowMs, o)
    this.leavePhase = 'serf'
    o.schedule({ kind: 'serfLeaveWait', epoch }, Math.max(0, Math.min(SERF_BROADCAST_TIMEOUT_MS, timeoutMs ?? SERF_BROADCAST_TIMEOUT_MS)))
    serf.leave(() => this.defer((now, o2) => this.leaveSwim(now, o2)))
  }

  /**
   * Serf's force-leave of a failed member (see GrapevineNode.forceLeave). Returns the member's state
   * before, whether anything knew the name, and the sequence number of the `forceLeaveCompleted`
   * event to wait for (undefined: nothing to wait for).
   */
  forceLeave(name: string, prune: boolean, nowMs: number, out: NodeOutbox): { readonly before: MemberState | undefined; readonly known: boolean; readonly wait: number | undefined } {
    this.live()
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError([`name: expected a member name, got ${JSON.stringify(name)}`])
    const before = this.swim.member(name)?.state
    const serf = this.serf
    if (serf === undefined) {
      const was = this.input(nowMs, out, (o) => this.swim.forceLeave(name, prune, nowMs, o))
      return { before: was, known: was !== undefined, wait: undefined }
    }
    if (before === undefined && serf.statusLTime(name) === undefined) return { before, known: false, wait: undefined }
    // Alone, nobody will carry the intent (Serf does not wait then either); our own view changes at once.
    const othersAlive = this.othersAlive()
    const seq = ++this.forceSeq
    this.input(nowMs, out, (o) => {
      if (othersAlive) {
        this.forceWaits.add(seq)
        o.schedule({ kind: 'forceLeaveWait', seq }, SERF_BROADCAST_TIMEOUT_MS)
      }
      serf.forceLeave(name, prune, () => this.forceLeaveDone(seq))
    })
    return { before, known: true, wait: othersAlive ? seq : undefined }
  }

  /** Fires a Serf user event (see GrapevineNode.userEvent); returns its Lamport time. */
  userEvent(name: string, payload: Uint8Array, coalesce: boolean, nowMs: number, out: NodeOutbox): number {
    const serf = this.requireSerf('user events')
    this.live()
    return this.input(nowMs, out, () => serf.userEvent(name, payload, coalesce))
  }

  /**
   * Sends a Serf query; a `queryCompleted` event with the returned id brings what it collected at its
   * deadline. Replies also come as `serf` events (`queryReply`) as they arrive.
   */
  query(name: string, payload: Uint8Array, opts: QueryOptions, nowMs: number, out: NodeOutbox): { readonly id: number; readonly lTime: number; readonly timeoutMs: number } {
    const serf = this.requireSerf('queries')
    this.live()
    const c = this.swim.config
    const timeoutMs = opts.timeoutMs ?? defaultQueryTimeoutMs(c.gossipIntervalMs, this.swim.estimatedClusterSize())
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new ConfigError([`timeoutMs: expected a positive number of milliseconds, got ${String(opts.timeoutMs)}`])
    const id = this.rng.u32()
    const addr = ipToBytes(this.address.ip) as Uint8Array
    return this.input(nowMs, out, (o) => {
      const onSent = (l: number): void => this.queries.open(l, id, name)
      const { lTime } = serf.query({ name, payload, id, addr, port: this.address.port, timeoutMs, nowMs, requestAck: opts.ack !== false, nodes: opts.nodes, tags: opts.tags, onSent, internal: name === SERF_PING_QUERY })
      o.schedule({ kind: 'queryDeadline', lTime, id }, timeoutMs)
      return { id, lTime, timeoutMs }
    })
  }

  /** What a query has collected so far (undefined once completed or unknown). */
  queryProgress(lTime: number, id: number): QueryResult | undefined {
    return this.queries.progress(lTime, id)
  }

  /**
   * The one response to a query this node was asked (a `serf` event of type `query`). Throws
   * QueryResponseError when answered already or too large; false when the querier is no longer a live member.
   */
  respondToQuery(query: Pick<ReceivedQuery, 'lTime' | 'id'>, payload: Uint8Array, nowMs: number, out: NodeOutbox): boolean {
    const serf = this.requireSerf('queries')
    this.live()
    return this.input(nowMs, out, (o) => {
      const r = serf.respondToQuery(query, payload)
      // Our own query (Serf asks itself too): the response loops back without the network.
      if (r.to === this.name) return serf.notifyUserMessage(r.payload, this.name, nowMs), true
      return this.swim.sendUserTo(r.to, r.payload, o)
    })
  }

  /** Broadcasts to every live Grapevine node, delivered here at once (a `message` event). Returns its id. */
  broadcast(name: string, payload: Uint8Array, nowMs: number, out: NodeOutbox): string {
    const stack = this.overlay === undefined ? this.requireStack('broadcasts') : undefined
    if (typeof name !== 'string') throw new ConfigError([`name: expected a string, got ${typeof name}`])
    this.live()
    return this.input(nowMs, out, (o) => this.overlay?.broadcast(name, payload, nowMs, o) ?? stack!.broadcasts.broadcast(name, payload, nowMs).id)
  }

  /**
   * Up to k distinct peers for protocols that need a few partners, not the membership: overlay ids
   * (`ip:port`, active neighbours first) with HyParView; alive members' names with SWIM.
   */
  samplePeers(k: number): string[] {
    if (this.overlay !== undefined) return this.overlay.samplePeers(k)
    const live = this.swim.members().filter((m) => m.name !== this.name && m.state === 'alive').map((m) => m.name)
    return this.rng.sample(live, Math.max(0, Math.min(k, live.length)))
  }

  /** Sets a key of this node's cluster state; returns the change's version. */
  setKey(key: string, value: string, nowMs: number, out: NodeOutbox): number {
    const stack = this.requireStack('cluster state')
    this.live()
    return this.input(nowMs, out, () => {
      const v = stack.state.reconciler.state.set(key, value)
      stack.state.flush()
      return v
    })
  }

  /** Deletes a key of this node's cluster state (a tombstone); false when absent. */
  deleteKey(key: string, nowMs: number, out: NodeOutbox): boolean {
    const stack = this.requireStack('cluster state')
    this.live()
    return this.input(nowMs, out, () => {
      const r = stack.state.reconciler.state.delete(key, nowMs)
      stack.state.flush()
      return r
    })
  }

  /** Runs a CRDT write (node/crdt-api.ts) as an input: its delta queued for gossip, its change a `crdtChanged` event. */
  crdtWrite<T>(write: (r: CrdtReplicator) => T, nowMs: number, out: NodeOutbox): T {
    const stack = this.requireStack('replicated data types')
    this.live()
    return this.input(nowMs, out, () => {
      const r = write(stack.crdt.replicator)
      stack.crdt.flush()
      return r
    })
  }

  /** Replaces the tags (a new incarnation, gossiped). Throws ConfigError naming the bad tag. */
  setTags(tags: Tags, nowMs: number, out: NodeOutbox): void {
    const problems = tagProblems(tags)
    if (problems.length > 0) throw new ConfigError(problems)
    const meta = encodeTags(tags)
    this.setMeta(this.settings.membershipOnly ? meta : markMeta(meta), nowMs, out)
  }

  /** Replaces the raw metadata (at most 512 bytes). */
  setMeta(meta: Uint8Array, nowMs: number, out: NodeOutbox): void {
    if (!(meta instanceof Uint8Array) || meta.length > META_MAX_BYTES) {
      throw new ConfigError([`meta: expected at most ${META_MAX_BYTES} bytes, got ${meta instanceof Uint8Array ? `${meta.length} bytes` : typeof meta}`])
    }
    if (this.stopped) return
    this.input(nowMs, out, (o) => this.swim.setMeta(meta, nowMs, o))
  }

  // ------------------------------------------------------------------ reads

  members(): MemberInfo[] { return this.swim.members() }

  localMember(): MemberInfo { return this.swim.localMember() }

  member(name: string): MemberInfo | undefined { return this.swim.member(name) }

  get healthScore(): number { return this.swim.healthScore }

  get stats(): SwimStats { return this.parts.stats }

  get config(): SwimConfig {
    return this.swim.config
  }

  /** The replicated cluster state this node holds; undefined when membership-only. */
  get clusterState(): ClusterState | undefined {
    return this.stack?.state.reconciler.state
  }

  /** The replicated data types this node holds (reads; write through crdtWrite); undefined when membership-only. */
  get crdt(): CrdtReplicator | undefined { return this.stack?.crdt.replicator }

  /** The phi accrual suspicion level of a member (undefined: none heard yet, or membership-only). */
  phi(name: string, nowMs: number): number | undefined {
    return this.stack?.phi.phi(name, nowMs)
  }

  /** Our network coordinate (Serf's Vivaldi); undefined when coordinates are off. */
  coordinate(): Coordinate | undefined {
    return this.coords?.coordinate()
  }

  /**
   * Estimated round trip between members `a` and `b` (default: this node) in ms, from their network
   * coordinates; undefined when coordinates are off or either coordinate is unknown (not probed yet).
   */
  rtt(a: string, b: string = this.name): number | undefined {
    return this.coords?.rtt(a, b)
  }

  /** Every coordinate this node knows (its own first), with counters; undefined when off. */
  coordinates(): { readonly known: ReturnType<NetworkCoordinates['all']>; readonly stats: CoordinateStats } | undefined {
    return this.coords === undefined ? undefined : { known: this.coords.all(), stats: this.coords.stats() }
  }

  /**
   * Live members other than us, nearest first by estimated round trip (ones without a coordinate yet
   * last, by name); at most k of them. Empty when coordinates are off.
   */
  nearest(k: number = Number.POSITIVE_INFINITY): RttEstimate[] {
    if (this.coords === undefined) return []
    const live = this.swim.members().filter((m) => m.name !== this.name && (m.state === 'alive' || m.state === 'suspect'))
    return this.coords.sortByDistance(live.map((m) => m.name)).slice(0, Math.max(0, k))
  }

  /** Counters of the broadcast and cluster-state protocols (live objects; metrics read them); zeros when membership-only. */
  protocolStats(): ProtocolStats {
    const g = this.stack
    if (g === undefined) return (this.noProtocols ??= noProtocols())
    const st = g.state.reconciler.state
    return {
      broadcast: g.broadcasts.engine.counters,
      hotRumors: g.broadcasts.engine.hotCount,
      state: g.state.counters,
      stateNodes: st.nodeNames().length,
      stateVersion: st.digestOf(this.name)?.maxVersion ?? 0,
      stack: g.stack.counts,
    }
  }

  // ------------------------------------------------------------------ internals

  /** Runs one input: sends sealed, layer events into `out`, deferred actions right after. */
  private input<T>(nowMs: number, out: NodeOutbox, fn: (sealed: NodeOutbox) => T): T {
    const sealed = this.sealed !== undefined && this.sealed.wraps(out, this.onTraffic) ? this.sealed : (this.sealed = new SealingOutbox(out, this.security, this.stats, this.onTraffic, (e) => this.admit(e)))
    const prev = this.out
    this.out = sealed
    if (this.orphans.length > 0) for (const e of this.orphans.splice(0)) sealed.emit(e)
    this.parts.setTime(nowMs)
    try {
      return fn(sealed)
    } finally {
      for (let guard = 0; this.deferred.length > 0 && guard < 10_000; guard++) this.deferred.shift()!(nowMs, sealed)
      // Whatever the input queued above SWIM (an event, a write, a rumor) wakes idle gossip rounds (the overlay's CRDT rounds).
      this.overlay === undefined ? this.parts.builtSwim?.wakeGossip(nowMs, sealed) : this.overlay.wake(nowMs, sealed)
      this.out = prev
    }
  }

  private defer(action: (nowMs: number, out: NodeOutbox) => void): void { this.deferred.push(action) }

  /** A layer's event: into the current input's outbox (or, outside any input, the next one's). */
  private emit(e: NodeEvent): void {
    if (this.out !== undefined) this.out.emit(e)
    else this.orphans.push(e)
  }

  private ownTimer(t: NodeOwnTimer, nowMs: number, out: NodeOutbox): void {
    if (isOverlayTimer(t)) return this.overlay?.handleTimer(t, nowMs, out)
    switch (t.kind) {
      case 'serfLeaveWait':
        if (t.epoch === this.leaveEpoch && this.leavePhase === 'serf') this.leaveSwim(nowMs, out)
        return
      case 'leaveDeadline':
        if (t.epoch === this.leaveEpoch && this.leavePhase !== 'done') out.emit({ type: 'leaveCompleted', timedOut: true })
        return
      case 'forceLeaveWait':
        return this.forceLeaveDone(t.seq)
      case 'queryDeadline': {
        const result = this.queries.complete(t.lTime, t.id)
        if (result === undefined) return
        this.serf?.closeQuery(t.lTime, t.id)
        out.emit({ type: 'queryCompleted', id: t.id, result })
      }
    }
  }

  /** memberlist's leave: SWIM broadcasts our dead and reports leaveCompleted (passed on once). */
  private leaveSwim(nowMs: number, out: NodeOutbox): void {
    if (this.leavePhase === 'swim' || this.leavePhase === 'done') return
    this.leavePhase = 'swim'
    this.swim.leave(nowMs, out)
  }

  /** Every event passes here: a leave is reported completed once (SWIM's, or the caller's deadline). */
  private admit(e: NodeEvent): boolean {
    if (e.type !== 'leaveCompleted') return true
    if (this.leavePhase === 'done') return false
    this.leavePhase = 'done'
    return true
  }

  private forceLeaveDone(seq: number): void {
    if (!this.forceWaits.delete(seq)) return
    this.emit({ type: 'forceLeaveCompleted', seq })
  }

  private serfEvent(e: SerfLayerEvent): void {
    // Consistency queries of the replicated data types are the node's to answer (crdt-query.ts).
    if (e.type === 'query' && e.query.name === CRDT_QUERY && this.stack !== undefined) return this.defer((now, o) => void this.respondToQuery(e.query, answerCrdtQuery(this.stack!.crdt, e.query.payload), now, o))
    this.emit({ type: 'serf', event: e })
    if (e.type === 'userEvent') {
      this.emit({ type: 'message', message: { id: serfEventId(e.lTime, e.name), name: e.name, payload: e.payload, origin: e.local ? this.name : null, hops: 0, via: 'serf', lTime: e.lTime, coalesce: e.coalesce } })
    } else if (e.type === 'queryReply') {
      this.queries.reply(e.lTime, e.id, e.from, e.ack, e.payload)
    }
  }

  private rejected(err: DecodeError, from: Address, out: NodeOutbox): void {
    this.stats.decodeError(err.reason)
    this.stats.drop(err.reason)
    out.emit({ type: 'dropped', reason: err.reason, from, detail: err.detail })
  }

  private othersAlive(): boolean {
    return this.swim.members().some((m) => m.name !== this.name && m.state === 'alive')
  }

  private live(): void {
    if (this.stopped) throw new NodeStoppedError()
  }

  private requireSerf(what: string): SerfLayer {
    if (this.serf === undefined) throw this.overlay !== undefined ? hyparviewRefusal(what) : new ConfigError([`serf: ${what} need the Serf layer; start the node with serf: true (the default) and without membershipOnly`])
    return this.serf
  }

  private requireStack(what: string): GrapevineStack {
    if (this.stack === undefined) throw new ConfigError([`membershipOnly: ${what} need Grapevine's stack; start the node without membershipOnly`])
    return this.stack
  }
}
