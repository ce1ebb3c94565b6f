// Network coordinates in the simulator: a scenario's latency matrix shapes the links between and inside
// groups; the report's `coordinates` field gives the median and p90 relative error of the estimates
// against the link model's round trips, after 60 s and at the end; three simulated datacenters come out
// where they are (each node's nearest members are those of its own datacenter, and estimates across
// datacenters are within a quarter of the truth); the same seed gives the same figures.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ScenarioFileError, parseScenario } from '../../src/runtime/sim/scenario-file.js'
import { Simulation, runScenario } from '../../src/runtime/sim/index.js'
import type { ComposedNode } from '../../src/node/index.js'

const FILE = `
nodes: 15
duration: 90s
groups: { dc1: node-000..node-004, dc2: node-005..node-009, dc3: node-010..node-014 }
latencyMatrix:
  dc1: { dc1: 0.25ms..1ms, dc2: 10ms..12ms, dc3: 60ms }
  dc2: { dc2: 0.25ms..1ms, dc3: 35ms..40ms }
  dc3: { dc3: 0.25ms..1ms }
timeline: []
`

function problems(text: string): string[] {
  try {
    parseScenario(text, 'm.yaml')
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError)
    return e.problems.map((p) => `${p.line}: ${p.path}: ${p.message}`)
  }
  return assert.fail('accepted')
}

test('a latency matrix names groups, each pair once, and becomes shape rules both ways', () => {
  const s = parseScenario(FILE, 'm.yaml')
  const m = s.scenario.latencyMatrix ?? []
  assert.deepEqual(m.map((e) => [e.from, e.to, e.latencyMs]), [
    ['dc1', 'dc1', [0.25, 1]], ['dc1', 'dc2', [10, 12]], ['dc1', 'dc3', [60, 60]],
    ['dc2', 'dc2', [0.25, 1]], ['dc2', 'dc3', [35, 40]], ['dc3', 'dc3', [0.25, 1]],
  ])
  assert.equal(m[1].toNodes.length, 5)
  const bad = problems(FILE.replace('dc3: { dc3: 0.25ms..1ms }', 'dc3: { dc3: 0.25ms..1ms, dc1: 5ms }\n  dc4: { dc1: 1ms }\n  dc2x: { dc1: fast }'))
  assert.ok(bad.some((p) => /latencyMatrix.dc3.dc1: the latency between dc3 and dc1 is given twice/.test(p)), bad.join('\n'))
  assert.ok(bad.some((p) => /latencyMatrix: not a group/.test(p)), bad.join('\n'))
  assert.ok(bad.some((p) => /did you mean "dc2"/.test(p)), bad.join('\n'))
  const noGroups = problems('nodes: 4\nduration: 1m\nlatencyMatrix: { a: { a: 1ms } }\ntimeline: []\n')
  assert.ok(noGroups.some((p) => /define them under groups/.test(p)), noGroups.join('\n'))
})

test('the report gives coordinate accuracy after 60 s and at the end, the same for the same seed', () => {
  const s = parseScenario(FILE, 'm.yaml')
  const run = (): ReturnType<typeof runScenario> => runScenario({ ...s.scenario, seed: 5, sampleEveryMs: undefined })
  const r = run()
  const c = r.coordinates
  assert.ok(c !== undefined && c.after60s !== null)
  assert.equal(c.after60s.atMs, 60_000)
  assert.equal(c.after60s.pairs, (15 * 14) / 2)
  assert.equal(c.atEnd.atMs, r.virtualMs)
  assert.ok(r.steps.includes('latency 10ms..12ms one way between dc1 and dc2'), r.steps.join('\n'))
  // A fifth of the pairs are inside a datacenter (a 1.25 ms round trip, where a 1 ms miss is 80%);
  // the median pair is one across datacenters.
  assert.ok(c.atEnd.medianRelativeError < 0.25, JSON.stringify(c))
  assert.ok(c.atEnd.medianRelativeError <= c.atEnd.p90RelativeError)
  assert.deepEqual(run().coordinates, c, 'same seed, same coordinates')
  const plain = runScenario({ ...s.scenario, seed: 5, sampleEveryMs: undefined, membershipOnly: true })
  assert.equal(plain.coordinates, undefined, 'membership-only nodes send empty acks, as plain memberlist')
})

test('in three simulated datacenters every node finds its own datacenter nearest', () => {
  const sim = new Simulation({ seed: 3, network: { latencyMs: [0.25, 1] } })
  const dcs = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
  const oneWay = [[0, 10, 60], [10, 0, 35], [60, 35, 0]]
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) if (a !== b) sim.network.shape(dcs[a], dcs[b], { oneWayDelayMsMin: oneWay[a][b], oneWayDelayMsMax: oneWay[a][b] })
  const nodes = sim.spawn(12)
  sim.runFor(120_000)
  const dcOf = (name: string): number => Math.floor(Number(name.slice(5)) / 4)
  const errors: number[] = []
  for (const n of nodes) {
    const node = n.protocol as ComposedNode
    const near = node.nearest(3).map((e) => e.name)
    assert.deepEqual(near.map(dcOf), [dcOf(n.name), dcOf(n.name), dcOf(n.name)], `${n.name}: ${near.join(' ')}`)
    for (const other of nodes) {
      const da = dcOf(n.name)
      const db = dcOf(other.name)
      if (da === db) continue
      // The node's own view: its coordinate against the one `other` last sent it (up to 12 probes old).
      const est = node.rtt(n.name, other.name)
      assert.ok(est !== undefined, `${n.name} has no coordinate of ${other.name}`)
      const truth = 2 * oneWay[da][db]
      errors.push(Math.abs(est - truth) / truth)
    }
  }
  errors.sort((a, b) => a - b)
  const median = errors[Math.floor(errors.length / 2)]
  const worst = errors[errors.length - 1]
  assert.ok(median < 0.15 && worst < 0.6, `relative errors across datacenters: median ${median}, worst ${worst}`)
})
