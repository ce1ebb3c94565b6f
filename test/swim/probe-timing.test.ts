// Probe timing as memberlist's: the probe ticker keeps its base interval; only a failing probe waits
// its health-scaled deadline. One Swim node driven through a virtual-time loop, its peers answering
// pings (or not) by hand.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CollectingOutbox } from '../../src/core/effects.js'
import { SeededRng } from '../../src/core/rng.js'
import { TimerQueue } from '../../src/core/timer-queue.js'
import type { Address } from '../../src/core/types.js'
import { resolveConfig, type Profile } from '../../src/swim/config.js'
import type { SwimEvent } from '../../src/swim/events.js'
import { Swim } from '../../src/swim/swim.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import { decodePacket, encodeMessage } from '../../src/wire/codec.js'
import type { PacketMessage } from '../../src/wire/messages.js'
import { addr, alive } from '../helpers/swim-harness.js'

type Item = { kind: 'timer'; timer: SwimTimer } | { kind: 'packet'; from: Address; msg: PacketMessage }

/** One node, eight peers, virtual time. Peers ack a ping after 5 ms while `answering` says so. */
class Loop {
  readonly swim: Swim
  readonly queue = new TimerQueue<Item>()
  readonly out = new CollectingOutbox<SwimTimer, SwimEvent>()
  readonly pings: Array<{ atMs: number; node: string }> = []
  readonly health: Array<{ atMs: number; score: number }> = []
  nowMs = 0
  answering = true

  constructor(profile: Profile) {
    this.swim = new Swim({ name: 'me', address: addr(1), config: resolveConfig({}, profile), rng: new SeededRng(7) })
    this.swim.start(0, this.out)
    for (let i = 2; i < 10; i++) this.swim.handlePacket(addr(99), encodeMessage(alive(`p${i}`, 1, i)), 0, this.out)
    this.drain()
  }

  /** Messages about ourselves at our incarnation: each refutation costs one health point. */
  raiseHealthTo(score: number): void {
    while (this.swim.healthScore < score) {
      this.swim.handlePacket(addr(99), encodeMessage({ type: 'suspect', incarnation: this.swim.incarnation, node: 'me', from: 'p2' }), this.nowMs, this.out)
    }
    this.drain()
  }

  runUntil(endMs: number): void {
    for (;;) {
      const next = this.queue.peek()
      if (next === undefined || next.dueAtMs > endMs) break
      this.queue.pop()
      this.nowMs = next.dueAtMs
      if (next.item.kind === 'timer') this.swim.handleTimer(next.item.timer, this.nowMs, this.out)
      else this.swim.handlePacket(next.item.from, encodeMessage(next.item.msg), this.nowMs, this.out)
      this.drain()
    }
    this.nowMs = endMs
  }

  drain(): void {
    for (const t of this.out.timers) this.queue.push(this.nowMs + t.afterMs, { kind: 'timer', timer: t.timer })
    for (const e of this.out.events) if (e.type === 'health') this.health.push({ atMs: this.nowMs, score: e.score })
    for (const p of this.out.packets) {
      for (const msg of decodePacket(p.bytes).messages) {
        if (msg.type !== 'ping') continue
        this.pings.push({ atMs: this.nowMs, node: msg.node })
        if (this.answering) this.queue.push(this.nowMs + 5, { kind: 'packet', from: p.to, msg: { type: 'ack', seqNo: msg.seqNo, payload: null } })
      }
    }
    this.out.clear()
  }
}

test('a node at health score k returns to 0 after k successful probes, within k base probe intervals, as memberlist does', () => {
  // memberlist: the ticker fires every ProbeInterval and each acked probe lowers the score by one, so
  // the score falls by one a tick: 4 → 0 in at most 4 intervals (about 4 s on LAN; scaling the
  // ticker by health, as before, took 5 + 4 + 3 + 2 = 14 intervals at worst, about 12 s measured).
  const rows: Array<{ profile: Profile; score: number; intervalMs: number }> = [
    { profile: 'lan', score: 1, intervalMs: 1000 },
    { profile: 'lan', score: 2, intervalMs: 1000 },
    { profile: 'lan', score: 4, intervalMs: 1000 },
    { profile: 'lan', score: 7, intervalMs: 1000 },
    { profile: 'wan', score: 4, intervalMs: 5000 },
    { profile: 'local', score: 4, intervalMs: 1000 },
  ]
  for (const row of rows) {
    const loop = new Loop(row.profile)
    assert.equal(loop.swim.config.probeIntervalMs, row.intervalMs, `${row.profile} probe interval`)
    loop.runUntil(10_000)
    const fromMs = loop.nowMs
    loop.raiseHealthTo(row.score)
    assert.equal(loop.swim.healthScore, row.score)
    loop.runUntil(fromMs + 20 * row.intervalMs)
    const zero = loop.health.find((h) => h.atMs > fromMs && h.score === 0)
    assert.ok(zero, `${row.profile}: the score returned to 0`)
    const recoveryMs = zero.atMs - fromMs
    const label = `${row.profile}, score ${row.score}: recovered in ${recoveryMs} ms`
    assert.ok(recoveryMs <= row.score * row.intervalMs + 5, `${label}; memberlist takes at most ${row.score} intervals`)
    assert.ok(recoveryMs > (row.score - 1) * row.intervalMs, `${label}; one probe a tick, never faster`)
    const probes = loop.pings.filter((p) => p.atMs > fromMs && p.atMs <= zero.atMs)
    assert.equal(probes.length, row.score, `${label}: one probe per point`)
  }
})

test('a failing probe in poor health holds the next tick until its scaled deadline, then the held probe starts at once', () => {
  const loop = new Loop('lan')
  loop.runUntil(10_000)
  loop.raiseHealthTo(4)
  loop.answering = false
  const before = loop.pings.length
  loop.runUntil(loop.nowMs + 1000)
  const first = loop.pings[before]
  assert.ok(first !== undefined, 'a probe started within one interval')
  // The deadline is the interval scaled by (score + 1) = 5 s; the ticks in between are held, not run.
  loop.runUntil(first.atMs + 5000 - 1)
  assert.equal(loop.pings.length, before + 1, 'no second probe while the first is running')
  loop.answering = true
  loop.runUntil(first.atMs + 5000)
  const second = loop.pings[before + 1]
  assert.ok(second !== undefined, 'the held tick started a probe')
  assert.equal(second.atMs, first.atMs + 5000, 'the held probe starts the moment the failed one ends')
  // It is acked, and the ticker's own cadence takes over again: the next probe at the next base tick.
  loop.runUntil(second.atMs + 1000)
  const third = loop.pings[before + 2]
  assert.ok(third !== undefined && third.atMs - second.atMs <= 1000, 'the next probe comes within one base interval')
  loop.runUntil(third.atMs + 4000)
  const times = loop.pings.slice(before + 3).map((p) => p.atMs)
  const gaps = times.slice(1, 4).map((t, i) => t - times[i])
  assert.deepEqual(gaps, [1000, 1000, 1000], 'then one probe every base interval, unscaled by the health score')
})

test('a tick held by a running probe starts no probe once the node is leaving', () => {
  const loop = new Loop('lan')
  loop.runUntil(10_000)
  loop.answering = false
  loop.runUntil(loop.nowMs + 1000)
  const started = loop.pings.length
  loop.runUntil(loop.nowMs + 700) // the probe is running; the next tick is held
  loop.swim.leave(loop.nowMs, loop.out)
  loop.drain()
  loop.runUntil(loop.nowMs + 3000)
  assert.equal(loop.pings.filter((p) => p.atMs > 0).length, started, 'no probe after leave()')
})
