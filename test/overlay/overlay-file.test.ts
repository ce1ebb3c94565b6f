// Scenario files with `membership: hyparview` (runtime/sim/overlay-file.ts): the example validates, every
// problem names its line and field with a "did you mean", SWIM's fields are refused with the reason, and
// `grapevine sim FILE` runs the composed node's overlay mode and reports its overlay and broadcasts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isOverlayScenario, parseOverlayScenario } from '../../src/runtime/sim/overlay-file.js'
import { parseScenario, ScenarioFileError } from '../../src/runtime/sim/scenario-file.js'
import { runScenarioFileCommand } from '../../src/cli/scenario-command.js'

const EXAMPLE = new URL('../../../examples/hyparview-failure.yaml', import.meta.url)

function problemsOf(text: string): string {
  try {
    parseOverlayScenario(text, 'h.yaml')
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError, String(e))
    return e.message
  }
  assert.fail('expected problems')
}

test('the example file is a hyparview scenario: the papers\' overlay settings, broadcasts and two mass failures', () => {
  const text = readFileSync(EXAMPLE, 'utf8')
  assert.ok(isOverlayScenario(text))
  assert.ok(!isOverlayScenario('nodes: 5\nduration: 10s\ntimeline: []\n'))
  assert.ok(isOverlayScenario('{"membership": "hyparview", "nodes": 3}'), 'JSON files are told apart too')
  const f = parseOverlayScenario(text, 'hyparview-failure.yaml')
  assert.equal(f.seed, 7)
  assert.equal(f.scenario.nodes, 300)
  assert.deepEqual(f.scenario.overlay, {
    hyparview: { activeViewSize: 5, passiveViewSize: 30, activeRandomWalkLength: 6, passiveRandomWalkLength: 3, shuffleIntervalMs: 10_000, keepAliveIntervalMs: 1000, keepAliveTimeoutMs: 5000 },
    plumtree: { mode: 'plumtree' },
  })
  assert.deepEqual(f.scenario.steps, [{ kind: 'crash', atMs: 80_250, fraction: 0.5 }, { kind: 'crash', atMs: 120_250, fraction: 0.7 }])
  assert.equal(f.scenario.broadcastsPerSec, 2)
  assert.equal(f.scenario.warmupMs, 60_000)
})

test('problems name the line and the field, suggest the known word, and refuse what needs SWIM', () => {
  const msg = problemsOf(
    [
      'membership: hyparview', // 1
      'nodes: 1', // 2
      'profile: lan', // 3
      'overlay:', // 4
      '  activeVeiw: 5', // 5
      '  activeWalk: 2', // 6
      '  passiveWalk: 4', // 7
      '  broadcast: gossip', // 8
      'timeline:', // 9
      '  - { at: 10s, do: crsh, fraction: 0.5 }', // 10
      '  - { at: 20m, do: crash, fraction: 1.5 }', // 11
    ].join('\n'),
  )
  assert.match(msg, /^h\.yaml:2: nodes: expected at least 2 nodes, got 1$/m)
  assert.match(msg, /^h\.yaml:3: profile: a SWIM profile; HyParView takes its settings under overlay:; remove it$/m)
  assert.match(msg, /^h\.yaml:5: overlay\.activeVeiw: unknown field \(did you mean "activeView"\?\)/m)
  assert.match(msg, /^h\.yaml:7: overlay\.passiveWalk: must be ≤ activeRandomWalkLength \(2\)/m)
  assert.match(msg, /^h\.yaml:8: overlay\.broadcast: expected plumtree or flood, got "gossip"/m)
  assert.match(msg, /^h\.yaml:10: timeline\[0\]\.do: unknown step "crsh" \(did you mean "crash"\?\); with membership: hyparview the steps are crash, restart, pause, leave, partition, heal, join, network, broadcast$/m)
  assert.match(msg, /^h\.yaml:11: timeline\[1\]\.at: 20m is not within duration/m)
  assert.match(msg, /^h\.yaml:11: timeline\[1\]\.fraction: expected a probability like 0.05/m)
})

test('a SWIM scenario file accepts membership: swim and names the choices for anything else', () => {
  assert.equal(parseScenario('membership: swim\nnodes: 3\nduration: 10s\ntimeline: []\n').scenario.nodes, 3)
  assert.throws(() => parseScenario('membership: hyperview\nnodes: 3\nduration: 10s\ntimeline: []\n', 's.yaml'), /s\.yaml:1: membership: expected swim .* or hyparview .*did you mean "hyparview"/)
})

test('grapevine sim FILE runs a hyparview file: the overlay and broadcast report, the replay command, exit 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-ovfile-'))
  try {
    const path = join(dir, 'small.yaml')
    writeFileSync(path, 'membership: hyparview\nseed: 3\nnodes: 60\nwarmup: 12s\nduration: 20s\noverlay: { shuffleInterval: 2s, keepAliveInterval: 250ms }\nworkload: { broadcasts: 2 }\ntimeline: []\n')
    let out = ''
    let err = ''
    const code = await runScenarioFileCommand(path, { json: true }, { out: (t) => (out += t), err: (t) => (err += t) }, () => 1)
    assert.equal(code, 0, err)
    const r = JSON.parse(out) as { membership: string; seed: number; nodes: number; overlay: { components: number; symmetricFraction: number }; broadcast: { count: number; reliability: number }; replay: string }
    assert.equal(r.membership, 'hyparview')
    assert.equal(r.seed, 3)
    assert.equal(r.nodes, 60)
    assert.equal(r.overlay.components, 1)
    assert.equal(r.overlay.symmetricFraction, 1)
    assert.equal(r.broadcast.count, 16)
    assert.equal(r.broadcast.reliability, 1)
    assert.equal(r.replay, `grapevine sim ${path} --seed 3`)
    let refused = ''
    assert.equal(await runScenarioFileCommand(path, { nodes: '10' }, { out: () => {}, err: (t) => (refused += t) }, () => 1), 2)
    assert.match(refused, /--nodes: not for a hyparview scenario file/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
