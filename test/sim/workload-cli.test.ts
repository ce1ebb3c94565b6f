// `grapevine sim` workload flags: rates and the window parse or are refused naming the flag and the
// fix; they reach the scenario and the replay command; a small run prints the stack fields.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseSimFlags, replayCommand, runProblems, runSimCommand, scenarioOf } from '../../src/cli/sim-command.js'
import { UsageError } from '../../src/core/errors.js'
import { parseRate } from '../../src/runtime/sim/scenario-values.js'
import type { Report } from '../../src/runtime/sim/index.js'

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`)
    assert.equal(e.message, message)
    return true
  })
}

const RATE = 'a rate per second of virtual time like 50 or 0.5 (above 0, at most 10000)'

test('workload rates are positive numbers per second', () => {
  assert.equal(parseRate('50', '--kv-writes'), 50)
  assert.equal(parseRate('0.5', '--broadcasts'), 0.5)
  rejects(() => parseRate('0', '--kv-writes'), `--kv-writes: expected ${RATE}, got "0"`)
  rejects(() => parseRate('-2', '--broadcasts'), `--broadcasts: expected ${RATE}, got "-2"`)
  rejects(() => parseRate('50/s', '--kv-writes'), `--kv-writes: expected ${RATE}, got "50/s"`)
  rejects(() => parseRate('20000', '--kv-writes'), `--kv-writes: expected ${RATE}, got "20000"`)
})

test('the workload window needs a workload and must lie within the duration', () => {
  rejects(() => parseSimFlags({ workloadWindow: '10s' }), '--workload-window: there is no workload to time; add --kv-writes RATE, --broadcasts RATE or --crdt-ops RATE')
  rejects(() => parseSimFlags({ duration: '30s', kvWrites: '5', workloadWindow: '40s' }), '--workload-window: 40s must be above 0 and within --duration 30s; shorten it or raise --duration')
  rejects(() => parseSimFlags({ kvWrites: '5', workloadWindow: '10' }), '--workload-window: expected a duration like 30s, 500ms or 2m, got "10"')
})

test('workload flags reach the scenario and the replay command', () => {
  const o = parseSimFlags({ nodes: '200', seed: '7', duration: '60s', kvWrites: '50', broadcasts: '2', workloadWindow: '45s' })
  assert.deepEqual([o.kvWritesPerSec, o.broadcastsPerSec, o.workloadWindowMs], [50, 2, 45_000])
  assert.deepEqual(scenarioOf(o).workload, { kvWritesPerSec: 50, broadcastsPerSec: 2, windowMs: 45_000 })
  assert.equal(replayCommand(o), 'grapevine sim --nodes 200 --seed 7 --duration 1m --profile lan --kv-writes 50 --broadcasts 2 --workload-window 45s')
  const plain = parseSimFlags({ seed: '1' })
  assert.equal(scenarioOf(plain).workload, undefined, 'no workload flag: SWIM alone')
  assert.equal(scenarioOf(parseSimFlags({ seed: '1', broadcasts: '1' })).workload?.kvWritesPerSec, 0)
})

test('a small workload run prints the stack fields, in text and in JSON', async () => {
  let out = ''
  let err = ''
  const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) }
  const flags = { nodes: '20', seed: '5', duration: '5s', kvWrites: '20', broadcasts: '2' }
  assert.equal(await runSimCommand({ ...flags, json: true }, io), 0, err)
  const report = JSON.parse(out) as Report
  assert.equal(typeof report.stateConvergenceMs, 'number')
  assert.match(report.stateDigest!, /^[0-9a-f]{16}$/)
  assert.equal(report.broadcastDelivery!.fraction, 1)
  assert.equal(typeof report.bytesPerUpdate, 'number')
  assert.match(report.replay!, /--kv-writes 20 --broadcasts 2$/)
  out = ''
  assert.equal(await runSimCommand(flags, io), 0, err)
  assert.match(out, /state convergence +\d+(\.\d+)? ms after the last write \(digest [0-9a-f]{16}\)/)
  assert.match(out, /broadcast delivery +100\.00% of 200 \(broadcast, live node\) pairs; latency p50 /)
  assert.match(out, /exactly once/)
  assert.match(out, /grapevine traffic .* per update per node/)
  assert.equal(await runSimCommand({ kvWrites: 'fast' }, io), 2)
  assert.match(err, /^grapevine sim: --kv-writes: expected a rate per second/)
})

test('a run fails when the state does not converge or a broadcast arrives twice', () => {
  const base = { converged: true, workload: { lastWriteAtMs: 1000 }, stateConvergenceMs: 500, broadcastDelivery: { duplicateDeliveries: 0 } } as unknown as Report
  assert.deepEqual(runProblems(base), [])
  assert.deepEqual(runProblems({ ...base, stateConvergenceMs: null }), ['the cluster state did not converge'])
  assert.deepEqual(runProblems({ ...base, broadcastDelivery: { duplicateDeliveries: 2 } } as unknown as Report), ['2 broadcasts were delivered twice'])
  assert.deepEqual(runProblems({ converged: true } as Report), [], 'SWIM-only runs have no stack fields')
})
