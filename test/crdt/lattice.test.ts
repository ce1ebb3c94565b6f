/**
 * The lattice laws of every CRDT, checked with fast-check on random histories of three replicas that
 * mutate, exchange deltas and exchange full states in random order:
 *
 * - merge is commutative, associative and idempotent on the states those histories reach;
 * - every delta produced, merged in any order and any number of times, gives the same state as merging
 *   the replicas' full states;
 * - with a sync after every operation, each type behaves as its sequential counterpart (a counter sums,
 *   a set is a set, a register holds the last write).
 *
 * Equality is canonical-bytes equality (sameCrdt), so these also check that equal states encode equally.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EnableWinsFlag, GCounter, HybridClock, LwwRegister, MVRegister, ORMap, ORSet, PNCounter, decodeCrdt, encodeCrdt, sameCrdt } from '../../src/crdt/index.js'
import type { Crdt } from '../../src/crdt/index.js'

const replicas = ['a', 'b', 'c'] as const
const elements = ['x', 'y', 'z', 'w']

interface Env {
  readonly node: string
  readonly clock: HybridClock
  readonly physicalMs: number
}

/** One type under test: an empty state and its operations; `arg` is a small integer the op interprets. */
interface Subject {
  readonly name: string
  readonly empty: () => Crdt
  readonly ops: number
  readonly apply: (s: Crdt, op: number, arg: number, env: Env) => Crdt
}

const subjects: Subject[] = [
  { name: 'G-Counter', empty: () => new GCounter(), ops: 1, apply: (s, _op, arg, e) => (s as GCounter).increment(e.node, arg) },
  {
    name: 'PN-Counter',
    empty: () => new PNCounter(),
    ops: 2,
    apply: (s, op, arg, e) => (op === 0 ? (s as PNCounter).increment(e.node, arg) : (s as PNCounter).decrement(e.node, arg)),
  },
  {
    name: 'LWW-Register',
    empty: () => new LwwRegister(),
    ops: 1,
    apply: (s, _op, arg, e) => (s as LwwRegister).assign(e.node, elements[arg % 4], e.clock, e.physicalMs),
  },
  {
    name: 'MV-Register',
    empty: () => new MVRegister(),
    ops: 2,
    apply: (s, op, arg, e) => (op === 0 ? (s as MVRegister).assign(e.node, elements[arg % 4]) : (s as MVRegister).clear()),
  },
  {
    name: 'OR-Set',
    empty: () => new ORSet(),
    ops: 3,
    apply: (s, op, arg, e) => {
      const set = s as ORSet
      if (op === 0) return set.add(e.node, elements[arg % 4])
      if (op === 1) return set.remove(elements[arg % 4])
      return set.clear()
    },
  },
  {
    name: 'Flag',
    empty: () => new EnableWinsFlag(),
    ops: 2,
    apply: (s, op, _arg, e) => (op === 0 ? (s as EnableWinsFlag).enable(e.node) : (s as EnableWinsFlag).disable()),
  },
  {
    name: 'OR-Map',
    empty: () => new ORMap(),
    ops: 9,
    apply: (s, op, arg, e) => {
      const m = s as ORMap
      const name = arg % 2 === 0 ? 'p' : 'q'
      const v = elements[arg % 4]
      switch (op) {
        case 0: return m.increment(e.node, name, arg - 3)
        case 1: return m.enable(e.node, name)
        case 2: return m.disable(name)
        case 3: return m.addElement(e.node, name, v)
        case 4: return m.removeElement(name, v)
        case 5: return m.assign(e.node, name, v)
        case 6: return m.assignLww(e.node, name, v, e.clock, e.physicalMs)
        case 7: return m.remove((['counter', 'flag', 'set', 'register', 'lww'] as const)[arg % 5], name)
        default: return m.remove('set', name)
      }
    },
  },
]

/** A step: replica `at` runs op/arg, or receives another replica's full state (`from`). */
interface Step {
  readonly at: number
  readonly op: number
  readonly arg: number
  readonly from: number
  readonly sync: boolean
}

const history = fc.array(
  fc.record({ at: fc.nat(2), op: fc.nat(8), arg: fc.nat(7), from: fc.nat(2), sync: fc.boolean() }),
  { maxLength: 40 },
)

interface Outcome {
  readonly states: Crdt[]
  readonly deltas: Crdt[]
}

function run(subject: Subject, steps: readonly Step[], deliverDeltas: boolean): Outcome {
  const states = replicas.map(() => subject.empty())
  const clocks = replicas.map(() => new HybridClock())
  const deltas: Crdt[] = []
  steps.forEach((step, i) => {
    if (step.sync) {
      merge(states[step.at], states[step.from])
      return
    }
    // Skewed physical clocks: replica c runs 5 ms behind, so the HLC's logical part gets work.
    const env = { node: replicas[step.at], clock: clocks[step.at], physicalMs: 1_700_000_000_000 + i - 5 * step.at }
    const delta = subject.apply(states[step.at], step.op % subject.ops, step.arg, env)
    deltas.push(delta)
    if (deliverDeltas) merge(states[(step.at + 1) % 3], delta)
  })
  return { states, deltas }
}

function merge(into: Crdt, other: Crdt): Crdt {
  return (into as { merge(o: Crdt): Crdt }).merge(other)
}

function join(subject: Subject, parts: readonly Crdt[]): Crdt {
  const out = subject.empty()
  for (const p of parts) merge(out, (p as { clone(): Crdt }).clone())
  return out
}

const params = { numRuns: 150, seed: 16 }

for (const subject of subjects) {
  test(`${subject.name}: merge is commutative, associative and idempotent`, () => {
    fc.assert(
      fc.property(history, fc.boolean(), (steps, deliver) => {
        const [a, b, c] = run(subject, steps, deliver).states
        assert.ok(sameCrdt(join(subject, [a, b]), join(subject, [b, a])), 'a ⊔ b = b ⊔ a')
        assert.ok(sameCrdt(join(subject, [join(subject, [a, b]), c]), join(subject, [a, join(subject, [b, c])])), '(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)')
        assert.ok(sameCrdt(join(subject, [a, a]), a), 'a ⊔ a = a')
        assert.ok(sameCrdt(join(subject, [a]), a), 'bottom ⊔ a = a')
      }),
      params,
    )
  })

  test(`${subject.name}: deltas merged in any order, any number of times, equal the full states`, () => {
    fc.assert(
      fc.property(history, fc.boolean(), fc.array(fc.nat(), { maxLength: 200 }), (steps, deliver, picks) => {
        const { states, deltas } = run(subject, steps, deliver)
        const full = join(subject, states)
        // Every delta once, in a shuffled order, plus duplicates picked at random.
        const order = deltas.map((d, i) => ({ d, k: picks[i] ?? i }))
        order.sort((x, y) => x.k - y.k)
        const dupes = picks.slice(0, 20).filter(() => deltas.length > 0).map((p) => deltas[p % deltas.length])
        const fromDeltas = join(subject, [...order.map((o) => o.d), ...dupes])
        assert.ok(sameCrdt(fromDeltas, full), 'join of deltas = join of full states')
      }),
      params,
    )
  })

  test(`${subject.name}: every state and delta survives encode/decode unchanged`, () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { states, deltas } = run(subject, steps, true)
        for (const s of [...states, ...deltas]) {
          const back = decodeCrdt(encodeCrdt(s))
          assert.ok(back.ok, back.ok ? '' : back.error.message)
          assert.ok(sameCrdt(back.value, s))
          assert.equal(back.value.type, s.type)
        }
      }),
      { numRuns: 60, seed: 16 },
    )
  })
}

test('with a sync after every operation, counters sum and the set behaves as a plain set', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ at: fc.nat(2), add: fc.boolean(), e: fc.nat(3), n: fc.integer({ min: -5, max: 9 }) }), { maxLength: 60 }), (ops) => {
      const counters = replicas.map(() => new PNCounter())
      const sets = replicas.map(() => new ORSet())
      const model = new Set<string>()
      let sum = 0
      for (const op of ops) {
        const node = replicas[op.at]
        const cd = counters[op.at].increment(node, op.n)
        sum += op.n
        const e = elements[op.e]
        const sd = op.add ? sets[op.at].add(node, e) : sets[op.at].remove(e)
        if (op.add) model.add(e)
        else model.delete(e)
        for (let i = 0; i < 3; i++) {
          counters[i].merge(cd)
          sets[i].merge(sd)
        }
      }
      for (let i = 0; i < 3; i++) {
        assert.equal(counters[i].value(), sum)
        assert.deepEqual(sets[i].values(), [...model].sort())
      }
    }),
    params,
  )
})
