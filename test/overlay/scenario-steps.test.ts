// The timeline of hyparview scenario files: the single-pool files' steps (crash, restart, pause, leave,
// partition and heal, join, network changes, with groups and step references) plus broadcasts at a
// time, validated with the line and the field, and run through the composed node's overlay mode.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseOverlayScenario } from '../../src/runtime/sim/overlay-file.js'
import { ScenarioFileError } from '../../src/runtime/sim/scenario-file.js'
import { runOverlayScenario } from '../../src/runtime/sim/overlay-scenario.js'

const HEAD = ['membership: hyparview', 'seed: 5', 'nodes: 60', 'warmup: 12s', 'duration: 60s', 'overlay: { shuffleInterval: 2s, keepAliveInterval: 250ms }', 'groups: { west: node-000..node-029 }']

/** The file HEAD + a timeline of `steps`, parsed. */
const withTimeline = (steps: string[]) => parseOverlayScenario([...HEAD, 'timeline:', ...steps.map((x) => `  - ${x}`)].join('\n'), 'h.yaml')

function problemsOf(lines: string[]): string {
  try {
    parseOverlayScenario(lines.join('\n'), 'h.yaml')
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError, String(e))
    return e.message
  }
  assert.fail('expected problems')
}

test('a hyparview file takes every single-pool step and broadcasts at a time, with groups and step references', () => {
  const f = withTimeline([
    '{ at: 14s, do: crash, count: 3, id: first }',
    '{ at: 15s, do: restart, step: first, down: 2s }',
    '{ at: 16s, do: pause, nodes: [node-040], for: 1s }',
    '{ at: 17s, do: leave, nodes: node-041 }',
    '{ at: 18s, do: network, loss: 0.05, for: 5s }',
    '{ at: 20s, do: partition, isolate: west, id: cut }',
    '{ at: 30s, do: heal, step: cut }',
    '{ at: 32s, do: join, count: 4 }',
    '{ at: 40s, do: broadcast, count: 2, from: node-062 }',
    '{ at: 41s, do: broadcast }',
  ])
  const s = f.scenario
  assert.deepEqual(
    s.steps?.map((x) => x.kind),
    ['crash', 'restart', 'pause', 'leave', 'network', 'partition', 'heal', 'join'],
  )
  const partition = s.steps?.find((x) => x.kind === 'partition')
  assert.ok(partition?.kind === 'partition' && partition.sides?.[0].length === 30 && partition.sides[1].length === 34, 'west against the other 30 and the 4 joiners')
  assert.deepEqual(s.broadcastSteps, [{ atMs: 40_000, count: 2, from: 'node-062' }, { atMs: 41_000, count: 1 }])
})

test('bad steps are named with their line and field: unknown kinds with a suggestion, unknown nodes and steps, a broadcast from several nodes or past the duration', () => {
  const msg = problemsOf([
    ...HEAD, // lines 1–7
    'timeline:', // 8
    '  - { at: 14s, do: restrat, count: 1 }', // 9
    '  - { at: 15s, do: heal, step: nope }', // 10
    '  - { at: 16s, do: broadcast, from: node-000..node-003 }', // 11
    '  - { at: 17s, do: broadcast, from: node-999 }', // 12
    '  - { at: 90s, do: broadcast, count: 0 }', // 13
    '  - { at: 18s, do: broadcast, every: 1s }', // 14
    '  - { at: 19s, do: crash, group: east, count: 2 }', // 15
  ])
  assert.match(msg, /^h\.yaml:9: timeline\[0\]\.do: unknown step "restrat" \(did you mean "restart"\?\); with membership: hyparview the steps are .*broadcast$/m)
  assert.match(msg, /^h\.yaml:10: timeline\[1\]\.step: no earlier step has id "nope"/m)
  assert.match(msg, /^h\.yaml:11: timeline\[2\]\.from: "node-000\.\.node-003" names 4 nodes; from names one node/m)
  assert.match(msg, /^h\.yaml:12: timeline\[3\]\.from: "node-999" is not a node; nodes are node-000\.\.node-059/m)
  assert.match(msg, /^h\.yaml:13: timeline\[4\]\.at: 90s is not within duration 1m; raise duration/m)
  assert.match(msg, /^h\.yaml:13: timeline\[4\]\.count: expected a positive integer/m)
  assert.match(msg, /^h\.yaml:14: timeline\[5\]\.every: unknown field/m)
  assert.match(msg, /^h\.yaml:15: timeline\[6\]\.group: "east" is not a node or group/m)
})

test('a run with restarts, a partition healed, loss and joiners: one symmetric overlay at the end, and the broadcasts after the heal reach every live node, joiners included', () => {
  const f = withTimeline([
    '{ at: 13s, do: restart, count: 5, down: 1s }',
    '{ at: 14s, do: network, loss: 0.05, for: 4s }',
    '{ at: 20s, do: partition, isolate: west, id: cut }',
    '{ at: 21s, do: broadcast, from: node-003 }',
    '{ at: 40s, do: heal, step: cut }',
    '{ at: 42s, do: join, count: 4 }',
    '{ at: 55s, do: broadcast, count: 3 }',
    '{ at: 56s, do: broadcast, from: node-062 }',
  ])
  const r = runOverlayScenario({ seed: f.seed!, ...f.scenario })
  assert.equal(r.liveNodes, 64, 'the 60 and the 4 joiners')
  assert.equal(r.overlay.components, 1)
  assert.equal(r.overlay.symmetricFraction, 1)
  assert.equal(r.overlay.isolated, 0)
  const b = r.broadcast.perBroadcast
  assert.equal(b.length, 5)
  // Sent inside the partition from the west side: the west side has it; the east side missed it during
  // the cut and, 20 s later (the announce window is 30 s), gets it through the healed links' IHAVE.
  assert.equal(b[0].atMs, 21_000)
  for (const x of b) assert.equal(x.reliability, 1, `broadcast at ${x.atMs}: ${x.reliability}`)
  assert.ok(r.steps.some((s) => /restart/.test(s)) && r.steps.some((s) => /broadcast ×3/.test(s)), r.steps.join('\n'))
  assert.ok((r.neighborDown.timeout ?? 0) > 0, 'the partition and the restarts were found by keep-alive timeouts')
})
