/**
 * The aggregation state machines driven by a tiny synchronous network (every message delivered at once
 * or lost), seeded: estimates per epoch, epochs tracking changed values and membership, late joiners,
 * loss confined to its epoch, and bad messages dropped with a reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { ConfigError } from '../../src/core/errors.js'
import { PushPullAggregator, PushSumAggregator, decodeAggregationMessage, encodeAggregationMessage, epochLeader } from '../../src/aggregation/index.js'
import type { AggregateFunctionName, Outgoing } from '../../src/aggregation/index.js'

type Aggregator = PushPullAggregator | PushSumAggregator

interface Net {
  nodes: Map<string, { agg: Aggregator; value: number }>
  rng: SeededRng
  loss: number
  lost: number
}

function cluster(n: number, make: () => Aggregator, value: (i: number) => number, seed = 16): Net {
  const nodes = new Map<string, { agg: Aggregator; value: number }>()
  for (let i = 0; i < n; i++) nodes.set(`n${i}`, { agg: make(), value: value(i) })
  return { nodes, rng: new SeededRng(seed), loss: 0, lost: 0 }
}

function input(net: Net, name: string) {
  return { self: name, peers: [...net.nodes.keys()].filter((p) => p !== name), localValue: net.nodes.get(name)!.value }
}

function deliver(net: Net, from: string, out: Outgoing | undefined): void {
  if (out === undefined) return
  if (net.rng.float() < net.loss) {
    net.lost++
    return
  }
  const target = net.nodes.get(out.to)
  if (target === undefined) return
  const r = target.agg.handle(from, out.bytes, input(net, out.to))
  assert.notEqual(r.kind, 'dropped')
  if (r.kind !== 'dropped' && r.reply !== undefined) deliver(net, out.to, r.reply)
}

function cycles(net: Net, count: number): void {
  for (let c = 0; c < count; c++) {
    for (const name of net.rng.shuffle([...net.nodes.keys()])) deliver(net, name, net.nodes.get(name)!.agg.tick(input(net, name), net.rng))
  }
}

function estimates(net: Net): Array<{ value: number | undefined; epoch: number }> {
  return [...net.nodes.values()].map((n) => n.agg.estimate() ?? { value: undefined, epoch: -1 })
}

const pp = (fn: AggregateFunctionName, epochCycles = 30) => () => new PushPullAggregator({ fn, epochCycles })
const ps = (fn: AggregateFunctionName, epochCycles = 40) => () => new PushSumAggregator({ fn, epochCycles })

function assertAll(net: Net, expected: number, relative: number, epoch: number): void {
  for (const e of estimates(net)) {
    assert.equal(e.epoch, epoch)
    assert.ok(e.value !== undefined && Math.abs(e.value - expected) <= relative * Math.abs(expected), `estimate ${e.value} vs ${expected}`)
  }
}

test('push-pull: after one epoch every node publishes the average, count, sum, min and max of the values', () => {
  const value = (i: number) => 10 + (i % 7) * 3
  const values = Array.from({ length: 200 }, (_, i) => value(i))
  const truth = { avg: values.reduce((s, v) => s + v) / 200, sum: values.reduce((s, v) => s + v), count: 200, min: Math.min(...values), max: Math.max(...values) }
  for (const fn of ['avg', 'sum', 'count', 'min', 'max'] as const) {
    const net = cluster(200, pp(fn), value)
    cycles(net, 31)
    // The indicator of count and sum starts as one peak: its spread takes longer to fall than the values'.
    assertAll(net, truth[fn], fn === 'count' || fn === 'sum' ? 1e-4 : 1e-6, 0)
  }
})

test('push-sum: after one epoch every node publishes the average and the count within 1 %', () => {
  for (const fn of ['avg', 'count'] as const) {
    const net = cluster(200, ps(fn), (i) => i)
    cycles(net, 41)
    assertAll(net, fn === 'avg' ? 99.5 : 200, 0.01, 0)
  }
})

test('each epoch starts from the current values and members: a changed value and a departed node show in the next epoch', () => {
  // Epoch e runs over ticks 20e+1 .. 20e+20 and is published at tick 20e+21, when e+1 starts.
  const net = cluster(100, pp('avg', 20), () => 5)
  cycles(net, 21)
  assertAll(net, 5, 1e-6, 0)
  for (const n of net.nodes.values()) n.value = 7 // epoch 1 already started with 5
  cycles(net, 40)
  assertAll(net, 7, 1e-6, 2)
  const counting = cluster(100, pp('count', 20), () => 0)
  cycles(counting, 21)
  assertAll(counting, 100, 1e-3, 0)
  for (let i = 0; i < 10; i++) counting.nodes.delete(`n${i}`)
  cycles(counting, 40)
  assertAll(counting, 90, 1e-3, 2)
})

test('a node that starts late is pulled into the running epoch by the first message it gets', () => {
  const net = cluster(50, pp('avg', 20), () => 1)
  cycles(net, 45) // epochs 0 and 1 published, epoch 2 at its 4th cycle
  const late = new PushPullAggregator({ fn: 'avg', epochCycles: 20 })
  net.nodes.set('late', { agg: late, value: 52 })
  cycles(net, 17) // epoch 2 published at tick 61 (62 for a node that joined a tick behind)
  assert.equal(late.estimate()?.epoch, 2)
  assert.equal(late.current().epoch, 3)
  // One node at 52 among 50 at 1 is a spread of 3.5x the mean, and 15 cycles leave about 0.55^15 of it.
  assertAll(net, 102 / 51, 1e-2, 2)
})

test('push-sum: lost pushes skew only their own epoch; the next epoch is exact again', () => {
  const net = cluster(200, ps('count', 40), () => 0)
  net.loss = 0.2
  cycles(net, 40)
  net.loss = 0
  cycles(net, 1) // publishes epoch 0
  assert.ok(net.lost > 1000)
  const skewed = estimates(net).map((e) => e.value ?? 0)
  assert.ok(skewed.some((v) => Math.abs(v - 200) > 10), 'a 20 % loss must show in the count')
  cycles(net, 40)
  assertAll(net, 200, 0.01, 1)
})

test('bad bytes, a message of the other protocol and non-finite numbers are dropped with a reason', () => {
  const agg = new PushPullAggregator({ fn: 'avg', epochCycles: 10 })
  const inp = { self: 'a', peers: ['b'], localValue: 1 }
  const junk = agg.handle('b', Uint8Array.of(1, 2, 3), inp)
  assert.equal(junk.kind, 'dropped')
  const other = agg.handle('b', encodeAggregationMessage({ protocol: 'push-sum', kind: 'push', epoch: 0, cycle: 0, x: 1, w: 1 }), inp)
  assert.match(other.kind === 'dropped' ? String(other.error) : '', /push-sum message to a push-pull aggregator/)
  const nan = encodeAggregationMessage({ protocol: 'push-pull', kind: 'request', epoch: 0, cycle: 0, x: Number.NaN, w: 1 })
  const r = decodeAggregationMessage(nan)
  assert.match(!r.ok ? r.error.message : '', /x is not a finite number/)
  const bytes = encodeAggregationMessage({ protocol: 'push-pull', kind: 'reply', epoch: 3, cycle: 7, x: 0.1, w: -2 })
  assert.deepEqual(decodeAggregationMessage(bytes), { ok: true, value: { protocol: 'push-pull', kind: 'reply', epoch: 3, cycle: 7, x: 0.1, w: -2 } })
  for (let n = 0; n < bytes.length; n++) assert.equal(decodeAggregationMessage(bytes.subarray(0, n)).ok, false)
})

test('a bad configuration is refused naming the field and a starting value', () => {
  assert.throws(() => new PushSumAggregator({ fn: 'median' as AggregateFunctionName, epochCycles: 1 }), (e: unknown) => e instanceof ConfigError && /fn: expected one of avg/.test(e.message) && /epochCycles: expected an integer >= 2 like 30/.test(e.message))
})

test('every member computes the same epoch leader, and leadership rotates', () => {
  const members = Array.from({ length: 20 }, (_, i) => `node-${i}`)
  const leaders = new Set<string>()
  for (let e = 0; e < 40; e++) {
    const l = epochLeader(e, members)!
    assert.equal(epochLeader(e, [...members].reverse()), l)
    leaders.add(l)
  }
  assert.ok(leaders.size >= 10, `${leaders.size} distinct leaders over 40 epochs`)
})
