/**
 * Datacenters in the simulator: the pool controller a real datacenter node runs (src/pools/),
 * driven by simulated nodes. A server is two simulated nodes, its LAN node (`node-004`) and its WAN
 * node (`node-004.dc1`, with its own virtual address: its WAN interface), which crash and restart
 * together; a client is one LAN node.
 *
 *   spawn: every datacenter's LAN nodes (joining their datacenter's first node), then the servers'
 *          WAN nodes (the first server of each datacenter joins the first datacenter's, as --join-wan;
 *          the others arrive by flood join)
 *   observer: LAN member events ─▶ controller.lanMemberChanged     WAN member events ─▶ wanChanged
 *             serf query events ─▶ controller.handleQuery (respond through the node)
 *             LAN user events   ─▶ controller.lanUserEvent (a retried relay fires once)
 *             queryCompleted    ─▶ the relay waiting for it
 *   every floodIntervalMs, each running server's controller floods
 *
 * The controller's calls become operations on the simulated nodes (sim.invoke), scheduled at the
 * current virtual time rather than run inside another node's event, so every reaction is an item of
 * the one queue, in a defined order.
 */
import type { Address } from '../../core/types.js'
import { ComposedNode, MEMBER_EVENT_TYPES, decodeTags, resolveConfig } from '../../node/index.js'
import type { NodeEvent, QueryResult, SwimConfig } from '../../node/index.js'
import { PoolController, lanTags, wanName, wanTags } from '../../pools/index.js'
import type { PoolAccess, PoolEvent, PoolMember, RelayOutcome } from '../../pools/index.js'
import type { SimNode } from './node.js'
import type { SimObserver, Simulation } from './simulation.js'

export interface DatacenterSpec {
  readonly name: string
  /** Nodes in the datacenter, servers included. */
  readonly nodes: number
  /** The first `servers` nodes of the datacenter are its servers. */
  readonly servers: number
}

export interface DatacentersOptions {
  /** How often servers flood-join (default 60 s, as the agent). */
  readonly floodIntervalMs?: number
  /** The WAN pool's SWIM settings over the `wan` profile. */
  readonly wanConfig?: Partial<SwimConfig>
  /** Added to a relay's deadline per hop ahead (default the controller's 4 s). */
  readonly relayHopMs?: number
  /** Servers a relay hop tries before it gives up (default the controller's 3). */
  readonly relayAttemptsMax?: number
  /** Spread the LAN joins over this long (default 0). */
  readonly joinSpreadMs?: number
  readonly onPoolEvent?: (dc: string, node: SimNode, e: PoolEvent, atMs: number) => void
}

/** One datacenter as spawned. */
export interface SimDatacenter {
  readonly name: string
  /** Every LAN node, servers first. */
  readonly lan: readonly SimNode[]
  /** The servers' WAN nodes, in server order. */
  readonly wan: readonly SimNode[]
}

const asNode = (n: SimNode): ComposedNode => n.protocol as ComposedNode

/** A simulated node as one pool of the controller. */
class SimPool implements PoolAccess {
  constructor(
    private readonly sim: Simulation,
    readonly node: SimNode,
    private readonly pending: Map<string, PendingRelayQuery>,
  ) {}

  get name(): string {
    return this.node.name
  }

  members(): PoolMember[] {
    if (this.node.status !== 'running' && this.node.status !== 'paused') return []
    return asNode(this.node).members().map((m) => ({ name: m.name, address: m.address, state: m.state, tags: decodeTags(m.meta) }))
  }

  join(addresses: readonly Address[]): void {
    const gen = this.node.generation
    this.sim.at(this.sim.nowMs, () => {
      if (this.node.status === 'running' && this.node.generation === gen) this.sim.invoke(this.node, (p, now, out) => p.join([...addresses], now, out))
    })
  }

  userEvent(name: string, payload: Uint8Array, coalesce: boolean): number {
    return this.sim.invoke(this.node, (p, now, out) => (p as ComposedNode).userEvent(name, payload, coalesce, now, out))
  }

  query(name: string, payload: Uint8Array, opts: { nodes?: readonly string[]; timeoutMs?: number; onResponse?: (from: string, payload: Uint8Array) => void }, done: (r: QueryResult) => void): void {
    const { id } = this.sim.invoke(this.node, (p, now, out) => (p as ComposedNode).query(name, payload, { nodes: opts.nodes, timeoutMs: opts.timeoutMs }, now, out))
    this.pending.set(`${this.node.index}:${this.node.generation}:${id}`, { done, onResponse: opts.onResponse })
  }

  rtt(name: string): number | undefined {
    return this.node.status === 'running' ? asNode(this.node).rtt(name) : undefined
  }
}

/** A query a controller sent through a simulated node, until its deadline. */
interface PendingRelayQuery {
  readonly done: (r: QueryResult) => void
  readonly onResponse?: (from: string, payload: Uint8Array) => void
}

interface Seat {
  readonly dc: string
  readonly controller: PoolController
  readonly pool: 'lan' | 'wan'
  /** The LAN node of this process (the one relays start from). */
  readonly lanNode: SimNode
}

/** The datacenters of a simulation and their controllers. */
export class SimDatacenters implements SimObserver {
  readonly datacenters: readonly SimDatacenter[]
  /** Pool events in order: flood joins, WAN server reports, relays. */
  readonly poolEvents: Array<{ readonly atMs: number; readonly dc: string; readonly node: string; readonly event: PoolEvent }> = []
  private readonly seats = new Map<number, Seat>()
  private readonly controllers = new Map<number, PoolController>()
  private readonly pending = new Map<string, PendingRelayQuery>()

  constructor(
    private readonly sim: Simulation,
    specs: readonly DatacenterSpec[],
    private readonly opts: DatacentersOptions = {},
  ) {
    sim.observe(this)
    const lanCount = specs.reduce((n, d) => n + d.nodes, 0)
    let nextLan = sim.nodes.length
    let nextWan = nextLan + lanCount
    const planned = specs.map((d) => {
      const lanStart = nextLan
      const wanStart = nextWan
      nextLan += d.nodes
      nextWan += d.servers
      return { d, lanStart, wanStart }
    })
    const lanByDc: SimNode[][] = []
    for (const { d, lanStart, wanStart } of planned) {
      const nodes: SimNode[] = []
      for (let i = 0; i < d.nodes; i++) {
        const wanAddress = i < d.servers ? sim.addressFor(wanStart + i) : undefined
        const join = i === 0 ? false : [sim.addressFor(lanStart)]
        nodes.push(sim.spawn(1, { join, node: { tags: lanTags(d.name, wanAddress) }, joinSpreadMs: opts.joinSpreadMs })[0])
      }
      lanByDc.push(nodes)
    }
    const wanConfig = resolveConfig(opts.wanConfig ?? {}, 'wan')
    const firstWan = planned[0] === undefined ? undefined : sim.addressFor(planned[0].wanStart)
    const out: SimDatacenter[] = []
    planned.forEach(({ d }, k) => {
      const wan: SimNode[] = []
      for (let i = 0; i < d.servers; i++) {
        const lanNode = lanByDc[k][i]
        const join = k > 0 && i === 0 && firstWan !== undefined ? [firstWan] : false
        wan.push(sim.spawn(1, { name: wanName(lanNode.name, d.name), config: wanConfig, node: { tags: wanTags(d.name) }, join })[0])
      }
      out.push({ name: d.name, lan: lanByDc[k], wan })
    })
    this.datacenters = out
    for (const dc of out) this.seat(dc)
    const floodMs = opts.floodIntervalMs ?? 60_000
    const tick = (): void => {
      for (const dc of this.datacenters) for (const s of dc.lan.slice(0, dc.wan.length)) if (s.status === 'running') this.controllers.get(s.index)?.flood()
      sim.at(sim.nowMs + floodMs, tick)
    }
    sim.at(sim.nowMs + floodMs, tick)
  }

  private seat(dc: SimDatacenter): void {
    dc.lan.forEach((lanNode, i) => {
      const wanNode = dc.wan[i]
      const lan = new SimPool(this.sim, lanNode, this.pending)
      const wan = wanNode === undefined ? undefined : new SimPool(this.sim, wanNode, this.pending)
      const controller = new PoolController({
        datacenter: dc.name, lan, wan, hopMs: this.opts.relayHopMs, relayAttemptsMax: this.opts.relayAttemptsMax,
        onEvent: (e) => {
          this.poolEvents.push({ atMs: this.sim.nowMs, dc: dc.name, node: lanNode.name, event: e })
          this.opts.onPoolEvent?.(dc.name, lanNode, e, this.sim.nowMs)
        },
      })
      this.controllers.set(lanNode.index, controller)
      this.seats.set(lanNode.index, { dc: dc.name, controller, pool: 'lan', lanNode })
      if (wanNode !== undefined) this.seats.set(wanNode.index, { dc: dc.name, controller, pool: 'wan', lanNode })
    })
  }

  /** The controller of a LAN node. */
  controller(lanNode: SimNode): PoolController | undefined {
    return this.controllers.get(lanNode.index)
  }

  /** The WAN node of a server's LAN node (undefined for a client). */
  wanNodeOf(lanNode: SimNode): SimNode | undefined {
    for (const dc of this.datacenters) {
      const i = dc.lan.indexOf(lanNode)
      if (i >= 0) return dc.wan[i]
    }
    return undefined
  }

  /** Every simulated node of a datacenter: its LAN nodes and its servers' WAN nodes. */
  nodesOf(dc: string): SimNode[] {
    const d = this.datacenters.find((x) => x.name === dc)
    return d === undefined ? [] : [...d.lan, ...d.wan]
  }

  /** Every WAN node. */
  wanNodes(): SimNode[] {
    return this.datacenters.flatMap((d) => [...d.wan])
  }

  /** Fires a user event or runs a query in `datacenter` from `from` (a LAN node), as the agent's relay. */
  relay(from: SimNode, req: { kind: 'event' | 'query'; datacenter: string; name: string; payload: Uint8Array; timeoutMs?: number }, done: (r: RelayOutcome) => void): void {
    const c = this.controllers.get(from.index)
    if (c === undefined) throw new RangeError(`${from.name} is not a node of a datacenter`)
    c.relay(req, done)
  }

  /** Crashes a server or client process: its LAN node and, for a server, its WAN node. */
  crash(lanNode: SimNode): void {
    this.sim.crash(lanNode)
    const w = this.wanNodeOf(lanNode)
    if (w !== undefined) this.sim.crash(w)
  }

  onEvent(node: SimNode, event: NodeEvent): void {
    const seat = this.seats.get(node.index)
    if (seat === undefined) return
    if (MEMBER_EVENT_TYPES.has(event.type) && 'member' in event) {
      const m = event.member
      const member: PoolMember = { name: m.name, address: m.address, state: m.state, tags: decodeTags(m.meta) }
      this.later(node, () => (seat.pool === 'lan' ? seat.controller.lanMemberChanged(member) : seat.controller.wanChanged()))
      return
    }
    if (event.type === 'serf' && event.event.type === 'userEvent' && seat.pool === 'lan') {
      seat.controller.lanUserEvent(event.event.name, event.event.payload, event.event.lTime, this.sim.nowMs)
      return
    }
    if (event.type === 'serf' && event.event.type === 'query') {
      const q = event.event.query
      this.later(node, () =>
        seat.controller.handleQuery(seat.pool, {
          name: q.name,
          payload: q.payload,
          respond: (payload) => node.status === 'running' && this.sim.invoke(node, (p, now, out) => (p as ComposedNode).respondToQuery(q, payload, now, out)),
        }, this.sim.nowMs),
      )
      return
    }
    if (event.type === 'serf' && event.event.type === 'queryReply' && !event.event.ack) {
      const reply = event.event
      const q = this.pending.get(`${node.index}:${node.generation}:${reply.id}`)
      if (q?.onResponse !== undefined) this.later(node, () => q.onResponse?.(reply.from, reply.payload), true)
      return
    }
    if (event.type === 'queryCompleted') {
      const key = `${node.index}:${node.generation}:${event.id}`
      const q = this.pending.get(key)
      if (q === undefined) return
      this.pending.delete(key)
      this.later(node, () => q.done(event.result), true)
    }
  }

  /** Runs a reaction at the current virtual time, as its own queue item, if the node's process is still the same. */
  private later(node: SimNode, f: () => void, always = false): void {
    const gen = node.generation
    this.sim.at(this.sim.nowMs, () => {
      if (always || (node.status === 'running' && node.generation === gen)) f()
    })
  }
}
