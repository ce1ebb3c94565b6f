// Network coordinate accuracy: Grapevine nodes in the simulator (every probe of SWIM's round-robin, the
// coordinate riding in the ack as Serf's does) against a reference that runs Serf 0.9.4's update rule
// (our port, checked step by step against Serf's own code in test/coordinates) in the ideal setting of
// Serf's performance tests: each node observes one random peer per probe interval, an RTT drawn from the
// same link model, with the peer's current coordinate. Same latency matrix, same virtual time.
// Prints the README's table and writes bench/results/coordinates.json.
// Run: npm run build && node dist/bench/coordinates.js [--quick]
import { mkdirSync, writeFileSync } from 'node:fs'
import { SeededRng } from '../src/core/rng.js'
import { SERF_VIVALDI, VivaldiClient } from '../src/coordinates/vivaldi.js'
import { measureCoordinateAccuracy, meanOneWayMs } from '../src/runtime/sim/coordinate-accuracy.js'
import type { CoordinateAccuracy } from '../src/runtime/sim/coordinate-accuracy.js'
import { DEFAULT_NETWORK } from '../src/runtime/sim/network.js'
import type { LinkOptions } from '../src/runtime/sim/network.js'
import { nodeName } from '../src/runtime/sim/names.js'
import { runScenario } from '../src/runtime/sim/index.js'
import type { LatencyMatrixEntry } from '../src/runtime/sim/scenario.js'

const quick = process.argv.includes('--quick')
const perDc = quick ? [10] : [10, 30]
const seeds = quick ? [1] : [1, 2, 3]
const durationMs = quick ? 120_000 : 300_000
const PROBE_INTERVAL_MS = 1000 // the lan profile's

/** Three datacenters: one-way delays (round trips are twice): inside 0.25–1 ms, between 10–60 ms. */
const CELLS: ReadonlyArray<readonly [string, string, readonly [number, number]]> = [
  ['dc1', 'dc1', [0.25, 1]], ['dc2', 'dc2', [0.25, 1]], ['dc3', 'dc3', [0.25, 1]],
  ['dc1', 'dc2', [10, 12]], ['dc2', 'dc3', [35, 40]], ['dc1', 'dc3', [60, 60]],
]

function matrix(n: number): { entries: LatencyMatrixEntry[]; dcOf: (i: number) => string } {
  const groups: Record<string, string[]> = {}
  ;['dc1', 'dc2', 'dc3'].forEach((dc, d) => (groups[dc] = Array.from({ length: n }, (_, i) => nodeName(d * n + i))))
  const entries = CELLS.map(([from, to, latencyMs]) => ({ from, to, fromNodes: groups[from], toNodes: groups[to], latencyMs }))
  return { entries, dcOf: (i) => `dc${Math.floor(i / n) + 1}` }
}

function linkOf(entries: readonly LatencyMatrixEntry[], dcOf: (i: number) => string): (a: number, b: number) => LinkOptions {
  return (a, b) => {
    const [x, y] = [dcOf(a), dcOf(b)]
    const e = entries.find((c) => (c.from === x && c.to === y) || (c.from === y && c.to === x))!
    return { ...DEFAULT_NETWORK, oneWayDelayMsMin: e.latencyMs[0], oneWayDelayMsMax: e.latencyMs[1] }
  }
}

/** Serf's rule in Serf's performance-test setting: one random peer per interval, RTT from the link model. */
function reference(nodes: number, link: (a: number, b: number) => LinkOptions, seed: number, checkpoints: readonly number[]): CoordinateAccuracy[] {
  const rng = new SeededRng(seed)
  const clients = Array.from({ length: nodes }, (_, i) => new VivaldiClient(SERF_VIVALDI, new SeededRng(seed * 7919 + i)))
  const draw = (o: LinkOptions): number => o.oneWayDelayMsMin + rng.float() * (o.oneWayDelayMsMax - o.oneWayDelayMsMin)
  const out: CoordinateAccuracy[] = []
  for (let t = PROBE_INTERVAL_MS, c = 0; c < checkpoints.length; t += PROBE_INTERVAL_MS) {
    for (let i = 0; i < nodes; i++) {
      let j = rng.int(nodes - 1)
      if (j >= i) j++
      clients[i].update(String(j), clients[j].coordinate(), draw(link(i, j)) + draw(link(j, i)))
    }
    if (t >= checkpoints[c]) {
      out.push(measureCoordinateAccuracy({ nowMs: t, nodes: clients.map((cl, index) => ({ index, coordinate: cl.coordinate() })), link })!)
      c++
    }
  }
  return out
}

const pct = (x: number): number => +(x * 100).toFixed(1)
const rows: Array<Record<string, string | number>> = []
const raw: unknown[] = []
for (const n of perDc) {
  const { entries, dcOf } = matrix(n)
  const link = linkOf(entries, dcOf)
  for (const seed of seeds) {
    const report = runScenario({ seed, nodes: 3 * n, profile: 'lan', durationMs, latencyMatrix: entries })
    const c = report.coordinates
    if (c === undefined || c.after60s === null) throw new Error('the scenario reported no coordinates')
    const [ref60, refEnd] = reference(3 * n, link, seed, [60_000, report.virtualMs])
    raw.push({ nodes: 3 * n, seed, grapevine: c, reference: { after60s: ref60, atEnd: refEnd } })
    for (const [who, early, end] of [['Grapevine (simulated SWIM)', c.after60s, c.atEnd], ['Serf rule, ideal sampling', ref60, refEnd]] as const) {
      rows.push({
        nodes: 3 * n, seed, who,
        'median 60s %': pct(early.medianRelativeError), 'p90 60s %': pct(early.p90RelativeError),
        'median end %': pct(end.medianRelativeError), 'p90 end %': pct(end.p90RelativeError),
        'end s': Math.round(end.atMs / 1000),
      })
    }
  }
}
console.table(rows)
const truthRtt = CELLS.map(([a, b, l]) => `${a}-${b} ${2 * meanOneWayMs({ ...DEFAULT_NETWORK, oneWayDelayMsMin: l[0], oneWayDelayMsMax: l[1] })} ms`)
console.log(`true round trips: ${truthRtt.join(', ')}`)
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/coordinates.json', JSON.stringify({ seeds, durationMs, cells: CELLS, rows, raw }, null, 2))
