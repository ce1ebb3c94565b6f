// Dead probes (deadProbeWindowMs, a departure from memberlist 0.2.2), driven by hand: a member declared
// dead lately is pinged at the probe ticks; its ack (a partition healed) starts a push-pull with it at once.
//
//   tick ──ping──▶ x (held dead)   x ──ack──▶ us ──pushPull══▶ x   (x refutes on seeing itself dead; so do we)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { PingMsg } from '../../src/wire/messages.js'
import { decodeStream } from '../../src/wire/codec.js'
import { DEAD_PROBES_PER_INTERVAL } from '../../src/swim/probe-cycle.js'
import type { SwimConfig } from '../../src/swim/config.js'
import { alive, deliver, newNode, sentMessages } from '../helpers/swim-harness.js'

/** `me` with live a, b and x declared dead at t = 1000 by q. */
function xDead(config: Partial<SwimConfig> = {}) {
  const node = newNode('me', 1, config)
  deliver(node.swim, node.out, 0, alive('a', 1, 3), alive('b', 1, 4), alive('x', 1, 2))
  deliver(node.swim, node.out, 1000, { type: 'dead', incarnation: 1, node: 'x', from: 'q' })
  assert.equal(node.swim.member('x')?.state, 'dead')
  node.out.clear()
  return node
}

const pingsTo = (out: ReturnType<typeof newNode>['out'], ip: string) => sentMessages(out).filter((s) => s.to.ip === ip && s.msg.type === 'ping').map((s) => s.msg as PingMsg)
const pushPulls = (out: ReturnType<typeof newNode>['out']) => out.streams.filter((s) => { const d = decodeStream(s.bytes); return d.ok && d.value.type === 'pushPull' })

test('a member declared dead within the window is pinged at each probe tick, and its ack starts a push-pull with it', () => {
  const { swim, out } = xDead()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 2000, out)
  const [ping] = pingsTo(out, '127.0.0.2')
  assert.ok(ping !== undefined && ping.node === 'x', 'x is pinged although dead')
  assert.equal(swim.stats.deadProbes, 1)
  assert.equal(pushPulls(out).length, 0)
  out.clear()
  deliver(swim, out, 2010, { type: 'ack', seqNo: ping.seqNo, payload: null })
  assert.deepEqual(pushPulls(out).map((s) => s.to.ip), ['127.0.0.2'], 'push-pull with x at once')
  assert.equal(swim.stats.deadProbeAcks, 1)
  assert.equal(swim.stats.probeFailures, 0, 'no probe failed')
})

test('an unanswered dead probe raises nothing and is forgotten at the next tick: a late ack starts no push-pull', () => {
  const { swim, out } = xDead()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 2000, out)
  const [ping] = pingsTo(out, '127.0.0.2')
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 3000, out)
  out.clear()
  deliver(swim, out, 3100, { type: 'ack', seqNo: ping.seqNo, payload: null })
  assert.equal(pushPulls(out).length, 0)
  assert.equal(swim.healthScore, 0, 'local health untouched')
  assert.equal(swim.member('x')?.state, 'dead')
})

test('past the window, or with deadProbeWindowMs 0 (memberlist), a dead member is not pinged', () => {
  const late = xDead({ deadProbeWindowMs: 60_000 })
  late.swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 1000 + 60_001, late.out)
  assert.equal(pingsTo(late.out, '127.0.0.2').length, 0)
  const off = xDead({ deadProbeWindowMs: 0 })
  off.swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 2000, off.out)
  assert.equal(pingsTo(off.out, '127.0.0.2').length, 0)
  assert.equal(off.swim.stats.deadProbes, 0)
})

test('a member that left is not pinged, and a cluster with nobody dead sends no dead probe', () => {
  const { swim, out } = newNode('me', 1)
  deliver(swim, out, 0, alive('a', 1, 3), alive('x', 1, 2))
  for (let t = 1000; t <= 10_000; t += 1000) swim.handleTimer({ kind: 'probeTick', epoch: 0 }, t, out)
  assert.equal(swim.stats.deadProbes, 0)
  deliver(swim, out, 11_000, { type: 'dead', incarnation: 1, node: 'x', from: 'x' })
  assert.equal(swim.member('x')?.state, 'left')
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 12_000, out)
  assert.equal(swim.stats.deadProbes, 0)
})

test(`beyond ${DEAD_PROBES_PER_INTERVAL} live members a node pings the dead on about that many divided by the live count of its ticks`, () => {
  const { swim, out } = newNode('me', 1)
  const live = 4 * DEAD_PROBES_PER_INTERVAL
  for (let i = 0; i < live; i++) deliver(swim, out, 0, alive(`m${i}`, 1, 10 + i))
  deliver(swim, out, 0, alive('x', 1, 2))
  deliver(swim, out, 1000, { type: 'dead', incarnation: 1, node: 'x', from: 'q' })
  const ticks = 2000
  for (let i = 1; i <= ticks; i++) swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 1000 + i * 50, out)
  // Expected share: 16 / 65 live (self included) ≈ 0.246 of the ticks.
  const share = swim.stats.deadProbes / ticks
  assert.ok(share > 0.2 && share < 0.3, `share ${share}`)
})
