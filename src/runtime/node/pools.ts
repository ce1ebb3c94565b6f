/**
 * Several independent gossip pools in one process, and a datacenter node built from them (Consul's
 * shape: every agent in the datacenter's LAN pool, servers also in the WAN pool of all datacenters).
 *
 *   startPools({ lan: {...}, wan: {...} })  each pool its own node: port, profile, keyring, label;
 *                                           all options checked before anything is bound
 *   startDatacenterNode({ datacenter, lan, wan? })
 *       bind WAN (servers) ─▶ bind LAN with tags dc, role=server, wan_addr ─▶ join LAN seeds ─▶ join WAN seeds
 *       LAN member events ─▶ PoolController (src/pools/): flood join, WAN server reports, relays
 *       LAN user events ───▶   (remembered, so a relay retried through another server fires once)
 *       WAN member events ─┘   every floodIntervalMs: flood() again
 *
 * Errors: both reject with one ConfigError naming every bad option (prefixed with the pool's name;
 * nothing bound), with the socket error when a port cannot be bound (every pool bound so far is shut
 * down again), or with a JoinError when seeds were given and none answered (everything shut down).
 */
import { EventEmitter } from 'node:events'
import type { Address } from '../../core/types.js'
import { ConfigError } from '../../node/index.js'
import { PoolController, datacenterProblem, formatAddress, lanTags, reservedTagProblems, wanName, wanTags } from '../../pools/index.js'
import type { PoolAccess, PoolEvent, RelayOutcome, RoutedServer } from '../../pools/index.js'
import type { GrapevineNode } from './api.js'
import { payloadBytes } from './handle.js'
import { DEFAULT_PORT, resolveNodeOptions, startNode } from './start-node.js'
import { parseHostPort } from './address.js'
import type { NodeOptions } from './options.js'

/** A set of pools started together; `pools[name]` is each one's node. */
export interface PoolSet {
  readonly pools: Readonly<Record<string, GrapevineNode>>
  /** Leaves every pool (in parallel). */
  leave(): Promise<void>
  /** Shuts every pool down; idempotent. */
  shutdown(): Promise<void>
}

const POOL_NAME = /^[a-z][a-z0-9_-]{0,31}$/

/** Checks every pool's options at once; throws one ConfigError listing each problem as `pool.field: …`. */
export function checkPools(pools: Readonly<Record<string, NodeOptions>>): void {
  if (pools === null || typeof pools !== 'object' || Object.keys(pools).length === 0) {
    throw new ConfigError([`pools: expected an object of pool name → startNode options, like { lan: { bind: '0.0.0.0:7946' }, wan: { bind: '0.0.0.0:7947', profile: 'wan' } }, got ${JSON.stringify(pools)}`])
  }
  const problems: string[] = []
  const ports = new Map<string, string>()
  for (const [name, options] of Object.entries(pools)) {
    if (!POOL_NAME.test(name)) problems.push(`${name}: a pool name is 1 to 32 of a-z, 0-9, '-' and '_', starting with a letter`)
    const port = typeof options?.bind === 'string' ? parseHostPort(options.bind)?.port : DEFAULT_PORT
    if (port !== undefined && port !== 0) {
      const other = ports.get(String(port))
      if (other !== undefined) problems.push(`${name}.bind: port ${port} is also pool ${other}'s; give each pool its own port (or 0 for a free one)`)
      ports.set(String(port), name)
    }
    try {
      resolveNodeOptions(options)
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      problems.push(...e.problems.map((p) => `${name}.${p}`))
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
}

/** Starts independent pools, each as `startNode` starts one node. */
export async function startPools(pools: Readonly<Record<string, NodeOptions>>): Promise<PoolSet> {
  checkPools(pools)
  const started: Record<string, GrapevineNode> = {}
  try {
    for (const [name, options] of Object.entries(pools)) started[name] = await startNode(options)
  } catch (e) {
    await Promise.all(Object.values(started).map((n) => n.shutdown()))
    throw e
  }
  return poolSet(started)
}

function poolSet(pools: Record<string, GrapevineNode>): PoolSet {
  return {
    pools,
    leave: async () => void (await Promise.all(Object.values(pools).map((n) => n.leave()))),
    shutdown: async () => void (await Promise.all(Object.values(pools).map((n) => n.shutdown()))),
  }
}

export interface DatacenterNodeOptions {
  /** This node's datacenter: 1–64 of a-z, 0-9, '-', '_' (no dot). */
  readonly datacenter: string
  /** The LAN pool: every node of the datacenter (startNode's options; `join` names LAN seeds). */
  readonly lan: NodeOptions
  /**
   * The WAN pool, which makes this node a server: startNode's options with the WAN profile by default;
   * `join` names servers of other datacenters. Its name is set for it: `<lan name>.<datacenter>`.
   */
  readonly wan?: NodeOptions
  /** How often servers flood-join the LAN pool's servers into the WAN pool (default 60 000 ms; it also runs on every LAN server join). */
  readonly floodIntervalMs?: number
  /** Added to a relay's deadline per hop still ahead (default 4000 ms). */
  readonly relayHopMs?: number
  /** Servers one relay hop tries when the first does not answer (default 3; 1: no failover). */
  readonly relayAttemptsMax?: number
}

/** What `startDatacenterNode` resolves to. */
export interface DatacenterNode {
  readonly datacenter: string
  readonly isServer: boolean
  readonly lan: GrapevineNode
  /** The WAN pool's node (servers only). */
  readonly wan: GrapevineNode | undefined
  /** Known datacenters and their servers, healthiest and nearest first; a WAN-failed server stays, marked failed (soft fail). */
  datacenters(): Array<{ readonly datacenter: string; readonly servers: RoutedServer[] }>
  /** Fires a Serf user event in `datacenter` (this one: directly), relayed by a server there. Resolves with the outcome (ok false: why). */
  userEvent(name: string, payload: Uint8Array | string, opts: { readonly datacenter: string; readonly coalesce?: boolean }): Promise<RelayOutcome>
  /** Runs a Serf query in `datacenter`, collecting for timeoutMs (default 3000) there; resolves with the acks and responses. */
  query(name: string, payload: Uint8Array | string, opts: { readonly datacenter: string; readonly timeoutMs?: number }): Promise<RelayOutcome>
  /** Flood-joins now; returns the WAN addresses joined (servers only). */
  flood(): Address[]
  /** Relay and flood counters. */
  stats(): PoolController['counts']
  /** Flood joins, WAN server reports (joined, failed, recovered, left) and relays. */
  on(event: 'pool', listener: (e: PoolEvent) => void): this
  off(event: 'pool', listener: (e: PoolEvent) => void): this
  leave(): Promise<void>
  shutdown(): Promise<void>
}

/** The pool as the controller sees it: the node's calls, with join failures reported and not thrown. */
function access(node: GrapevineNode, joinFailed: (e: Error) => void): PoolAccess {
  return {
    name: node.name,
    members: () => node.members(),
    join: (addresses) => void node.join(addresses.map(formatAddress)).catch(joinFailed),
    userEvent: (name, payload, coalesce) => node.userEvent(name, payload, { coalesce }),
    query: (name, payload, opts, done) => {
      node.query(name, payload, { nodes: opts.nodes, timeoutMs: opts.timeoutMs, onResponse: opts.onResponse }).then(done, () => done({ name, lTime: 0, acks: [], responses: [] }))
    },
    rtt: (name) => node.rtt(name),
  }
}

/** Starts a node of a datacenter: its LAN pool, and its WAN pool when `wan` is given (a server). */
export async function startDatacenterNode(options: DatacenterNodeOptions): Promise<DatacenterNode> {
  const problems: string[] = []
  const dcProblem = datacenterProblem(options?.datacenter)
  if (dcProblem !== undefined) problems.push(dcProblem)
  const floodMs = options?.floodIntervalMs ?? 60_000
  if (!(Number.isInteger(floodMs) && floodMs >= 1000)) problems.push(`floodIntervalMs: expected an integer number of ms ≥ 1000, like 60000, got ${JSON.stringify(options?.floodIntervalMs)}`)
  const attempts = options?.relayAttemptsMax
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1 && attempts <= 16)) problems.push(`relayAttemptsMax: expected an integer from 1 to 16 (servers one relay hop tries), like 3, got ${JSON.stringify(attempts)}`)
  problems.push(...reservedTagProblems(options?.lan?.tags ?? {}, options?.wan !== undefined, 'lan.tags'), ...reservedTagProblems(options?.wan?.tags ?? {}, true, 'wan.tags'))
  if (options?.wan?.name !== undefined) problems.push(`wan.name: set for you as <lan name>.<datacenter>; remove it`)
  const dc = options.datacenter
  let lanName = ''
  try {
    lanName = resolveNodeOptions({ ...options.lan, join: [] }).settings.name
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e // the LAN pool's problems are listed by checkPools below
  }
  const wanOptions: NodeOptions | undefined = options.wan === undefined ? undefined : { profile: 'wan', ...options.wan, name: wanName(lanName, dc), tags: { ...options.wan.tags, ...wanTags(dc) }, join: [] }
  try {
    checkPools({ lan: { ...options.lan, join: [] }, ...(wanOptions === undefined ? {} : { wan: wanOptions }) })
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    problems.push(...e.problems)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const wan = wanOptions === undefined ? undefined : await startNode(wanOptions)
  let lan: GrapevineNode
  try {
    lan = await startNode({ ...options.lan, tags: { ...options.lan.tags, ...lanTags(dc, wan?.address) }, join: [] })
  } catch (e) {
    await wan?.shutdown()
    throw e
  }
  const node = new DatacenterNodeImpl(dc, lan, wan, floodMs, options.relayHopMs, options.relayAttemptsMax)
  try {
    if ((options.lan.join ?? []).length > 0) await lan.join(options.lan.join ?? [])
    if (wan !== undefined && (options.wan?.join ?? []).length > 0) await wan.join(options.wan?.join ?? [])
  } catch (e) {
    await node.shutdown()
    throw e
  }
  node.flood()
  return node
}

class DatacenterNodeImpl implements DatacenterNode {
  readonly isServer: boolean
  private readonly bus = new EventEmitter()
  private readonly controller: PoolController
  private readonly timer: ReturnType<typeof setInterval> | undefined
  private closing: Promise<void> | undefined

  constructor(
    readonly datacenter: string,
    readonly lan: GrapevineNode,
    readonly wan: GrapevineNode | undefined,
    floodMs: number,
    hopMs: number | undefined,
    relayAttemptsMax: number | undefined,
  ) {
    this.isServer = wan !== undefined
    const emit = (e: PoolEvent): void => void this.bus.emit('pool', e)
    const joinFailed = (e: Error): void => emit({ type: 'relayDropped', reason: `flood join: ${e.message}` })
    this.controller = new PoolController({ datacenter, lan: access(lan, joinFailed), wan: wan === undefined ? undefined : access(wan, joinFailed), hopMs, relayAttemptsMax, onEvent: emit })
    lan.on('member', (e) => this.controller.lanMemberChanged(e.member))
    lan.on('query', (q) => void this.controller.handleQuery('lan', q, performance.now()))
    lan.on('serf', (e) => {
      if (e.type === 'userEvent') this.controller.lanUserEvent(e.name, e.payload, e.lTime, performance.now())
    })
    if (wan !== undefined) {
      wan.on('member', () => this.controller.wanChanged())
      wan.on('query', (q) => void this.controller.handleQuery('wan', q, performance.now()))
      this.timer = setInterval(() => this.controller.flood(), floodMs)
      this.timer.unref()
    }
  }

  datacenters(): Array<{ datacenter: string; servers: RoutedServer[] }> {
    return [...this.controller.datacenters()].map(([datacenter, servers]) => ({ datacenter, servers }))
  }

  userEvent(name: string, payload: Uint8Array | string, opts: { datacenter: string; coalesce?: boolean }): Promise<RelayOutcome> {
    return this.relay('event', name, payload, opts)
  }

  query(name: string, payload: Uint8Array | string, opts: { datacenter: string; timeoutMs?: number }): Promise<RelayOutcome> {
    return this.relay('query', name, payload, opts)
  }

  private relay(kind: 'event' | 'query', name: string, payload: Uint8Array | string, opts: { datacenter: string; coalesce?: boolean; timeoutMs?: number }): Promise<RelayOutcome> {
    const p = datacenterProblem(opts?.datacenter)
    if (p !== undefined) return Promise.reject(new ConfigError([p]))
    return new Promise((resolve, reject) => {
      try {
        this.controller.relay({ kind, datacenter: opts.datacenter, name, payload: payloadBytes(payload), coalesce: opts.coalesce, timeoutMs: opts.timeoutMs }, resolve)
      } catch (e) {
        reject(e)
      }
    })
  }

  flood(): Address[] {
    return this.controller.flood()
  }

  stats(): PoolController['counts'] {
    return this.controller.counts
  }

  on(event: 'pool', listener: (e: PoolEvent) => void): this {
    this.bus.on(event, listener)
    return this
  }

  off(event: 'pool', listener: (e: PoolEvent) => void): this {
    this.bus.off(event, listener)
    return this
  }

  async leave(): Promise<void> {
    await Promise.all([this.lan.leave(), this.wan?.leave()])
  }

  shutdown(): Promise<void> {
    if (this.closing === undefined) {
      if (this.timer !== undefined) clearInterval(this.timer)
      this.closing = Promise.all([this.lan.shutdown(), this.wan?.shutdown()]).then(() => undefined)
    }
    return this.closing
  }
}
