// `grapevine reachability`, as `serf reachability`: against running agents every live member acks and
// the command exits 0; against an agent whose report names silent or unexpected members it lists them
// and exits 1. The report itself is a pure summary of members and acks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Agent } from '../../src/agent/agent.js'
import { summarizeReachability } from '../../src/runtime/node/reachability.js'
import type { Member } from '../../src/runtime/node/start-node.js'
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

const member = (name: string, state: Member['state']): Member => ({ name, state }) as Member

test('the report names live members that did not ack, acks from members not live, and names acking twice', () => {
  const members = [member('a', 'alive'), member('b', 'alive'), member('c', 'alive'), member('d', 'dead'), member('e', 'suspect')]
  const r = summarizeReachability(members, [{ name: 'a', atMs: 1 }, { name: 'd', atMs: 30 }, { name: 'b', atMs: 12 }, { name: 'b', atMs: 14 }], 3000)
  assert.deepEqual(r, {
    members: 5, live: ['a', 'b', 'c'], acks: [{ name: 'a', atMs: 1 }, { name: 'd', atMs: 30 }, { name: 'b', atMs: 12 }, { name: 'b', atMs: 14 }],
    missing: ['c'], unexpected: ['d'], duplicates: ['b'], queryMs: 3000, lastAckMs: 30, ok: false,
  })
  assert.equal(summarizeReachability([member('a', 'alive')], [{ name: 'a', atMs: 0 }], 800).ok, true)
})

test('grapevine reachability against three agents: every live member acks, exit 0', async () => {
  const agents: Agent[] = []
  try {
    agents.push(await startTestAgent('r1'))
    agents.push(await startTestAgent('r2', { join: [gossipAddress(agents[0])] }))
    agents.push(await startTestAgent('r3', { join: [gossipAddress(agents[0])] }))
    await waitFor('three alive everywhere', () => agents.every((a) => a.node.members().filter((m) => m.state === 'alive').length === 3), 15_000)
    const r = await runCli(['reachability', '--verbose', '--timeout', '1500', '--http', agents[1].httpAddress])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const lines = r.stdout.trimEnd().split('\n')
    assert.deepEqual(lines.slice(0, 2), ['Total members: 3, live members: 3', 'Starting reachability test...'])
    assert.deepEqual(lines.filter((l) => l.startsWith('\tAck from')).sort(), ["\tAck from 'r1'", "\tAck from 'r2'", "\tAck from 'r3'"])
    assert.match(lines.at(-2)!, /^Query time: 1\.50 sec, time to last response: \d\.\d\d sec$/)
    assert.equal(lines.at(-1), 'Successfully contacted all live nodes')
    const json = await fetch(url(agents[2], '/v1/reachability'), { method: 'POST', body: JSON.stringify({ timeoutMs: 'soon' }) })
    assert.equal(json.status, 400)
    assert.match(((await json.json()) as { error: string }).error, /timeoutMs: expected milliseconds in \(0, 300000\], got "soon"/)
    const bad = await runCli(['reachability', '--timeout', '0', '--http', agents[1].httpAddress])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /--timeout "0": expected milliseconds from 1 to 300000/)
  } finally {
    await stopAll(agents)
  }
})

test('grapevine reachability lists silent and unexpected members and exits 1', async () => {
  const report = summarizeReachability([member('a', 'alive'), member('b', 'alive'), member('c', 'dead')], [{ name: 'a', atMs: 2 }, { name: 'c', atMs: 40 }], 2000)
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(req.url === '/v1/members' ? [{ name: 'a', state: 'alive' }, { name: 'b', state: 'alive' }, { name: 'c', state: 'failed' }] : report))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const port = (server.address() as { port: number }).port
    const r = await runCli(['reachability', '--http', `127.0.0.1:${port}`])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stdout, /^Total members: 3, live members: 2\nStarting reachability test\.\.\.\nNo ack from 1 of 2 live members:\n\tb\n.*\nAcks from 1 member this node does not count as live:\n\tc\n/)
    assert.match(r.stdout, /What to check:/)
    const j = await runCli(['reachability', '--json', '--http', `127.0.0.1:${port}`])
    assert.equal(j.code, 1)
    assert.deepEqual(JSON.parse(j.stdout), report)
  } finally {
    server.close()
  }
})
