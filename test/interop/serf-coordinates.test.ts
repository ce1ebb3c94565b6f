// Network coordinates against real serf 0.9.4 agents on loopback: a Serf agent reads the coordinate in
// Grapevine's acks (`serf rtt` gives a value for the Grapevine node), and Grapevine reads the
// coordinates in Serf's acks, so its estimate between two Serf agents agrees with `serf rtt` between
// them. Grapevine's coordinate echo never goes to a Serf agent. Without serf on PATH the test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { GrapevineNode } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfComplaints, serfMembers, sleep, startAgent, stopAll, waitUntil } from './serf-harness.js'

/** The estimate `serf rtt` prints, in ms, or undefined when it has none. */
async function serfRtt(agent: Agent, a: string, b?: string): Promise<{ ms: number | undefined; output: string }> {
  const r = await serfCommand(['rtt', `-rpc-addr=${agent.rpc}`, a, ...(b === undefined ? [] : [b])])
  const m = /rtt: ([0-9.]+) ms/.exec(r.output)
  return { ms: r.code === 0 && m !== null ? Number(m[1]) : undefined, output: r.output }
}

test('serf rtt estimates the round trip to a Grapevine node, and Grapevine estimates the one between two Serf agents as serf rtt does', { timeout: 120_000 }, async (t) => {
  if (!requireSerf(t)) return
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    const a = await startAgent('serf-a', agents)
    const b = await startAgent('serf-b', agents, [`-join=${a.bind}`])
    node = await startNode({ name: 'grapevine', bind: '127.0.0.1:0', profile: 'local', join: [a.bind] })
    const gv = node
    const detail = async (): Promise<string> =>
      `serf: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\ngrapevine: ${JSON.stringify(gv.coordinates()?.stats)}\n${logsOf(agents)}`
    await waitUntil('both agents list grapevine alive', async () => {
      const [ma, mb] = await Promise.all([serfMembers(a.rpc), serfMembers(b.rpc)])
      return [ma, mb].every((ms) => ms.some((m) => m.name === 'grapevine' && m.status === 'alive'))
    }, 20_000, detail)

    // Serf learns Grapevine's coordinate from the acks to its probes (one probe per member per second or so).
    let fromSerf: number | undefined
    await waitUntil('serf rtt gives an estimate for grapevine', async () => {
      fromSerf = (await serfRtt(a, 'grapevine')).ms
      return fromSerf !== undefined
    }, 30_000, detail, 1000)
    assert.ok(fromSerf !== undefined && fromSerf > 0 && fromSerf < 1000, `serf rtt serf-a grapevine: ${fromSerf} ms on loopback`)
    // An agent estimates between Grapevine and another agent once it has probed both.
    await waitUntil('serf rtt grapevine serf-a on serf-b', async () => (await serfRtt(b, 'grapevine', 'serf-a')).ms !== undefined, 30_000, detail, 1000)

    // Grapevine learns both agents' coordinates from the acks to its own probes.
    await waitUntil('grapevine knows both agents\' coordinates', () => gv.rtt('serf-a', 'serf-b') !== undefined, 30_000, detail, 500)
    const own = gv.coordinate()
    assert.ok(own !== undefined && own.vec.length === 8, 'an 8-dimensional coordinate of our own')
    const stats = gv.coordinates()?.stats
    assert.ok(stats !== undefined && stats.updates > 0, JSON.stringify(stats))
    assert.deepEqual(stats.undecodable, {}, 'every Serf ack payload decoded')
    assert.equal(stats.echoes.sent, 0, 'no coordinate echo goes to a Serf agent (no Grapevine mark)')

    // Both sides hold the coordinates of serf-a and serf-b as sent at slightly different moments (each
    // ack carries the sender's latest), so compare several readings and take the closest: with the same
    // coordinates the two estimates are the same number; coordinates that moved in between differ
    // by far less than the round trip itself.
    const diffs: Array<{ serf: number; grapevine: number }> = []
    for (let i = 0; i < 6; i++) {
      const before = gv.rtt('serf-a', 'serf-b')
      const s = await serfRtt(b, 'serf-a', 'serf-b')
      const after = gv.rtt('serf-a', 'serf-b')
      if (s.ms !== undefined && before !== undefined && after !== undefined) diffs.push({ serf: s.ms, grapevine: (before + after) / 2 })
      await sleep(700)
    }
    assert.ok(diffs.length > 0, 'serf rtt serf-a serf-b gave estimates')
    const closest = diffs.reduce((x, y) => (Math.abs(x.serf - x.grapevine) <= Math.abs(y.serf - y.grapevine) ? x : y))
    const gap = Math.abs(closest.serf - closest.grapevine)
    assert.ok(gap <= Math.max(0.05, 0.25 * closest.serf), `serf rtt serf-a serf-b vs grapevine's estimate: ${JSON.stringify(diffs)}`)
    // The ordering by estimate is complete: both agents listed, each with an estimate.
    const near = gv.nearest(5)
    assert.deepEqual(near.map((n) => n.name).sort(), ['serf-a', 'serf-b'])
    assert.ok(near.every((n) => Number.isFinite(n.rttMs)), JSON.stringify(near))
    for (const ag of agents) assert.deepEqual(serfComplaints(ag), [], `${ag.name} complained:\n${logsOf([ag])}`)
    t.diagnostic(`serf rtt serf-a grapevine ${fromSerf} ms; serf-a<->serf-b: serf ${closest.serf} ms, grapevine ${closest.grapevine.toFixed(3)} ms`)
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((x) => x.proc))
  }
})
