// A restarted replica folds its past lives only once every live peer was seen holding its state
// (replication/fold-gate.ts): replicators on their own, messages carried by hand.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { CrdtReplicator, replicaId, type Send } from '../../src/replication/index.js'
import { decodeReplicationMessage } from '../../src/replication/messages.js'

type Wire = Array<{ from: string; to: string; bytes: Uint8Array }>

function replica(name: string, generation = 1): CrdtReplicator {
  return new CrdtReplicator({ self: name, replica: replicaId(name, generation), rng: new SeededRng(generation), config: { foldAfterMs: 0, foldPastLives: true } })
}

const sender = (from: string, wire: Wire): Send => (to, bytes) => (wire.push({ from, to, bytes }), true)

function deliver(wire: Wire, nodes: Record<string, CrdtReplicator>): void {
  while (wire.length > 0) {
    const m = wire.shift()!
    nodes[m.to].handleMessage(m.from, m.bytes, 0, sender(m.to, wire))
  }
}

/** `peer` sends its digest to `to`, and whatever it causes is carried. */
function digest(peer: CrdtReplicator, to: CrdtReplicator, nodes: Record<string, CrdtReplicator>): void {
  const wire: Wire = []
  peer.round(0, [to.self], true, sender(peer.self, wire))
  deliver(wire, nodes)
}

/**
 * n#1 wrote 5 that reached b, c and d, then 4 more that reached d only, and died. Its successor n#2 has
 * merged b's state (n#1 at 5) and knows b, c and d live.
 */
function scene() {
  const first = replica('n', 1)
  const [b, c, d] = ['b', 'c', 'd'].map((name) => replica(name))
  first.write('counter', 'hits', (s, id) => s.increment(id, 5))
  for (const r of [b, c, d]) r.mergeRemoteState(first.localState())
  first.write('counter', 'hits', (s, id) => s.increment(id, 4))
  d.mergeRemoteState(first.localState())
  const n = replica('n', 2)
  n.mergeRemoteState(b.localState())
  n.liveMembers([b, c, d].map((r) => ({ name: r.self, incarnation: 1 })))
  const nodes: Record<string, CrdtReplicator> = { n, b, c, d }
  return { n, b, c, d, nodes }
}

test('two peers holding the same low copy of a predecessor are not enough: the fold waits for the third, which holds more', () => {
  const { n, b, c, d, nodes } = scene()
  digest(b, n, nodes)
  digest(c, n, nodes)
  n.round(0, [], false, sender('n', []))
  assert.equal(n.counters.folds, 0, 'no fold while d, live, has not been seen holding our state')
  // The waiting fold asks d for its state; d's higher copy comes back, and d is seen holding ours.
  const wire: Wire = []
  n.round(0, ['b', 'c', 'd'], true, sender('n', wire))
  const asks = wire.filter((m) => {
    const d = decodeReplicationMessage(m.bytes)
    return d.ok && d.value.kind === 'states' && d.value.need.length > 0
  })
  assert.deepEqual(asks.map((m) => m.to), ['d'], 'only the unconfirmed peer is asked')
  deliver(wire, nodes)
  assert.equal(n.get('counter', 'hits')!.value(), 9)
  n.round(0, [], false, sender('n', []))
  assert.equal(n.counters.folds, 1)
  for (const r of [b, c, d]) r.mergeRemoteState(n.localState())
  for (const r of [n, b, c, d]) {
    assert.equal(r.get('counter', 'hits')!.value(), 9, `${r.self}: the counter kept d's copy`)
    assert.deepEqual([...r.get('counter', 'hits')!.replicas()], ['n#2'], `${r.self}: one entry left`)
  }
})

test('a live peer that restarts (a new incarnation) or dies voids the confirmations seen before it', () => {
  for (const change of ['restart', 'death'] as const) {
    const { n, b, c, d, nodes } = scene()
    for (const peer of [b, c, d]) digest(peer, n, nodes)
    const live = [b, c].map((r) => ({ name: r.self, incarnation: 1 }))
    n.liveMembers(change === 'restart' ? [...live, { name: 'd', incarnation: 2 }] : live)
    n.round(0, [], false, sender('n', []))
    assert.equal(n.counters.folds, 0, `${change}: no fold on confirmations from before it`)
    for (const peer of change === 'restart' ? [b, c, d] : [b, c]) digest(peer, n, nodes)
    n.round(0, [], false, sender('n', []))
    assert.equal(n.counters.folds, 1, `${change}: folded once every live peer confirmed again`)
    assert.equal(n.get('counter', 'hits')!.value(), 9)
  }
})

test('a replica never told the membership does not fold, however many peers match', () => {
  const { b, c, d } = scene()
  const n = replica('n', 2)
  n.mergeRemoteState(d.localState())
  const nodes: Record<string, CrdtReplicator> = { n, b, c, d }
  for (const peer of [b, c, d]) digest(peer, n, nodes)
  n.round(0, [], false, sender('n', []))
  assert.equal(n.counters.folds, 0)
  assert.deepEqual([...n.get('counter', 'hits')!.replicas()].sort(), ['n#1'])
})
