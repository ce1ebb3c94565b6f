// The CRDT workload (--crdt-ops) with nodes crashing and restarting, with simulated data directories
// (--crdt-durable) and without: what durability keeps, and what a restart without it loses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatReport, runScenario, type ScenarioOptions } from '../../src/runtime/sim/index.js'

const crashing = (crdtDurable: boolean): ScenarioOptions => ({
  seed: 71,
  nodes: 6,
  durationMs: 18_000,
  network: { packetLossProbability: 0.05 },
  // Two nodes crash every 4 s and come back 2 s later, while every node writes.
  steps: [{ kind: 'crash', count: 2, downMs: 2_000, atMs: 3_000, everyMs: 4_000, times: 3 }],
  workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 60, windowMs: 14_000, crdtDurable },
})

test('with data directories, nodes that crash right after writing restart with their state: every type converges and every counter is exact', () => {
  const r = runScenario(crashing(true))
  const text = formatReport(r)
  assert.equal(r.crdt!.durable, true)
  assert.equal(r.crdt!.keys!.length, 7, text)
  assert.equal(r.crdtExact, true, text)
  assert.equal(r.crdt!.lost, 0, text)
  assert.match(text, /data directories on/)
})

test('without them the same run loses the increments crashed nodes had not sent yet, and never counts one twice', () => {
  const r = runScenario(crashing(false))
  const text = formatReport(r)
  assert.equal(r.crdt!.durable, false)
  assert.equal(r.crdtExact, false, text)
  assert.ok(r.crdt!.lost! > 0, text)
  assert.ok(r.crdt!.lost! < r.crdt!.increments / 10, `only what was in flight at the crashes: ${text}`)
  assert.match(text, /NOT EXACT \(\d+ performed; \d+ increments missing over all counters\)/)
})
