// Plumtree's new links once a tree exists: a neighbour that comes up between two nodes already in the
// tree is lazy (an eager one would close a cycle: two payloads more than N − 1 on the next broadcast),
// a node in no tree takes it eager, 'eager' keeps the paper's rule, and a push over a link eager only
// at the sender's end is pruned. In the simulator, the composed node's broadcasts after the first then
// cost exactly N − 1 payloads while the overlay is still adding links.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Plumtree, messageIdOf } from '../../src/overlay/plumtree.js'
import type { PlumtreeConfig } from '../../src/overlay/config.js'
import { resolvePlumtreeConfig } from '../../src/overlay/config.js'
import { decodeOverlayMessage, encodeOverlayMessage, type OverlayMessage } from '../../src/overlay/messages.js'
import { CollectingOverlayOutbox, type PlumtreeEvent, type PlumtreeTimer } from '../../src/overlay/types.js'
import { runOverlayScenario } from '../../src/runtime/sim/overlay-scenario.js'

type Out = CollectingOverlayOutbox<PlumtreeTimer, PlumtreeEvent>

/** Node x with `neighbors` up from the start and, with `first`, one broadcast of its own delivered (x is in a tree). */
function node(neighbors: string[], first: boolean, config: Partial<PlumtreeConfig> = {}): { pt: Plumtree; out: Out } {
  const out: Out = new CollectingOverlayOutbox()
  const pt = new Plumtree({ self: 'x', config })
  neighbors.forEach((n) => pt.neighborUp(n, 0, out))
  if (first) pt.broadcast(Uint8Array.of(1), 0, out)
  out.clear()
  return { pt, out }
}

const sent = (out: Out): Array<{ to: string; m: OverlayMessage }> =>
  out.sent.map((s) => {
    const r = decodeOverlayMessage(s.bytes)
    assert.ok(r.ok)
    return { to: s.to, m: r.value }
  })

test('before any delivery every new neighbour is eager: the first broadcast floods and builds the tree', () => {
  const { pt } = node(['a', 'b', 'c'], false)
  assert.deepEqual(pt.eagerPeers().sort(), ['a', 'b', 'c'])
  assert.deepEqual(pt.lazyPeers(), [])
})

test('once in a tree, a neighbour that comes up is lazy: the next broadcast announces to it and pushes nothing', () => {
  const { pt, out } = node(['a'], true)
  pt.neighborUp('n', 10, out)
  assert.deepEqual(pt.eagerPeers(), ['a'])
  assert.deepEqual(pt.lazyPeers(), ['n'])
  pt.broadcast(Uint8Array.of(2), 20, out)
  pt.handleTimer({ kind: 'ihaveFlush' }, 100, out)
  const toN = sent(out).filter((s) => s.to === 'n')
  assert.ok(toN.length > 0 && toN.every((s) => s.m.kind === 'ihave'), JSON.stringify(toN.map((s) => s.m.kind)))
  assert.ok(sent(out).some((s) => s.to === 'a' && s.m.kind === 'gossip'))
})

test('a node that lost every eager peer takes a new neighbour eager again', () => {
  const { pt, out } = node(['a'], true)
  pt.neighborDown('a')
  pt.neighborUp('n', 10, out)
  assert.deepEqual(pt.eagerPeers(), ['n'])
})

test("newNeighbors 'eager' keeps the paper's rule, and a bad value is refused naming the choices", () => {
  const { pt, out } = node(['a'], true, { newNeighbors: 'eager' })
  pt.neighborUp('n', 10, out)
  assert.deepEqual(pt.eagerPeers().sort(), ['a', 'n'])
  assert.throws(() => resolvePlumtreeConfig({ newNeighbors: 'sometimes' as never }), /newNeighbors: expected 'lazy-in-tree' or 'eager'/)
})

test('a duplicate pushed by a lazy peer is answered with PRUNE, so a link eager at one end only stops pushing', () => {
  const { pt, out } = node(['a'], true)
  const payload = Uint8Array.of(9)
  pt.neighborUp('n', 10, out) // lazy here; suppose n holds us eager
  pt.handleMessage(encodeOverlayMessage({ kind: 'gossip', from: 'a', id: messageIdOf(payload), hops: 1, payload }), 20, out)
  out.clear()
  pt.handleMessage(encodeOverlayMessage({ kind: 'gossip', from: 'n', id: messageIdOf(payload), hops: 3, payload }), 30, out)
  assert.deepEqual(sent(out).map((s) => [s.to, s.m.kind]), [['n', 'prune']])
  assert.equal(pt.counters.duplicates, 1)
})

test('300 composed nodes broadcasting while joins and repairs still add links: lazy new links cost far fewer payloads over N − 1 than eager ones', () => {
  const extra = (newNeighbors: 'eager' | 'lazy-in-tree'): number[] => {
    const report = runOverlayScenario({
      seed: 4,
      nodes: 300,
      joinSpacingMs: 10,
      warmupMs: 3000,
      durationMs: 3000 + 20_000,
      broadcastsPerSec: 1,
      overlay: { hyparview: { keepAliveIntervalMs: 2000, keepAliveTimeoutMs: 0 }, plumtree: { newNeighbors } },
      pathSources: 5,
    })
    assert.ok(report.broadcast.perBroadcast.every((b) => b.reliability === 1), 'every broadcast reached every node')
    return report.broadcast.perBroadcast.slice(1).map((b) => b.payloadMessages - 299)
  }
  const lazy = extra('lazy-in-tree')
  const eager = extra('eager')
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
  const over = (xs: number[]): number => xs.filter((x) => x > 0).length
  // Seed 4 measured: lazy 4 broadcasts over (2 payloads each, 8 in all), eager 10 (2 to 48 each, 72 in all).
  assert.ok(lazy.every((x) => x >= 0) && eager.every((x) => x >= 0))
  assert.ok(2 * over(lazy) <= over(eager), `broadcasts over N − 1: lazy ${over(lazy)}, eager ${over(eager)}`)
  assert.ok(4 * sum(lazy) <= sum(eager), `payloads over N − 1: lazy ${sum(lazy)}, eager ${sum(eager)}`)
})
