import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TimerQueue } from '../../src/core/timer-queue.js'
import { SeededRng, deriveSeed } from '../../src/core/rng.js'
import { addressKey, bytesToIp, ipToBytes, parseAddress } from '../../src/core/types.js'
import { ConfigError, resolveConfig } from '../../src/swim/config.js'

test('timer queue pops by due time, then by scheduling order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (dues) => {
      const q = new TimerQueue<number>()
      dues.forEach((d, i) => q.push(d, i))
      const popped: Array<[number, number]> = []
      for (let e = q.pop(); e; e = q.pop()) popped.push([e.dueAtMs, e.item])
      const expected = dues.map((d, i): [number, number] => [d, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
      assert.deepEqual(popped, expected)
    }),
  )
})

test('seeded rng is reproducible, and derived seeds differ per index', () => {
  const a = new SeededRng(42)
  const b = new SeededRng(42)
  const xs = Array.from({ length: 100 }, () => a.u32())
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.u32()))
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => new SeededRng(43).u32()))
  const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(7, i)))
  assert.equal(seeds.size, 1000)
})

test('rng.int is uniform enough and within bounds; sample gives distinct items', () => {
  const r = new SeededRng(1)
  const counts = new Array<number>(10).fill(0)
  for (let i = 0; i < 100_000; i++) counts[r.int(10)]++
  for (const c of counts) assert.ok(c > 9_500 && c < 10_500, `bucket ${c}`)
  const items = Array.from({ length: 50 }, (_, i) => i)
  const s = r.sample(items, 10)
  assert.equal(new Set(s).size, 10)
  assert.equal(r.sample(items, 80).length, 50)
})

test('IP literals round-trip unchanged, and IPv4-mapped IPv6 becomes IPv4', () => {
  assert.deepEqual([...ipToBytes('127.0.0.1')!], [127, 0, 0, 1])
  assert.equal(bytesToIp(ipToBytes('::1')!), '::1')
  assert.equal(bytesToIp(ipToBytes('fe80::1:2')!), 'fe80::1:2')
  assert.equal(bytesToIp(ipToBytes('::ffff:10.1.2.3')!), '10.1.2.3')
  assert.equal(ipToBytes('256.1.1.1'), undefined)
  assert.equal(ipToBytes('example.com'), undefined)
  assert.deepEqual(parseAddress('[::1]:7946'), { ip: '::1', port: 7946 })
  assert.deepEqual(parseAddress('127.0.0.1', 7946), { ip: '127.0.0.1', port: 7946 })
  assert.equal(parseAddress('127.0.0.1:99999'), undefined)
  assert.equal(addressKey({ ip: '::1', port: 1 }), '[::1]:1')
})

test('resolveConfig gives memberlist profiles and names every bad field with its fix', () => {
  assert.equal(resolveConfig({}, 'lan').probeIntervalMs, 1000)
  assert.equal(resolveConfig({}, 'wan').suspicionMult, 6)
  assert.equal(resolveConfig({}, 'local').indirectChecks, 1)
  assert.throws(
    () => resolveConfig({ probeIntervalMs: 100, probeTimeoutMs: 500, gossipNodes: -1 } as never),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError)
      assert.equal(e.problems.length, 2)
      assert.match(e.message, /gossipNodes must be an integer/)
      assert.match(e.message, /probeTimeoutMs \(500\) must be smaller than probeIntervalMs \(100\)/)
      return true
    },
  )
  assert.throws(() => resolveConfig({ probeIntervl: 5 } as never), /probeIntervl is not a configuration field/)
})
