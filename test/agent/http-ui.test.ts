// The agent's dashboard routes (http-ui.ts) without a browser: the built page and its assets at /ui
// (also with a token, which only the API needs), no path outside the built folder, the one-answer view
// of a node, and gossip / suspicion events on the event stream.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, readStreamUntil, startTestAgent, stopAll, url, waitFor } from './helpers.js'

interface View {
  self: string
  now: number
  health: number
  members: Array<{ name: string; state: string; changedAt: number; phi: number | null }>
  suspicions: Array<{ type: string; member: string; from: string | null; via: string | null }>
  kv: Array<{ node: string; key: string; value: string; version: number | null }>
  gossip: Array<{ direction: string; kind: string; peer: string; types: string; bytes: number }>
  counters: Record<string, number>
}

describe('agent dashboard routes', () => {
  let a1: Agent
  let a2: Agent
  let a3: Agent | undefined

  /** Wall-clock time before any agent started: every member's state changed after it. */
  let startedAt: number

  before(async () => {
    startedAt = Date.now()
    a1 = await startTestAgent('u1', { httpToken: 'sesame' })
    a2 = await startTestAgent('u2', { join: [gossipAddress(a1)] })
    await waitFor('u1 sees u2', () => a1.node.members().some((m) => m.name === 'u2' && m.state === 'alive'), 10_000)
  })
  after(() => stopAll([a1, a2, a3]))

  it('/ui serves the built page and its assets without the token', async () => {
    const redirect = await fetch(url(a1, '/ui'), { redirect: 'manual' })
    assert.equal(redirect.status, 302)
    assert.equal(redirect.headers.get('location'), '/ui/')
    const page = await fetch(url(a1, '/ui/'))
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type') ?? '', /text\/html/)
    const html = await page.text()
    assert.match(html, /<script type="module" src="assets\/app\.js">/)
    const js = await fetch(url(a1, '/ui/assets/app.js'))
    assert.equal(js.status, 200)
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    assert.ok((await js.text()).length > 10_000, 'the bundle holds the app')
    const api = await fetch(url(a1, '/v1/ui/view'))
    assert.equal(api.status, 401, 'the data still needs the token')
  })

  it('/ui refuses paths outside the built folder', async () => {
    for (const p of ['/ui/..%2F..%2Fpackage.json', '/ui/%2e%2e/src/cli/cli.js', '/ui/nothing-here.js']) {
      const res = await fetch(url(a2, p))
      assert.equal(res.status, 404, p)
      await res.text()
    }
  })

  it('the view has members, counters, gossip and state versions', async () => {
    const put = await fetch(url(a2, '/v1/kv/colour'), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'green' }) })
    assert.equal(put.status, 200)
    const { version } = (await put.json()) as { version: number }
    // Packets are recorded while a dashboard watches: the first view starts it, a later poll has them.
    const first = await fetch(url(a2, '/v1/ui/view'))
    assert.equal(first.status, 200)
    await first.json()
    let v: View
    for (let tries = 0; ; tries++) {
      v = (await (await fetch(url(a2, '/v1/ui/view'))).json()) as View
      if ((v.gossip.some((g) => g.peer === 'u1' && g.direction === 'out') && v.gossip.some((g) => g.peer === 'u1' && g.direction === 'in')) || tries === 100) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal(v.self, 'u2')
    assert.deepEqual(v.members.map((m) => m.name).sort(), ['u1', 'u2'])
    // changedAt is the wall-clock time of each member's last change, which happened during this test: after
    // the agents started, no later than the view's own `now`. (Rounded to the millisecond, hence the 1 ms.)
    assert.ok(v.members.every((m) => m.state === 'alive' && m.changedAt >= startedAt - 1 && m.changedAt <= v.now + 1), JSON.stringify({ startedAt, now: v.now, members: v.members }))
    assert.deepEqual(v.kv.find((k) => k.node === 'u2' && k.key === 'colour'), { node: 'u2', key: 'colour', value: 'green', version })
    assert.ok(v.gossip.some((g) => g.peer === 'u1' && g.direction === 'out' && g.bytes > 0 && g.types.length > 0), JSON.stringify(v.gossip.slice(-5)))
    assert.ok(v.gossip.some((g) => g.peer === 'u1' && g.direction === 'in'), 'received packets too')
    assert.ok(v.counters.packetsOut > 0 && v.counters.bytesOut > 0, JSON.stringify(v.counters))
  })

  it('the event stream carries gossip and the suspicion of a stopped member', async () => {
    a3 = await startTestAgent('u3', { join: [gossipAddress(a2)] })
    await waitFor('u2 sees u3', () => a2.node.members().some((m) => m.name === 'u3' && m.state === 'alive'), 10_000)
    const ac = new AbortController()
    const res = await fetch(url(a2, '/v1/events?types=gossip,suspicion'), { signal: ac.signal })
    const reader = res.body!.getReader()
    const seen = readStreamUntil(reader, ac, /event: gossip[\s\S]*event: suspicion\ndata: \{"type":"(suspected|failed)","member":"u3"/, 15_000)
    await a3.stop({ leave: false })
    const text = await seen
    assert.match(text, /event: gossip\ndata: \{"at":\d+,"direction":"(in|out)","kind":"(packet|stream)","peer":"u[13]","types":"[^"]+","bytes":\d+\}/)
    assert.match(text, /event: suspicion\ndata: \{"type":"(suspected|failed)","member":"u3","from":"u[12]","via":"[a-zA-Z]+"/)
    const v = (await (await fetch(url(a2, '/v1/ui/view'))).json()) as View
    assert.ok(v.suspicions.some((s) => s.member === 'u3' && s.from !== null), JSON.stringify(v.suspicions))
  })
})
