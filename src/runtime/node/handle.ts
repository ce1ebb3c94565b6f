/**
 * The node handle `startNode` resolves to: user calls become inputs of the composed node (through the
 * driver), and the node's events become the listeners' events.
 *
 *   user call ──▶ driver.run(node.op(…, nowMs, out)) ──▶ effects
 *   NodeEvent ──▶ route ──▶ 'event' (SWIM's), 'member', 'message', 'state', 'serf', 'query', 'keyring'
 *                       └─▶ pending promises: joinCompleted, leaveCompleted, queryCompleted, forceLeaveCompleted
 *
 * Every wait (Serf's leave and force-leave waits, query deadlines, the leave deadline) is a timer of
 * the node; the handle only holds the promises those timers' events settle. shutdown() settles them all.
 */
import { EventEmitter } from 'node:events'
import type { Address } from '../../core/types.js'
import { addressKey } from '../../core/types.js'
import { ConfigError, hyparviewRefusal, MEMBER_EVENT_TYPES, NodeStoppedError, QueryResponseError, SERF_PING_QUERY, decodeTags, serfEventId } from '../../node/index.js'
import type { ComposedNode, Coordinate, MemberEventType, RttEstimate, MemberInfo, MemberState, NodeEvent, OverlayStats, SwimStats, Tags } from '../../node/index.js'
import { formatKey } from '../../wire/keyring.js'
import type { WireSecurity } from '../../wire/security.js'
import { toKey } from '../../node/index.js'
import { JoinError, NameConflictError, UnknownMemberError } from './api.js'
import type { BroadcastOptions, EncryptionStatus, GrapevineNode, Member, NodeEventName, NodeStateApi, ProtocolStats, QueryOptions, QueryResult, SerfQueryEvent } from './api.js'
import type { Driver } from './driver.js'
import { Rediscovery } from './discovery/rediscovery.js'
import type { DiscoveryEvent } from './discovery/rediscovery.js'
import type { SeedResolver } from './discovery/seed-resolver.js'
import { needsResolving } from './discovery/seed-spec.js'
import { summarizeReachability } from './reachability.js'
import type { ReachabilityReport } from './reachability.js'
import { NodeCrdt, type CrdtApi } from './crdt.js'
import { NodeAggregate, type AggregateApi } from './aggregate.js'
import type { CrdtStore } from './crdt-store.js'
import type { TcpTransport } from './tcp.js'
import type { UdpTransport } from './udp.js'

/** A payload as bytes: strings as UTF-8. Throws ConfigError for anything else. */
export function payloadBytes(payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload
  if (!(bytes instanceof Uint8Array)) throw new ConfigError([`payload: expected a string or a Uint8Array, got ${typeof payload}`])
  return bytes
}

function withTags(m: MemberInfo): Member {
  return { ...m, tags: decodeTags(m.meta) }
}

export class NodeHandle implements GrapevineNode {
  readonly name: string
  readonly address: Address
  readonly state: NodeStateApi
  readonly crdt: CrdtApi
  readonly aggregate: AggregateApi
  private readonly bus = new EventEmitter()
  private readonly node: ComposedNode
  private readonly joins = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>()
  private readonly leaves: Array<() => void> = []
  private readonly queries = new Map<number, { lTime: number; done: (r: QueryResult) => void; onResponse?: QueryOptions['onResponse'] }>()
  private readonly forceLeaves = new Map<number, () => void>()
  private closing: Promise<void> | undefined
  private readonly rediscovery: Rediscovery

  constructor(
    private readonly driver: Driver,
    private readonly udp: UdpTransport,
    private readonly tcp: TcpTransport,
    readonly port: number,
    /** Resolves seed texts to addresses (DNS, SRV, Kubernetes), anew on every call. */
    private readonly seeds: SeedResolver,
    rediscoverIntervalMs: number,
    private readonly store?: CrdtStore,
  ) {
    this.node = driver.node
    this.name = this.node.name
    this.address = this.node.address
    driver.events.on('event', (e: NodeEvent) => this.route(e))
    this.state = this.stateApi()
    this.rediscovery = new Rediscovery(
      {
        address: this.address,
        resolveAll: (texts) => this.seeds.resolveAll(texts),
        liveAddresses: () => this.node.members().filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.address),
        joinOnce: (addresses) => this.joinAddresses(addresses, false),
        emit: (e: DiscoveryEvent) => this.bus.emit('discovery', e),
      },
      rediscoverIntervalMs,
    )
    this.crdt = new NodeCrdt(driver, this.node, (name, payload, opts) => this.query(name, payload, opts), store)
    this.aggregate = new NodeAggregate(driver, this.node)
  }

  // ------------------------------------------------------------------ events

  private route(e: NodeEvent): void {
    switch (e.type) {
      case 'message':
        this.bus.emit('message', e.message)
        return
      case 'stateChanged':
        this.bus.emit('state', e.event)
        return
      case 'keyringChanged':
        this.bus.emit('keyring')
        return
      case 'serf':
        return this.serfEvent(e.event)
      case 'queryCompleted': {
        const q = this.queries.get(e.id)
        if (q !== undefined && q.lTime === e.result.lTime) q.done(e.result)
        return
      }
      case 'forceLeaveCompleted':
        this.forceLeaves.get(e.seq)?.()
        return
      case 'joinCompleted': {
        const pending = this.joins.get(e.joinId)
        if (pending !== undefined) {
          this.joins.delete(e.joinId)
          if (e.conflict !== undefined) pending.reject(new NameConflictError(e.errors, e.conflict.name, e.conflict.kept))
          else if (e.contacted > 0) pending.resolve(e.contacted)
          else pending.reject(new JoinError(e.errors))
        }
        break
      }
      case 'leaveCompleted':
        for (const done of this.leaves.splice(0)) done()
        break
      case 'neighborUp':
      case 'neighborDown':
      case 'isolated':
        this.bus.emit('neighbor', e)
        break
    }
    this.bus.emit('event', e)
    if (MEMBER_EVENT_TYPES.has(e.type) && 'member' in e) this.bus.emit('member', { type: e.type as MemberEventType, member: withTags(e.member) })
  }

  private serfEvent(e: Extract<NodeEvent, { type: 'serf' }>['event']): void {
    this.bus.emit('serf', e)
    if (e.type === 'query') {
      const q = e.query
      const event: SerfQueryEvent = {
        ...q,
        respond: (payload) => {
          const bytes = payloadBytes(payload)
          if (this.driver.isStopped) throw new NodeStoppedError()
          return this.driver.run((now, out) => this.node.respondToQuery(q, bytes, now, out))
        },
      }
      this.bus.emit('query', event)
    } else if (e.type === 'queryReply' && !e.ack) {
      for (const [id, q] of this.queries) if (id === e.id && q.lTime === e.lTime) q.onResponse?.(e.from, e.payload)
    }
  }

  // ------------------------------------------------------------------ operations

  broadcast(name: string, payload: Uint8Array | string, opts: BroadcastOptions = {}): string {
    if (opts.via === 'serf') return serfEventId(this.userEvent(name, payload, { coalesce: opts.coalesce }), name)
    if (opts.via !== undefined && opts.via !== 'grapevine') throw new ConfigError([`via: expected 'grapevine' or 'serf', got ${JSON.stringify(opts.via)}`])
    const bytes = payloadBytes(payload)
    return this.driver.run((now, out) => this.node.broadcast(name, bytes, now, out))
  }

  async join(addresses: readonly string[]): Promise<number> {
    if (!Array.isArray(addresses) || addresses.length === 0) {
      throw new ConfigError([`join: expected a non-empty array of 'HOST:PORT' strings like ['10.0.0.4:7946'], got ${JSON.stringify(addresses)}`])
    }
    const problems: string[] = []
    const lookups: string[] = []
    for (const text of addresses) {
      try {
        if (typeof text !== 'string') throw new Error(`${JSON.stringify(text)}: expected a string`)
        if (needsResolving(this.seeds.parse(text))) lookups.push(text)
      } catch (e) {
        problems.push(`join: ${(e as Error).message}`)
      }
    }
    if (problems.length > 0) throw new ConfigError(problems)
    if (this.driver.isStopped) throw new JoinError(['the node is shut down'])
    // Names are looked up again every rediscovery round from now on (and on every join call).
    this.rediscovery.track(lookups)
    const { addresses: found, errors } = await this.seeds.resolveAll(addresses)
    const own = found.filter((s) => addressKey(s) !== addressKey(this.address))
    if (own.length === 0) throw new JoinError([...errors, ...(found.length > 0 ? ['the only seeds given are this node itself'] : [])])
    try {
      return await this.joinAddresses(own, true)
    } catch (e) {
      if (e instanceof JoinError && errors.length > 0) throw e instanceof NameConflictError ? e : new JoinError([...errors, ...e.errors])
      throw e
    }
  }

  private joinAddresses(addresses: readonly Address[], remember: boolean): Promise<number> {
    if (this.driver.isStopped) return Promise.reject(new JoinError(['the node is shut down']))
    return new Promise<number>((resolve, reject) => {
      this.driver.run((now, out) => {
        const id = this.node.join(addresses, now, out, remember)
        this.joins.set(id, {
          resolve,
          reject: (e) => {
            if (e instanceof NameConflictError) this.rediscovery.pause()
            reject(e)
          },
        })
      })
    })
  }

  /** One rediscovery round now (the rounds also run on their timer); undefined when one is running or the node stopped. */
  rediscover(): Promise<DiscoveryEvent | undefined> {
    return this.rediscovery.round()
  }

  leave(timeoutMs?: number): Promise<void> {
    this.rediscovery.stop()
    if (this.driver.isStopped || this.node.hasLeft) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.leaves.push(resolve)
      // A second leave() while the first is in flight: the node does nothing new, the first completion resolves both.
      this.driver.run((now, out) => this.node.leave(now, out, timeoutMs))
    })
  }

  shutdown(): Promise<void> {
    if (this.closing === undefined) {
      this.rediscovery.stop()
      this.node.shutdown()
      this.driver.stop()
      for (const done of this.leaves.splice(0)) done()
      for (const [id, q] of [...this.queries]) {
        const r = this.node.queryProgress(q.lTime, id)
        q.done(r ?? { name: '', lTime: q.lTime, acks: [], responses: [] })
      }
      for (const done of [...this.forceLeaves.values()]) done()
      for (const [id, p] of this.joins) {
        this.joins.delete(id)
        p.reject(new JoinError(['the node was shut down']))
      }
      this.closing = Promise.all([this.udp.close(), this.tcp.close(), this.store?.close()]).then(() => undefined)
    }
    return this.closing
  }

  members(): Member[] {
    return this.node.members().map(withTags)
  }

  localMember(): Member {
    return withTags(this.node.localMember())
  }

  async forceLeave(name: string, opts: { prune?: boolean } = {}): Promise<MemberState> {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError([`name: expected a member name, got ${JSON.stringify(name)}`])
    if (this.node.overlay !== undefined) throw hyparviewRefusal('force-leave and member states')
    const known = this.node.member(name)?.state
    if (known === undefined) throw new UnknownMemberError(name)
    if (this.driver.isStopped) return known
    const r = this.driver.run((now, out) => this.node.forceLeave(name, opts.prune === true, now, out))
    if (r.wait !== undefined) {
      const seq = r.wait
      await new Promise<void>((resolve) => {
        this.forceLeaves.set(seq, () => {
          this.forceLeaves.delete(seq)
          resolve()
        })
      })
    }
    return r.before ?? known
  }

  userEvent(name: string, payload: Uint8Array | string = new Uint8Array(0), opts: { coalesce?: boolean } = {}): number {
    const bytes = payloadBytes(payload)
    return this.driver.run((now, out) => this.node.userEvent(name, bytes, opts.coalesce === true, now, out))
  }

  query(name: string, payload: Uint8Array | string = new Uint8Array(0), opts: QueryOptions = {}): Promise<QueryResult> {
    if (name === SERF_PING_QUERY) throw new QueryResponseError(`query name: expected a non-empty name not starting with _serf_ (Serf's own queries), got ${JSON.stringify(name)}; use reachability()`)
    const bytes = payloadBytes(payload)
    // Bad names, sizes and options throw here, before anything is sent.
    const { id, lTime } = this.driver.run((now, out) => this.node.query(name, bytes, opts, now, out))
    return new Promise((resolve) => {
      this.queries.set(id, {
        lTime,
        onResponse: opts.onResponse,
        done: (r) => {
          this.queries.delete(id)
          resolve(r)
        },
      })
    })
  }

  async reachability(opts: { timeoutMs?: number } = {}): Promise<ReachabilityReport> {
    const members = this.members()
    const acks: Array<{ id: number; name: string; atMs: number }> = []
    const started = performance.now()
    const onSerf = (e: { type: string; id?: number; from?: string; ack?: boolean }): void => {
      if (e.type === 'queryReply' && e.ack === true) acks.push({ id: e.id!, name: e.from!, atMs: performance.now() - started })
    }
    this.bus.on('serf', onSerf)
    try {
      if (this.driver.isStopped) throw new NodeStoppedError()
      // The node's own ack is emitted while the query is sent, before its id is known here: filter after.
      const { id, lTime, timeoutMs } = this.driver.run((now, out) => this.node.query(SERF_PING_QUERY, new Uint8Array(0), { timeoutMs: opts.timeoutMs }, now, out))
      await new Promise<void>((resolve) => this.queries.set(id, { lTime, done: () => (this.queries.delete(id), resolve()) }))
      return summarizeReachability(members, acks.filter((a) => a.id === id).map(({ name, atMs }) => ({ name, atMs })), timeoutMs)
    } finally {
      this.bus.off('serf', onSerf)
    }
  }

  setTags(tags: Tags): void {
    // Tags ride on SWIM's member records: with membership 'hyparview' nobody would ever see them.
    if (this.node.overlay !== undefined) throw hyparviewRefusal('tags (they ride on SWIM\'s member records)')
    this.driver.run((now, out) => this.node.setTags(tags, now, out))
  }

  setMeta(meta: Uint8Array): void {
    if (this.node.overlay !== undefined) throw hyparviewRefusal('tags (they ride on SWIM\'s member records)')
    this.driver.run((now, out) => this.node.setMeta(meta, now, out))
  }

  // ------------------------------------------------------------------ reads

  phi(name: string): number | undefined {
    return this.node.phi(name, this.driver.now())
  }

  coordinate(): Coordinate | undefined {
    return this.node.coordinate()
  }

  rtt(a: string, b?: string): number | undefined {
    return this.node.rtt(a, b)
  }

  nearest(k?: number): RttEstimate[] {
    return this.node.nearest(k)
  }

  coordinates(): ReturnType<GrapevineNode['coordinates']> {
    return this.node.coordinates()
  }

  protocolStats(): ProtocolStats {
    return this.node.protocolStats()
  }

  stats(): SwimStats {
    return this.node.stats
  }

  overlay(): OverlayStats | undefined {
    return this.node.overlay?.stats()
  }

  samplePeers(k: number): string[] {
    return this.node.samplePeers(k)
  }

  private stateApi(): NodeStateApi {
    const st = () => {
      const s = this.node.clusterState
      if (s === undefined) throw new ConfigError(['membershipOnly: cluster state needs Grapevine\'s stack; start the node without membershipOnly'])
      return s
    }
    return {
      set: (key, value) => this.driver.run((now, out) => this.node.setKey(key, value, now, out)),
      delete: (key) => this.driver.run((now, out) => this.node.deleteKey(key, now, out)),
      get: (node, key) => st().get(node, key),
      entries: (node) => st().entries(node ?? this.name),
      nodes: () => st().nodeNames(),
      watch: (prefix, listener) => {
        const on = (e: Parameters<typeof listener>[0]): void => {
          if (e.type === 'nodeRestarted' || e.type === 'nodeForgotten' || e.key.startsWith(prefix)) listener(e)
        }
        this.bus.on('state', on)
        return () => void this.bus.off('state', on)
      },
    }
  }

  // ------------------------------------------------------------------ security

  private get security(): WireSecurity {
    return this.node.security
  }

  encryption(): EncryptionStatus {
    const s = this.security
    return { ...s.keyring.info(), encrypting: s.encrypting, verifyIncoming: s.verifyIncoming, verifyOutgoing: s.verifyOutgoing, label: s.label }
  }

  installKey(key: string | Uint8Array): void {
    this.security.keyring.install(toKey(key))
  }

  useKey(key: string | Uint8Array): void {
    this.security.keyring.use(toKey(key))
  }

  removeKey(key: string | Uint8Array): void {
    this.security.keyring.remove(toKey(key))
  }

  setEncryptionVerify(opts: { incoming?: boolean; outgoing?: boolean }): void {
    const s = this.security
    if (opts.incoming !== undefined) s.verifyIncoming = opts.incoming
    if (opts.outgoing !== undefined) s.verifyOutgoing = opts.outgoing
  }

  exportKeys(): string[] {
    return this.security.keyring.keys.map(formatKey)
  }

  // ------------------------------------------------------------------ listeners

  on(event: NodeEventName, listener: (e: never) => void): this {
    this.bus.on(event, listener as (...args: unknown[]) => void)
    if (event === 'traffic') this.watchTraffic()
    return this
  }

  off(event: NodeEventName, listener: (...args: never[]) => void): this {
    this.bus.off(event, listener as (...args: unknown[]) => void)
    if (event === 'traffic') this.watchTraffic()
    return this
  }

  /** The node reports traffic only while someone listens, so an unobserved node pays nothing for it. */
  private watchTraffic(): void {
    this.node.onTraffic = this.bus.listenerCount('traffic') > 0 ? (t) => this.bus.emit('traffic', t) : undefined
  }
}
