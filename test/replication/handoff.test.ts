// The handoff protocol between replicators (replication/handoff.ts), driven by hand: messages delivered
// at once, virtual time given. The whole-node behaviour (leaves, crashes, reaping) is sim-handoff.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { CrdtLeavingError, CrdtReplicator, replicaId } from '../../src/replication/index.js'
import { decodeReplicationMessage } from '../../src/replication/messages.js'
import { decodeCrdt, type PNCounter } from '../../src/crdt/index.js'

function replicator(name: string): CrdtReplicator {
  return new CrdtReplicator({ self: name, replica: replicaId(name, 1), rng: new SeededRng(name.length * 7), config: { handoffTimeoutMs: 100 } })
}

/** Delivers every message at once; `drop` names receivers whose inbox is cut. */
function network(nodes: Map<string, CrdtReplicator>, drop: Set<string>, nowMs: () => number) {
  const send = (from: string) => (to: string, bytes: Uint8Array): boolean => {
    const r = nodes.get(to)
    if (r !== undefined && !drop.has(to)) r.handleMessage(from, bytes, nowMs(), send(to))
    return r !== undefined
  }
  return send
}

function setup(): { nodes: Map<string, CrdtReplicator>; l: CrdtReplicator; others: CrdtReplicator[] } {
  const l = replicator('leaver')
  const others = ['h1', 'h2', 'o'].map(replicator)
  l.write('counter', 'hits', (s, id) => s.increment(id, 5))
  others[0].write('counter', 'hits', (s, id) => s.increment(id, 3))
  for (const a of [l, ...others]) for (const b of [l, ...others]) b.mergeRemoteState(a.localState())
  return { nodes: new Map([l, ...others].map((r) => [r.self, r])), l, others }
}

test('the heir folds the leaver once it committed, and its later deltas carry the floor, so a replica that missed the fold does not count the leaver twice', () => {
  const { nodes, l, others } = setup()
  const now = 1_000
  const send = network(nodes, new Set(), () => now)
  let outcome: string | undefined
  assert.ok(l.handoff.begin((o) => (outcome = o)))
  assert.throws(() => l.write('counter', 'hits', (s, id) => s.increment(id, 1)), CrdtLeavingError)
  const bystander = nodes.get('o')!.get('counter', 'hits')!.clone()
  l.round(now, ['h1', 'h2', 'o'], false, send('leaver'))
  assert.equal(outcome, 'folded')
  const heir = others.find((r) => r.counters.heirFolds === 1)!
  assert.ok(heir !== undefined && others.filter((r) => r.counters.heirFolds > 0).length === 1, 'one heir folded')
  assert.equal(heir.get('counter', 'hits')!.value(), 8)
  assert.ok(![...heir.get('counter', 'hits')!.replicas()].includes(l.replica), 'the leaver has no entry at the heir')
  // The fold's delta leaves (and is lost on its way to the bystander); then the heir writes again.
  for (let i = 0; i < 8; i++) heir.piggyback(0, 1 << 20)
  heir.write('counter', 'hits', (s, id) => s.increment(id, 1))
  const deltas = heir.piggyback(0, 1 << 20).map((b) => decodeReplicationMessage(b)).filter((d) => d.ok && d.value.kind === 'delta')
  const last = deltas[deltas.length - 1]
  assert.ok(last.ok && last.value.kind === 'delta')
  // A replica that never got the fold's delta merges only the later write: it must not count 5 twice.
  const decoded = decodeCrdt(last.value.delta, 'pn-counter')
  assert.ok(decoded.ok)
  assert.equal(bystander.merge(decoded.value as PNCounter).value(), 9, 'the later delta retires the leaver too')
})

test('a candidate that does not answer in time is passed over before any commit, and the next one folds', () => {
  const { nodes, l, others } = setup()
  let now = 1_000
  const silent = new Set<string>()
  const send = network(nodes, silent, () => now)
  // Find the first candidate by cutting everyone once, then let all but it answer.
  for (const r of others) silent.add(r.self)
  let outcome: string | undefined
  assert.ok(l.handoff.begin((o) => (outcome = o)))
  l.round(now, ['h1', 'h2', 'o'], false, send('leaver'))
  silent.clear()
  const first = others.find((r) => r.counters.offersTaken === 0)!
  silent.add(first.self)
  for (; outcome === undefined && now < 2_000; now += 20) l.round(now, ['h1', 'h2', 'o'], false, send('leaver'))
  assert.equal(outcome, 'folded')
  assert.equal(l.counters.handoffFailovers, 1)
  assert.equal(first.counters.heirFolds, 0, 'the silent candidate never got a commit')
  assert.equal(others.reduce((n, r) => n + r.counters.heirFolds, 0), 1, 'exactly one heir folded')
})

test('an heir that is itself leaving refuses, and a leaver with no candidate left leaves unfolded', () => {
  const { nodes, l, others } = setup()
  const now = 1_000
  const send = network(nodes, new Set(), () => now)
  for (const r of others) assert.ok(r.handoff.begin(() => {}))
  let outcome: string | undefined
  assert.ok(l.handoff.begin((o) => (outcome = o)))
  l.round(now, ['h1', 'h2', 'o'], false, send('leaver'))
  assert.equal(outcome, 'unfolded')
  assert.equal(l.counters.handoffFailovers, 3)
  assert.equal(others.reduce((n, r) => n + r.counters.heirFolds, 0), 0)
})

test('the data directory forgets the leaver before its commit leaves; a disk that refuses sends no commit, and the leaver leaves unfolded with its entry intact everywhere', () => {
  for (const refuse of [false, true]) {
    const { nodes, l, others } = setup()
    const now = 1_000
    const send = network(nodes, new Set(), () => now)
    // What the heirs had folded when the disk was asked to forget the leaver.
    const foldsAtRetire: number[] = []
    l.setDurableCommit(() => undefined, () => {
      foldsAtRetire.push(others.reduce((sum, r) => sum + r.counters.heirFolds, 0))
      if (refuse) throw new Error('disk full')
    })
    let outcome: string | undefined
    assert.ok(l.handoff.begin((o) => (outcome = o)))
    l.round(now, ['h1', 'h2', 'o'], false, send('leaver'))
    assert.deepEqual(foldsAtRetire, [0], 'the disk forgot the leaver once, before any heir could fold it')
    if (refuse) {
      assert.equal(outcome, 'unfolded')
      assert.equal(l.counters.commitFailures, 1)
      assert.ok(others.every((r) => r.counters.heirFolds === 0 && [...r.get('counter', 'hits')!.replicas()].includes(l.replica)), 'nobody folded the leaver')
    } else {
      assert.equal(outcome, 'folded')
      assert.equal(others.reduce((sum, r) => sum + r.counters.heirFolds, 0), 1, 'then one heir folded')
    }
    for (const r of others) assert.equal(r.get('counter', 'hits')!.value(), 8, `${r.self}: exact`)
  }
})
