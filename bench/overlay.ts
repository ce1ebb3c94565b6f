/**
 * The HyParView and Plumtree papers' figures at 10,000 nodes (`npm run bench:overlay -- [--nodes N]
 * [--seed S] [--fail 0.5,0.7] [--broadcasts B] [--keepalive-ms MS] [--loss P] [--host-crash] [--graft-timeout-ms MS]
 * [--engine both|harness|composed] [--composed-nodes N] [--composed-periods P] [--composed-keepalive-ms MS]
 * [--composed-fail-periods P] [--repair-ms MS] [--composed-fail 0.2,0.4,0.5,0.6,0.7] [--composed-flood-fail 0.5]
 * [--repair-push lazy-too|tree] [--failures-only]`).
 *
 *   harness   (below) the pure state machines, TCP's failure model, at --nodes (default 10,000)
 *   composed  (overlay-composed.ts) the composed node the library ships, in the simulator, over UDP's
 *             failure model, at --composed-nodes (default 2,000: at 10,000 its runs take the better part
 *             of an hour of CPU on a shared machine; `--composed-nodes 10000` gives item 6's rows)
 *
 *   build: N nodes join one by one (each through a random live node), then 50 shuffle periods
 *   measure: active view sizes, symmetry, clustering, shortest paths, in-degrees (overlay-metrics.ts)
 *   broadcast: B broadcasts on two layers side by side over the same overlay, flooding and Plumtree
 *   fail: for each fraction f, the same overlay rebuilt (same seed), f × N nodes crashed at once, then
 *         B broadcasts 200 ms apart: no shuffle and no keep-alive period passes between the crash and
 *         the first ones (the papers' "no membership round in between")
 *
 * The overlay's nodes are the pure HyParView + Plumtree state machines driven by OverlaySim through
 * the simulator's Network (latency 1–10 ms, `--loss`), every message encoded and decoded. Failures
 * are found as in the papers' TCP model: a crashed process's connections are reset (its neighbours
 * learn one link delay later) and a send to it fails one round trip later; `--host-crash` drops the
 * resets (a vanished host), leaving sends and, with `--keepalive-ms`, timeouts. Keep-alive
 * pings are off by default (`--keepalive-ms` turns them on) because the papers have none and they
 * would dominate the event count; speed is reported in virtual seconds per CPU second as well as per
 * wall second, since this machine is shared.
 *
 * Prints paper vs Grapevine and writes JSON to bench/results/overlay-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { SeededRng } from '../src/core/rng.js'
import { OverlaySim, type BroadcastRecord } from '../test/overlay/overlay-harness.js'
import type { OverlayReport } from '../src/runtime/sim/overlay-metrics.js'
import { table } from '../src/output/table.js'
import { composedRows, runComposedFigures, type ComposedResult } from './overlay-composed.js'

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

const nodes = Number(flag('nodes', '10000'))
const seed = Number(flag('seed', '1'))
const failFractions = flag('fail', '0.5,0.7').split(',').filter((x) => x !== '').map(Number)
const broadcastCount = Number(flag('broadcasts', '20'))
const keepAliveMs = Number(flag('keepalive-ms', '0'))
const loss = Number(flag('loss', '0'))
/** --host-crash: crashed nodes close no connections (a host that vanished): only sends and timeouts find them. */
const hostCrash = process.argv.includes('--host-crash')
const engine = flag('engine', 'both')
if (!['both', 'harness', 'composed'].includes(engine)) {
  console.error(`--engine: expected both, harness or composed, got ${engine}`)
  process.exit(2)
}
/** A whole number flag at least `min`; anything else stops the bench naming the flag. */
function count(name: string, fallback: string, min: number): number {
  const v = Number(flag(name, fallback))
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name}: expected a whole number ≥ ${min}, got ${flag(name, fallback)}`)
    process.exit(2)
  }
  return v
}
const composedNodes = count('composed-nodes', '2000', 2)
const composedPeriods = count('composed-periods', '50', 0)
const composedKeepAliveMs = count('composed-keepalive-ms', '1000', 0)
const composedFailPeriods = count('composed-fail-periods', '5', 0)
const repairMs = count('repair-ms', '30000', 0)
/** A list of fractions in (0, 1); anything else stops the bench naming the flag. */
function fractions(name: string, fallback: string): number[] {
  const xs = flag(name, fallback).split(',').filter((x) => x !== '').map(Number)
  if (xs.some((x) => !(x > 0 && x < 1))) {
    console.error(`--${name}: expected fractions between 0 and 1 separated by commas, got ${flag(name, fallback)}`)
    process.exit(2)
  }
  return xs
}
const composedFail = fractions('composed-fail', '0.2,0.4,0.5,0.6,0.7')
const composedFloodFail = fractions('composed-flood-fail', '0.5')
const repairPush = flag('repair-push', '')
if (!['', 'lazy-too', 'tree'].includes(repairPush)) {
  console.error(`--repair-push: expected lazy-too (the default) or tree (the paper's), got ${repairPush}`)
  process.exit(2)
}
const failuresOnly = process.argv.includes('--failures-only')
const SHUFFLE_MS = 10_000
const SHUFFLE_PERIODS = 50
const JOIN_SPACING_MS = 10
const BROADCAST_GAP_MS = 2000
const DRAIN_MS = 3000
/**
 * GRAFT waits this long after the first IHAVE (`--graft-timeout-ms`; the retry waits half). Default:
 * the library's own (200 ms, retry 100 ms), so the figures are those of the protocol as it ships.
 */
const GRAFT_TIMEOUT_MS = flag('graft-timeout-ms', '') === '' ? undefined : Number(flag('graft-timeout-ms', ''))

const gc = (globalThis as { gc?: () => void }).gc
const heapMb = (): number => {
  gc?.()
  return process.memoryUsage().heapUsed
}

interface Built {
  readonly sim: OverlaySim
  readonly rng: SeededRng
  readonly bytesPerNode: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly virtualMs: number
}

function build(): Built {
  const before = heapMb()
  const began = performance.now()
  const cpu0 = process.cpuUsage()
  const sim = new OverlaySim({
    seed,
    network: { latencyMs: [1, 10], loss },
    hyparview: {
      shuffleIntervalMs: SHUFFLE_MS,
      // Off: pings and timeouts disabled; the repair check still runs once a minute.
      keepAliveIntervalMs: keepAliveMs > 0 ? keepAliveMs : 60_000,
      keepAliveTimeoutMs: keepAliveMs > 0 ? 4 * keepAliveMs : 0,
    },
    layers: [{ mode: 'flood' }, GRAFT_TIMEOUT_MS === undefined ? { mode: 'plumtree' } : { mode: 'plumtree', graftTimeoutMs: GRAFT_TIMEOUT_MS, graftRetryMs: GRAFT_TIMEOUT_MS / 2 }],
    connectionRefused: !hostCrash,
  })
  const rng = new SeededRng(seed ^ 0x5eed)
  for (let i = 0; i < nodes; i++) sim.add()
  sim.start(0)
  for (let i = 1; i < nodes; i++) sim.at(i * JOIN_SPACING_MS, () => sim.start(i, rng.int(i)))
  sim.runUntil(nodes * JOIN_SPACING_MS + SHUFFLE_PERIODS * SHUFFLE_MS)
  const cpu = process.cpuUsage(cpu0)
  return {
    sim,
    rng,
    bytesPerNode: (heapMb() - before) / nodes,
    wallMs: performance.now() - began,
    cpuMs: (cpu.user + cpu.system) / 1000,
    virtualMs: sim.now,
  }
}

function broadcastRound(sim: OverlaySim, rng: SeededRng, count: number, gapMs: number): BroadcastRecord[][] {
  const out: BroadcastRecord[][] = [[], []]
  for (let b = 0; b < count; b++) {
    let origin = rng.int(sim.size)
    while (!sim.isAlive(origin)) origin = rng.int(sim.size)
    const body = new Uint8Array(16)
    new DataView(body.buffer).setFloat64(0, sim.now)
    body[8] = b
    body[9] = 0
    out[0].push(sim.broadcast(origin, body.slice(), 0))
    body[9] = 1
    out[1].push(sim.broadcast(origin, body.slice(), 1))
    sim.runFor(gapMs)
  }
  sim.runFor(DRAIN_MS) // let the last ones finish before they are counted
  return out
}

interface Summary {
  readonly reliability: number
  readonly rmr: number
  readonly ldh: number
  readonly payloadMessages: number
  readonly controlMessages: number
}
const rel = (r: BroadcastRecord, live: number): number => r.delivered / live
const rmrOf = (r: BroadcastRecord): number => (r.delivered > 1 ? r.payloadMessages / (r.delivered - 1) - 1 : 0)
function summarize(recs: readonly BroadcastRecord[], live: number): Summary {
  const mean = (f: (r: BroadcastRecord) => number): number => recs.reduce((s, r) => s + f(r), 0) / Math.max(1, recs.length)
  return { reliability: mean((r) => rel(r, live)), rmr: mean(rmrOf), ldh: mean((r) => r.ldh), payloadMessages: mean((r) => r.payloadMessages), controlMessages: mean((r) => r.controlMessages) }
}
const perBroadcast = (recs: readonly BroadcastRecord[], live: number) =>
  recs.map((r) => ({ atMs: r.atMs, reliability: rel(r, live), rmr: rmrOf(r), ldh: r.ldh, payloadMessages: r.payloadMessages, controlMessages: r.controlMessages }))

const f3 = (x: number): string => x.toFixed(3)
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`

function composedPart(): ComposedResult {
  const r = runComposedFigures({
    nodes: composedNodes,
    seed,
    shufflePeriods: composedPeriods,
    broadcasts: broadcastCount,
    failFractions: composedFail,
    floodFailFractions: composedFloodFail,
    ...(repairPush === '' ? {} : { repairPush: repairPush as 'lazy-too' | 'tree' }),
    failuresOnly,
    keepAliveMs: composedKeepAliveMs,
    failShufflePeriods: composedFailPeriods,
    repairMs,
    progress: (line) => console.log(line),
  })
  const healthyCpu = r.healthy === undefined ? 'not run' : `${(r.healthy.cpuMs / 1000).toFixed(1)} s CPU (flooding ${((r.flood?.cpuMs ?? 0) / 1000).toFixed(1)} s)`
  console.log(`\nthe composed node (membership: 'hyparview') in the simulator, ${composedNodes} nodes, seed ${seed}, repairPush ${repairPush === '' ? 'default' : repairPush}: healthy run ${composedPeriods} shuffle periods, pings off, ${healthyCpu}; failure runs ${composedFailPeriods} shuffle periods, pings every ${composedKeepAliveMs} ms (timeout 5 ×), crash silent (UDP), ${r.failures.map((f) => `${(f.cpuMs / 1000).toFixed(1)} s CPU`).join(', ')}`)
  console.log(table(['figure', 'paper', 'composed node'], composedRows(r)))
  const h = r.healthy
  if (h !== undefined) console.log(`payloads over N − 1 per broadcast (healthy run): ${h.broadcasts.map((b) => b.payloadMessages - (h.report.liveNodes - 1)).join(' ')}`)
  return r
}

function main(): void {
  const began = performance.now()
  const composed = engine === 'harness' ? undefined : composedPart()
  if (engine === 'composed') {
    writeResults({ date: new Date().toISOString(), node: process.version, settings: { seed, broadcasts: broadcastCount, failFractions }, composed, wallMs: performance.now() - began })
    return
  }
  console.log(`overlay bench: ${nodes} nodes, seed ${seed}, shuffle every ${SHUFFLE_MS} ms × ${SHUFFLE_PERIODS}, keep-alive ${keepAliveMs > 0 ? `${keepAliveMs} ms` : 'off'}, loss ${loss}, crash ${hostCrash ? 'of hosts (silent)' : 'of processes (connections reset)'}`)
  const b = build()
  const o: OverlayReport = b.sim.measure(200)
  console.log(`built in ${(b.wallMs / 1000).toFixed(1)} s wall, ${(b.cpuMs / 1000).toFixed(1)} s CPU, ${(b.virtualMs / 1000).toFixed(0)} s virtual, ${b.sim.events} events, ${(b.bytesPerNode / 1024).toFixed(1)} kB heap per node`)
  const healthy = broadcastRound(b.sim, b.rng, broadcastCount, BROADCAST_GAP_MS)
  const live = b.sim.live
  const flood = summarize(healthy[0], live)
  const plum = healthy[1].slice(1) // after its first broadcast the tree is built
  const plumLowRmr = plum.filter((r) => rmrOf(r) <= 0.01 && r.delivered === live).length / Math.max(1, plum.length)
  const plumGood = plum.filter((r) => r.payloadMessages === live - 1 && r.delivered === live).length / Math.max(1, plum.length)
  const plumSummary = summarize(plum, live)

  const failures = failFractions.map((fraction) => {
    const fb = fraction === failFractions[0] ? b : build()
    const sim = fb.sim
    const order = fb.rng.shuffle(Array.from({ length: sim.size }, (_, i) => i))
    for (const i of order.slice(0, Math.round(fraction * sim.size))) sim.crash(i)
    const liveAfter = sim.live
    const recs = broadcastRound(sim, fb.rng, broadcastCount, 200)
    const floodRel = recs[0].map((r) => rel(r, liveAfter))
    const plumRel = recs[1].map((r) => rel(r, liveAfter))
    let regainedAt = plumRel.length
    while (regainedAt > 0 && plumRel[regainedAt - 1] === 1) regainedAt--
    return { fraction, liveAfter, floodRel, plumRel, plumRegainedAfter: regainedAt, flood: perBroadcast(recs[0], liveAfter), plumtree: perBroadcast(recs[1], liveAfter) }
  })

  console.log('\n' + table(
    ['figure', 'paper', 'Grapevine'],
    [
      ['nodes with exactly 5 active neighbours', '≥ 90 %', pct(o.fractionAtActiveSize)],
      ['active links symmetric', '100 %', pct(o.symmetricFraction)],
      ['average clustering coefficient', '< 0.002', o.clustering.toFixed(5)],
      ['average shortest path', '≈ 6.4', o.avgShortestPath.toFixed(2)],
      ['components / isolated nodes', '1 / 0', `${o.components} / ${o.isolated}`],
      ['flooding the active view: RMR', '3.0 ± 0.05', f3(flood.rmr)],
      ['flooding: reliability', '100 %', pct(flood.reliability)],
      ['Plumtree broadcasts with RMR ≤ 0.01, all reached (after the first)', '≥ 95 %', pct(plumLowRmr)],
      ['Plumtree broadcasts with exactly N − 1 payload messages', '≥ 95 %', pct(plumGood)],
      ['Plumtree: mean RMR, payload messages, LDH', '≈ 0, N − 1', `${f3(plumSummary.rmr)}, ${plumSummary.payloadMessages.toFixed(0)}, ${plumSummary.ldh.toFixed(1)}`],
      ...failures.flatMap((f) => [
        [`${f.fraction * 100} % crashed: flooding, 1st broadcast reliability`, '≥ 99 % (50 %)', pct(f.floodRel[0])],
        [`${f.fraction * 100} % crashed: Plumtree reliability, broadcasts 1..3`, '100 % within 2', f.plumRel.slice(0, 3).map(pct).join(', ')],
        [`${f.fraction * 100} % crashed: Plumtree broadcasts before 100 % for good`, '≤ 2', `${f.plumRegainedAfter} of ${f.plumRel.length}`],
      ]),
    ],
  ))
  const speed = b.virtualMs / b.wallMs
  const cpuSpeed = b.virtualMs / b.cpuMs
  console.log(`\nspeed: ${speed.toFixed(1)}× real time (wall), ${cpuSpeed.toFixed(1)}× per CPU second; memory ${(b.bytesPerNode / 1024).toFixed(1)} kB per node (target ≤ 20)`)
  console.log(`in-degree histogram: ${o.inDegreeHistogram.map((c, d) => `${d}:${c}`).filter((x) => !x.endsWith(':0')).join(' ')}`)

  const body = {
    date: new Date().toISOString(),
    node: process.version,
    settings: { nodes, seed, hostCrash, graftTimeoutMs: GRAFT_TIMEOUT_MS ?? 'library default', shuffleIntervalMs: SHUFFLE_MS, shufflePeriods: SHUFFLE_PERIODS, joinSpacingMs: JOIN_SPACING_MS, keepAliveMs, loss, broadcasts: broadcastCount, failFractions },
    build: { wallMs: b.wallMs, cpuMs: b.cpuMs, virtualMs: b.virtualMs, events: b.sim.events, bytesPerNode: b.bytesPerNode, realTimeFactor: speed, cpuTimeFactor: cpuSpeed },
    overlay: o,
    broadcast: {
      flood: { ...flood, perBroadcast: perBroadcast(healthy[0], live) },
      plumtree: { ...summarize(healthy[1], live), fractionLowRmr: plumLowRmr, fractionExactlyNMinus1: plumGood, perBroadcast: perBroadcast(healthy[1], live) },
    },
    failures,
    composed,
    wallMs: performance.now() - began,
  }
  writeResults(body)
}

function writeResults(body: { readonly wallMs: number; readonly [key: string]: unknown }): void {
  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(new URL(`overlay-${stamp}.json`, dir), JSON.stringify(body, null, 2) + '\n')
  console.log(`\nresults written to bench/results/overlay-${stamp}.json (${(body.wallMs / 1000).toFixed(1)} s)`)
}

main()
