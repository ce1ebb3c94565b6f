import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ApplyTally, ClusterState, StateInputError, type StateEvent } from '../../src/state/cluster-state.js'
import { resolveStateConfig } from '../../src/state/config.js'
import { packNode } from '../../src/state/delta-builder.js'
import { assertReplica } from '../../src/state/invariant.js'
import type { NodeDelta, NodeDigest } from '../../src/state/messages.js'

const config = resolveStateConfig({ tombstoneGraceMs: 1000 })

function owner(name = 'a', generation = 1): ClusterState {
  return new ClusterState(name, generation, config)
}

/** `from`'s copy of `node` as a delta for a peer whose digest is `digest`, unbudgeted. */
function deltaFor(from: ClusterState, node: string, digest: NodeDigest | undefined, limit = Infinity): NodeDelta {
  const stale = from.staleFor(node, digest)
  assert.ok(stale, `${from.self} has nothing newer of ${node}`)
  const packed = packNode(stale, limit)
  assert.ok(packed)
  return packed.delta
}

function apply(to: ClusterState, d: NodeDelta, nowMs = 0): string {
  return to.applyDelta(d, nowMs, new ApplyTally())
}

function check(replica: ClusterState, own: ClusterState): void {
  assertReplica(replica.self, own.self, replica.node(own.self)!, own.node(own.self)!)
}

test('set, get, delete and entries read back the own map, and versions grow with every change', () => {
  const a = owner()
  assert.equal(a.set('load', '0.1'), 1)
  assert.equal(a.set('role', 'db'), 2)
  assert.equal(a.set('load', '0.1'), 1, 'same value: no new version')
  assert.equal(a.set('load', '0.2'), 3)
  assert.equal(a.get('a', 'load'), '0.2')
  assert.equal(a.delete('role', 5), true)
  assert.equal(a.delete('role', 6), false, 'already deleted')
  assert.equal(a.delete('never', 6), false)
  assert.equal(a.get('a', 'role'), undefined)
  assert.deepEqual(a.entries(), [['load', '0.2']])
  assert.equal(a.node('a')?.maxVersion, 4)
  assert.deepEqual([...a.node('a')!.entries.keys()], ['load', 'role'], 'iteration in ascending version')
  const events = a.takeEvents()
  assert.deepEqual(events.map((e) => e.type), ['keySet', 'keySet', 'keySet', 'keyDeleted'])
  assert.deepEqual(a.takeEvents(), [])
})

test('set refuses empty, oversized or ill-formed keys and values, changing nothing', () => {
  const a = owner()
  assert.throws(() => a.set('', 'x'), StateInputError)
  assert.throws(() => a.set('k'.repeat(129), 'x'), StateInputError)
  assert.throws(() => a.set('k', 'v'.repeat(769)), StateInputError)
  assert.throws(() => a.set('k', 'bad \ud800 surrogate'), StateInputError)
  assert.equal(a.node('a')?.maxVersion, 0)
})

test('a replica applies a delta, then ignores the duplicate', () => {
  const a = owner()
  const b = owner('b')
  a.set('x', '1')
  a.set('y', '2')
  const d = deltaFor(a, 'a', b.digestOf('a'))
  assert.equal(apply(b, d), 'replaced', 'first sight of a node')
  assert.equal(b.get('a', 'y'), '2')
  assert.equal(apply(b, d), 'not-newer')
  check(b, a)
  a.set('x', '3')
  const d2 = deltaFor(a, 'a', b.digestOf('a'))
  assert.equal(d2.fromVersion, 2)
  assert.deepEqual(d2.entries, [{ key: 'x', version: 3, value: '3' }])
  assert.equal(apply(b, d2), 'applied')
  assert.equal(apply(b, d2), 'not-newer')
  check(b, a)
  assert.deepEqual(b.entries('a'), [['x', '3'], ['y', '2']])
})

test('deltas about oneself, from an older generation or leaving a hole are ignored', () => {
  const a = owner()
  const b = owner('b')
  a.set('x', '1')
  apply(b, deltaFor(a, 'a', undefined))
  b.set('mine', 'v')
  assert.equal(apply(b, { ...deltaFor(b, 'b', undefined), generation: 9 }), 'self')
  assert.equal(apply(b, { ...deltaFor(a, 'a', undefined), generation: 0 }), 'stale-generation')
  a.set('y', '2')
  a.set('z', '3')
  const later = deltaFor(a, 'a', { ...b.digestOf('a')!, maxVersion: 2 })
  assert.equal(apply(b, later), 'hole', 'b has version 1, the delta starts after 2')
  assert.equal(apply(b, { ...deltaFor(a, 'a', undefined), generation: 5, fromVersion: 1, entries: [] }), 'hole', 'a newer generation must start from 0')
  check(b, a)
})

test('a truncated delta is a version prefix: the receiver records the last version it got', () => {
  const a = owner()
  const b = owner('b')
  for (let i = 0; i < 10; i++) a.set(`k${i}`, `value-${i}`)
  const cut = deltaFor(a, 'a', undefined, 60)
  assert.ok(cut.entries.length > 0 && cut.entries.length < 10)
  assert.equal(cut.toVersion, cut.entries.at(-1)!.version)
  apply(b, cut)
  check(b, a)
  assert.equal(b.node('a')?.maxVersion, cut.toVersion)
  apply(b, deltaFor(a, 'a', b.digestOf('a')))
  check(b, a)
  assert.equal(b.node('a')?.maxVersion, 10)
})

test('a newer generation replaces the old state: its keys vanish, watchers hear it', () => {
  const a1 = owner('a', 1)
  const b = owner('b')
  a1.set('old', '1')
  a1.set('kept', 'same')
  apply(b, deltaFor(a1, 'a', undefined))
  b.takeEvents()
  const a2 = owner('a', 2)
  a2.set('kept', 'same')
  a2.set('new', '2')
  assert.equal(a2.staleFor('a', b.digestOf('a'))?.fromVersion, 0, 'an older generation gets everything')
  assert.equal(apply(b, deltaFor(a2, 'a', b.digestOf('a'))), 'replaced')
  assert.deepEqual(b.entries('a'), [['kept', 'same'], ['new', '2']])
  assert.equal(b.node('a')?.generation, 2)
  const events: StateEvent[] = b.takeEvents()
  assert.deepEqual(
    events.map((e) => `${e.type}:${'key' in e ? e.key : e.generation}`),
    ['nodeRestarted:2', 'keySet:new', 'keyDeleted:old'],
  )
  // And the old generation can no longer come back.
  a1.set('again', 'x')
  assert.equal(apply(b, deltaFor(a1, 'a', undefined)), 'stale-generation')
  check(b, a2)
})

test('tombstones are collected after the grace period and the watermark moves past them', () => {
  const a = owner()
  a.set('x', '1')
  a.set('y', '2')
  a.delete('x', 100)
  assert.equal(a.collectGarbage(1099), 0)
  assert.equal(a.node('a')?.entries.has('x'), true)
  assert.equal(a.collectGarbage(1100), 1)
  assert.equal(a.node('a')?.entries.has('x'), false)
  assert.equal(a.node('a')?.lastGcVersion, 3)
})

test('a peer behind the GC watermark gets a reset, never a delta, and the deleted key does not come back', () => {
  const a = owner()
  const stale = owner('s')
  a.set('x', 'live')
  apply(stale, deltaFor(a, 'a', undefined))
  a.set('y', '1')
  a.delete('x', 0)
  a.set('z', '2')
  a.collectGarbage(5000)
  assert.equal(a.node('a')?.lastGcVersion, 3)
  const digest = stale.digestOf('a')!
  const s = a.staleFor('a', digest)
  assert.equal(s?.fromVersion, 0, 'reset: from scratch')
  // A delta that pretends otherwise is refused.
  const sneaky = { ...deltaFor(a, 'a', undefined), fromVersion: 1, entries: [{ key: 'y', version: 2, value: '1' }, { key: 'z', version: 4, value: '2' }] }
  assert.equal(apply(stale, sneaky), 'needs-reset')
  assert.equal(stale.get('a', 'x'), 'live')
  assert.equal(apply(stale, deltaFor(a, 'a', digest)), 'reset')
  assert.equal(stale.get('a', 'x'), undefined)
  assert.equal(stale.node('a')?.lastGcVersion, 3)
  check(stale, a)
  // Having been reset past the watermark, it now takes ordinary deltas.
  a.set('w', '3')
  assert.equal(a.staleFor('a', stale.digestOf('a'))?.fromVersion, 4)
})

test('a truncated reset leaves lastGcVersion above maxVersion, and ordinary deltas follow', () => {
  const a = owner()
  const r = owner('r')
  a.set('gone', 'x')
  apply(r, deltaFor(a, 'a', undefined))
  for (let i = 0; i < 8; i++) a.set(`k${i}`, `value-${i}`)
  a.delete('gone', 0)
  a.collectGarbage(10_000)
  const cut = deltaFor(a, 'a', r.digestOf('a'), 40)
  assert.equal(cut.fromVersion, 0)
  assert.equal(apply(r, cut), 'reset')
  assert.ok(r.node('a')!.lastGcVersion > r.node('a')!.maxVersion)
  check(r, a)
  assert.equal(apply(r, cut), 'not-newer', 'the same reset twice is harmless')
  while (r.node('a')!.maxVersion < a.node('a')!.maxVersion) {
    const next = deltaFor(a, 'a', r.digestOf('a'), 40)
    assert.notEqual(next.fromVersion, 0)
    assert.equal(apply(r, next), 'applied')
    check(r, a)
  }
  assert.deepEqual(r.entries('a'), a.entries('a'))
})

test('staleFor sends unknown and older generations from scratch, and equal or newer digests need nothing', () => {
  const a = owner('a', 5)
  a.set('x', '1')
  a.set('y', '2')
  const digest = (over: Partial<NodeDigest>): NodeDigest => ({ ...a.digestOf('a')!, ...over })
  assert.equal(a.staleFor('a', undefined)?.fromVersion, 0)
  assert.equal(a.staleFor('a', digest({ generation: 4, maxVersion: 9 }))?.fromVersion, 0)
  assert.equal(a.staleFor('a', digest({ maxVersion: 1 }))?.gap, 1)
  assert.equal(a.staleFor('a', digest({})), undefined)
  assert.equal(a.staleFor('a', digest({ generation: 6, maxVersion: 0 })), undefined)
  assert.equal(a.staleFor('nobody', undefined), undefined)
  const b = owner('b')
  assert.equal(b.lacks(digest({})), true)
  assert.equal(a.lacks(digest({ maxVersion: 10 })), false, 'never about oneself')
})

test('heartbeats advance from digests and deltas of the same generation only', () => {
  const a = owner()
  const b = owner('b')
  a.tickHeartbeat()
  apply(b, deltaFor(a, 'a', undefined))
  assert.equal(b.node('a')?.heartbeat, 1)
  const tally = new ApplyTally()
  b.observeDigest({ ...a.digestOf('a')!, heartbeat: 7 }, tally)
  b.observeDigest({ ...a.digestOf('a')!, heartbeat: 9, generation: 2 }, tally)
  b.observeDigest({ ...a.digestOf('a')!, heartbeat: 3 }, tally)
  assert.equal(b.node('a')?.heartbeat, 7)
  assert.deepEqual(tally.heartbeats, ['a'])
})

test('forget: a departed node’s state goes (watchers told), stays gone at its generation, and a newer generation is taken', () => {
  const a = owner('a', 1)
  a.set('role', 'db')
  a.set('zone', 'eu')
  const b = owner('b', 1)
  assert.equal(apply(b, deltaFor(a, 'a', undefined)), 'replaced')
  b.takeEvents()
  assert.equal(b.forget('b', 0), false, 'never our own state')
  assert.equal(b.forget('zzz', 0), false, 'nothing known')
  assert.equal(b.forget('a', 100), true)
  assert.deepEqual(b.entries('a'), [])
  assert.equal(b.node('a'), undefined)
  assert.ok(!b.nodeNames().includes('a'))
  const events = b.takeEvents().map((e: StateEvent) => (e.type === 'nodeForgotten' ? `forgotten:${e.generation}` : `${e.type}:${'key' in e ? e.key : ''}`))
  assert.deepEqual(events, ['keyDeleted:role', 'keyDeleted:zone', 'forgotten:1'])
  // A peer that still holds it cannot bring it back: refused, and not asked for.
  const full = deltaFor(a, 'a', undefined)
  assert.equal(apply(b, full, 200), 'forgotten')
  assert.equal(b.lacks({ node: 'a', generation: 1, heartbeat: 9, maxVersion: 2, lastGcVersion: 0 }), false)
  assert.equal(b.forgottenCount, 1)
  // The node tombstone expires with the tombstone grace period (1000 ms here).
  b.collectGarbage(1099)
  assert.equal(b.forgottenCount, 1)
  b.collectGarbage(1100)
  assert.equal(b.forgottenCount, 0)
  assert.equal(b.lacks({ node: 'a', generation: 1, heartbeat: 9, maxVersion: 2, lastGcVersion: 0 }), true)
  // A restarted node (newer generation) is taken at once, tombstone or not.
  assert.equal(b.forget('zzz', 0), false)
  assert.equal(apply(b, full, 1200), 'replaced')
  assert.equal(b.forget('a', 1300), true)
  const a2 = owner('a', 2)
  a2.set('role', 'cache')
  assert.equal(b.lacks({ node: 'a', generation: 2, heartbeat: 0, maxVersion: 1, lastGcVersion: 0 }), true)
  assert.equal(apply(b, deltaFor(a2, 'a', undefined), 1400), 'replaced')
  assert.equal(b.get('a', 'role'), 'cache')
  assert.equal(b.forgottenCount, 0, 'the newer generation lifts the tombstone')
  // unforget: the member is back at the same generation (a long partition, not a departure).
  assert.equal(b.forget('a', 1500), true)
  assert.equal(b.unforget('a'), true)
  assert.equal(apply(b, deltaFor(a2, 'a', undefined), 1600), 'replaced')
})
