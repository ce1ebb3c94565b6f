// Quiet when quiet, in timers: a timer that would do nothing (an answered probe's timeout, a gossip round
// re-armed later) is dropped unfired by both runtimes, and a quiet state round is taken on a SWIM packet
// that leaves anyway instead of a timer of its own. Each fired timer is a wake-up of a real node's event
// loop. Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stackCluster } from '../helpers/stack-cluster.js'
import { alive, deliver, expectTimer, newNode } from '../helpers/swim-harness.js'
import type { ComposedNode } from '../../src/node/index.js'

test('an answered probe timeout is not live, an unanswered one is, and a stopped node has no live timers', () => {
  const { swim, out } = newNode('me', 1)
  deliver(swim, out, 0, alive('peer', 1, 2))
  out.clear()
  const tick = { kind: 'probeTick' as const, epoch: 0 }
  swim.handleTimer(tick, 1000, out)
  const { timer } = expectTimer(out, 'probeTimeout')
  assert.equal(swim.timerIsLive(timer), true, 'before the ack, the timeout would send indirect probes')
  deliver(swim, out, 1001, { type: 'ack', seqNo: timer.seqNo, payload: null })
  assert.equal(swim.timerIsLive(timer), false, 'after the ack, it would do nothing')
  assert.equal(swim.timerIsLive({ kind: 'probeDeadline', seqNo: timer.seqNo }), false)
  assert.equal(swim.timerIsLive(tick), true, 'the probe ticker stays live')
  swim.shutdown()
  assert.equal(swim.timerIsLive(tick), false)
})

test('a quiet full-stack node wakes for about one timer a second (was three) while heartbeats keep feeding phi', () => {
  const c = stackCluster(5, 24)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  c.sim.runFor(30_000)
  const count = (f: 'timersFired' | 'timersSkipped'): number => c.nodes.reduce((t, n) => t + n.counters[f], 0)
  const [fired0, skipped0, packets0] = [count('timersFired'), count('timersSkipped'), c.sim.stats.packetsSent]
  const rounds = (): number => c.nodes.reduce((t, n) => t + c.stacks.get(n.name)!.state.counters.rounds, 0)
  const rounds0 = rounds()
  c.sim.runFor(60_000)
  const perNodeSecond = (x: number): number => x / c.nodes.length / 60
  const fired = perNodeSecond(count('timersFired') - fired0)
  const skipped = perNodeSecond(count('timersSkipped') - skipped0)
  assert.ok(fired < 1.4, `timers fired per node and second: ${fired.toFixed(2)}`)
  assert.ok(skipped > 0.9, `answered probe timeouts dropped unfired: ${skipped.toFixed(2)} per node and second`)
  assert.ok(Math.abs(perNodeSecond(c.sim.stats.packetsSent - packets0) - 2) < 0.2, 'packets are SWIM pings and acks only')
  // The state round still comes once a second (heartbeat), taken on rides.
  const roundRate = perNodeSecond(rounds() - rounds0)
  assert.ok(roundRate > 0.95 && roundRate <= 1.01, `state rounds per node and second: ${roundRate.toFixed(3)}`)
  const watcher = c.nodes[0]
  const stackOf = (n: (typeof c.nodes)[number]): ComposedNode => c.nodeOf(n)
  for (const n of c.nodes.slice(1)) {
    const phi = stackOf(watcher).stack!.phi.phi(n.name, c.sim.nowMs)
    assert.ok(phi !== undefined && phi < 3, `phi of live ${n.name} = ${phi}`)
  }
  const victim = c.nodes[7]
  c.sim.crash(victim)
  c.sim.runFor(15_000)
  const phi = stackOf(watcher).stack!.phi.phi(victim.name, c.sim.nowMs)
  assert.ok(phi !== undefined && phi >= 8, `phi of the crashed ${victim.name} 15 s later = ${phi}`)
})

test('a write from quiet still spreads at full fanout: its node turns busy at once and the round is not put off', () => {
  const c = stackCluster(9, 24)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000), 'membership converged')
  c.sim.runFor(30_000)
  const owner = c.nodes[3]
  const v = c.set(owner, 'k', 'v')
  const start = c.sim.nowMs
  const everywhere = (): boolean => c.nodes.every((n) => (c.stateOf(n).digestOf(owner.name)?.maxVersion ?? 0) >= v)
  assert.ok(c.sim.runUntil(everywhere, 10_000, { checkEveryMs: 100 }), 'the write reached every node')
  assert.ok(c.sim.nowMs - start <= 3_000, `spread in ${c.sim.nowMs - start} ms`)
})

