// Bad options fail at start with errors naming the field; junk from the network is counted as dropped
// and the node carries on; IPv6 loopback works where the machine has it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import net from 'node:net'
import os from 'node:os'
import type { GrapevineNode } from '../../src/index.js'
import { ConfigError, decodeTags, encodeTags, startNode } from '../../src/index.js'
import { fastNode, seedOf, shutdownAll, stateOf, view, waitFor } from './helpers.js'

async function rejectsNaming(options: unknown, ...fragments: string[]): Promise<void> {
  await assert.rejects(startNode(options as never), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`)
    for (const f of fragments) assert.ok(e.message.includes(f), `message lacks ${JSON.stringify(f)}:\n${e.message}`)
    return true
  })
}

test('bad options throw config errors naming the field and the fix', async () => {
  await rejectsNaming({ bind: 'x' }, 'bind: expected HOST:PORT with an IP literal like 127.0.0.1:7946', '"x"')
  await rejectsNaming({ bind: 'localhost:7946' }, 'bind:', '"localhost:7946"')
  await rejectsNaming({ bind: '127.0.0.1:70000' }, 'bind:')
  await rejectsNaming({ bind: '127.0.0.1:0', advertise: '0.0.0.0:1' }, 'advertise:')
  await rejectsNaming({ bind: '127.0.0.1:0', name: '' }, 'name:')
  await rejectsNaming({ bind: '127.0.0.1:0', join: '127.0.0.1:1' }, 'join:')
  await rejectsNaming({ bind: '127.0.0.1:0', profile: 'fast' }, "profile: expected 'lan', 'wan' or 'local'")
  await rejectsNaming({ bind: '127.0.0.1:0', config: { probeIntervalMs: -1 } }, 'config.probeIntervalMs must be an integer')
  await rejectsNaming({ bind: '127.0.0.1:0', config: { probeIntervalMs: 100, probeTimeoutMs: 500 } }, 'config.probeTimeoutMs (500) must be smaller than probeIntervalMs')
  await rejectsNaming({ bind: '127.0.0.1:0', config: { probeIntervl: 100 } }, 'config.probeIntervl is not a configuration field')
  await rejectsNaming({ bind: '127.0.0.1:0', tags: { role: 5 } }, 'tags.role: expected a string value')
  await rejectsNaming({ bind: '127.0.0.1:0', tags: { big: 'x'.repeat(600) } }, 'tags: encoded tags take', 'the limit is 509')
  await rejectsNaming({ bind: '127.0.0.1:0', broadcast: { fanout: 0 } }, 'broadcast.fanout')
  await rejectsNaming({ bind: '127.0.0.1:0', state: { roundIntervalMs: -1 } }, 'state.roundIntervalMs')
  await rejectsNaming({ bind: '127.0.0.1:0', phi: { threshold: 0 } }, 'phi.threshold')
  await rejectsNaming({ bind: '127.0.0.1:0', generation: -5 }, 'generation: expected a non-negative integer')
  await rejectsNaming({ bind: '127.0.0.1:0', bnid: '1.2.3.4:5' }, 'bnid: not an option of startNode')
  // Every problem at once, not the first one only.
  await rejectsNaming({ bind: 'x', profile: 'fast', tags: { a: 1 } }, 'bind:', 'profile:', 'tags.a:')
})

test('tags encode as Serf encodes them, and plain metadata reads as a role', () => {
  const meta = encodeTags({ role: 'web', dc: 'east' })
  assert.equal(meta[0], 0xff)
  assert.deepEqual(decodeTags(meta), { role: 'web', dc: 'east' })
  assert.deepEqual(decodeTags(new TextEncoder().encode('db')), { role: 'db' })
  assert.deepEqual(decodeTags(Uint8Array.of(0xff, 0x81, 0xc1)), {})
})

test('garbage datagrams and a garbage stream are dropped, and the node keeps working', async () => {
  const nodes: GrapevineNode[] = []
  const sock = dgram.createSocket('udp4')
  try {
    nodes.push(await fastNode('g0'))
    nodes.push(await fastNode('g1', { join: [seedOf(nodes[0])] }))
    const target = nodes[0]
    const droppedBefore = [...target.stats().dropped.values()].reduce((a, b) => a + b, 0)
    const drops: string[] = []
    target.on('event', (e) => {
      if (e.type === 'dropped') drops.push(e.reason)
    })
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()))
    const junk = [Buffer.from([0xff, 1, 2, 3]), Buffer.from('hello, gossip'), Buffer.from([2, 0x81]), Buffer.alloc(0), Buffer.alloc(2000, 0xee)]
    for (const j of junk) sock.send(j, target.port, '127.0.0.1')
    // A stream of junk that can never frame, one that stops mid-message, and one that says nothing.
    for (const bytes of [Buffer.from([0x77, 0x77, 0x77]), Buffer.from([6, 0x83]), Buffer.alloc(0)]) {
      await new Promise<void>((resolve) => {
        const c = net.connect(target.port, '127.0.0.1', () => c.end(bytes))
        c.on('error', () => resolve())
        c.on('close', () => resolve())
        c.resume()
      })
    }
    await waitFor('the junk is counted as dropped', () => {
      const total = [...target.stats().dropped.values()].reduce((a, b) => a + b, 0)
      return total - droppedBefore >= 6
    }, 10_000, 50, () => `dropped: ${JSON.stringify([...target.stats().dropped])}`)
    assert.ok(drops.length >= 6, `dropped events: ${drops.join(', ')}`)
    // Still working: a new node joins through it and everyone converges.
    nodes.push(await fastNode('g2', { join: [seedOf(target)] }))
    await waitFor('three alive everywhere', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 3), 30_000, 100, () => view(nodes))
  } finally {
    sock.close()
    await shutdownAll(nodes)
  }
})

function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((i) => i.family === 'IPv6' && i.address === '::1'))
}

test('nodes on the IPv6 loopback join and see each other', async (t) => {
  if (!hasIpv6Loopback()) {
    t.skip('this machine has no IPv6 loopback (::1); IPv6 is not tested here')
    return
  }
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('v6-0', { bind: '[::1]:0', tags: { family: 'v6' } }))
    assert.equal(seedOf(nodes[0]), `[::1]:${nodes[0].port}`)
    nodes.push(await fastNode('v6-1', { bind: '[::1]:0', join: [seedOf(nodes[0])] }))
    nodes.push(await fastNode('v6-2', { bind: '[::1]:0', join: [seedOf(nodes[1])] }))
    await waitFor('three alive everywhere over IPv6', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 3), 30_000, 100, () => view(nodes))
    assert.deepEqual(nodes[2].members().find((m) => m.name === 'v6-0')?.tags, { family: 'v6' })
    assert.equal(nodes[2].members().find((m) => m.name === 'v6-0')?.address.ip, '::1')
    await nodes[0].shutdown()
    await waitFor('v6-0 marked failed', () => stateOf(nodes[1], 'v6-0') === 'dead', 30_000, 100, () => view(nodes.slice(1)))
  } finally {
    await shutdownAll(nodes)
  }
})

test('a dual-stack node reaches IPv4 peers through mapped addresses', async (t) => {
  if (!hasIpv6Loopback()) {
    t.skip('this machine has no IPv6 loopback (::1); dual stack is not tested here')
    return
  }
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('v4', { bind: '127.0.0.1:0' }))
    // Bound to the IPv6 wildcard, advertising IPv4 loopback: its packets go out IPv4-mapped.
    const dual = await startNode({ name: 'dual', bind: '[::]:0', advertise: '127.0.0.1', profile: 'local', config: { probeIntervalMs: 200, probeTimeoutMs: 80, gossipIntervalMs: 50 } })
    nodes.push(dual)
    assert.equal(await dual.join([`[::ffff:127.0.0.1]:${nodes[0].port}`]), 1)
    await waitFor('both alive on both', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 2), 30_000, 100, () => view(nodes))
    assert.equal(nodes[0].members().find((m) => m.name === 'dual')?.address.ip, '127.0.0.1')
  } finally {
    await shutdownAll(nodes)
  }
})
