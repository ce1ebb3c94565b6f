// A simulated cluster where every node runs the whole Grapevine stack (SWIM + Serf's layer + broadcasts
// + cluster state + phi), as a real node does. Fixed seeds, virtual time.
import { SeededRng, deriveSeed } from '../../src/core/rng.js'
import { Simulation } from '../../src/runtime/sim/index.js'
import type { ProtocolFactory } from '../../src/runtime/sim/protocol.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { encodeTags } from '../../src/serf/tags.js'
import { SerfLayer } from '../../src/serf/serf-layer.js'
import { createGrapevineStack } from '../../src/stack/create.js'
import type { GrapevineStack } from '../../src/stack/create.js'
import { markMeta } from '../../src/stack/envelope.js'
import type { PhiConfig } from '../../src/state/phi.js'
import type { SwimConfig } from '../../src/swim/config.js'

export interface StackCluster {
  sim: Simulation
  nodes: SimNode[]
  stacks: Map<string, GrapevineStack>
  /** Broadcast ids delivered, per node name, in delivery order. */
  deliveries: Map<string, string[]>
}

export interface StackClusterOptions {
  readonly loss?: number
  readonly phi?: Partial<PhiConfig>
  readonly config?: Partial<SwimConfig>
  /** Protocol factory for the simulation (default a real Swim for every node). */
  readonly createProtocol?: ProtocolFactory
}

export function stackCluster(seed: number, n: number, o: StackClusterOptions = {}): StackCluster {
  const sim = new Simulation({ seed, config: o.config ?? {}, createProtocol: o.createProtocol, network: { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5, loss: o.loss ?? 0 } })
  const stacks = new Map<string, GrapevineStack>()
  const deliveries = new Map<string, string[]>()
  const starts = new Map<string, number>()
  const nodes = sim.spawn(n, {
    meta: markMeta(encodeTags({ role: 'sim' })),
    delegate: ({ index, name }) => {
      const start = (starts.get(name) ?? 0) + 1
      starts.set(name, start)
      const serf = new SerfLayer({ name, retransmitMult: 4, clusterSize: () => n })
      const s = createGrapevineStack({
        name,
        serf,
        rng: new SeededRng(deriveSeed(deriveSeed(seed, index), start)),
        generation: start,
        phi: o.phi ?? {},
        onDelivery: (d) => {
          const list = deliveries.get(name) ?? []
          list.push(d.id)
          deliveries.set(name, list)
        },
      })
      stacks.set(name, s)
      return s.stack
    },
  })
  return { sim, nodes, stacks, deliveries }
}
