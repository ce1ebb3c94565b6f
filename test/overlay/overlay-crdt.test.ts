// Replicated data types with membership: 'hyparview' (node/overlay-crdt.ts), in the simulator with fixed
// seeds and virtual time: deltas spread over sampled overlay peers, anti-entropy repairs loss and catches
// up a late joiner, idle nodes arm no round, and what needs full membership is refused naming the mode.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/runtime/sim/simulation.js'
import { ComposedNode } from '../../src/node/node.js'
import { ConfigError } from '../../src/core/errors.js'
import type { NodeSettings } from '../../src/node/settings.js'
import { crdtConverged, replicatorOf, write } from '../replication/sim-helpers.js'

const FAST: NodeSettings = {
  membership: 'hyparview',
  overlay: { hyparview: { shuffleIntervalMs: 2000, keepAliveIntervalMs: 500, keepAliveTimeoutMs: 2000, neighborRequestTimeoutMs: 500 } },
}

function grown(count: number, seed: number, loss = 0): Simulation {
  const sim = new Simulation({ seed, node: FAST, network: { packetLossProbability: loss } })
  sim.spawn(1)
  sim.spawn(count - 1, { joinSpreadMs: 3000 })
  sim.runFor(15_000)
  return sim
}

test('CRDT writes on many nodes converge at all 40 nodes of a hyparview cluster, the counter exact, under 5 % loss', () => {
  const sim = grown(40, 21, 0.05)
  let increments = 0
  for (let i = 0; i < 60; i++) {
    const node = sim.nodes[(i * 7) % 40]
    sim.at(sim.nowMs + i * 50, () => {
      increments += 1 + (i % 3)
      write(sim, node, (r) => r.write('counter', 'hits', (s, id) => s.increment(id, 1 + (i % 3))))
      if (i % 4 === 0) write(sim, node, (r) => r.write('set', 'features', (s, id) => s.add(id, `f${i % 9}`)))
    })
  }
  sim.runFor(3000)
  const start = sim.nowMs
  assert.ok(sim.runUntil((s) => crdtConverged(s, 2), 60_000, { checkEveryMs: 100 }), 'CRDT state converged')
  for (const n of sim.nodes) assert.equal(replicatorOf(n).get('counter', 'hits')!.value(), increments, `${n.name} counts every increment`)
  assert.ok(sim.nowMs - start < 20_000, `converged ${sim.nowMs - start} ms after the last write`)
  const o = (sim.nodes[3].protocol as ComposedNode).overlay!.stats()
  assert.ok(o.crdt !== undefined && o.crdt.rounds > 0 && o.crdt.messagesSent > 0 && o.crdt.messagesReceived > 0, JSON.stringify(o.crdt))
  // No SWIM underneath: the replication rode on the overlay alone.
  assert.equal((sim.nodes[3].protocol as ComposedNode).stats.probes, 0)
})

test('a node that joins after the writes catches up through anti-entropy with its neighbours', () => {
  const sim = grown(20, 22)
  for (let i = 0; i < 10; i++) write(sim, sim.nodes[i], (r) => r.write('counter', 'hits', (s, id) => s.increment(id, 2)))
  sim.runFor(10_000)
  assert.ok(crdtConverged(sim, 1))
  const [late] = sim.spawn(1, { join: [sim.nodes[5]] })
  assert.ok(sim.runUntil(() => replicatorOf(late).get('counter', 'hits')?.value() === 20, 30_000, { checkEveryMs: 100 }), 'the late joiner caught up')
})

test('nodes that hold no replicated data arm no CRDT round: an idle overlay wakes only for its own timers', () => {
  const sim = grown(10, 23)
  for (const n of sim.nodes) {
    const c = (n.protocol as ComposedNode).overlay!.stats().crdt!
    assert.equal(c.rounds, 0, `${n.name} ran CRDT rounds with nothing to replicate`)
    assert.equal(c.messagesSent, 0)
  }
})

test("user events, queries and CRDT consistency levels are refused naming membership 'hyparview', and nothing is sent", () => {
  const sim = grown(5, 24)
  const node = sim.nodes[2]
  const refused = (fn: (p: ComposedNode, now: number, out: Parameters<ComposedNode['start']>[1]) => unknown, what: RegExp): void => {
    assert.throws(
      () => sim.invoke(node, (p, now, out) => fn(p as ComposedNode, now, out)),
      (e: unknown) => {
        const err = e instanceof ConfigError ? e : (e as Error).cause
        return err instanceof ConfigError && /membership: 'hyparview'/.test(err.message) && what.test(err.message) && /partial view/.test(err.message)
      },
    )
  }
  refused((p, now, out) => p.userEvent('deploy', Uint8Array.of(1), false, now, out), /user events .*broadcast/)
  refused((p, now, out) => p.query('who', Uint8Array.of(1), {}, now, out), /queries/)
})
