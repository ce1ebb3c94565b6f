// Simulation tests of the cluster state engine (fixed seeds; a failure names its seed). Every message goes
// through the codec, every packet is checked against its budget, and the reconciliation invariant is
// checked after every application (state-harness.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isTombstone } from '../../src/state/node-state.js'
import { StateHarness, type HarnessOptions } from './state-harness.js'

const NODES = 200
const WRITES = 2000

/** `count` writes at random nodes, spread over `overMs` of virtual time, keys overwritten now and then. */
function writeSpread(h: StateHarness, count: number, overMs: number, prefix = 'key', names = h.names): void {
  const step = overMs / count
  for (let i = 0; i < count; i++) {
    const name = names[h.rng.int(names.length)]
    h.engine(name).state.set(`${prefix}-${h.rng.int(12)}`, `value-${i}-${h.rng.int(1000)}`)
    h.runFor(step)
  }
}

function assertIdentical(h: StateHarness, names = h.names): void {
  const prints = new Set(names.map((n) => h.fingerprint(n)))
  assert.equal(prints.size, 1, `${prints.size} different states`)
  h.assertAllInvariants()
}

function report(t: { diagnostic(msg: string): void }, h: StateHarness, label: string, ms: number): void {
  const s = h.stats
  t.diagnostic(`${label}: converged ${ms} virtual ms after the last write (${ms / 1000} rounds); ${s.packets} packets, ${(s.bytes / 1e6).toFixed(2)} MB, max packet ${s.maxPacketBytes} B, ${s.dropped} dropped, ${s.invariantChecks} invariant checks`)
}

function scenario(options: Omit<HarnessOptions, 'nodes'> & { nodes?: number }): StateHarness {
  return new StateHarness({ nodes: NODES, ...options })
}

test('after 2,000 writes on 200 nodes every node holds identical state', (t) => {
  const h = scenario({ seed: 7 })
  writeSpread(h, WRITES, 10_000)
  const ms = h.runUntilConverged(60_000)
  assertIdentical(h)
  report(t, h, 'no loss', ms)
  assert.ok(ms <= 20_000, `${ms} ms`)
  assert.ok(h.stats.maxPacketBytes <= 1300)
})

test('after 2,000 writes on 200 nodes under 10% packet loss and duplicates every node holds identical state', (t) => {
  const h = scenario({ seed: 8, network: { packetLossProbability: 0.1, packetDuplicateProbability: 0.02, oneWayDelayMsMax: 40 } })
  writeSpread(h, WRITES, 10_000)
  const ms = h.runUntilConverged(90_000)
  assertIdentical(h)
  report(t, h, '10% loss', ms)
})

test('200 nodes split in two while writing converge once the partition heals', (t) => {
  const h = scenario({ seed: 9 })
  const left = h.names.slice(0, 80)
  const right = h.names.slice(80)
  h.partition([left, right])
  writeSpread(h, WRITES, 10_000)
  h.runFor(5_000)
  // Each side agrees with itself about its own members, and knows nothing new of the other side.
  for (const side of [left, right]) {
    const other = side === left ? right : left
    for (const n of side) {
      for (const o of other) assert.equal(h.engine(n).state.node(o), undefined, `${n} heard of ${o} across the partition`)
    }
  }
  h.heal()
  const ms = h.runUntilConverged(60_000)
  assertIdentical(h)
  report(t, h, 'after heal', ms)
})

test('deletes propagate, stay deleted after GC, and a node partitioned across the GC cannot resurrect them', (t) => {
  const grace = 10_000
  const h = new StateHarness({ seed: 10, nodes: 60, config: { tombstoneGraceMs: grace } })
  for (const name of h.names) {
    const s = h.engine(name).state
    for (let k = 0; k < 5; k++) s.set(`k${k}`, `${name}/${k}`)
  }
  h.runUntilConverged(60_000)
  const isolated = h.names[17]
  h.partition([[isolated], h.names.filter((n) => n !== isolated)])
  // Delete k0 and k1 everywhere (the isolated node's own too), while it cannot hear.
  for (const name of h.names) {
    h.engine(name).state.delete('k0', h.nowMs)
    h.engine(name).state.delete('k1', h.nowMs)
  }
  h.engine(isolated).state.set('k4', 'written while isolated')
  const connected = h.names.filter((n) => n !== isolated)
  h.runFor(grace * 3)
  // Everyone connected has dropped the tombstones of the connected owners and moved their watermarks.
  for (const n of connected) {
    for (const owner of connected) {
      const copy = h.engine(n).state.node(owner)
      assert.equal(copy?.entries.has('k0'), false, `${n}'s copy of ${owner} still has k0`)
      assert.ok((copy?.lastGcVersion ?? 0) > 0)
    }
  }
  // The isolated node still holds the old live values of every other node.
  assert.equal(h.engine(isolated).state.get(h.names[0], 'k0'), `${h.names[0]}/0`)
  h.heal()
  const resetsBefore = h.stats.resets
  let rounds = 0
  for (; rounds < 60 && !h.converged(); rounds++) {
    h.runFor(1000)
    // No connected node ever sees a deleted key again (the isolated node catches up, its own deletes
    // spread as usual).
    for (const n of connected) for (const owner of connected) for (const k of ['k0', 'k1']) assert.equal(h.engine(n).state.get(owner, k), undefined, `${k} of ${owner} resurrected at ${n}`)
  }
  assert.ok(h.converged(), 'converged within 60 rounds of the heal')
  assertIdentical(h)
  assert.ok(h.stats.resets > resetsBefore, 'the isolated node was reset, not patched')
  for (const owner of h.names) assert.deepEqual(h.engine(isolated).state.entries(owner).map(([k]) => k), ['k2', 'k3', 'k4'])
  assert.equal(h.engine(h.names[0]).state.get(isolated, 'k4'), 'written while isolated')
  t.diagnostic(`converged ${rounds} rounds after the heal, ${h.stats.resets - resetsBefore} resets`)
  // And after the isolated node's own tombstones are collected too, nothing changes.
  h.runFor(grace * 2)
  assertIdentical(h)
  for (const n of h.names) for (const owner of h.names) assert.equal([...(h.engine(n).state.node(owner)?.entries.values() ?? [])].filter(isTombstone).length, 0)
})

test('a restarted node comes back with a new generation that wins everywhere; its old keys vanish', (t) => {
  const h = new StateHarness({ seed: 11, nodes: 100 })
  writeSpread(h, 500, 5000)
  const restarted = h.names[42]
  h.engine(restarted).state.set('old-only', 'before the restart')
  h.runUntilConverged(60_000)
  assert.equal(h.engine(h.names[0]).state.get(restarted, 'old-only'), 'before the restart')
  const fresh = h.restart(restarted, 2)
  fresh.state.set('born', 'again')
  h.pushPull(restarted, h.names[7])
  const ms = h.runUntilConverged(60_000)
  assertIdentical(h)
  for (const n of h.names) {
    const copy = h.engine(n).state.node(restarted)
    assert.equal(copy?.generation, 2)
    assert.deepEqual(h.engine(n).state.entries(restarted), [['born', 'again']])
  }
  t.diagnostic(`new generation everywhere in ${ms} ms`)
})

test('the same seed gives the same run', () => {
  const run = (): string => {
    const h = new StateHarness({ seed: 12, nodes: 30, network: { packetLossProbability: 0.1 } })
    writeSpread(h, 200, 3000)
    h.runUntilConverged(60_000)
    return `${h.fingerprint(h.names[0])} ${JSON.stringify(h.stats)} ${h.nowMs}`
  }
  assert.equal(run(), run())
})
