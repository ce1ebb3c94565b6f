// Network coordinates through the agent on loopback: GET /v1/coordinates lists this node's coordinate and
// the ones its probes' acks brought; /v1/coordinates/rtt and `grapevine rtt A [B]` estimate a round trip
// (a loopback one: positive and under a second, generous for a loaded machine); /v1/coordinates/nearest orders members; bad requests get 4xx with a reason;
// the coordinate echo goes back to each probed agent over real UDP.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

interface CoordinateJson { vec: number[]; error: number; adjustment: number; height: number }

async function getJson<T>(u: string): Promise<{ status: number; body: T }> {
  const res = await fetch(u)
  return { status: res.status, body: (await res.json()) as T }
}

describe('agent network coordinates', () => {
  let a1: Agent
  let a2: Agent
  let a3: Agent

  before(async () => {
    a1 = await startTestAgent('c1')
    a2 = await startTestAgent('c2', { join: [gossipAddress(a1)] })
    a3 = await startTestAgent('c3', { join: [gossipAddress(a1)] })
    await waitFor('c1 has both peers\' coordinates', () => a1.node.rtt('c2') !== undefined && a1.node.rtt('c3') !== undefined, 15_000)
  })
  after(() => stopAll([a1, a2, a3]))

  it('GET /v1/coordinates lists our coordinate first, then the peers\' in Serf\'s 8 dimensions', async () => {
    const { status, body } = await getJson<{ name: string; coordinates: Array<{ name: string; coordinate: CoordinateJson }>; stats: { updates: number } }>(url(a1, '/v1/coordinates'))
    assert.equal(status, 200)
    assert.equal(body.name, 'c1')
    assert.deepEqual(body.coordinates.map((c) => c.name), ['c1', 'c2', 'c3'])
    for (const c of body.coordinates) {
      assert.equal(c.coordinate.vec.length, 8)
      assert.ok([c.coordinate.error, c.coordinate.adjustment, c.coordinate.height, ...c.coordinate.vec].every(Number.isFinite))
    }
    assert.ok(body.stats.updates >= 2)
  })

  it('GET /v1/coordinates/rtt estimates between two members and from this node, positive and under a second on loopback', async () => {
    // Every ack and echo moves the coordinates; compare with the node's own answer on a reading during
    // which they held still (at most a few tries).
    let between: { status: number; body: { a: string; b: string; rttMs: number } } | undefined
    for (let i = 0; i < 10; i++) {
      const before = a1.node.rtt('c2', 'c3')
      const r = await getJson<{ a: string; b: string; rttMs: number }>(url(a1, '/v1/coordinates/rtt?a=c2&b=c3'))
      if (before === a1.node.rtt('c2', 'c3')) {
        between = r
        assert.equal(r.body.rttMs, before)
        break
      }
    }
    assert.ok(between !== undefined, 'the coordinates held still during one of 10 requests')
    assert.equal(between.status, 200)
    assert.ok(between.body.rttMs > 0 && between.body.rttMs < 1000, JSON.stringify(between.body))
    const fromSelf = await getJson<{ a: string; b: string; rttMs: number }>(url(a1, '/v1/coordinates/rtt?a=c2'))
    assert.equal(fromSelf.body.b, 'c1')
  })

  it('GET /v1/coordinates/nearest lists the live peers nearest first, at most k', async () => {
    const all = await getJson<Array<{ name: string; rttMs: number | null }>>(url(a1, '/v1/coordinates/nearest'))
    assert.deepEqual(all.body.map((e) => e.name).sort(), ['c2', 'c3'])
    assert.ok(all.body[0].rttMs !== null && all.body[1].rttMs !== null && all.body[0].rttMs <= all.body[1].rttMs, JSON.stringify(all.body))
    const one = await getJson<unknown[]>(url(a1, '/v1/coordinates/nearest?k=1'))
    assert.equal(one.body.length, 1)
  })

  it('the metrics count coordinate updates, with no rejection on a healthy cluster', async () => {
    const text = await (await fetch(url(a1, '/metrics'))).text()
    const updates = /^grapevine_coordinate_updates_total(?:\{[^}]*\})? (\d+)/m.exec(text)
    assert.ok(updates !== null && Number(updates[1]) >= 2, text.split('\n').filter((l) => l.includes('coordinate')).join('\n'))
    assert.doesNotMatch(text, /^grapevine_coordinate_rejected_total\{reason="undecodable/m)
  })

  it('the coordinate echo travels on real sockets: every agent echoes its acked probes and applies the echoes it gets, and the metrics count them', async () => {
    const agents = [a1, a2, a3]
    await waitFor('every agent applied an echo', () => agents.every((a) => (a.node.coordinates()?.stats.echoes.applied ?? 0) >= 1), 15_000)
    for (const a of agents) {
      const e = a.node.coordinates()!.stats.echoes
      assert.ok(e.sent >= 1 && e.bytesSent >= 140 * e.sent, JSON.stringify(e))
      assert.deepEqual(e.dropped, {}, 'nothing malformed on loopback')
    }
    const text = await (await fetch(url(a1, '/metrics'))).text()
    const applied = /^grapevine_coordinate_echoes_total\{result="applied"[^}]*\} (\d+)/m.exec(text)
    assert.ok(applied !== null && Number(applied[1]) >= 1, text.split('\n').filter((l) => l.includes('echo')).join('\n'))
  })

  it('bad requests get a 4xx with a reason', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/v1/coordinates/rtt', 400, /a: give the member/],
      ['/v1/coordinates/rtt?a=nobody', 404, /not a member/],
      ['/v1/coordinates/nearest?k=0', 400, /positive integer/],
    ]
    for (const [path, code, reason] of cases) {
      const r = await getJson<{ error: string }>(url(a1, path))
      assert.equal(r.status, code, path)
      assert.match(r.body.error, reason, path)
    }
    const post = await fetch(url(a1, '/v1/coordinates'), { method: 'POST' })
    assert.equal(post.status, 405)
  })

  it('grapevine rtt prints the estimate as serf rtt does, and names the problem for an unknown member', async () => {
    const r = await runCli(['rtt', 'c2', 'c3', '--http', a1.httpAddress])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Estimated c2 <-> c3 rtt: \d+\.\d{3} ms\n$/)
    const bad = await runCli(['rtt', 'nobody', '--http', a1.httpAddress])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /404: nobody is not a member/)
  })
})
