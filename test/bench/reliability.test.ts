// The machinery of `npm run bench:reliability` on a tiny cluster: each kind of run returns its figures,
// the table names every figure with its target, and bad flags name the problem. No speed target here:
// the bench's figures come from the bench's own 64-node runs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crashRun, healRun, lossRun, type JobResult } from '../../bench/reliability-runs.js'
import { formatReliability } from '../../bench/reliability-report.js'
import { parseArgs, planJobs } from '../../bench/reliability.js'
import type { ScenarioStep } from '../../src/runtime/sim/scenario.js'

const NODES = 12
const names = Array.from({ length: NODES }, (_, i) => `node-${String(i).padStart(3, '0')}`)
const cut: ScenarioStep = { kind: 'partition', sides: [names.slice(0, 6), names.slice(6)], atMs: 15_000, lengthMs: 25_000 }
const healScenario = { nodes: NODES, durationMs: 60_000, steps: [cut] }

test('a loss run counts false deaths and measures how long views stay wrong after the loss; a crash run times detection', () => {
  const loss = lossRun(1, 'default', 0.25, { nodes: NODES, lossMs: 30_000, tailMs: 10_000 })
  assert.equal(loss.converged, true)
  assert.ok(loss.falseSuspicions > 0, 'a quarter of the packets lost raises suspicions of live members')
  // Live members refute what they hear of (one refutation can clear the suspicions of several accusers).
  assert.ok(loss.refutations > 0, `refutations ${loss.refutations}, false suspicions ${loss.falseSuspicions}`)
  assert.ok(loss.lingerMs !== null && loss.lingerMs <= 10_000, `views right within 10 s of the loss's end, got ${loss.lingerMs}`)
  const crash = crashRun(1, 'memberlist', NODES)
  assert.ok(crash.firstSuspicionMs !== null && crash.firstDeadMs !== null && crash.deadEverywhereMs !== null)
  assert.ok(crash.firstSuspicionMs > 0 && crash.firstSuspicionMs <= crash.firstDeadMs && crash.firstDeadMs <= crash.deadEverywhereMs)
  assert.equal(crash.falseDeaths, 0)
})

test('after a healed partition, calm healing keeps every view from falling while memberlist\'s rules let it fall', () => {
  const calm = healRun(1, 'default', healScenario)
  assert.equal(calm.healAtMs, 40_000)
  assert.equal(calm.fewestBefore, 6, 'each side sees its own six just before the heal')
  assert.equal(calm.largestDrop, 0)
  assert.ok(calm.allSeeAllMs !== null && calm.allSeeAllMs <= 10_000)
  const classic = healRun(1, 'memberlist', healScenario)
  assert.ok(classic.largestDrop > 0 && classic.fewestAfter < classic.fewestBefore, `memberlist's rules: ${JSON.stringify(classic)}`)

  const results: JobResult[] = [{ kind: 'heal', ...calm }, { kind: 'heal', ...classic }]
  const { rows, markdown } = formatReliability({ nodes: NODES, lossS: 30, seeds: [1], healFile: 'small.yaml' }, results)
  const fall = rows.find((r) => r.figure.includes('largest fall'))
  assert.equal(fall?.met, true)
  assert.equal(fall?.defaults, '0 (0)')
  assert.match(markdown, /\| small\.yaml, heal at 40 s: every node sees every live member alive \(s after the heal\) \| \d+\.\d \| \d+\.\d \| ≤ 10 s met \|/)
})

test('the table marks a missed target, and the plan runs both rule sets for every seed', () => {
  const bad: JobResult[] = [
    { kind: 'loss', seed: 1, rules: 'default', loss: 0.1, falseDeaths: 1, falseSuspicions: 9, refutations: 8, lingerMs: 12_000, converged: true, messagesPerNodePerSec: 20, wallMs: 1 },
    { kind: 'loss', seed: 1, rules: 'memberlist', loss: 0.1, falseDeaths: 3, falseSuspicions: 9, refutations: 6, lingerMs: 1_000, converged: true, messagesPerNodePerSec: 19, wallMs: 1 },
  ]
  const { rows, markdown } = formatReliability({ nodes: 64, lossS: 180, seeds: [1], healFile: 'x.yaml' }, bad)
  assert.deepEqual(rows.filter((r) => r.met === false).map((r) => r.figure), ['10 % loss, 180 s: live members declared dead, per run', '10 % loss, 180 s: after the loss, every node sees every live member alive (s)'])
  assert.match(markdown, /\| 10 % loss, 180 s: live members declared dead, per run \| 1 \| 3 \| none \*\*missed\*\* \|/)
  const jobs = planJobs({ seeds: [1, 2], nodes: 8, lossS: 20, tailS: 5, healFile: 'x.yaml' })
  assert.equal(jobs.length, 2 * 2 * 2 + 2 * 2 + 2 * 2)
  assert.deepEqual(new Set(jobs.map((j) => `${j.kind}/${j.rules}`)).size, 6)
})

test('bad flags name the flag and what it takes', () => {
  assert.throws(() => parseArgs(['--nodes', 'many']), /--nodes "many": expected a whole number from 4 to 1000/)
  assert.throws(() => parseArgs(['--seeds', '1,x']), /--seeds "1,x": expected seeds separated by commas/)
  assert.throws(() => parseArgs(['--fast']), /unknown option "--fast"/)
  assert.throws(() => parseArgs(['--workers']), /--workers needs a value/)
  assert.deepEqual(parseArgs(['--quick']).seeds, [1])
})
