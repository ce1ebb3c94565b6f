import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import type { StateConfig } from '../../src/state/config.js'
import { assertReplica } from '../../src/state/invariant.js'
import { decodeStateMessage, encodedSize, encodeStateMessage, type Ack, type Syn } from '../../src/state/messages.js'
import { inWindow, StateReconciler } from '../../src/state/reconcile.js'

function engine(self: string, generation = 1, config: Partial<StateConfig> = {}): StateReconciler {
  return new StateReconciler({ self, generation, rng: new SeededRng(self.length * 31 + generation), config })
}

/** One whole exchange A → B at `nowMs`, through encoded bytes. Returns the messages' sizes. */
function exchange(a: StateReconciler, b: StateReconciler, nowMs = 0): number[] {
  const syn = encodeStateMessage(a.startRound(b.self, nowMs))
  const ack = b.handleBytes(a.self, syn, nowMs)
  assert.equal(ack.error, undefined)
  if (ack.reply === undefined) return [syn.length]
  const ack2 = a.handleBytes(b.self, ack.reply, nowMs)
  assert.equal(ack2.error, undefined)
  if (ack2.reply === undefined) return [syn.length, ack.reply.length]
  assert.equal(b.handleBytes(a.self, ack2.reply, nowMs).error, undefined)
  return [syn.length, ack.reply.length, ack2.reply.length]
}

function sameView(x: StateReconciler, y: StateReconciler): void {
  assert.deepEqual(x.state.nodeNames(), y.state.nodeNames())
  for (const n of x.state.nodeNames()) assert.deepEqual(x.state.entries(n), y.state.entries(n), n)
}

test('Syn, Ack, Ack2: one exchange brings both sides up to date', () => {
  const a = engine('a')
  const b = engine('b')
  a.state.set('x', '1')
  b.state.set('y', '2')
  const sizes = exchange(a, b)
  assert.equal(sizes.length, 3)
  assert.equal(b.state.get('a', 'x'), '1')
  assert.equal(a.state.get('b', 'y'), '2')
  sameView(a, b)
  assert.deepEqual(exchange(a, b).length, 1, 'nothing left to say: no Ack')
})

test('the Ack asks for what the initiator knows better; the Ack2 carries it', () => {
  const a = engine('a')
  const b = engine('b')
  const c = engine('c')
  c.state.set('k', 'v')
  exchange(c, a)
  assert.equal(a.state.get('c', 'k'), 'v')
  const syn = a.startRound('b', 0)
  const { reply } = b.handleSyn('a', syn, 0)
  assert.ok(reply)
  assert.deepEqual(reply.digests.map((d) => [d.node, d.maxVersion]).sort(), [['a', 0], ['c', 0]])
  const ack2 = a.handleAck('b', reply, 0).reply
  assert.ok(ack2)
  b.handleAck2('a', ack2, 0)
  assert.equal(b.state.get('c', 'k'), 'v')
})

test('an Ack without a pending Syn, or a duplicate, is applied but not answered', () => {
  const a = engine('a')
  const b = engine('b')
  b.state.set('y', '2')
  a.state.set('x', '1')
  const syn = a.startRound('b', 0)
  const ack = b.handleSyn('a', syn, 0).reply as Ack
  assert.ok(a.handleAck('b', ack, 1).reply, 'first Ack answered')
  assert.equal(a.handleAck('b', ack, 2).reply, undefined, 'duplicate: no second Ack2')
  assert.equal(a.state.get('b', 'y'), '2')
  const c = engine('c')
  assert.equal(c.handleAck('b', ack, 0).reply, undefined, 'never asked')
  assert.equal(c.state.get('b', 'y'), '2', 'but its deltas are still good')
  a.startRound('b', 0)
  assert.equal(a.handleAck('b', ack, 10_000).reply, undefined, 'too late')
})

test('duplicated and reordered Ack2s are harmless', () => {
  const a = engine('a')
  const b = engine('b')
  const acks2: Uint8Array[] = []
  for (let i = 0; i < 4; i++) {
    a.state.set(`k${i}`, `v${i}`)
    const ack = b.handleSyn('a', a.startRound('b', i), i).reply as Ack
    b.state.set(`b${i}`, 'x')
    const r = a.handleAck('b', ack, i).reply
    assert.ok(r)
    acks2.push(encodeStateMessage(r))
  }
  for (const bytes of [...acks2].reverse().concat(acks2)) {
    b.handleBytes('a', bytes, 10)
    assertReplica('b', 'a', b.state.node('a')!, a.state.node('a')!)
  }
  assert.deepEqual(b.state.entries('a'), a.state.entries('a'))
})

test('Syn windows walk the name ring within the budget, and a peer fills in nodes the initiator never heard of', () => {
  const config = { maxDeltaBytes: 400, maxKeyBytes: 32, maxValueBytes: 64, maxNodeNameBytes: 64 }
  const a = engine('a', 1, config)
  const b = engine('b', 1, config)
  // b knows 60 nodes (through full states); a knows only itself.
  for (let i = 0; i < 60; i++) {
    const o = engine(`n${String(i).padStart(2, '0')}`, 1, config)
    o.state.set('k', String(i))
    b.mergeFullState(o.fullState(), 0)
  }
  // Windows of b's own Syns: contiguous, each within budget, covering the ring.
  let start: string | undefined
  const covered = new Set<string>()
  for (let round = 0; round < 6; round++) {
    const syn: Syn = b.startRound('a', round)
    assert.ok(encodedSize(syn) <= 400)
    assert.equal(encodeStateMessage(syn).length, encodedSize(syn))
    if (start !== undefined) assert.equal(syn.windowStart, start)
    start = syn.windowEnd
    syn.digests.forEach((d) => covered.add(d.node))
    // A compact Syn summarises its window instead of listing it: one heartbeat per node of the window.
    if (syn.summary !== undefined) {
      const inside = b.state.nodeNames().filter((n) => inWindow(n, syn.windowStart, syn.windowEnd))
      assert.equal(syn.summary.heartbeats.length, inside.length)
      inside.forEach((n) => covered.add(n))
    }
  }
  assert.equal(covered.size, 61)
  let rounds = 0
  while (a.state.nodeNames().length < 61 || b.state.nodeNames().some((n) => a.state.node(n)?.maxVersion !== b.state.node(n)?.maxVersion)) {
    const sizes = exchange(a, b, rounds)
    assert.ok(sizes.every((s) => s <= 400), String(sizes))
    rounds++
    assert.ok(rounds < 40, 'converges')
  }
  sameView(a, b)
})

test('inWindow is the cyclic interval [start, end), everything when start === end', () => {
  assert.equal(inWindow('m', '', ''), true)
  assert.equal(inWindow('m', 'k', 'k'), true)
  assert.equal(inWindow('m', 'k', 'p'), true)
  assert.equal(inWindow('p', 'k', 'p'), false)
  assert.equal(inWindow('k', 'k', 'p'), true)
  assert.equal(inWindow('z', 'p', 'c'), true)
  assert.equal(inWindow('a', 'p', 'c'), true)
  assert.equal(inWindow('m', 'p', 'c'), false)
})

test('push-pull at join: full states both ways give both sides everything, beyond one packet', () => {
  const a = engine('a')
  const b = engine('b')
  for (let i = 0; i < 200; i++) a.state.set(`key-${i}`, `a value that takes some room ${i}`)
  a.state.delete('key-3', 0)
  b.state.set('y', '1')
  const fromA = encodeStateMessage(a.fullState())
  assert.ok(fromA.length > 1400)
  assert.equal(b.handleBytes('a', fromA, 0, true).error, undefined)
  a.mergeFullState(b.fullState(), 0)
  sameView(a, b)
  assertReplica('b', 'a', b.state.node('a')!, a.state.node('a')!)
  assert.equal(b.state.node('a')?.entries.get('key-3')?.deletedAtMs, 0, 'the tombstone travels too')
})

test('garbage input is dropped with a reason and changes nothing', () => {
  const a = engine('a')
  a.state.set('x', '1')
  const before = JSON.stringify(a.fullState())
  for (const bytes of [Uint8Array.of(), Uint8Array.of(0x02), Uint8Array.of(0x7f, 0x90), Uint8Array.of(0x03, 0x91, 0x91, 0x97)]) {
    const r = a.handleBytes('b', bytes, 0)
    assert.ok(r.error)
    assert.equal(r.reply, undefined)
  }
  assert.equal(JSON.stringify(a.fullState()), before)
  assert.equal(decodeStateMessage(encodeStateMessage(a.fullState())).ok, true)
})

test('tick advances the heartbeat, which peers learn from digests', () => {
  const a = engine('a')
  const b = engine('b')
  exchange(a, b)
  a.tick(0)
  a.tick(1000)
  const { applied } = b.handleSyn('a', a.startRound('b', 1000), 1000)
  assert.deepEqual(applied.heartbeats, ['a'])
  assert.equal(b.state.node('a')?.heartbeat, 2)
})

/**
 * `count` engines that all know each other's (empty) state, through full states gathered at one hub (the
 * first engine): every other engine's full state goes to the hub, then the hub's single full state goes to
 * every other engine. O(count²) deltas applied, where merging every engine's full state into every other one
 * was O(count³) (each of count² full states grew to count nodes). A merged full state is not news (it names
 * no recent change), so the engines end exactly as with the all-pairs merge.
 */
function meshed(count: number): StateReconciler[] {
  const all = Array.from({ length: count }, (_, i) => engine(`m${String(i).padStart(3, '0')}`))
  const [hub, ...rest] = all
  for (const x of rest) hub.mergeFullState(x.fullState(), 0)
  const everyone = hub.fullState()
  for (const x of rest) x.mergeFullState(everyone, 0)
  for (const x of all) assert.equal(x.state.nodeNames().length, count, `${x.self} knows every engine`)
  return all
}

test('a Syn names recently changed nodes beside its window, so a change spreads outside the window', () => {
  const all = meshed(300)
  const [a, b, c] = all
  // A change of a node far from a's next window, learned through an exchange, is named in a's next Syns.
  const far = all[200]
  far.state.set('k', 'v')
  far.tick(1000)
  exchange(far, a, 1000)
  assert.equal(a.state.get(far.self, 'k'), 'v')
  a.tick(2000)
  const syn = a.startRound(b.self, 2000)
  assert.ok(!inWindow(far.self, syn.windowStart, syn.windowEnd))
  assert.ok(syn.digests.some((d) => d.node === far.self && d.maxVersion === 1))
  assert.ok(encodedSize(syn) <= a.config.maxDeltaBytes)
  // The peer answers it with the delta the initiator lacks: c asks a, which knows better.
  c.tick(2000)
  exchange(a, c, 2000)
  assert.equal(c.state.get(far.self, 'k'), 'v')
  // After a few quiet rounds the change is no longer news.
  for (let r = 3; r < 12; r++) a.tick(r * 1000)
  assert.ok(!a.startRound(b.self, 12_000).digests.some((d) => d.node === far.self))
})

test('a quiet window travels as a hash and heartbeats; a differing one is answered with digests and repaired', () => {
  const all = meshed(200)
  const [a, b] = all
  for (let r = 1; r < 10; r++) for (const x of [a, b]) x.tick(r * 1000)
  const syn = a.startRound(b.self, 10_000)
  assert.ok(syn.summary !== undefined)
  assert.equal(syn.digests.length, 0)
  assert.ok(encodedSize(syn) < 400, String(encodedSize(syn)))
  // Same window at b: the heartbeats are taken, nothing else is sent.
  const before = b.state.node(a.self)?.heartbeat
  const r1 = b.handle(a.self, syn, 10_000)
  assert.equal(r1.reply, undefined)
  assert.ok((b.state.node(a.self)?.heartbeat ?? 0) > (before ?? 0))
  // b holds a change that a lacks, old enough not to be named as recent any more: only the windows differ.
  const x = all[100]
  x.state.set('k', 'v')
  b.handle(x.self, { kind: 'ack2', deltas: x.fullState().deltas.filter((d) => d.node === x.self) }, 11_000)
  assert.equal(b.state.get(x.self, 'k'), 'v')
  for (let r = 11; r < 20; r++) for (const e of [a, b]) e.tick(r * 1000)
  let rounds = 0
  while (a.state.get(x.self, 'k') !== 'v') {
    rounds++
    assert.ok(rounds < 20, 'repaired')
    for (const e of [a, b]) e.tick((20 + rounds) * 1000)
    exchange(a, b, (20 + rounds) * 1000)
  }
  sameView(a, b)
})
