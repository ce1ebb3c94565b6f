// The simulator driving the real Swim: determinism of whole runs, and the basic membership claims the
// simulator exists to check (join, crash detection, restart, leave, pause), with fixed seeds and
// virtual time only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Simulation } from '../../src/runtime/sim/simulation.js'
import { ViewTracker } from '../../src/runtime/sim/checkers.js'
import { runScenario } from '../../src/runtime/sim/scenario.js'
import type { SimNode } from '../../src/runtime/sim/node.js'

// Claims about the membership protocol: every node runs SWIM alone (the composed node, membership-only).
const SWIM_ALONE = { membershipOnly: true } as const

function stateOf(observer: SimNode, target: SimNode): string {
  return observer.members().find((m) => m.name === target.name)?.state ?? 'absent'
}

function chaoticRun(seed: number): { hash: string; lines: number } {
  const hash = createHash('sha256')
  let lines = 0
  const sim = new Simulation({
    node: SWIM_ALONE,
    seed,
    network: { latencyMs: [1, 8], packetLossProbability: 0.05, packetDuplicationProbability: 0.02, packetReorderProbability: 0.05 },
    trace: (line) => {
      hash.update(line + '\n')
      lines++
    },
  })
  const nodes = sim.spawn(16)
  sim.at(8_000, () => sim.crash(nodes[5]))
  sim.at(10_000, () => sim.pause(nodes[6], 6_000))
  sim.at(12_000, () => sim.partition(nodes.slice(0, 4), nodes.slice(4), { oneWay: true }))
  sim.at(16_000, () => sim.heal())
  sim.at(18_000, () => sim.restart(nodes[5]))
  sim.at(20_000, () => sim.leave(nodes[7]))
  sim.runFor(30_000)
  return { hash: hash.digest('hex'), lines }
}

test('the same seed replays the same SWIM run byte for byte', () => {
  const a = chaoticRun(99)
  const b = chaoticRun(99)
  assert.ok(a.lines > 2_000, `a busy run (${a.lines} trace lines)`)
  assert.equal(b.hash, a.hash)
  assert.notEqual(chaoticRun(100).hash, a.hash)
})

test('a cluster joined through one seed converges within one push-pull period', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 1, network: { latencyMs: [1, 5] } })
  const tracker = new ViewTracker()
  sim.observe(tracker)
  sim.spawn(30)
  // Gossip alone may miss a node; the periodic push-pull (30 s at this size) repairs it.
  assert.ok(sim.runUntil(() => tracker.converged, 31_000), `not converged: ${tracker.mismatches} wrong views`)
  assert.deepEqual(sim.convergence(), { converged: true, mismatches: 0, examples: [] })
  for (const n of sim.nodes) {
    const joined = n.events.find((e) => e.event.type === 'joinCompleted')
    if (n.index > 0) assert.ok(joined, `${n.name} completed its join`)
  }
})

test('a crashed node is suspected, then declared dead everywhere', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 2, network: { latencyMs: [1, 5] } })
  const tracker = new ViewTracker()
  sim.observe(tracker)
  const nodes = sim.spawn(20)
  sim.runFor(5_000)
  const victim = nodes[7]
  sim.crash(victim)
  assert.ok(sim.runUntil(() => tracker.converged, 60_000), 'every live node sees the crashed one dead')
  const [d] = tracker.detectionRecords()
  assert.equal(d.node, victim.name)
  assert.ok(d.firstSuspicionAtMs !== null && d.firstDeadAtMs !== null && d.deadEverywhereAtMs !== null)
  assert.ok(d.crashedAtMs < d.firstSuspicionAtMs && d.firstSuspicionAtMs < d.firstDeadAtMs && d.firstDeadAtMs <= d.deadEverywhereAtMs)
  for (const n of sim.liveNodes()) assert.equal(stateOf(n, victim), 'dead', `${n.name}'s view`)
})

test('a restarted node rejoins and is alive everywhere again', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 3, network: { latencyMs: [1, 5] } })
  const tracker = new ViewTracker()
  sim.observe(tracker)
  const nodes = sim.spawn(12)
  sim.runFor(5_000)
  sim.crash(nodes[4])
  sim.runFor(30_000)
  assert.equal(stateOf(nodes[0], nodes[4]), 'dead')
  sim.restart(nodes[4])
  assert.ok(sim.runUntil(() => tracker.converged, 30_000, { checkEveryMs: 100 }), `not converged: ${tracker.mismatches} wrong views`)
  for (const n of sim.liveNodes()) if (n !== nodes[4]) assert.equal(stateOf(n, nodes[4]), 'alive', `${n.name}'s view`)
})

test('a node that leaves is seen as left and stops', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 4, network: { latencyMs: [1, 5] } })
  const nodes = sim.spawn(10)
  sim.runFor(5_000)
  sim.leave(nodes[3])
  sim.runFor(10_000)
  assert.equal(nodes[3].status, 'left')
  for (const n of sim.liveNodes()) assert.equal(stateOf(n, nodes[3]), 'left', `${n.name}'s view`)
  assert.ok(sim.convergence().converged)
})

test('a long pause gets a node declared dead, and it comes back after resuming', () => {
  const sim = new Simulation({ node: SWIM_ALONE, seed: 5, network: { latencyMs: [1, 5] } })
  const tracker = new ViewTracker()
  sim.observe(tracker)
  const nodes = sim.spawn(10)
  sim.runFor(5_000)
  const sleeper = nodes[2]
  sim.pause(sleeper, 60_000)
  sim.runFor(59_000)
  assert.equal(stateOf(nodes[0], sleeper), 'dead', 'declared dead while paused')
  sim.runFor(1_000)
  assert.equal(sleeper.status, 'running')
  assert.ok(sim.runUntil(() => tracker.converged && sim.convergence().converged, 60_000, { checkEveryMs: 500 }), 'it came back')
  assert.ok(sleeper.events.some((e) => e.event.type === 'refuted'), 'it refuted its death')
})

test('runScenario reports detection and no false positives on a clean network', () => {
  const report = runScenario({ membershipOnly: true, seed: 6, nodes: 24, durationMs: 40_000, steps: [{ kind: 'crash', count: 2, atMs: 15_000 }] })
  assert.equal(report.converged, true)
  assert.equal(report.detection.length, 2)
  for (const d of report.detection) {
    assert.ok(d.firstSuspicionMs !== null && d.firstSuspicionMs > 0)
    assert.ok(d.deadEverywhereMs !== null && d.firstDeadMs !== null && d.deadEverywhereMs >= d.firstDeadMs)
  }
  assert.deepEqual(report.falsePositives, { suspicions: 0, deaths: 0 })
  assert.ok(report.joinConvergenceMs !== null && report.joinConvergenceMs < 15_000)
  assert.ok(report.messagesPerNodePerSec > 0 && report.bytesPerNodePerSec > 0)
  assert.equal(report.seed, 6)
  // The same scenario and seed give the same report (wall-clock fields aside).
  const again = runScenario({ membershipOnly: true, seed: 6, nodes: 24, durationMs: 40_000, steps: [{ kind: 'crash', count: 2, atMs: 15_000 }] })
  const strip = (r: typeof report) => ({ ...r, wallMs: 0, eventsPerWallSec: 0, speedup: 0 })
  assert.deepEqual(strip(again), strip(report))
})
