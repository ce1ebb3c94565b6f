/**
 * Gossip aggregation as pure state machines: push-pull averaging and push-sum, restarted in epochs.
 *
 *   driver: every cycle tick() -> bytes to one peer; on bytes handle() -> maybe a reply; estimate()
 *
 * Riding on the node's gossip (the `node.aggregate.*` API) is a later layer; the lab (src/lab/aggregate.ts)
 * models the same rules on typed arrays at millions of nodes.
 */
export { PushPullAggregator, PushSumAggregator, type AggregationInput, type HandleResult, type Outgoing } from './aggregator.js'
export {
  AGGREGATE_FUNCTION_NAMES,
  checkAggregationConfig,
  decodeAggregationMessage,
  encodeAggregationMessage,
  epochLeader,
  type AggregateEstimate,
  type AggregateFunctionName,
  type AggregationConfig,
  type AggregationMessage,
} from './common.js'
