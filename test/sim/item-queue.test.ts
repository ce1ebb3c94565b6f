/**
 * The simulator's event queue (runtime/sim/item-queue.ts) keeps core/timer-queue.ts's order, so a run
 * replays item for item as it did on TimerQueue.
 *
 *   push(due, item) × n, pops interleaved ──▶ same sequence as TimerQueue, and as a stable sort by due
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TimerQueue } from '../../src/core/timer-queue.js'
import { ItemQueue } from '../../src/runtime/sim/item-queue.js'

test('item queue pops by due time, then by push order, as a stable sort would', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 3000 }), (dues) => {
      const q = new ItemQueue<number>()
      dues.forEach((d, i) => q.push(d, i))
      assert.equal(q.size, dues.length)
      const popped: Array<[number, number]> = []
      for (let item = q.pop(); item !== undefined; item = q.pop()) popped.push([q.poppedDueMs, item])
      const expected = dues.map((d, i): [number, number] => [d, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
      assert.deepEqual(popped, expected)
      assert.equal(q.nextDueMs, Infinity)
    }),
  )
})

test('item queue matches TimerQueue item for item when pushes and pops interleave (as the simulator runs)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 50, noNaN: true })), { maxLength: 2000 }), (ops) => {
      const a = new ItemQueue<number>()
      const b = new TimerQueue<number>()
      let now = 0
      ops.forEach(([pop, delay], i) => {
        if (pop) {
          const x = a.pop()
          const y = b.pop()
          assert.equal(x, y?.item)
          if (y !== undefined) {
            assert.equal(a.poppedDueMs, y.dueAtMs)
            now = y.dueAtMs
          }
        } else {
          a.push(now + delay, i)
          b.push(now + delay, i)
        }
        assert.equal(a.size, b.size)
        assert.equal(a.nextDueMs, b.peek()?.dueAtMs ?? Infinity)
      })
    }),
  )
})

test('item queue drops its references on pop and clear, so popped items can be collected', () => {
  const q = new ItemQueue<object>()
  for (let i = 0; i < 5000; i++) q.push(i % 7, { i })
  for (let i = 0; i < 2500; i++) q.pop()
  const slots = (q as unknown as { items: Array<object | undefined> }).items
  assert.equal(slots.filter((x) => x !== undefined).length, 2500)
  q.clear()
  assert.equal(q.size, 0)
  assert.equal(slots.filter((x) => x !== undefined).length, 0)
  assert.equal(q.pop(), undefined)
})
