// `grapevine event` and POST /v1/event: a Serf user event fired through one agent reaches the other
// agent's event stream once; bad events get 400 with the reason, and the CLI exits 1 saying it.
// `grapevine query` and POST /v1/query: acks and responses of the other agent, filters, 400s.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import type { SerfLayerEvent } from '../../src/serf/serf-layer.js'
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

describe('user events through the agent', () => {
  const agents: Agent[] = []
  after(() => stopAll(agents))

  it('events sent from the CLI and the API reach the other agent once', async () => {
    const e1 = await startTestAgent('e1')
    agents.push(e1)
    const e2 = await startTestAgent('e2', { join: [gossipAddress(e1)] })
    agents.push(e2)
    // Both ways: e2's join must be complete, or (as in Serf) its join merge would skip events fired meanwhile.
    await waitFor('e1 and e2 see each other', () => [e1, e2].every((a) => a.node.members().filter((m) => m.state === 'alive').length === 2), 10_000)
    await waitFor('e2 joined', () => e2.info().join !== undefined && (e2.info().join as { done: boolean }).done, 10_000)
    const seen: string[] = []
    e2.node.on('serf', (e: SerfLayerEvent) => {
      if (e.type === 'userEvent') seen.push(`${e.name}:${Buffer.from(e.payload).toString()}:${e.coalesce}`)
    })

    const run = await runCli(['event', 'deploy', 'v42', '--http', e1.httpAddress])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /Event 'deploy' dispatched \(Lamport time \d+\)/)
    const res = await fetch(url(e1, '/v1/event'), { method: 'POST', body: JSON.stringify({ name: 'restart', payload: 'web', coalesce: false }) })
    assert.equal(res.status, 200)
    await waitFor('e2 got both events', () => seen.length >= 2, 10_000)
    assert.deepEqual(seen.sort(), ['deploy:v42:true', 'restart:web:false'])

    const big = await fetch(url(e1, '/v1/event'), { method: 'POST', body: JSON.stringify({ name: 'big', payload: 'x'.repeat(600) }) })
    assert.equal(big.status, 400)
    assert.match(((await big.json()) as { error: string }).error, /Serf's limit is 512/)
    const noName = await fetch(url(e1, '/v1/event'), { method: 'POST', body: JSON.stringify({ payload: 'x' }) })
    assert.equal(noName.status, 400)
    const bad = await runCli(['event', 'big', 'x'.repeat(600), '--http', e1.httpAddress])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /400: user event "big" is \d+ bytes encoded/)
    assert.equal(seen.length, 2)

    // Queries: `grapevine query` through e1, answered by e2's on('query'); filters and bad input.
    e2.node.on('query', (q) => q.respond(`e2 has ${Buffer.from(q.payload).toString()}`))
    const q = await runCli(['query', 'whoami', 'hi', '--timeout', '1500ms', '--http', e1.httpAddress])
    assert.equal(q.code, 0, q.stderr)
    assert.match(q.stdout, /Query 'whoami' dispatched \(Lamport time \d+\)\nAck from 'e1'\nAck from 'e2'\nResponse from 'e2': e2 has hi\nTotal acks: 2\nTotal responses: 1/)
    const none = await fetch(url(e1, '/v1/query'), { method: 'POST', body: JSON.stringify({ name: 'whoami', timeoutMs: 800, tags: { role: 'nobody' } }) })
    const noneBody = (await none.json()) as { name: string; acks: string[]; responses: unknown[] }
    assert.deepEqual([noneBody.name, noneBody.acks, noneBody.responses], ['whoami', [], []], 'a tag filter nobody matches: no acks')
    for (const [body, reason] of [
      [{ name: '_serf_ping' }, /not starting with _serf_/],
      [{ name: 'q', timeoutMs: -1 }, /timeoutMs: expected milliseconds/],
      [{ name: 'q', tags: ['x'] }, /tags: expected an object/],
      [{ name: 'q', payload: 'x'.repeat(1100) }, /Serf's limit is 1024/],
    ] as const) {
      const r = await fetch(url(e1, '/v1/query'), { method: 'POST', body: JSON.stringify(body) })
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.match(((await r.json()) as { error: string }).error, reason)
    }
    const badTag = await runCli(['query', 'q', '--tag', 'role', '--http', e1.httpAddress])
    assert.equal(badTag.code, 2)
    assert.match(badTag.stderr, /--tag "role": expected KEY=REGEXP/)
  })
})
