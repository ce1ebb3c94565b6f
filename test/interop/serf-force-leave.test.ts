// Force-leave against real serf 0.9.4 agents on loopback, both ways:
//   - a serf agent is SIGKILLed; Grapevine's forceLeave() makes it `left` on the other serf agent
//     (Serf's leave intent about another node, gossiped), and prune makes serf forget it;
//   - a Grapevine node in a child process is SIGKILLed; `serf force-leave` makes it `left` in Grapevine,
//     and `serf force-leave -prune` makes Grapevine forget it.
// Without serf on PATH the test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import type { GrapevineNode } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfMembers, startAgent, startChild, statusIn, stopAll, waitUntil } from './serf-harness.js'

test('Grapevine force-leaves a dead Serf agent and serf force-leaves a dead Grapevine node: each is left for the others, and prune forgets it', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  const children: ChildProcess[] = []
  let node: GrapevineNode | undefined
  try {
    const [a, b] = await Promise.all([startAgent('serf-a', agents), startAgent('serf-b', agents)])
    node = await startNode({
      name: 'grapevine',
      bind: '127.0.0.1:0',
      profile: 'local',
      config: { probeIntervalMs: 500, probeTimeoutMs: 200 },
      join: [a.bind, b.bind],
    })
    const gv = node
    const child = await startChild({ name: 'grapevine-child', bind: '127.0.0.1:0', join: [a.bind] }, children)
    const stateIn = (name: string): string | undefined => gv.members().find((m) => m.name === name)?.state
    const detail = async (): Promise<string> =>
      `serf-a: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\n` +
      `grapevine: ${JSON.stringify(gv.members().map((m) => [m.name, m.state]))}\n${logsOf(agents)}`
    await waitUntil(
      'serf-a and grapevine see all four alive',
      async () => (await serfMembers(a.rpc)).filter((m) => m.status === 'alive').length === 4 && gv.members().filter((m) => m.state === 'alive').length === 4,
      20_000,
      detail,
    )

    // Grapevine → Serf: serf-b dies; Grapevine forces it out.
    process.kill(b.proc.pid!, 'SIGKILL')
    await waitUntil('serf-a and grapevine mark serf-b failed', async () => (await statusIn(a, 'serf-b')) === 'failed' && stateIn('serf-b') === 'dead', 30_000, detail)
    assert.equal(await gv.forceLeave('serf-b'), 'dead')
    assert.equal(stateIn('serf-b'), 'left')
    await waitUntil('serf-a lists serf-b left', async () => (await statusIn(a, 'serf-b')) === 'left', 15_000, detail)
    assert.match(a.log, /EventMemberLeave \(forced\): serf-b/)
    assert.equal(await gv.forceLeave('serf-b', { prune: true }), 'left')
    assert.equal(stateIn('serf-b'), undefined)
    await waitUntil('serf-a forgets serf-b', async () => (await statusIn(a, 'serf-b')) === undefined, 15_000, detail)

    // Serf → Grapevine: the Grapevine child dies; `serf force-leave` on serf-a.
    process.kill(child.proc.pid!, 'SIGKILL')
    await waitUntil('serf-a and grapevine mark the child failed', async () => (await statusIn(a, 'grapevine-child')) === 'failed' && stateIn('grapevine-child') === 'dead', 30_000, detail)
    const fl = await serfCommand(['force-leave', `-rpc-addr=${a.rpc}`, 'grapevine-child'])
    assert.equal(fl.code, 0, fl.output)
    await waitUntil('grapevine marks the child left', () => stateIn('grapevine-child') === 'left', 15_000, detail)
    const pr = await serfCommand(['force-leave', '-prune', `-rpc-addr=${a.rpc}`, 'grapevine-child'])
    assert.equal(pr.code, 0, pr.output)
    await waitUntil('grapevine forgets the child', () => stateIn('grapevine-child') === undefined, 15_000, detail)
    assert.equal(stateIn('serf-a'), 'alive')
  } finally {
    await node?.shutdown()
    await stopAll([...children, ...agents.map((x) => x.proc)])
  }
})
