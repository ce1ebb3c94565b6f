// membership: 'hyparview' as a mode of the composed node, in the simulator (fixed seeds, virtual time):
// concurrent joins give one symmetric overlay, broadcasts travel over Plumtree with their hop counts,
// neighbour-down events name their cause, cluster state spreads over sampled peers, bad settings are named.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/runtime/sim/simulation.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { ComposedNode } from '../../src/node/node.js'
import { ConfigError } from '../../src/core/errors.js'
import { BroadcastError } from '../../src/gossip/rumor-types.js'
import { resolveNodeSettingsOrThrow } from '../../src/node/settings.js'
import { measureOverlay } from '../../src/runtime/sim/overlay-metrics.js'
import type { NodeSettings } from '../../src/node/settings.js'

const FAST: NodeSettings = {
  membership: 'hyparview',
  overlay: { hyparview: { shuffleIntervalMs: 2000, keepAliveIntervalMs: 500, keepAliveTimeoutMs: 2000, neighborRequestTimeoutMs: 500 } },
  state: { roundIntervalMs: 500 },
}

const nodeOf = (n: SimNode): ComposedNode => n.protocol as ComposedNode

function grown(count: number, seed: number): Simulation {
  const sim = new Simulation({ seed, node: FAST })
  sim.spawn(1)
  // Everyone joins through node 0, spread over 3 s: concurrent joins through one contact.
  sim.spawn(count - 1, { joinSpreadMs: 3000 })
  sim.runFor(20_000)
  return sim
}

function overlayOf(sim: Simulation) {
  const live = sim.nodes.filter((n) => n.live)
  const index = new Map(sim.nodes.map((n) => [`${n.address.ip}:${n.address.port}`, n.index]))
  return measureOverlay(
    {
      n: sim.nodes.length,
      isAlive: (i) => sim.nodes[i].live,
      activeOf: (i) => (nodeOf(sim.nodes[i]).overlay?.hv.activeView() ?? []).map((p) => index.get(p) ?? -1),
      activeViewSize: 5,
    },
    { pathSources: live.length, seed: 1 },
  )
}

test('40 composed nodes joining concurrently through one contact form one symmetric overlay of partial views, without SWIM', () => {
  const sim = grown(40, 11)
  const o = overlayOf(sim)
  assert.equal(o.components, 1)
  assert.equal(o.isolated, 0)
  assert.equal(o.symmetricFraction, 1)
  assert.ok(o.activeSize.min >= 1 && o.activeSize.max <= 5, JSON.stringify(o.activeSize))
  assert.ok(o.fractionAtActiveSize >= 0.8, `only ${o.fractionAtActiveSize} with 5 neighbours`)
  for (const n of sim.nodes) {
    assert.deepEqual(nodeOf(n).overlay!.hv.checkInvariants(), [])
    // No SWIM: the node never learned of any member but itself.
    assert.equal(nodeOf(n).members().filter((m) => m.name !== n.name).length, 0)
    assert.equal(nodeOf(n).stats.probes, 0)
    assert.equal(nodeOf(n).stats.streamsOut, 0)
  }
  const ups = sim.nodes[5].events.filter((e) => e.event.type === 'neighborUp')
  assert.ok(ups.length >= 1)
  const joined = sim.nodes[5].events.find((e) => e.event.type === 'joinCompleted')
  assert.ok(joined !== undefined && joined.event.type === 'joinCompleted' && joined.event.contacted === 1)
})

test('node.broadcast travels over Plumtree: delivered once at every node with its hop count, and later broadcasts cost N − 1 payloads', () => {
  const sim = grown(40, 12)
  const sent: string[] = []
  for (let b = 0; b < 4; b++) {
    sent.push(sim.invoke(sim.nodes[3 + b], (p, now, out) => (p as ComposedNode).broadcast('deploy', Uint8Array.of(b, 7), now, out)))
    sim.runFor(3000)
  }
  for (const n of sim.nodes) {
    const msgs = n.events.flatMap((e) => (e.event.type === 'message' ? [e.event.message] : []))
    assert.deepEqual(msgs.map((m) => m.id).sort(), [...sent].sort(), `${n.name} got ${msgs.length}`)
    for (const m of msgs) {
      assert.equal(m.name, 'deploy')
      assert.equal(m.via, 'grapevine')
      assert.equal(m.hops === 0, m.origin === n.name, `${n.name}: hops ${m.hops} from ${m.origin}`)
    }
  }
  const hops = sim.nodes.flatMap((n) => n.events.flatMap((e) => (e.event.type === 'message' ? [e.event.message.hops] : [])))
  assert.ok(Math.max(...hops) >= 2 && Math.max(...hops) < 15)
  const gossip = (): number => sim.nodes.reduce((s, n) => s + nodeOf(n).overlay!.tree.counters.gossipSent, 0)
  const before = gossip()
  sim.invoke(sim.nodes[20], (p, now, out) => (p as ComposedNode).broadcast('deploy', Uint8Array.of(99), now, out))
  sim.runFor(3000)
  assert.equal(gossip() - before, 39)
})

test('a crashed neighbour is reported down with cause timeout; a leaving one with cause shutdown; the overlay repairs', () => {
  const sim = grown(30, 13)
  const victim = sim.nodes[9]
  const victimId = `${victim.address.ip}:${victim.address.port}`
  const neighbours = sim.nodes.filter((n) => n !== victim && nodeOf(n).overlay!.hv.isActive(victimId))
  assert.ok(neighbours.length >= 1)
  const t0 = sim.nowMs
  sim.crash(victim)
  sim.runFor(5000)
  for (const n of neighbours) {
    const down = n.events.find((e) => e.atMs > t0 && e.event.type === 'neighborDown' && e.event.peer === victimId)
    assert.ok(down !== undefined && down.event.type === 'neighborDown', `${n.name} never saw ${victimId} down`)
    assert.equal(down.event.cause, 'timeout')
  }
  const leaver = sim.nodes[4]
  const leaverId = `${leaver.address.ip}:${leaver.address.port}`
  const around = sim.nodes.filter((n) => n !== leaver && n.live && nodeOf(n).overlay!.hv.isActive(leaverId))
  const t1 = sim.nowMs
  sim.leave(leaver)
  sim.runFor(5000)
  assert.equal(leaver.status, 'left')
  for (const n of around) {
    const down = n.events.find((e) => e.atMs > t1 && e.event.type === 'neighborDown' && e.event.peer === leaverId)
    assert.ok(down !== undefined && down.event.type === 'neighborDown')
    assert.equal(down.event.cause, 'shutdown')
  }
  const o = overlayOf(sim)
  assert.equal(o.components, 1)
  assert.equal(o.symmetricFraction, 1)
})

test('cluster state spreads over sampled overlay peers: a key set on one node reaches every node', () => {
  const sim = grown(30, 14)
  sim.invoke(sim.nodes[17], (p, now, out) => (p as ComposedNode).setKey('version', '1.4.2', now, out))
  sim.runFor(10_000)
  for (const n of sim.nodes) assert.equal(nodeOf(n).clusterState?.get(sim.nodes[17].name, "version"), '1.4.2', n.name)
  const sampled = nodeOf(sim.nodes[2]).samplePeers(3)
  assert.equal(sampled.length, 3)
  assert.ok(sampled.every((p) => /^127\.1\.\d+\.\d+:7946$/.test(p)))
})

test('a payload over Plumtree\'s limit is refused with a BroadcastError naming the setting, and nothing is sent', () => {
  const sim = grown(5, 15)
  assert.throws(
    () => sim.invoke(sim.nodes[1], (p, now, out) => (p as ComposedNode).broadcast('big', new Uint8Array(2000), now, out)),
    (e: unknown) => e instanceof Error && /maxPayloadBytes/.test(e.message) && (e.cause instanceof BroadcastError || e instanceof BroadcastError),
  )
})

test('settings that cannot run without SWIM are named with their fix', () => {
  const bad = (o: NodeSettings): string[] => {
    try {
      resolveNodeSettingsOrThrow(o, { name: 'n', generation: 1 })
      return []
    } catch (e) {
      assert.ok(e instanceof ConfigError)
      return [...e.problems]
    }
  }
  assert.match(bad({ membership: 'hyparview', serf: true }).join('\n'), /serf: .*remove serf: true/)
  assert.match(bad({ membership: 'hyparview', coordinates: true }).join('\n'), /coordinates: /)
  assert.match(bad({ membership: 'mesh' as 'swim' }).join('\n'), /membership: expected 'swim'/)
  assert.match(bad({ overlay: {} }).join('\n'), /only used with membership: 'hyparview'/)
  assert.match(bad({ membership: 'hyparview', overlay: { hyparview: { activeViewSize: 0 } } }).join('\n'), /overlay\.hyparview\.activeViewSize/)
  assert.match(bad({ membership: 'hyparview', overlay: { fanout: 3 } as never }).join('\n'), /overlay\.fanout: not an option/)
  assert.deepEqual(bad({ membership: 'hyparview' }), [])
})

test('a partition longer than the keep-alive timeout splits the overlay in two; after it heals, lost neighbours answer and the two sides join again', () => {
  const sim = grown(40, 16)
  const sideA = sim.nodes.slice(0, 20)
  const sideB = sim.nodes.slice(20)
  sim.split([sideA, sideB])
  sim.runFor(30_000)
  const during = overlayOf(sim)
  assert.equal(during.components, 2, 'each side keeps an overlay of its own')
  assert.equal(during.isolated, 0)
  const crossing = (): number =>
    sideA.reduce((s, n) => s + nodeOf(n).overlay!.hv.activeView().filter((p) => sideB.some((b) => `${b.address.ip}:${b.address.port}` === p)).length, 0)
  assert.equal(crossing(), 0)
  sim.heal()
  sim.runFor(30_000)
  const after = overlayOf(sim)
  assert.equal(after.components, 1, 'the sides joined again')
  assert.equal(after.symmetricFraction, 1)
  assert.ok(crossing() >= 1)
  const reconnects = sim.nodes.reduce((s, n) => s + nodeOf(n).overlay!.hv.counters.reconnects, 0)
  assert.ok(reconnects >= 1 && reconnects <= 40, `${reconnects} reconnects`)
  const id = sim.invoke(sim.nodes[3], (p, now, out) => (p as ComposedNode).broadcast('after-heal', Uint8Array.of(1), now, out))
  sim.runFor(3000)
  for (const n of sim.nodes) assert.ok(n.events.some((e) => e.event.type === 'message' && e.event.message.id === id), `${n.name} missed it`)
})
