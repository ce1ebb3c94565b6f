// Scenario files of several datacenters: the language's checks, the example file, and a small run
// whose report shows both pools (fixed seed, virtual time).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { isDatacentersScenario, parseDatacentersScenario } from '../../src/runtime/sim/datacenters-file.js'
import { formatDatacentersReport, runDatacentersScenario } from '../../src/runtime/sim/datacenters-scenario.js'
import { ScenarioFileError } from '../../src/runtime/sim/scenario-file.js'

const EXAMPLE = new URL('../../../examples/three-datacenters.yaml', import.meta.url)

test('the three-datacenters example reads as three datacenters of 30 nodes with 3 servers, a 60 s WAN cut of dc3 and events', () => {
  const text = readFileSync(EXAMPLE, 'utf8')
  assert.ok(isDatacentersScenario(text))
  const f = parseDatacentersScenario(text, 'three-datacenters.yaml')
  assert.deepEqual(f.scenario.datacenters, [{ name: 'dc1', nodes: 30, servers: 3 }, { name: 'dc2', nodes: 30, servers: 3 }, { name: 'dc3', nodes: 30, servers: 3 }])
  assert.deepEqual(f.scenario.steps?.filter((s) => s.kind === 'wan-partition'), [{ atMs: 60_000, kind: 'wan-partition', datacenter: 'dc3', forMs: 60_000 }])
  assert.deepEqual(f.scenario.wanLatencyMs?.['dc1|dc3'], [100, 120])
})

test('wanSwim in a datacenters file sets the WAN pool\'s SWIM settings with units, checked like swim:', () => {
  const base = ['duration: 2m', 'datacenters:', '  dc1: { nodes: 3, servers: 1 }', '  dc2: { nodes: 3, servers: 1 }']
  const f = parseDatacentersScenario([...base, 'wanSwim: { probeInterval: 2s, probeTimeout: 1s, suspicionMult: 4, finalProbe: false }'].join('\n'))
  assert.deepEqual(f.scenario.wanConfig, { probeIntervalMs: 2000, probeTimeoutMs: 1000, suspicionMult: 4, finalProbe: false })
  assert.throws(() => parseDatacentersScenario([...base, 'wanSwim: { probeIntervl: 2s }'].join('\n'), 'w.yaml'), /w\.yaml:5: wanSwim\.probeIntervl: unknown field.*probeInterval/)
})

test('a datacenters file with mistakes names each one with its line and fix', () => {
  const text = [
    'duration: 2m',
    'datacenters:',
    '  dc1: { nodes: 3, servers: 5 }',
    '  dc.2: { nodes: 3, servers: 1 }',
    'wanLatency:',
    '  dc1: { dc9: 10ms..20ms }',
    'timeline:',
    '  - { at: 10s, do: wan-partition, datacenter: dc1 }',
    '  - { at: 20s, do: event, from: dc1, to: dc1 }',
    '  - { at: 20s, do: explode }',
  ].join('\n')
  assert.throws(() => parseDatacentersScenario(text, 'bad.yaml'), (e: unknown) => {
    assert.ok(e instanceof ScenarioFileError)
    const m = e.message
    assert.match(m, /bad\.yaml:3: datacenters\.dc1\.servers: 5 servers in a datacenter of 3 nodes/)
    assert.match(m, /bad\.yaml:4: datacenters\.dc\.2: expected 1 to 64 of a-z/)
    assert.match(m, /bad\.yaml:6: wanLatency\.dc1: no datacenter "dc9"/)
    assert.match(m, /bad\.yaml:8: timeline\[0\]\.for: missing/)
    assert.match(m, /bad\.yaml:9: timeline\[1\]\.to: the same datacenter as from/)
    assert.match(m, /bad\.yaml:10: timeline\[2\]\.do: unknown step "explode"/)
    return true
  })
})

test('a small run: LAN pools unaffected by a WAN cut, the WAN pool declares the cut servers failed and heals, events after the heal delivered everywhere', () => {
  const r = runDatacentersScenario({
    name: 'small', seed: 5, durationMs: 240_000,
    datacenters: [{ name: 'dc1', nodes: 6, servers: 2 }, { name: 'dc2', nodes: 6, servers: 2 }, { name: 'dc3', nodes: 6, servers: 2 }],
    wanLatencyMs: { 'dc1|dc2': [20, 30], 'dc1|dc3': [60, 80], 'dc2|dc3': [50, 70] },
    floodIntervalMs: 30_000,
    steps: [
      { atMs: 30_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 40_000, kind: 'wan-partition', datacenter: 'dc3', forMs: 90_000 },
      { atMs: 100_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 200_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 200_000, kind: 'event', from: 'dc3', to: 'dc2' },
    ],
  })
  for (const d of r.datacenters) assert.deepEqual([d.name, d.fewestAliveSeen, d.failedDeclarations], [d.name, 6, 0])
  const p = r.partitions[0]
  assert.ok(p.firstFailedMs !== null, 'a server across the cut was declared failed')
  // With the final probe before a death (on by default), fewer pairs are declared failed within the 90 s cut
  // than under memberlist's rules: a quarter of them in this run.
  assert.ok(p.failedAtRestore >= 0.25, `${p.failedAtRestore} of the pairs failed at the restore`)
  assert.ok(p.healedMs !== null, 'the WAN pool healed')
  assert.equal(r.wan.whole, true)
  assert.ok(r.wan.softFailReports > 0 && r.wan.recoveries > 0)
  assert.deepEqual(r.events.map((e) => [e.ok, e.delivered, e.of]), [[true, 6, 6], [false, 0, 6], [true, 6, 6], [true, 6, 6]])
  assert.match(r.events[1].error ?? '', /did not answer/)
  // Both pools in the time series, and in the text.
  assert.deepEqual(Object.keys(r.timeSeries.lan), ['dc1', 'dc2', 'dc3'])
  assert.equal(Math.min(...r.timeSeries.wan.slice(1)), r.wan.fewestAliveSeen)
  const text = formatDatacentersReport(r)
  assert.match(text, /LAN pools:\n {2}dc1: 6 nodes; .* \(unaffected\)/)
  assert.match(text, /WAN pool: 6 servers;.*whole at the end: yes/)
})
