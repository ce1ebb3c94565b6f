// Aggregates on simulated composed nodes, started through the node's own input (node/aggregation.ts).
import { aggregateStatus, startAggregate, stopAggregate } from '../../src/node/index.js'
import type { AggregateFunctionName, AggregateOptions, AggregateStatus, ComposedNode } from '../../src/node/index.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import type { Simulation } from '../../src/runtime/sim/index.js'

export function start(sim: Simulation, node: SimNode, name: string, fn: AggregateFunctionName, read: () => number, o: AggregateOptions = {}): AggregateStatus {
  return sim.invoke(node, (p, now, out) => startAggregate(p as ComposedNode, name, fn, read, o, now, out))
}

export function stop(sim: Simulation, node: SimNode, name: string): boolean {
  return sim.invoke(node, (p, now, out) => stopAggregate(p as ComposedNode, name, now, out))
}

export function statusOf(node: SimNode, name: string): AggregateStatus | undefined {
  return aggregateStatus(node.protocol as ComposedNode, name)
}

/** The published estimates of the live nodes running `name` (undefined where none yet). */
export function estimates(sim: Simulation, name: string): Array<{ node: string; epoch: number | undefined; value: number | undefined }> {
  return sim.liveNodes().map((n) => {
    const e = statusOf(n, name)?.estimate
    return { node: n.name, epoch: e?.epoch, value: e?.value }
  })
}

/** The largest relative error of the live nodes' published estimates against `truth` (Infinity if one has none). */
export function maxRelativeError(sim: Simulation, name: string, truth: number): number {
  let worst = 0
  for (const e of estimates(sim, name)) {
    if (e.value === undefined) return Infinity
    worst = Math.max(worst, Math.abs(e.value - truth) / Math.max(Math.abs(truth), 1e-12))
  }
  return worst
}
