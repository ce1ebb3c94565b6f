// Scenario files of several datacenters: the language's checks, the example file, and a small run
// whose report shows both pools (fixed seed, virtual time).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runScenarioFileCommand } from '../../src/cli/scenario-command.js'
import type { DatacentersReport } from '../../src/runtime/sim/datacenters-scenario.js'
import { isDatacentersScenario, parseDatacentersScenario } from '../../src/runtime/sim/datacenters-file.js'
import { formatDatacentersReport, runDatacentersScenario } from '../../src/runtime/sim/datacenters-scenario.js'
import { ScenarioFileError } from '../../src/runtime/sim/scenario-file.js'

const EXAMPLE = new URL('../../../examples/three-datacenters.yaml', import.meta.url)

/** The WAN timings the example sets for a WAN pool of a few servers (an operator's choice over the wan profile). */
const TUNED_WAN = { probeIntervalMs: 2000, probeTimeoutMs: 1000, suspicionMult: 4, suspicionMaxTimeoutMult: 2, awarenessMaxMultiplier: 1 }

test('the three-datacenters example reads as three datacenters of 30 nodes with 3 servers, a 60 s WAN cut of dc3 under WAN timings tuned for a few servers, events, queries and a workload', () => {
  const text = readFileSync(EXAMPLE, 'utf8')
  assert.ok(isDatacentersScenario(text))
  const f = parseDatacentersScenario(text, 'three-datacenters.yaml')
  assert.deepEqual(f.scenario.datacenters, [{ name: 'dc1', nodes: 30, servers: 3 }, { name: 'dc2', nodes: 30, servers: 3 }, { name: 'dc3', nodes: 30, servers: 3 }])
  assert.deepEqual(f.scenario.steps?.filter((s) => s.kind === 'wan-partition'), [{ atMs: 60_000, kind: 'wan-partition', datacenter: 'dc3', forMs: 60_000 }])
  assert.deepEqual(f.scenario.wanLatencyMs?.['dc1|dc3'], [100, 120])
  // The WAN pool's timings are the operator's override, stated in the file; the profile under them stays wan.
  assert.deepEqual(f.scenario.wanConfig, TUNED_WAN)
  assert.deepEqual(f.scenario.workload, { eventsPerSec: 0.05, queriesPerSec: 0.02, startMs: 30_000, endMs: 210_000 })
  assert.deepEqual(f.scenario.steps?.filter((s) => s.kind === 'query').length, 2)
  // Events fired after the restore (120 s) to and from the cut datacenter.
  assert.ok(f.scenario.steps?.some((s) => s.kind === 'event' && s.atMs > 120_000 && s.to === 'dc3'))
  assert.ok(f.scenario.steps?.some((s) => s.kind === 'event' && s.atMs > 120_000 && s.from === 'dc3'))
})

test('a 60 s WAN cut under the example\'s WAN timings: both sides hold every server across it failed within the cut, LAN pools unaffected, the WAN heals in seconds, events after the heal delivered; the shipped wan profile detects none of it in 60 s', () => {
  // Nine WAN servers as in the example (three datacenters of 3 servers), smaller LAN pools.
  const run = (wanConfig: typeof TUNED_WAN | undefined, durationMs: number): DatacentersReport => runDatacentersScenario({
    name: 'cut-60s', seed: 18, durationMs,
    datacenters: [{ name: 'dc1', nodes: 5, servers: 3 }, { name: 'dc2', nodes: 5, servers: 3 }, { name: 'dc3', nodes: 5, servers: 3 }],
    wanLatencyMs: { 'dc1|dc2': [20, 30], 'dc1|dc3': [100, 120], 'dc2|dc3': [80, 100] },
    ...(wanConfig !== undefined ? { wanConfig } : {}),
    steps: [
      { atMs: 60_000, kind: 'wan-partition', datacenter: 'dc3', forMs: 60_000 },
      { atMs: 100_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 150_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 150_000, kind: 'event', from: 'dc3', to: 'dc2' },
    ],
  })
  const r = run(TUNED_WAN, 170_000)
  for (const d of r.datacenters) assert.deepEqual([d.name, d.fewestAliveSeen, d.failedDeclarations, d.lan.accusations.deaths], [d.name, 5, 0, 0])
  const p = r.partitions[0]
  // Measured on this seed: outside 15.75 s, inside 33 s (the example's 90 nodes, seeds 1-5 and 18: 15.5-17.25 s and 23.5-38 s).
  assert.ok(p.detectedOutsideMs !== null && p.detectedOutsideMs < 30_000, `outside held dc3's failed after ${p.detectedOutsideMs} ms`)
  assert.ok(p.detectedInsideMs !== null && p.detectedInsideMs < 60_000, `dc3 held the others failed after ${p.detectedInsideMs} ms`)
  assert.equal(p.failedAtRestore, 1)
  assert.ok(p.healedMs !== null && p.healedMs < 10_000, `healed ${p.healedMs} ms after the restore`)
  assert.deepEqual([r.wan.whole, r.wan.pool.falsePositives.deaths], [true, 0])
  assert.deepEqual(r.events.map((e) => [e.ok, e.delivered, e.of]), [[false, 0, 5], [true, 5, 5], [true, 5, 5]])
  // Serf's WAN defaults stay what the wan profile ships: on the same cut neither side holds all the others failed.
  const shipped = run(undefined, 125_000).partitions[0]
  assert.deepEqual([shipped.detectedOutsideMs, shipped.detectedInsideMs], [null, null])
  assert.ok(shipped.failedAtRestore < 1, `${shipped.failedAtRestore} of the pairs failed at the restore`)
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
      { atMs: 40_000, kind: 'wan-partition', datacenter: 'dc3', forMs: 150_000 },
      { atMs: 100_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 200_000, kind: 'event', from: 'dc1', to: 'dc3' },
      { atMs: 200_000, kind: 'event', from: 'dc3', to: 'dc2' },
    ],
  })
  for (const d of r.datacenters) assert.deepEqual([d.name, d.fewestAliveSeen, d.failedDeclarations], [d.name, 6, 0])
  const p = r.partitions[0]
  assert.ok(p.firstFailedMs !== null, 'a server across the cut was declared failed')
  // With the final probe before a death and the check of third-party dead notices (on by default), the servers
  // outside hold every dc3 server failed 97 s into the cut (the WAN profile: 5 s probes, Lifeguard), so the
  // cut lasts 150 s; three quarters of the pairs are failed at its end.
  assert.ok(p.failedAtRestore >= 0.25, `${p.failedAtRestore} of the pairs failed at the restore`)
  // The cut side is the slow one: the servers outside hold dc3's failed before dc3's hold the others' (Lifeguard's
  // awareness stretches the probing of servers whose every probe fails).
  assert.ok(p.detectedOutsideMs !== null && (p.detectedInsideMs === null || p.detectedInsideMs > p.detectedOutsideMs), `outside ${p.detectedOutsideMs} ms, inside ${p.detectedInsideMs} ms`)
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

test('a datacenters file reads a workload of relayed events and queries, query and crash steps, and names mistakes in them', () => {
  const base = ['duration: 3m', 'datacenters:', '  dc1: { nodes: 4, servers: 1 }', '  dc2: { nodes: 2, servers: 2 }']
  const f = parseDatacentersScenario([...base, 'workload: { events: 0.5, queries: 0.2, window: 30s..2m }', 'timeline:', '  - { at: 40s, do: query, from: dc1, to: dc2 }', '  - { at: 50s, do: crash, datacenter: dc1, role: client }'].join('\n'))
  assert.deepEqual(f.scenario.workload, { eventsPerSec: 0.5, queriesPerSec: 0.2, startMs: 30_000, endMs: 120_000 })
  assert.deepEqual(f.scenario.steps, [{ atMs: 40_000, kind: 'query', from: 'dc1', to: 'dc2' }, { atMs: 50_000, kind: 'crash', datacenter: 'dc1', role: 'client' }])
  const bad = [...base, 'workload: { events: fast, window: 2m..30s }', 'timeline:', '  - { at: 40s, do: crash, datacenter: dc2, role: client }', '  - { at: 50s, do: crash, datacenter: dc1, role: leader }'].join('\n')
  assert.throws(() => parseDatacentersScenario(bad, 'w.yaml'), (e: unknown) => {
    assert.ok(e instanceof ScenarioFileError)
    assert.match(e.message, /w\.yaml:5: workload\.events: expected a rate per second/)
    assert.match(e.message, /w\.yaml:5: workload\.window: expected START\.\.END like 30s\.\.4m with START before END/)
    assert.match(e.message, /w\.yaml:7: timeline\[0\]\.role: dc2 has no client/)
    assert.match(e.message, /w\.yaml:8: timeline\[1\]\.role: expected server or client, got "leader"/)
    return true
  })
})

test('each pool reports what a single-pool run does: a crashed server is detected in its LAN pool and in the WAN pool, the others untouched; the workload\'s relays are delivered and answered', () => {
  const lines: string[] = []
  const run = (trace?: (line: string) => void) => runDatacentersScenario({
    name: 'crash', seed: 9, durationMs: 150_000,
    datacenters: [{ name: 'dc1', nodes: 5, servers: 2 }, { name: 'dc2', nodes: 5, servers: 2 }],
    wanLatencyMs: { 'dc1|dc2': [20, 30] },
    floodIntervalMs: 30_000,
    workload: { eventsPerSec: 0.2, queriesPerSec: 0.1, startMs: 20_000, endMs: 120_000 },
    steps: [{ atMs: 60_000, kind: 'crash', datacenter: 'dc2', role: 'server' }, { atMs: 100_000, kind: 'query', from: 'dc1', to: 'dc2' }],
    trace,
  })
  const r = run((l) => lines.push(l))
  const [dc1, dc2] = r.datacenters
  // dc1's LAN pool: formed, untouched, converged.
  assert.ok(dc1.lan.formedMs !== null && dc1.lan.formedMs < 5000, `dc1 formed in ${dc1.lan.formedMs} ms`)
  assert.deepEqual([dc1.lan.converged, dc1.lan.detection.length, dc1.lan.accusations.deaths, dc1.failedDeclarations], [true, 0, 0, 0])
  // dc2's LAN pool and the WAN pool each detect the crashed server (node-005, and node-005.dc2 in the WAN pool), with no false accusation.
  assert.deepEqual(dc2.lan.detection.map((d) => d.node), ['node-005'])
  assert.deepEqual(r.wan.pool.detection.map((d) => d.node), ['node-005.dc2'])
  for (const d of [dc2.lan.detection[0], r.wan.pool.detection[0]]) {
    assert.ok(d.firstSuspicionMs !== null && d.firstDeadMs !== null && d.deadEverywhereMs !== null && d.firstSuspicionMs <= d.firstDeadMs && d.firstDeadMs <= d.deadEverywhereMs, JSON.stringify(d))
  }
  for (const p of [dc1.lan, dc2.lan, r.wan.pool]) assert.deepEqual([p.converged, p.falsePositives.deaths], [true, 0])
  assert.equal(r.wan.whole, true)
  assert.ok(r.wan.pool.bytesPerNodePerSec > 0 && dc1.lan.packetsPerNodePerSec > 0)
  // Relays: every one delivered to every running node of its target; each query answered by every one of them.
  for (const s of [r.relays.events, r.relays.queries]) {
    assert.ok(s.fired >= 5, `${s.fired} fired`)
    assert.deepEqual([s.ok, s.refused, s.deliveredPairs], [s.fired, 0, s.pairs])
  }
  assert.equal(r.relays.queries.responsesBack, r.relays.queries.pairs)
  assert.deepEqual([r.events[0].kind, r.events[0].ok, r.events[0].delivered, r.events[0].of, r.events[0].responses], ['query', true, 4, 4, 4])
  // The trace has the simulator's lines and the pools' and relays', and the same seed gives the same trace.
  assert.ok(lines.some((l) => / pool node-\d+ floodJoin /.test(l)) && lines.some((l) => / relay relay-query-\d+ ok servedBy=/.test(l)) && lines.some((l) => / fault crash node-005/.test(l)))
  const again: string[] = []
  run((l) => again.push(l))
  assert.equal(again.join('\n'), lines.join('\n'))
  const text = formatDatacentersReport(r)
  assert.match(text, /node-005 crashed at 1m: suspected \+[\d.]+m?s, failed \+[\d.]+m?s, failed everywhere \+/)
  assert.match(text, /relayed queries: \d+ fired, \d+ delivered \(100\.0% of \d+ \(query, running node of the target\) pairs, \d+ answers back\)/)
})

test('grapevine sim FILE of datacenters: --json with each pool\'s figures and the relays, --trace with pool and relay lines, --plot, and cluster flags refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-dcs-'))
  try {
    const file = join(dir, 'two.yaml')
    writeFileSync(file, [
      'name: two', 'seed: 4', 'duration: 90s',
      'datacenters:', '  dc1: { nodes: 3, servers: 1 }', '  dc2: { nodes: 3, servers: 1 }',
      'wanLatency: { dc1: { dc2: 10ms..20ms } }',
      'timeline:', '  - { at: 30s, do: event, from: dc1, to: dc2 }', '  - { at: 40s, do: query, from: dc2, to: dc1 }',
    ].join('\n'))
    let out = ''
    let err = ''
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) }
    assert.equal(await runScenarioFileCommand(file, { nodes: '5' }, io, () => 1), 2)
    assert.match(err, /--nodes: not for a datacenters scenario; .*only --seed, --duration, --json, --plot and --trace apply/)
    const trace = join(dir, 'two.trace')
    const plot = join(dir, 'two.svg')
    assert.equal(await runScenarioFileCommand(file, { json: true, trace, plot }, io, () => 1), 0, err)
    const r = JSON.parse(out) as DatacentersReport
    assert.deepEqual(r.datacenters.map((d) => [d.name, d.lan.members, d.lan.converged]), [['dc1', 3, true], ['dc2', 3, true]])
    assert.deepEqual([r.wan.pool.members, r.wan.pool.converged], [2, true])
    assert.deepEqual(r.events.map((e) => [e.kind, e.ok, e.delivered, e.of]), [['event', true, 3, 3], ['query', true, 3, 3]])
    const lines = readFileSync(trace, 'utf8').split('\n')
    assert.ok(lines.some((l) => /^ *\d+\.\d{3} pkt node-\d+/.test(l)), 'packet lines')
    assert.ok(lines.some((l) => / relay relay-1 ok servedBy=node-003$/.test(l)) && lines.some((l) => / pool node-003 relayServed event relay-1 dc=dc2/.test(l)))
    assert.match(readFileSync(plot, 'utf8'), /WAN pool: fewest servers alive seen by a server/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
