// Members that leave, crash and are reaped, or are reaped while cut off and come back with the same
// replica id: what the replicated keys keep of them, and that no value is lost, counted twice or brought
// back, and a crashed writer that restarts from its data directory after it was reaped. Fixed seeds,
// virtual time, the whole composed node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { replicasOf } from '../../src/crdt/index.js'
import { SimCrdtDisks } from '../../src/runtime/sim/crdt-disk.js'
import { stackCluster } from '../helpers/stack-cluster.js'
import { crdtConverged, replicatorOf, write } from './sim-helpers.js'

// Failed and left members are reaped 5 s after they went (Serf's reconnect and tombstone timeouts are a day).
const QUICK_REAP = { reconnectTimeoutMs: 5_000, tombstoneTimeoutMs: 5_000, reapIntervalMs: 1_000 }

test('members that leave or crash and are reaped keep their contributions: the counter exact, removed elements stay removed, one entry per name and no seqs of theirs', () => {
  const c = stackCluster(1701, 10, { loss: 0.02, config: QUICK_REAP })
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  let increments = 0
  // Every node writes; the departing ones (6..9) add x6..x9.
  c.nodes.forEach((n, i) => {
    c.sim.at(c.sim.nowMs + i * 100, () => {
      write(c.sim, n, (r) => {
        r.write('counter', 'hits', (s, id) => s.increment(id, i + 1))
        r.write('set', 'tags', (s, id) => s.add(id, `x${i}`))
      })
      increments += i + 1
    })
  })
  c.sim.runFor(4_000)
  const [leaving, crashing] = [c.nodes.slice(6, 8), c.nodes.slice(8, 10)]
  for (const n of leaving) c.sim.leave(n)
  for (const n of crashing) c.sim.crash(n)
  const live = c.nodes.slice(0, 6)
  // Survivors remove two of the departed members' elements and go on counting.
  write(c.sim, live[0], (r) => r.write('set', 'tags', (s) => s.remove('x6')))
  write(c.sim, live[1], (r) => r.write('set', 'tags', (s) => s.remove('x8')))
  for (let i = 0; i < 12; i++) {
    c.sim.at(c.sim.nowMs + 1_000 + i * 500, () => {
      write(c.sim, live[i % 6], (r) => r.write('counter', 'hits', (s, id) => s.increment(id, 2)))
      increments += 2
    })
  }
  c.sim.runFor(30_000)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged && crdtConverged(s, 2), 60_000, { checkEveryMs: 100 }), 'membership and keys converged')
  const departed = [...leaving, ...crashing].map((n) => n.name)
  for (const n of live) {
    const r = replicatorOf(n)
    assert.ok(n.protocol.members().every((m) => !departed.includes(m.name) || m.state === 'left'), `${n.name}: the crashed members were reaped`)
    assert.equal(r.get('counter', 'hits')!.value(), increments, `${n.name}: the counter is exact`)
    assert.deepEqual(r.get('set', 'tags')!.values(), ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x7', 'x9'], `${n.name}: removed elements stay removed, the others stay`)
    assert.ok(r.counters.departedFolded >= 4, `${n.name}: ${r.counters.departedFolded} departures handled`)
    for (const key of ['counter/hits', 'set/tags']) {
      const origins = r.record(key)!.seqs.map(([o]) => o.split('#')[0])
      assert.ok(origins.every((o) => !departed.includes(o)), `${n.name} ${key}: no seq of a departed member (${origins.join(', ')})`)
    }
    const counterReplicas = [...replicasOf(r.get('counter', 'hits')!)].map((x) => x.split('#')[0])
    assert.equal(counterReplicas.length, new Set(counterReplicas).size, `${n.name}: one counter entry per name (${counterReplicas.join(', ')})`)
  }
})

test('a member reaped while cut off keeps writing under the same replica id; after the heal nothing is lost, counted twice or brought back', () => {
  const c = stackCluster(1702, 6, { loss: 0.02, config: QUICK_REAP })
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  const [a, b] = [c.nodes[0], c.nodes[5]]
  const replicaBefore = replicatorOf(b).replica
  write(c.sim, b, (r) => {
    r.write('counter', 'hits', (s, id) => s.increment(id, 5))
    r.write('set', 'tags', (s, id) => s.add(id, 'kept'))
    r.write('set', 'tags', (s, id) => s.add(id, 'dropped'))
  })
  c.sim.runFor(3_000)
  c.sim.partition([b], c.nodes.slice(0, 5))
  c.sim.runFor(20_000)
  assert.ok(a.protocol.members().every((m) => m.name !== b.name), `${a.name} reaped ${b.name}`)
  // Both sides write while apart: b counts on and adds, a removes what b added before the cut.
  write(c.sim, b, (r) => {
    r.write('counter', 'hits', (s, id) => s.increment(id, 7))
    r.write('set', 'tags', (s, id) => s.add(id, 'late'))
  })
  write(c.sim, a, (r) => {
    r.write('counter', 'hits', (s, id) => s.increment(id, 11))
    r.write('set', 'tags', (s) => s.remove('dropped'))
  })
  c.sim.runFor(5_000)
  c.sim.heal()
  assert.ok(c.sim.runUntil((s) => s.convergence().converged && crdtConverged(s, 2), 120_000, { checkEveryMs: 100 }), 'membership and keys converged after the heal')
  assert.equal(replicatorOf(b).replica, replicaBefore, 'b kept its replica id')
  for (const n of c.nodes) {
    const r = replicatorOf(n)
    assert.equal(r.get('counter', 'hits')!.value(), 23, `${n.name}: 5 + 7 + 11`)
    assert.deepEqual(r.get('set', 'tags')!.values(), ['kept', 'late'], `${n.name}: the removed element stays removed`)
  }
})

test('a writer with a data directory that crashes, is reaped and restarts from its directory comes back under the same replica id: its unsent last write counts once, the counter is exact and removed elements stay removed', () => {
  const disks = new SimCrdtDisks()
  const c = stackCluster(1703, 6, { loss: 0.02, config: QUICK_REAP, createProtocol: disks.factory })
  disks.bind((atMs, fn) => c.sim.at(atMs, fn))
  c.sim.observe(disks)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  const [a, b] = [c.nodes[0], c.nodes[5]]
  write(c.sim, b, (r) => {
    r.write('counter', 'hits', (s, id) => s.increment(id, 5))
    r.write('set', 'tags', (s, id) => s.add(id, 'kept'))
    r.write('set', 'tags', (s, id) => s.add(id, 'dropped'))
  })
  c.sim.runFor(3_000)
  const replicaBefore = replicatorOf(b).replica
  // Written to b's disk, then b crashes in the same instant: no packet carried this write.
  write(c.sim, b, (r) => r.write('counter', 'hits', (s, id) => s.increment(id, 7)))
  c.sim.crash(b)
  write(c.sim, a, (r) => {
    r.write('counter', 'hits', (s, id) => s.increment(id, 11))
    r.write('set', 'tags', (s) => s.remove('dropped'))
  })
  c.sim.runFor(20_000)
  assert.ok(a.protocol.members().every((m) => m.name !== b.name), `${a.name} reaped ${b.name}`)
  assert.equal(replicatorOf(a).get('counter', 'hits')!.value(), 16, 'while b is away its unsent write is nowhere else')
  c.sim.restart(b)
  assert.equal(replicatorOf(b).replica, replicaBefore, 'b restarted under the replica id on its disk')
  assert.ok(c.sim.runUntil((s) => s.convergence().converged && crdtConverged(s, 2), 120_000, { checkEveryMs: 100 }), 'membership and keys converged after the restart')
  for (const n of c.nodes) {
    const r = replicatorOf(n)
    assert.equal(r.get('counter', 'hits')!.value(), 23, `${n.name}: 5 + 7 + 11, each once`)
    assert.deepEqual(r.get('set', 'tags')!.values(), ['kept'], `${n.name}: the removed element stays removed`)
    const names = [...replicasOf(r.get('counter', 'hits')!)].map((x) => x.split('#')[0])
    assert.equal(names.length, new Set(names).size, `${n.name}: one counter entry per name (${names.join(', ')})`)
  }
})
