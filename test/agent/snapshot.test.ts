import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { lookup } from 'node:dns/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { joinBackoffMs } from '../../src/agent/agent.js'
import { readSnapshot } from '../../src/agent/snapshot.js'
import { gossipAddress, startTestAgent, stopAll, waitFor } from './helpers.js'

describe('agent snapshot', () => {
  const agents: Agent[] = []
  let dir = ''
  after(async () => {
    await stopAll(agents)
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('an agent restarted from its snapshot rejoins without --join', async () => {
    dir = await mkdtemp(join(tmpdir(), 'grapevine-snap-'))
    const file = join(dir, 'b.json')
    const seed = await startTestAgent('seed')
    agents.push(seed)
    const b = await startTestAgent('b', { join: [gossipAddress(seed)], snapshot: file })
    let snap: Awaited<ReturnType<typeof readSnapshot>>
    for (let i = 0; i < 100; i++) {
      snap = await readSnapshot(file)
      if (snap?.members.some((m) => m.name === 'seed')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.deepEqual(snap!.members, [{ name: 'seed', address: gossipAddress(seed) }])
    assert.equal(snap!.name, 'b')
    assert.equal(snap!.left, false)
    assert.ok(snap!.incarnation >= 1)
    const port = b.node.port
    await b.stop({ leave: false }) // a crash, as far as the seed can tell
    const raw = JSON.parse(await readFile(file, 'utf8')) as { left: boolean }
    assert.equal(raw.left, false)

    const again = await startTestAgent('b', { bind: `127.0.0.1:${port}`, snapshot: file })
    agents.push(again)
    await waitFor('the restarted agent knows the seed', () => again.node.members().some((m) => m.name === 'seed' && m.state === 'alive'), 10_000)
  })

  it('after a graceful leave the snapshot is not rejoined', async () => {
    const file = join(dir, 'c.json')
    const seed = agents[0]
    const c = await startTestAgent('c', { join: [gossipAddress(seed)], snapshot: file })
    await waitFor('c knows the seed', () => c.node.members().some((m) => m.name === 'seed'), 10_000)
    await c.stop({ leave: true })
    const snap = await readSnapshot(file)
    assert.equal(snap?.left, true)
    const again = await startTestAgent('c2', { snapshot: file })
    agents.push(again)
    assert.equal(again.info().join && (again.info().join as { seeds: string[] }).seeds.length, 0)
  })

  it('the join backoff doubles and is capped', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => joinBackoffMs(n, 1000)), [1000, 2000, 4000, 8000])
    assert.equal(joinBackoffMs(20, 1000), 30_000)
  })

  it('join retries until a seed appears, and names are resolved', async () => {
    // 'localhost' goes through the resolver on each attempt; the first attempts find nobody listening.
    const probe = await startTestAgent('probe')
    const port = probe.node.port
    await probe.stop({ leave: false })
    const d = await startTestAgent('d', { join: [`localhost:${port}`], joinRetryMax: '0' })
    agents.push(d)
    await waitFor('d retried', () => (d.info().join as { attempts: number }).attempts >= 2, 10_000)
    const { address } = await lookup('localhost')
    const target = await startTestAgent('target', { bind: `${address.includes(':') ? `[${address}]` : address}:${port}` })
    agents.push(target)
    await waitFor('d joined target', () => d.node.members().some((m) => m.name === 'target'), 20_000)
  })

  it('join gives up after the limit', async () => {
    const e = await startTestAgent('e', { join: ['127.0.0.1:9'], joinRetryMax: '2' })
    agents.push(e)
    const reason = await new Promise<string>((r) => e.once('joinFailed', r))
    assert.match(reason, /join failed/)
    assert.equal((e.info().join as { attempts: number }).attempts, 2)
  })
})
