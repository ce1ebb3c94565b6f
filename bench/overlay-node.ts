/**
 * The composed node in `membership: 'hyparview'` mode, at scale in the simulator: speed (virtual seconds
 * per wall second and per CPU second) and heap per node, for `npm run bench` (targets: 10,000 nodes at
 * ≥ 20× real time, ≤ 20 kB per node).
 *
 *   case ──measuredOverlayRun (cli/overlay-sim-command.ts: the run `grapevine sim --membership hyparview` makes)──▶ row
 *
 * Each case: nodes join one by one 10 ms apart through a random earlier node, 5 shuffle periods of
 * 10 s, then 20 s of one broadcast a second; the overlay and broadcast figures come with the row so a
 * fast run that built a bad overlay shows. Keep-alive pings off is the papers' model (the 10,000-node
 * target); 1 s pings (the default) at 1,000 nodes shows what they cost.
 */
import { measuredOverlayRun } from '../src/cli/overlay-sim-command.js'
import type { OverlayRunReport } from '../src/runtime/sim/overlay-scenario.js'

export interface OverlayNodeBenchRow {
  readonly nodes: number
  readonly keepAliveMs: number
  readonly virtualMs: number
  readonly events: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly realTimeFactor: number
  readonly cpuTimeFactor: number
  readonly heapBytesPerNode: number
  readonly fractionAtActiveSize: number
  readonly components: number
  readonly broadcastReliability: number
  readonly broadcastRmr: number
}

function runCase(nodes: number, keepAliveMs: number): OverlayNodeBenchRow {
  const warmupMs = (nodes - 1) * 10 + 50_000
  const r: OverlayRunReport = measuredOverlayRun({
    seed: 1,
    nodes,
    durationMs: warmupMs + 20_000,
    joinSpacingMs: 10,
    warmupMs,
    broadcastsPerSec: 1,
    overlay: { hyparview: keepAliveMs === 0 ? { keepAliveIntervalMs: 60_000, keepAliveTimeoutMs: 0 } : { keepAliveIntervalMs: keepAliveMs, keepAliveTimeoutMs: 5 * keepAliveMs } },
    pathSources: 20,
  })
  const c = r.cost!
  return {
    nodes,
    keepAliveMs,
    virtualMs: r.virtualMs,
    events: r.eventsProcessed,
    wallMs: c.wallMs,
    cpuMs: c.cpuMs,
    realTimeFactor: c.speedup,
    cpuTimeFactor: r.virtualMs / Math.max(1, c.cpuMs),
    heapBytesPerNode: c.heapBytesPerNode,
    fractionAtActiveSize: r.overlay.fractionAtActiveSize,
    components: r.overlay.components,
    broadcastReliability: r.broadcast.reliability,
    broadcastRmr: r.broadcast.rmr,
  }
}

export function runOverlayNodeBench(o: { quick: boolean; progress?: (line: string) => void }): OverlayNodeBenchRow[] {
  const cases: Array<[number, number]> = o.quick ? [[1000, 0]] : [[10_000, 0], [1000, 1000]]
  return cases.map(([nodes, ka]) => {
    o.progress?.(`overlay node: ${nodes} nodes, keep-alive ${ka === 0 ? 'off' : `${ka} ms`}…`)
    return runCase(nodes, ka)
  })
}

export function overlayNodeRows(rows: readonly OverlayNodeBenchRow[]): string[][] {
  return rows.map((r) => [
    r.nodes.toLocaleString('en-US'),
    r.keepAliveMs === 0 ? 'off' : `${r.keepAliveMs} ms`,
    `${(r.virtualMs / 1000).toFixed(0)} s`,
    r.events.toLocaleString('en-US'),
    `${r.realTimeFactor.toFixed(1)}×`,
    `${r.cpuTimeFactor.toFixed(1)}×`,
    `${(r.heapBytesPerNode / 1024).toFixed(1)} kB`,
    `${(100 * r.fractionAtActiveSize).toFixed(1)} %, ${r.components}`,
    `${(100 * r.broadcastReliability).toFixed(2)} %, ${r.broadcastRmr.toFixed(3)}`,
  ])
}

export const OVERLAY_NODE_HEADER = ['nodes', 'keep-alive', 'virtual', 'events', 'wall ×', 'CPU ×', 'heap/node', 'full views, components', 'broadcast reliability, RMR']
