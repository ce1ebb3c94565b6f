// The aggregation stack protocol on its own: partners are the peers announcing the same aggregate,
// frames are checked before a machine sees them, estimates are reported once per epoch, and settings
// and value functions are refused with the field named. Pure: no simulator needed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { ConfigError } from '../../src/core/errors.js'
import { AGGREGATE_KEY_PREFIX, AggregationProtocol, aggregateSignature, resolveAggregateSpec, unframe } from '../../src/stack/aggregation-protocol.js'
import type { AggregateEstimate } from '../../src/aggregation/common.js'

function setup(announced: Record<string, Record<string, string>>) {
  const estimates: Array<[string, AggregateEstimate]> = []
  const view = { get: (node: string, key: string) => announced[node]?.[key] }
  const p = new AggregationProtocol('a', new SeededRng(3), view, (name, e) => estimates.push([name, e]))
  const sent: Array<{ to: string; bytes: Uint8Array }> = []
  const send = (to: string, bytes: Uint8Array): boolean => (sent.push({ to, bytes }), true)
  return { p, sent, send, estimates }
}

const spec = resolveAggregateSpec('load', 'avg', { cycleMs: 100, epochCycles: 3 })
const sig = aggregateSignature(spec)

test('a cycle sends one framed message, only to a peer announcing the same aggregate with the same settings', () => {
  const key = AGGREGATE_KEY_PREFIX + 'load'
  const { p, sent, send } = setup({ b: { [key]: sig }, c: { [key]: 'avg push-sum 100 3' }, d: {} })
  p.start(spec, () => 5)
  for (let t = 0; t < 10; t++) p.onRound(t * 100, ['b', 'c', 'd'], send)
  assert.ok(sent.length >= 10)
  assert.ok(sent.every((s) => s.to === 'b'), 'c runs other settings and d nothing: never picked')
  const f = unframe(sent[0].bytes)
  assert.ok(typeof f !== 'string')
  assert.equal(f.name, 'load')
  assert.equal(f.fn, 'avg')
  assert.equal(f.epochCycles, 3)
  assert.equal(p.status('load')!.participants, 2)
})

test('the round is wanted at the next cycle only while an aggregate runs', () => {
  const { p, send } = setup({})
  assert.equal(p.nextRoundMs(0), undefined)
  p.start(spec, () => 1)
  assert.equal(p.nextRoundMs(0), 0)
  p.onRound(0, [], send)
  assert.equal(p.nextRoundMs(10), 100)
  assert.ok(p.stop('load'))
  assert.equal(p.nextRoundMs(10), undefined)
  assert.equal(p.stop('load'), false)
})

/** The first message a node running `name` of `fn` sends (to a peer 'a' announcing the same). */
function firstFrame(name: string, fn: string): Uint8Array {
  const other = resolveAggregateSpec(name, fn, { cycleMs: 100, epochCycles: 3 })
  const q = setup({ a: { [AGGREGATE_KEY_PREFIX + name]: aggregateSignature(other) } })
  q.p.start(other, () => 1)
  q.p.onRound(0, ['a'], q.send)
  return q.sent[0].bytes
}

test('junk, an unknown aggregate and a frame of another function are counted and dropped without a reply', () => {
  const { p, sent, send } = setup({})
  p.start(spec, () => 1)
  p.onMessage('b', Uint8Array.of(1, 2), 0, send)
  p.onMessage('b', Uint8Array.of(9, 0, 0, 3, 1, 0x41, 0), 0, send)
  assert.equal(p.counts.malformed, 2)
  p.onMessage('b', firstFrame('other', 'avg'), 0, send)
  assert.equal(p.counts.unknownAggregate, 1)
  p.onMessage('b', firstFrame('load', 'max'), 0, send)
  assert.equal(p.status('load')!.counters.dropped, 1)
  assert.equal(sent.length, 0)
})

test('two nodes average their values and report each epoch once', () => {
  const key = AGGREGATE_KEY_PREFIX + 'load'
  const a = setup({ b: { [key]: sig } })
  const b = new AggregationProtocol('b', new SeededRng(4), { get: (n, k) => (n === 'a' && k === key ? sig : undefined) }, () => {})
  a.p.start(spec, () => 10)
  b.start(spec, () => 30)
  const toB: Uint8Array[] = []
  const toA: Uint8Array[] = []
  for (let t = 0; t < 12; t++) {
    a.p.onRound(t * 100, ['b'], (_to, bytes) => (toB.push(bytes), true))
    for (const m of toB.splice(0)) b.onMessage('a', m, t * 100, (_to, bytes) => (toA.push(bytes), true))
    for (const m of toA.splice(0)) a.p.onMessage('b', m, t * 100, (_to, bytes) => (toB.push(bytes), true))
  }
  const e = a.p.status('load')!.estimate!
  assert.equal(e.value, 20)
  assert.deepEqual(a.estimates.map(([, x]) => x.epoch), [...Array(a.estimates.length).keys()], 'one report per epoch, in order')
})

test('bad settings and a value function that gives no number are ConfigErrors naming the field; a later bad reading keeps the last value', () => {
  assert.throws(() => resolveAggregateSpec('a b', 'mean', { mode: 'x' as never, cycleMs: 1, epochCycles: 1 }), (e: unknown) => e instanceof ConfigError && e.problems.length === 5)
  const { p, send } = setup({})
  assert.throws(() => p.start(spec, () => Number.NaN), /value: the value function returned NaN/)
  assert.throws(() => p.start(spec, () => { throw new Error('no sensor') }), /value: the value function threw: no sensor/)
  let v = 7
  p.start(spec, () => { if (v < 0) throw new Error('gone'); return v })
  assert.throws(() => p.start(spec, () => 1), /runs already/)
  v = -1
  for (let t = 0; t < 8; t++) p.onRound(t * 100, [], send)
  const s = p.status('load')!
  assert.equal(s.localValue, 7)
  assert.ok(s.counters.valueErrors >= 1)
  assert.match(s.lastValueError ?? '', /gone/)
})
