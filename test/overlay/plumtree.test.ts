// Plumtree, one message at a time: eager push, batched IHAVE, GRAFT with its two timeouts, PRUNE on
// duplicates, the hop-count optimization, bounded memory and the payload limit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BroadcastError } from '../../src/gossip/rumor-types.js'
import { Plumtree, messageIdOf } from '../../src/overlay/plumtree.js'
import { resolvePlumtreeConfig, type PlumtreeConfig } from '../../src/overlay/config.js'
import { decodeOverlayMessage, encodeOverlayMessage, type OverlayMessage, type PlumtreeMessage } from '../../src/overlay/messages.js'
import { CollectingOverlayOutbox, type PlumtreeEvent, type PlumtreeTimer } from '../../src/overlay/types.js'

type Out = CollectingOverlayOutbox<PlumtreeTimer, PlumtreeEvent>

function tree(neighbors: string[], config: Partial<PlumtreeConfig> = {}): { pt: Plumtree; out: Out } {
  const pt = new Plumtree({ self: 'x', config })
  const out: Out = new CollectingOverlayOutbox()
  for (const n of neighbors) pt.neighborUp(n, 0, out)
  out.clear()
  return { pt, out }
}

function sent(out: Out): Array<{ to: string; m: OverlayMessage }> {
  return out.sent.map((s) => {
    const r = decodeOverlayMessage(s.bytes)
    assert.ok(r.ok)
    return { to: s.to, m: r.value }
  })
}

const give = (pt: Plumtree, out: Out, m: PlumtreeMessage, nowMs = 0): void => pt.handleMessage(encodeOverlayMessage(m), nowMs, out)
const payload = Uint8Array.of(7, 7, 7)
const id = messageIdOf(payload)

test('message ids are derived from the content: equal payloads share an id, different ones do not', () => {
  assert.equal(messageIdOf(Uint8Array.of(1, 2)), messageIdOf(Uint8Array.of(1, 2)))
  assert.notEqual(messageIdOf(Uint8Array.of(1, 2)), messageIdOf(Uint8Array.of(2, 1)))
  assert.match(id, /^[0-9a-f]{32}$/)
})

test('broadcast delivers locally at hop 0 and pushes GOSSIP at hop 1 to every eager neighbour', () => {
  const { pt, out } = tree(['a', 'b'])
  assert.equal(pt.broadcast(payload, 0, out), id)
  assert.deepEqual(out.events, [{ type: 'delivered', id, payload, hops: 0, from: undefined }])
  assert.deepEqual(sent(out).map((s) => s.to).sort(), ['a', 'b'])
  for (const s of sent(out)) assert.deepEqual(s.m, { kind: 'gossip', from: 'x', id, hops: 1, payload })
})

test('a payload over maxPayloadBytes is refused with a BroadcastError that names the limit; nothing is sent', () => {
  const { pt, out } = tree(['a'], { maxPayloadBytes: 4 })
  assert.throws(() => pt.broadcast(new Uint8Array(5), 0, out), (e: unknown) => e instanceof BroadcastError && e.reason === 'payload-too-large' && e.message.includes('maxPayloadBytes 4'))
  assert.equal(out.sent.length + out.events.length, 0)
  // The same limit on receipt: an oversized GOSSIP is dropped and counted, not delivered.
  give(pt, out, { kind: 'gossip', from: 'a', id, hops: 1, payload: new Uint8Array(5) })
  assert.equal(out.events.length, 0)
  assert.equal(pt.counters.decodeErrors['too-large'], 1)
})

test('first GOSSIP: delivered once with its hop count, forwarded eagerly but not back, announced lazily in a batch', () => {
  const { pt, out } = tree(['a', 'b', 'c'])
  give(pt, out, { kind: 'prune', from: 'c' }) // c becomes lazy
  give(pt, out, { kind: 'gossip', from: 'a', id, hops: 2, payload })
  assert.deepEqual(out.events, [{ type: 'delivered', id, payload, hops: 2, from: 'a' }])
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'gossip', from: 'x', id, hops: 3, payload } }])
  const flush = out.timers.find((t) => t.timer.kind === 'ihaveFlush')
  assert.ok(flush && flush.afterMs === 50)
  out.clear()
  pt.handleTimer(flush.timer, 50, out)
  assert.deepEqual(sent(out), [{ to: 'c', m: { kind: 'ihave', from: 'x', entries: [{ id, hops: 3 }] } }])
})

test('a duplicate GOSSIP is not delivered again and its sender is pruned to a lazy link', () => {
  const { pt, out } = tree(['a', 'b'])
  give(pt, out, { kind: 'gossip', from: 'a', id, hops: 1, payload })
  out.clear()
  give(pt, out, { kind: 'gossip', from: 'b', id, hops: 4, payload })
  assert.equal(out.events.length, 0)
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'prune', from: 'x' } }])
  assert.deepEqual(pt.lazyPeers(), ['b'])
  assert.equal(pt.counters.duplicates, 1)
})

test('PRUNE moves the sender to the lazy set; a later broadcast reaches it only as IHAVE', () => {
  const { pt, out } = tree(['a', 'b'])
  give(pt, out, { kind: 'prune', from: 'b' })
  assert.deepEqual(pt.eagerPeers(), ['a'])
  pt.broadcast(payload, 0, out)
  assert.deepEqual(sent(out).map((s) => s.to), ['a'])
})

test('IHAVE for a missing message: GRAFT the first announcer after graftTimeoutMs, the next after the shorter graftRetryMs', () => {
  const { pt, out } = tree(['a', 'b', 'c'], { graftTimeoutMs: 200, graftRetryMs: 80 })
  give(pt, out, { kind: 'prune', from: 'b' })
  give(pt, out, { kind: 'prune', from: 'c' })
  give(pt, out, { kind: 'ihave', from: 'b', entries: [{ id, hops: 2 }] }, 10)
  give(pt, out, { kind: 'ihave', from: 'c', entries: [{ id, hops: 3 }] }, 20)
  const timers = out.timers.filter((t) => t.timer.kind === 'graft')
  assert.equal(timers.length, 1, 'one timer per missing message, however many announcers')
  assert.equal(timers[0].afterMs, 200)
  out.clear()
  pt.handleTimer(timers[0].timer, 210, out)
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'graft', from: 'x', ids: [id] } }])
  assert.ok(pt.eagerPeers().includes('b'))
  const retry = out.timers.find((t) => t.timer.kind === 'graft')
  assert.ok(retry && retry.afterMs === 80)
  out.clear()
  pt.handleTimer(retry.timer, 290, out)
  assert.deepEqual(sent(out), [{ to: 'c', m: { kind: 'graft', from: 'x', ids: [id] } }])
  out.clear()
  const last = out.timers.find((t) => t.timer.kind === 'graft')
  pt.handleTimer(last?.timer ?? { kind: 'graft', id, attempt: 2 }, 370, out)
  assert.equal(pt.counters.graftsExhausted, 1)
})

test('IHAVE for a message that arrives before the timeout sends no GRAFT', () => {
  const { pt, out } = tree(['a', 'b'])
  give(pt, out, { kind: 'prune', from: 'b' })
  give(pt, out, { kind: 'ihave', from: 'b', entries: [{ id, hops: 2 }] })
  const timer = out.timers.find((t) => t.timer.kind === 'graft')
  assert.ok(timer)
  give(pt, out, { kind: 'gossip', from: 'a', id, hops: 1, payload })
  out.clear()
  pt.handleTimer(timer.timer, 200, out)
  assert.equal(out.sent.length, 0)
  assert.equal(pt.missingSize, 0)
})

/** b announces the message, the GRAFT timer fires, and b's copy arrives as the GRAFT's answer. */
function answerGraft(pt: ReturnType<typeof tree>['pt'], out: ReturnType<typeof tree>['out']): void {
  give(pt, out, { kind: 'ihave', from: 'b', entries: [{ id, hops: 2 }] }, 10)
  const timer = out.timers.find((t) => t.timer.kind === 'graft')
  assert.ok(timer)
  pt.handleTimer(timer.timer, 210, out)
  out.clear()
  give(pt, out, { kind: 'gossip', from: 'b', id, hops: 3, payload }, 220)
}

test('a message that arrives as the answer to its GRAFT is pushed to the lazy peers that did not announce it (repairPush lazy-too)', () => {
  // x holds a (eager: its parent, silent since it crashed), b, c, d lazy; b announces the message.
  const { pt, out } = tree(['a', 'b', 'c', 'd'])
  for (const p of ['b', 'c', 'd']) give(pt, out, { kind: 'prune', from: p })
  answerGraft(pt, out)
  // c and d may sit below the same dead parent: they get the payload now, not an IHAVE and a GRAFT wait.
  assert.deepEqual(sent(out).map((s) => `${s.to}:${s.m.kind}`).sort(), ['a:gossip', 'c:gossip', 'd:gossip'])
  assert.equal(pt.counters.repairPushes, 1)
  assert.deepEqual(pt.lazyPeers().sort(), ['c', 'd'], 'the links stay lazy: duplicates prune them as usual')
})

test('a copy pushed over a link held lazy goes on to the lazy peers only when an announcement of it was pending (a repair reaching a waiting node); unannounced, it is a one-sided link and nothing cascades', () => {
  const { pt, out } = tree(['a', 'b', 'c'])
  give(pt, out, { kind: 'prune', from: 'b' })
  give(pt, out, { kind: 'prune', from: 'c' })
  give(pt, out, { kind: 'gossip', from: 'b', id, hops: 4, payload })
  assert.deepEqual(sent(out).map((s) => s.to), ['a'], 'eager push only; c waits for its IHAVE')
  assert.ok(out.timers.some((t) => t.timer.kind === 'ihaveFlush'))
  assert.equal(pt.counters.repairPushes, 0)
  const waiting = tree(['a', 'b', 'c', 'd'])
  for (const p of ['b', 'c', 'd']) give(waiting.pt, waiting.out, { kind: 'prune', from: p })
  give(waiting.pt, waiting.out, { kind: 'ihave', from: 'd', entries: [{ id, hops: 2 }] }, 10)
  waiting.out.clear()
  give(waiting.pt, waiting.out, { kind: 'gossip', from: 'b', id, hops: 4, payload }, 20)
  assert.deepEqual(sent(waiting.out).map((s) => s.to).sort(), ['a', 'c'], 'pushed to c, not back to b nor to the announcer d')
  assert.equal(waiting.pt.counters.repairPushes, 1)
})

test("repairPush 'tree' (the paper's) announces a grafted message to the lazy peers instead of pushing it", () => {
  const { pt, out } = tree(['a', 'b', 'c'], { repairPush: 'tree' })
  give(pt, out, { kind: 'prune', from: 'b' })
  give(pt, out, { kind: 'prune', from: 'c' })
  answerGraft(pt, out)
  assert.deepEqual(sent(out).map((s) => s.to), ['a'])
  assert.equal(pt.counters.repairPushes, 0)
  assert.throws(() => resolvePlumtreeConfig({ repairPush: 'always' as never }), /repairPush: expected 'lazy-too' or 'tree', got always/)
})

test('GRAFT makes the sender eager and answers with the cached message', () => {
  const { pt, out } = tree(['a', 'b'])
  give(pt, out, { kind: 'prune', from: 'b' })
  pt.broadcast(payload, 0, out)
  out.clear()
  give(pt, out, { kind: 'graft', from: 'b', ids: [id] })
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'gossip', from: 'x', id, hops: 1, payload } }])
  assert.ok(pt.eagerPeers().includes('b'))
})

test('optimization: an IHAVE whose path is threshold hops shorter grafts the announcer and prunes the old parent', () => {
  const { pt, out } = tree(['a', 'b'], { optimizationHopThreshold: 3 })
  give(pt, out, { kind: 'prune', from: 'b' })
  give(pt, out, { kind: 'gossip', from: 'a', id, hops: 6, payload })
  out.clear()
  give(pt, out, { kind: 'ihave', from: 'b', entries: [{ id, hops: 4 }] })
  assert.equal(out.sent.length, 0, 'two hops shorter is under the threshold')
  give(pt, out, { kind: 'ihave', from: 'b', entries: [{ id, hops: 3 }] })
  assert.deepEqual(sent(out), [
    { to: 'b', m: { kind: 'graft', from: 'x', ids: [] } },
    { to: 'a', m: { kind: 'prune', from: 'x' } },
  ])
  assert.deepEqual(pt.eagerPeers(), ['b'])
  assert.deepEqual(pt.lazyPeers(), ['a'])
})

test('flood mode pushes to every neighbour and never prunes', () => {
  const { pt, out } = tree(['a', 'b', 'c'], { mode: 'flood' })
  give(pt, out, { kind: 'gossip', from: 'a', id, hops: 1, payload })
  give(pt, out, { kind: 'gossip', from: 'b', id, hops: 1, payload })
  give(pt, out, { kind: 'prune', from: 'c' })
  assert.deepEqual(sent(out).map((s) => [s.to, s.m.kind]).sort(), [['b', 'gossip'], ['c', 'gossip']])
  assert.deepEqual(pt.eagerPeers().sort(), ['a', 'b', 'c'])
})

test('a neighbour that comes up hears IHAVE for the messages delivered in the last announceToNewNeighborMs', () => {
  const { pt, out } = tree(['a'], { announceToNewNeighborMs: 1000 })
  pt.broadcast(payload, 0, out)
  pt.broadcast(Uint8Array.of(1), 900, out)
  out.clear()
  pt.neighborUp('n', 1500, out)
  pt.handleTimer({ kind: 'ihaveFlush' }, 1550, out)
  const ihave = sent(out).find((s) => s.to === 'n')
  assert.ok(ihave && ihave.m.kind === 'ihave')
  assert.deepEqual(ihave.m.entries.map((e) => e.id), [messageIdOf(Uint8Array.of(1))])
})

test('memory stays bounded: the cache, the seen set and the IHAVE queue keep their limits', () => {
  const { pt, out } = tree(['a', 'b'], { cacheMaxEntries: 10, seenMaxEntries: 20, ihaveQueueMax: 5, ihaveIntervalMs: 60_000 })
  give(pt, out, { kind: 'prune', from: 'b' })
  for (let i = 0; i < 100; i++) pt.broadcast(new Uint8Array(Uint32Array.of(i).buffer), i, out)
  assert.equal(pt.cacheSize, 10)
  assert.equal(pt.seenSize, 20)
  assert.equal(pt.counters.ihaveDropped, 95)
  // Expired by age as well: past seenTtlMs nothing is remembered.
  pt.broadcast(payload, 10_000_000, out)
  assert.equal(pt.seenSize, 1)
})
