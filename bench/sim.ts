/**
 * Simulator speed and memory at 100, 500 and 1000 nodes (LAN profile, 0.5–5 ms one way, no faults),
 * for two programs: SWIM alone (`membershipOnly`, the rows the targets are about, comparable across
 * versions) and the whole stack every real node runs (Serf's layer, broadcasts, cluster state, phi).
 *
 * Per size: the join phase (all nodes join node-000 at t = 0) runs until every node sees every node
 * alive, measured separately; after 30 s of unmeasured warm-up (the join's broadcasts die down), the
 * converged cluster runs a steady stretch of virtual time, whose virtual-seconds-per-wall-second is the
 * headline figure. Heap per simulated node is heapUsed after
 * the steady stretch minus heapUsed before spawning, both after a full GC when `global.gc` is exposed
 * (the bench script runs node with --expose-gc), divided by the node count. Event recording is off, as
 * in scenario runs.
 */
import { Simulation } from '../src/runtime/sim/simulation.js'
import { ViewTracker } from '../src/runtime/sim/checkers.js'

/** Virtual time run (unmeasured) between join convergence and the steady-state measurement. */
export const WARMUP_VIRTUAL_MS = 30_000

export type SimProgram = 'membership' | 'full stack'

export interface SimBenchRow {
  readonly program: SimProgram
  readonly nodes: number
  readonly joinConverged: boolean
  readonly joinVirtualMs: number
  readonly joinWallMs: number
  readonly joinSpeedup: number
  readonly steadyVirtualMs: number
  readonly steadyWallMs: number
  /** Virtual seconds per wall second in the steady state. */
  readonly steadySpeedup: number
  readonly steadyEventsPerWallSec: number
  readonly packetsPerNodePerSec: number
  readonly heapPerNodeMb: number | null
  readonly targetSpeedup: number | null
  readonly targetHeapPerNodeMb: number | null
}

/** Targets: ≥ 200× real time at 100 nodes, ≥ 50× at 1000, ≤ 0.5 MB per node at 1000; none in between. */
export function targetsFor(nodes: number): { speedup: number | null; heapPerNodeMb: number | null } {
  if (nodes === 100) return { speedup: 200, heapPerNodeMb: null }
  if (nodes === 1000) return { speedup: 50, heapPerNodeMb: 0.5 }
  return { speedup: null, heapPerNodeMb: null }
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
}

export function benchOneSize(nodes: number, steadyVirtualMs: number, seed = 1, program: SimProgram = 'membership'): SimBenchRow {
  collect()
  const heapBefore = process.memoryUsage().heapUsed
  const sim = new Simulation({ seed, network: { latencyMs: [0.5, 5] }, recordEvents: false, node: { membershipOnly: program === 'membership' } })
  const tracker = new ViewTracker()
  tracker.reserve(nodes)
  sim.observe(tracker)

  const joinStart = performance.now()
  sim.spawn(nodes)
  const joinConverged = sim.runUntil(() => tracker.converged, 300_000)
  const joinWallMs = performance.now() - joinStart
  const joinVirtualMs = sim.nowMs

  // Let the join's broadcast tail die down (every alive is retransmitted ~retransmitMult × log10(n) times).
  sim.runFor(WARMUP_VIRTUAL_MS)

  const eventsBefore = sim.stats.eventsProcessed
  const packetsBefore = sim.stats.packetsSent
  const steadyStart = performance.now()
  sim.runFor(steadyVirtualMs)
  const steadyWallMs = performance.now() - steadyStart
  const events = sim.stats.eventsProcessed - eventsBefore
  const packets = sim.stats.packetsSent - packetsBefore

  collect()
  const heapAfter = process.memoryUsage().heapUsed
  const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function'
  const target = program === 'membership' ? targetsFor(nodes) : { speedup: null, heapPerNodeMb: null }
  const row: SimBenchRow = {
    program,
    nodes,
    joinConverged,
    joinVirtualMs,
    joinWallMs,
    joinSpeedup: joinVirtualMs / joinWallMs,
    steadyVirtualMs,
    steadyWallMs,
    steadySpeedup: steadyVirtualMs / steadyWallMs,
    steadyEventsPerWallSec: (events * 1000) / steadyWallMs,
    packetsPerNodePerSec: packets / nodes / (steadyVirtualMs / 1000),
    heapPerNodeMb: exposed ? (heapAfter - heapBefore) / nodes / 1024 / 1024 : null,
    targetSpeedup: target.speedup,
    targetHeapPerNodeMb: target.heapPerNodeMb,
  }
  // Keep the simulation reachable until after the heap measurement.
  if (sim.nodes.length !== nodes) throw new Error('unexpected node count')
  return row
}

export interface SimBenchOptions {
  readonly quick: boolean
  readonly progress?: (line: string) => void
}

export function runSimBench(opts: SimBenchOptions): SimBenchRow[] {
  const plan: Array<[number, number]> = opts.quick
    ? [
        [100, 20_000],
        [300, 10_000],
      ]
    : [
        [100, 120_000],
        [500, 60_000],
        [1000, 30_000],
      ]
  const full: Array<[number, number]> = opts.quick ? [[100, 10_000]] : [[100, 60_000], [500, 20_000]]
  const rows: SimBenchRow[] = []
  for (const [nodes, steady] of plan) {
    opts.progress?.(`sim: ${nodes} nodes, SWIM alone…`)
    rows.push(benchOneSize(nodes, steady))
  }
  for (const [nodes, steady] of full) {
    opts.progress?.(`sim: ${nodes} nodes, the whole stack…`)
    rows.push(benchOneSize(nodes, steady, 1, 'full stack'))
  }
  return rows
}

function fixed(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function formatSimBench(rows: readonly SimBenchRow[]): string {
  const header = ['program', 'nodes', 'join (virtual)', 'join wall', 'join ×', 'steady ×', 'target ×', 'events/wall s', 'pkts/node/s', 'heap/node', 'target heap']
  const lines = rows.map((r) => [
    r.program,
    String(r.nodes),
    `${fixed(r.joinVirtualMs / 1000, 2)} s${r.joinConverged ? '' : ' (not converged)'}`,
    `${fixed(r.joinWallMs / 1000, 2)} s`,
    fixed(r.joinSpeedup),
    `${fixed(r.steadySpeedup)}${r.targetSpeedup === null ? '' : r.steadySpeedup >= r.targetSpeedup ? ' ok' : ' LOW'}`,
    r.targetSpeedup === null ? '' : `≥ ${r.targetSpeedup}`,
    fixed(r.steadyEventsPerWallSec, 0),
    fixed(r.packetsPerNodePerSec, 2),
    r.heapPerNodeMb === null ? 'n/a (no --expose-gc)' : `${fixed(r.heapPerNodeMb, 3)} MB${r.targetHeapPerNodeMb !== null ? (r.heapPerNodeMb <= r.targetHeapPerNodeMb ? ' ok' : ' HIGH') : ''}`,
    r.targetHeapPerNodeMb === null ? '' : `≤ ${r.targetHeapPerNodeMb} MB`,
  ])
  return table(header, lines)
}

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}
