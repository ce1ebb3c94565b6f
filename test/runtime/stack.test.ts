// Broadcasts, cluster state and phi between real nodes on loopback (the whole stack over UDP and TCP).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { BroadcastMessage, GrapevineNode } from '../../src/index.js'
import type { StateEvent } from '../../src/state/cluster-state.js'
import { fastNode, seedOf, shutdownAll, waitFor } from './helpers.js'

test('broadcasts reach every node once, state set on one node is read on all, watchers fire, phi is known', { timeout: 60_000 }, async () => {
  const nodes: GrapevineNode[] = []
  try {
    const quick = { broadcast: { gossipIntervalMs: 50 }, state: { roundIntervalMs: 100, exchangeTimeoutMs: 1000 } }
    nodes.push(await fastNode('b1', quick))
    for (const name of ['b2', 'b3', 'b4']) nodes.push(await fastNode(name, { ...quick, join: [seedOf(nodes[0])] }))
    await waitFor('all see four alive', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 4), 15_000)

    const got = new Map<string, string[]>()
    for (const n of nodes) n.on('message', (m: BroadcastMessage) => got.set(n.name, [...(got.get(n.name) ?? []), `${m.name}:${new TextDecoder().decode(m.payload)}:${m.origin}`]))
    const id = nodes[2].broadcast('deploy', 'v42')
    assert.match(id, /^b3\//)
    await waitFor('every node got the broadcast', () => nodes.every((n) => (got.get(n.name) ?? []).length >= 1), 15_000)
    assert.throws(() => nodes[0].broadcast('big', new Uint8Array(5000)), /over the limit/)

    const seen: StateEvent[] = []
    const stop = nodes[3].state.watch('load', (e) => seen.push(e))
    nodes[0].state.set('load', '0.42')
    nodes[0].state.set('role', 'db')
    await waitFor('every node reads b1/load', () => nodes.every((n) => n.state.get('b1', 'load') === '0.42'), 15_000)
    await waitFor('b4 watched it', () => seen.some((e) => e.type === 'keySet' && e.key === 'load' && e.value === '0.42'), 5_000)
    assert.ok(!seen.some((e) => e.type === 'keySet' && e.key === 'role'), 'the prefix filters')
    assert.deepEqual(nodes[0].state.entries(), [['load', '0.42'], ['role', 'db']])
    assert.equal(nodes[0].state.delete('load'), true)
    await waitFor('the delete reached every node', () => nodes.every((n) => n.state.get('b1', 'load') === undefined), 15_000)
    stop()
    await waitFor('b1 has a phi for b2', () => nodes[0].phi('b2') !== undefined, 10_000)
    assert.ok((nodes[0].phi('b2') ?? 99) < 8)
    await new Promise((r) => setTimeout(r, 1000)) // a duplicate delivery would show by now
    for (const n of nodes) assert.deepEqual(got.get(n.name), ['deploy:v42:b3'], n.name)
  } finally {
    await shutdownAll(nodes)
  }
})
