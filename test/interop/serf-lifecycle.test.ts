// Serf's member lifecycle against real serf 0.9.4 agents on loopback (spec B.4, C.1 items 2, 4, 5, 9, 13):
//   - serf agents join a Grapevine node (`serf join` to it), one compressing, one with -disable-compression;
//   - `serf event` reaches Grapevine once, with its payload;
//   - `serf leave` on an agent → Grapevine records it left (and got its Serf leave intent);
//   - Grapevine leave() → serf lists it `left`, not `failed` (the leave intent goes out first);
//   - a Grapevine node in a child process, SIGSTOPped long enough for serf to suspect it, refutes with a
//     higher incarnation and stays alive; SIGKILLed, serf marks it failed.
// Without serf on PATH each test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import type { GrapevineNode } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import type { SerfLayerEvent } from '../../src/serf/serf-layer.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfComplaints, serfMembers, sleep, startAgent, startChild, statusIn, stopAll, waitUntil } from './serf-harness.js'

test('Serf agents join Grapevine, and graceful leaves show as left both ways, with and without compression', { timeout: 60_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    const [a, b] = await Promise.all([startAgent('serf-zip', agents), startAgent('serf-plain', agents, ['-disable-compression'])])
    assert.match(a.log, /Message Compression Enabled: true/)
    assert.match(b.log, /Message Compression Enabled: false/)
    node = await startNode({
      name: 'grapevine',
      bind: '127.0.0.1:0',
      profile: 'local',
      config: { probeIntervalMs: 500, probeTimeoutMs: 200, reconnectIntervalMs: 0 },
      tags: { role: 'grapevine' },
    })
    const gv = node
    const serfEvents: SerfLayerEvent[] = []
    gv.on('serf', (e) => serfEvents.push(e))
    const gvView = (): string => JSON.stringify(gv.members().map((m) => [m.name, m.state, m.tags]))
    const serfView = async (): Promise<string> =>
      (await Promise.all(agents.map(async (x) => `${x.name}: ${JSON.stringify((await serfMembers(x.rpc)).map((m) => [m.name, m.status]))}`))).join('\n')
    const detail = async (): Promise<string> => `serf:\n${await serfView()}\ngrapevine: ${gvView()}\n${logsOf(agents)}`

    // (b) serf → Grapevine join, from both agents; they learn of each other only through Grapevine.
    for (const x of [a, b]) {
      const r = await serfCommand(['join', `-rpc-addr=${x.rpc}`, `127.0.0.1:${gv.port}`])
      assert.equal(r.code, 0, `serf join to grapevine failed: ${r.output}`)
    }
    await waitUntil(
      'both agents list grapevine and each other alive, and grapevine lists both',
      async () => {
        const [ma, mb] = await Promise.all([serfMembers(a.rpc), serfMembers(b.rpc)])
        const alive = (ms: typeof ma, name: string): boolean => ms.some((m) => m.name === name && m.status === 'alive')
        return (
          alive(ma, 'grapevine') && alive(mb, 'grapevine') && alive(ma, 'serf-plain') && alive(mb, 'serf-zip') &&
          ['serf-zip', 'serf-plain'].every((n) => gv.members().some((m) => m.name === n && m.state === 'alive'))
        )
      },
      20_000,
      detail,
    )
    assert.equal((await serfMembers(a.rpc)).find((m) => m.name === 'grapevine')?.tags.role, 'grapevine')
    // Our join intent and push-pull state reached the agents; theirs reached us.
    await waitUntil('grapevine saw join intents of both agents', () => ['serf-zip', 'serf-plain'].every((n) => serfEvents.some((e) => e.type === 'intent' && e.intent === 'join' && e.node === n)), 10_000, detail)

    // A Serf user event reaches Grapevine once (surfaced, deduplicated) with its payload.
    const ev = await serfCommand(['event', `-rpc-addr=${a.rpc}`, 'deploy', 'v1.2.3'])
    assert.equal(ev.code, 0, ev.output)
    await waitUntil('grapevine got the deploy user event', () => serfEvents.some((e) => e.type === 'userEvent' && e.name === 'deploy'), 10_000, detail)
    const got = serfEvents.filter((e) => e.type === 'userEvent')
    assert.equal(got.length, 1, JSON.stringify(got))
    assert.equal(got[0].type === 'userEvent' && Buffer.from(got[0].payload).toString(), 'v1.2.3')

    // (d) `serf leave` on an agent: Grapevine records it left and got its leave intent; the other agent agrees.
    const r = await serfCommand(['leave', `-rpc-addr=${b.rpc}`])
    assert.equal(r.code, 0, `serf leave failed: ${r.output}`)
    await waitUntil('grapevine records serf-plain left', () => gv.members().some((m) => m.name === 'serf-plain' && m.state === 'left'), 15_000, detail)
    assert.ok(serfEvents.some((e) => e.type === 'intent' && e.intent === 'leave' && e.node === 'serf-plain'), JSON.stringify(serfEvents))
    await waitUntil('serf-zip lists serf-plain left', async () => (await statusIn(a, 'serf-plain')) === 'left', 15_000, detail)

    // (d) Grapevine leave(): serf-zip must list it `left`, not `failed`. How long a leave takes is claimed in
    // virtual time by the simulator (test/sim/lifecycle.test.ts), not measured here.
    await gv.leave()
    await waitUntil('serf-zip lists grapevine left', async () => (await statusIn(a, 'grapevine')) === 'left', 15_000, detail)
    assert.match(a.log, /EventMemberLeave: grapevine /)
    assert.doesNotMatch(a.log, /EventMemberFailed: grapevine /)
    t.diagnostic(`serf-zip members after grapevine left: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}`)
    assert.deepEqual(serfComplaints(a), [], logsOf([a]))
    assert.deepEqual(serfComplaints(b), [], logsOf([b]))
    assert.equal(serfEvents.filter((e) => e.type === 'dropped').length, 0, JSON.stringify(serfEvents.filter((e) => e.type === 'dropped')))
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((x) => x.proc))
  }
})

test('a paused Grapevine node refutes Serf\'s suspicion, and a killed one is marked failed', { timeout: 60_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  const children: ChildProcess[] = []
  try {
    const agent = await startAgent('serf-watch', agents)
    const child = await startChild({ name: 'grapevine-child', bind: '127.0.0.1:0', join: [agent.bind] }, children)
    const detail = async (): Promise<string> =>
      `serf: ${JSON.stringify((await serfMembers(agent.rpc)).map((m) => [m.name, m.status]))}\nchild: ${JSON.stringify(child.lines)}\n${child.stderr}\n${logsOf(agents)}`
    await waitUntil('serf lists grapevine-child alive', async () => (await statusIn(agent, 'grapevine-child')) === 'alive', 15_000, detail)
    const before = child.lines.find((l) => l.type === 'ready')!.incarnation as number

    // (e) Pause the child long enough for serf to suspect it, shorter than serf's suspicion timeout (4 s).
    process.kill(child.proc.pid!, 'SIGSTOP')
    await waitUntil('serf suspects grapevine-child', () => /Suspect grapevine-child has failed/.test(agent.log), 4_000, detail, 100)
    await sleep(500)
    process.kill(child.proc.pid!, 'SIGCONT')
    await waitUntil('grapevine-child refuted the suspicion', () => child.lines.some((l) => l.type === 'refuted'), 10_000, detail)
    const refuted = child.lines.find((l) => l.type === 'refuted')!
    assert.ok((refuted.incarnation as number) > before, `incarnation ${before} → ${String(refuted.incarnation)}`)
    await sleep(5_000) // past serf's suspicion timeout
    assert.equal(await statusIn(agent, 'grapevine-child'), 'alive', await detail())
    assert.doesNotMatch(agent.log, /Marking grapevine-child as failed|EventMemberFailed: grapevine-child/)
    t.diagnostic(`after SIGSTOP/SIGCONT: incarnation ${before} → ${String(refuted.incarnation)}, serf status alive`)

    // (c) SIGKILL: serf marks it failed.
    process.kill(child.proc.pid!, 'SIGKILL')
    await waitUntil('serf lists grapevine-child failed', async () => (await statusIn(agent, 'grapevine-child')) === 'failed', 20_000, detail)
    assert.match(agent.log, /EventMemberFailed: grapevine-child /)
    assert.deepEqual(serfComplaints(agent), [], logsOf(agents))
  } finally {
    await stopAll([...children, ...agents.map((x) => x.proc)])
  }
})
