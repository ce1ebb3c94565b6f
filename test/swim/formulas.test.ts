import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  expectedConfirmations,
  pushPullScaleMs,
  remainingSuspicionMs,
  retransmitLimit,
  scaleTimeoutMs,
  suspicionTimeoutMs,
} from '../../src/swim/formulas.js'

test('suspicion timeout matches memberlist (LAN mult 4, 1 s probe interval)', () => {
  const cases: Array<[number, number]> = [
    [1, 4000], [2, 4000], [10, 4000], [50, 6792], [100, 8000], [1000, 12000],
  ]
  for (const [n, expected] of cases) assert.equal(suspicionTimeoutMs(4, n, 1000), expected, `n=${n}`)
  // WAN: mult 6, 5 s interval.
  assert.equal(suspicionTimeoutMs(6, 100, 5000), 60_000)
  // Local: mult 3.
  assert.equal(suspicionTimeoutMs(3, 5, 1000), 3000)
})

test('suspicion timeout scales slowly with cluster size', () => {
  const small = suspicionTimeoutMs(4, 10, 1000)
  const medium = suspicionTimeoutMs(4, 100, 1000)
  const large = suspicionTimeoutMs(4, 1000, 1000)
  assert.ok(small < medium && medium < large)
  assert.equal(large / small, 3)
})

test('expected confirmations are suspicionMult − 2, or 0 in tiny clusters', () => {
  assert.equal(expectedConfirmations(4, 2), 0)
  assert.equal(expectedConfirmations(4, 3), 0)
  assert.equal(expectedConfirmations(4, 4), 2)
  assert.equal(expectedConfirmations(4, 1000), 2)
  assert.equal(expectedConfirmations(6, 10), 4)
  assert.equal(expectedConfirmations(3, 10), 1)
})

test('remaining suspicion time shrinks logarithmically with confirmations', () => {
  // memberlist suspicion_test.go: min 2 s, max 30 s, k = 3.
  const min = 2000
  const max = 30_000
  const table: Array<[number, number]> = [[0, 30_000], [1, 16_000], [2, 7_810], [3, 2_000]]
  for (const [c, expected] of table) assert.equal(remainingSuspicionMs(c, 3, 0, min, max), expected, `c=${c}`)
  // LAN n ≥ 4: min 4 s, max 24 s, k = 2.
  assert.equal(remainingSuspicionMs(1, 2, 0, 4000, 24_000), 11_381)
  assert.equal(remainingSuspicionMs(2, 2, 0, 4000, 24_000), 4000)
  // Elapsed time is subtracted; past the deadline it is ≤ 0 (fire now).
  assert.equal(remainingSuspicionMs(1, 2, 5000, 4000, 24_000), 6381)
  assert.ok(remainingSuspicionMs(2, 2, 5000, 4000, 24_000) <= 0)
  // Without expected confirmations: min.
  assert.equal(remainingSuspicionMs(0, 0, 1000, 4000, 24_000), 3000)
})

test('retransmit limit follows memberlist (mult × ceil(log10(n + 1)))', () => {
  const table: Array<[number, number]> = [[1, 4], [9, 4], [10, 8], [99, 8], [100, 12], [999, 12], [1000, 16]]
  for (const [n, expected] of table) assert.equal(retransmitLimit(4, n), expected, `n=${n}`)
  assert.equal(retransmitLimit(2, 50), 4)
})

test('push-pull interval scales above 32 members', () => {
  const table: Array<[number, number]> = [[1, 30_000], [32, 30_000], [33, 60_000], [64, 60_000], [65, 90_000], [128, 90_000], [129, 120_000], [1000, 180_000]]
  for (const [n, expected] of table) assert.equal(pushPullScaleMs(30_000, n), expected, `n=${n}`)
})

test('awareness scales timeouts by score + 1', () => {
  assert.equal(scaleTimeoutMs(500, 0), 500)
  assert.equal(scaleTimeoutMs(500, 7), 4000)
})

test('detection bound: first suspicion within 2(n−1)+1 intervals, then the suspicion timeout, then dissemination', async () => {
  const { detectionBoundMs } = await import('../../src/swim/formulas.js')
  const { resolveConfig } = await import('../../src/swim/config.js')
  const lan = resolveConfig({}, 'lan')
  const b = detectionBoundMs(lan, 50)
  assert.equal(b.firstSuspicionMs, 99_000)
  assert.equal(b.suspicionMs, 6 * 6792)
  assert.equal(b.disseminationMs, 8 * 200 + 1000)
  assert.equal(b.totalMs, 99_000 + 40_752 + 2_600)
  assert.equal(detectionBoundMs({ ...lan, lifeguard: false }, 50).suspicionMs, 6792)
  assert.equal(detectionBoundMs(lan, 3).suspicionMs, 4000, 'k = 0 in tiny clusters: the min')
})
