// Runtime tags, as `serf tags`: `grapevine tags --set/--delete` and POST /v1/tags change this node's
// tags, the others see the update, and the snapshot keeps them across a restart.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'

const same = (a: unknown, b: Record<string, string>): boolean => a !== null && typeof a === 'object' && JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort())
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

describe('runtime tags', () => {
  const agents: Agent[] = []
  after(() => stopAll(agents))

  it('are set and deleted at runtime, seen by the others, and kept in the snapshot across a restart', async () => {
    const snapshot = join(mkdtempSync(join(tmpdir(), 'gv-tags-')), 'snap.json')
    const t1 = await startTestAgent('t1', { tag: ['role=web', 'zone=a'], snapshot })
    agents.push(t1)
    const t2 = await startTestAgent('t2', { join: [gossipAddress(t1)] })
    agents.push(t2)
    await waitFor('t2 sees t1', () => t2.node.members().some((m) => m.name === 't1' && m.state === 'alive'), 10_000)

    const r = await runCli(['tags', '--set', 'zone=b', '--set', 'version=2', '--delete', 'role', '--http', t1.httpAddress])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Successfully updated agent tags\nversion=2\nzone=b\n$/)
    await waitFor('t2 sees the new tags', () => same(t2.node.members().find((m) => m.name === 't1')?.tags, { zone: 'b', version: '2' }), 10_000)
    const listed = await runCli(['tags', '--json', '--http', t1.httpAddress])
    assert.deepEqual(JSON.parse(listed.stdout), { tags: { zone: 'b', version: '2' } })
    await waitFor('the snapshot has the tags', () => same((JSON.parse(readFileSync(snapshot, 'utf8')) as { tags?: unknown }).tags, { zone: 'b', version: '2' }), 5_000)

    await t1.stop({ leave: false })
    const again = await startTestAgent('t1', { tag: ['role=web', 'zone=a'], snapshot })
    agents.push(again)
    assert.deepEqual(again.node.localMember().tags, { zone: 'b', version: '2' }, 'the runtime tags, not the flags')
  })

  it('refuse bad requests with the reason', async () => {
    const a = agents[agents.length - 1]
    for (const [body, reason] of [
      [{ set: { k: 5 } }, /set: expected an object of tag → value strings/],
      [{ delete: 'k' }, /delete: expected an array of tag names/],
      [{ set: { k: 'v' }, delete: ['k'] }, /tag "k" is both set and deleted/],
      [{ set: { big: 'x'.repeat(600) } }, /512|meta|tags/i],
    ] as const) {
      const res = await fetch(url(a, '/v1/tags'), { method: 'POST', body: JSON.stringify(body) })
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80))
      assert.match(((await res.json()) as { error: string }).error, reason)
    }
    const bad = await runCli(['tags', '--set', 'novalue', '--http', a.httpAddress])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--set "novalue": expected KEY=VALUE/)
  })
})
