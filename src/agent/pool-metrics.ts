/**
 * The datacenter pools in the agent's metrics, every series labelled by pool (`lan`, `wan`):
 *
 *   pool events ──relayDone / relayFailover / floodJoin──▶ PoolRecorder: totals (from the agent's start)
 *   scrape ──▶ grapevine_pool_members{pool, state}                 each pool's members in Serf's words
 *              grapevine_pool_relays_total{pool, kind, datacenter, outcome=delivered|failed}
 *                                                                  relays this agent started; pool: where
 *                                                                  the first hop went (client: lan, server: wan)
 *              grapevine_pool_relay_failovers_total{pool, datacenter}   hops retried through another server
 *              grapevine_pool_relays_handled_total{pool, role=served|forwarded|dropped|deduplicated}
 *                                                                  relays other nodes sent through this one
 *              grapevine_pool_flood_joins_total{pool=wan}          LAN servers joined into the WAN pool
 *              grapevine_pool_wan_servers{pool=wan, datacenter, state=alive|suspect|failed}
 *              grapevine_pool_wan_soft_failed_servers{pool=wan, datacenter}   failed, still routable
 *
 * Only for an agent started with a datacenter. Counters mirror the recorder's totals and the
 * controller's counts at scrape time (prom-client loads at the first scrape, as for every series).
 */
import type { Registry } from 'prom-client'
import type { PoolEvent } from '../pools/controller.js'
import type { PoolController } from '../pools/controller.js'
import type { RoutedServer } from '../pools/router.js'
import type { MemberState } from '../node/index.js'
import { userState } from './member-words.js'

type Labels = Record<string, string>

/** What the pool series read: a DatacenterNode fits. */
export interface PoolMetricsSource {
  readonly isServer: boolean
  readonly lan: { members(): ReadonlyArray<{ readonly state: MemberState }> }
  readonly wan: { members(): ReadonlyArray<{ readonly state: MemberState }> } | undefined
  datacenters(): ReadonlyArray<{ readonly datacenter: string; readonly servers: readonly RoutedServer[] }>
  stats(): PoolController['counts']
  on(event: 'pool', listener: (e: PoolEvent) => void): unknown
  off(event: 'pool', listener: (e: PoolEvent) => void): unknown
}

/** Tallies the pool events from the agent's start, so the first scrape already counts every relay. */
export class PoolRecorder {
  /** Keyed by the labels' JSON. */
  readonly relays = new Map<string, number>()
  readonly failovers = new Map<string, number>()
  private readonly onPool = (e: PoolEvent): void => {
    const pool = this.source.isServer ? 'wan' : 'lan'
    if (e.type === 'relayDone') add(this.relays, { pool, kind: e.kind, datacenter: e.datacenter, outcome: e.ok ? 'delivered' : 'failed' })
    else if (e.type === 'relayFailover') add(this.failovers, { pool, datacenter: e.datacenter })
  }

  constructor(readonly source: PoolMetricsSource) {
    source.on('pool', this.onPool)
  }

  close(): void {
    this.source.off('pool', this.onPool)
  }
}

function add(m: Map<string, number>, labels: Labels): void {
  const key = JSON.stringify(labels)
  m.set(key, (m.get(key) ?? 0) + 1)
}

const entries = (m: Map<string, number>): Array<[Labels, number]> => [...m].map(([k, n]) => [JSON.parse(k) as Labels, n])

/** Registers the pool series; `mirrored` makes a counter that follows a growing value read at scrape. */
export function registerPoolSeries(
  { Gauge }: typeof import('prom-client'),
  registry: Registry,
  recorder: PoolRecorder,
  mirrored: (name: string, help: string, labelNames: string[], read: () => Iterable<[Labels, number]>) => void,
): void {
  const src = recorder.source
  new Gauge({
    name: 'grapevine_pool_members',
    help: 'Members of each gossip pool (lan: this datacenter; wan: the servers of every datacenter), by state',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      this.reset()
      const pools: Array<[string, ReadonlyArray<{ state: MemberState }>]> = [['lan', src.lan.members()]]
      if (src.wan !== undefined) pools.push(['wan', src.wan.members()])
      for (const [pool, members] of pools) {
        const counts: Record<string, number> = { alive: 0, suspect: 0, failed: 0, left: 0 }
        for (const m of members) counts[userState(m.state)]++
        for (const [state, n] of Object.entries(counts)) this.set({ pool, state }, n)
      }
    },
  })
  mirrored('grapevine_pool_relays_total', 'Events and queries this agent relayed to a datacenter, by the pool of the first hop, kind, datacenter and outcome', ['pool', 'kind', 'datacenter', 'outcome'], () => entries(recorder.relays))
  mirrored('grapevine_pool_relay_failovers_total', 'Relay hops retried through another server because the first did not answer', ['pool', 'datacenter'], () => entries(recorder.failovers))
  mirrored('grapevine_pool_relays_handled_total', 'Relays other nodes sent through this one: served here, forwarded over the WAN, dropped, or answered as already fired (a retry)', ['pool', 'role'], () => {
    const c = src.stats()
    const pool = src.isServer ? 'wan' : 'lan'
    return [[{ pool, role: 'served' }, c.relaysServed], [{ pool, role: 'forwarded' }, c.relaysForwarded], [{ pool, role: 'dropped' }, c.relaysDropped], [{ pool, role: 'deduplicated' }, c.relaysDeduplicated]]
  })
  if (!src.isServer) return
  mirrored('grapevine_pool_flood_joins_total', 'LAN servers of this datacenter joined into the WAN pool by flood join', ['pool'], () => [[{ pool: 'wan' }, src.stats().floodJoins]])
  new Gauge({
    name: 'grapevine_pool_wan_servers',
    help: 'Servers of each datacenter in the WAN routing table, by state (failed: declared dead, kept routable)',
    labelNames: ['pool', 'datacenter', 'state'],
    registers: [registry],
    collect() {
      this.reset()
      for (const d of src.datacenters()) {
        const counts: Record<string, number> = { alive: 0, suspect: 0, failed: 0 }
        for (const s of d.servers) counts[s.failed ? 'failed' : s.state === 'suspect' ? 'suspect' : 'alive']++
        for (const [state, n] of Object.entries(counts)) this.set({ pool: 'wan', datacenter: d.datacenter, state }, n)
      }
    },
  })
  new Gauge({
    name: 'grapevine_pool_wan_soft_failed_servers',
    help: 'Servers the WAN pool declared failed that stay in the routing table, tried last (soft fail), by datacenter',
    labelNames: ['pool', 'datacenter'],
    registers: [registry],
    collect() {
      this.reset()
      for (const d of src.datacenters()) this.set({ pool: 'wan', datacenter: d.datacenter }, d.servers.filter((s) => s.failed).length)
    },
  })
}
