/**
 * `node.aggregate`: values the cluster computes by gossip (average, sum, count, min, max), per name.
 *
 *   node.aggregate.average('load', () => localLoad) ──▶ driver.run(startAggregate(…)) ──▶ the stack's
 *        aggregation protocol runs it; the announcement `grapevine/aggregate/load` goes out with the
 *        cluster state, so the other nodes running 'load' pick this one as a partner
 *   every cycleMs        one exchange with a random partner (push-pull) or one push (push-sum)
 *   every epoch          `aggregateEstimate` event ──▶ subscribe(cb) callbacks; estimate() reads it
 *   handle.stop()        ──▶ stopAggregate (the announcement is deleted)
 *
 * The protocol is src/stack/aggregation-protocol.ts inside the composed node; nothing here gossips.
 */
import { aggregateList, aggregateStatus, startAggregate, stopAggregate } from '../../node/index.js'
import type { AggregateEstimate, AggregateFunctionName, AggregateOptions, AggregateStatus, ComposedNode, NodeEvent } from '../../node/index.js'
import type { Driver } from './driver.js'

/** One running aggregate on this node. */
export interface AggregateHandle {
  readonly name: string
  /** The last completed epoch's estimate here (value, epoch, spread); undefined until an epoch completed. */
  estimate(): AggregateEstimate | undefined
  /** Everything about it: settings, estimate, the running epoch, participants, counters; undefined once stopped. */
  status(): AggregateStatus | undefined
  /** Calls `cb` with each epoch's estimate as it completes here; returns the unsubscribe. */
  subscribe(cb: (estimate: AggregateEstimate) => void): () => void
  /** Stops it here and withdraws this node from it; false when it was stopped already. */
  stop(): boolean
}

export interface AggregateApi {
  /** The cluster-wide average of `value()` (read at each epoch start on each node running `name`). */
  average(name: string, value: () => number, options?: AggregateOptions): AggregateHandle
  /** The cluster-wide sum of `value()`. */
  sum(name: string, value: () => number, options?: AggregateOptions): AggregateHandle
  /** How many nodes run `name`: the cluster's size when every node runs it. */
  count(name: string, options?: AggregateOptions): AggregateHandle
  min(name: string, value: () => number, options?: AggregateOptions): AggregateHandle
  max(name: string, value: () => number, options?: AggregateOptions): AggregateHandle
  /** Any of the above by function name (`avg`, `sum`, `count`, `min`, `max`). Throws ConfigError naming a bad setting. */
  start(name: string, fn: AggregateFunctionName, value: () => number, options?: AggregateOptions): AggregateHandle
  get(name: string): AggregateStatus | undefined
  /** Every aggregate running here, by name. */
  list(): AggregateStatus[]
  /** Stops `name` here; false when it does not run. */
  stop(name: string): boolean
  /** Calls `cb` with each epoch's estimate of `name` (subscriptions end when the aggregate stops). */
  subscribe(name: string, cb: (estimate: AggregateEstimate) => void): () => void
}

export class NodeAggregate implements AggregateApi {
  private readonly subscribers = new Map<string, Set<(e: AggregateEstimate) => void>>()

  constructor(
    private readonly driver: Driver,
    private readonly node: ComposedNode,
  ) {
    driver.events.on('event', (e: NodeEvent) => {
      if (e.type !== 'aggregateEstimate') return
      for (const cb of [...(this.subscribers.get(e.name) ?? [])]) cb(e.estimate)
    })
  }

  average(name: string, value: () => number, options?: AggregateOptions): AggregateHandle {
    return this.start(name, 'avg', value, options)
  }

  sum(name: string, value: () => number, options?: AggregateOptions): AggregateHandle {
    return this.start(name, 'sum', value, options)
  }

  count(name: string, options?: AggregateOptions): AggregateHandle {
    // Every node counts 1; only the epoch's leader's weight matters (aggregation/common.ts).
    return this.start(name, 'count', () => 1, options)
  }

  min(name: string, value: () => number, options?: AggregateOptions): AggregateHandle {
    return this.start(name, 'min', value, options)
  }

  max(name: string, value: () => number, options?: AggregateOptions): AggregateHandle {
    return this.start(name, 'max', value, options)
  }

  start(name: string, fn: AggregateFunctionName, value: () => number, options: AggregateOptions = {}): AggregateHandle {
    this.driver.run((now, out) => startAggregate(this.node, name, fn, value, options, now, out))
    return {
      name,
      estimate: () => aggregateStatus(this.node, name)?.estimate,
      status: () => aggregateStatus(this.node, name),
      subscribe: (cb) => this.subscribe(name, cb),
      stop: () => this.stop(name),
    }
  }

  get(name: string): AggregateStatus | undefined {
    return aggregateStatus(this.node, name)
  }

  list(): AggregateStatus[] {
    return aggregateList(this.node)
  }

  stop(name: string): boolean {
    if (this.node.isStopped) return false
    const stopped = this.driver.run((now, out) => stopAggregate(this.node, name, now, out))
    if (stopped) this.subscribers.delete(name)
    return stopped
  }

  subscribe(name: string, cb: (estimate: AggregateEstimate) => void): () => void {
    let set = this.subscribers.get(name)
    if (set === undefined) this.subscribers.set(name, (set = new Set()))
    set.add(cb)
    return () => void this.subscribers.get(name)?.delete(cb)
  }
}
