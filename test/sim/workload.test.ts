// Scenarios running the whole Grapevine stack under a workload of key writes and broadcasts: the state
// converges after the last write, every live node delivers every broadcast exactly once, with and
// without loss and through a crash; the same seed gives the same report. Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatReport, runScenario } from '../../src/runtime/sim/index.js'
import type { Report, ScenarioOptions } from '../../src/runtime/sim/index.js'
import { Hash64 } from '../../src/runtime/sim/workload.js'

function assertSettled(r: Report): void {
  const text = formatReport(r)
  assert.ok(r.converged, text)
  assert.ok(r.workload !== undefined && r.workload.sets > 0 && r.workload.broadcasts > 0, text)
  assert.ok(r.stateConvergenceMs !== null && r.stateConvergenceMs !== undefined && r.stateConvergenceMs >= 0, text)
  assert.match(r.stateDigest ?? '', /^[0-9a-f]{16}$/)
  const d = r.broadcastDelivery!
  assert.equal(d.fraction, 1, text)
  assert.equal(d.missing, 0, text)
  assert.equal(d.duplicateDeliveries, 0, text)
  assert.ok(d.duplicatesSuppressed > 0, 'rumor mongering sends copies that are suppressed')
  assert.ok(d.latencyMs !== null && d.latencyMs.p50 <= d.latencyMs.p99 && d.latencyMs.p99 <= d.latencyMs.max, text)
  assert.ok(r.bytesPerUpdate !== null && r.bytesPerUpdate !== undefined && r.bytesPerUpdate > 0, text)
  assert.ok(r.workload.grapevineBytes > 0 && r.workload.grapevineMessages > 0)
}

test('a 60-node cluster under writes and broadcasts converges and delivers every broadcast once, through a crash', () => {
  const r = runScenario({
    seed: 31,
    nodes: 60,
    durationMs: 12_000,
    steps: [{ kind: 'crash', count: 1, atMs: 6_000 }],
    workload: { kvWritesPerSec: 30, broadcastsPerSec: 2, windowMs: 10_000 },
  })
  assertSettled(r)
  assert.ok(r.workload!.deletes > 0, 'some writes are deletes')
  assert.equal(r.broadcastDelivery!.liveNodes, 59, 'the crashed node does not count')
  assert.equal(r.broadcastDelivery!.broadcasts, 20)
  assert.equal(r.workload!.sets + r.workload!.deletes, 300)
})

test('with 10% loss the state converges under loss and every broadcast still arrives exactly once', () => {
  const opts: ScenarioOptions = {
    seed: 32,
    nodes: 50,
    durationMs: 14_000,
    network: { packetLossProbability: 0.1 },
    workload: { kvWritesPerSec: 20, broadcastsPerSec: 2, windowMs: 6_000 },
  }
  const r = runScenario(opts)
  assertSettled(r)
  assert.ok(r.network.packetsLost > 0)
  // The last write was before 6 s; convergence came before the settle phase turned loss off at 14 s.
  assert.ok(r.workload!.lastWriteAtMs! + r.stateConvergenceMs! < opts.durationMs, formatReport(r))
})

test('the same seed gives the same whole-stack report', () => {
  const opts: ScenarioOptions = { seed: 33, nodes: 30, durationMs: 6_000, network: { packetLossProbability: 0.05 }, workload: { kvWritesPerSec: 20, broadcastsPerSec: 3 } }
  const strip = (r: Report): unknown => ({ ...r, wallMs: 0, eventsPerWallSec: 0, speedup: 0 })
  const a = runScenario(opts)
  const b = runScenario(opts)
  assert.deepEqual(strip(a), strip(b))
  assert.ok(a.stateDigest !== null)
})

test('a scenario without a workload or stack runs SWIM alone and reports no stack fields', () => {
  const r = runScenario({ seed: 34, nodes: 10, durationMs: 3_000 })
  assert.equal(r.workload, undefined)
  assert.equal(r.stateConvergenceMs, undefined)
  assert.equal(r.broadcastDelivery, undefined)
  assert.equal(r.bytesPerUpdate, undefined)
  assert.ok(!Object.keys(r).includes('stateDigest'))
})

test('stack without a workload: no updates, so no convergence time and no bytes per update', () => {
  const r = runScenario({ seed: 35, nodes: 10, durationMs: 3_000, stack: true })
  assert.equal(r.stateConvergenceMs, null)
  assert.equal(r.workload!.stateConvergenceNote, 'no writes were made')
  assert.equal(r.bytesPerUpdate, null)
  assert.equal(r.broadcastDelivery!.fraction, 1)
  assert.ok(r.workload!.grapevineBytes > 0, 'state rounds run even without writes')
  assert.doesNotMatch(formatReport(r), /state convergence/, 'no key-value writes were asked for: the report says nothing of their convergence')
})

test('a CRDT-only run reports the CRDT convergence and no key-value state convergence', () => {
  const r = runScenario({ seed: 36, nodes: 6, durationMs: 4_000, workload: { kvWritesPerSec: 0, broadcastsPerSec: 0, crdtOpsPerSec: 5 } })
  const text = formatReport(r)
  assert.doesNotMatch(text, /state convergence|NOT REACHED/)
  assert.match(text, /crdt convergence +[\d.]+ m?s after the last op/)
})

test('the state digest is 16 hex chars and tells inputs apart', () => {
  const d = (s: string): string => new Hash64().update(s).hex()
  assert.match(d(''), /^[0-9a-f]{16}$/)
  assert.equal(d('node-001@1\nk1=v1\n'), d('node-001@1\nk1=v1\n'))
  assert.notEqual(d('node-001@1\nk1=v1\n'), d('node-001@1\nk1=v2\n'))
  assert.notEqual(d('ab'), d('ba'))
})
