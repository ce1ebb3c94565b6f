/**
 * What keeps the simulator fast at 10,000 nodes without changing what it simulates: a node's virtual
 * IP read back to its index without a map, and a hyparview node spawned with seeds sending one JOIN.
 *
 *   nodeIp(i) ──nodeIndexOfIp──▶ i          (any other text ──▶ -1, then the simulation's map)
 *   spawn(join: [contact]) ──start, join──▶ exactly one JOIN per node
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { nodeIndexOfIp, nodeIp } from '../../src/runtime/sim/names.js'
import { Simulation } from '../../src/runtime/sim/simulation.js'

test('every simulated node index reads back from its virtual IP, and no other text reads as one', () => {
  for (let i = 0; i < 250 * 256; i++) assert.equal(nodeIndexOfIp(nodeIp(i)), i)
  for (const ip of ['127.1.3', '127.1..5', '127.1.3.0', '127.1.3.251', '127.1.3.5x', '127.1.3.5.', '10.0.0.1', '127.10.3.5', '::1', '']) {
    assert.equal(nodeIndexOfIp(ip), -1, ip)
  }
})

test('the simulation finds a packet\'s target by its IP, and an address no node owns is nowhere', () => {
  const sim = new Simulation({ seed: 3, node: { membership: 'hyparview' } })
  const nodes = sim.spawn(300, { join: false })
  for (const n of [nodes[0], nodes[249], nodes[250], nodes[299]]) assert.equal(sim.nodeAt(n.address), n)
  assert.equal(sim.nodeAt({ ip: nodeIp(300), port: 7946 }), undefined)
  assert.equal(sim.nodeAt({ ip: nodes[5].address.ip, port: 1 }), undefined)
})

test('a hyparview node spawned with a seed sends one JOIN: starting does not join, join() does', () => {
  const sim = new Simulation({ seed: 11, network: { latencyMs: [1, 10] }, node: { membership: 'hyparview', state: { roundIntervalMs: 0 } } })
  let joins = 0
  sim.observe({ onPacket: (_from, _to, bytes) => { if (bytes[1] === 1) joins++ } })
  sim.spawn(1)
  for (let i = 1; i < 30; i++) sim.at(i * 10, () => sim.spawn(1, { join: [sim.nodes[0]] }))
  sim.runUntilTime(5000)
  assert.equal(joins, 29)
  const views = sim.nodes.map((n) => (n.protocol as unknown as { overlay: { hv: { activeSize: number } } }).overlay.hv.activeSize)
  assert.ok(views.every((v) => v >= 1), `every node has a neighbour: ${views.join(',')}`)
})
