// Calm healing (on by default) in the simulator: two sides of a cluster (SWIM alone, for speed; the whole stack is
// measured on examples/two-dc-partition.yaml in the README) lose each other for 60 s, each
// declares the other dead, then the link heals. Each side's push-pull states hold the other side's
// members dead. With calm healing nobody then suspects the members it hears from itself: no node sees
// fewer members alive after the heal than just before it. memberlist's rules (calmHealing off) make
// nodes suspect their own neighbours by the dozen for a moment.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/runtime/sim/index.js'
import type { SimNode } from '../../src/runtime/sim/index.js'
import type { SwimConfig } from '../../src/swim/config.js'

const SIDE = 15

function heal(seed: number, calmHealing: boolean, config: Partial<SwimConfig> = {}): { dippedNodes: number; worstDip: number; allSeeAllMs: number | undefined } {
  const sim = new Simulation({ seed, node: { membershipOnly: true }, config: { calmHealing, ...config }, network: { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5 } })
  const nodes = sim.spawn(2 * SIDE)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000), `initial join, seed ${seed}`)
  sim.partition(nodes.slice(0, SIDE), nodes.slice(SIDE))
  sim.runFor(60_000)
  const aliveSeen = (n: SimNode): number => n.members().filter((m) => m.state === 'alive').length
  const before = new Map(nodes.map((n) => [n.name, aliveSeen(n)]))
  for (const n of nodes) assert.equal(before.get(n.name), SIDE, `${n.name} sees its own side only before the heal (seed ${seed})`)
  const fewest = new Map(before)
  const healedAt = sim.nowMs
  let allSeeAllMs: number | undefined
  sim.observe({
    onEvent(node) {
      const seen = aliveSeen(node)
      if (seen < (fewest.get(node.name) ?? 0)) fewest.set(node.name, seen)
      if (allSeeAllMs === undefined && nodes.every((n) => aliveSeen(n) === 2 * SIDE)) allSeeAllMs = sim.nowMs - healedAt
    },
  })
  sim.heal()
  sim.runFor(40_000)
  const dips = nodes.map((n) => (before.get(n.name) ?? 0) - (fewest.get(n.name) ?? 0))
  return { dippedNodes: dips.filter((d) => d > 0).length, worstDip: Math.max(...dips), allSeeAllMs }
}

test('after a healed partition no node sees fewer members alive than just before, and all see all again', () => {
  for (const seed of [1, 2]) {
    const calm = heal(seed, true)
    assert.equal(calm.dippedNodes, 0, `seed ${seed}: ${JSON.stringify(calm)}`)
    // Every node sees every member alive within 10 s of the heal (the bound).
    assert.ok(calm.allSeeAllMs !== undefined && calm.allSeeAllMs <= 10_000, `seed ${seed}: ${JSON.stringify(calm)}`)
  }
  // The contrast, memberlist's rules: the push-pull states' dead entries become suspicions of neighbours.
  const classic = heal(1, false, { finalProbe: false, directRefutation: false, suspicionReminders: false, deadProbeWindowMs: 0 })
  assert.ok(classic.dippedNodes > 0, `calmHealing off: ${JSON.stringify(classic)}`)
})
