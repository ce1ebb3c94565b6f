// The agent as a node of a datacenter: --datacenter, --server, --wan-bind, --join-wan; the WAN pool in
// the HTTP API and the CLI, events relayed to another datacenter, and --disable-coordinates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError } from '../../src/core/errors.js'
import type { Agent } from '../../src/agent/agent.js'
import { formatAddress } from '../../src/pools/names.js'
import { agentConfig, gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

const wanMembers = async (a: Agent): Promise<Array<{ name: string; state: string; tags: Record<string, string> }>> =>
  (await (await fetch(url(a, '/v1/members?wan=1'))).json()) as Array<{ name: string; state: string; tags: Record<string, string> }>

test('agents of two datacenters: the WAN pool in the API and the CLI, an event relayed to the other datacenter', async () => {
  const agents: Agent[] = []
  try {
    const a1 = await startTestAgent('a1', { datacenter: 'dc1', server: true, wanBind: '127.0.0.1:0' })
    agents.push(a1)
    const b1 = await startTestAgent('b1', { datacenter: 'dc2', server: true, wanBind: '127.0.0.1:0', joinWan: [formatAddress(a1.pools!.wan!.address)] })
    agents.push(b1)
    const b2 = await startTestAgent('b2', { datacenter: 'dc2', join: [gossipAddress(b1)] })
    agents.push(b2)
    await waitFor('a1 sees b1.dc2 in the WAN pool', () => a1.pools!.wan!.members().some((m) => m.name === 'b1.dc2' && m.state === 'alive'), 15_000)
    await waitFor('b2 joined dc2', () => b1.node.members().some((m) => m.name === 'b2' && m.state === 'alive'), 15_000)

    const wan = await wanMembers(a1)
    assert.deepEqual(wan.map((m) => [m.name, m.state, m.tags.dc, m.tags.role]), [['a1.dc1', 'alive', 'dc1', 'server'], ['b1.dc2', 'alive', 'dc2', 'server']])
    // The LAN list is unchanged: the datacenter's own members, with their dc tag.
    const lan = (await (await fetch(url(b1, '/v1/members'))).json()) as Array<{ name: string; tags: Record<string, string> }>
    assert.deepEqual(lan.map((m) => [m.name, m.tags.dc]), [['b1', 'dc2'], ['b2', 'dc2']])
    // A client is in no WAN pool: a 400 that says where to ask.
    const fromClient = await fetch(url(b2, '/v1/members?wan=1'))
    assert.equal(fromClient.status, 400)
    assert.match(((await fromClient.json()) as { error: string }).error, /client of datacenter dc2; only servers are in the WAN pool/)

    const dcs = (await (await fetch(url(a1, '/v1/datacenters'))).json()) as { datacenter: string; datacenters: Array<{ datacenter: string; servers: Array<{ name: string; failed: boolean }> }> }
    assert.equal(dcs.datacenter, 'dc1')
    assert.deepEqual(dcs.datacenters.map((d) => [d.datacenter, d.servers.map((s) => [s.name, s.failed])]), [['dc1', [['a1.dc1', false]]], ['dc2', [['b1.dc2', false]]]])
    const self = (await (await fetch(url(a1, '/v1/self'))).json()) as { datacenter: { name: string; server: boolean } }
    assert.deepEqual([self.datacenter.name, self.datacenter.server], ['dc1', true])

    // An event addressed to dc2, fired from dc1's server, reaches dc2's client.
    const got: string[] = []
    b2.node.on('message', (m) => {
      if (m.name === 'ship') got.push(Buffer.from(m.payload).toString())
    })
    const ev = await fetch(url(a1, '/v1/event?dc=dc2'), { method: 'POST', body: JSON.stringify({ name: 'ship', payload: 'it' }) })
    const evBody = (await ev.json()) as { datacenter: string; servedBy: string }
    assert.equal(ev.status, 200, JSON.stringify(evBody))
    assert.deepEqual([evBody.datacenter, evBody.servedBy], ['dc2', 'b1'])
    await waitFor('b2 received the relayed event', () => got.length === 1, 10_000)
    // What cannot be relayed says so.
    const q = await fetch(url(a1, '/v1/query?dc=dc2'), { method: 'POST', body: JSON.stringify({ name: 'x', nodes: ['b2'] }) })
    assert.equal(q.status, 400)
    const unknown = await fetch(url(a1, '/v1/event?dc=dc7'), { method: 'POST', body: JSON.stringify({ name: 'ship' }) })
    assert.equal(unknown.status, 502)
    assert.match(((await unknown.json()) as { error: string }).error, /no server of datacenter dc7 is known/)
    // The pools in Prometheus: members per pool and state, relays by datacenter and outcome.
    const metrics = await (await fetch(url(a1, '/metrics'))).text()
    for (const line of [
      'grapevine_pool_members{pool="wan",state="alive",node="a1"} 2',
      'grapevine_pool_members{pool="lan",state="alive",node="a1"} 1',
      'grapevine_pool_relays_total{pool="wan",kind="event",datacenter="dc2",outcome="delivered",node="a1"} 1',
      'grapevine_pool_relays_total{pool="wan",kind="event",datacenter="dc7",outcome="failed",node="a1"} 1',
      'grapevine_pool_wan_soft_failed_servers{pool="wan",datacenter="dc2",node="a1"} 0',
    ]) assert.ok(metrics.includes(line), `missing ${line}`)
    assert.match(await (await fetch(url(b1, '/metrics'))).text(), /grapevine_pool_relays_handled_total\{pool="wan",role="served",node="b1"\} 1/)

    // The dashboard's view carries both pools, and the estimated round trips (coordinates).
    const view = (await (await fetch(url(a1, '/v1/ui/view'))).json()) as { pools: { datacenter: string; server: boolean; wan: Array<{ name: string }>; datacenters: Array<{ datacenter: string }> }; coordinate: { error: number } | null }
    assert.deepEqual([view.pools.datacenter, view.pools.server, view.pools.wan.map((m) => m.name), view.pools.datacenters.map((d) => d.datacenter)], ['dc1', true, ['a1.dc1', 'b1.dc2'], ['dc1', 'dc2']])
    assert.ok(view.coordinate !== null && view.coordinate.error > 0)
    await waitFor('b1 estimates its round trip to b2', () => b1.node.rtt('b2') !== undefined, 15_000)
    const bView = (await (await fetch(url(b1, '/v1/ui/view'))).json()) as { members: Array<{ name: string; rttMs: number | null }> }
    const rtt = bView.members.find((m) => m.name === 'b2')?.rttMs
    assert.ok(typeof rtt === 'number' && rtt >= 0 && rtt < 100, `rtt ${rtt}`)

    // The CLI shows both pools.
    const cli = await runCli(['members', '--wan', '--http', a1.httpAddress])
    assert.equal(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /a1\.dc1\s.*alive/)
    assert.match(cli.stdout, /b1\.dc2\s.*alive/)
    const dcCli = await runCli(['datacenters', '--http', a1.httpAddress])
    assert.equal(dcCli.code, 0, dcCli.stderr)
    assert.match(dcCli.stdout, /dc2\s+b1\.dc2\s/)
  } finally {
    await stopAll(agents)
  }
})

test('pool flags are checked: a server needs a datacenter, WAN flags need a server, pool tags are reserved', () => {
  const problems = (flags: Parameters<typeof agentConfig>[1]): string => {
    try {
      agentConfig('x', flags)
    } catch (e) {
      assert.ok(e instanceof UsageError)
      return e.message
    }
    return ''
  }
  assert.match(problems({ server: true }), /--server: a server needs its datacenter; add --datacenter DC/)
  assert.match(problems({ datacenter: 'dc1', joinWan: ['127.0.0.1:8302'] }), /--join-wan: only servers run the WAN pool; add --server/)
  assert.match(problems({ datacenter: 'DC.1' }), /--datacenter: expected 1 to 64 of a-z/)
  assert.match(problems({ datacenter: 'dc1', tag: ['dc=x'] }), /--tag\.dc: reserved for the datacenter pools/)
  assert.match(problems({ datacenter: 'dc1', server: true, wanBind: 'localhost' }), /--wan-bind "localhost": expected HOST:PORT/)
  // A client may keep a role tag of its own; only a server's role is the pools'.
  assert.equal(problems({ datacenter: 'dc1', tag: ['role=web'] }), '')
})

test('--disable-coordinates: empty acks, no coordinate, and the coordinates route says why', async () => {
  const a = await startTestAgent('nc', { disableCoordinates: true })
  try {
    assert.equal(a.node.coordinate(), undefined)
    const r = await fetch(url(a, '/v1/coordinates'))
    assert.equal(r.status, 409)
    const dcs = await fetch(url(a, '/v1/datacenters'))
    assert.equal(dcs.status, 400)
    assert.match(((await dcs.json()) as { error: string }).error, /without a datacenter; start it with --datacenter DC/)
  } finally {
    await stopAll([a])
  }
})
