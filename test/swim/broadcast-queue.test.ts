import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BroadcastQueue } from '../../src/swim/broadcast-queue.js'

/** memberlist's selection, written the obvious way: sort everything, pick greedily. */
class ReferenceQueue {
  items: Array<{ name: string; bytes: Uint8Array; id: number; transmits: number }> = []
  next = 0
  queue(name: string, bytes: Uint8Array): void {
    this.items = this.items.filter((i) => i.name !== name)
    this.items.push({ name, bytes, id: this.next++, transmits: 0 })
  }
  take(overhead: number, limit: number, transmitLimit: number): Uint8Array[] {
    this.items.sort((a, b) => a.transmits - b.transmits || b.bytes.length - a.bytes.length || b.id - a.id)
    const out: Uint8Array[] = []
    const retired = new Set<object>()
    let used = 0
    for (const item of this.items) {
      if (used + item.bytes.length + overhead > limit) continue
      used += item.bytes.length + overhead
      out.push(item.bytes)
      item.transmits++
      if (item.transmits >= transmitLimit) retired.add(item) // retired when picked, as memberlist does
      if (limit - used < overhead + 1) break
    }
    this.items = this.items.filter((i) => !retired.has(i))
    return out
  }
}

test('bucketed queue selects exactly as memberlist: fewest transmits, largest that fits, newest', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('queue' as const), name: fc.integer({ min: 0, max: 15 }), size: fc.integer({ min: 1, max: 300 }) }),
    fc.record({ kind: fc.constant('take' as const), limit: fc.integer({ min: 0, max: 1400 }), transmitLimit: fc.integer({ min: 1, max: 6 }) }),
  )
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const q = new BroadcastQueue()
      const ref = new ReferenceQueue()
      let serial = 0
      for (const o of ops) {
        if (o.kind === 'queue') {
          const bytes = new Uint8Array(o.size).fill(serial++ & 0xff)
          q.queue(`n${o.name}`, bytes)
          ref.queue(`n${o.name}`, bytes)
        } else {
          assert.deepEqual(q.take(2, o.limit, o.transmitLimit), ref.take(2, o.limit, o.transmitLimit))
          assert.equal(q.size, ref.items.length)
        }
      }
    }),
    { numRuns: 300 },
  )
})

test('a newer broadcast about the same name replaces the queued one; retire and overflow are reported', () => {
  const reasons: string[] = []
  const q = new BroadcastQueue(2)
  q.queue('a', Uint8Array.of(1), (r) => reasons.push(`a:${r}`))
  q.queue('a', Uint8Array.of(2), (r) => reasons.push(`a2:${r}`))
  assert.deepEqual(reasons, ['a:replaced'])
  assert.deepEqual(q.take(0, 100, 1), [Uint8Array.of(2)])
  assert.deepEqual(reasons, ['a:replaced', 'a2:sent'])
  q.queue('x', Uint8Array.of(1, 1), (r) => reasons.push(`x:${r}`))
  q.queue('y', Uint8Array.of(1), (r) => reasons.push(`y:${r}`))
  q.queue('z', Uint8Array.of(1, 1, 1))
  assert.equal(q.size, 2)
  assert.equal(q.dropped, 1)
  assert.ok(reasons.includes('y:dropped'), reasons.join())
})
