// Every replicated type under the simulator's faults, through the CRDT workload on the whole stack
// (--crdt-ops): 10 % loss and a 30 s partition. Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatReport, runScenario } from '../../src/runtime/sim/index.js'

const EVERY_TYPE = ['counter/ops', 'flag/maintenance', 'gcounter/hits', 'map/config', 'mvregister/owner', 'register/leader', 'set/members']

test('under 10 % loss every type converges to one state on every node and every counter is exact', () => {
  const r = runScenario({
    seed: 61,
    nodes: 8,
    durationMs: 14_000,
    network: { packetLossProbability: 0.1 },
    workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 25, windowMs: 10_000 },
  })
  const text = formatReport(r)
  assert.deepEqual(r.crdt!.keys, EVERY_TYPE, text)
  assert.equal(r.crdtExact, true, text)
  assert.equal(r.crdt!.lost, 0, text)
})

test('across a 30 s partition both sides keep writing, and after the heal every type converges with every counter exact', () => {
  const r = runScenario({
    seed: 62,
    nodes: 6,
    durationMs: 38_000,
    steps: [{ kind: 'partition', fraction: 0.5, atMs: 3_000, lengthMs: 30_000 }],
    workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 8, windowMs: 32_000 },
  })
  const text = formatReport(r)
  assert.ok(r.crdt!.ops >= 250, text)
  assert.deepEqual(r.crdt!.keys, EVERY_TYPE, text)
  assert.equal(r.crdtExact, true, text)
  assert.ok(r.crdtConvergenceMs !== null, text)
})
