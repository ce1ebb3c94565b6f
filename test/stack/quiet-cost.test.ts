// What a quiet or lossy cluster costs beyond SWIM: quiet state Syns with residue heartbeats
// (StateConfig.compactHeartbeats) against whole heartbeats after ten minutes of uptime (heartbeats past
// 255, 2–3 bytes each as msgpack integers), cluster state left out of the periodic push-pulls
// (StateConfig.pushPullState), and suspicions under loss that no longer make the rounds busy
// (stack/protocols.ts, MemberStates). Fixed seeds, virtual time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stackCluster } from '../helpers/stack-cluster.js'
import { StateProtocol } from '../../src/stack/protocols.js'
import { StateReconciler } from '../../src/state/reconcile.js'
import { PhiAccrualRegistry } from '../../src/state/phi.js'
import { SeededRng } from '../../src/core/rng.js'
import type { StateConfig } from '../../src/state/config.js'

interface Run {
  readonly bytesPerNodeSecond: number
  readonly livePhiMax: number
  /** Ms from a crash until phi of the victim is ≥ 8 at every other node. */
  readonly crossedAllMs: number
}

function run(compactHeartbeats: boolean): Run {
  const n = 16
  const c = stackCluster(17, n, { node: { state: { compactHeartbeats } } })
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000))
  c.sim.runFor(600_000) // ten minutes: heartbeats near 600, 3 bytes each when whole
  const bytes0 = c.sim.stats.bytesSent
  let livePhiMax = 0
  for (let t = 0; t < 30; t++) {
    c.sim.runFor(1_000)
    for (const w of c.nodes) for (const m of c.nodes) if (m !== w) livePhiMax = Math.max(livePhiMax, c.stacks.get(w.name)!.phi.phi(m.name, c.sim.nowMs) ?? 0)
  }
  const bytesPerNodeSecond = (c.sim.stats.bytesSent - bytes0) / n / 30
  const victim = c.nodes[5]
  const watchers = c.nodes.filter((x) => x !== victim)
  const start = c.sim.nowMs
  c.sim.crash(victim)
  const crossed = c.sim.runUntil(() => watchers.every((w) => (c.stacks.get(w.name)!.phi.phi(victim.name, c.sim.nowMs) ?? 0) >= 8), 60_000, { checkEveryMs: 100 })
  assert.ok(crossed, 'phi of the crashed node crosses 8 everywhere')
  return { bytesPerNodeSecond, livePhiMax, crossedAllMs: c.sim.nowMs - start }
}

test('after ten minutes of uptime, residue heartbeats cut the quiet bytes, keep phi of live members low and accuse a crash as fast as whole heartbeats', (t) => {
  const whole = run(false)
  const compact = run(true)
  const detail = `compact ${JSON.stringify(compact)}, whole ${JSON.stringify(whole)}`
  t.diagnostic(detail)
  // About 1.9 Syns a second, each with 16 heartbeats 2 bytes shorter: some 60 B per node and second.
  assert.ok(compact.bytesPerNodeSecond < whole.bytesPerNodeSecond - 40, detail)
  assert.ok(compact.livePhiMax < 3 && whole.livePhiMax < 3, detail)
  assert.ok(compact.crossedAllMs <= whole.crossedAllMs + 1_000, detail)
})

function protocol(config: Partial<StateConfig>): StateProtocol {
  const reconciler = new StateReconciler({ self: 'a', generation: 1, rng: new SeededRng(1), config })
  reconciler.state.set('k', 'v')
  return new StateProtocol(reconciler, new SeededRng(2), new PhiAccrualRegistry(), () => {})
}

test('a periodic push-pull carries no cluster state and a join’s carries all of it; pushPullState always, or rounds off, keep it in every one', () => {
  const join = protocol({})
  assert.ok((join.localState(true)?.length ?? 0) > 0, 'a join gets the full state')
  assert.equal(join.localState(false), undefined, 'a periodic exchange does not')
  assert.ok((protocol({ pushPullState: 'always' }).localState(false)?.length ?? 0) > 0, 'always: every exchange')
  assert.ok((protocol({ roundIntervalMs: 0 }).localState(false)?.length ?? 0) > 0, 'no rounds: push-pull is all there is')
})

test('with cluster state left out of periodic push-pulls, a node cut off for a minute still catches up on every write after the heal', () => {
  const c = stackCluster(29, 12)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000))
  c.sim.runFor(10_000)
  const victim = c.nodes[4]
  const others = c.nodes.filter((x) => x !== victim)
  c.sim.partition(others, [victim])
  c.sim.runFor(5_000)
  const versions = others.slice(0, 6).map((o, i) => [o.name, c.set(o, `k${i}`, 'v')] as const)
  c.sim.runFor(55_000)
  c.sim.heal()
  const healed = c.sim.nowMs
  const caughtUp = (): boolean => versions.every(([name, v]) => (c.stateOf(victim).digestOf(name)?.maxVersion ?? 0) >= v)
  assert.ok(c.sim.runUntil(caughtUp, 30_000, { checkEveryMs: 100 }), 'the victim holds every write')
  assert.ok(c.sim.nowMs - healed < 15_000, `caught up ${c.sim.nowMs - healed} ms after the heal`)
})

test('under 25 % loss, suspicions raised and refuted do not make the state rounds busy: Syns keep riding on SWIM packets and repair pulls stay backed off', () => {
  const n = 16
  const c = stackCluster(31, n)
  assert.ok(c.sim.runUntil((s) => s.convergence().converged, 60_000))
  c.sim.runFor(30_000)
  c.sim.network.configure({ loss: 0.25 })
  c.sim.runFor(10_000)
  const totals = (): { alone: number; pulls: number } =>
    c.nodes.reduce(
      (t, x) => {
        const s = c.stacks.get(x.name)!
        return { alone: t.alone + s.state.counters.synsSent - s.state.counters.synsRidden, pulls: t.pulls + s.broadcasts.engine.counters.repairPullsSent }
      },
      { alone: 0, pulls: 0 },
    )
  const t0 = totals()
  c.sim.runFor(40_000)
  const t1 = totals()
  const alone = (t1.alone - t0.alone) / n / 40
  const pulls = (t1.pulls - t0.pulls) / n / 40
  // Measured before suspects counted as alive: 3 Syns alone and 1.6 repair pulls per node and second.
  assert.ok(alone < 0.2, `Syns alone per node and second: ${alone.toFixed(3)}`)
  assert.ok(pulls < 0.3, `repair pulls per node and second: ${pulls.toFixed(3)}`)
  const suspicions = c.sim.allEvents().filter(({ event: e }) => e.type === 'suspected').length
  assert.ok(suspicions > 0, 'the loss did raise suspicions')
})
