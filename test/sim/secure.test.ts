// Encryption in the simulator: a keyed cluster converges under loss with nonces from the seeded
// generator (the same seed replays the same bytes), every packet carries the envelope, and a node with
// another key never gets in.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { Simulation } from '../../src/runtime/sim/simulation.js'
import { nodeAead } from '../../src/wire/aead-node.js'

const rng = new SeededRng(21)
const KEY = rng.bytes(32)
const OTHER = rng.bytes(32)

function run(seed: number, keyed: boolean, outsider: boolean): { sim: Simulation; packets: number; bytes: number } {
  const sim = new Simulation({
    seed,
    recordEvents: true,
    network: { latencyMs: [1, 8], packetLossProbability: 0.02 },
    aead: nodeAead,
    nodeFor: keyed ? (index) => ({ encryption: { keys: [outsider && index === 8 ? OTHER : KEY] } }) : undefined,
  })
  sim.spawn(8)
  sim.runFor(20_000)
  if (outsider) sim.spawn(1)
  sim.runFor(20_000)
  let packets = 0
  let bytes = 0
  for (const n of sim.nodes.slice(0, 8)) {
    packets += n.counters.packetsSent
    bytes += n.counters.bytesSent
  }
  return { sim, packets, bytes }
}

test('an encrypted simulated cluster converges and replays from its seed', () => {
  const a = run(5, true, false)
  assert.ok(a.sim.convergence().converged, JSON.stringify(a.sim.convergence().examples))
  for (const n of a.sim.nodes) assert.equal(n.protocol.members().filter((m) => m.state === 'alive').length, 8)
  const b = run(5, true, false)
  assert.deepEqual([b.packets, b.bytes], [a.packets, a.bytes], 'the same seed gives the same encrypted run')
  const plain = run(5, false, false)
  // Every packet carries 29 more bytes (version, nonce, tag); the packing budget is the caller's.
  assert.ok(a.bytes > plain.bytes, `${a.bytes} encrypted vs ${plain.bytes} plain`)
})

test('a simulated node with another key never gets in', () => {
  const { sim } = run(6, true, true)
  const outsider = sim.nodes[8]
  for (const n of sim.nodes.slice(0, 8)) {
    assert.ok(!n.protocol.members().some((m) => m.name === outsider.name), `${n.name} let the outsider in`)
    assert.equal(n.protocol.members().filter((m) => m.state === 'alive').length, 8)
  }
  assert.equal(outsider.protocol.members().length, 1)
  const drops = sim.nodes[0].events.filter((e) => e.event.type === 'dropped' && e.event.reason === 'decrypt-failed').length
  assert.ok(drops > 0, 'the seed counted the outsider\'s traffic')
})
