// The Serf layer as a SwimDelegate: intents, transmit limits, dedupe, refutation and push-pull state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SerfLayer } from '../../src/serf/serf-layer.js'
import type { SerfLayerEvent } from '../../src/serf/serf-layer.js'
import { decodeSerfMessage, encodeSerfMessage } from '../../src/serf/messages.js'

function layer(name: string, clusterSize = 2): { serf: SerfLayer; events: SerfLayerEvent[] } {
  const events: SerfLayerEvent[] = []
  const serf = new SerfLayer({ name, retransmitMult: 4, clusterSize: () => clusterSize, onEvent: (e) => events.push(e) })
  return { serf, events }
}

function drain(serf: SerfLayer, rounds = 20): Uint8Array[] {
  const all: Uint8Array[] = []
  for (let i = 0; i < rounds; i++) all.push(...serf.getBroadcasts(3, 1400))
  return all
}

test('a join intent sets our status time and is sent retransmit-limit times', () => {
  const { serf } = layer('gv')
  serf.join()
  assert.equal(serf.statusLTime('gv'), 1)
  assert.equal(serf.clock.time(), 2)
  const sent = drain(serf)
  assert.equal(sent.length, 4) // 4 × ceil(log10(3))
  assert.deepEqual(decodeSerfMessage(sent[0]), { ok: true, value: { type: 'join', lTime: 1, node: 'gv' } })
})

test('a leave intent reports when it has gone out', () => {
  const { serf } = layer('gv')
  serf.join()
  drain(serf)
  let sent: boolean | undefined
  serf.leave((ok) => (sent = ok))
  const first = serf.getBroadcasts(3, 1400)
  assert.deepEqual(decodeSerfMessage(first[0]), { ok: true, value: { type: 'leave', lTime: 2, node: 'gv', prune: false } })
  assert.equal(sent, undefined)
  drain(serf)
  assert.equal(sent, true)
  assert.equal(serf.pendingBroadcasts, 0)
})

test('intents are witnessed and rebroadcast once, and stale ones are ignored', () => {
  const { serf, events } = layer('gv')
  const join = encodeSerfMessage({ type: 'join', lTime: 9, node: 'serf0' })
  serf.notifyUserMessage(join)
  serf.notifyUserMessage(join)
  assert.equal(serf.clock.time(), 10)
  assert.equal(serf.statusLTime('serf0'), 9)
  assert.deepEqual(events, [{ type: 'intent', intent: 'join', node: 'serf0', lTime: 9 }])
  const out = drain(serf)
  assert.equal(out.length, 4)
  assert.deepEqual(out[0], join)
  serf.notifyUserMessage(encodeSerfMessage({ type: 'leave', lTime: 8, node: 'serf0', prune: false }))
  assert.equal(events.length, 1)
  serf.notifyUserMessage(encodeSerfMessage({ type: 'leave', lTime: 12, node: 'serf0', prune: false }))
  assert.deepEqual(events[1], { type: 'intent', intent: 'leave', node: 'serf0', lTime: 12, prune: false })
})

test('an old leave intent about ourselves is refuted with a join intent', () => {
  const { serf } = layer('gv')
  serf.join()
  drain(serf)
  serf.notifyUserMessage(encodeSerfMessage({ type: 'leave', lTime: 5, node: 'gv', prune: false }))
  const out = drain(serf)
  assert.equal(out.length, 4)
  const m = decodeSerfMessage(out[0])
  assert.ok(m.ok && m.value.type === 'join' && m.value.node === 'gv' && m.value.lTime === 6)
})

test('user events are surfaced once and regossiped', () => {
  const { serf, events } = layer('gv')
  const ev = encodeSerfMessage({ type: 'userEvent', lTime: 3, name: 'deploy', payload: new Uint8Array([1]), coalesce: true })
  serf.notifyUserMessage(ev)
  serf.notifyUserMessage(ev)
  assert.equal(events.filter((e) => e.type === 'userEvent').length, 1)
  assert.equal(serf.eventClock.time(), 4)
  assert.equal(serf.counts.duplicates, 1)
  assert.deepEqual(drain(serf)[0], ev)
})

test('junk user messages are dropped with an event', () => {
  const { serf, events } = layer('gv')
  serf.notifyUserMessage(new Uint8Array([0, 0x91]))
  assert.equal(events[0]?.type, 'dropped')
  serf.notifyUserMessage(new Uint8Array([9, 0x80])) // a relay: not taken part in, not an error
  assert.equal(events.length, 1)
  assert.equal(serf.counts.other, 1)
})

test('push-pull state merges as Serf merges it', () => {
  const a = layer('a')
  const b = layer('b')
  a.serf.join()
  a.serf.userEvent('deploy', new Uint8Array([7]))
  for (let i = 0; i < 5; i++) a.serf.clock.increment()
  const state = a.serf.localState()
  assert.equal(state[0], 2)
  b.serf.mergeRemoteState(state, false)
  assert.equal(b.serf.statusLTime('a'), 1)
  assert.equal(b.serf.clock.time(), a.serf.clock.time())
  assert.equal(b.serf.eventClock.time(), a.serf.eventClock.time())
  assert.ok(b.events.some((e) => e.type === 'userEvent' && e.name === 'deploy'))
  // Left members become leave intents one past their join time.
  const c = layer('c')
  c.serf.mergeRemoteState(
    encodeSerfMessage({ type: 'pushPull', lTime: 3, statusLTimes: new Map([['x', 2]]), leftMembers: ['x'], eventLTime: 1, events: [], queryLTime: 1 }),
    true,
  )
  assert.equal(c.serf.statusLTime('x'), 3)
  assert.deepEqual(c.events[0], { type: 'intent', intent: 'leave', node: 'x', lTime: 3, prune: false })
  c.serf.mergeRemoteState(new Uint8Array([2, 0xc1]), false)
  assert.equal(c.serf.counts.dropped, 1)
})

test('force-leave is applied here first, then gossiped with prune, and marks the node leaving', () => {
  const applied: Array<[string, boolean]> = []
  const events: SerfLayerEvent[] = []
  const serf = new SerfLayer({ name: 'gv', retransmitMult: 4, clusterSize: () => 3, onEvent: (e) => events.push(e), onLeaveIntent: (n, p) => applied.push([n, p]) })
  serf.join()
  drain(serf)
  serf.notifyUserMessage(encodeSerfMessage({ type: 'join', lTime: 5, node: 'web-3' }))
  drain(serf)
  assert.equal(serf.isLeaving('web-3'), false)
  let sent: boolean | undefined
  serf.forceLeave('web-3', true, (ok) => (sent = ok))
  assert.deepEqual(applied, [['web-3', true]])
  assert.equal(serf.isLeaving('web-3'), true)
  const out = drain(serf)
  assert.equal(sent, true)
  const msg = decodeSerfMessage(out[0])
  assert.ok(msg.ok && msg.value.type === 'leave' && msg.value.node === 'web-3' && msg.value.prune === true && msg.value.lTime > 5)
  // A newer join intent (the node came back) clears it.
  serf.notifyUserMessage(encodeSerfMessage({ type: 'join', lTime: 50, node: 'web-3' }))
  assert.equal(serf.isLeaving('web-3'), false)
  // A leave intent about ourselves while alive is refuted, never applied.
  serf.notifyUserMessage(encodeSerfMessage({ type: 'leave', lTime: 60, node: 'gv', prune: false }))
  assert.deepEqual(applied, [['web-3', true]])
  assert.equal(serf.isLeaving('gv'), false)
})

test('queries are deduplicated, acked to the querier when asked and filtered by node and tag; internal ones are not delivered; each gets one response', () => {
  const events: SerfLayerEvent[] = []
  const serf = new SerfLayer({ name: 'gv', retransmitMult: 4, clusterSize: () => 3, tags: () => ({ role: 'db' }), onEvent: (e) => events.push(e) })
  const sent: Array<[string, Uint8Array]> = []
  const send = (to: string, p: Uint8Array): boolean => (sent.push([to, p]), true)
  const tagFilter = (tag: string, expr: string): Uint8Array => {
    // [1][msgpack {Expr, Tag}]
    const enc = (x: string): number[] => [0xa0 | x.length, ...Buffer.from(x)]
    return new Uint8Array([1, 0x82, ...enc('Expr'), ...enc(expr), ...enc('Tag'), ...enc(tag)])
  }
  const nodeFilter = (...names: string[]): Uint8Array => new Uint8Array([0, 0x90 | names.length, ...names.flatMap((n) => [0xa0 | n.length, ...Buffer.from(n)])])
  const query = (over: Partial<Parameters<typeof encodeSerfMessage>[0] & { type: 'query' }>): Uint8Array =>
    encodeSerfMessage({
      type: 'query', lTime: 5, id: 1, addr: new Uint8Array([127, 0, 0, 1]), port: 7946, filters: [], flags: 1, relayFactor: 0,
      sourceNode: 'asker', name: 'whoami', payload: new Uint8Array([1]), timeoutNs: 2e9, ...over,
    })
  serf.notifyUserMessage(query({}), 'asker', 0, send)
  serf.notifyUserMessage(query({}), 'asker', 0, send) // a duplicate: nothing new
  assert.equal(serf.queries.counts.duplicates, 1)
  assert.equal(sent.length, 1)
  assert.equal(sent[0][0], 'asker')
  assert.deepEqual(decodeSerfMessage(sent[0][1]), { ok: true, value: { type: 'queryResponse', lTime: 5, id: 1, from: 'gv', flags: 1, payload: new Uint8Array(0) } })
  const delivered = events.flatMap((e) => (e.type === 'query' ? [e.query] : []))
  assert.deepEqual(delivered.map((q) => [q.name, q.sourceNode, q.timeoutMs]), [['whoami', 'asker', 2000]])
  assert.equal(serf.queryClock.time(), 6)
  assert.equal(drain(serf).length, 4, 're-gossiped its retransmit limit')
  // One response, within Serf's limit.
  assert.throws(() => serf.respondToQuery(delivered[0], new Uint8Array(2000)), /Serf's limit is 1024/)
  const r = serf.respondToQuery(delivered[0], new Uint8Array([42]))
  assert.equal(r.to, 'asker')
  assert.deepEqual(decodeSerfMessage(r.payload), { ok: true, value: { type: 'queryResponse', lTime: 5, id: 1, from: 'gv', flags: 0, payload: new Uint8Array([42]) } })
  assert.throws(() => serf.respondToQuery(delivered[0], new Uint8Array([1])), /answered already/)
  // Filters, internal queries and no-broadcast.
  serf.notifyUserMessage(query({ id: 2, filters: [nodeFilter('other', 'gv')] }), 'asker', 0, send)
  serf.notifyUserMessage(query({ id: 3, filters: [nodeFilter('other')] }), 'asker', 0, send)
  serf.notifyUserMessage(query({ id: 4, filters: [tagFilter('role', '^d')] }), 'asker', 0, send)
  serf.notifyUserMessage(query({ id: 5, filters: [tagFilter('role', 'web')] }), 'asker', 0, send)
  serf.notifyUserMessage(query({ id: 6, filters: [tagFilter('role', '(')] }), 'asker', 0, send) // not a regular expression: no match
  serf.notifyUserMessage(query({ id: 7, name: '_serf_ping', flags: 1 | 2 }), 'asker', 0, send)
  serf.notifyUserMessage(query({ id: 8, flags: 0 }), 'asker', 0, send)
  const acked = sent.slice(1).map(([, p]) => { const d = decodeSerfMessage(p); return d.ok && d.value.type === 'queryResponse' ? d.value.id : -1 })
  assert.deepEqual(acked, [2, 4, 7])
  assert.deepEqual(events.flatMap((e) => (e.type === 'query' ? [e.query.id] : [])), [1, 2, 4, 8])
  assert.equal(serf.queries.counts.filteredOut, 3)
  assert.equal(drain(serf).length, 6 * 4, 'every new query but the no-broadcast ping re-gossiped')
})
