// Real sockets on 127.0.0.1: clusters of a few nodes join, detect a crash, see a leave, and the
// process exits by itself after shutdown. Every wait is bounded; no test asserts a duration.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { GrapevineNode, MemberEvent } from '../../src/index.js'
import { JoinError } from '../../src/index.js'
import { fastNode, seedOf, shutdownAll, stateOf, view, waitFor } from './helpers.js'

test('four nodes join through one and all see each other alive, with tags', async () => {
  const nodes: GrapevineNode[] = []
  try {
    const first = await fastNode('n0', { tags: { role: 'seed', zone: 'a' } })
    nodes.push(first)
    for (let i = 1; i < 4; i++) {
      const n = await fastNode(`n${i}`, { tags: { role: 'worker', index: String(i) } })
      nodes.push(n)
      assert.equal(await n.join([seedOf(first)]), 1)
    }
    await waitFor('every node sees four alive members', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 4), 30_000, 100, () => view(nodes))
    for (const n of nodes) {
      const byName = new Map(n.members().map((m) => [m.name, m]))
      assert.deepEqual(byName.get('n0')?.tags, { role: 'seed', zone: 'a' })
      for (let i = 1; i < 4; i++) assert.deepEqual(byName.get(`n${i}`)?.tags, { role: 'worker', index: String(i) })
    }
    assert.deepEqual(nodes[2].localMember().tags, { role: 'worker', index: '2' })
  } finally {
    await shutdownAll(nodes)
  }
})

test('changed tags reach the others as an updated event', async () => {
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('t0', { tags: { v: '1' } }))
    nodes.push(await fastNode('t1', { join: [seedOf(nodes[0])] }))
    const seen: MemberEvent[] = []
    nodes[1].on('member', (e) => seen.push(e))
    await waitFor('t1 sees t0 alive', () => stateOf(nodes[1], 't0') === 'alive')
    nodes[0].setTags({ v: '2' })
    await waitFor('t1 sees the new tags of t0', () => nodes[1].members().find((m) => m.name === 't0')?.tags.v === '2')
    assert.ok(seen.some((e) => e.type === 'updated' && e.member.name === 't0' && e.member.tags.v === '2'))
  } finally {
    await shutdownAll(nodes)
  }
})

test('a node shut down without leaving is marked failed by the others', async () => {
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('c0'))
    for (let i = 1; i < 3; i++) nodes.push(await fastNode(`c${i}`, { join: [seedOf(nodes[0])] }))
    await waitFor('all three see each other alive', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 3), 30_000, 100, () => view(nodes))
    const failed: string[] = []
    nodes[0].on('member', (e) => {
      if (e.type === 'failed') failed.push(e.member.name)
    })
    await nodes[2].shutdown()
    await waitFor('c0 and c1 mark c2 failed', () => stateOf(nodes[0], 'c2') === 'dead' && stateOf(nodes[1], 'c2') === 'dead', 30_000, 100, () => view(nodes.slice(0, 2)))
    assert.deepEqual(failed, ['c2'])
    assert.equal(stateOf(nodes[0], 'c1'), 'alive')
  } finally {
    await shutdownAll(nodes)
  }
})

test('a graceful leave is seen as left', async () => {
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('l0'))
    for (let i = 1; i < 3; i++) nodes.push(await fastNode(`l${i}`, { join: [seedOf(nodes[0])] }))
    await waitFor('all three see each other alive', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 3), 30_000, 100, () => view(nodes))
    const events: string[] = []
    nodes[1].on('member', (e) => events.push(`${e.type}:${e.member.name}`))
    await nodes[2].leave(5000)
    await nodes[2].shutdown()
    await waitFor('l0 and l1 see l2 left', () => stateOf(nodes[0], 'l2') === 'left' && stateOf(nodes[1], 'l2') === 'left', 30_000, 100, () => view(nodes.slice(0, 2)))
    assert.ok(events.includes('left:l2'), `events: ${events.join(', ')}`)
    assert.ok(!events.includes('failed:l2'), `a leave must not be reported as a failure: ${events.join(', ')}`)
  } finally {
    await shutdownAll(nodes)
  }
})

test('join rejects with a JoinError when no seed answers', async () => {
  const lonely = await fastNode('lonely')
  const closed = await fastNode('closed')
  const port = closed.port
  await closed.shutdown()
  try {
    await assert.rejects(lonely.join([`127.0.0.1:${port}`]), (e: unknown) => {
      assert.ok(e instanceof JoinError, String(e))
      assert.match(e.message, /no seed answered/)
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
      return true
    })
    assert.equal(stateOf(lonely, 'lonely'), 'alive')
  } finally {
    await lonely.shutdown()
  }
})

test('a process that starts, joins, leaves and shuts down two nodes exits by itself', async () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'two-nodes-child.js')
  const child = spawn(process.execPath, [script, '--run'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  let killed = false
  const limit = setTimeout(() => {
    killed = true
    child.kill('SIGKILL')
  }, 45_000)
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  clearTimeout(limit)
  assert.equal(killed, false, `the child did not exit by itself within 45 s after shutdown; output:\n${output}`)
  assert.equal(code, 0, `child output:\n${output}`)
  assert.match(output, /child: shut down/)
})
