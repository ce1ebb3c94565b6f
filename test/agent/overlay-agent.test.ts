// `grapevine agent --membership hyparview` on loopback: configuration from flags, variables and the file
// (errors name the source and the fix), the partial view in /v1/members and `grapevine members`,
// /v1/overlay, the overlay's metrics, broadcasts and replicated data over the overlay, and 409s naming the
// mode for what needs full membership.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveAgentConfig } from '../../src/agent/config.js'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

const problems = (flags: Record<string, unknown>, env: Record<string, string> = {}, file: Record<string, unknown> = {}): string => {
  try {
    resolveAgentConfig({ name: 'a', bind: '127.0.0.1:0', http: '127.0.0.1:0', config: 'agent.json', ...flags }, env, () => JSON.stringify(file))
    return ''
  } catch (e) {
    return (e as Error).message
  }
}

test('the agent takes --membership hyparview and the overlay settings from flags, GRAPEVINE_* variables and the file, flags first', () => {
  const c = resolveAgentConfig(
    { name: 'a', bind: '127.0.0.1:0', http: '127.0.0.1:0', config: 'agent.json', membership: 'hyparview', activeView: '4' },
    { GRAPEVINE_PASSIVE_VIEW: '20', GRAPEVINE_ACTIVE_VIEW: '7' },
    () => JSON.stringify({ overlay: { hyparview: { activeViewSize: 6, shuffleIntervalMs: 2000 }, plumtree: { maxPayloadBytes: 2048 } } }),
  )
  assert.equal(c.membership, 'hyparview')
  assert.deepEqual(c.overlay, { hyparview: { activeViewSize: 4, shuffleIntervalMs: 2000, passiveViewSize: 20 }, plumtree: { maxPayloadBytes: 2048 } })
  assert.equal(c.coordinates, false, 'coordinates come from SWIM and are off in this mode')
  const env = resolveAgentConfig({ name: 'a', bind: '127.0.0.1:0', http: '127.0.0.1:0' }, { GRAPEVINE_MEMBERSHIP: 'hyparview' }, () => '{}')
  assert.equal(env.membership, 'hyparview')
  assert.equal(resolveAgentConfig({ name: 'a', bind: '127.0.0.1:0', http: '127.0.0.1:0' }, {}, () => '{}').membership, 'swim')
})

test('bad overlay settings are named with where they came from and the fix', () => {
  assert.match(problems({ membership: 'hyperview' }), /--membership "hyperview": expected swim .* or hyparview .*did you mean "hyparview"/)
  assert.match(problems({ activeView: '5' }), /--active-view: an overlay setting, used only with --membership hyparview; add --membership hyparview/)
  assert.match(problems({ membership: 'hyparview', activeView: 'five' }), /--active-view "five": expected a whole number of at least 1/)
  assert.match(problems({ membership: 'hyparview' }, { GRAPEVINE_KEEPALIVE_TIMEOUT: '-1' }), /GRAPEVINE_KEEPALIVE_TIMEOUT "-1": expected a whole number of milliseconds/)
  assert.match(problems({ membership: 'hyparview' }, {}, { overlay: { hyparview: { activeViewSzie: 5 } } }), /overlay\.hyparview\.activeViewSzie: not a hyparview setting \(did you mean "activeViewSize"\?\)/)
  assert.match(problems({ membership: 'hyparview', passiveWalk: '9' }), /passiveRandomWalkLength: must be ≤ activeRandomWalkLength/)
  assert.match(problems({ membership: 'hyparview', datacenter: 'dc1' }), /datacenter pools .* ride on SWIM's full membership/)
  assert.match(problems({}, {}, { membership: 'swim', overlay: {} }), /an overlay setting, used only with hyparview/)
  assert.match(problems({}, {}, { overlya: {} }), /unknown field "overlya" \(did you mean "overlay"\?\)/)
})

// Generous timeouts: on a loaded machine a 1 s keep-alive timeout dropped live neighbours between two checks.
const FAST_OVERLAY = { membership: 'hyparview', overlay: { hyparview: { keepAliveIntervalMs: 200, keepAliveTimeoutMs: 5000, shuffleIntervalMs: 1000, neighborRequestTimeoutMs: 2000 } } }

async function json(a: Agent, path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url(a, path), init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('four hyparview agents on loopback: partial views, /v1/overlay, metrics, broadcasts and CRDTs over the overlay, 409s naming the mode', { timeout: 60_000 }, async () => {
  const agents: Agent[] = []
  try {
    agents.push(await startTestAgent('ov-0', {}, FAST_OVERLAY))
    for (let i = 1; i < 4; i++) agents.push(await startTestAgent(`ov-${i}`, { join: [gossipAddress(agents[0])] }, FAST_OVERLAY))
    await waitFor('every agent has its 3 neighbours', () => agents.every((a) => (a.node.overlay()?.active.length ?? 0) >= 3), 20_000)

    const members = await json(agents[1], '/v1/members')
    assert.equal(members.status, 200)
    assert.equal(members.body.membership, 'hyparview')
    assert.equal(members.body.view, 'partial')
    assert.match(String(members.body.note), /partial view/)
    assert.equal((members.body.active as unknown[]).length, 3)
    assert.equal((await json(agents[1], '/v1/members?status=alive')).status, 409)

    const overlay = await json(agents[2], '/v1/overlay')
    assert.equal(overlay.status, 200)
    const tree = overlay.body.tree as Record<string, number>
    assert.equal(tree.eager + tree.lazy, 3)
    assert.ok((overlay.body.counters as { hyparview: { neighborUp: number } }).hyparview.neighborUp >= 3)

    const ready = await fetch(url(agents[3], '/health/ready'))
    assert.equal(ready.status, 200)
    assert.match(await ready.text(), /live overlay neighbour/)

    // Broadcasts travel over Plumtree; CRDT writes over sampled overlay peers.
    assert.equal((await json(agents[0], '/v1/broadcast', post({ name: 'deploy', payload: 'v42' }))).status, 200)
    assert.equal((await json(agents[0], '/v1/crdt/counter/hits', post({ op: 'increment', by: 5 }))).status, 200)
    assert.equal((await json(agents[3], '/v1/crdt/counter/hits', post({ op: 'increment', by: 2 }))).status, 200)
    await waitFor('the broadcast reached every agent', () => agents.every((a) => a.node.overlay()!.plumtree.delivered >= 1), 10_000)
    await waitFor('the counter converged to 7 everywhere', () => agents.every((a) => a.node.crdt.counter('hits').value() === 7), 15_000)
    for (const a of agents) assert.equal((await json(a, '/v1/crdt/counter/hits')).body.value, 7)

    const metrics = await (await fetch(url(agents[1], '/metrics'))).text()
    assert.match(metrics, /grapevine_overlay_active_view_size\{node="ov-1"\} 3/)
    assert.match(metrics, /grapevine_overlay_neighbor_up_total\{node="ov-1"\} [3-9]/)
    assert.match(metrics, /grapevine_plumtree_tree_peers\{link="eager",node="ov-1"\}/)
    assert.match(metrics, /grapevine_plumtree_payload_messages_total/)
    assert.match(metrics, /grapevine_plumtree_control_messages_total\{type="ihave"/)
    assert.match(metrics, /grapevine_plumtree_repair_pushes_total\{node="ov-1"\} \d+/)

    for (const [path, body, what] of [
      ['/v1/event', { name: 'deploy', payload: 'x' }, /user events .* use broadcasts/],
      ['/v1/query', { name: 'who' }, /queries/],
      ['/v1/tags', { set: { role: 'web' } }, /tags/],
      ['/v1/force-leave', { name: 'ov-2' }, /force-leave/],
      ['/v1/reachability', {}, /reachability/],
    ] as const) {
      const r = await json(agents[1], path, post(body))
      assert.equal(r.status, 409, path)
      assert.match(String(r.body.error), /membership: 'hyparview'/, path)
      assert.match(String(r.body.error), what, path)
    }
    const majority = await json(agents[1], '/v1/crdt/counter/hits', post({ op: 'increment', consistency: 'majority' }))
    assert.equal(majority.status, 400)
    assert.match(String(majority.body.error), /membership: 'hyparview': consistency levels .* use consistency 'local'/)
    assert.equal((await json(agents[1], '/v1/crdt/counter/hits')).body.value, 7, 'the refused write changed nothing')

    const cli = await runCli(['members', '--http', agents[1].httpAddress])
    assert.equal(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /a partial view/)
    assert.match(cli.stdout, /^active +127\.0\.0\.1:\d+ +(eager|lazy)/m)
  } finally {
    await stopAll(agents)
  }
})

test('/v1/overlay on a SWIM agent is a 409 that says how to get an overlay', { timeout: 20_000 }, async () => {
  const a = await startTestAgent('swim-0')
  try {
    const r = await json(a, '/v1/overlay')
    assert.equal(r.status, 409)
    assert.match(String(r.body.error), /--membership hyparview/)
  } finally {
    await stopAll([a])
  }
})
