import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import type { RumorConfig } from '../../src/gossip/config.js'
import { decodeRumorMessage, encodeRumorMessage, type RumorMessage, type WireRumor } from '../../src/gossip/messages.js'
import { BroadcastError, RumorMonger } from '../../src/gossip/rumor.js'

function engine(self: string, config: Partial<RumorConfig> = {}, seed = 1): RumorMonger {
  return new RumorMonger({ self, rng: new SeededRng(seed), config: { repairIntervalMs: 0, ...config } })
}

function decode(bytes: Uint8Array): RumorMessage {
  const r = decodeRumorMessage(bytes)
  assert.ok(r.ok)
  return r.value
}

function rumor(origin: string, seq: number, ageMs = 0): WireRumor {
  return { origin, epoch: 1, seq, ageMs, hops: 0, name: 'topic', payload: Uint8Array.of(seq & 0xff) }
}

function push(...rumors: WireRumor[]): Uint8Array {
  return encodeRumorMessage({ kind: 'rumors', pull: false, ackWanted: true, repair: false, rumors, known: [] })
}

const peers = (n: number): string[] => Array.from({ length: n }, (_, i) => `p${i}`)

test('a rumor is never sent back to the node it came from, nor to its origin', () => {
  const b = engine('b', { k: 64, fanout: 3 })
  const got = b.handleMessage('a', push(rumor('o', 1)), 0)
  assert.equal(got.delivered.length, 1)
  assert.equal(got.delivered[0].from, 'a')
  const view = ['a', 'o', 'b', 'c', 'd', 'e']
  for (let t = 1; t <= 50; t++) {
    for (const s of b.tick(t * 200, view).sends) {
      assert.ok(s.to !== 'a' && s.to !== 'o' && s.to !== 'b', `sent to ${s.to}`)
    }
  }
  assert.deepEqual(b.piggyback('a', 10_000, 1400), [])
  assert.deepEqual(b.piggyback('o', 10_000, 1400), [])
  assert.equal(b.piggyback('c', 10_000, 1400).length, 1)
})

test('peers not yet told are preferred, and peers known to have a rumor never get it', () => {
  const a = engine('a', { fanout: 1, k: 64 })
  a.broadcast('t', Uint8Array.of(1), 0)
  const view = peers(19)
  const targets: string[] = []
  for (let t = 1; t <= 19; t++) targets.push(...a.tick(t * 200, view).sends.map((s) => s.to))
  assert.equal(new Set(targets).size, 19, 'each of the 19 peers told once before anyone twice')

  // p0..p17 now report "already had it": only p18 may still be sent the rumor.
  const sent = decode(a.piggyback('p18', 4000, 1400)[0])
  const hadBytes = encodeRumorMessage({ kind: 'reply', had: sent.rumors, rumors: [] })
  for (let i = 0; i < 18; i++) a.handleMessage(`p${i}`, hadBytes, 4000)
  for (let t = 21; t <= 40; t++) {
    for (const s of a.tick(t * 200, view).sends) assert.equal(s.to, 'p18')
  }
})

test('feedback-counter loses interest after k unnecessary contacts', () => {
  const a = engine('a', { fanout: 1, k: 2, feedback: true, removal: 'counter' })
  const d = a.broadcast('t', Uint8Array.of(1), 0)
  const sent = decode(a.tick(200, ['b', 'c', 'x']).sends[0].bytes)
  assert.equal(sent.kind, 'rumors')
  assert.ok(sent.kind === 'rumors' && sent.ackWanted)
  const had = encodeRumorMessage({ kind: 'reply', had: [sent.rumors[0]], rumors: [] })
  a.handleMessage('b', had, 210)
  assert.equal(a.hotCount, 1, 'one unnecessary contact of k = 2')
  a.handleMessage('c', had, 220)
  assert.equal(a.hotCount, 0, 'lost interest at the second')
  assert.equal(a.counters.lostInterest, 1)
  assert.equal(d.hops, 0)
})

test('a receiver acks only the rumors it already had', () => {
  const b = engine('b')
  const first = b.handleMessage('a', push(rumor('o', 1)), 0)
  assert.equal(first.sends.length, 0, 'nothing to ack for a new rumor')
  const second = b.handleMessage('c', push(rumor('o', 1), rumor('o', 2)), 10)
  assert.equal(second.delivered.length, 1)
  const reply = decode(second.sends[0].bytes)
  assert.equal(reply.kind, 'reply')
  assert.deepEqual(reply.kind === 'reply' && reply.had.map((i) => i.seq), [1])
})

test('a pull is answered with the hot rumors missing from its digest', () => {
  const b = engine('b', { mode: 'pull' })
  b.broadcast('t', Uint8Array.of(1), 0)
  b.broadcast('t', Uint8Array.of(2), 0)
  const asker = engine('a', { mode: 'pull' })
  const request = asker.tick(200, ['b']).sends[0]
  const reply = b.handleMessage('a', request.bytes, 201)
  const r = decode(reply.sends[0].bytes)
  assert.equal(r.kind === 'reply' && r.rumors.length, 2)
  const delivered = asker.handleMessage('b', reply.sends[0].bytes, 202).delivered
  assert.equal(delivered.length, 2)
  // Asked again, b has nothing the asker lacks: no reply, and (feedback) two unnecessary contacts each.
  const again = asker.tick(400, ['b']).sends[0]
  assert.equal(b.handleMessage('a', again.bytes, 401).sends.length, 0)
})

test('an oversize payload is refused with an error naming the limit, and nothing changes', () => {
  const a = engine('a')
  assert.throws(
    () => a.broadcast('t', new Uint8Array(1025), 0),
    (e: unknown) =>
      e instanceof BroadcastError &&
      e.reason === 'payload-too-large' &&
      /payload is 1025 bytes, over the limit of 1024 bytes \(maxPayloadBytes\)/.test(e.message),
  )
  assert.throws(() => a.broadcast('x'.repeat(65), new Uint8Array(1), 0), /over the limit of 64 bytes \(maxNameBytes\)/)
  assert.equal(a.hotCount, 0)
  assert.equal(a.counters.broadcasts, 0)
  assert.equal(a.broadcast('t', new Uint8Array(1024), 0).id.endsWith('.1'), true, 'no sequence number was used')
})

test('queue overflow drops the rumor closest to losing interest and counts it', () => {
  const a = engine('a', { maxQueue: 4, k: 3, feedback: false, fanout: 1 })
  const first = a.broadcast('t', Uint8Array.of(0), 0)
  a.tick(200, ['b']) // the first rumor has now had one (blind) contact
  for (let i = 1; i < 10; i++) a.broadcast('t', Uint8Array.of(i), 300)
  assert.equal(a.hotCount, 4)
  assert.equal(a.counters.dropped, 6)
  const sent = decode(a.piggyback('c', 400, 1400)[0])
  assert.ok(sent.kind === 'rumors' && !sent.rumors.some((r) => `a/${r.epoch}.${r.seq}` === first.id), 'the contacted one went first')
})

test('duplicates are suppressed, and memory stays bounded by the window', () => {
  const b = engine('b', { dedupeWindowMs: 10_000, maxRumorAgeMs: 5_000, retainMs: 5_000, maxQueue: 16 })
  let delivered = 0
  for (let i = 1; i <= 5000; i++) {
    const now = i * 100
    delivered += b.handleMessage('a', push(rumor('o', i)), now).delivered.length
    delivered += b.handleMessage('c', push(rumor('o', i)), now + 1).delivered.length // a duplicate
    if (i % 2 === 0) b.tick(now + 2, ['a', 'c'])
    assert.ok(b.seenCount <= 101, `seen ${b.seenCount} ids at rumor ${i}`)
  }
  assert.equal(delivered, 5000)
  assert.equal(b.counters.duplicates, 5000)
  assert.equal(b.counters.seenEvictedEarly, 0)
})

test('a full dedupe set forgets early and counts it', () => {
  const b = engine('b', { dedupeMaxEntries: 16 })
  for (let i = 1; i <= 100; i++) b.handleMessage('a', push(rumor('o', i)), i)
  assert.equal(b.seenCount, 16)
  assert.equal(b.counters.seenEvictedEarly, 84)
})

test('rumors older than maxRumorAgeMs are refused, and hot ones expire', () => {
  const b = engine('b', { maxRumorAgeMs: 1000, dedupeWindowMs: 2000, retainMs: 1000 })
  assert.equal(b.handleMessage('a', push(rumor('o', 1, 1001)), 0).delivered.length, 0)
  assert.equal(b.counters.tooOld, 1)
  assert.equal(b.handleMessage('a', push(rumor('o', 2, 900)), 0).delivered.length, 1)
  b.tick(101, ['a', 'c'])
  assert.equal(b.counters.expired, 1)
  assert.equal(b.hotCount, 0)
})

test('junk is counted by reason and dropped', () => {
  const b = engine('b')
  const out = b.handleMessage('a', Uint8Array.of(0x07, 0, 0), 0)
  assert.deepEqual(out.sends, [])
  assert.deepEqual(b.counters.decodeErrors, { 'unknown-type': 1 })
})

test('a repair pull fetches a retained rumor that is no longer hot', () => {
  const a = engine('a', { repairIntervalMs: 1000, k: 1 })
  a.broadcast('t', Uint8Array.of(9), 0)
  const b = engine('b', { repairIntervalMs: 1000 })
  // a loses interest at its first unnecessary contact, b never heard of the rumor.
  const sent = decode(a.tick(200, ['c']).sends.find((s) => s.to === 'c')!.bytes)
  a.handleMessage('c', encodeRumorMessage({ kind: 'reply', had: sent.rumors, rumors: [] }), 210)
  assert.equal(a.hotCount, 0)
  let delivered = 0
  for (let t = 0; t <= 2000; t += 200) {
    for (const s of b.tick(t, ['a']).sends) {
      for (const r of a.handleMessage('b', s.bytes, t + 1).sends) delivered += b.handleMessage('a', r.bytes, t + 2).delivered.length
    }
  }
  assert.equal(delivered, 1)
  assert.equal(a.counters.repairSent, 1)
})

test('a riding repair pull goes on a packet that leaves anyway when due, and alone only after a whole interval without one', () => {
  const riding = new RumorMonger({ self: 'a', rng: new SeededRng(1), config: { repairIntervalMs: 1000, repairBackoffMaxMs: 1000 }, repairRides: true })
  assert.equal(riding.tick(0, ['b']).sends.length, 0, 'the first tick only draws the phase')
  assert.equal(riding.takeRepairPull('b', 0, 1000), undefined, 'not due before its phase')
  const pull = riding.takeRepairPull('b', 1000, 1000)
  assert.ok(pull !== undefined)
  const m = decode(pull)
  assert.ok(m.kind === 'rumors' && m.pull && m.repair)
  assert.equal(riding.takeRepairPull('b', 1500, 1000), undefined, 'one per interval')
  for (let t = 1000; t < 2999; t += 200) assert.equal(riding.tick(t, ['b']).sends.length, 0, `no packet of its own at ${t} ms`)
  // No ride for a whole interval past due: tick sends it alone.
  const alone = riding.tick(3100, ['b']).sends
  assert.equal(alone.length, 1)
  assert.ok(decode(alone[0].bytes).kind === 'rumors')
  assert.equal(riding.counters.repairPullsSent, 2)
  // Without repairRides, tick sends every due pull itself and nothing rides.
  const plain = engine('p', { repairIntervalMs: 1000, repairBackoffMaxMs: 1000 })
  let sent = 0
  for (let t = 0; t <= 3000; t += 200) sent += plain.tick(t, ['b']).sends.length
  assert.ok(sent >= 3, `${sent} pulls in 3 s`)
})

test('repair pulls that bring nothing back off 1, 2, 4, 8 s up to the bound; a delivery, or a peer pull naming a rumor we lack, wakes them', () => {
  const a = new RumorMonger({ self: 'a', rng: new SeededRng(1), config: { repairIntervalMs: 1000, repairBackoffMaxMs: 8000 }, repairRides: true })
  a.tick(0, ['b'])
  const times: number[] = []
  for (let t = 0; t <= 40_000; t += 100) if (a.takeRepairPull('b', t, 1000) !== undefined) times.push(t)
  const gaps = times.slice(1).map((t, i) => t - times[i])
  assert.deepEqual(gaps.slice(0, 6), [1000, 2000, 4000, 8000, 8000, 8000], `gaps ${gaps.join(', ')}`)
  // A broadcast here (a delivery): the next pull within one interval, then the backoff starts over.
  const last = times[times.length - 1]
  a.broadcast('t', Uint8Array.of(1), last + 100)
  assert.equal(a.takeRepairPull('b', last + 1000, 1000), undefined)
  assert.ok(a.takeRepairPull('b', last + 1100, 1000) !== undefined, 'due one interval after the delivery')
  assert.equal(a.takeRepairPull('b', last + 2000, 1000), undefined)
  assert.ok(a.takeRepairPull('b', last + 2100, 1000) !== undefined, 'then 1 s')
  // A peer's pull names a rumor we never saw: our pull is due at once (rumor mongering missed us).
  const b = engine('b', { repairIntervalMs: 1000, repairBackoffMaxMs: 8000 })
  b.broadcast('x', Uint8Array.of(2), 0)
  b.tick(0, ['a'])
  const theirPull = b.takeRepairPull('a', 10_000, 1000)
  assert.ok(theirPull !== undefined)
  const now = last + 2200
  assert.equal(a.takeRepairPull('b', now, 1000), undefined, 'backed off')
  const answer = a.handleMessage('b', theirPull, now).sends.filter((x) => x.to === 'b').map((x) => decode(x.bytes))
  assert.ok(answer.some((m) => m.kind === 'rumors' && m.pull && m.repair), 'a pull of ours to that peer at once')
  const again = a.handleMessage('b', theirPull, now + 10).sends.map((x) => decode(x.bytes))
  assert.ok(!again.some((m) => m.kind === 'rumors' && m.pull), 'at most one such pull per interval')
  assert.ok(a.takeRepairPull('b', now + 1000, 1000) !== undefined, 'and pulls every interval again')
  // The same pull again names nothing new: no wake.
  const c = engine('c', { repairIntervalMs: 1000, repairBackoffMaxMs: 8000 })
  c.tick(0, ['b'])
  for (let t = 0; t <= 20_000; t += 100) c.takeRepairPull('b', t, 1000)
  c.handleMessage('q', encodeRumorMessage({ kind: 'rumors', pull: true, ackWanted: false, repair: true, rumors: [], known: [] }), 20_050)
  assert.equal(c.takeRepairPull('b', 20_100, 1000), undefined, 'a pull naming nothing we lack leaves the backoff alone')
})

test('piggybacks respect the byte limit, and pull mode never pushes', () => {
  const a = engine('a', { k: 64 })
  for (let i = 0; i < 10; i++) a.broadcast('t', new Uint8Array(100), 0)
  const small = a.piggyback('b', 10, 350)
  assert.equal(small.length, 1)
  assert.ok(small[0].length <= 350, `${small[0].length} bytes`)
  const m = decode(small[0])
  assert.equal(m.kind === 'rumors' && m.rumors.length, 3, '4 bytes of framing + 3 × 113-byte rumors = 343')
  assert.deepEqual(a.piggyback('b', 10, 50), [], 'nothing fits')
  const p = engine('p', { mode: 'pull' })
  p.broadcast('t', Uint8Array.of(1), 0)
  assert.deepEqual(p.piggyback('b', 10, 1400), [])
})
