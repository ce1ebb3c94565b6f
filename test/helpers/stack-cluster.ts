// A simulated cluster of composed nodes (SWIM + Serf's layer + broadcasts + cluster state + phi), the
// very node a real one runs. Fixed seeds, virtual time. Operations go through the node's own inputs.
import { Simulation } from '../../src/runtime/sim/index.js'
import type { ProtocolFactory } from '../../src/runtime/sim/protocol.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { ComposedNode } from '../../src/node/index.js'
import type { ClusterState, NodeSettings } from '../../src/node/index.js'
import type { GrapevineStack } from '../../src/stack/create.js'
import type { PhiConfig } from '../../src/state/phi.js'
import type { SwimConfig } from '../../src/swim/config.js'

export interface StackCluster {
  sim: Simulation
  nodes: SimNode[]
  /** The current stack of each node, by name (reads and counters; act through the functions below). */
  stacks: { get(name: string): GrapevineStack | undefined }
  /** Broadcast ids delivered, per node name, in delivery order. */
  deliveries: Map<string, string[]>
  /** The composed node a simulated node currently runs. */
  nodeOf(node: SimNode): ComposedNode
  /** The cluster state a node holds. */
  stateOf(node: SimNode): ClusterState
  broadcast(node: SimNode, name: string, payload: Uint8Array): string
  set(node: SimNode, key: string, value: string): number
  delete(node: SimNode, key: string): boolean
}

export interface StackClusterOptions {
  readonly loss?: number
  readonly phi?: Partial<PhiConfig>
  readonly config?: Partial<SwimConfig>
  /** Node settings over the defaults. */
  readonly node?: NodeSettings
  /** Protocol factory for the simulation (default the composed node). */
  readonly createProtocol?: ProtocolFactory
}

export function stackCluster(seed: number, n: number, o: StackClusterOptions = {}): StackCluster {
  const sim = new Simulation({
    seed,
    config: o.config ?? {},
    createProtocol: o.createProtocol,
    network: { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5, loss: o.loss ?? 0 },
    node: { tags: { role: 'sim' }, phi: o.phi ?? {}, ...o.node },
  })
  const deliveries = new Map<string, string[]>()
  sim.observe({
    onEvent: (node, e) => {
      if (e.type !== 'message' || e.message.via !== 'grapevine') return
      const list = deliveries.get(node.name) ?? []
      list.push(e.message.id)
      deliveries.set(node.name, list)
    },
  })
  const nodes = sim.spawn(n)
  const nodeOf = (node: SimNode): ComposedNode => {
    if (!(node.protocol instanceof ComposedNode)) throw new Error(`${node.name} does not run the composed node`)
    return node.protocol
  }
  const stateOf = (node: SimNode): ClusterState => nodeOf(node).clusterState!
  return {
    sim,
    nodes,
    deliveries,
    stacks: { get: (name) => { const node = sim.node(name); return node === undefined ? undefined : nodeOf(node).stack } },
    nodeOf,
    stateOf,
    broadcast: (node, name, payload) => sim.invoke(node, (p, now, out) => (p as ComposedNode).broadcast(name, payload, now, out)),
    set: (node, key, value) => sim.invoke(node, (p, now, out) => (p as ComposedNode).setKey(key, value, now, out)),
    delete: (node, key) => sim.invoke(node, (p, now, out) => (p as ComposedNode).deleteKey(key, now, out)),
  }
}
