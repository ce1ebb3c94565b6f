// HyParView and Plumtree in the simulator, fixed seeds and virtual time: joins, churn, massive failure
// and recovery, partitions; fast-check properties over churn schedules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import { OverlaySim, type OverlaySimOptions } from './overlay-harness.js'

const FAST = { shuffleIntervalMs: 1000, keepAliveIntervalMs: 250, keepAliveTimeoutMs: 1000, neighborRequestTimeoutMs: 300 }

function grown(n: number, seed: number, extra: Partial<OverlaySimOptions> = {}): { sim: OverlaySim; rng: SeededRng } {
  const sim = new OverlaySim({ seed, hyparview: FAST, layers: [{ mode: 'plumtree' }], ...extra })
  const rng = new SeededRng(seed + 1000)
  for (let i = 0; i < n; i++) sim.add()
  sim.start(0)
  for (let i = 1; i < n; i++) sim.at(i * 20, () => sim.start(i, rng.int(i)))
  sim.runUntil(n * 20 + 10 * 1000)
  return { sim, rng }
}

function invariants(sim: OverlaySim): string[] {
  const out: string[] = []
  for (let i = 0; i < sim.size; i++) if (sim.isAlive(i)) for (const p of sim.hv[i].checkInvariants()) out.push(`node ${i}: ${p}`)
  return out
}

function broadcastReaches(sim: OverlaySim, origin: number, tag: number): number {
  const rec = sim.broadcast(origin, Uint8Array.of(tag, 1, 2, 3), 0)
  sim.runFor(3000)
  return rec.delivered / sim.live
}

test('150 nodes joining one by one form one symmetric overlay with full active views', () => {
  const { sim } = grown(150, 1)
  const o = sim.measure()
  assert.deepEqual(invariants(sim), [])
  assert.equal(o.components, 1)
  assert.equal(o.isolated, 0)
  assert.equal(o.symmetricFraction, 1)
  assert.ok(o.fractionAtActiveSize >= 0.9, `only ${o.fractionAtActiveSize} at full size`)
  assert.equal(o.activeSize.max, 5)
})

test('Plumtree builds a tree: after the first broadcast each one costs N − 1 payload messages and reaches everyone', () => {
  const { sim } = grown(150, 2)
  const first = sim.broadcast(0, Uint8Array.of(1), 0)
  sim.runFor(3000)
  assert.equal(first.delivered, 150)
  for (let b = 0; b < 5; b++) {
    const rec = sim.broadcast(10 * b + 3, Uint8Array.of(2, b), 0)
    sim.runFor(3000)
    assert.equal(rec.delivered, 150)
    assert.equal(rec.payloadMessages, 149, `broadcast ${b}: ${rec.payloadMessages} payload messages`)
  }
})

test('massive failure: after half the nodes vanish silently, keep-alive timeouts and repair give one overlay again and broadcasts reach every live node', () => {
  const { sim, rng } = grown(160, 3, { connectionRefused: false })
  const order = rng.shuffle(Array.from({ length: 160 }, (_, i) => i))
  for (const i of order.slice(0, 80)) sim.crash(i)
  sim.runFor(15_000)
  const o = sim.measure()
  assert.deepEqual(invariants(sim), [])
  assert.equal(o.components, 1, `components ${o.components}, isolated ${o.isolated}`)
  assert.equal(o.symmetricFraction, 1)
  let origin = 0
  while (!sim.isAlive(origin)) origin++
  broadcastReaches(sim, origin, 1) // the first may still be repairing the tree
  assert.equal(broadcastReaches(sim, origin, 2), 1)
  assert.equal(broadcastReaches(sim, origin, 3), 1)
})

test('process crashes: neighbours learn from the reset connections and the first broadcast right after 50 % crashes still reaches every live node', () => {
  const { sim, rng } = grown(160, 4)
  const order = rng.shuffle(Array.from({ length: 160 }, (_, i) => i))
  for (const i of order.slice(0, 80)) sim.crash(i)
  let origin = 0
  while (!sim.isAlive(origin)) origin++
  assert.equal(broadcastReaches(sim, origin, 1), 1)
})

test('graceful leaves are announced as shutdown and the remaining overlay stays connected', () => {
  const { sim } = grown(100, 5)
  for (let i = 0; i < 30; i++) sim.leave(3 * i + 1)
  sim.runFor(5000)
  assert.deepEqual(invariants(sim), [])
  const o = sim.measure()
  assert.equal(o.components, 1)
  assert.equal(o.symmetricFraction, 1)
  const causes = sim.hv.reduce((s, h) => s + h.counters.neighborDown.shutdown, 0)
  assert.ok(causes >= 30, `only ${causes} shutdown causes seen`)
})

test('a partition: each side keeps a connected, symmetric overlay of its own', () => {
  const { sim } = grown(120, 6)
  const a = Array.from({ length: 60 }, (_, i) => i)
  const b = Array.from({ length: 60 }, (_, i) => i + 60)
  sim.network.partition(a, b)
  sim.runFor(20_000)
  assert.deepEqual(invariants(sim), [])
  for (const side of [a, b]) {
    const inSide = new Set(side)
    for (const i of side) {
      const view = sim.hv[i].activeView().map(Number)
      assert.ok(view.length > 0, `node ${i} isolated`)
      assert.ok(view.every((p) => inSide.has(p)), `node ${i} keeps a link across the partition`)
    }
  }
  assert.equal(sim.measure().symmetricFraction, 1)
})

test('property: under any churn schedule, views never hold self or duplicates, stay bounded, and symmetry returns once churn stops', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 8000 }), node: fc.nat(), action: fc.constantFrom('crash', 'leave', 'join') }), { maxLength: 25 }),
      fc.constantFrom(0, 0.05),
      (seed, schedule, loss) => {
        const sim = new OverlaySim({ seed, hyparview: FAST, layers: [{ mode: 'plumtree' }], network: { loss }, connectionRefused: seed % 2 === 0 })
        const rng = new SeededRng(seed)
        const n = 40
        for (let i = 0; i < n; i++) sim.add()
        sim.start(0)
        for (let i = 1; i < n; i++) sim.at(i * 20, () => sim.start(i, rng.int(i)))
        sim.runUntil(n * 20 + 3000)
        const t0 = sim.now
        for (const step of schedule) {
          sim.at(t0 + step.atMs, () => {
            if (step.action === 'join') {
              const live = Array.from({ length: sim.size }, (_, i) => i).filter((i) => sim.isAlive(i))
              const j = sim.add()
              if (live.length > 0) sim.start(j, live[step.node % live.length])
            } else if (sim.live > 10) {
              const i = step.node % sim.size
              if (step.action === 'crash') sim.crash(i)
              else sim.leave(i)
            }
          })
        }
        for (let t = 0; t <= 8000; t += 1000) {
          sim.runUntil(t0 + t)
          assert.deepEqual(invariants(sim), [])
        }
        sim.runFor(20_000)
        assert.deepEqual(invariants(sim), [])
        const o = sim.measure()
        assert.equal(o.symmetricFraction, 1, `seed ${seed}: symmetric ${o.symmetricFraction}`)
        assert.ok(o.activeSize.max <= 5)
      },
    ),
    { numRuns: 12, seed: 15 },
  )
})

test('the same seed gives the same overlay (determinism)', () => {
  const a = grown(60, 9).sim
  const b = grown(60, 9).sim
  for (let i = 0; i < 60; i++) assert.deepEqual(a.hv[i].activeView(), b.hv[i].activeView())
  assert.equal(a.events, b.events)
})
