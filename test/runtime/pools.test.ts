// Datacenter pools on real loopback sockets: several independent pools in one process, and two
// datacenters of a server and a client each (a second server of dc1 arrives by flood join), with
// events and queries relayed between them and a WAN failure reported but kept routable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, JoinError } from '../../src/index.js'
import { checkPools, startDatacenterNode, startPools } from '../../src/runtime/node/pools.js'
import type { DatacenterNode } from '../../src/runtime/node/pools.js'
import type { PoolEvent } from '../../src/pools/index.js'
import { FAST, fastNode, seedOf, shutdownAll, waitFor } from './helpers.js'

const KEY_A = 'T9jncgl9mbLus+baTTa7q7nPSWrvqsS3TD9LL4Q1Bwo='
const KEY_B = 'HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8='

test('pools started together are independent: each its own port, profile, keyring and label', async () => {
  const set = await startPools({
    lan: { name: 'n1', bind: '127.0.0.1:0', profile: 'local', config: FAST, label: 'lan', encryption: { keys: [KEY_A] } },
    wan: { name: 'n1.dc1', bind: '127.0.0.1:0', profile: 'wan', config: { ...FAST, profile: 'wan' }, label: 'wan', encryption: { keys: [KEY_B] } },
  })
  const peer = await fastNode('n2', { label: 'lan', encryption: { keys: [KEY_A] } })
  try {
    const { lan, wan } = set.pools
    assert.notEqual(lan.port, wan.port)
    assert.equal(lan.encryption().primary === wan.encryption().primary, false)
    await peer.join([seedOf(lan)])
    await waitFor('n2 is in the LAN pool', () => lan.members().some((m) => m.name === 'n2' && m.state === 'alive'), 10_000)
    // The same peer is refused by the WAN pool: another label and key.
    await assert.rejects(peer.join([seedOf(wan)]), JoinError)
    assert.deepEqual(wan.members().map((m) => m.name), ['n1.dc1'])
  } finally {
    await shutdownAll([peer])
    await set.shutdown()
  }
})

test('pool options are checked together before anything is bound, each problem named by its pool', () => {
  assert.throws(
    () => checkPools({ lan: { bind: '127.0.0.1:7400' }, wan: { bind: '127.0.0.1:7400', profile: 'nope' as never }, 'Bad Name': {} }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError)
      const text = e.problems.join('\n')
      assert.match(text, /wan\.bind: port 7400 is also pool lan's/)
      assert.match(text, /wan\.profile: expected 'lan', 'wan' or 'local'/)
      assert.match(text, /Bad Name: a pool name is/)
      return true
    },
  )
  assert.throws(() => checkPools({}), /pools: expected an object of pool name/)
})

test('a datacenter node refuses reserved tags, a dotted datacenter and a WAN name of its own', async () => {
  await assert.rejects(
    startDatacenterNode({ datacenter: 'dc.1', lan: { name: 'a', bind: '127.0.0.1:0', tags: { dc: 'x', role: 'web' } }, wan: { name: 'x', bind: '127.0.0.1:0' } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError)
      const text = e.problems.join('\n')
      assert.match(text, /datacenter: expected 1 to 64 of a-z/)
      assert.match(text, /lan\.tags\.dc: reserved/)
      assert.match(text, /lan\.tags\.role: reserved/) // a server's role is the pools'
      assert.match(text, /wan\.name: set for you/)
      return true
    },
  )
})

function dcNode(dc: string, name: string, server: boolean, lanJoin: string[] = [], wanJoin: string[] = []): Promise<DatacenterNode> {
  return startDatacenterNode({
    datacenter: dc,
    lan: { name, bind: '127.0.0.1:0', profile: 'local', config: FAST, join: lanJoin },
    wan: server ? { bind: '127.0.0.1:0', profile: 'local', config: FAST, join: wanJoin } : undefined,
    floodIntervalMs: 1000,
    relayHopMs: 4000, // generous on loopback sockets under a loaded test run
  })
}

/** Keeps each node started, for the test's shutdown. */
const started = (nodes: DatacenterNode[]) => async (p: Promise<DatacenterNode>): Promise<DatacenterNode> => {
  const n = await p
  nodes.push(n)
  return n
}

const wanNames = (n: DatacenterNode): string[] => (n.wan?.members() ?? []).filter((m) => m.state === 'alive').map((m) => m.name).sort()

test('two datacenters on loopback: flood join, events and queries relayed from a client, a WAN failure kept routable', async () => {
  const nodes: DatacenterNode[] = []
  try {
    const up = started(nodes)
    const s1 = await up(dcNode('dc1', 's1', true))
    const t1 = await up(dcNode('dc2', 't1', true, [], [seedOf(s1.wan!)]))
    const c1 = await up(dcNode('dc1', 'c1', false, [seedOf(s1.lan)]))
    const c2 = await up(dcNode('dc2', 'c2', false, [seedOf(t1.lan)]))
    const reports: PoolEvent[] = []
    s1.on('pool', (e) => reports.push(e))
    // A second server of dc1 joins only its LAN pool: s1 floods it into the WAN pool.
    const s2 = await up(dcNode('dc1', 's2', true, [seedOf(s1.lan)]))
    await waitFor('every WAN pool holds s1.dc1, s2.dc1 and t1.dc2', () => [s1, s2, t1].every((n) => wanNames(n).join() === 's1.dc1,s2.dc1,t1.dc2'), 15_000, 100, () => [s1, s2, t1].map(wanNames).join(' | '))
    assert.ok(reports.some((e) => e.type === 'floodJoin' && e.servers.includes('s2')), 'the flood join was reported')
    // Clients are in no WAN pool, and their LAN pools hold only their own datacenter.
    assert.equal(c1.wan, undefined)
    assert.deepEqual(c1.lan.members().map((m) => m.name).sort(), ['c1', 's1', 's2'])
    assert.deepEqual(c1.datacenters().map((d) => d.datacenter), ['dc1'])
    assert.deepEqual(s1.datacenters().map((d) => [d.datacenter, d.servers.map((s) => s.name).sort()]), [['dc1', ['s1.dc1', 's2.dc1']], ['dc2', ['t1.dc2']]])

    // An event addressed to dc2 from a client of dc1: client → its server → dc2's server → dc2's LAN.
    const got: string[] = []
    c2.lan.on('message', (m) => {
      if (m.name === 'deploy') got.push(Buffer.from(m.payload).toString())
    })
    const ev = await c1.userEvent('deploy', 'v42', { datacenter: 'dc2' })
    assert.equal(ev.ok, true, ev.error)
    assert.equal(ev.servedBy, 't1')
    await waitFor('c2 received the relayed event', () => got.length === 1, 10_000)
    assert.deepEqual(got, ['v42'])
    // Nothing reached dc1's own LAN pool.
    assert.equal(c1.lan.members().length, 3)

    // A query addressed to dc2: every member there acks, c2 answers; the answer comes back.
    c2.lan.on('query', (q) => {
      if (q.name === 'whoami') q.respond(`c2 got ${Buffer.from(q.payload).toString()}`)
    })
    const qr = await c1.query('whoami', 'hi', { datacenter: 'dc2', timeoutMs: 800 })
    assert.equal(qr.ok, true, qr.error)
    assert.deepEqual(qr.acks.slice().sort(), ['c2', 't1'])
    assert.deepEqual(qr.responses.map((r) => [r.from, Buffer.from(r.payload).toString()]), [['c2', 'c2 got hi']])

    // An unknown datacenter is an answer with a reason, not a hang.
    const none = await s1.userEvent('deploy', 'x', { datacenter: 'dc9' })
    assert.equal(none.ok, false)
    assert.match(none.error, /no server of datacenter dc9/)

    // dc2's server stops: dc1's WAN pool declares it failed and reports it, but keeps it routable.
    await t1.shutdown()
    await waitFor('s1 reports t1.dc2 failed', () => reports.some((e) => e.type === 'server' && e.change === 'failed' && e.server === 't1.dc2'), 15_000)
    const dc2 = s1.datacenters().find((d) => d.datacenter === 'dc2')
    assert.deepEqual(dc2?.servers.map((s) => [s.name, s.failed]), [['t1.dc2', true]])
    // dc1's LAN pool is untouched by the WAN failure.
    assert.deepEqual(s1.lan.members().filter((m) => m.state === 'alive').map((m) => m.name).sort(), ['c1', 's1', 's2'])
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
  }
})

test('relay failover on loopback: a dc2 server that stops is passed over for the other, and with none left the error names both', async () => {
  const nodes: DatacenterNode[] = []
  try {
    const up = started(nodes)
    const s1 = await up(dcNode('dc1', 's1', true))
    const t1 = await up(dcNode('dc2', 't1', true, [], [seedOf(s1.wan!)]))
    const t2 = await up(dcNode('dc2', 't2', true, [seedOf(t1.lan)]))
    const c2 = await up(dcNode('dc2', 'c2', false, [seedOf(t1.lan)]))
    await waitFor('s1 knows both servers of dc2', () => wanNames(s1).join() === 's1.dc1,t1.dc2,t2.dc2', 15_000, 100, () => wanNames(s1).join())
    await waitFor('c2 knows both servers', () => c2.lan.members().filter((m) => m.state === 'alive').length === 3, 10_000)
    const reports: PoolEvent[] = []
    s1.on('pool', (e) => reports.push(e))
    const got: string[] = []
    c2.lan.on('message', (m) => {
      if (m.name === 'deploy') got.push(Buffer.from(m.payload).toString())
    })
    // The server s1 would relay to first stops without leaving: silent, not yet failed in the WAN pool.
    const first = s1.datacenters().find((d) => d.datacenter === 'dc2')!.servers[0].node
    const [gone, other] = first === 't1' ? [t1, t2] : [t2, t1]
    await gone.shutdown()
    const ev = await s1.userEvent('deploy', 'v9', { datacenter: 'dc2' })
    assert.equal(ev.ok, true, ev.error)
    assert.equal(ev.servedBy, other.lan.name)
    await waitFor('c2 received the event', () => got.length >= 1, 10_000)
    assert.deepEqual(got, ['v9'])
    const failover = reports.find((e) => e.type === 'relayFailover')
    // When the WAN pool had already declared the stopped server failed, it was tried last and no failover was needed.
    if (failover !== undefined) assert.deepEqual(failover.type === 'relayFailover' && [failover.failed, failover.next], [`${gone.lan.name}.dc2`, `${other.lan.name}.dc2`])
    // No server of dc2 left: a clear error naming each one tried.
    await other.shutdown()
    const none = await s1.userEvent('deploy', 'v10', { datacenter: 'dc2' })
    assert.equal(none.ok, false)
    assert.match(none.error, /^no server of datacenter dc2 answered \(2 of 2 tried\): t[12]\.dc2 did not answer within 4000 ms; t[12]\.dc2 did not answer/)
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
  }
})
