import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { LabRng } from '../../src/lab/lab-rng.js'

test('LabRng is SeededRng with a faster state: the same 32-bit stream for a seed', () => {
  for (const seed of [0, 1, 42, 0xffffffff]) {
    const a = new SeededRng(seed)
    const b = new LabRng(seed)
    for (let i = 0; i < 1000; i++) assert.equal(b.u32(), a.u32())
  }
})

test('below(n) covers [0, n) evenly, for small ranges, partner ranges and ranges past the fast path', () => {
  const rng = new LabRng(5)
  for (const n of [1, 3, 7, 999]) {
    const counts = new Array<number>(n).fill(0)
    const draws = 2000 * n
    for (let i = 0; i < draws; i++) counts[rng.below(n)]++
    // Each count is Binomial(draws, 1/n): sd ≈ sqrt(2000) ≈ 45; six sd of slack.
    for (const c of counts) assert.ok(Math.abs(c - 2000) < 6 * Math.sqrt(2000), `n=${n}: ${c}`)
  }
  const big = 3_000_000_000
  let sum = 0
  for (let i = 0; i < 20000; i++) {
    const x = rng.below(big)
    assert.ok(Number.isInteger(x) && x >= 0 && x < big)
    sum += x / big
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.02)
  const f = rng.float()
  assert.ok(f >= 0 && f < 1)
})
