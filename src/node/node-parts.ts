/**
 * The composed node's larger parts, SWIM and Grapevine's stack, built when first used: at once with
 * `membership: 'swim'` (SWIM runs from start(), with the stack as its delegate), and in
 * `membership: 'hyparview'` only when something asks for them (a cluster state round or key, a CRDT
 * write, a SWIM read such as members()). A node of the overlay mode that broadcasts and nothing else
 * never builds either, which is most of its memory at 10,000 simulated nodes (an idle SWIM with its
 * tables, queues and per-type counters, the rumor monger, the state reconciler, the CRDT replicator).
 *
 *   ComposedNode ──get stack──▶ createGrapevineStack (seeded from the node's generator at construction)
 *                ──get swim───▶ stack first (its delegate), then new Swim (seeded likewise)
 *                ──stats──────▶ one SwimStats from the start: the overlay and the sealing count into it,
 *                               and the SWIM built later counts into the same object
 *
 * The seeds are drawn when the node is constructed, in the order the parts were always drawn in, so a
 * part built late runs exactly the random stream it would have run if built at once.
 */
import { SeededRng } from '../core/rng.js'
import type { Address } from '../core/types.js'
import { createGrapevineStack, type GrapevineStack, type GrapevineStackOptions } from '../stack/create.js'
import type { SerfLayer } from '../serf/serf-layer.js'
import type { SwimConfig } from '../swim/config.js'
import { SwimStats } from '../swim/stats.js'
import { Swim } from '../swim/swim.js'
import { coordinateDelegate, type NetworkCoordinates } from '../coordinates/network-coordinates.js'
import type { ResolvedSettings } from './settings.js'
import type { NodeEvent } from './types.js'

/** Everything a composed node is built from. */
export interface NodeSpec extends ResolvedSettings {
  /** The address other members reach us at (the bound one, or the advertised one). */
  readonly address: Address
  /** Addresses the reconnect loop retries (join() adds its seeds too). */
  readonly seeds?: readonly Address[]
  /** CRDT state reloaded from the data directory (node/crdt-store.ts). */
  readonly crdtRestore?: GrapevineStackOptions['crdtRestore']
}

export interface NodePartsOptions {
  readonly spec: NodeSpec
  readonly swimSeed: number
  readonly stackSeed: number
  readonly serf: SerfLayer | undefined
  readonly coords: NetworkCoordinates | undefined
  /** Bytes every sealed packet adds (SWIM packs its packets that much smaller). */
  readonly packetOverheadBytes: number
  /** Where the stack's events go (the node's current input, or the next one). */
  readonly emit: (e: NodeEvent) => void
}

export class NodeParts {
  /** The node's counters: SWIM's own once it is built; the overlay's drops and the wire bytes before. */
  readonly stats = new SwimStats()
  private swimPart: Swim | undefined
  private stackPart: GrapevineStack | undefined
  private stackBuilt = false
  private nowMs = 0

  constructor(private readonly o: NodePartsOptions) {}

  /** Grapevine's stack (undefined when membership-only), built at the first call. */
  get stack(): GrapevineStack | undefined {
    if (this.stackBuilt) return this.stackPart
    this.stackBuilt = true
    const { spec, emit } = this.o
    if (spec.membershipOnly) return undefined
    this.stackPart = createGrapevineStack({
      name: spec.name,
      serf: this.o.serf,
      rng: new SeededRng(this.o.stackSeed),
      generation: spec.generation,
      broadcast: spec.broadcast,
      state: spec.state,
      phi: spec.phi,
      replication: spec.replication,
      crdtRestore: spec.crdtRestore,
      onCrdtChange: (changes) => emit({ type: 'crdtChanged', changes }),
      onAggregateEstimate: (name, estimate) => emit({ type: 'aggregateEstimate', name, estimate }),
      onDelivery: (d) => emit({ type: 'message', message: { id: d.id, name: d.name, payload: d.payload, origin: d.origin, hops: d.hops, via: 'grapevine' } }),
      onStateChange: (event) => emit({ type: 'stateChanged', event }),
      onDrop: (reason) => this.stats.drop(reason),
    })
    this.stackPart.stack.setTime(this.nowMs)
    return this.stackPart
  }

  /** SWIM, built at the first call (the stack first: it is SWIM's delegate). */
  get swim(): Swim {
    if (this.swimPart !== undefined) return this.swimPart
    const { spec, serf, coords } = this.o
    const stack = this.stack
    // memberlist leaves room for the envelope in every packet it packs (spec 4.4).
    const overhead = this.o.packetOverheadBytes
    const config: SwimConfig = overhead === 0 ? spec.config : { ...spec.config, packetBytesBudget: spec.config.packetBytesBudget - overhead }
    this.swimPart = new Swim({
      name: spec.name, address: spec.address, config, rng: new SeededRng(this.o.swimSeed), meta: spec.meta, incarnation: spec.incarnation, seeds: spec.seeds, stats: this.stats,
      delegate: coords === undefined ? stack?.stack ?? serf : coordinateDelegate(stack?.stack ?? serf, coords),
    })
    return this.swimPart
  }

  /** The stack when built (undefined: never asked for, or membership-only). */
  get builtStack(): GrapevineStack | undefined {
    return this.stackPart
  }

  /** SWIM when built (undefined: never asked for). */
  get builtSwim(): Swim | undefined {
    return this.swimPart
  }

  /** An input starts at `nowMs`: the stack, when built, reads its time from here. */
  setTime(nowMs: number): void {
    this.nowMs = nowMs
    if (this.stackPart !== undefined) this.stackPart.stack.setTime(nowMs)
  }

}
