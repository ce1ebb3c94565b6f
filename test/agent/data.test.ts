// Replicated state and broadcasts through the agent: `grapevine kv`, `grapevine broadcast`, the
// /v1/kv and /v1/broadcast routes with their 4xx answers, and state/message events on /v1/events.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, readStreamUntil, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

const quick = { broadcast: { gossipIntervalMs: 50 }, state: { roundIntervalMs: 100, exchangeTimeoutMs: 1000 } }

describe('agent: replicated state and broadcasts', () => {
  let d1: Agent
  let d2: Agent
  before(async () => {
    d1 = await startTestAgent('d1', {}, quick)
    d2 = await startTestAgent('d2', { join: [gossipAddress(d1)] }, quick)
    await waitFor('d1 sees d2', () => d1.node.members().filter((m) => m.state === 'alive').length === 2, 10_000)
  })
  after(() => stopAll([d1, d2]))

  it('a key set on one agent is read through the other, then deleted', async () => {
    const set = await runCli(['kv', 'set', 'load', '0.42', '--http', d1.httpAddress])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /load set \(version \d+\)/)
    await waitFor('d2 holds d1/load', () => d2.node.state.get('d1', 'load') === '0.42', 10_000)
    const get = await runCli(['kv', 'get', 'load', '--node', 'd1', '--http', d2.httpAddress])
    assert.equal(get.stdout, '0.42\n')
    const list = await runCli(['kv', 'list', '--prefix', 'lo', '--http', d2.httpAddress])
    assert.match(list.stdout, /d1\s+load\s+0\.42/)
    const del = await runCli(['kv', 'del', 'load', '--http', d1.httpAddress])
    assert.match(del.stdout, /load deleted/)
    await waitFor('d2 sees the delete', () => d2.node.state.get('d1', 'load') === undefined, 10_000)
    const missing = await runCli(['kv', 'get', 'load', '--node', 'd1', '--http', d2.httpAddress])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /404: no key "load" in d1's state/)
  })

  it('a broadcast reaches the other agent and its event stream', async () => {
    const ac = new AbortController()
    const res = await fetch(url(d2, '/v1/events?types=message'), { signal: ac.signal })
    const reader = res.body!.getReader()
    await reader.read() // ": connected"
    const run = await runCli(['broadcast', 'deploy', 'v42', '--http', d1.httpAddress])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /Broadcast deploy sent \(id d1\//)
    const seen = await readStreamUntil(reader, ac, /event: message\ndata: \{[^\n]*"name":"deploy","payload":"v42","origin":"d1"/)
    assert.match(seen, /"origin":"d1"/)
    // The same route sends a Serf user event when asked; it arrives as a message with via "serf".
    const sent = await fetch(url(d1, '/v1/broadcast'), { method: 'POST', body: JSON.stringify({ name: 'restart', payload: 'web', via: 'serf' }) })
    assert.equal(sent.status, 200)
    assert.match(((await sent.json()) as { id: string }).id, /^serf:\d+:restart$/)
    await readStreamUntil(reader, ac, /event: message\ndata: \{[^\n]*"name":"restart","payload":"web","origin":null,"hops":0,"via":"serf"/)
  })

  it('bad requests get a 4xx with a reason', async () => {
    const put = (body: string): RequestInit => ({ method: 'PUT', body })
    const post = (body: string): RequestInit => ({ method: 'POST', body })
    const cases: Array<[string, RequestInit | undefined, number, RegExp]> = [
      ['/v1/kv/k', put('{"value": 5}'), 400, /value: expected/],
      ['/v1/kv/k', put(JSON.stringify({ value: 'x'.repeat(70_000) })), 413, /64 KiB/],
      ['/v1/kv/' + 'k'.repeat(400), put('{"value":"x"}'), 400, /maxKeyBytes|key/],
      ['/v1/kv/k', { method: 'POST' }, 405, /use GET, PUT or DELETE/],
      ['/v1/kv?node=nobody', undefined, 404, /no state known for node "nobody"/],
      ['/v1/broadcast', post('{"payload":"x"}'), 400, /name: expected/],
      ['/v1/broadcast', post(JSON.stringify({ name: 'big', payload: 'x'.repeat(5000) })), 400, /over the limit/],
      ['/v1/broadcast', post(JSON.stringify({ name: 'x', via: 'carrier-pigeon' })), 400, /via: expected "grapevine" \(default\) or "serf"/],
      ['/v1/broadcast', post(JSON.stringify({ name: 'big', payload: 'x'.repeat(600), via: 'serf' })), 400, /Serf's limit is 512/],
    ]
    for (const [path, init, status, reason] of cases) {
      const res = await fetch(url(d1, path), init)
      const body = (await res.json()) as { error: string }
      assert.equal(res.status, status, `${init?.method ?? 'GET'} ${path.slice(0, 40)}`)
      assert.match(body.error, reason, `${init?.method ?? 'GET'} ${path.slice(0, 40)}`)
    }
  })
})
