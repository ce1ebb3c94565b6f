/**
 * Builds a node's whole stack: Serf's layer (optional), broadcasts, cluster state, CRDT replication,
 * gossip aggregation and the phi accrual detector, composed as one SwimDelegate. Both runtimes use it: startNode with a random seed and the
 * wall clock as generation, the simulator with derived seeds and a restart counter.
 */
import type { Rng } from '../core/rng.js'
import { SeededRng } from '../core/rng.js'
import type { RumorConfig } from '../gossip/config.js'
import { RumorMonger } from '../gossip/rumor.js'
import type { Delivery } from '../gossip/rumor.js'
import type { SerfLayer } from '../serf/serf-layer.js'
import type { StateEvent } from '../state/cluster-state.js'
import type { StateConfig } from '../state/config.js'
import type { PhiConfig } from '../state/phi.js'
import { PhiAccrualRegistry, PhiSecondOpinion } from '../state/phi.js'
import { StateReconciler } from '../state/reconcile.js'
import type { DropReason } from '../swim/events.js'
import { BroadcastProtocol, StateProtocol } from './protocols.js'
import { CrdtProtocol } from './crdt-protocol.js'
import { CrdtReplicator, type KeyChange, type KeyRecord } from '../replication/replicator.js'
import type { ReplicationConfig } from '../replication/config.js'
import { replicaId } from '../replication/keys.js'
import { ProtocolStack } from './stack.js'
import { AggregationProtocol } from './aggregation-protocol.js'
import type { AggregateEstimate } from '../aggregation/common.js'

export interface GrapevineStackOptions {
  readonly name: string
  /** Seeds the protocols' randomness (each gets its own stream). */
  readonly rng: Rng
  /** Must grow across restarts of this node (the wall clock at start does). */
  readonly generation: number
  readonly serf?: SerfLayer
  readonly broadcast?: Partial<RumorConfig>
  readonly state?: Partial<StateConfig>
  readonly phi?: Partial<PhiConfig>
  readonly replication?: Partial<ReplicationConfig>
  /** CRDT state reloaded from a data directory: the replica id it was written under and its keys. */
  readonly crdtRestore?: { readonly replica: string; readonly keys: readonly KeyRecord[] }
  readonly onCrdtChange?: (changes: readonly KeyChange[]) => void
  readonly onDelivery?: (d: Delivery) => void
  readonly onStateChange?: (e: StateEvent) => void
  readonly onDrop?: (reason: DropReason) => void
  /** An aggregate's epoch ended here with this estimate (stack/aggregation-protocol.ts). */
  readonly onAggregateEstimate?: (name: string, estimate: AggregateEstimate) => void
}

export interface GrapevineStack {
  readonly stack: ProtocolStack
  readonly broadcasts: BroadcastProtocol
  readonly state: StateProtocol
  readonly crdt: CrdtProtocol
  readonly aggregation: AggregationProtocol
  readonly phi: PhiAccrualRegistry
}

export function createGrapevineStack(o: GrapevineStackOptions): GrapevineStack {
  const child = (): Rng => new SeededRng(o.rng.u32())
  const phi = new PhiAccrualRegistry(o.phi)
  const broadcasts = new BroadcastProtocol(new RumorMonger({ self: o.name, rng: child(), config: o.broadcast, repairRides: true }), (d) => o.onDelivery?.(d))
  const state = new StateProtocol(new StateReconciler({ self: o.name, generation: o.generation, rng: child(), config: o.state }), child(), phi, (e) => o.onStateChange?.(e))
  const replicator = new CrdtReplicator({
    self: o.name,
    // Per incarnation unless reloaded: a restart without its data can never reuse its past dots or counter entry.
    replica: o.crdtRestore?.replica ?? replicaId(o.name, o.generation),
    rng: child(),
    config: o.replication,
    restored: o.crdtRestore?.keys,
  })
  const crdt = new CrdtProtocol(replicator, (c) => o.onCrdtChange?.(c))
  // Participation in an aggregate is announced in the cluster state, so the aggregates read it there.
  const aggregation = new AggregationProtocol(o.name, child(), state.reconciler.state, (name, e) => o.onAggregateEstimate?.(name, e))
  const opinion = phi.config.mode === 'swimOnly' ? undefined : new PhiSecondOpinion(phi)
  const stack = new ProtocolStack({ name: o.name, serf: o.serf, protocols: [broadcasts, state, crdt, aggregation], onDrop: o.onDrop, opinion })
  return { stack, broadcasts, state, crdt, aggregation, phi }
}
