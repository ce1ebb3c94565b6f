// Crash and restart in the simulator, with and without a data directory. The "disk" here is a map per
// node written the way the real runtime writes LMDB (runtime/node/crdt-store.ts): a write's key before
// the write returns and before any packet can carry it; keys changed by peers as they change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ComposedNode } from '../../src/node/index.js'
import type { KeyRecord } from '../../src/replication/index.js'
import type { ProtocolFactory } from '../../src/runtime/sim/protocol.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { stackCluster } from '../helpers/stack-cluster.js'
import { crdtConverged, replicatorOf, write } from './sim-helpers.js'

interface Disk {
  replica: string
  readonly records: Map<string, KeyRecord>
}

function durableCluster(seed: number, n: number, durable: boolean) {
  const disks = new Map<string, Disk>()
  const createProtocol: ProtocolFactory = (o) => {
    const disk = durable ? disks.get(o.name) : undefined
    return new ComposedNode(
      { ...o.settings, name: o.name, address: o.address, config: o.config, generation: o.restart + 1, seeds: o.seeds, crdtRestore: disk && { replica: disk.replica, keys: [...disk.records.values()] } },
      { rng: o.rng, aead: o.aead },
    )
  }
  const c = stackCluster(seed, n, { loss: 0.05, createProtocol })
  const persist = (node: SimNode, keys: readonly string[]): void => {
    if (!durable || node.status !== 'running') return
    const r = replicatorOf(node)
    let disk = disks.get(node.name)
    if (disk === undefined) disks.set(node.name, (disk = { replica: r.replica, records: new Map() }))
    for (const k of keys) disk.records.set(k, r.record(k)!)
  }
  c.sim.observe({ onEvent: (node, e) => (e.type === 'crdtChanged' ? persist(node, e.changes.map((x) => x.key)) : undefined) })
  let performed = 0
  const increment = (node: SimNode, by: number): void => {
    write(c.sim, node, (r) => r.write('counter', 'hits', (s, id) => s.increment(id, by)))
    persist(node, ['counter/hits'])
    performed += by
  }
  return { ...c, increment, performed: () => performed }
}

for (const durable of [true, false]) {
  test(`crashes right after a write, then restarts: ${durable ? 'with a data directory the counter is exact' : 'without one only the unsent last write is lost, nothing is counted twice'}`, () => {
    const c = durableCluster(durable ? 401 : 402, 8, durable)
    assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
    c.sim.runFor(2_000)
    for (let i = 0; i < 40; i++) c.sim.at(c.sim.nowMs + i * 100, () => c.increment(c.nodes[i % 8], 1 + (i % 3)))
    c.sim.runFor(4_000)
    // Two nodes write and crash at the same instant: nothing of these writes has left them.
    const [x, y] = [c.nodes[2], c.nodes[5]]
    const before = c.performed()
    c.increment(x, 7)
    c.increment(y, 11)
    c.sim.crash(x)
    c.sim.crash(y)
    for (let i = 0; i < 20; i++) c.sim.at(c.sim.nowMs + i * 100, () => c.increment(c.nodes[[0, 1, 3, 4, 6, 7][i % 6]], 1))
    c.sim.runFor(5_000)
    c.sim.restart(x)
    c.sim.restart(y)
    for (let i = 0; i < 10; i++) c.sim.at(c.sim.nowMs + 3_000 + i * 100, () => c.increment(c.nodes[[2, 5][i % 2]], 2))
    c.sim.runFor(4_000)
    assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged after the restarts')
    assert.ok(c.sim.runUntil((s) => crdtConverged(s, 1), 60_000, { checkEveryMs: 100 }), 'the counter converged')
    const lost = durable ? 0 : 18
    for (const n of c.nodes) assert.equal(replicatorOf(n).get('counter', 'hits')!.value(), c.performed() - lost, `${n.name}: performed ${c.performed()} (${before} before the crash)`)
    const replicas = new Set(replicatorOf(c.nodes[0]).record('counter/hits')!.seqs.map(([o]) => o))
    assert.equal(replicas.has(`${x.name}#2`), !durable, durable ? 'the restarted node kept its replica id' : 'the restarted node wrote under a new replica id')
  })
}
