import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, readStreamUntil, startTestAgent, stopAll, url, waitFor } from './helpers.js'

interface MemberJson { name: string; address: string; state: string; incarnation: number; tags: Record<string, string>; phi?: number | null }

async function getJson<T>(u: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(u, init)
  return { status: res.status, body: (await res.json()) as T }
}

const post = (body: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body })

describe('agent HTTP API', () => {
  let a1: Agent
  let a2: Agent
  const extra: Agent[] = []

  before(async () => {
    a1 = await startTestAgent('a1', { tag: ['role=web'] })
    a2 = await startTestAgent('a2', { join: [gossipAddress(a1)] })
    await waitFor('a1 sees a2', () => a1.node.members().some((m) => m.name === 'a2' && m.state === 'alive'), 10_000)
  })
  after(() => stopAll([a1, a2, ...extra]))

  it('GET /v1/members lists both agents with tags, and filters by tag and status', async () => {
    const { status, body } = await getJson<MemberJson[]>(url(a1, '/v1/members'))
    assert.equal(status, 200)
    assert.deepEqual(body.map((m) => m.name).sort(), ['a1', 'a2'])
    assert.deepEqual(body.find((m) => m.name === 'a1')?.tags, { role: 'web' })
    assert.equal(body.find((m) => m.name === 'a1')?.phi, null, 'no phi for ourselves')
    assert.ok(body.every((m) => m.phi === null || (typeof m.phi === 'number' && m.phi >= 0)), JSON.stringify(body))
    const web = await getJson<MemberJson[]>(url(a2, '/v1/members?tag=role%3Dweb&status=alive'))
    assert.deepEqual(web.body.map((m) => m.name), ['a1'])
  })

  it('GET /v1/self reports this member and the agent', async () => {
    const { status, body } = await getJson<{ member: MemberJson; agent: { http: string }; members: Record<string, number> }>(url(a2, '/v1/self'))
    assert.equal(status, 200)
    assert.equal(body.member.name, 'a2')
    assert.equal(body.member.state, 'alive')
    assert.equal(body.agent.http, a2.httpAddress)
    assert.equal(body.members.alive, 2)
  })

  it('GET /health answers 200 with status ok', async () => {
    const { status, body } = await getJson<{ status: string }>(url(a1, '/health'))
    assert.equal(status, 200)
    assert.equal(body.status, 'ok')
  })

  it('POST /v1/join contacts the given agent and the joiner sees the cluster', async () => {
    const a3 = await startTestAgent('a3')
    extra.push(a3)
    const { status, body } = await getJson<{ contacted: number }>(url(a3, '/v1/join'), post(JSON.stringify({ addresses: [gossipAddress(a1)] })))
    assert.equal(status, 200)
    assert.equal(body.contacted, 1)
    await waitFor('a3 sees a2', () => a3.node.members().some((m) => m.name === 'a2'), 10_000)
  })

  it('invalid requests get a 4xx with a reason', async () => {
    const cases: Array<[string, RequestInit | undefined, number, RegExp]> = [
      ['/v1/join', post('{bad'), 400, /not valid JSON/],
      ['/v1/join', post('{"addresses":[]}'), 400, /addresses: expected a non-empty array/],
      ['/v1/join', post('{"addresses":[7946]}'), 400, /addresses/],
      ['/v1/members?status=sleeping', undefined, 400, /status "sleeping"/],
      ['/v1/members?tag=role', undefined, 400, /KEY=VALUE/],
      ['/v1/members', { method: 'DELETE' }, 405, /DELETE is not allowed/],
      ['/v1/join', undefined, 405, /use POST/],
      ['/v2/everything', undefined, 404, /no such path/],
      ['/v1/join', post(JSON.stringify({ addresses: ['x'.repeat(70 * 1024)] })), 413, /64/],
      ['/v1/force-leave', post('{}'), 400, /name: expected/],
      ['/v1/force-leave', post('{"name":"a2","prune":"yes"}'), 400, /prune: expected true or false/],
      ['/v1/force-leave', post('{"name":"nobody"}'), 404, /no member named "nobody"/],
      ['/v1/force-leave', post('{"name":"a2"}'), 409, /a2 is alive; force-leave is for failed members/],
      ['/v1/force-leave', post('{"name":"a1"}'), 409, /grapevine leave/],
    ]
    for (const [path, init, status, reason] of cases) {
      const res = await getJson<{ error: string }>(url(a1, path), init)
      assert.equal(res.status, status, `${init?.method ?? 'GET'} ${path}`)
      assert.match(res.body.error, reason, `${init?.method ?? 'GET'} ${path}`)
    }
    const bad = await getJson<{ error: string }>(url(a1, '/v1/join'), post(JSON.stringify({ addresses: ['127.0.0.1:1'] })))
    assert.equal(bad.status, 502)
    assert.match(bad.body.error, /join failed/)
  })

  it('GET /metrics exposes the expected series', async () => {
    // One corrupt datagram: a CRC header whose checksum does not match.
    const sock = dgram.createSocket('udp4')
    await new Promise<void>((r) => sock.send(Uint8Array.of(12, 0, 0, 0, 0, 0, 1, 2), a1.node.port, '127.0.0.1', () => r()))
    sock.close()
    await waitFor('a1 counts the bad packet', () => (a1.node.stats().decodeErrors.get('bad-crc') ?? 0) === 1, 10_000)
    await waitFor('a1 has heard a2 heartbeat', () => a1.node.phi('a2') !== undefined, 15_000)
    // a1's own first state round may come later than a2's heartbeat: the series below needs one.
    await waitFor('a1 has sent a state Syn', () => a1.node.protocolStats().state.synsSent > 0, 15_000)
    const res = await fetch(url(a1, '/metrics'))
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    const text = await res.text()
    for (const series of [
      /grapevine_members\{state="alive",node="a1"\} \d/,
      /grapevine_probes_total\{node="a1"\} \d/,
      /grapevine_acks_received_total/,
      /grapevine_nacks_received_total/,
      /grapevine_indirect_probes_total\{role="sent"/,
      /grapevine_suspicions_total/,
      /grapevine_refutations_total/,
      /grapevine_health_score\{node="a1"\} 0/,
      /grapevine_packets_total\{direction="in"/,
      /grapevine_bytes_total\{direction="out",transport="udp",node="a1"\} [1-9]/,
      /grapevine_bytes_total\{direction="in",transport="tcp",node="a1"\} [1-9]/,
      /grapevine_streams_total\{direction="in"/,
      /grapevine_messages_total\{direction="in",transport="udp",type="ping",node="a1"\} [1-9]/,
      /grapevine_messages_total\{direction="in",transport="tcp",type="pushPull",node="a1"\} [1-9]/,
      /grapevine_message_bytes_total\{direction="out",transport="udp",type="ack",node="a1"\} [1-9]/,
      /grapevine_message_bytes_total\{direction="out",transport="tcp",type="pushPull",node="a1"\} [1-9]/,
      /grapevine_decode_errors_total\{reason="bad-crc",node="a1"\} 1\n/,
      /grapevine_dropped_total\{reason="bad-crc",node="a1"\} 1\n/,
      /grapevine_push_pulls_total\{outcome="served"/,
      /grapevine_stream_errors_total/,
      /grapevine_member_events_total\{type="joined"/,
      /grapevine_rumors_total\{outcome="sent",node="a1"\} \d/,
      /grapevine_state_exchanges_total\{what="syns",node="a1"\} [1-9]/,
      /grapevine_state_nodes\{node="a1"\} [1-9]/,
      /grapevine_state_version\{node="a1"\} \d/,
      /grapevine_phi\{member="a2",node="a1"\} \d/,
    ]) {
      assert.match(text, series)
    }
  })

  it('the event stream delivers a member event', async () => {
    const ac = new AbortController()
    const res = await fetch(url(a1, '/v1/events'), { signal: ac.signal })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/)
    const reader = res.body!.getReader()
    const first = await reader.read()
    assert.match(new TextDecoder().decode(first.value), /connected/)
    const a4 = await startTestAgent('a4', { join: [gossipAddress(a1)] })
    extra.push(a4)
    const seen = await readStreamUntil(reader, ac, /event: member\ndata: \{"type":"joined","member":\{"name":"a4"/)
    assert.match(seen, /"name":"a4"/)
  })

  it('POST /v1/leave answers, then the agent stops and the others see it left', async () => {
    const a5 = await startTestAgent('a5', { join: [gossipAddress(a1)] })
    extra.push(a5)
    await waitFor('a1 sees a5', () => a1.node.members().some((m) => m.name === 'a5' && m.state === 'alive'), 10_000)
    const stopped = new Promise((r) => a5.once('stopped', r))
    const { status, body } = await getJson<{ left: boolean }>(url(a5, '/v1/leave'), post(''))
    assert.equal(status, 200)
    assert.equal(body.left, true)
    await stopped
    await waitFor('a1 sees a5 left', () => a1.node.members().find((m) => m.name === 'a5')?.state === 'left', 10_000)
  })
})

describe('agent HTTP API with a token', () => {
  let a: Agent
  before(async () => {
    a = await startTestAgent('t1', { httpToken: 's3cret' })
  })
  after(() => stopAll([a]))

  it('requests without the bearer token get 401 (the health routes excepted: probes carry no token)', async () => {
    for (const path of ['/v1/members', '/metrics', '/v1/events']) {
      const none = await getJson<{ error: string }>(url(a, path))
      assert.equal(none.status, 401, path)
      assert.match(none.body.error, /bearer token/)
    }
    const wrong = await fetch(url(a, '/v1/self'), { headers: { authorization: 'Bearer nope' } })
    assert.equal(wrong.status, 401)
    await wrong.body?.cancel()
    const right = await getJson<{ member: { name: string } }>(url(a, '/v1/self'), { headers: { authorization: 'Bearer s3cret' } })
    assert.equal(right.status, 200)
    assert.equal(right.body.member.name, 't1')
  })
})
