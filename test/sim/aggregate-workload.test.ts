// The aggregate workload of `grapevine sim` (--aggregate, scenario field workload.aggregate): flags and
// file fields parse or are refused naming the field and the fix, they reach the scenario and the replay
// command, and a run on 24 nodes reports each function's error per epoch against the truth, which
// follows a crash. Fixed seeds, virtual time; the aggregates ride on each node's own stack.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseSimFlags, replayCommand, scenarioOf } from '../../src/cli/sim-command.js'
import { UsageError } from '../../src/core/errors.js'
import { parseScenario, ScenarioFileError } from '../../src/runtime/sim/scenario-file.js'
import { runScenario } from '../../src/runtime/sim/scenario.js'
import { formatReport } from '../../src/runtime/sim/report.js'
import { aggregateTheory, truthOf } from '../../src/runtime/sim/aggregate-workload.js'

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`)
    assert.equal(e.message, message)
    return true
  })
}

test('--aggregate takes a list of functions or all, with mode, cycle and epoch length, and refuses the rest naming the fix', () => {
  assert.deepEqual(parseSimFlags({ aggregate: 'avg,count' }).aggregate, { functions: ['avg', 'count'] })
  assert.deepEqual(parseSimFlags({ aggregate: 'all', aggregateMode: 'push-sum', aggregateCycle: '200ms', aggregateEpochCycles: '10' }).aggregate, {
    functions: ['avg', 'sum', 'count', 'min', 'max'], mode: 'push-sum', cycleMs: 200, epochCycles: 10,
  })
  rejects(() => parseSimFlags({ aggregate: 'avg,cout' }), '--aggregate: "cout" is not an aggregate function (did you mean "count"?); expected a comma-separated list of avg, sum, count, min, max, or all')
  rejects(() => parseSimFlags({ aggregate: 'avg', aggregateMode: 'push-pul' }), '--aggregate-mode: expected push-pull or push-sum, got "push-pul" (did you mean "push-pull"?)')
  rejects(() => parseSimFlags({ aggregate: 'avg', aggregateCycle: '10ms' }), '--aggregate-cycle: expected a duration from 50ms to 60m in whole milliseconds, like 1s or 200ms, got "10ms"')
  rejects(() => parseSimFlags({ aggregate: 'avg', aggregateEpochCycles: '1' }), '--aggregate-epoch-cycles: expected an integer from 2 to 10000 like 20, got "1"')
  rejects(() => parseSimFlags({ aggregateMode: 'push-sum' }), '--aggregate-mode: there is no aggregate to set it for; add --aggregate avg (or a list like avg,count, or all)')
  rejects(() => parseSimFlags({ aggregate: 'avg', membershipOnly: true }), '--membership-only: a workload (--kv-writes, --broadcasts, --crdt-ops, --aggregate) needs the whole stack; drop --membership-only or the workload')
})

test('--aggregate reaches the scenario and the replay command', () => {
  const o = parseSimFlags({ nodes: '200', seed: '7', duration: '2m', aggregate: 'avg,count', aggregateMode: 'push-sum', aggregateCycle: '500ms' })
  assert.deepEqual(scenarioOf(o).workload, { kvWritesPerSec: 0, broadcastsPerSec: 0, aggregate: { functions: ['avg', 'count'], mode: 'push-sum', cycleMs: 500 } })
  assert.equal(replayCommand(o), 'grapevine sim --nodes 200 --seed 7 --duration 2m --profile lan --aggregate avg,count --aggregate-mode push-sum --aggregate-cycle 500ms')
})

test('a scenario file sets the aggregate workload as a list or a map, and each bad field is named with its line', () => {
  const base = 'nodes: 20\nduration: 30s\ntimeline: []\n'
  assert.deepEqual(parseScenario(`${base}workload: { aggregate: [avg, max] }\n`).scenario.workload, { kvWritesPerSec: 0, broadcastsPerSec: 0, aggregate: { functions: ['avg', 'max'] } })
  assert.deepEqual(parseScenario(`${base}workload:\n  aggregate: { functions: all, mode: push-sum, cycle: 250ms, epochCycles: 12 }\n`).scenario.workload?.aggregate, {
    functions: ['avg', 'sum', 'count', 'min', 'max'], mode: 'push-sum', cycleMs: 250, epochCycles: 12,
  })
  assert.throws(() => parseScenario(`${base}workload:\n  aggregate:\n    functions: [avg, medain]\n    mod: push-sum\n    epochCycles: 0\n`, 'agg.yaml'), (e: unknown) => {
    assert.ok(e instanceof ScenarioFileError)
    const lines = e.message.split('\n')
    assert.equal(lines.length, 3, e.message)
    assert.match(lines[0], /^agg\.yaml:6: workload\.aggregate\.functions\[1\]: "medain" is not an aggregate function/)
    assert.match(e.message, /agg\.yaml:7: workload\.aggregate\.mod: unknown field \(did you mean "mode"\?\)/)
    assert.match(e.message, /agg\.yaml:8: workload\.aggregate\.epochCycles: expected an integer from 2 to 10000 like 20, got "0"/)
    return true
  })
  assert.throws(() => parseScenario(`${base}workload: { aggregate: { mode: push-sum } }\n`, 'x.yaml'), /x\.yaml:4: workload\.aggregate: needs functions: a list of avg, sum, count, min, max \(or all\)/)
})

test('the theory beside the figures: push-pull needs about 7 cycles for the std of 50 values 1..100 to reach 1 %, count about 11 at 50 nodes', () => {
  const values = Array.from({ length: 50 }, (_, i) => 1 + ((i * 37) % 100))
  assert.equal(truthOf('count', values), 50)
  assert.equal(truthOf('min', values), Math.min(...values))
  const avg = aggregateTheory('avg', 'push-pull', values)
  assert.ok(Math.abs(avg.varianceFactorPerCycle! - 0.3033) < 1e-4)
  assert.ok(avg.cyclesToStdWithin1Pct! >= 6 && avg.cyclesToStdWithin1Pct! <= 8, String(avg.cyclesToStdWithin1Pct))
  // Count starts from one node's weight: relative variance N − 1 = 49; 0.303^c < 1e-4 / 49 at c = 11.
  assert.equal(aggregateTheory('count', 'push-pull', values).cyclesToStdWithin1Pct, 11)
  assert.equal(aggregateTheory('count', 'push-sum', values).cyclesToStdWithin1Pct, 19)
  assert.equal(aggregateTheory('max', 'push-sum', values).varianceFactorPerCycle, null)
})

test('on 24 nodes every function reaches 1 % of the truth, the report gives each epoch\'s error, and after crashes and a restart the truth and the estimates follow', { timeout: 60_000 }, () => {
  const report = runScenario({
    seed: 5, nodes: 24, durationMs: 32_000, settleMaxMs: 30_000,
    steps: [{ kind: 'crash', nodes: ['node-010', 'node-011', 'node-012'], atMs: 14_000 }, { kind: 'restart', nodes: ['node-005'], atMs: 18_000 }],
    workload: { aggregate: { functions: ['avg', 'sum', 'count', 'min', 'max'], cycleMs: 200, epochCycles: 20 } },
  })
  const a = report.aggregate!
  assert.deepEqual([a.mode, a.cycleMs, a.epochCycles], ['push-pull', 200, 20])
  for (const f of a.functions) {
    assert.ok(f.firstWithin1PctMs !== null && f.firstWithin1PctMs <= 12_000, `${f.function}: all within 1 % by 12 s, got ${f.firstWithin1PctMs}`)
    assert.ok(f.epochs.length >= 7, `${f.function}: an epoch every 4 s, got ${f.epochs.length}`)
    const last = f.epochs[f.epochs.length - 2]
    assert.equal(last.truth, f.truthAtEnd, `${f.function}: the late epochs are measured against the 21 survivors`)
    // node-005's new process runs the aggregates too (the workload starts them after a restart): 21 publish.
    assert.ok(last.nodes >= 21, `${f.function}: every survivor, the restarted one included, published epoch ${last.epoch}: ${last.nodes}`)
    const bound = f.function === 'min' || f.function === 'max' ? 0 : 1e-3
    assert.ok(last.maxRelativeError <= bound, `${f.function}: epoch ${last.epoch} within ${bound}: ${last.maxRelativeError}`)
    assert.ok(f.cyclesToWithin1Pct.some((c) => c !== null && c <= 20), `${f.function}: some epoch within 1 % everywhere: ${JSON.stringify(f.cyclesToWithin1Pct)}`)
  }
  assert.equal(a.functions.find((f) => f.function === 'count')!.truthAtEnd, 21)
  const text = formatReport(report)
  assert.match(text, /aggregate\s+push-pull, cycle 0\.2 s, 20 cycles an epoch/)
  assert.match(text, /\ncount\s+truth 21; epoch 0 worst node/)
})
