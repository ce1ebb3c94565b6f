// The composed node owns every timer it needs: Serf's leave wait, the force-leave wait, query deadlines
// and the caller's leave deadline are timers in its outbox, so the simulator runs them in virtual time
// and a seed replays them. Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/runtime/sim/index.js'
import type { SimNode } from '../../src/runtime/sim/index.js'
import { CollectingOutbox } from '../../src/core/effects.js'
import { SeededRng } from '../../src/core/rng.js'
import { ComposedNode, NodeStoppedError, resolveNodeSettingsOrThrow } from '../../src/node/index.js'
import type { NodeEvent, NodeTimer } from '../../src/node/index.js'

function cluster(seed: number, n: number): { sim: Simulation; nodes: SimNode[]; events: Array<{ at: number; node: string; e: NodeEvent }> } {
  const sim = new Simulation({ seed, profile: 'local', network: { latencyMs: [0.5, 2] } })
  const events: Array<{ at: number; node: string; e: NodeEvent }> = []
  sim.observe({ onEvent: (node, e, at) => events.push({ at, node: node.name, e }) })
  const nodes = sim.spawn(n)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 30_000), 'membership converged')
  return { sim, nodes, events }
}

const op = <T>(sim: Simulation, node: SimNode, f: (p: ComposedNode, now: number, out: Parameters<ComposedNode['leave']>[1]) => T): T =>
  sim.invoke(node, (p, now, out) => f(p as ComposedNode, now, out))

test('a query collects acks and responses until its deadline timer, in virtual time', () => {
  const { sim, nodes, events } = cluster(11, 4)
  const t0 = sim.nowMs
  const { id } = op(sim, nodes[0], (p, now, out) => p.query('who', new Uint8Array(0), { timeoutMs: 2_500 }, now, out))
  sim.runFor(5_000)
  const done = events.filter((x) => x.e.type === 'queryCompleted')
  assert.equal(done.length, 1)
  assert.equal(done[0].at, t0 + 2_500, 'completed exactly at the deadline')
  const e = done[0].e as Extract<NodeEvent, { type: 'queryCompleted' }>
  assert.equal(e.id, id)
  assert.deepEqual([...e.result.acks].sort(), nodes.map((n) => n.name).sort(), 'every node acks, the querier too (as Serf)')
})

test("a graceful leave sends Serf's intent first, so every other node records left, not failed", () => {
  const { sim, nodes, events } = cluster(12, 4)
  const leaver = nodes[3]
  sim.leave(leaver)
  assert.ok(sim.runUntil(() => leaver.status === 'left', 20_000), 'the leave completed')
  sim.runFor(5_000)
  for (const n of nodes.slice(0, 3)) {
    assert.equal(n.members().find((m) => m.name === leaver.name)?.state, 'left', `${n.name} sees it left`)
    const intent = events.find((x) => x.node === n.name && x.e.type === 'serf' && x.e.event.type === 'intent' && x.e.event.intent === 'leave' && x.e.event.node === leaver.name)
    assert.ok(intent !== undefined, `${n.name} heard the leave intent`)
  }
  assert.equal(events.filter((x) => x.node === leaver.name && x.e.type === 'leaveCompleted').length, 1, 'completed once')
  assert.ok(!events.some((x) => x.e.type === 'failed'), 'nobody declared it failed')
})

test('a leave given less time than its broadcasts need ends at the caller deadline, reported once, as timed out', () => {
  const { sim, nodes, events } = cluster(13, 3)
  const leaver = nodes[2]
  // Serf's intent, then memberlist's dead, each need a few gossip rounds (100 ms apart here) to go out.
  const t0 = sim.nowMs
  op(sim, leaver, (p, now, out) => p.leave(now, out, 50))
  sim.runFor(10_000)
  const done = events.filter((x) => x.node === leaver.name && x.e.type === 'leaveCompleted')
  assert.equal(done.length, 1, 'reported once')
  assert.equal(done[0].at, t0 + 50)
  assert.deepEqual(done[0].e, { type: 'leaveCompleted', timedOut: true })
})

test('a force-leave of a failed member completes when its intent went out, and every node records it left', () => {
  const { sim, nodes, events } = cluster(14, 4)
  const victim = nodes[3]
  sim.crash(victim)
  assert.ok(sim.runUntil(() => nodes.slice(0, 3).every((n) => n.members().find((m) => m.name === victim.name)?.state === 'dead'), 30_000))
  const r = op(sim, nodes[0], (p, now, out) => p.forceLeave(victim.name, false, now, out))
  assert.equal(r.before, 'dead')
  assert.ok(r.wait !== undefined, 'others are alive: it waits for the intent to go out')
  assert.ok(sim.runUntil(() => events.some((x) => x.e.type === 'forceLeaveCompleted'), 6_000), 'completed within the broadcast timeout')
  sim.runFor(3_000)
  for (const n of nodes.slice(0, 3)) assert.equal(n.members().find((m) => m.name === victim.name)?.state, 'left', `${n.name} sees it left`)
})

test('alone, a force-leave changes our own view at once and waits for nothing', () => {
  const { sim, nodes } = cluster(15, 2)
  sim.crash(nodes[1])
  assert.ok(sim.runUntil(() => nodes[0].members().find((m) => m.name === nodes[1].name)?.state === 'dead', 30_000))
  const r = op(sim, nodes[0], (p, now, out) => p.forceLeave(nodes[1].name, true, now, out))
  assert.equal(r.wait, undefined)
  assert.equal(nodes[0].members().find((m) => m.name === nodes[1].name), undefined, 'pruned at once')
})

test('the same seed gives the same run of the whole stack, node timers included', () => {
  const run = (): string[] => {
    const { sim, nodes, events } = cluster(16, 4)
    op(sim, nodes[1], (p, now, out) => p.query('q', new Uint8Array(0), { timeoutMs: 1_000 }, now, out))
    sim.leave(nodes[2])
    sim.runFor(10_000)
    return events.map((x) => `${x.at.toFixed(3)} ${x.node} ${x.e.type}`)
  }
  assert.deepEqual(run(), run())
})

test('a stopped node refuses operations with NodeStoppedError and ignores input', () => {
  const settings = resolveNodeSettingsOrThrow({ name: 'solo' }, { name: 'solo', generation: 1 })
  const node = new ComposedNode({ ...settings, address: { ip: '127.0.0.1', port: 7946 } }, { rng: new SeededRng(1) })
  const out = new CollectingOutbox<NodeTimer, NodeEvent>()
  node.start(0, out)
  node.shutdown()
  assert.throws(() => node.broadcast('x', new Uint8Array(0), 1, out), NodeStoppedError)
  assert.throws(() => node.setKey('k', 'v', 1, out), NodeStoppedError)
  out.clear()
  node.handlePacket({ ip: '127.0.0.2', port: 7946 }, new Uint8Array([1, 2, 3]), 2, out)
  assert.ok(out.isEmpty, 'no effect after shutdown')
})

test('membership-only nodes run SWIM alone and say so when asked for the stack', () => {
  const settings = resolveNodeSettingsOrThrow({ name: 'bare', membershipOnly: true }, { name: 'bare', generation: 1 })
  const node = new ComposedNode({ ...settings, address: { ip: '127.0.0.1', port: 7946 } }, { rng: new SeededRng(2) })
  assert.equal(node.serf, undefined)
  assert.equal(node.stack, undefined)
  const out = new CollectingOutbox<NodeTimer, NodeEvent>()
  assert.throws(() => node.broadcast('x', new Uint8Array(0), 0, out), /membershipOnly/)
  assert.throws(() => node.userEvent('x', new Uint8Array(0), false, 0, out), /Serf layer/)
  assert.equal(node.protocolStats().stateNodes, 0)
})
