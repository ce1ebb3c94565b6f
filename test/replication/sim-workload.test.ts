// The CRDT workload of the simulator (--crdt-ops, scenario field crdtOps): its report fields, on the
// whole stack under loss and a partition, and the command line and scenario file that set it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatReport, runScenario } from '../../src/runtime/sim/index.js'
import { parseScenario } from '../../src/runtime/sim/scenario-file.js'
import { parseSimFlags, replayCommand, scenarioOf } from '../../src/cli/sim-command.js'

test('under 10 % loss and a 30 % partition the CRDT workload converges, the counter exact, and reports its bytes per op', () => {
  const r = runScenario({
    seed: 41,
    nodes: 12,
    durationMs: 15_000,
    network: { packetLossProbability: 0.1 },
    steps: [{ kind: 'partition', fraction: 0.3, atMs: 4_000, lengthMs: 6_000 }],
    workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 15, windowMs: 12_000 },
  })
  const text = formatReport(r)
  assert.equal(r.crdt!.ops, 180, text)
  assert.ok(r.crdtConvergenceMs !== null && r.crdtConvergenceMs !== undefined, text)
  assert.equal(r.crdtExact, true, text)
  assert.equal(r.crdt!.counterValue, r.crdt!.increments)
  assert.ok(r.bytesPerOp! > 0 && r.crdt!.crdtBytes > 0, text)
  assert.match(text, /crdt convergence\s+[\d.]+ ms after the last op \(digest [0-9a-f]{16}\); counter \d+ exact/)
})

test('--crdt-ops and the scenario field crdtOps set the workload; a bad rate names the flag', () => {
  const o = parseSimFlags({ nodes: '10', seed: '1', crdtOps: '25' })
  assert.equal(scenarioOf(o).workload?.crdtOpsPerSec, 25)
  assert.throws(() => parseSimFlags({ nodes: '10', seed: '1', crdtOps: 'lots' }), /--crdt-ops/)
  const file = parseScenario('nodes: 10\nduration: 20s\nworkload: { crdtOps: 4 }\ntimeline:\n  - { at: 5s, do: crash, count: 1 }\n', 'crdt.yaml')
  assert.equal(file.scenario.workload?.crdtOpsPerSec, 4)
})

test('--crdt-durable and the scenario field crdtDurable turn the simulated data directories on, and each asks for a CRDT workload', () => {
  const o = parseSimFlags({ nodes: '10', seed: '1', crdtOps: '25', crdtDurable: true })
  assert.equal(scenarioOf(o).workload?.crdtDurable, true)
  assert.match(replayCommand(o), /--crdt-ops 25 --crdt-durable/)
  assert.throws(() => parseSimFlags({ nodes: '10', seed: '1', crdtDurable: true }), /--crdt-durable: there is no CRDT workload.*--crdt-ops/)
  const file = parseScenario('nodes: 10\nduration: 20s\nworkload: { crdtOps: 4, crdtDurable: true }\ntimeline:\n  - { at: 5s, do: crash, count: 1 }\n', 'crdt.yaml')
  assert.equal(file.scenario.workload?.crdtDurable, true)
  assert.throws(() => parseScenario('nodes: 10\nduration: 20s\nworkload: { kvWrites: 4, crdtDurable: true }\ntimeline:\n  - { at: 5s, do: crash, count: 1 }\n', 'crdt.yaml'), /crdtDurable.*add crdtOps/)
})

test('crdtStartMs holds the CRDT ops back until the joins settled, and one that leaves no time is refused', () => {
  const r = runScenario({ seed: 43, nodes: 4, durationMs: 5_000, workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 5, windowMs: 1_000, crdtStartMs: 3_000 } })
  assert.equal(r.crdt!.ops, 5)
  assert.ok(r.crdt!.lastOpAtMs! >= 3_800 && r.crdt!.lastOpAtMs! < 4_000, `last op at ${r.crdt!.lastOpAtMs}`)
  assert.equal(r.crdtExact, true)
  assert.throws(() => runScenario({ seed: 43, nodes: 4, durationMs: 2_000, workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 5, crdtStartMs: 2_000 } }), /crdtStartMs: 2000 ms leaves no time/)
})
