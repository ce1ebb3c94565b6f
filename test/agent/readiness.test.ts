// Readiness and seed discovery on the agent: /health/ready says whether the node is in a cluster and
// why not; a seed name that does not resolve (NXDOMAIN) delays the join, never stops the agent; the
// health routes answer without the API token, as a kubelet's probes carry none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Agent } from '../../src/agent/agent.js'
import { readiness } from '../../src/agent/readiness.js'
import { resolveAgentConfig } from '../../src/agent/config.js'
import type { GrapevineNode, Member } from '../../src/runtime/node/start-node.js'
import { TestDns } from '../runtime/discovery/stand-ins.js'
import { startTestAgent, stopAll, url, waitFor } from './helpers.js'

async function ready(a: Agent): Promise<{ status: number; body: { status: string; reason: string; livePeers: number } }> {
  const r = await fetch(url(a, '/health/ready'))
  return { status: r.status, body: (await r.json()) as { status: string; reason: string; livePeers: number } }
}

test('a node with no seeds is ready as the first node, and the health routes need no token', async () => {
  const agents: Agent[] = []
  try {
    const a = await startTestAgent('first', { httpToken: 'secret' })
    agents.push(a)
    assert.deepEqual(await ready(a), { status: 200, body: { status: 'ready', name: 'first', reason: 'first node (no seeds to join), no peer yet', livePeers: 0 } as never })
    for (const path of ['/health', '/health/live']) {
      const r = await fetch(url(a, path))
      assert.equal(r.status, 200, path)
      assert.deepEqual(await r.json(), { status: 'ok', name: 'first' })
    }
    assert.equal((await fetch(url(a, '/v1/members'))).status, 401, 'the rest of the API still needs the token')
    assert.equal((await fetch(url(a, '/metrics'))).status, 401, 'metrics too, unless --metrics-public')
    assert.equal((await fetch(url(a, '/health/ready'), { method: 'POST' })).status, 405)
  } finally {
    await stopAll(agents)
  }
})

test('--metrics-public serves /metrics without the token, and nothing else', async () => {
  const agents: Agent[] = []
  try {
    const a = await startTestAgent('scraped', { httpToken: 'secret', metricsPublic: true })
    agents.push(a)
    const m = await fetch(url(a, '/metrics?x=1'))
    assert.equal(m.status, 200)
    assert.match(await m.text(), /grapevine_/)
    assert.equal((await fetch(url(a, '/v1/self'))).status, 401)
    assert.equal((await fetch(url(a, '/metricsx'))).status, 401)
  } finally {
    await stopAll(agents)
  }
})

test('an agent whose seed name does not resolve is not ready, says why, keeps retrying, and is ready once the name lists a peer', async () => {
  const dns = await TestDns.start()
  const agents: Agent[] = []
  try {
    const first = await startTestAgent('seed-node')
    agents.push(first)
    const b = await startTestAgent('joiner', { join: ['srv://_gossip._udp.grapevine.test'], dnsServer: [dns.server], joinRetryMax: '0' })
    agents.push(b)
    const attempts = (): number => (b.info().join as { attempts: number }).attempts
    await waitFor('a failed attempt is reported', () => attempts() >= 2, 10_000, 20)
    const notYet = await ready(b)
    assert.equal(notYet.status, 503)
    assert.equal(notYet.body.status, 'not ready')
    assert.match(notYet.body.reason, /^not joined yet \(attempt \d+ failed: join failed: no seed answered - srv:\/\/_gossip\._udp\.grapevine\.test: _gossip\._udp\.grapevine\.test: no such name \(NXDOMAIN\)\)$/)
    // The name now lists the first agent: the next retry resolves it again and joins.
    dns.zone.set('seed-node.test', { a: ['127.0.0.1'] })
    dns.zone.set('_gossip._udp.grapevine.test', { srv: [{ target: 'seed-node.test', port: first.node.port }] })
    await waitFor('joiner is ready', () => b.node.members().filter((m) => m.state === 'alive').length === 2, 15_000, 20)
    assert.deepEqual(await ready(b), { status: 200, body: { status: 'ready', name: 'joiner', reason: '1 live peer', livePeers: 1 } as never })
    const bad = await fetch(url(b, '/v1/join'), { method: 'POST', body: JSON.stringify({ addresses: ['ftp://x'] }) })
    assert.equal(bad.status, 400)
    assert.match(((await bad.json()) as { error: string }).error, /unknown scheme "ftp:\/\/"/)
  } finally {
    await stopAll(agents)
    await dns.close()
  }
})

test('readiness: leaving, bootstrap, and a joined node that lost every peer', () => {
  const member = (name: string, state: Member['state']): Member => ({ name, state }) as Member
  const fake = (members: Member[]): GrapevineNode => ({ name: 'me', members: () => members, overlay: () => undefined }) as unknown as GrapevineNode
  const joined = { attempts: 1, done: true, contacted: 1 }
  const alone = fake([member('me', 'alive')])
  assert.deepEqual(readiness(alone, { bootstrap: false, seeds: ['dns://x'], stopping: true, join: joined }), { ready: false, reason: 'leaving the cluster', livePeers: 0 })
  assert.deepEqual(readiness(alone, { bootstrap: true, seeds: ['dns://x'], stopping: false, join: { attempts: 3, done: false, contacted: 0 } }), { ready: true, reason: 'first node (--bootstrap), no peer yet', livePeers: 0 })
  assert.deepEqual(readiness(fake([member('me', 'alive'), member('b', 'dead'), member('c', 'suspect')]), { bootstrap: false, seeds: ['dns://x'], stopping: false, join: joined }), {
    ready: false, reason: 'joined, but no live peer now (2 members suspect, failed or left)', livePeers: 0,
  })
  assert.deepEqual(readiness(fake([member('me', 'alive'), member('b', 'alive'), member('c', 'alive')]), { bootstrap: false, seeds: ['dns://x'], stopping: false, join: joined }), { ready: true, reason: '2 live peers', livePeers: 2 })
})

test('agent flags for discovery: bad seeds, DNS servers and intervals are named with the fix; good ones reach the node options', () => {
  assert.throws(
    () => resolveAgentConfig({ name: 'x', join: ['ftp://seed', 'k8s://prod?labelSelector=app%3D%3D%3Dx'], dnsServer: ['not-an-ip'], rediscoverInterval: 'often' }, {}, () => '{}'),
    (e: unknown) => {
      const m = (e as Error).message
      assert.match(m, /--join "ftp:\/\/seed": unknown scheme "ftp:\/\/"; use HOST:PORT, dns:\/\/, srv:\/\/ or k8s:\/\//)
      assert.match(m, /--join "k8s:\/\/prod\?labelSelector=app%3D%3D%3Dx": label selector "app===x"/)
      assert.match(m, /--dns-server "not-an-ip": expected IP\[:PORT\] of a DNS server/)
      assert.match(m, /--rediscover-interval "often": expected milliseconds between re-resolving the seeds/)
      return true
    },
  )
  const c = resolveAgentConfig({ name: 'x', join: ['srv://_gossip._tcp.gv.test'] }, { GRAPEVINE_DNS_SERVERS: '10.96.0.10,127.0.0.1:5353', GRAPEVINE_REDISCOVER_INTERVAL: '0', GRAPEVINE_BOOTSTRAP: 'true' }, () => '{}')
  assert.deepEqual([c.join, c.discovery, c.bootstrap], [['srv://_gossip._tcp.gv.test'], { rediscoverIntervalMs: 0, dnsServers: ['10.96.0.10', '127.0.0.1:5353'] }, true])
  assert.throws(() => resolveAgentConfig({ name: 'x', config: 'a.json' }, {}, () => JSON.stringify({ kubernetes: { apiUrl: 'ftp://x', timeoutMs: -1 } })), /config file a\.json field "kubernetes": apiUrl: expected https:\/\/HOST\[:PORT\]/)
})
