// The whole stack in the simulator: SWIM + Serf's layer + broadcasts + cluster state + phi, as every
// Grapevine node runs it. Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng, deriveSeed } from '../../src/core/rng.js'
import { Simulation } from '../../src/runtime/sim/index.js'
import { stateDigest } from '../../src/runtime/sim/workload.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { SerfLayer } from '../../src/serf/serf-layer.js'
import { createGrapevineStack } from '../../src/stack/create.js'
import type { GrapevineStack } from '../../src/stack/create.js'
import { markMeta } from '../../src/stack/envelope.js'
import { encodeTags } from '../../src/runtime/node/tags.js'

interface Cluster {
  sim: Simulation
  nodes: SimNode[]
  stacks: Map<string, GrapevineStack>
  deliveries: Map<string, string[]>
}

function cluster(seed: number, n: number, loss = 0): Cluster {
  const sim = new Simulation({ seed, network: { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5, loss } })
  const stacks = new Map<string, GrapevineStack>()
  const deliveries = new Map<string, string[]>()
  const starts = new Map<string, number>()
  const nodes = sim.spawn(n, {
    meta: markMeta(encodeTags({ role: 'sim' })),
    delegate: ({ index, name }) => {
      const start = (starts.get(name) ?? 0) + 1
      starts.set(name, start)
      const serf = new SerfLayer({ name, retransmitMult: 4, clusterSize: () => n })
      const s = createGrapevineStack({
        name,
        serf,
        rng: new SeededRng(deriveSeed(deriveSeed(seed, index), start)),
        generation: start,
        onDelivery: (d) => {
          const list = deliveries.get(name) ?? []
          list.push(d.id)
          deliveries.set(name, list)
        },
      })
      stacks.set(name, s)
      return s.stack
    },
  })
  return { sim, nodes, stacks, deliveries }
}

const stateHash = (s: GrapevineStack): string => stateDigest(s.state.reconciler.state)

test('broadcasts through the whole stack reach every node exactly once', () => {
  const c = cluster(21, 40)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  c.sim.runFor(2_000) // the mark travels with every alive: all peers know each other as Grapevine
  const ids: string[] = []
  for (let i = 0; i < 10; i++) {
    const from = c.nodes[(i * 7) % c.nodes.length]
    c.sim.at(c.sim.nowMs + i * 50, () => ids.push(c.stacks.get(from.name)!.broadcasts.broadcast('deploy', Uint8Array.of(i), c.sim.nowMs).id))
  }
  c.sim.runFor(10_000)
  assert.equal(ids.length, 10)
  for (const node of c.nodes) {
    const got = c.deliveries.get(node.name) ?? []
    assert.deepEqual([...got].sort(), [...ids].sort(), `${node.name} got each broadcast once`)
  }
})

test('cluster state through the whole stack converges, with 10% loss, and a restarted node’s new generation wins', () => {
  const c = cluster(22, 30, 0.1)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 90_000), 'membership converged')
  for (let i = 0; i < 300; i++) {
    const node = c.nodes[i % c.nodes.length]
    c.sim.at(c.sim.nowMs + i * 20, () => c.stacks.get(node.name)!.state.reconciler.state.set(`k${i % 40}`, `v${i}`))
  }
  const del = c.nodes[3]
  c.sim.at(c.sim.nowMs + 7_000, () => c.stacks.get(del.name)!.state.reconciler.state.delete('k3', c.sim.nowMs))
  const converged = (): boolean => new Set(c.nodes.map((n) => stateHash(c.stacks.get(n.name)!))).size === 1
  c.sim.runFor(8_000)
  assert.ok(c.sim.runUntil(converged, 60_000), 'state converged')
  for (const n of c.nodes) assert.equal(c.stacks.get(n.name)!.state.reconciler.state.get(del.name, 'k3'), undefined)
  // Restart: a new generation with an empty map replaces the old one everywhere.
  const r = c.nodes[5]
  assert.ok((c.stacks.get(c.nodes[0].name)!.state.reconciler.state.entries(r.name)).length > 0)
  c.sim.restart(r)
  c.sim.at(c.sim.nowMs + 1_000, () => c.stacks.get(r.name)!.state.reconciler.state.set('fresh', 'yes'))
  assert.ok(c.sim.runUntil(() => c.nodes.every((n) => c.stacks.get(n.name)!.state.reconciler.state.get(r.name, 'fresh') === 'yes'), 60_000))
  for (const n of c.nodes) assert.deepEqual(c.stacks.get(n.name)!.state.reconciler.state.entries(r.name), [['fresh', 'yes']])
})

test('phi from state heartbeats: low for live members, crosses the threshold for a crashed one', () => {
  const c = cluster(23, 12)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000))
  c.sim.runFor(30_000)
  const watcher = c.stacks.get(c.nodes[0].name)!
  for (const n of c.nodes.slice(1)) {
    const phi = watcher.phi.phi(n.name, c.sim.nowMs)
    assert.ok(phi !== undefined && phi < 8, `phi of live ${n.name} = ${phi}`)
  }
  const victim = c.nodes[7]
  c.sim.crash(victim)
  c.sim.runFor(15_000)
  const phi = watcher.phi.phi(victim.name, c.sim.nowMs)
  assert.ok(phi !== undefined && phi >= 8, `phi of crashed ${victim.name} = ${phi}`)
})
