// Name conflicts against real serf 0.9.4 agents on loopback, both ways:
//   - a Grapevine newcomer claims a Serf agent's name: its join is refused (NameConflictError naming
//     the agent's address); the agent, told of the claim, asks the cluster (`_serf_conflict`), and the
//     Grapevine members' votes keep it: without them it would count 0 of 0 and shut itself down;
//   - a Serf newcomer claims a Grapevine node's name: the Grapevine members vote for the established
//     node, the Serf newcomer loses the vote and quits; the Grapevine node stays alive everywhere.
// Without serf on PATH the test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { GrapevineNode } from '../../src/index.js'
import { NameConflictError, startNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfMembers, startAgent, stopAll, waitUntil } from './serf-harness.js'

const CONFIG = { probeIntervalMs: 500, probeTimeoutMs: 200 } as const

function gvNode(name: string, join: readonly string[] = []): Promise<GrapevineNode> {
  return startNode({ name, bind: '127.0.0.1:0', profile: 'local', config: CONFIG, join: [...join] })
}

/** serf-a with gv-1 and gv-2 joined through it, once serf-a sees all three alive; `detail` for failures. */
async function serfWithTwoGrapevines(agents: Agent[], nodes: GrapevineNode[]): Promise<{ a: Agent; detail: () => Promise<string> }> {
    const a = await startAgent('serf-a', agents)
    nodes.push(await gvNode('gv-1', [a.bind]), await gvNode('gv-2', [a.bind]))
    const detail = async (): Promise<string> =>
      `serf-a: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\n` +
      nodes.map((n) => `${n.name}: ${JSON.stringify(n.members().map((m) => [m.name, m.state]))}`).join('\n') + `\n${logsOf(agents)}`
    await waitUntil('serf-a sees three alive', async () => (await serfMembers(a.rpc)).filter((m) => m.status === 'alive').length === 3, 20_000, detail)
  return { a, detail }
}

test('a Grapevine newcomer claiming a Serf agent\'s name is refused; the Grapevine members\' votes keep the agent', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  const nodes: GrapevineNode[] = []
  try {
    const { a, detail } = await serfWithTwoGrapevines(agents, nodes)

    // The newcomer joins through serf-a itself, so serf-a sees its own name claimed and runs the vote.
    const err = await startNode({ name: 'serf-a', bind: '127.0.0.1:0', profile: 'local', config: CONFIG, join: [a.bind] }).then(
      () => assert.fail('the join of a second serf-a must be refused'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof NameConflictError, String(err))
    assert.equal(err.kept.port, Number(a.bind.split(':')[1]))
    assert.match(err.message, /name conflict: a live member named "serf-a" already exists at 127\.0\.0\.1:\d+/)

    await waitUntil('serf-a ran its vote and won it', () => /majority in name conflict resolution \[2 \/ 2\]/.test(a.log), 20_000, detail)
    assert.equal(a.proc.exitCode, null, 'serf-a still runs')
    const members = await serfMembers(a.rpc)
    assert.equal(members.find((m) => m.name === 'serf-a')?.port, Number(a.bind.split(':')[1]))
    for (const n of nodes) {
      const m = n.members().find((x) => x.name === 'serf-a')
      assert.equal(m?.state, 'alive', `${n.name} still sees serf-a alive`)
      assert.equal(m?.address.port, Number(a.bind.split(':')[1]), `${n.name} keeps serf-a's address`)
    }
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
    await stopAll(agents.map((x) => x.proc))
  }
})

test('a Serf newcomer claiming a Grapevine node\'s name loses the vote and quits; the Grapevine node stays alive, never left', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  const nodes: GrapevineNode[] = []
  try {
    const { a, detail } = await serfWithTwoGrapevines(agents, nodes)
    const roles: string[] = []
    for (const n of nodes) n.on('event', (e) => e.type === 'nameConflict' && roles.push(`${n.name}:${e.role}`))

    const gv1Port = nodes[0].port
    const dup = await startAgent('gv-1', agents, [`-join=${a.bind}`])
    await waitUntil('the Serf newcomer lost the vote', () => /minority in name conflict resolution/.test(dup.log), 30_000, async () => `${await detail()}\n${logsOf([dup])}`)
    // The newcomer's alive reaches the members it merged (serf-a and gv-2), who refuse it as witnesses.
    await waitUntil('a Grapevine member reported the claim', () => roles.length > 0, 10_000, detail)
    assert.ok(roles.every((r) => r === 'gv-1:established' || r.endsWith(':witness')), roles.join(', '))
    // Long enough for a wrong leave or death to spread (probe interval 500 ms).
    await new Promise((r) => setTimeout(r, 3000))
    for (const n of nodes) {
      const m = n.members().find((x) => x.name === 'gv-1')
      assert.equal(m?.state, 'alive', `${n.name} sees gv-1 alive`)
      assert.equal(m?.address.port, gv1Port)
    }
    const inSerf = (await serfMembers(a.rpc)).find((m) => m.name === 'gv-1')
    assert.deepEqual([inSerf?.status, inSerf?.port], ['alive', gv1Port], 'serf-a keeps the established gv-1')
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
    await stopAll(agents.map((x) => x.proc))
  }
})
