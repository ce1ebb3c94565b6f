// Whole-cluster claims in the pure harness: virtual time, fixed seeds, encoded bytes on the wire.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RumorHarness } from './rumor-harness.js'

function everyBroadcastReachesEveryLiveNodeOnce(loss: number, seed: number): void {
  const h = new RumorHarness({ nodes: 200, seed, loss })
  h.runUntil(1000)
  const ids = [0, 57, 123, 199].map((origin, i) => h.broadcast(origin, `topic-${i}`, Uint8Array.of(i)))
  h.runUntil(h.nowMs + 300)
  h.crash(42) // a node that dies mid-spread is no longer counted as live
  ids.push(h.broadcast(9, 'late', new Uint8Array(1024)))
  assert.ok(h.runUntilQuiet(60_000), `seed ${seed}: rumor mongering went quiet`)
  h.runUntil(h.nowMs + h.engines[0].config.retainMs) // residue repair
  for (const id of ids) {
    const s = h.stats(id)
    assert.equal(s.extraDeliveries, 0, `seed ${seed}: ${id} delivered twice somewhere`)
    assert.equal(s.reached, h.liveCount, `seed ${seed}: ${id} reached ${s.reached} of ${h.liveCount} live nodes`)
  }
  const t = h.totals()
  assert.equal(t.decodeErrors, 0)
  assert.equal(t.dropped, 0)
}

test('every broadcast reaches every live node of 200 exactly once under the default policy', () => {
  for (const seed of [1, 2, 3]) everyBroadcastReachesEveryLiveNodeOnce(0, seed)
})

test('every broadcast reaches every live node of 200 exactly once under 10% loss', () => {
  for (const seed of [4, 5, 6]) everyBroadcastReachesEveryLiveNodeOnce(0.1, seed)
})

test('each policy combination spreads, and repair completes it', () => {
  for (const mode of ['push', 'pull', 'push-pull'] as const) {
    for (const removal of ['counter', 'coin'] as const) {
      for (const feedback of [true, false]) {
        const policy = `${mode}/${removal}/${feedback ? 'feedback' : 'blind'}`
        for (const repairIntervalMs of [0, 1000]) {
          const h = new RumorHarness({ nodes: 60, seed: 11, loss: 0.05, config: { mode, removal, feedback, k: 4, repairIntervalMs } })
          h.runUntil(500)
          const id = h.broadcast(3, 'smoke', Uint8Array.of(1, 2, 3))
          assert.ok(h.runUntilQuiet(60_000), `${policy}: went quiet`)
          if (repairIntervalMs > 0) h.runUntil(h.nowMs + 10_000)
          const s = h.stats(id)
          assert.equal(s.extraDeliveries, 0, policy)
          if (repairIntervalMs === 0) assert.ok(s.reached >= 30, `${policy}: reached only ${s.reached} of 60 without repair`)
          else assert.equal(s.reached, 60, `${policy}: reached ${s.reached} of 60 with repair`)
        }
      }
    }
  }
})

test('the harness is deterministic for a seed', () => {
  const run = (): string => {
    const h = new RumorHarness({ nodes: 50, seed: 99, loss: 0.1 })
    const id = h.broadcast(0, 't', Uint8Array.of(1))
    h.runUntilQuiet(30_000)
    return JSON.stringify([h.stats(id), h.totals(), h.messages, h.lost])
  }
  assert.equal(run(), run())
})
