// The pure pool code: names and tags, the WAN routing table with soft fail, the relay codec and the
// controller against scripted pools (no sockets, no clock).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  PoolController, RELAY_QUERY, RELAY_RESPONSE_BYTES_MAX, RelayError, decodeRelayRequest, decodeRelayResponse, encodeRelayRequest, encodeRelayResponse,
  lanTags, parseAddress, routeTable, serverChange, splitWanName, wanName, wanTags,
} from '../../src/pools/index.js'
import type { PoolAccess, PoolEvent, PoolMember, RelayOutcome } from '../../src/pools/index.js'
import type { Address } from '../../src/core/types.js'
import type { QueryResult } from '../../src/node/index.js'

const addr = (last: number, port = 7946): Address => ({ ip: `10.0.0.${last}`, port })
const member = (name: string, state: PoolMember['state'], tags: Record<string, string>, a = addr(1)): PoolMember => ({ name, address: a, state, tags })

test('WAN names split at the last dot; server tags carry the WAN address', () => {
  assert.equal(wanName('web-1', 'dc1'), 'web-1.dc1')
  assert.deepEqual(splitWanName('web.example.dc2'), { node: 'web.example', datacenter: 'dc2' })
  assert.equal(splitWanName('nodot'), undefined)
  assert.deepEqual(lanTags('dc1', { ip: '::1', port: 8302 }), { dc: 'dc1', role: 'server', wan_addr: '[::1]:8302' })
  assert.deepEqual(lanTags('dc1', undefined), { dc: 'dc1' })
  assert.deepEqual(parseAddress('[::1]:8302'), { ip: '::1', port: 8302 })
  assert.equal(parseAddress('10.0.0.300:1'), undefined)
  assert.equal(parseAddress('host:1'), undefined)
})

test('the routing table keeps a WAN-failed server, tried after the live ones; a left one is gone', () => {
  const s = wanTags('dc2')
  const table = routeTable(
    [
      member('a.dc2', 'dead', s), member('b.dc2', 'alive', s), member('c.dc2', 'suspect', s), member('d.dc2', 'left', s),
      member('e.dc2', 'alive', s), member('x.dc3', 'alive', wanTags('dc3')), member('not-a-server', 'alive', {}), member('f.dc1', 'alive', wanTags('dc9')),
    ],
    (n) => (n === 'e.dc2' ? 5 : n === 'b.dc2' ? 40 : undefined),
  )
  assert.deepEqual([...table.keys()], ['dc2', 'dc3'])
  assert.deepEqual(table.get('dc2')!.map((r) => [r.name, r.state, r.failed]), [['e.dc2', 'alive', false], ['b.dc2', 'alive', false], ['c.dc2', 'suspect', false], ['a.dc2', 'dead', true]])
})

test('server changes are reported once each: joined, failed, recovered, left', () => {
  assert.equal(serverChange(undefined, 'alive'), 'joined')
  assert.equal(serverChange('alive', 'suspect'), undefined)
  assert.equal(serverChange('suspect', 'dead'), 'failed')
  assert.equal(serverChange('dead', 'dead'), undefined)
  assert.equal(serverChange('dead', 'alive'), 'recovered')
  assert.equal(serverChange('dead', 'left'), 'left')
  assert.equal(serverChange('alive', undefined), 'left')
  assert.equal(serverChange(undefined, 'left'), undefined)
})

test('relay messages round-trip; a response too big for a Serf query response keeps what fits and counts the rest', () => {
  const req = { kind: 'query' as const, datacenter: 'dc2', name: 'who', payload: Uint8Array.of(1, 2, 3), coalesce: false, timeoutMs: 2500, hops: 1 }
  assert.deepEqual(decodeRelayRequest(encodeRelayRequest(req)), { ok: true, value: req })
  const responses = Array.from({ length: 40 }, (_, i) => ({ from: `node-${i}`, payload: new Uint8Array(30).fill(i) }))
  const bytes = encodeRelayResponse({ ok: true, servedBy: 's', lTime: 9, ackCount: 40, acks: responses.map((r) => r.from), responses, omitted: 0, error: '' })
  assert.ok(bytes.length <= RELAY_RESPONSE_BYTES_MAX, `${bytes.length} bytes`)
  const d = decodeRelayResponse(bytes)
  assert.ok(d.ok)
  assert.equal(d.value.ackCount, 40)
  assert.equal(d.value.responses.length + d.value.omitted, 40)
  assert.ok(d.value.responses.length > 5)
  assert.deepEqual(d.value.responses[3], responses[3])
})

test('bad relay bytes give a reason, never an exception', () => {
  const good = encodeRelayRequest({ kind: 'event', datacenter: 'dc2', name: 'e', payload: new Uint8Array(0), coalesce: true, timeoutMs: 0, hops: 0 })
  for (let cut = 0; cut < good.length; cut++) assert.equal(decodeRelayRequest(good.subarray(0, cut)).ok, false)
  assert.match((decodeRelayRequest(Uint8Array.of(0x98, 2)) as { reason: string }).reason, /version 2/)
  assert.equal(decodeRelayRequest(Uint8Array.of(...good, 0)).ok, false)
  assert.equal(decodeRelayResponse(Uint8Array.of(0xc1)).ok, false)
})

/** A scripted pool: members set by the test, joins and events recorded, queries answered by `answer`. */
class FakePool implements PoolAccess {
  list: PoolMember[] = []
  joins: Address[][] = []
  events: Array<[string, string]> = []
  queries: Array<{ name: string; nodes?: readonly string[]; timeoutMs?: number; payload: Uint8Array }> = []
  answer: (name: string, payload: Uint8Array, nodes: readonly string[] | undefined) => QueryResult = (name) => ({ name, lTime: 1, acks: [], responses: [] })
  constructor(readonly name: string) {}
  members(): PoolMember[] {
    return this.list
  }
  join(a: readonly Address[]): void {
    this.joins.push([...a])
  }
  userEvent(name: string, payload: Uint8Array): number {
    this.events.push([name, Buffer.from(payload).toString()])
    return 77
  }
  query(name: string, payload: Uint8Array, opts: { nodes?: readonly string[]; timeoutMs?: number; onResponse?: (from: string, p: Uint8Array) => void }, done: (r: QueryResult) => void): void {
    this.queries.push({ name, payload, nodes: opts.nodes, timeoutMs: opts.timeoutMs })
    const r = this.answer(name, payload, opts.nodes)
    // Responses arrive before the deadline, as on the wire.
    for (const x of r.responses) opts.onResponse?.(x.from, x.payload)
    done(r)
  }
  rtt(): number | undefined {
    return undefined
  }
}

test('flood join: live LAN servers of our datacenter missing from the WAN pool are joined at their WAN address; others are not', () => {
  const lan = new FakePool('s1')
  const wan = new FakePool('s1.dc1')
  const events: PoolEvent[] = []
  const c = new PoolController({ datacenter: 'dc1', lan, wan, onEvent: (e) => events.push(e) })
  lan.list = [
    member('s1', 'alive', lanTags('dc1', addr(1, 8302))),
    member('s2', 'alive', lanTags('dc1', addr(2, 8302))), // missing: joined
    member('s3', 'alive', lanTags('dc1', addr(3, 8302))), // already in the WAN pool
    member('s4', 'dead', lanTags('dc1', addr(4, 8302))), // not alive in the LAN pool
    member('s5', 'alive', lanTags('dc2', addr(5, 8302))), // another datacenter's server
    member('c1', 'alive', lanTags('dc1', undefined)), // a client
    member('s6', 'alive', lanTags('dc1', addr(6, 8302))), // failed in the WAN pool: joined again
  ]
  wan.list = [member('s1.dc1', 'alive', wanTags('dc1')), member('s3.dc1', 'alive', wanTags('dc1')), member('s6.dc1', 'dead', wanTags('dc1'))]
  assert.deepEqual(c.flood(), [addr(2, 8302), addr(6, 8302)])
  assert.deepEqual(wan.joins, [[addr(2, 8302), addr(6, 8302)]])
  assert.deepEqual(events, [{ type: 'floodJoin', servers: ['s2', 's6'], addresses: [addr(2, 8302), addr(6, 8302)] }])
  // A client never floods.
  const client = new PoolController({ datacenter: 'dc1', lan })
  assert.deepEqual(client.flood(), [])
})

test('an event for another datacenter goes from a client to its server, over the WAN to a server there, and fires in its LAN', () => {
  // Three controllers wired through scripted pools: client c1 (dc1), server s1 (dc1), server t1 (dc2).
  const c1Lan = new FakePool('c1')
  const s1Lan = new FakePool('s1')
  const s1Wan = new FakePool('s1.dc1')
  const t1Lan = new FakePool('t1')
  const t1Wan = new FakePool('t1.dc2')
  const c1 = new PoolController({ datacenter: 'dc1', lan: c1Lan })
  const s1 = new PoolController({ datacenter: 'dc1', lan: s1Lan, wan: s1Wan, hopMs: 1000 })
  const t1 = new PoolController({ datacenter: 'dc2', lan: t1Lan, wan: t1Wan, hopMs: 1000 })
  c1Lan.list = [member('c1', 'alive', lanTags('dc1', undefined)), member('s1', 'alive', lanTags('dc1', addr(1, 8302)))]
  s1Wan.list = [member('s1.dc1', 'alive', wanTags('dc1')), member('t1.dc2', 'alive', wanTags('dc2'))]
  /** Delivers a query to the controller its node filter names, and returns that controller's response. */
  const deliver = (ctl: PoolController, pool: 'lan' | 'wan', from: string, target: string) => (name: string, payload: Uint8Array): QueryResult => {
    let reply: Uint8Array | undefined
    assert.equal(ctl.handleQuery(pool, { name, payload, respond: (p) => ((reply = p), true) }, 0), true)
    return { name, lTime: 5, acks: [target], responses: reply === undefined ? [] : [{ from: target, payload: reply }] }
  }
  c1Lan.answer = deliver(s1, 'lan', 'c1', 's1')
  s1Wan.answer = deliver(t1, 'wan', 's1.dc1', 't1.dc2')
  let outcome: RelayOutcome | undefined
  c1.relay({ kind: 'event', datacenter: 'dc2', name: 'deploy', payload: Buffer.from('v7') }, (r) => (outcome = r))
  assert.deepEqual(t1Lan.events, [['deploy', 'v7']])
  assert.equal(outcome?.ok, true)
  assert.deepEqual([outcome?.servedBy, outcome?.lTime, outcome?.datacenter], ['t1', 77, 'dc2'])
  // Each hop named exactly one target, with a deadline covering the hops still ahead (the client's: its
  // server's three attempts at the default 4 s hop, plus its own hop).
  assert.deepEqual(c1Lan.queries.map((q) => [q.name, q.nodes, q.timeoutMs]), [[RELAY_QUERY, ['s1'], 16000]])
  assert.deepEqual(s1Wan.queries.map((q) => [q.name, q.nodes, q.timeoutMs]), [[RELAY_QUERY, ['t1.dc2'], 1000]])
  assert.deepEqual(s1.counts.relaysForwarded, 1)
  assert.deepEqual(t1.counts.relaysServed, 1)
  // The application's own queries are not the controller's.
  assert.equal(t1.handleQuery('lan', { name: 'whoami', payload: new Uint8Array(0), respond: () => true }, 0), false)
})

test('a relay that cannot be delivered says why: no server known, no answer, a request arriving at the wrong place', () => {
  const lan = new FakePool('s1')
  const wan = new FakePool('s1.dc1')
  const c = new PoolController({ datacenter: 'dc1', lan, wan })
  const outcomes: RelayOutcome[] = []
  c.relay({ kind: 'event', datacenter: 'dc2', name: 'e', payload: new Uint8Array(0) }, (r) => outcomes.push(r))
  assert.match(outcomes[0].error, /no server of datacenter dc2 is known in the WAN pool/)
  wan.list = [member('t1.dc2', 'alive', wanTags('dc2'))]
  wan.answer = (name) => ({ name, lTime: 1, acks: [], responses: [] })
  c.relay({ kind: 'query', datacenter: 'dc2', name: 'q', payload: new Uint8Array(0), timeoutMs: 500 }, (r) => outcomes.push(r))
  assert.match(outcomes[1].error, /t1\.dc2 did not answer within 4500 ms/)
  assert.throws(() => c.relay({ kind: 'event', datacenter: 'dc2', name: 'e', payload: new Uint8Array(600) }, () => {}), RelayError)
  // A WAN request for a datacenter that is not ours is not forwarded again.
  let reply: Uint8Array | undefined
  c.handleQuery('wan', { name: RELAY_QUERY, payload: encodeRelayRequest({ kind: 'event', datacenter: 'dc3', name: 'e', payload: new Uint8Array(0), coalesce: false, timeoutMs: 0, hops: 1 }), respond: (p) => ((reply = p), true) }, 0)
  const d = decodeRelayResponse(reply!)
  assert.ok(d.ok && !d.value.ok)
  assert.match(d.ok ? d.value.error : '', /cannot forward to datacenter dc3/)
})

/** A WAN pool whose dc2 servers answer (or stay silent) as `behaviour` says, each answer an ok event outcome. */
function scriptedWan(behaviour: Record<string, 'answer' | 'silent' | 'ack-only'>): FakePool {
  const wan = new FakePool('s1.dc1')
  wan.answer = (name, _p, nodes) => {
    const target = nodes![0]
    const b = behaviour[target]
    const reply = encodeRelayResponse({ ok: true, servedBy: target.split('.')[0], lTime: 9, ackCount: 0, acks: [], responses: [], omitted: 0, error: '' })
    return { name, lTime: 1, acks: b === 'silent' ? [] : [target], responses: b === 'answer' ? [{ from: target, payload: reply }] : [] }
  }
  return wan
}

test('relay failover: a server that does not answer is replaced by the next one (alive, then suspect, then soft-failed), each failover reported', () => {
  const wan = scriptedWan({ 'b.dc2': 'silent', 'a.dc2': 'answer', 'c.dc2': 'answer' })
  wan.list = [member('a.dc2', 'suspect', wanTags('dc2')), member('b.dc2', 'alive', wanTags('dc2')), member('c.dc2', 'dead', wanTags('dc2'))]
  const events: PoolEvent[] = []
  const c = new PoolController({ datacenter: 'dc1', lan: new FakePool('s1'), wan, hopMs: 1000, onEvent: (e) => events.push(e) })
  const outcomes: RelayOutcome[] = []
  c.relay({ kind: 'event', datacenter: 'dc2', name: 'deploy', payload: new Uint8Array(0) }, (r) => outcomes.push(r))
  assert.equal(outcomes.length, 1)
  assert.equal(outcomes[0].ok, true, outcomes[0].error)
  assert.equal(outcomes[0].servedBy, 'a')
  assert.deepEqual(wan.queries.map((q) => q.nodes), [['b.dc2'], ['a.dc2']])
  assert.deepEqual(events.filter((e) => e.type === 'relayFailover'), [{ type: 'relayFailover', kind: 'event', datacenter: 'dc2', failed: 'b.dc2', next: 'a.dc2', reason: 'did not answer within 1000 ms' }])
  assert.deepEqual([c.counts.relaysSent, c.counts.relaysFailed, c.counts.relayFailovers, c.counts.relaysDelivered, c.counts.relaysUndelivered], [2, 1, 1, 1, 0])
})

test('relay failover is bounded: after relayAttemptsMax silent servers the error names each one tried', () => {
  const wan = scriptedWan({ 'a.dc2': 'silent', 'b.dc2': 'silent', 'c.dc2': 'silent', 'd.dc2': 'answer' })
  wan.list = ['a', 'b', 'c', 'd'].map((n) => member(`${n}.dc2`, n === 'd' ? 'dead' : 'alive', wanTags('dc2')))
  const c = new PoolController({ datacenter: 'dc1', lan: new FakePool('s1'), wan, hopMs: 1000 })
  const outcomes: RelayOutcome[] = []
  c.relay({ kind: 'query', datacenter: 'dc2', name: 'q', payload: new Uint8Array(0), timeoutMs: 500 }, (r) => outcomes.push(r))
  assert.equal(outcomes[0].ok, false)
  assert.match(outcomes[0].error, /^no server of datacenter dc2 answered \(3 of 4 tried\): a\.dc2 did not answer within 1500 ms; b\.dc2 did not answer within 1500 ms; c\.dc2 did not answer within 1500 ms$/)
  assert.equal(wan.queries.length, 3)
  assert.equal(c.counts.relaysUndelivered, 1)
  // relayAttemptsMax 1 turns failover off.
  const one = new PoolController({ datacenter: 'dc1', lan: new FakePool('s1'), wan, hopMs: 1000, relayAttemptsMax: 1 })
  one.relay({ kind: 'event', datacenter: 'dc2', name: 'e', payload: new Uint8Array(0) }, (r) => outcomes.push(r))
  assert.match(outcomes[1].error, /\(1 of 4 tried\): a\.dc2 did not answer/)
  assert.throws(() => new PoolController({ datacenter: 'dc1', lan: new FakePool('s1'), relayAttemptsMax: 0 }), /relayAttemptsMax: expected an integer from 1 to 16/)
})

test('an event whose server acked but did not answer is not sent again (it may have fired); a query in that case is retried', () => {
  const wan = scriptedWan({ 'a.dc2': 'ack-only', 'b.dc2': 'answer' })
  wan.list = [member('a.dc2', 'alive', wanTags('dc2')), member('b.dc2', 'alive', wanTags('dc2'))]
  const c = new PoolController({ datacenter: 'dc1', lan: new FakePool('s1'), wan, hopMs: 1000 })
  const outcomes: RelayOutcome[] = []
  c.relay({ kind: 'event', datacenter: 'dc2', name: 'e', payload: new Uint8Array(0) }, (r) => outcomes.push(r))
  assert.equal(outcomes[0].ok, false)
  assert.match(outcomes[0].error, /not retried: a\.dc2 acked but did not answer within 1000 ms: the event may have fired there/)
  assert.deepEqual(wan.queries.map((q) => q.nodes), [['a.dc2']])
  c.relay({ kind: 'query', datacenter: 'dc2', name: 'q', payload: new Uint8Array(0), timeoutMs: 200 }, (r) => outcomes.push(r))
  assert.equal(outcomes[1].ok, true, outcomes[1].error)
  assert.equal(outcomes[1].servedBy, 'b')
})

test('a client fails over between its own servers, and waits long enough for its server to fail over in the target datacenter', () => {
  const lan = new FakePool('c1')
  lan.list = [member('c1', 'alive', lanTags('dc1', undefined)), member('s1', 'alive', lanTags('dc1', addr(1, 8302))), member('s2', 'alive', lanTags('dc1', addr(2, 8302)))]
  lan.answer = (name, _p, nodes) => {
    const target = nodes![0]
    if (target === 's1') return { name, lTime: 1, acks: [], responses: [] } // down
    const reply = encodeRelayResponse({ ok: true, servedBy: 't1', lTime: 3, ackCount: 0, acks: [], responses: [], omitted: 0, error: '' })
    return { name, lTime: 1, acks: [target], responses: [{ from: target, payload: reply }] }
  }
  const c = new PoolController({ datacenter: 'dc1', lan, hopMs: 1000 })
  const outcomes: RelayOutcome[] = []
  c.relay({ kind: 'query', datacenter: 'dc2', name: 'q', payload: new Uint8Array(0), timeoutMs: 500 }, (r) => outcomes.push(r))
  assert.equal(outcomes[0].ok, true, outcomes[0].error)
  // Each local hop's deadline: three remote attempts of (500 + 1000) ms, plus one hop.
  assert.deepEqual(lan.queries.map((q) => [q.nodes, q.timeoutMs]), [[['s1'], 5500], [['s2'], 5500]])
})

test('a retried event request fires once: the server answers with the identical event its LAN saw within the window', () => {
  const lan = new FakePool('t2')
  const t2 = new PoolController({ datacenter: 'dc2', lan, wan: new FakePool('t2.dc2') })
  const ask = (retry: boolean, nowMs: number, payload = 'v7') => {
    let reply: Uint8Array | undefined
    const req = { kind: 'event' as const, datacenter: 'dc2', name: 'deploy', payload: new TextEncoder().encode(payload), coalesce: false, timeoutMs: 0, hops: 1, retry }
    const { retry: _r, ...plain } = req
    assert.deepEqual(decodeRelayRequest(encodeRelayRequest(req)), { ok: true, value: retry ? req : plain })
    t2.handleQuery('wan', { name: RELAY_QUERY, payload: encodeRelayRequest(req), respond: (p) => ((reply = p), true) }, nowMs)
    const d = decodeRelayResponse(reply!)
    assert.ok(d.ok && d.value.ok)
    return d.value
  }
  // The first attempt's server fired deploy v7 at lTime 40; t2's LAN pool saw it at 100 s.
  t2.lanUserEvent('deploy', Buffer.from('v7'), 40, 100_000)
  assert.equal(ask(true, 104_000).lTime, 40)
  assert.deepEqual(lan.events, [])
  assert.equal(t2.counts.relaysDeduplicated, 1)
  // Another payload, a first attempt, or a retry after the window: fired.
  assert.equal(ask(true, 104_000, 'v8').lTime, 77)
  assert.equal(ask(false, 104_000).lTime, 77)
  assert.equal(ask(true, 161_000).lTime, 77)
  assert.deepEqual(lan.events, [['deploy', 'v8'], ['deploy', 'v7'], ['deploy', 'v7']])
})
