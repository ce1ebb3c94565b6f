// The replication state machine on its own: two or three replicators, messages carried by hand.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { CrdtCommitError, CrdtReplicator, CrdtLimitError, replicaId, type Send } from '../../src/replication/index.js'
import { decodeReplicationMessage, encodeReplicationMessage } from '../../src/replication/messages.js'
import type { ReplicationConfig } from '../../src/replication/config.js'

type Wire = Array<{ from: string; to: string; bytes: Uint8Array }>

function replica(name: string, config: Partial<ReplicationConfig> = {}, generation = 1): CrdtReplicator {
  return new CrdtReplicator({ self: name, replica: replicaId(name, generation), rng: new SeededRng(name.length * 7 + generation), config })
}

const sender = (from: string, wire: Wire): Send => (to, bytes) => (wire.push({ from, to, bytes }), true)

/** Delivers everything on the wire (and what it causes) to the replicators by name; `drop` loses some. */
function deliver(wire: Wire, nodes: Record<string, CrdtReplicator>, nowMs = 0, drop: (m: Wire[number]) => boolean = () => false): number {
  let n = 0
  while (wire.length > 0) {
    const m = wire.shift()!
    if (drop(m)) continue
    n++
    nodes[m.to].handleMessage(m.from, m.bytes, nowMs, sender(m.to, wire))
  }
  return n
}

/** Hands `from`'s queued deltas to `to` as piggybacks on one packet of `limit` bytes. */
function piggyback(from: CrdtReplicator, to: CrdtReplicator, wire: Wire, limit = 1400): number {
  const parts = from.piggyback(4, limit)
  for (const p of parts) to.handleMessage(from.self, p, 0, sender(to.self, wire))
  return parts.length
}

test('a delta interval after a lost one is a gap, answered with the full state of that key', () => {
  const a = replica('a')
  const b = replica('b')
  const wire: Wire = []
  a.write('counter', 'hits', (s, id) => s.increment(id, 5))
  a.piggyback(4, 1400) // taken for a packet that is lost
  // The queued interval is joined by the next write: retire it by transmitting it to its limit.
  for (let i = 0; i < 20; i++) a.piggyback(4, 1400)
  a.write('counter', 'hits', (s, id) => s.increment(id, 2))
  assert.equal(piggyback(a, b, wire), 1)
  assert.equal(b.counters.gaps, 1, 'seq 2 without seq 1 is a gap')
  assert.equal(b.get('counter', 'hits')!.value(), 7, 'the delta is merged anyway: a G-counter delta carries the total')
  deliver(wire, { a, b })
  assert.equal(b.counters.gapRequests, 1)
  assert.equal(a.counters.statesSent, 1, 'a answered with the key')
  assert.equal(b.record('counter/hits')!.seqs.find(([o]) => o === a.replica)![1], 2, 'the full state brought seq 2')
  a.write('counter', 'hits', (s, id) => s.increment(id, 1))
  piggyback(a, b, wire)
  assert.equal(b.counters.gaps, 1, 'the next interval is contiguous')
  assert.equal(b.get('counter', 'hits')!.value(), 8)
})

test('an OR-Set remove that overtakes its add: the gap brings the state, and the element stays removed', () => {
  const a = replica('a')
  const b = replica('b')
  const wire: Wire = []
  a.write('set', 'features', (s, id) => s.add(id, 'x'))
  for (let i = 0; i < 20; i++) a.piggyback(4, 1400) // every transmission of the add is lost
  a.write('set', 'features', (s) => s.remove('x'))
  piggyback(a, b, wire)
  deliver(wire, { a, b })
  assert.deepEqual(b.get('set', 'features')!.values(), [])
  assert.equal(b.hashOf('set/features'), a.hashOf('set/features'))
})

test('anti-entropy repairs a key whose deltas were all lost, both ways, and reports only differing keys', () => {
  const a = replica('a')
  const b = replica('b')
  const wire: Wire = []
  a.write('set', 'x', (s, id) => s.add(id, 'from-a'))
  b.write('set', 'x', (s, id) => s.add(id, 'from-b'))
  b.write('flag', 'f', (s, id) => s.enable(id))
  a.write('register', 'r', (s, id, clock) => s.assign(id, 'v', clock, 1000))
  a.round(0, ['b'], true, sender('a', wire))
  deliver(wire, { a, b })
  for (const key of ['set/x', 'flag/f', 'register/r']) assert.equal(a.hashOf(key), b.hashOf(key), `${key} agrees`)
  assert.deepEqual(a.get('set', 'x')!.values(), ['from-a', 'from-b'])
  const sent = b.counters.statesSent
  a.round(2000, ['b'], true, sender('a', wire))
  deliver(wire, { a, b })
  assert.equal(b.counters.statesSent, sent, 'in agreement, a digest is answered by nothing')
})

/** Two replicators with small packets, `a` holding a 60-element set (about 1.3 kB encoded). */
function bigSet(): { a: CrdtReplicator; b: CrdtReplicator; wire: Wire } {
  const cfg = { maxMessageBytes: 300, maxStateBytes: 8000 }
  const a = replica('a', cfg)
  for (let i = 0; i < 60; i++) a.write('set', 'big', (s, id) => s.add(id, `element-number-${i}`))
  return { a, b: replica('b', cfg), wire: [] }
}

test('a state larger than a packet travels in fragments and is put back together', () => {
  const { a, b, wire } = bigSet()
  a.round(0, ['b'], true, sender('a', wire))
  deliver(wire, { a, b })
  assert.ok(a.counters.fragmentsSent > 3, `fragments sent: ${a.counters.fragmentsSent}`)
  assert.equal(b.get('set', 'big')!.values().length, 60)
  assert.equal(a.hashOf('set/big'), b.hashOf('set/big'))
})

test('a lost fragment loses its message only; the next anti-entropy round repairs it', () => {
  const { a, b, wire } = bigSet()
  a.round(0, ['b'], false, sender('a', [])) // the delta, too large for a packet, pushed in fragments: all lost
  a.round(0, ['b'], true, sender('a', wire))
  let k = 0
  deliver(wire, { a, b }, 0, (m) => m.from === 'a' && decodeReplicationMessage(m.bytes).ok && (decodeReplicationMessage(m.bytes) as { value: { kind: string } }).value.kind === 'fragment' && k++ === 2)
  assert.equal(b.get('set', 'big'), undefined, 'one piece missing: nothing merged')
  a.round(1000, ['b'], true, sender('a', wire))
  deliver(wire, { a, b }, 1000)
  assert.equal(b.get('set', 'big')!.values().length, 60)
})

test('a write that would pass maxStateBytes throws an error naming the limit and changes nothing', () => {
  const a = replica('a', { maxStateBytes: 200 })
  a.write('set', 's', (s, id) => s.add(id, 'small'))
  const before = a.hashOf('set/s')
  assert.throws(
    () => a.write('set', 's', (s, id) => s.add(id, 'x'.repeat(300))),
    (e: unknown) => e instanceof CrdtLimitError && /maxStateBytes/.test(e.message) && /200 bytes/.test(e.message),
  )
  assert.equal(a.hashOf('set/s'), before)
  assert.equal(a.queuedDeltas, 1, 'only the first write is queued')
  assert.throws(() => a.write('register', 'huge', (s, id, c) => s.assign(id, 'y'.repeat(300), c, 0)), CrdtLimitError)
  assert.equal(a.get('register', 'huge'), undefined, 'a refused first write leaves no key behind')
})

test('malformed, foreign-kind and mistyped messages are counted and dropped, and change nothing', () => {
  const a = replica('a')
  const b = replica('b')
  b.write('counter', 'c', (s, id) => s.increment(id, 1))
  const wire: Wire = []
  const h = b.hashOf('counter/c')
  b.handleMessage('a', Uint8Array.of(0x93, 0x01), 0, sender('b', wire))
  b.handleMessage('a', encodeReplicationMessage({ kind: 'delta', key: 'nope/x', origin: 'a#1', from: 1, to: 1, delta: Uint8Array.of(1) }), 0, sender('b', wire))
  a.write('set', 'c', (s, id) => s.add(id, 'e'))
  const setDelta = a.record('set/c')!.state
  b.handleMessage('a', encodeReplicationMessage({ kind: 'delta', key: 'counter/c', origin: 'a#1', from: 1, to: 1, delta: setDelta }), 0, sender('b', wire))
  for (let i = 0; i < 200; i++) {
    const junk = new SeededRng(i).bytes(1 + (i % 40))
    b.handleMessage('a', junk, 0, sender('b', wire))
  }
  assert.equal(b.hashOf('counter/c'), h)
  assert.deepEqual(b.keys(), ['counter/c'])
  const errors = Object.values(b.counters.decodeErrors).reduce((x, y) => x + y, 0)
  assert.ok(errors >= 203, `all counted: ${JSON.stringify(b.counters.decodeErrors)}`)
  assert.equal(wire.length, 0, 'nothing answered')
})

test('a member that left: its origins are forgotten, its contributions stay', () => {
  const a = replica('a')
  const b = replica('b')
  const wire: Wire = []
  a.write('counter', 'c', (s, id) => s.increment(id, 3))
  piggyback(a, b, wire)
  assert.ok(b.record('counter/c')!.seqs.some(([o]) => o === a.replica))
  b.departed('a')
  assert.deepEqual(b.record('counter/c')!.seqs, [])
  assert.equal(b.get('counter', 'c')!.value(), 3)
})

test('a node restarted without its data writes under a new replica id: its new adds are not taken for old ones', () => {
  const a1 = replica('a', {}, 1)
  const b = replica('b')
  const wire: Wire = []
  a1.write('set', 's', (s, id) => s.add(id, 'x'))
  a1.write('set', 's', (s) => s.remove('x'))
  piggyback(a1, b, wire)
  const a2 = replica('a', {}, 2) // restarted, empty
  a2.write('set', 's', (s, id) => s.add(id, 'y'))
  a2.write('counter', 'c', (s, id) => s.increment(id, 1))
  piggyback(a2, b, wire)
  deliver(wire, { a: a2, b })
  assert.deepEqual(b.get('set', 's')!.values(), ['y'])
})

test('every message kind decodes to what was encoded', () => {
  const messages = [
    { kind: 'delta', key: 'counter/c', origin: 'a#1', from: 3, to: 9, delta: Uint8Array.of(1, 2, 3) },
    { kind: 'digest', first: 'counter/a', last: 'set/z', complete: false, hashes: [['counter/a', 2 ** 52 + 7], ['set/z', 0]] },
    { kind: 'states', states: [{ key: 'flag/f', state: Uint8Array.of(9), seqs: [['a#1', 4], ['b#2', 1]], want: true }], need: ['map/m'] },
    { kind: 'fragment', id: 2 ** 32 - 1, index: 1, count: 3, bytes: Uint8Array.of(7, 7) },
  ] as const
  for (const m of messages) {
    const d = decodeReplicationMessage(encodeReplicationMessage(m))
    assert.ok(d.ok, JSON.stringify(d))
    assert.deepEqual(d.value, m)
  }
})

test('a write whose durable commit fails throws CrdtCommitError, changes nothing and queues no delta; the next one is numbered as if it never happened', () => {
  const a = replica('a')
  const b = replica('b')
  const wire: Wire = []
  let diskOk = true
  const committed: string[] = []
  a.setDurableCommit((rec) => {
    if (!diskOk) throw new Error('EIO: input/output error')
    committed.push(`${rec.key}@${rec.seqs.find(([o]) => o === a.replica)![1]}`)
  })
  a.write('counter', 'hits', (s, id) => s.increment(id, 2))
  piggyback(a, b, wire)
  const queuedBefore = a.queuedDeltas
  diskOk = false
  assert.throws(() => a.write('counter', 'hits', (s, id) => s.increment(id, 40)), (e: unknown) => e instanceof CrdtCommitError && /counter\/hits.*EIO.*nothing changed and nothing was sent/.test((e as Error).message))
  assert.throws(() => a.write('set', 'fresh', (s, id) => s.add(id, 'x')), CrdtCommitError)
  assert.equal(a.get('counter', 'hits')!.value(), 2, 'the failed increment is undone')
  assert.deepEqual(a.keys(), ['counter/hits'], 'a key the failed write would have created does not exist')
  assert.equal(a.counters.commitFailures, 2)
  assert.equal(a.queuedDeltas, queuedBefore, 'no delta of the failed writes waits to be gossiped')
  const carried = a.piggyback(4, 1400).map((p) => decodeReplicationMessage(p))
  assert.ok(carried.every((d) => d.ok && d.value.kind === 'delta' && d.value.key === 'counter/hits' && d.value.to === 1), 'only the committed first write is on the wire')
  assert.deepEqual(a.takeChanges().map((c) => c.key), ['counter/hits'], 'only the committed write is a change')
  diskOk = true
  a.write('counter', 'hits', (s, id) => s.increment(id, 3))
  assert.deepEqual(committed, ['counter/hits@1', 'counter/hits@2'], 'the next write is seq 2: no gap where the failed one was')
  piggyback(a, b, wire)
  deliver(wire, { a, b })
  assert.equal(b.get('counter', 'hits')!.value(), 5, 'the peer holds the committed writes and nothing of the failed one')
  assert.equal(b.counters.gaps, 0)
})
