// The Serf layer in the node runtime on loopback: join intents are exchanged, leave() sends the Serf
// leave intent and only afterwards memberlist's dead (so Serf agents record `left`), and serf: false
// gives plain memberlist.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { GrapevineNode } from '../../src/index.js'
import type { SerfLayerEvent } from '../../src/serf/serf-layer.js'
import { fastNode, seedOf, shutdownAll, stateOf, waitFor } from './helpers.js'

test('leave() sends the Serf leave intent before the dead message', async () => {
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('s0'))
    nodes.push(await fastNode('s1', { join: [seedOf(nodes[0])] }))
    const [a, b] = nodes
    const seen: string[] = []
    b.on('serf', (e: SerfLayerEvent) => {
      if (e.type === 'intent') seen.push(`${e.intent}:${e.node}`)
    })
    b.on('member', (e) => {
      if (e.member.name === 's0') seen.push(`${e.type}:s0`)
    })
    await waitFor('s1 sees s0 alive', () => stateOf(b, 's0') === 'alive', 10_000)
    const leaving = a.leave(5000)
    const second = a.leave(5000) // shares the first one's intent
    await Promise.all([leaving, second])
    await waitFor('s1 records s0 left', () => stateOf(b, 's0') === 'left', 10_000, 50, () => seen.join(', '))
    const intent = seen.indexOf('leave:s0')
    assert.ok(intent >= 0 && intent < seen.indexOf('left:s0'), seen.join(', '))
  } finally {
    await shutdownAll(nodes)
  }
})

test('a node with serf: false runs plain memberlist, without Serf messages', async () => {
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('p0', { serf: false }))
    nodes.push(await fastNode('p1', { join: [seedOf(nodes[0])] }))
    const events: SerfLayerEvent[] = []
    nodes[1].on('serf', (e: SerfLayerEvent) => events.push(e))
    await waitFor('p1 sees p0 alive', () => stateOf(nodes[1], 'p0') === 'alive', 10_000)
    await nodes[0].leave(2000)
    await waitFor('p1 records p0 left', () => stateOf(nodes[1], 'p0') === 'left', 10_000)
    assert.deepEqual(events.filter((e) => e.type === 'intent' && e.node === 'p0'), [])
  } finally {
    await shutdownAll(nodes)
  }
})
