// Serf's Vivaldi rule and its wire form: the ack payload a serf 0.9.4 agent sent decodes and
// re-encodes to the same bytes; bad payloads are refused with a typed reason; the update rule refuses
// what Serf refuses (other dimensions, NaN, RTTs out of range) without changing anything, resets on
// NaN, filters latency by the median of three, and converges on simple topologies (Serf's own
// performance tests' shapes) to within a few percent.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SeededRng } from '../../src/core/rng.js'
import { decodeCoordinatePayload, encodeCoordinatePayload } from '../../src/coordinates/payload.js'
import type { Coordinate } from '../../src/coordinates/vivaldi.js'
import { GRAPEVINE_VIVALDI, SERF_VIVALDI, VivaldiClient, applyForce, distanceMs, newCoordinate } from '../../src/coordinates/vivaldi.js'

// The payload of an ack from serf 0.9.4 (test/interop/fixtures/serf-0.9.4-capture.hex, line 8): a fresh coordinate.
const SERF_ACK_PAYLOAD = Buffer.from(
  '0184aa41646a7573746d656e74cb0000000000000000a54572726f72cb3ff8000000000000a6486569676874cb3ee4f8b588e368f1' +
    'a356656398' + 'cb0000000000000000'.repeat(8),
  'hex',
)

test('a Serf ack payload decodes to a fresh coordinate and re-encodes to the same 130 bytes', () => {
  assert.equal(SERF_ACK_PAYLOAD.length, 130)
  const d = decodeCoordinatePayload(SERF_ACK_PAYLOAD)
  assert.ok(d.ok)
  assert.deepEqual(d.value, newCoordinate())
  assert.deepEqual(Buffer.from(encodeCoordinatePayload(d.value)), SERF_ACK_PAYLOAD)
})

test('any coordinate survives the payload round trip bit for bit', () => {
  const c: Coordinate = { vec: [1e-3, -2e-4, 0, 5e-9, -0, 3, 1e-300, -7.5e-5], error: 0.123, adjustment: -1e-5, height: 2.5e-5 }
  const d = decodeCoordinatePayload(encodeCoordinatePayload(c))
  assert.ok(d.ok)
  assert.deepEqual(d.value, c)
})

test('bad payloads are refused with a typed reason, never thrown', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['empty', new Uint8Array(0), 'truncated'],
    ['another version', Uint8Array.of(2, ...SERF_ACK_PAYLOAD.subarray(1)), 'bad-field'],
    ['truncated', SERF_ACK_PAYLOAD.subarray(0, 100), 'truncated'],
    ['trailing bytes', Uint8Array.of(...SERF_ACK_PAYLOAD, 0), 'trailing-bytes'],
    ['not a map', Uint8Array.of(1, 0x93, 1, 2, 3), 'bad-field'],
    ['a string for Error', Uint8Array.of(1, 0x81, 0xa5, ...Buffer.from('Error'), 0xa1, 0x78), 'bad-field'],
    ['65 dimensions', Uint8Array.of(1, 0x81, 0xa3, ...Buffer.from('Vec'), 0xdc, 0, 65), 'too-large'],
  ]
  for (const [what, bytes, reason] of cases) {
    const d = decodeCoordinatePayload(bytes)
    assert.ok(!d.ok, what)
    assert.equal(d.error.reason, reason, what)
  }
  for (let cut = 0; cut < SERF_ACK_PAYLOAD.length; cut++) assert.doesNotThrow(() => decodeCoordinatePayload(SERF_ACK_PAYLOAD.subarray(0, cut)))
})

test('distance is the Euclidean part plus both heights plus both adjustments, kept when the sum is positive', () => {
  const a: Coordinate = { vec: [0.003, 0.004], error: 1, adjustment: 0.001, height: 0.0005 }
  const b: Coordinate = { vec: [0, 0], error: 1, adjustment: -0.0005, height: 0.0005 }
  assert.ok(Math.abs(distanceMs(a, b) - (5 + 1 + 0.5)) < 1e-9)
  const negative: Coordinate = { ...b, adjustment: -0.01 }
  assert.ok(Math.abs(distanceMs(a, negative) - 6) < 1e-9, 'a negative adjusted distance falls back to the raw one')
  assert.throws(() => distanceMs(a, newCoordinate()), RangeError)
})

test('a force between coincident coordinates pushes in a random direction from the injected generator', () => {
  const c = newCoordinate()
  const moved1 = applyForce(c, 0.01, newCoordinate(), SERF_VIVALDI, new SeededRng(1))
  const moved2 = applyForce(c, 0.01, newCoordinate(), SERF_VIVALDI, new SeededRng(1))
  assert.deepEqual(moved1, moved2, 'same seed, same direction')
  assert.ok(Math.abs(Math.hypot(...moved1.vec) - 0.01) < 1e-12)
  assert.equal(moved1.height, c.height, 'no height change without a distance to scale by')
})

test('observations Serf refuses change nothing and are counted by reason', () => {
  const client = new VivaldiClient(SERF_VIVALDI, new SeededRng(3))
  const before = client.coordinate()
  assert.equal(client.update('x', { ...newCoordinate(), vec: [0, 0, 0] }, 10), 'dimensions')
  assert.equal(client.update('x', { ...newCoordinate(), height: Number.NaN }, 10), 'invalid-coordinate')
  assert.equal(client.update('x', { ...newCoordinate(), error: Number.POSITIVE_INFINITY }, 10), 'invalid-coordinate')
  assert.equal(client.update('x', newCoordinate(), -1), 'rtt-range')
  assert.equal(client.update('x', newCoordinate(), 10_001), 'rtt-range')
  assert.equal(client.coordinate(), before)
  assert.equal(client.trackedPeers, 0, 'refused observations leave no latency sample')
  assert.deepEqual(client.stats.rejected, { dimensions: 1, 'invalid-coordinate': 2, 'rtt-range': 2 })
  assert.notEqual(client.update('x', newCoordinate(), 0), 'rtt-range', 'a zero RTT (a coarse clock) is used, as Serf does')
  assert.equal(client.stats.zeroRtt, 1)
})

test('a coordinate that becomes infinite starts over, counted as a reset', () => {
  const client = new VivaldiClient(SERF_VIVALDI, new SeededRng(4))
  // A finite but huge peer coordinate: the force and the gravity overflow to infinity.
  const huge: Coordinate = { vec: [1e300, 1e300, 0, 0, 0, 0, 0, 0], error: 1e-9, adjustment: 0, height: 1e300 }
  client.update('far', huge, 5)
  assert.equal(client.stats.resets, 1)
  assert.deepEqual(client.coordinate(), newCoordinate())
})

test('the latency filter feeds the median of the last three RTTs to a peer', () => {
  // Two clients fed the same peer coordinate: one sees an outlier between normal samples, the other
  // sees the median value each time. With the filter, the outlier is never used.
  const peer: Coordinate = { ...newCoordinate(), vec: [0.001, 0, 0, 0, 0, 0, 0, 0], error: 0.2 }
  const spiky = new VivaldiClient(SERF_VIVALDI, new SeededRng(5))
  const steady = new VivaldiClient(SERF_VIVALDI, new SeededRng(5))
  for (const [s, m] of [[10, 10], [10, 10], [900, 10], [10, 10]] as const) {
    spiky.update('p', peer, s)
    steady.update('p', peer, m)
  }
  assert.deepEqual(spiky.coordinate(), steady.coordinate())
})

test('while a peer\'s window fills, Serf\'s filter feeds the higher of its first two RTTs and Grapevine\'s the lower; Grapevine\'s keeps the median of 5 RTTs, Serf\'s of 3; the constants and the rule are otherwise Serf\'s', () => {
  // A peer's first RTT goes in as it is under both; a fresh peer's single RTT is what each config feeds
  // at the second probe of 'p', so each pair below must end on the same coordinate.
  const peer: Coordinate = { ...newCoordinate(), vec: [0.02, 0, 0, 0, 0, 0, 0, 0], error: 0.5 }
  const run = (config: typeof SERF_VIVALDI, feed: ReadonlyArray<readonly [string, number]>): Coordinate => {
    const c = new VivaldiClient(config, new SeededRng(8))
    for (const [name, rtt] of feed) c.update(name, peer, rtt)
    return c.coordinate()
  }
  assert.deepEqual(run(GRAPEVINE_VIVALDI, [['p', 30], ['p', 10]]), run(SERF_VIVALDI, [['p', 30], ['q', 10]]))
  assert.deepEqual(run(SERF_VIVALDI, [['p', 30], ['p', 10]]), run(GRAPEVINE_VIVALDI, [['p', 30], ['q', 30]]))
  assert.notDeepEqual(run(SERF_VIVALDI, [['p', 30], ['p', 10]]), run(GRAPEVINE_VIVALDI, [['p', 30], ['p', 10]]))
  // One RTT: the two configs feed the same.
  assert.deepEqual(run(GRAPEVINE_VIVALDI, [['p', 30]]), run(SERF_VIVALDI, [['p', 30]]))
  // Six RTTs to p: Grapevine's filter feeds 30, 10 (lower of two), 30, 20 (lower middle of four), 30, 40
  // (the median of the last five); Serf's 30, 30, 30, 20, 40, 40 (the median of the last three).
  const six: ReadonlyArray<readonly [string, number]> = [['p', 30], ['p', 10], ['p', 50], ['p', 20], ['p', 40], ['p', 60]]
  const fresh = (rtts: number[]): Array<[string, number]> => rtts.map((r, i) => [`fresh-${i}`, r])
  assert.deepEqual(run(GRAPEVINE_VIVALDI, six), run(GRAPEVINE_VIVALDI, fresh([30, 10, 30, 20, 30, 40])))
  assert.deepEqual(run(SERF_VIVALDI, six), run(SERF_VIVALDI, fresh([30, 30, 30, 20, 40, 40])))
  assert.deepEqual({ ...GRAPEVINE_VIVALDI, latencyFilterEven: 'upper', latencyFilterSize: 3 }, SERF_VIVALDI)
})

/** Serf's performance-test driver: every node observes a random other node's true RTT each round. */
function simulate(truthMs: number[][], rounds: number, seed: number): VivaldiClient[] {
  const rng = new SeededRng(seed)
  const n = truthMs.length
  const clients = truthMs.map((_, i) => new VivaldiClient(SERF_VIVALDI, new SeededRng(seed * 1000 + i)))
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      let j = rng.int(n - 1)
      if (j >= i) j++
      clients[i].update(String(j), clients[j].coordinate(), truthMs[i][j])
    }
  }
  return clients
}

function medianRelativeError(clients: VivaldiClient[], truthMs: number[][]): number {
  const errs: number[] = []
  for (let i = 0; i < clients.length; i++) {
    for (let j = i + 1; j < clients.length; j++) errs.push(Math.abs(distanceMs(clients[i].coordinate(), clients[j].coordinate()) - truthMs[i][j]) / truthMs[i][j])
  }
  errs.sort((a, b) => a - b)
  return errs[Math.floor(errs.length / 2)]
}

test('on a two-site split (10 ms LAN, +100 ms WAN) estimates converge to within 5% of the truth', () => {
  const n = 24
  const truth = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : 10 + ((i < n / 2) !== (j < n / 2) ? 100 : 0))))
  const clients = simulate(truth, 1000, 11)
  const err = medianRelativeError(clients, truth)
  assert.ok(err < 0.05, `median relative error ${err}`)
})

test('on a 5 x 5 grid 10 ms apart estimates converge to within 10% of the truth', () => {
  const side = 5
  const n = side * side
  const truth = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => 10 * Math.hypot((i % side) - (j % side), Math.floor(i / side) - Math.floor(j / side))),
  )
  const clients = simulate(truth, 1000, 12)
  const err = medianRelativeError(clients, truth)
  assert.ok(err < 0.1, `median relative error ${err}`)
})

// Vectors from Serf 0.9.4's own coordinate package (client.go, config.go, coordinate.go, built with Go
// 1.19, DefaultConfig): one client fed 60 observations of four peers, an RTT outlier at step 20.
const VECTORS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'coordinates', 'fixtures', 'serf-0.9.4-vivaldi.json')

interface GoCoordinate { Vec: number[]; Error: number; Adjustment: number; Height: number }
const fromGo = (c: GoCoordinate): Coordinate => ({ vec: c.Vec, error: c.Error, adjustment: c.Adjustment, height: c.Height })

test('our client follows Serf 0.9.4\'s coordinate after each of 60 observations, to within 1e-12 relative', () => {
  const steps = JSON.parse(readFileSync(VECTORS, 'utf8')) as Array<{ peer: string; coord: GoCoordinate; rttNs: number; after: GoCoordinate; distNs: number }>
  const client = new VivaldiClient(SERF_VIVALDI, new SeededRng(9))
  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b), 1e-9), `${what}: ${a} vs Serf's ${b}`)
  for (const [i, s] of steps.entries()) {
    const after = client.update(s.peer, fromGo(s.coord), s.rttNs / 1e6)
    assert.ok(typeof after !== 'string', `step ${i} refused: ${String(after)}`)
    const want = fromGo(s.after)
    for (let d = 0; d < 8; d++) close(after.vec[d], want.vec[d], `step ${i} vec[${d}]`)
    close(after.error, want.error, `step ${i} error`)
    close(after.adjustment, want.adjustment, `step ${i} adjustment`)
    close(after.height, want.height, `step ${i} height`)
    assert.ok(Math.abs(distanceMs(after, fromGo(s.coord)) * 1e6 - s.distNs) <= 1, `step ${i} distance ${distanceMs(after, fromGo(s.coord))} ms vs Serf's ${s.distNs} ns`)
  }
})
