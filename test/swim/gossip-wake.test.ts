// Gossip rounds armed on demand (Swim.wakeGossip): whatever the start time, interval and wake times, including
// fractional ones the simulator's latencies produce, the next round is armed strictly after now and on the cadence
// the node started with. A round armed at `now` itself re-armed forever and froze virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Swim } from '../../src/swim/swim.js'
import { resolveConfig } from '../../src/swim/config.js'
import { SeededRng } from '../../src/core/rng.js'
import { CollectingOutbox } from '../../src/core/effects.js'
import type { SwimEvent } from '../../src/swim/events.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import { addr, alive, deliver } from '../helpers/swim-harness.js'

type GossipTick = Extract<SwimTimer, { kind: 'gossipTick' }>

/** A node whose delegate wants a round at `wantAt(now)`, started at `startMs`. */
function node(startMs: number, intervalMs: number, seed: number, wantAt: (nowMs: number) => number | undefined) {
  const swim = new Swim({
    name: 'me',
    address: addr(1),
    config: resolveConfig({ gossipIntervalMs: intervalMs }),
    rng: new SeededRng(seed),
    delegate: { nextRoundMs: wantAt },
  })
  const out = new CollectingOutbox<SwimTimer, SwimEvent>()
  swim.start(startMs, out)
  return { swim, out }
}

const gossipTicks = (out: CollectingOutbox<SwimTimer, SwimEvent>) =>
  out.timers.filter((t): t is { timer: GossipTick; afterMs: number } => t.timer.kind === 'gossipTick')

test('a delegate that always wants a round gets exactly one round per interval, never two at one instant, from any fractional start', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e7, noNaN: true }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      (startMs, intervalMs, seed) => {
        const { swim, out } = node(startMs, intervalMs, seed, (now) => now)
        let pending = gossipTicks(out).at(-1)
        assert.ok(pending !== undefined, 'start arms the first round')
        let nowMs = startMs + pending.afterMs
        const phase = nowMs
        for (let round = 1; round <= 50; round++) {
          out.clear()
          swim.handleTimer(pending.timer, nowMs, out)
          const ticks = gossipTicks(out)
          assert.equal(ticks.length, 1, `round ${round} arms exactly one next round`)
          pending = ticks[0]!
          assert.ok(pending.afterMs > 0, `round ${round} at ${nowMs} armed the next at +${pending.afterMs}`)
          nowMs += pending.afterMs
          // On the cadence: k whole intervals after the first round (within floating-point error).
          const k = (nowMs - phase) / intervalMs
          assert.ok(Math.abs(k - Math.round(k)) < 1e-6, `round ${round + 1} at ${nowMs} is off the cadence`)
        }
      },
    ),
    { numRuns: 200, seed: 11 },
  )
})

test('a wake at a time a hair under a whole tick arms the round at that tick, not at now', () => {
  // The case that hung: (now − phase) / interval lands just under an integer in floating point.
  fc.assert(
    fc.property(fc.double({ min: 0.001, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 10_000 }), (startMs, intervalMs, k) => {
      let want: number | undefined = undefined
      const { swim, out } = node(startMs, intervalMs, 1, () => want)
      deliver(swim, out, startMs, alive('peer', 1, 2)) // someone to gossip to, so the queue drains
      let pending: { timer: GossipTick; afterMs: number } | undefined = gossipTicks(out)[0]
      const phase = startMs + pending!.afterMs
      let t = startMs
      // Rounds run while the node's own alive is queued, then stop: nothing is wanted any more.
      for (let round = 0; pending !== undefined; round++) {
        assert.ok(round < 100, 'the rounds go idle once the queue is empty')
        t += pending.afterMs
        out.clear()
        swim.handleTimer(pending.timer, t, out)
        pending = gossipTicks(out).at(-1)
      }
      const nowMs = phase + (Math.round((t - phase) / intervalMs) + k) * intervalMs - Number.EPSILON * phase * 4
      want = nowMs
      swim.wakeGossip(nowMs, out)
      const armed = gossipTicks(out)
      assert.equal(armed.length, 1)
      assert.ok(armed[0]!.afterMs > 0, `armed at +${armed[0]!.afterMs}`)
      assert.ok(armed[0]!.afterMs <= intervalMs + 1e-6, 'no later than the next tick')
    }),
    { numRuns: 300, seed: 5 },
  )
})
