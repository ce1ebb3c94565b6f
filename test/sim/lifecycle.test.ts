// Member lifecycle across the cluster: restart with the same name and address, graceful leave,
// reaping, metadata updates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/runtime/sim/index.js'
import type { SimNode } from '../../src/runtime/sim/index.js'

// Claims about the membership protocol: every node runs SWIM alone (the composed node, membership-only).
const SWIM_ALONE = { membershipOnly: true } as const

const LATENCY = { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5 }

function stateIn(observer: SimNode, name: string): string | undefined {
  return observer.members().find((m) => m.name === name)?.state
}

test('a crashed node restarted with the same name and address rejoins at a higher incarnation', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 41, network: LATENCY })
  const nodes = sim.spawn(20)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000))
  const victim = nodes[7]
  const before = nodes[0].members().find((m) => m.name === victim.name)!.incarnation
  sim.crash(victim)
  assert.ok(sim.runUntil(() => nodes.every((n) => n === victim || stateIn(n, victim.name) === 'dead'), 60_000), 'declared dead')
  sim.restart(victim)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000), `rejoined: ${JSON.stringify(sim.convergence().examples)}`)
  const after = nodes[0].members().find((m) => m.name === victim.name)!
  assert.equal(after.state, 'alive')
  assert.ok(after.incarnation > before, `incarnation ${after.incarnation} > ${before}: it learned its old one and jumped past it`)
})

test('a graceful leave is seen as left by everyone and the leaver finishes', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 42, network: LATENCY })
  const nodes = sim.spawn(20)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000))
  const leaver = nodes[4]
  sim.leave(leaver)
  assert.ok(sim.runUntil(() => nodes.every((n) => n === leaver || stateIn(n, leaver.name) === 'left'), 10_000), 'left everywhere within 10 s')
  sim.runFor(6_000)
  const done = leaver.events.find((e) => e.event.type === 'leaveCompleted')
  assert.ok(done && done.event.type === 'leaveCompleted' && !done.event.timedOut, 'the left broadcast went out before the timeout')
  // Nobody declared it failed on the way.
  for (const n of nodes) assert.ok(!n.events.some((e) => e.event.type === 'failed' && e.event.member.name === leaver.name))
})

test('failed and left members are reaped after their configured times', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 43, network: LATENCY, config: { reconnectTimeoutMs: 120_000, tombstoneTimeoutMs: 60_000, reapIntervalMs: 5_000 } })
  const nodes = sim.spawn(10)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000))
  sim.crash(nodes[1])
  sim.leave(nodes[2])
  sim.runFor(30_000)
  assert.equal(stateIn(nodes[0], nodes[1].name), 'dead')
  assert.equal(stateIn(nodes[0], nodes[2].name), 'left')
  sim.runFor(40_000)
  assert.equal(stateIn(nodes[0], nodes[2].name), undefined, 'left member reaped after 60 s')
  assert.equal(stateIn(nodes[0], nodes[1].name), 'dead', 'failed member kept for reconnects')
  sim.runFor(70_000)
  assert.equal(stateIn(nodes[0], nodes[1].name), undefined, 'failed member reaped after 120 s')
  assert.ok(nodes[0].events.some((e) => e.event.type === 'reaped' && e.event.member.name === nodes[1].name))
  assert.equal(sim.convergence().converged, true)
})

test('a metadata update reaches every node as an update event', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 44, network: LATENCY })
  const nodes = sim.spawn(30)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000))
  const changer = nodes[9]
  sim.at(sim.nowMs, () => changer.setMeta(Uint8Array.of(0xff, 0x80)))
  assert.ok(
    sim.runUntil(() => nodes.every((n) => n.members().find((m) => m.name === changer.name)?.meta.length === 2), 10_000),
    'meta spread within 10 s',
  )
  assert.ok(nodes[0].events.some((e) => e.event.type === 'updated' && e.event.member.name === changer.name))
})
