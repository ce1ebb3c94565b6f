// Seed discovery on loopback: dns:// (A/AAAA), srv:// and k8s:// seeds resolved against a DNS server and
// a Kubernetes API stand-in the test runs, re-resolved after the join so that two halves that formed
// apart merge once the records list both; failures are clear errors and never stop a node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { DiscoveryEvent, GrapevineNode, NodeOptions } from '../../../src/runtime/node/start-node.js'
import { JoinError, startNode } from '../../../src/runtime/node/start-node.js'
import { ConfigError } from '../../../src/core/errors.js'
import { labelSelectorProblem, parseSeed } from '../../../src/runtime/node/discovery/seed-spec.js'
import { SeedResolver } from '../../../src/runtime/node/discovery/seed-resolver.js'
import { FAST, shutdownAll, view, waitFor } from '../helpers.js'
import { TestDns, TestKubernetesApi } from './stand-ins.js'

function node(name: string, bind: string, extra: Partial<NodeOptions> = {}): Promise<GrapevineNode> {
  return startNode({ name, bind, profile: 'local', config: FAST, ...extra })
}

const aliveCount = (n: GrapevineNode): number => n.members().filter((m) => m.state === 'alive').length

test('seed texts parse into what to resolve, and a bad scheme, name or selector names the fix', () => {
  assert.deepEqual(parseSeed('10.0.0.4', 7946), { kind: 'address', text: '10.0.0.4', address: { ip: '10.0.0.4', port: 7946 } })
  assert.deepEqual(parseSeed('dns://grapevine.default.svc:8000', 7946), { kind: 'dns', text: 'dns://grapevine.default.svc:8000', name: 'grapevine.default.svc', port: 8000 })
  assert.deepEqual(parseSeed('dns://grapevine', 7946), { kind: 'dns', text: 'dns://grapevine', name: 'grapevine', port: 7946 })
  assert.equal(parseSeed('srv://_gossip._tcp.grapevine.default.svc.cluster.local', 7946).kind, 'srv')
  assert.deepEqual(parseSeed('k8s://prod?labelSelector=app%3Dgrapevine,tier!%3Dtest&port=gossip', 7946), {
    kind: 'k8s', text: 'k8s://prod?labelSelector=app%3Dgrapevine,tier!%3Dtest&port=gossip', namespace: 'prod', labelSelector: 'app=grapevine,tier!=test', port: 'gossip',
  })
  assert.deepEqual(parseSeed('k8s://?service=grapevine', 7946), { kind: 'k8s', text: 'k8s://?service=grapevine', namespace: undefined, labelSelector: 'kubernetes.io/service-name=grapevine', port: undefined })
  assert.throws(() => parseSeed('http://grapevine:7946', 7946), /unknown scheme "http:\/\/"; use HOST:PORT, dns:\/\/, srv:\/\/ or k8s:\/\//)
  assert.throws(() => parseSeed('srv://grapevine.default.svc', 7946), /expected srv:\/\/_SERVICE\._PROTO\.NAME/)
  assert.throws(() => parseSeed('dns://bad name', 7946), /expected dns:\/\/NAME\[:PORT\]/)
  assert.throws(() => parseSeed('dns://grapevine:70000', 7946), /"dns:\/\/grapevine:70000": port 70000 is out of range 1\.\.65535/)
  assert.throws(() => parseSeed('127.0.0.1:99999', 7946), /"127\.0\.0\.1:99999": port 99999 is out of range 1\.\.65535/)
  assert.throws(() => parseSeed('k8s://Prod?labelSelector=app%3Dx', 7946), /namespace "Prod" is not a Kubernetes namespace name/)
  assert.throws(() => parseSeed('k8s://prod', 7946), /give exactly one of labelSelector= and service=/)
  assert.throws(() => parseSeed('k8s://prod?labelSelector=app%3D%3D%3Dx', 7946), /label selector "app===x": "=x" is not a label value/)
  assert.throws(() => parseSeed('k8s://prod?selector=app', 7946), /unknown parameter "selector"/)
  for (const ok of ['app=web', 'app==web,!canary', 'env in (prod, staging),tier notin (test)', 'example.com/role', 'app!=']) assert.equal(labelSelectorProblem(ok), undefined, ok)
  for (const bad of ['', 'app=(x', 'env in (a,(b))', 'a b c', '-app=x']) assert.notEqual(labelSelectorProblem(bad), undefined, bad)
})

test('startNode refuses a malformed seed with a ConfigError before binding anything', async () => {
  await assert.rejects(startNode({ name: 'x', bind: '127.0.0.1:0', join: ['tcp://10.0.0.1:7946', 'k8s://default'] }), (e: unknown) => {
    assert.ok(e instanceof ConfigError)
    assert.match(e.message, /join: "tcp:\/\/10\.0\.0\.1:7946": unknown scheme/)
    assert.match(e.message, /join: "k8s:\/\/default": give exactly one of labelSelector= and service=/)
    return true
  })
  await assert.rejects(startNode({ name: 'x', bind: '127.0.0.1:0', discovery: { rediscoverIntervalMs: -1, dnsServers: 'x' as never, kubernetes: { apiUrl: 'ftp://x' } } }), /discovery\.rediscoverIntervalMs: .*\n.*discovery\.dnsServers: .*\n.*discovery\.kubernetes\.apiUrl/)
})

test('dns:// resolves every A and AAAA record, and NXDOMAIN, no records and a silent server are named', async () => {
  const dns = await TestDns.start()
  try {
    dns.zone.set('gossip.test', { a: ['127.0.0.2', '127.0.0.3'], aaaa: ['::1'] })
    dns.zone.set('v4only.test', { a: ['10.1.2.3'] })
    dns.zone.set('empty.test', {})
    const r = new SeedResolver(7946, { dnsServers: [dns.server], dnsTimeoutMs: 500 })
    const found = await r.resolveAll(['dns://gossip.test:7000', 'dns://v4only.test', 'dns://missing.test', 'dns://empty.test', '10.9.9.9:1'])
    assert.deepEqual(found.addresses, [
      { ip: '127.0.0.2', port: 7000 }, { ip: '127.0.0.3', port: 7000 }, { ip: '::1', port: 7000 }, { ip: '10.1.2.3', port: 7946 }, { ip: '10.9.9.9', port: 1 },
    ])
    assert.deepEqual(found.errors, ['dns://missing.test: missing.test: no such name (NXDOMAIN)', 'dns://empty.test: empty.test has no A or AAAA records'])
    const silent = new SeedResolver(7946, { dnsServers: ['127.0.0.1:9'], dnsTimeoutMs: 200 })
    const none = await silent.resolveAll(['dns://gossip.test'])
    assert.deepEqual(none.addresses, [])
    assert.match(none.errors[0], /^dns:\/\/gossip\.test: gossip\.test: (the DNS server did not answer \(timeout\)|the DNS server refused the connection|DNS lookup failed)/)
  } finally {
    await dns.close()
  }
})

test('a node joins through dns:// and, the name unknown, join rejects naming NXDOMAIN while the node stays up', async () => {
  const dns = await TestDns.start()
  const nodes: GrapevineNode[] = []
  try {
    const a = await node('a', '127.0.0.2:0')
    nodes.push(a)
    dns.zone.set('gossip.test', { a: ['127.0.0.2', '127.0.0.3'] })
    const discovery = { dnsServers: [dns.server], dnsTimeoutMs: 500, rediscoverIntervalMs: 0 }
    const b = await node('b', `127.0.0.3:${a.port}`, { join: [`dns://gossip.test:${a.port}`], discovery })
    nodes.push(b)
    await waitFor('a and b see each other', () => aliveCount(a) === 2 && aliveCount(b) === 2, 10_000, 50, () => view(nodes))
    const c = await node('c', '127.0.0.4:0', { discovery })
    nodes.push(c)
    await assert.rejects(c.join(['dns://nowhere.test']), (e: unknown) => e instanceof JoinError && /nowhere\.test: no such name \(NXDOMAIN\)/.test(e.message))
    assert.equal(c.members().length, 1)
    assert.equal(await c.join([`dns://gossip.test:${a.port}`]), 2)
  } finally {
    await shutdownAll(nodes)
    await dns.close()
  }
})

test('two halves that formed apart merge once the SRV records list both (rediscovery)', async () => {
  const dns = await TestDns.start()
  const nodes: GrapevineNode[] = []
  try {
    const discovery = { dnsServers: [dns.server], dnsTimeoutMs: 500, rediscoverIntervalMs: 150 }
    const events: DiscoveryEvent[] = []
    // Each half resolves its own name (as when DNS answered each half differently), so neither half's
    // rounds can see the other until the records change.
    const [nameA, nameB] = ['_gossip._udp.a.grapevine.test', '_gossip._udp.b.grapevine.test']
    const a0 = await node('a0', '127.0.0.1:0', { discovery })
    const b0 = await node('b0', '127.0.0.1:0', { discovery })
    nodes.push(a0, b0)
    dns.zone.set('a0.test', { a: ['127.0.0.1'] })
    dns.zone.set('b0.test', { a: ['127.0.0.1'] })
    dns.zone.set(nameA, { srv: [{ target: 'a0.test', port: a0.port }] })
    dns.zone.set(nameB, { srv: [{ target: 'b0.test', port: b0.port }] })
    const a1 = await node('a1', '127.0.0.1:0', { join: [`srv://${nameA}`], discovery, on: { discovery: (e) => events.push(e) } })
    const b1 = await node('b1', '127.0.0.1:0', { join: [`srv://${nameB}`], discovery, on: { discovery: (e) => events.push(e) } })
    nodes.push(a1, b1)
    await waitFor('two halves of two', () => nodes.every((n) => aliveCount(n) === 2), 10_000, 50, () => view(nodes))
    assert.deepEqual(a1.members().map((m) => m.name).sort(), ['a0', 'a1'])
    await waitFor('quiet rounds', () => events.length >= 2, 5_000, 20)
    assert.deepEqual(events.flatMap((e) => e.joined), [], 'rounds find nothing new while the records list one half')
    // Now the records list both halves: a1's and b1's rediscovery rounds find the other half.
    const both = { srv: [{ target: 'a0.test', port: a0.port }, { target: 'b0.test', port: b0.port }] }
    dns.zone.set(nameA, both)
    dns.zone.set(nameB, both)
    await waitFor('all four see four alive', () => nodes.every((n) => aliveCount(n) === 4), 15_000, 50, () => view(nodes))
    // Whichever round came first (a1's or b1's) joined the other half's seed.
    const merged = events.find((e) => e.joined.includes(`127.0.0.1:${b0.port}`) || e.joined.includes(`127.0.0.1:${a0.port}`))
    assert.ok(merged !== undefined, `a round joined the other half: ${JSON.stringify(events)}`)
    assert.equal(merged.contacted, 1)
    assert.deepEqual(merged.errors, [])
    // Once merged, a round finds nothing new to join.
    const quiet = await a1.rediscover()
    assert.ok(quiet === undefined || quiet.joined.length === 0, JSON.stringify(quiet))
  } finally {
    await shutdownAll(nodes)
    await dns.close()
  }
})

test('k8s:// joins the EndpointSlices matching the selector with the service account token, skipping terminating endpoints', async () => {
  const api = await TestKubernetesApi.start()
  const nodes: GrapevineNode[] = []
  try {
    const kubernetes = { apiUrl: api.url, tokenFile: api.tokenFile, namespaceFile: api.namespaceFile }
    const a = await node('a', '127.0.0.1:0')
    const b = await node('b', '127.0.0.1:0')
    nodes.push(a, b)
    api.set('gossip-ns', 'app=grapevine', [{ ip: '127.0.0.1', port: a.port, ready: false }, { ip: '127.0.0.1', port: b.port, terminating: true }])
    const c = await node('c', '127.0.0.1:0', { join: ['k8s://?labelSelector=app%3Dgrapevine'], discovery: { kubernetes, rediscoverIntervalMs: 0 } })
    nodes.push(c)
    await waitFor('a and c see each other', () => aliveCount(a) === 2 && aliveCount(c) === 2, 10_000, 50, () => view(nodes))
    assert.equal(aliveCount(b), 1, 'the terminating endpoint was not joined')
    assert.match(api.requests[0], /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/gossip-ns\/endpointslices\?labelSelector=app%3Dgrapevine$/)
    // Errors name the cause and the fix; the node carries on.
    const r = new SeedResolver(7946, { kubernetes })
    api.status = 403
    assert.match((await r.resolveAll(['k8s://gossip-ns?labelSelector=app%3Dgrapevine'])).errors[0], /answered 403: endpointslices\.discovery\.k8s\.io is forbidden.*; give the service account get and list on endpointslices/)
    api.status = 200
    const wrongToken = new SeedResolver(7946, { kubernetes: { ...kubernetes, tokenFile: api.namespaceFile } })
    assert.match((await wrongToken.resolveAll(['k8s://gossip-ns?service=grapevine'])).errors[0], /answered 401: Unauthorized; the service account token was refused/)
    const noToken = new SeedResolver(7946, { kubernetes: { ...kubernetes, tokenFile: '/nonexistent/token' } })
    assert.match((await noToken.resolveAll(['k8s://gossip-ns?service=grapevine'])).errors[0], /cannot read the service account token at \/nonexistent\/token \(ENOENT\)/)
    const down = new SeedResolver(7946, { kubernetes: { ...kubernetes, apiUrl: 'http://127.0.0.1:9' } })
    assert.match((await down.resolveAll(['k8s://gossip-ns?service=grapevine'])).errors[0], /the Kubernetes API at http:\/\/127\.0\.0\.1:9 is unreachable: ECONNREFUSED/)
    assert.equal(aliveCount(c), 2)
  } finally {
    await shutdownAll(nodes)
    await api.close()
  }
})

test('k8s:// over HTTPS trusts the API only through the given CA file', async (t) => {
  let api: TestKubernetesApi
  try {
    api = await TestKubernetesApi.start({ tls: true })
  } catch (e) {
    return t.skip((e as Error).message)
  }
  try {
    api.set('gossip-ns', 'kubernetes.io/service-name=grapevine', [{ ip: '10.1.0.7', port: 7946 }, { ip: 'fd00::7', port: 7946 }])
    const kubernetes = { apiUrl: api.url, tokenFile: api.tokenFile, caFile: api.caFile }
    const r = await new SeedResolver(7946, { kubernetes }).resolveAll(['k8s://gossip-ns?service=grapevine'])
    assert.deepEqual(r, { addresses: [{ ip: '10.1.0.7', port: 7946 }, { ip: 'fd00::7', port: 7946 }], errors: [] })
    const untrusted = await new SeedResolver(7946, { kubernetes: { ...kubernetes, caFile: api.tokenFile } }).resolveAll(['k8s://gossip-ns?service=grapevine'])
    assert.equal(untrusted.addresses.length, 0)
    assert.match(untrusted.errors[0], /has a certificate this node does not trust \(\w+\); check the CA file|cannot read the CA/)
    const noCa = await new SeedResolver(7946, { kubernetes: { ...kubernetes, caFile: '/nonexistent/ca.crt' } }).resolveAll(['k8s://gossip-ns?service=grapevine'])
    assert.match(noCa.errors[0], /cannot read the CA certificate at \/nonexistent\/ca\.crt \(ENOENT\)/)
  } finally {
    await api.close()
  }
})

test('two halves merge through k8s:// rediscovery once the API lists both', async () => {
  const api = await TestKubernetesApi.start()
  const nodes: GrapevineNode[] = []
  try {
    const discovery = { kubernetes: { apiUrl: api.url, tokenFile: api.tokenFile }, rediscoverIntervalMs: 150 }
    // Each half asks for its own selector, so neither half's rounds see the other until the API lists both.
    const a0 = await node('a0', '127.0.0.1:0', { discovery })
    const b0 = await node('b0', '127.0.0.1:0', { discovery })
    nodes.push(a0, b0)
    api.set('gossip-ns', 'app=grapevine,half=a', [{ ip: '127.0.0.1', port: a0.port }])
    api.set('gossip-ns', 'app=grapevine,half=b', [{ ip: '127.0.0.1', port: b0.port }])
    nodes.push(await node('a1', '127.0.0.1:0', { join: ['k8s://gossip-ns?labelSelector=app%3Dgrapevine,half%3Da'], discovery }))
    nodes.push(await node('b1', '127.0.0.1:0', { join: ['k8s://gossip-ns?labelSelector=app%3Dgrapevine,half%3Db'], discovery }))
    await waitFor('two halves of two', () => nodes.every((n) => aliveCount(n) === 2), 10_000, 50, () => view(nodes))
    const all = [{ ip: '127.0.0.1', port: a0.port }, { ip: '127.0.0.1', port: b0.port }]
    api.set('gossip-ns', 'app=grapevine,half=a', all)
    api.set('gossip-ns', 'app=grapevine,half=b', all)
    await waitFor('all four see four alive', () => nodes.every((n) => aliveCount(n) === 4), 15_000, 50, () => view(nodes))
  } finally {
    await shutdownAll(nodes)
    await api.close()
  }
})
