// The datacenter pools' Prometheus series against a scripted pool source: members per pool and state,
// relays by datacenter and outcome, failovers, relays handled, flood joins, WAN servers and soft fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as prom from 'prom-client'
import { EventEmitter } from 'node:events'
import { PoolRecorder, registerPoolSeries } from '../../src/agent/pool-metrics.js'
import type { PoolMetricsSource } from '../../src/agent/pool-metrics.js'
import { mirroredCounter } from '../../src/agent/metrics.js'
import type { PoolEvent, RoutedServer } from '../../src/pools/index.js'
import type { MemberState } from '../../src/node/index.js'

const server = (name: string, state: MemberState): RoutedServer => {
  const [node, datacenter] = name.split('.')
  return { name, node, datacenter, address: { ip: '10.0.0.1', port: 8302 }, state, failed: state === 'dead', rttMs: undefined }
}

function source(isServer: boolean): PoolMetricsSource & { emit(e: PoolEvent): void } {
  const bus = new EventEmitter()
  const counts = { floodJoins: 2, relaysSent: 0, relaysServed: 3, relaysForwarded: 1, relaysFailed: 0, relaysDropped: 0, relayFailovers: 0, relaysStarted: 0, relaysDelivered: 0, relaysUndelivered: 0, relaysDeduplicated: 1 }
  return {
    isServer,
    lan: { members: () => [{ state: 'alive' }, { state: 'alive' }, { state: 'dead' }] },
    wan: isServer ? { members: () => [{ state: 'alive' }, { state: 'dead' }, { state: 'suspect' }] } : undefined,
    datacenters: () => [{ datacenter: 'dc1', servers: [server('s1.dc1', 'alive')] }, { datacenter: 'dc2', servers: [server('t2.dc2', 'suspect'), server('t1.dc2', 'dead')] }],
    stats: () => counts,
    on: (_e, l) => bus.on('pool', l),
    off: (_e, l) => bus.off('pool', l),
    emit: (e) => void bus.emit('pool', e),
  }
}

async function scrape(src: ReturnType<typeof source>, before: (rec: PoolRecorder) => void): Promise<string> {
  const rec = new PoolRecorder(src)
  before(rec)
  const r = new prom.Registry()
  registerPoolSeries(prom, r, rec, (name, help, labels, read) => mirroredCounter(prom, r, name, help, labels, read))
  const text = await r.metrics()
  rec.close()
  return text
}

test('a server exports both pools, its relays by datacenter and outcome, failovers, flood joins and soft-failed WAN servers', async () => {
  const src = source(true)
  const text = await scrape(src, () => {
    src.emit({ type: 'relayDone', kind: 'event', datacenter: 'dc2', ok: true })
    src.emit({ type: 'relayDone', kind: 'event', datacenter: 'dc2', ok: true })
    src.emit({ type: 'relayDone', kind: 'query', datacenter: 'dc3', ok: false })
    src.emit({ type: 'relayFailover', kind: 'event', datacenter: 'dc2', failed: 't1.dc2', next: 't2.dc2', reason: 'did not answer' })
  })
  for (const line of [
    'grapevine_pool_members{pool="lan",state="alive"} 2',
    'grapevine_pool_members{pool="lan",state="failed"} 1',
    'grapevine_pool_members{pool="wan",state="suspect"} 1',
    'grapevine_pool_relays_total{pool="wan",kind="event",datacenter="dc2",outcome="delivered"} 2',
    'grapevine_pool_relays_total{pool="wan",kind="query",datacenter="dc3",outcome="failed"} 1',
    'grapevine_pool_relay_failovers_total{pool="wan",datacenter="dc2"} 1',
    'grapevine_pool_relays_handled_total{pool="wan",role="served"} 3',
    'grapevine_pool_relays_handled_total{pool="wan",role="deduplicated"} 1',
    'grapevine_pool_flood_joins_total{pool="wan"} 2',
    'grapevine_pool_wan_servers{pool="wan",datacenter="dc2",state="failed"} 1',
    'grapevine_pool_wan_servers{pool="wan",datacenter="dc2",state="suspect"} 1',
    'grapevine_pool_wan_soft_failed_servers{pool="wan",datacenter="dc2"} 1',
    'grapevine_pool_wan_soft_failed_servers{pool="wan",datacenter="dc1"} 0',
  ]) assert.ok(text.includes(line), `missing ${line}\n${text}`)
})

test('a client exports its LAN pool and the relays it sent through its servers, and no WAN series', async () => {
  const src = source(false)
  const text = await scrape(src, () => src.emit({ type: 'relayDone', kind: 'event', datacenter: 'dc2', ok: false }))
  assert.ok(text.includes('grapevine_pool_relays_total{pool="lan",kind="event",datacenter="dc2",outcome="failed"} 1'), text)
  assert.ok(text.includes('grapevine_pool_members{pool="lan",state="alive"} 2'))
  assert.ok(!text.includes('pool="wan"'), text)
  assert.ok(!text.includes('grapevine_pool_wan_soft_failed_servers'))
})
