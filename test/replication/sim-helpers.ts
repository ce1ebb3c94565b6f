// CRDT writes and reads on simulated composed nodes, through the node's own input (crdtWrite).
import type { ComposedNode } from '../../src/node/index.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import type { Simulation } from '../../src/runtime/sim/index.js'
import type { CrdtReplicator } from '../../src/replication/replicator.js'

export function replicatorOf(node: SimNode): CrdtReplicator {
  return (node.protocol as ComposedNode).crdt!
}

export function write(sim: Simulation, node: SimNode, fn: (r: CrdtReplicator, nowMs: number) => unknown): void {
  sim.invoke(node, (p, now, out) => (p as ComposedNode).crdtWrite((r) => fn(r, now), now, out))
}

/** Every live node holds the same keys with the same state hashes (and at least `keys` keys). */
export function crdtConverged(sim: Simulation, keys = 1): boolean {
  const live = sim.liveNodes()
  if (live.length === 0) return true
  const sig = (n: SimNode): string => {
    const r = replicatorOf(n)
    return r.keys().map((k) => `${k}=${r.hashOf(k)}`).join(';')
  }
  const first = sig(live[0])
  if (replicatorOf(live[0]).keys().length < keys) return false
  return live.every((n) => sig(n) === first)
}
