// membership: 'hyparview' on real sockets: 50 nodes on loopback (UDP) form one symmetric overlay of
// partial views, a broadcast reaches every node over Plumtree with its hop count, a key set on one node
// reaches every node over sampled peers, and a node that shuts down is reported down with cause
// `shutdown` by each of its neighbours. Generous bounds; every wait is a bounded poll.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { BroadcastMessage, GrapevineNode, NodeOptions, OverlayNodeEvent } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import { seedOf, shutdownAll, waitFor } from '../runtime/helpers.js'

const COUNT = 50

const options = (name: string): NodeOptions => ({
  name,
  bind: '127.0.0.1:0',
  profile: 'local',
  membership: 'hyparview',
  overlay: { hyparview: { shuffleIntervalMs: 2000, keepAliveIntervalMs: 500, keepAliveTimeoutMs: 3000, neighborRequestTimeoutMs: 1000 } },
  state: { roundIntervalMs: 300 },
})

/** Every active link has its reverse, and every node is reachable from node 0 over active links. */
function overlayProblems(nodes: readonly GrapevineNode[]): string[] {
  const byId = new Map(nodes.map((n) => [seedOf(n), n]))
  const problems: string[] = []
  for (const n of nodes) {
    const active = n.overlay()!.active
    if (active.length === 0) problems.push(`${n.name} has no neighbour`)
    for (const p of active) if (!byId.get(p)?.overlay()!.active.includes(seedOf(n))) problems.push(`${n.name} → ${p} is one-sided`)
  }
  const seen = new Set([seedOf(nodes[0])])
  const stack = [seedOf(nodes[0])]
  while (stack.length > 0) for (const p of byId.get(stack.pop()!)?.overlay()!.active ?? []) if (!seen.has(p) && byId.has(p)) seen.add(p), stack.push(p)
  if (seen.size !== nodes.length) problems.push(`only ${seen.size} of ${nodes.length} reachable`)
  return problems
}

test(`${COUNT} nodes in hyparview mode on loopback: one symmetric overlay, broadcasts over Plumtree, state over sampled peers, shutdown announced`, { timeout: 120_000 }, async () => {
  const nodes: GrapevineNode[] = []
  const messages = new Map<string, BroadcastMessage[]>()
  const neighborEvents = new Map<string, OverlayNodeEvent[]>()
  try {
    for (let i = 0; i < COUNT; i++) {
      const n = await startNode(options(`hv-${i}`))
      messages.set(n.name, [])
      neighborEvents.set(n.name, [])
      n.on('message', (m) => messages.get(n.name)!.push(m))
      n.on('neighbor', (e) => neighborEvents.get(n.name)!.push(e))
      nodes.push(n)
      // Each joins through a random earlier node (the first through nobody); join resolves at the first neighbour.
      if (i > 0) assert.equal(await n.join([seedOf(nodes[Math.floor(Math.random() * i)])]), 1)
    }
    await waitFor('the overlay is one symmetric component', () => overlayProblems(nodes).length === 0, 60_000, 200, () => overlayProblems(nodes).join('\n'))
    for (const n of nodes) {
      const o = n.overlay()!
      assert.ok(o.active.length >= 1 && o.active.length <= 5)
      assert.equal(n.members().filter((m) => m.name !== n.name).length, 0, 'no SWIM membership')
    }

    const id = nodes[17].broadcast('release', 'v2.3.0')
    await waitFor('every node delivered the broadcast', () => nodes.every((n) => messages.get(n.name)!.some((m) => m.id === id)), 30_000)
    for (const n of nodes) {
      const got = messages.get(n.name)!.filter((m) => m.id === id)
      assert.equal(got.length, 1, `${n.name} delivered it ${got.length} times`)
      assert.equal(new TextDecoder().decode(got[0].payload), 'v2.3.0')
      assert.equal(got[0].origin, 'hv-17')
      assert.equal(got[0].hops === 0, n === nodes[17])
    }

    nodes[31].state.set('role', 'edge')
    await waitFor('every node holds hv-31\'s key', () => nodes.every((n) => n.state.get('hv-31', 'role') === 'edge'), 30_000)

    const leaver = nodes[8]
    const leaverId = seedOf(leaver)
    const around = nodes.filter((n) => n.overlay()!.active.includes(leaverId))
    const before = new Map(nodes.map((n) => [n.name, neighborEvents.get(n.name)!.length]))
    await leaver.leave(5000)
    await leaver.shutdown()
    const rest = nodes.filter((n) => n !== leaver)
    const downs = (n: GrapevineNode) => neighborEvents.get(n.name)!.slice(before.get(n.name)).filter((e) => e.type === 'neighborDown' && e.peer === leaverId)
    await waitFor('its neighbours saw it leave', () => around.every((n) => downs(n).length > 0), 15_000)
    for (const n of around) assert.deepEqual(downs(n).map((e) => (e.type === 'neighborDown' ? e.cause : '')), ['shutdown'])
    await waitFor('the overlay repaired', () => overlayProblems(rest).length === 0, 30_000, 200, () => overlayProblems(rest).join('\n'))
  } finally {
    await shutdownAll(nodes)
  }
})
