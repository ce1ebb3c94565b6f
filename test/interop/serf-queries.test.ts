// Serf queries both ways, against a real serf 0.9.4 agent on loopback: `serf reachability` counts
// Grapevine as acking, `serf query` gets Grapevine's ack and its application's response, and a tag
// filter that does not match Grapevine gets neither; `node.query` gets acks and responses from Serf
// agents (their query handlers) and Grapevine nodes, with node and tag filters. Without serf on PATH the test fails under CI
// and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GrapevineNode, SerfQueryEvent } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfMembers, startAgent, stopAll, waitUntil } from './serf-harness.js'

test('Serf queries get acks and responses from Grapevine, and tag filters apply', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    const a = await startAgent('serf-asker', agents)
    node = await startNode({ name: 'grapevine', bind: '127.0.0.1:0', profile: 'local', tags: { role: 'db' }, join: [a.bind] })
    const gv = node
    const asked: SerfQueryEvent[] = []
    gv.on('query', (q) => {
      asked.push(q)
      if (q.name === 'whoami') q.respond(`grapevine says ${Buffer.from(q.payload).toString()}`)
    })
    const detail = async (): Promise<string> =>
      `serf: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\nasked: ${JSON.stringify(asked.map((q) => q.name))}\n${logsOf(agents)}`
    await waitUntil('serf lists grapevine alive', async () => (await serfMembers(a.rpc)).some((m) => m.name === 'grapevine' && m.status === 'alive'), 15_000, detail)

    // serf reachability: an internal `_serf_ping` query with acks; Grapevine must ack it.
    const reach = await serfCommand(['reachability', `-rpc-addr=${a.rpc}`])
    assert.equal(reach.code, 0, reach.output)
    assert.match(reach.output, /Successfully contacted all live nodes/, reach.output + (await detail()))
    assert.equal(asked.length, 0, 'internal queries are not handed to the application')

    // A user query: the ack and the application's response.
    const q = await serfCommand(['query', `-rpc-addr=${a.rpc}`, '-timeout=3s', 'whoami', 'hello'])
    assert.equal(q.code, 0, q.output)
    assert.match(q.output, /Ack from 'grapevine'/, q.output)
    assert.match(q.output, /Response from 'grapevine': grapevine says hello/, q.output)
    assert.equal(asked.length, 1)
    assert.equal(asked[0].sourceNode, 'serf-asker')
    assert.throws(() => asked[0].respond('twice'), /answered already/)

    // Tag filters: role=db matches Grapevine, role=web does not (no ack, no delivery).
    const match = await serfCommand(['query', `-rpc-addr=${a.rpc}`, '-timeout=2s', '-tag', 'role=^d.$', 'tagged', 'x'])
    assert.match(match.output, /Ack from 'grapevine'/, match.output)
    const miss = await serfCommand(['query', `-rpc-addr=${a.rpc}`, '-timeout=2s', '-tag', 'role=web', 'tagged', 'y'])
    assert.doesNotMatch(miss.output, /from 'grapevine'/, miss.output)
    // A node filter naming only the serf agent leaves Grapevine out too.
    const named = await serfCommand(['query', `-rpc-addr=${a.rpc}`, '-timeout=2s', '-node', 'serf-asker', 'named', 'z'])
    assert.doesNotMatch(named.output, /from 'grapevine'/, named.output)
    assert.deepEqual(asked.map((x) => x.name), ['whoami', 'tagged'])
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((x) => x.proc))
  }
})

test('Grapevine queries are acked and answered by Serf agents and Grapevine nodes', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-query-'))
  const agents: Agent[] = []
  const nodes: GrapevineNode[] = []
  try {
    // Serf runs the query handler with the payload on stdin; its stdout is the response.
    const handler = join(dir, 'answer.sh')
    writeFileSync(handler, `#!/bin/sh\nprintf 'serf got %s' "$(cat)"\n`)
    chmodSync(handler, 0o755)
    const a = await startAgent('serf-answerer', agents, [`-event-handler=query=${handler}`])
    const asker = await startNode({ name: 'gv-asker', bind: '127.0.0.1:0', profile: 'local', join: [a.bind] })
    nodes.push(asker)
    const peer = await startNode({ name: 'gv-peer', bind: '127.0.0.1:0', profile: 'local', tags: { role: 'db' }, join: [a.bind] })
    nodes.push(peer)
    peer.on('query', (q) => q.respond(`gv-peer got ${Buffer.from(q.payload).toString()}`))
    const detail = async (): Promise<string> => `serf: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\n${logsOf(agents)}`
    await waitUntil('everyone sees three alive', async () => (await serfMembers(a.rpc)).filter((m) => m.status === 'alive').length === 3 && asker.members().filter((m) => m.state === 'alive').length === 3, 15_000, detail)

    const streamed: string[] = []
    const r = await asker.query('ask', 'hi', { timeoutMs: 3000, onResponse: (from) => streamed.push(from) })
    // As a Serf agent does with its own query, the asker acks it too (it has no `query` listener, so no response).
    assert.deepEqual([...r.acks].sort(), ['gv-asker', 'gv-peer', 'serf-answerer'], JSON.stringify(r) + (await detail()))
    const answers = Object.fromEntries(r.responses.map((x) => [x.from, Buffer.from(x.payload).toString()]))
    assert.deepEqual(answers, { 'gv-peer': 'gv-peer got hi', 'serf-answerer': 'serf got hi' })
    assert.deepEqual([...streamed].sort(), ['gv-peer', 'serf-answerer'])

    // Filters: the tag filter leaves only gv-peer; the node filter only the serf agent.
    const byTag = await asker.query('ask', 'db?', { timeoutMs: 2000, tags: { role: '^db$' } })
    assert.deepEqual(byTag.acks, ['gv-peer'])
    const byNode = await asker.query('ask', 'you', { timeoutMs: 2000, nodes: ['serf-answerer'] })
    assert.deepEqual(byNode.acks, ['serf-answerer'])
    assert.throws(() => asker.query('_serf_ping'), /not starting with _serf_/)
    assert.throws(() => asker.query('big', 'x'.repeat(1100)), /Serf's limit is 1024/)
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
    await stopAll(agents.map((x) => x.proc))
    rmSync(dir, { recursive: true, force: true })
  }
})
