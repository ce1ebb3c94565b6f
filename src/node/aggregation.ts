/**
 * Aggregates on the composed node: starting, stopping and reading the named aggregates of the stack's
 * aggregation protocol (stack/aggregation-protocol.ts). Both runtimes (node.aggregate in the real one,
 * tests and workloads in the simulator) call these; ComposedNode itself carries only the event.
 *
 *   start(spec, read) ──▶ protocol.start (throws before anything changed) ──▶ node.setKey(
 *                         'grapevine/aggregate/<name>', '<fn> <mode> <cycleMs> <epochCycles>')  (an input:
 *                         the announcement spreads with the cluster state; the gossip round wakes)
 *   stop(name)        ──▶ protocol.stop ──▶ node.deleteKey(…) (peers stop picking this node)
 *   epoch ended       ──▶ NodeEvent { type: 'aggregateEstimate', name, estimate }
 *
 * Pure, like the node: time and the outbox come with each call.
 */
import { ConfigError } from '../core/errors.js'
import { AGGREGATE_KEY_PREFIX, aggregateSignature, resolveAggregateSpec } from '../stack/aggregation-protocol.js'
import type { AggregateOptions, AggregateStatus, AggregationProtocol } from '../stack/aggregation-protocol.js'
import type { AggregateFunctionName } from '../aggregation/common.js'
import type { ComposedNode } from './node.js'
import type { NodeOutbox } from './types.js'

export type { AggregateOptions, AggregateStatus, AggregateSpec, AggregationMode } from '../stack/aggregation-protocol.js'
export { AGGREGATE_DEFAULTS, AGGREGATION_MODES, AGGREGATE_KEY_PREFIX, resolveAggregateSpec } from '../stack/aggregation-protocol.js'
export { AGGREGATE_FUNCTION_NAMES, type AggregateEstimate, type AggregateFunctionName } from '../aggregation/common.js'

function protocolOf(node: ComposedNode): AggregationProtocol {
  if (node.stack === undefined) throw new ConfigError(['membershipOnly: aggregates need Grapevine\'s stack; start the node without membershipOnly'], 'aggregate')
  if (node.overlay !== undefined) throw new ConfigError(["membership: aggregates ride on SWIM's membership; start the node with membership 'swim' (the default)"], 'aggregate')
  return node.stack.aggregation
}

/**
 * Starts the aggregate `name` of `fn` over the values `read` returns (read at each epoch start). Throws
 * ConfigError naming the problem (bad settings, a name that runs already, a value function that gives no
 * finite number now, a node without the stack): nothing changed then.
 */
export function startAggregate(node: ComposedNode, name: string, fn: AggregateFunctionName, read: () => number, options: AggregateOptions, nowMs: number, out: NodeOutbox): AggregateStatus {
  const protocol = protocolOf(node)
  const spec = resolveAggregateSpec(name, fn, options)
  protocol.start(spec, read)
  try {
    node.setKey(AGGREGATE_KEY_PREFIX + spec.name, aggregateSignature(spec), nowMs, out)
  } catch (e) {
    protocol.stop(spec.name)
    throw e
  }
  return protocol.status(spec.name)!
}

/** Stops the aggregate `name` and withdraws its announcement; false when none of that name runs. */
export function stopAggregate(node: ComposedNode, name: string, nowMs: number, out: NodeOutbox): boolean {
  const protocol = protocolOf(node)
  if (!protocol.stop(name)) return false
  if (!node.isStopped) node.deleteKey(AGGREGATE_KEY_PREFIX + name, nowMs, out)
  return true
}

/** One running aggregate (undefined: none of that name, or no stack). */
export function aggregateStatus(node: ComposedNode, name: string): AggregateStatus | undefined {
  return node.stack?.aggregation.status(name)
}

/** Every running aggregate, by name. */
export function aggregateList(node: ComposedNode): AggregateStatus[] {
  const p = node.stack?.aggregation
  return p === undefined ? [] : p.names().map((n) => p.status(n)!)
}
