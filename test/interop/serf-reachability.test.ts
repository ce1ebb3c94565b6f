// Reachability against real serf 0.9.4 agents on loopback: node.reachability() counts the Serf agents'
// acks to `_serf_ping` as `serf reachability` does, and with one Serf agent frozen (SIGSTOP) before it
// is marked failed, Grapevine and `serf reachability` both name that agent as the live member that
// did not ack. Without serf on PATH the test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { GrapevineNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfMembers, serfPairAndGrapevine, stopAll, waitUntil } from './serf-harness.js'

test('Grapevine reachability and serf reachability agree on who acked and who did not', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    const { a, b, node: gv } = await serfPairAndGrapevine(agents)
    node = gv
    const detail = async (): Promise<string> => `serf: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\n${logsOf(agents)}`
    await waitUntil('serf-a lists three alive', async () => (await serfMembers(a.rpc)).filter((m) => m.status === 'alive').length === 3, 15_000, detail)
    await waitUntil('grapevine sees three alive', () => gv.members().filter((m) => m.state === 'alive').length === 3, 15_000, detail)

    const all = await gv.reachability({ timeoutMs: 2000 })
    assert.deepEqual(all.live, ['grapevine', 'serf-a', 'serf-b'])
    assert.deepEqual(all.acks.map((x) => x.name).sort(), ['grapevine', 'serf-a', 'serf-b'], JSON.stringify(all))
    assert.deepEqual([all.missing, all.unexpected, all.duplicates, all.ok], [[], [], [], true])
    assert.ok(all.lastAckMs <= all.queryMs)
    const serfAll = await serfCommand(['reachability', '-verbose', `-rpc-addr=${a.rpc}`])
    assert.equal(serfAll.code, 0, serfAll.output)
    assert.match(serfAll.output, /Total members: 3, live members: 3[\s\S]*Ack from 'grapevine'[\s\S]*Successfully contacted all live nodes/)

    // Freeze serf-b: both testers start while it is still listed alive (the local profile takes
    // seconds to mark it failed), and both must name it as the one that did not ack.
    process.kill(b.proc.pid!, 'SIGSTOP')
    const [ours, theirs] = await Promise.all([gv.reachability({ timeoutMs: 2000 }), serfCommand(['reachability', `-rpc-addr=${a.rpc}`])])
    assert.equal(ours.ok, false)
    assert.deepEqual(ours.missing, ['serf-b'], JSON.stringify(ours))
    assert.deepEqual(ours.acks.map((x) => x.name).sort(), ['grapevine', 'serf-a'])
    assert.equal(theirs.code, 1, theirs.output)
    assert.match(theirs.output, /Missing acks from:\s+serf-b\s/, theirs.output)
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((x) => x.proc))
  }
})
