// Graceful leaves hand the leaver's replicated state to one heir, which folds it (replication/handoff.ts):
// under churn with fresh names the keys keep no entry of any departed replica, counters stay exact and
// removed elements stay removed; an heir that crashes mid-handoff loses nothing and counts nothing twice.
// Fixed seeds, virtual time, the whole composed node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeCrdt, replicasOf } from '../../src/crdt/index.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { writeSixKeys } from '../../bench/crdt-churn.js'
import { SimCrdtDisks } from '../../src/runtime/sim/crdt-disk.js'
import { stackCluster } from '../helpers/stack-cluster.js'
import { hash53 } from '../../src/replication/keys.js'
import { crdtConverged, replicatorOf, write } from './sim-helpers.js'

const QUICK_REAP = { reconnectTimeoutMs: 5_000, tombstoneTimeoutMs: 5_000, reapIntervalMs: 1_000 }
const KEYS = ['counter/hits', 'gcounter/served', 'set/tags', 'map/stats', 'flag/on', 'mvregister/owner']

function writeAll(sim: Parameters<typeof write>[0], n: SimNode, i: number): void {
  write(sim, n, (r) => writeSixKeys(r, n.name, i % 7 === 0 ? -3 : 5))
}

test('members that join, write and leave gracefully under fresh names, 16 times: each leaver is folded into one heir, the counters are exact, removed elements stay removed, and no key keeps an entry of a departed replica', () => {
  const c = stackCluster(1601, 5, { loss: 0.02, config: QUICK_REAP })
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  let hits = 0
  let served = 0
  let mapN = 0
  const pool = [...c.nodes]
  const left: string[] = []
  const removed = new Set<string>()
  let step = 0
  const writeRound = (): void => {
    for (const n of pool) {
      writeAll(c.sim, n, step)
      hits += step % 7 === 0 ? -3 : 5
      served += 2
      mapN++
      step++
    }
  }
  writeRound()
  c.sim.runFor(3_000)
  const sizes: number[] = []
  for (let round = 0; round < 16; round++) {
    const fresh = c.sim.addNode()
    pool.push(fresh)
    c.sim.runFor(2_000)
    writeRound()
    c.sim.runFor(1_500)
    // The oldest member but the first (the join seed) leaves; a survivor removes what it added.
    const leaver = pool.splice(1, 1)[0]
    c.sim.leave(leaver)
    left.push(leaver.name)
    c.sim.runUntil(() => !leaver.live, 10_000)
    assert.ok(!leaver.live, `${leaver.name} finished leaving: ${JSON.stringify(replicatorOf(leaver).counters)} ${replicatorOf(leaver).handoff.outcome}`)
    write(c.sim, pool[round % pool.length], (r) => r.write('set', 'tags', (s) => s.remove(`t-${leaver.name}`)))
    removed.add(`t-${leaver.name}`)
    c.sim.runFor(2_000)
    sizes.push(KEYS.reduce((sum, k) => sum + (replicatorOf(pool[0]).record(k)?.state.length ?? 0), 0))
  }
  assert.ok(c.sim.runUntil((s) => s.convergence().converged && crdtConverged(s, KEYS.length), 60_000, { checkEveryMs: 100 }), 'membership and keys converged')
  const folded = left.reduce((sum, name) => sum + replicatorOf(c.sim.node(name)!).counters.handoffsFolded, 0)
  assert.equal(folded, left.length, 'every leaver handed its state to an heir that folded it')
  const heirFolds = c.sim.liveNodes().reduce((sum, n) => sum + replicatorOf(n).counters.heirFolds, 0)
  assert.ok(heirFolds <= left.length, `each leaver folded by one heir at most (${heirFolds} heir folds, some heirs left since)`)
  const liveNames = new Set(pool.map((n) => n.name))
  const expectedTags = [...liveNames, ...left].map((n) => `t-${n}`).filter((t) => !removed.has(t)).sort()
  for (const n of pool) {
    const r = replicatorOf(n)
    assert.equal(r.get('counter', 'hits')!.value(), hits, `${n.name}: the PN-Counter is exact`)
    assert.equal(r.get('gcounter', 'served')!.value(), served, `${n.name}: the G-Counter is exact`)
    assert.equal(r.get('map', 'stats')!.counter('n'), mapN, `${n.name}: the map's counter is exact`)
    assert.deepEqual(r.get('set', 'tags')!.values(), expectedTags, `${n.name}: removed elements stay removed, the others stay`)
    for (const key of KEYS) {
      const state = r.record(key)!
      const replicas = [...replicasOf(decodeState(r, key))]
      assert.ok(replicas.every((x) => liveNames.has(x.split('#')[0])), `${n.name} ${key}: no entry of a departed replica (${replicas.join(', ')})`)
      assert.ok(state.seqs.every(([o]) => liveNames.has(o.split('#')[0])), `${n.name} ${key}: no seq of a departed replica`)
    }
  }
  // Entries stay bounded; what grows is one generation floor (a retirement marker) per leaver per key.
  const growthPerLeaver = (sizes[sizes.length - 1] - sizes[3]) / (sizes.length - 4)
  assert.ok(growthPerLeaver < KEYS.length * 40, `state grows ${growthPerLeaver.toFixed(0)} bytes per leaver across ${KEYS.length} keys (floors only): ${sizes.join(', ')}`)
})

function decodeState(r: ReturnType<typeof replicatorOf>, key: string): Parameters<typeof replicasOf>[0] {
  const [kind, ...rest] = key.split('/')
  const s = r.get(kind as 'counter', rest.join('/'))!
  assert.ok(encodeCrdt(s).length > 0)
  return s
}

/** The leaver's first candidate, as handoff.ts orders them (rendezvous hashing of replica and peer). */
function firstCandidate(leaver: SimNode, others: readonly SimNode[]): SimNode {
  const me = replicatorOf(leaver).replica
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
  return [...others].sort((a, b) => hash53(enc(`${me}\n${a.name}`)) - hash53(enc(`${me}\n${b.name}`)) || (a.name < b.name ? -1 : 1))[0]
}

for (const [when, seed] of [['before it answers the offer', 1611], ['after it took the offer, before the commit', 1612], ['right after it folded', 1613]] as const) {
  test(`an heir that crashes ${when}: nothing is lost and nothing is counted twice`, () => {
    const c = stackCluster(seed, 6, { loss: 0.01, config: QUICK_REAP })
    assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
    c.nodes.forEach((n, i) => writeAll(c.sim, n, i))
    c.sim.runFor(3_000)
    const [leaver, rest] = [c.nodes[5], c.nodes.slice(0, 5)]
    const heir = firstCandidate(leaver, rest.slice(1))
    assert.ok(heir !== rest[0])
    c.sim.leave(leaver)
    if (when === 'before it answers the offer') c.sim.crash(heir)
    else {
      const took = (): boolean => (when === 'right after it folded' ? replicatorOf(heir).counters.heirFolds : replicatorOf(heir).counters.offersTaken) > 0
      assert.ok(c.sim.runUntil(took, 5_000, { checkEveryMs: 0.05 }), `${heir.name} got that far`)
      c.sim.crash(heir)
    }
    c.sim.runUntil(() => !leaver.live, 10_000)
    assert.ok(!leaver.live, `${leaver.name} left`)
    const r = replicatorOf(leaver).counters
    const live = rest.filter((n) => n !== heir)
    write(c.sim, live[0], (x) => x.write('set', 'tags', (s) => s.remove(`t-${leaver.name}`)))
    c.sim.runFor(20_000)
    assert.ok(c.sim.runUntil((s) => s.convergence().converged && crdtConverged(s, KEYS.length), 60_000, { checkEveryMs: 100 }), 'membership and keys converged')
    const expectedHits = c.nodes.reduce((sum, _n, i) => sum + (i % 7 === 0 ? -3 : 5), 0)
    for (const n of live) {
      const x = replicatorOf(n)
      assert.equal(x.get('counter', 'hits')!.value(), expectedHits, `${n.name}: the PN-Counter is exact (leaver: ${JSON.stringify({ folded: r.handoffsFolded, unfolded: r.handoffsUnfolded, uncertain: r.handoffsUncertain, failovers: r.handoffFailovers })})`)
      assert.equal(x.get('gcounter', 'served')!.value(), 12, `${n.name}: the G-Counter is exact`)
      assert.equal(x.get('map', 'stats')!.counter('n'), 6, `${n.name}: the map's counter is exact`)
      assert.deepEqual(x.get('set', 'tags')!.values(), c.nodes.filter((m) => m !== leaver).map((m) => `t-${m.name}`), `${n.name}: the removed element stays removed`)
    }
    // Each case ends its own way: the next candidate folds; the commit goes unanswered (uncertain: the heir
    // died before it, so nothing was folded); the heir's done arrives, whether or not its fold's delta left.
    const outcome = { 'before it answers the offer': 'folded', 'after it took the offer, before the commit': 'uncertain', 'right after it folded': 'folded' }[when]
    assert.equal(replicatorOf(leaver).handoff.outcome, outcome)
    if (when === 'before it answers the offer') assert.equal(r.handoffFailovers, 1, 'the next candidate took over')
  })
}

for (const [crashAt, seed] of [['right after it sent the commit', 1621], ['after its leave completed', 1622]] as const) {
  test(`a leaver with a data directory that crashes ${crashAt} and restarts from that directory writes under a new replica id, and the counter is exact`, () => {
    const disks = new SimCrdtDisks()
    const c = stackCluster(seed, 6, { loss: 0.01, config: QUICK_REAP, createProtocol: disks.factory })
    disks.bind((atMs, fn) => c.sim.at(atMs, fn))
    c.sim.observe(disks)
    assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
    c.nodes.forEach((n, i) => writeAll(c.sim, n, i))
    c.sim.runFor(3_000)
    const leaver = c.nodes[5]
    const before = replicatorOf(leaver).replica
    c.sim.leave(leaver)
    if (crashAt === 'right after it sent the commit') {
      assert.ok(c.sim.runUntil(() => replicatorOf(leaver).handoff.committed, 5_000, { checkEveryMs: 0.05 }), 'the commit went out')
      c.sim.crash(leaver)
    } else {
      c.sim.runUntil(() => !leaver.live, 10_000)
      assert.equal(replicatorOf(leaver).handoff.outcome, 'folded')
    }
    assert.deepEqual(disks.keysOf(leaver.name), [], 'the data directory forgot the replica before its commit left')
    c.sim.runFor(2_000)
    c.sim.restart(leaver)
    const after = replicatorOf(leaver).replica
    assert.notEqual(after, before, 'a new replica id: the heir may have retired the old one')
    assert.ok(c.sim.runUntil((s) => s.convergence().converged && crdtConverged(s, KEYS.length), 60_000, { checkEveryMs: 100 }), 'membership and keys converged after the restart')
    write(c.sim, leaver, (r) => r.write('counter', 'hits', (s, id) => s.increment(id, 7)))
    c.sim.runFor(5_000)
    assert.ok(c.sim.runUntil((s) => crdtConverged(s, KEYS.length), 60_000, { checkEveryMs: 100 }), 'keys converged after the write')
    const expectedHits = c.nodes.reduce((sum, _n, i) => sum + (i % 7 === 0 ? -3 : 5), 0) + 7
    for (const n of c.nodes) {
      const x = replicatorOf(n)
      assert.equal(x.get('counter', 'hits')!.value(), expectedHits, `${n.name}: the PN-Counter is exact, the restarted node's write counted once (${JSON.stringify({ retiredDropped: x.counters.retiredDropped })})`)
      assert.equal(x.get('gcounter', 'served')!.value(), 12, `${n.name}: the G-Counter is exact`)
    }
  })
}
