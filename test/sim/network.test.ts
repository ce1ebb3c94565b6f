import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Fate, Network, NetworkOptionsError, resolveNetworkOptions } from '../../src/runtime/sim/network.js'

function rate(net: Network, from: number, to: number, n: number, bit: number): number {
  let hits = 0
  for (let i = 0; i < n; i++) {
    net.route(from, to)
    if (net.lastFate & bit) hits++
  }
  return hits / n
}

test('the loss rate is near its setting over many packets', () => {
  for (const p of [0.01, 0.05, 0.3]) {
    const net = new Network(42, { packetLossProbability: p })
    const n = 200_000
    const observed = rate(net, 0, 1, n, Fate.lost)
    const sigma = Math.sqrt((p * (1 - p)) / n)
    assert.ok(Math.abs(observed - p) < 5 * sigma, `loss ${p}: observed ${observed}`)
    assert.equal(net.stats.packetsLost, Math.round(observed * n))
  }
})

test('duplication and reordering rates are near their settings', () => {
  const net = new Network(7, { packetDuplicationProbability: 0.1, packetReorderProbability: 0.2, packetReorderDelayMsMax: 50 })
  const n = 100_000
  let dup = 0
  let reordered = 0
  for (let i = 0; i < n; i++) {
    const copies = net.route(0, 1)
    if (copies === 2) dup++
    if (net.lastFate & Fate.reordered) reordered++
  }
  assert.ok(Math.abs(dup / n - 0.1) < 0.005, `duplication ${dup / n}`)
  // A packet is marked reordered when any of its copies is: 1 - (1-p)^copies on average.
  const expected = 0.9 * 0.2 + 0.1 * (1 - 0.8 * 0.8)
  assert.ok(Math.abs(reordered / n - expected) < 0.006, `reordered ${reordered / n} vs ${expected}`)
})

test('delays stay within their bounds and reordering adds at most its maximum', () => {
  const net = new Network(3, { oneWayDelayMsMin: 2, oneWayDelayMsMax: 8 })
  let sum = 0
  const n = 50_000
  for (let i = 0; i < n; i++) {
    assert.equal(net.route(0, 1), 1)
    const d = net.delays[0]
    assert.ok(d >= 2 && d <= 8, `delay ${d}`)
    assert.equal(Math.round(d * 1000) / 1000, d, 'delays are whole microseconds')
    sum += d
  }
  assert.ok(Math.abs(sum / n - 5) < 0.05, `uniform mean ${sum / n}`)

  const slow = new Network(3, { oneWayDelayMsMin: 1, oneWayDelayMsMax: 1, packetReorderProbability: 1, packetReorderDelayMsMax: 30 })
  for (let i = 0; i < 1000; i++) {
    slow.route(0, 1)
    assert.ok(slow.delays[0] > 1 && slow.delays[0] <= 31, `reordered delay ${slow.delays[0]}`)
  }

  const exp = new Network(5, { oneWayDelayMsMin: 1, oneWayDelayMsMax: 100, oneWayDelayDistribution: 'exponential', oneWayDelayMsMean: 5 })
  let esum = 0
  for (let i = 0; i < n; i++) {
    exp.route(0, 1)
    assert.ok(exp.delays[0] >= 1 && exp.delays[0] <= 100)
    esum += exp.delays[0]
  }
  assert.ok(Math.abs(esum / n - 5) < 0.2, `exponential mean ${esum / n}`)
})

test('block stops exactly the directions asked', () => {
  const net = new Network(1)
  const a = [0, 1, 2]
  const b = [3, 4]
  const other = 5
  net.block(a, b)
  for (let from = 0; from <= 5; from++) {
    for (let to = 0; to <= 5; to++) {
      const expected = a.includes(from) && b.includes(to)
      assert.equal(net.isBlocked(from, to), expected, `${from} → ${to}`)
    }
  }
  assert.equal(net.route(1, 4), 0)
  assert.equal(net.lastFate, Fate.blocked)
  assert.equal(net.route(4, 1), 1, 'the reverse direction stays open')
  assert.equal(net.connected(1, 4), false)
  assert.equal(net.connected(1, other), true)
  assert.equal(net.stats.packetsBlocked, 1)
})

test('a partition is symmetric unless one-way, and unblock lifts only its own rules', () => {
  const net = new Network(1)
  const both = net.partition([0, 1], [2, 3])
  assert.ok(net.isBlocked(0, 2) && net.isBlocked(2, 0) && net.isBlocked(1, 3) && net.isBlocked(3, 1))
  assert.ok(!net.isBlocked(0, 1) && !net.isBlocked(2, 3))
  const oneWay = net.partition([4], [5], { oneWay: true })
  assert.equal(oneWay.length, 1)
  assert.ok(net.isBlocked(4, 5) && !net.isBlocked(5, 4))
  net.unblock(both)
  assert.ok(!net.isBlocked(0, 2) && !net.isBlocked(2, 0))
  assert.ok(net.isBlocked(4, 5), 'the other partition is still in force')
  net.heal()
  assert.ok(!net.isBlocked(4, 5) && !net.partitioned)
})

test('split isolates every group from every other', () => {
  const net = new Network(1)
  const groups = [[0, 1], [2], [3, 4, 5]]
  net.split(groups)
  const groupOf = (n: number): number => groups.findIndex((g) => g.includes(n))
  for (let from = 0; from < 6; from++) {
    for (let to = 0; to < 6; to++) assert.equal(net.isBlocked(from, to), groupOf(from) !== groupOf(to), `${from} → ${to}`)
  }
})

test('link overrides apply to one direction only', () => {
  const net = new Network(9, { latencyMs: [1, 2] })
  net.setLink(0, 1, { packetLossProbability: 1 })
  net.setLink(1, 0, { oneWayDelayMsMin: 50, oneWayDelayMsMax: 60 })
  for (let i = 0; i < 100; i++) {
    assert.equal(net.route(0, 1), 0)
    assert.equal(net.route(1, 0), 1)
    assert.ok(net.delays[0] >= 50 && net.delays[0] <= 60)
    assert.equal(net.route(0, 2), 1)
    assert.ok(net.delays[0] <= 2)
  }
  net.setLink(0, 1, null)
  assert.equal(net.route(0, 1), 1)
  assert.equal(net.linkOptions(1, 0).oneWayDelayMsMin, 50)
})

test('the same seed gives the same decisions, and another seed different ones', () => {
  const run = (seed: number): string => {
    const net = new Network(seed, { packetLossProbability: 0.2, packetDuplicationProbability: 0.1, packetReorderProbability: 0.1 })
    const out: string[] = []
    for (let i = 0; i < 500; i++) {
      const copies = net.route(i % 7, (i * 3) % 11)
      out.push(`${net.lastFate}:${net.delays.slice(0, copies).join('/')}`)
    }
    return out.join(' ')
  }
  assert.equal(run(11), run(11))
  assert.notEqual(run(11), run(12))
})

test('configure changes the defaults, and bad knobs are rejected with their name', () => {
  const net = new Network(1, { loss: 0.5, latencyMs: [3, 4] })
  assert.equal(net.options.packetLossProbability, 0.5)
  assert.equal(net.options.oneWayDelayMsMin, 3)
  net.configure({ packetLossProbability: 0 })
  assert.equal(net.options.packetLossProbability, 0)
  assert.equal(net.options.oneWayDelayMsMax, 4, 'other knobs unchanged')
  assert.throws(() => resolveNetworkOptions({ packetLossProbability: 1.5 }), (e: unknown) => e instanceof NetworkOptionsError && /packetLossProbability/.test(e.message))
  assert.throws(() => resolveNetworkOptions({ latencyMs: [10, 1] }), /oneWayDelayMsMin \(10\) must not exceed oneWayDelayMsMax \(1\)/)
  assert.throws(() => net.configure({ oneWayDelayMsMin: -1 }), /oneWayDelayMsMin/)
  assert.throws(() => net.setLink(0, 1, { packetDuplicationProbability: 2 }), /packetDuplicationProbability/)
})
