// The phi accrual failure detector, in virtual time only. Expected crossing times are computed from
// Akka's textbook two-branch formula (re-derived here, independently of src/state/phi.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import { ConfigError } from '../../src/swim/config.js'
import {
  PHI_DEFAULTS,
  PhiAccrualDetector,
  PhiAccrualRegistry,
  combineVerdict,
  elapsedForPhi,
  phiConfigProblems,
  phiValue,
  resolvePhiConfig,
  type MemberVerdict,
  type PhiCombineMode,
  type SwimOpinion,
} from '../../src/state/phi.js'

/** Akka's PhiAccrualFailureDetector.phi, as written there (two branches, +∞ once exp underflows). */
function akkaPhi(elapsedMs: number, meanMs: number, sdMs: number): number {
  const y = (elapsedMs - meanMs) / sdMs
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
  return elapsedMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e))
}

/** The y = (t − mean) / σ at which Akka's formula reaches `phi`, by bisection. */
function akkaCrossingY(phi: number): number {
  let lo = 0
  let hi = 20
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (akkaPhi(mid, 0, 1) < phi) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** First silence (resolution 0.01 ms) after the last heartbeat at which the detector's phi ≥ threshold. */
function measuredCrossingMs(d: PhiAccrualDetector): number {
  const last = d.lastHeartbeatMs ?? assert.fail('no heartbeat yet')
  let lo = 0
  let hi = 1
  while (d.phi(last + hi) < d.config.threshold) hi *= 2
  while (hi - lo > 0.01) {
    const mid = (lo + hi) / 2
    if (d.phi(last + mid) < d.config.threshold) lo = mid
    else hi = mid
  }
  return hi
}

function regular(d: PhiAccrualDetector, count: number, intervalMs: number, startMs = 0): number {
  let t = startMs
  for (let i = 0; i < count; i++) {
    d.heartbeat(t)
    if (i < count - 1) t += intervalMs
  }
  return t
}

/** Arrival times: 1000 ± 300 ms uniformly, and a 1.8 s gap with probability 2 %. */
function jitteryArrivals(seed: number, totalMs: number): number[] {
  const rng = new SeededRng(seed)
  const out: number[] = []
  for (let t = 0; t < totalMs; ) {
    out.push(t)
    t += rng.float() < 0.02 ? 1800 : 700 + rng.float() * 600
  }
  return out
}

const Y8 = akkaCrossingY(8) // ≈ 5.226

test('phiValue equals Akka’s logistic formula where that is finite, and is log10(2) at the mean', () => {
  assert.ok(Y8 > 5.22 && Y8 < 5.23, `y at phi 8: ${Y8}`)
  for (let y = -6; y <= 21; y += 0.25) {
    const expected = akkaPhi(1000 + y * 100, 1000, 100)
    const got = phiValue(1000 + y * 100, 1000, 100)
    assert.ok(Math.abs(got - expected) <= 1e-9 * Math.max(1, expected), `y=${y}: ${got} vs ${expected}`)
  }
  assert.ok(Math.abs(phiValue(1000, 1000, 100) - Math.log10(2)) < 1e-12)
  // Where Akka's overflows to +∞, ours stays finite and keeps growing.
  assert.equal(akkaPhi(1000 + 30 * 100, 1000, 100), Infinity)
  const far = phiValue(1000 + 30 * 100, 1000, 100)
  assert.ok(Number.isFinite(far) && far > phiValue(1000 + 21 * 100, 1000, 100))
  assert.ok(Number.isFinite(phiValue(1e15, 1000, 100)))
})

test('elapsedForPhi inverts phiValue', () => {
  for (const phi of [0.01, 0.3, 1, 3, 8, 12, 50, 400]) {
    for (const [mean, sd] of [[1000, 100], [4000, 250], [10, 1]]) {
      const t = elapsedForPhi(phi, mean, sd)
      assert.ok(Math.abs(phiValue(t, mean, sd) - phi) < 1e-9 * Math.max(1, phi), `phi=${phi} mean=${mean} sd=${sd}: t=${t}`)
    }
  }
  assert.ok(Math.abs(elapsedForPhi(8, 0, 1) - Y8) < 1e-9)
  assert.ok(Math.abs(elapsedForPhi(Math.log10(2), 1000, 100) - 1000) < 1e-9)
})

test('bootstrap: the first heartbeat seeds mean = estimate and deviation = estimate / 4 (Akka)', () => {
  const d = new PhiAccrualDetector({ firstHeartbeatEstimateMs: 2000 })
  assert.equal(d.phi(5), 0, 'never heard: phi 0')
  assert.equal(d.isAvailable(5), true)
  d.heartbeat(100)
  assert.equal(d.sampleCount, 2)
  assert.equal(d.meanMs, 2000)
  assert.equal(d.stdDeviationMs, 500)
  assert.ok(Math.abs(d.thresholdElapsedMs() - (2000 + 3000 + Y8 * 500)) < 1e-6)
})

test('regular 1 s heartbeats: phi is small right after, grows with silence and crosses 8 at mean + pause + 5.226 σ', () => {
  const d = new PhiAccrualDetector() // Akka defaults: pause 3000 ms, min σ 100 ms
  const last = regular(d, 100, 1000)
  // Seeds 750 and 1250 plus 99 intervals of 1000: mean exactly 1000, σ = 250·√(2/101) ≈ 35 → floored to 100.
  assert.equal(d.meanMs, 1000)
  assert.ok(d.stdDeviationMs < 100)
  assert.equal(d.effectiveStdDeviationMs, 100)
  assert.ok(d.phi(last) < 1e-6, `right after a heartbeat: ${d.phi(last)}`)
  assert.ok(d.phi(last + 1000) < 1e-6, 'when the next heartbeat is due')
  let previous = -1
  for (let s = 0; s <= 6000; s += 100) {
    const phi = d.phi(last + s)
    assert.ok(phi >= previous, `grows with silence at +${s} ms`)
    previous = phi
  }
  const expected = 1000 + 3000 + Y8 * 100 // ≈ 4522.6 ms
  assert.ok(expected > 4522 && expected < 4523)
  const crossing = measuredCrossingMs(d)
  assert.ok(Math.abs(crossing - expected) < 0.02, `crossed at +${crossing} ms, expected +${expected}`)
  assert.ok(Math.abs(d.thresholdElapsedMs() - expected) < 1e-6)
  assert.equal(d.isAvailable(last + 4500), true)
  assert.equal(d.isAvailable(last + 4550), false)
})

test('the acceptable heartbeat pause shifts the crossing by exactly that amount', () => {
  const crossings = [0, 1500, 3000, 10_000].map((acceptableHeartbeatPauseMs) => {
    const d = new PhiAccrualDetector({ acceptableHeartbeatPauseMs })
    regular(d, 50, 1000)
    return measuredCrossingMs(d)
  })
  assert.ok(Math.abs(crossings[0] - (1000 + Y8 * 100)) < 0.02, `no pause: +${crossings[0]} ms`)
  for (const [i, pause] of [[1, 1500], [2, 3000], [3, 10_000]]) {
    assert.ok(Math.abs(crossings[i] - crossings[0] - pause) < 0.03, `pause ${pause}: shift ${crossings[i] - crossings[0]}`)
  }
})

test('jittery heartbeats (1000 ± 300 ms, some 1.8 s gaps) over 10,000 virtual seconds never reach phi 8', () => {
  for (const config of [{}, { acceptableHeartbeatPauseMs: 0 }]) {
    const d = new PhiAccrualDetector(config)
    const arrivals = jitteryArrivals(42, 10_000_000)
    assert.ok(arrivals.length > 9000)
    let worst = 0
    let gaps = 0
    for (let i = 0; i < arrivals.length; i++) {
      const t = arrivals[i]
      if (i > 0) {
        for (let s = arrivals[i - 1] + 100; s < t; s += 100) worst = Math.max(worst, d.phi(s))
        worst = Math.max(worst, d.phi(t))
        if (t - arrivals[i - 1] === 1800) gaps++
      }
      d.heartbeat(t)
    }
    assert.ok(gaps > 100, `the run has 1.8 s gaps: ${gaps}`)
    assert.ok(worst < 8, `worst phi ${worst} with ${JSON.stringify(config)}`)
    if (config.acceptableHeartbeatPauseMs === 0) assert.ok(worst > 3, `without a pause the gaps do raise phi: ${worst}`)
    assert.equal(d.sampleCount, 1000)
  }
})

test('a crashed node crosses phi 8 within the computed bound and stays above it', () => {
  const d = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 0 })
  const arrivals = jitteryArrivals(7, 600_000)
  for (const t of arrivals) d.heartbeat(t)
  const crashAt = arrivals[arrivals.length - 1]
  // From the learned statistics: mean + Y8 · σ (no pause here).
  const bound = d.meanMs + Y8 * d.effectiveStdDeviationMs
  assert.ok(d.meanMs > 950 && d.meanMs < 1100, `mean ${d.meanMs}`)
  assert.ok(d.effectiveStdDeviationMs > 150 && d.effectiveStdDeviationMs < 300, `σ ${d.effectiveStdDeviationMs}`)
  const crossing = measuredCrossingMs(d)
  assert.ok(Math.abs(crossing - bound) < 0.02, `crossed at +${crossing} ms, expected +${bound}`)
  assert.ok(crossing < 3000, 'detected within 3 s of the last heartbeat')
  for (let s = Math.ceil(crossing); s <= 600_000; s += 100) {
    assert.equal(d.isAvailable(crashAt + s), false, `+${s} ms`)
  }
  assert.ok(Number.isFinite(d.phi(crashAt + 1e12)))
})

test('the heartbeat that ends an outage is not recorded as an interval (Akka)', () => {
  const d = new PhiAccrualDetector()
  const last = regular(d, 20, 1000)
  const before = [d.sampleCount, d.meanMs, d.stdDeviationMs]
  d.heartbeat(last + 60_000) // phi was ≥ 8 when it arrived
  assert.deepEqual([d.sampleCount, d.meanMs, d.stdDeviationMs], before)
  assert.equal(d.lastHeartbeatMs, last + 60_000)
  assert.ok(d.phi(last + 60_000) < 1e-6, 'available again')
  d.heartbeat(last + 61_000)
  assert.equal(d.sampleCount, before[0] + 1)
})

test('the window is bounded by maxSampleSize and holds exactly the most recent intervals', () => {
  const rng = new SeededRng(3)
  const d = new PhiAccrualDetector({ maxSampleSize: 50 })
  const intervals: number[] = []
  let t = 0.37
  d.heartbeat(t)
  for (let i = 0; i < 20_000; i++) {
    const interval = 900 + rng.float() * 200.123
    t += interval
    intervals.push(interval)
    d.heartbeat(t)
    assert.ok(d.sampleCount <= 50)
  }
  assert.equal(d.sampleCount, 50)
  const recent = intervals.slice(-50)
  const mean = recent.reduce((a, b) => a + b, 0) / 50
  const sd = Math.sqrt(recent.reduce((a, b) => a + (b - mean) ** 2, 0) / 50)
  assert.ok(Math.abs(d.meanMs - mean) < 1e-6, `mean ${d.meanMs} vs ${mean}`)
  assert.ok(Math.abs(d.stdDeviationMs - sd) < 1e-6, `σ ${d.stdDeviationMs} vs ${sd}`)
})

test('phi is finite, non-negative and non-decreasing in the silence (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20_000 }), { maxLength: 40 }),
      fc.record({
        minStdDeviationMs: fc.integer({ min: 1, max: 2000 }),
        acceptableHeartbeatPauseMs: fc.integer({ min: 0, max: 20_000 }),
        firstHeartbeatEstimateMs: fc.integer({ min: 1, max: 10_000 }),
        maxSampleSize: fc.integer({ min: 2, max: 30 }),
      }),
      fc.array(fc.double({ min: 0, max: 1e13, noNaN: true }), { minLength: 2, maxLength: 30 }),
      (intervals, config, silences) => {
        const d = new PhiAccrualDetector(config)
        let t = 0
        d.heartbeat(t)
        for (const interval of intervals) d.heartbeat((t += interval))
        let previous = 0
        for (const s of [...silences].sort((a, b) => a - b)) {
          const phi = d.phi(t + s)
          assert.ok(Number.isFinite(phi) && phi >= 0, `phi ${phi} at +${s}`)
          assert.ok(phi >= previous, `phi fell from ${previous} to ${phi} at +${s}`)
          previous = phi
        }
      },
    ),
    { seed: 20261122, numRuns: 300 },
  )
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.double({ min: 1e-3, max: 1e5, noNaN: true }),
      fc.double({ min: 0, max: 1e9, noNaN: true }),
      fc.double({ min: 0, max: 1e9, noNaN: true }),
      (mean, sd, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        const phiLo = phiValue(lo, mean, sd)
        const phiHi = phiValue(hi, mean, sd)
        assert.ok(Number.isFinite(phiHi) && phiLo >= 0 && phiLo <= phiHi, `${phiLo} > ${phiHi}`)
      },
    ),
    { seed: 7, numRuns: 2000 },
  )
})

test('bad config names each field and its fix, all at once', () => {
  assert.deepEqual(resolvePhiConfig(), PHI_DEFAULTS)
  assert.equal(resolvePhiConfig({ threshold: 10, minStdDeviationMs: undefined }).threshold, 10)
  assert.deepEqual(phiConfigProblems(PHI_DEFAULTS), [])
  const err = (() => {
    try {
      resolvePhiConfig({
        threshold: 0,
        maxSampleSize: 1.5,
        minStdDeviationMs: -1,
        acceptableHeartbeatPauseMs: Number.NaN,
        firstHeartbeatEstimateMs: 0,
        mode: 'phiMaybe',
        vetoMaxMs: -5,
        tresholdTypo: 3,
      } as never)
    } catch (e) {
      return e
    }
    return assert.fail('expected a ConfigError')
  })()
  assert.ok(err instanceof ConfigError)
  assert.equal(err.name, 'ConfigError')
  const fields = ['threshold', 'maxSampleSize', 'minStdDeviationMs', 'acceptableHeartbeatPauseMs', 'firstHeartbeatEstimateMs', 'mode', 'vetoMaxMs', 'tresholdTypo']
  assert.equal(err.problems.length, fields.length, err.message)
  for (const field of fields) assert.ok(err.problems.some((p) => p.startsWith(`${field} `)), `${field} named: ${err.message}`)
  assert.match(err.problems.find((p) => p.startsWith('threshold '))!, /must be a number > 0 .*default is 8/)
  assert.match(err.problems.find((p) => p.startsWith('tresholdTypo '))!, /check the spelling/)
  assert.match(err.problems.find((p) => p.startsWith('mode '))!, /one of 'swimOnly', 'phiVeto', 'phiEarlySuspect', 'phiOnly' \(got "phiMaybe"\); the default is 'swimOnly'/)
  assert.throws(() => new PhiAccrualDetector({ maxSampleSize: 1 }), /maxSampleSize must be an integer in \[2, 1000000\]/)
  assert.throws(() => new PhiAccrualRegistry({ threshold: -1 }), ConfigError)
})

test('heartbeat times must be finite and must not go backwards (programmer errors)', () => {
  const d = new PhiAccrualDetector()
  assert.throws(() => d.heartbeat(Number.NaN), { name: 'InvariantError' })
  d.heartbeat(1000)
  assert.throws(() => d.heartbeat(999), { name: 'InvariantError' })
  d.heartbeat(1000) // same instant is fine
  assert.ok(d.phi(500) < 1e-6, 'a reading before the last heartbeat counts as no silence')
})

test('the registry reports never-heard nodes as undefined and frees a removed node', () => {
  const r = new PhiAccrualRegistry({ acceptableHeartbeatPauseMs: 0 })
  assert.equal(r.phi('a', 0), undefined)
  assert.equal(r.isAvailable('a', 0), undefined)
  for (let t = 0; t <= 10_000; t += 1000) r.heartbeat('a', t)
  r.heartbeat('b', 5000)
  assert.equal(r.size, 2)
  assert.deepEqual([...r.names()].sort(), ['a', 'b'])
  assert.ok(r.phi('a', 10_100)! < 1)
  assert.equal(r.isAvailable('a', 10_100), true)
  assert.equal(r.isAvailable('a', 30_000), false)
  assert.equal(r.detector('a')?.sampleCount, 12)
  assert.equal(r.remove('a'), true)
  assert.equal(r.remove('a'), false)
  assert.equal(r.has('a'), false)
  assert.equal(r.phi('a', 30_000), undefined)
  assert.equal(r.size, 1)
  r.heartbeat('a', 40_000) // comes back with a fresh history
  assert.equal(r.detector('a')?.sampleCount, 2)
})

test('combineVerdict follows each mode: swimOnly is SWIM\'s verdict, phiVeto only delays death, phiEarlySuspect only accelerates suspicion, phiOnly ignores SWIM', () => {
  const T = 8
  const cases: Array<[PhiCombineMode, SwimOpinion, number | undefined, MemberVerdict]> = [
    ['swimOnly', 'alive', 20, 'alive'],
    ['swimOnly', 'suspect', 0, 'suspect'],
    ['swimOnly', 'suspectExpired', 0, 'dead'],
    ['phiVeto', 'suspectExpired', 2, 'suspect'], // heartbeats still arrive: vetoed
    ['phiVeto', 'suspectExpired', 8, 'dead'],
    ['phiVeto', 'suspectExpired', undefined, 'dead'], // no second opinion: SWIM decides
    ['phiVeto', 'suspect', 30, 'suspect'], // the veto never accelerates
    ['phiVeto', 'alive', 30, 'alive'],
    ['phiEarlySuspect', 'alive', 8, 'suspect'],
    ['phiEarlySuspect', 'alive', 7.99, 'alive'],
    ['phiEarlySuspect', 'alive', undefined, 'alive'],
    ['phiEarlySuspect', 'suspectExpired', 1, 'dead'],
    ['phiOnly', 'suspectExpired', 1, 'alive'],
    ['phiOnly', 'alive', 9, 'dead'],
    ['phiOnly', 'alive', undefined, 'alive'],
  ]
  for (const [mode, swim, phi, expected] of cases) {
    assert.equal(combineVerdict({ swim, phi, threshold: T, mode }), expected, `${mode} ${swim} phi=${phi}`)
  }
})
