import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import { ClusterState, type StaleNode } from '../../src/state/cluster-state.js'
import { resolveStateConfig } from '../../src/state/config.js'
import { buildDeltas, deltasBytes } from '../../src/state/delta-builder.js'
import { encodedSize, encodeStateMessage } from '../../src/state/messages.js'

const config = resolveStateConfig()

/** An owner `name` with `writes` changes of keys drawn from `keys`. */
function ownerWith(name: string, writes: number, keys = 20, valueBytes = 8): ClusterState {
  const s = new ClusterState(name, 1, config)
  for (let i = 0; i < writes; i++) s.set(`k${i % keys}`, `${i}`.padEnd(valueBytes, '.'))
  return s
}

function staleOf(owners: ClusterState[], floor = 0): StaleNode[] {
  return owners.map((o) => o.staleFor(o.self, { ...o.digestOf(o.self)!, maxVersion: Math.min(floor, o.node(o.self)!.maxVersion - 1) })!)
}

test('deltas fill the budget to the byte and never beyond (exact accounting)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 200 })), { minLength: 1, maxLength: 30 }), fc.integer({ min: 40, max: 3000 }), fc.nat(), (shapes, budget, seed) => {
      const owners = shapes.map(([writes, keys, valueBytes], i) => ownerWith(`node-${i}`, writes, keys, valueBytes))
      const { deltas, bytes } = buildDeltas(staleOf(owners), budget, new SeededRng(seed), 0.25)
      assert.equal(bytes, deltasBytes(deltas))
      assert.ok(bytes <= budget)
      const ack2 = { kind: 'ack2' as const, deltas }
      assert.equal(encodeStateMessage(ack2).length, encodedSize(ack2))
      for (const d of deltas) {
        const versions = d.entries.map((e) => e.version)
        assert.deepEqual(versions, [...versions].sort((x, y) => x - y), 'ascending')
        assert.ok(d.entries.every((e) => e.version > d.fromVersion && e.version <= d.toVersion))
      }
    }),
    { seed: 3, numRuns: 300 },
  )
})

test('without the lottery the stalest node goes first, and the least stale may starve', () => {
  const busy = Array.from({ length: 6 }, (_, i) => ownerWith(`busy-${i}`, 60 + i, 60))
  const quiet = ownerWith('quiet', 1)
  const stale = staleOf([quiet, ...busy])
  const rng = new SeededRng(1)
  const { deltas } = buildDeltas(stale, 1300, rng, 0)
  assert.equal(deltas[0].node, 'busy-5', 'largest gap first')
  let served = 0
  for (let i = 0; i < 200; i++) if (buildDeltas(stale, 1300, rng, 0).deltas.some((d) => d.node === 'quiet')) served++
  assert.equal(served, 0)
})

test('the lottery slot serves every stale node in turn: no starvation', () => {
  const busy = Array.from({ length: 6 }, (_, i) => ownerWith(`busy-${i}`, 60 + i, 60))
  const quiet = ownerWith('quiet', 1)
  const stale = staleOf([quiet, ...busy])
  const rng = new SeededRng(2)
  let served = 0
  let stalestFirst = 0
  for (let i = 0; i < 700; i++) {
    const { deltas } = buildDeltas(stale, 1300, rng, 0.25)
    if (deltas.some((d) => d.node === 'quiet')) served++
    if (deltas.some((d) => d.node === 'busy-5')) stalestFirst++
  }
  // The quiet node wins the lottery about once in 7 exchanges; the stalest node is in nearly every delta.
  assert.ok(served > 60 && served < 150, String(served))
  assert.ok(stalestFirst > 600, String(stalestFirst))
})
