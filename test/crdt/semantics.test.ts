/**
 * What each type promises under concurrency, case by case: add-wins, enable-wins, multi-value, last
 * writer by hybrid timestamp then name, reset-remove in the map, and deltas that carry only what changed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EnableWinsFlag, GCounter, HybridClock, LwwRegister, MVRegister, ORMap, ORSet, PNCounter, encodeCrdt } from '../../src/crdt/index.js'

const T0 = 1_700_000_000_000

test('a G-Counter delta carries only the writer\'s entry, so its size does not grow with the cluster', () => {
  const c = new GCounter()
  for (let i = 0; i < 100; i++) c.increment(`node-${i}`, i + 1)
  const delta = c.increment('node-7', 5)
  assert.equal(c.value(), 5050 + 5)
  assert.ok(encodeCrdt(delta).length < 20, `delta is ${encodeCrdt(delta).length} bytes`)
  assert.ok(encodeCrdt(c).length > 900)
})

test('counters refuse amounts that are not safe integers and change nothing', () => {
  const g = new GCounter()
  assert.throws(() => g.increment('a', -1), RangeError)
  assert.throws(() => g.increment('a', 1.5), RangeError)
  g.increment('a', Number.MAX_SAFE_INTEGER)
  assert.throws(() => g.increment('a', 1), /would pass/)
  assert.equal(g.value(), Number.MAX_SAFE_INTEGER)
  const pn = new PNCounter()
  pn.increment('a', 10)
  pn.decrement('b', 3)
  pn.increment('c', -2)
  assert.equal(pn.value(), 5)
  assert.throws(() => pn.decrement('a', -1), RangeError)
})

test('OR-Set: an add concurrent with a remove wins; a remove of what was seen wins', () => {
  const a = new ORSet()
  const b = new ORSet()
  b.merge(a.add('a', 'x'))
  const remove = b.remove('x') // b saw a's add
  const readd = a.add('a', 'x') // concurrent with the remove
  a.merge(remove)
  b.merge(readd)
  assert.deepEqual(a.values(), ['x'])
  assert.deepEqual(b.values(), ['x'])
  b.merge(b.remove('x'))
  a.merge(b.clone())
  assert.equal(a.has('x'), false)
  assert.equal(a.size, 0)
})

test('OR-Set keeps no tombstones: a removed element leaves only its dots in the version vector', () => {
  const s = new ORSet()
  for (let i = 0; i < 1000; i++) s.add('a', `e${i}`)
  for (let i = 0; i < 1000; i++) s.remove(`e${i}`)
  assert.equal(s.size, 0)
  assert.ok(encodeCrdt(s).length < 16, `emptied set encodes in ${encodeCrdt(s).length} bytes`)
})

test('Flag: enable wins over a concurrent disable, a disable of what was seen wins', () => {
  const a = new EnableWinsFlag()
  const b = new EnableWinsFlag()
  b.merge(a.enable('a'))
  const off = b.disable()
  const on = a.enable('a')
  a.merge(off)
  b.merge(on)
  assert.equal(a.value(), true)
  assert.equal(b.value(), true)
  a.merge(a.disable())
  b.merge(a.clone())
  assert.equal(b.value(), false)
})

test('MV-Register: concurrent writes are all kept until a write that saw them', () => {
  const a = new MVRegister()
  const b = new MVRegister()
  const da = a.assign('a', 'red')
  const db = b.assign('b', 'blue')
  a.merge(db)
  b.merge(da)
  assert.deepEqual(a.values(), ['blue', 'red'])
  assert.deepEqual(b.values(), ['blue', 'red'])
  b.merge(a.assign('a', 'green'))
  assert.deepEqual(b.values(), ['green'])
})

test('LWW-Register: the later hybrid timestamp wins even when the writer\'s physical clock is behind', () => {
  const fast = new HybridClock()
  const slow = new HybridClock()
  const a = new LwwRegister()
  const b = new LwwRegister()
  b.merge(a.assign('a', 'first', fast, T0 + 10_000)) // a's clock is 10 s ahead
  b.merge(b.assign('b', 'second', slow, T0)) // b writes after seeing it, with an older physical time
  a.merge(b.clone())
  assert.equal(a.value(), 'second')
  assert.equal(b.winner!.ts.wallMs, T0 + 10_000)
  assert.equal(b.winner!.ts.logical, 1)
})

test('LWW-Register: equal timestamps are broken by the writer\'s name, the same way everywhere', () => {
  const a = new LwwRegister()
  const b = new LwwRegister()
  const da = a.assign('alpha', 'from-alpha', new HybridClock(), T0)
  const db = b.assign('beta', 'from-beta', new HybridClock(), T0)
  a.merge(db)
  b.merge(da)
  assert.equal(a.value(), 'from-beta')
  assert.equal(b.value(), 'from-beta')
})

test('OR-Map: removing a field resets it; an update concurrent with the remove survives alone', () => {
  const a = new ORMap()
  const b = new ORMap()
  b.merge(a.addElement('a', 'tags', 'x'))
  b.merge(a.addElement('a', 'tags', 'y'))
  const reset = b.remove('set', 'tags')
  const concurrent = a.addElement('a', 'tags', 'z')
  a.merge(reset)
  b.merge(concurrent)
  assert.deepEqual(a.set('tags'), ['z'])
  assert.deepEqual(b.set('tags'), ['z'])
})

test('OR-Map: fields of different kinds under one name are independent', () => {
  const m = new ORMap()
  const clock = new HybridClock()
  m.increment('a', 'x', 5)
  m.increment('b', 'x', -2)
  m.enable('a', 'x')
  m.addElement('a', 'x', 'e')
  m.assign('a', 'x', 'mv')
  m.assignLww('a', 'x', 'lww', clock, T0)
  assert.equal(m.counter('x'), 3)
  assert.equal(m.flag('x'), true)
  assert.deepEqual(m.set('x'), ['e'])
  assert.deepEqual(m.register('x'), ['mv'])
  assert.equal(m.lww('x'), 'lww')
  assert.deepEqual(m.keys().map((k) => k.kind), ['counter', 'flag', 'lww', 'register', 'set'])
  m.remove('counter', 'x')
  assert.equal(m.counter('x'), 0)
  assert.equal(m.has('counter', 'x'), false)
  assert.equal(m.flag('x'), true)
})

test('OR-Map counter: each writer keeps one entry, replaced by its increments', () => {
  const a = new ORMap()
  const b = new ORMap()
  for (let i = 0; i < 50; i++) b.merge(a.increment('a', 'hits', 1))
  for (let i = 0; i < 30; i++) a.merge(b.increment('b', 'hits', 2))
  assert.equal(a.counter('hits'), 110)
  assert.equal(b.counter('hits'), 110)
  assert.ok(encodeCrdt(a).length < 60, `${encodeCrdt(a).length} bytes`)
})
