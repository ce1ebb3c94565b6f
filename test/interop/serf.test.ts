// Interop with a real Serf (Debian's serf 0.9.4 package, memberlist 0.2.2) on loopback: three serf
// agents and one Grapevine node form one cluster; each side lists the other alive with its tags, and
// Grapevine marks a SIGKILLed agent failed. Without serf on PATH the test fails under CI and is skipped
// elsewhere, saying so; it never passes silently.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import type { GrapevineNode } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfMembers, startAgent, stopAll, waitUntil } from './serf-harness.js'

test('Grapevine joins a three-agent Serf cluster and detects a killed agent', { timeout: 180_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    for (let i = 0; i < 3; i++) await startAgent(`serf${i}`, agents)
    for (const a of agents.slice(1)) {
      const r = spawnSync('serf', ['join', `-rpc-addr=${a.rpc}`, agents[0].bind], { encoding: 'utf8', timeout: 10_000 })
      assert.equal(r.status, 0, `serf join failed: ${r.stdout}${r.stderr}`)
    }
    node = await startNode({
      name: 'grapevine',
      bind: '127.0.0.1:0',
      profile: 'local',
      config: { probeIntervalMs: 500, probeTimeoutMs: 200, reconnectIntervalMs: 0 },
      tags: { role: 'grapevine' },
    })
    assert.equal(await node.join([agents[1].bind]), 1)
    const gv = node
    const serfView = async (): Promise<string> =>
      (await Promise.all(agents.map(async (a) => `${a.name}: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status, m.tags]))}`))).join('\n')
    const gvView = (): string => JSON.stringify(gv.members().map((m) => [m.name, m.state, m.tags]))
    await waitUntil(
      'serf lists grapevine alive with role=grapevine and grapevine lists the three agents alive with env=test',
      async () => {
        const views = await Promise.all(agents.map((a) => serfMembers(a.rpc)))
        const serfSide = views.every((ms) => ms.some((m) => m.name === 'grapevine' && m.status === 'alive' && m.tags.role === 'grapevine'))
        const gvSide = agents.every((a) => gv.members().some((m) => m.name === a.name && m.state === 'alive' && m.tags.env === 'test'))
        return serfSide && gvSide
      },
      60_000,
      async () => `serf:\n${await serfView()}\ngrapevine: ${gvView()}\n${logsOf(agents)}`,
      500,
    )
    // Kill one agent outright; Grapevine must declare it failed.
    const victim = agents[2]
    process.kill(victim.proc.pid!, 'SIGKILL')
    await waitUntil(`grapevine marks ${victim.name} failed`, () => gv.members().some((m) => m.name === victim.name && m.state === 'dead'), 60_000, () => `grapevine: ${gvView()}\n${logsOf(agents)}`, 500)
    assert.ok(agents.slice(0, 2).every((a) => gv.members().some((m) => m.name === a.name && m.state === 'alive')), gvView())
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((a) => a.proc))
  }
})
