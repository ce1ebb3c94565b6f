// CRDT replication on the whole stack in the simulator: every type converges under loss and through a
// partition, and a counter converges to exactly the increments performed. Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stackCluster } from '../helpers/stack-cluster.js'
import { crdtConverged, replicatorOf, write } from './sim-helpers.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import type { Simulation } from '../../src/runtime/sim/index.js'

/** A mixed workload over every type; returns the increments made to counter/hits. */
function workload(sim: Simulation, nodes: readonly SimNode[], ops: number, everyMs: number, seed: number): { increments: number } {
  let increments = 0
  let x = seed
  const next = (n: number): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n)
  for (let i = 0; i < ops; i++) {
    sim.at(sim.nowMs + i * everyMs, () => {
      const live = nodes.filter((n) => n.status === 'running')
      const node = live[next(live.length)]
      const by = 1 + next(5)
      switch (i % 7) {
        case 0:
        case 1:
          increments += by
          return write(sim, node, (r) => r.write('counter', 'hits', (s, id) => s.increment(id, by)))
        case 2:
          return write(sim, node, (r) => r.write('set', 'features', (s, id) => s.add(id, `f${next(12)}`)))
        case 3:
          return write(sim, node, (r) => r.write('set', 'features', (s) => s.remove(`f${next(12)}`)))
        case 4:
          return write(sim, node, (r, now) => r.write('register', 'leader', (s, id, clock) => s.assign(id, node.name, clock, now)))
        case 5:
          return write(sim, node, (r) => r.write('flag', 'maintenance', (s, id) => (next(2) === 0 ? s.enable(id) : s.disable())))
        default:
          return write(sim, node, (r) => r.write('map', 'config', (s, id) => s.increment(id, `c${next(3)}`, by)))
      }
    })
  }
  return {
    get increments() {
      return increments
    },
  }
}

const KEYS = 5

test('every type converges on 12 nodes under 10 % loss, and the counter equals the increments performed', () => {
  const c = stackCluster(301, 12, { loss: 0.1 })
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  c.sim.runFor(2_000)
  const w = workload(c.sim, c.nodes, 140, 50, 7)
  c.sim.runFor(140 * 50)
  const start = c.sim.nowMs
  assert.ok(c.sim.runUntil((s) => crdtConverged(s, KEYS), 60_000, { checkEveryMs: 100 }), 'CRDT state converged')
  const took = c.sim.nowMs - start
  for (const n of c.nodes) assert.equal(replicatorOf(n).get('counter', 'hits')!.value(), w.increments, `${n.name} counts every increment`)
  assert.ok(took < 15_000, `converged ${took} ms after the last write`)
})

test('every type converges after a 30 s partition with writes on both sides', () => {
  const c = stackCluster(302, 12)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  c.sim.runFor(2_000)
  const [a, b] = [c.nodes.slice(0, 6), c.nodes.slice(6)]
  const ids = c.sim.partition(a, b)
  const w = workload(c.sim, c.nodes, 140, 200, 11)
  c.sim.runFor(30_000)
  // Each side converged on its own; the two differ.
  c.sim.unblock(ids)
  c.sim.heal()
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 120_000), 'membership healed')
  assert.ok(c.sim.runUntil((s) => crdtConverged(s, KEYS), 60_000, { checkEveryMs: 100 }), 'CRDT state converged after the heal')
  for (const n of c.nodes) assert.equal(replicatorOf(n).get('counter', 'hits')!.value(), w.increments, `${n.name} counts every increment`)
})
