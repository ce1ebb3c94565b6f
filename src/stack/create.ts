/**
 * Builds a node's whole stack: Serf's layer (optional), broadcasts, cluster state and the phi accrual
 * detector, composed as one SwimDelegate. Both runtimes use it: startNode with a random seed and the
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
import { ProtocolStack } from './stack.js'

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
  readonly onDelivery?: (d: Delivery) => void
  readonly onStateChange?: (e: StateEvent) => void
  readonly onDrop?: (reason: DropReason) => void
}

export interface GrapevineStack {
  readonly stack: ProtocolStack
  readonly broadcasts: BroadcastProtocol
  readonly state: StateProtocol
  readonly phi: PhiAccrualRegistry
}

export function createGrapevineStack(o: GrapevineStackOptions): GrapevineStack {
  const child = (): Rng => new SeededRng(o.rng.u32())
  const phi = new PhiAccrualRegistry(o.phi)
  const broadcasts = new BroadcastProtocol(new RumorMonger({ self: o.name, rng: child(), config: o.broadcast, repairRides: true }), (d) => o.onDelivery?.(d))
  const state = new StateProtocol(new StateReconciler({ self: o.name, generation: o.generation, rng: child(), config: o.state }), child(), phi, (e) => o.onStateChange?.(e))
  const opinion = phi.config.mode === 'swimOnly' ? undefined : new PhiSecondOpinion(phi)
  const stack = new ProtocolStack({ name: o.name, serf: o.serf, protocols: [broadcasts, state], onDrop: o.onDrop, opinion })
  return { stack, broadcasts, state, phi }
}
