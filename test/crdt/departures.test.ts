/**
 * Folding a graceful leaver into its one heir (src/crdt/floors.ts departureOf, replication/handoff.ts),
 * checked with fast-check on random histories of three member slots that mutate, exchange full states,
 * and leave: the leaver's state is merged into a live heir, the heir folds the leaver into its own entry
 * (floor name → generation + 1), and a fresh name takes the slot:
 *
 * - merge stays commutative, associative and idempotent on the states those histories reach (with the
 *   retirement markers in them);
 * - every delta ever made (heir folds included, leavers' too), merged in any order and repeated, equals
 *   the join of every state ever held;
 * - a PN-Counter is exact and keeps one entry per live name, however many members came and went;
 * - a stale state still holding a leaver's entries, merged after the fold, changes nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EnableWinsFlag, GCounter, MVRegister, ORMap, ORSet, PNCounter, decodeCrdt, departureOf, encodeCrdt, foldCrdt, replicasOf, sameCrdt } from '../../src/crdt/index.js'
import type { Crdt } from '../../src/crdt/index.js'

const elements = ['x', 'y', 'z']

interface Subject {
  readonly name: string
  readonly empty: () => Crdt
  readonly apply: (s: Crdt, op: number, arg: number, node: string) => Crdt
}

const subjects: Subject[] = [
  { name: 'G-Counter', empty: () => new GCounter(), apply: (s, _op, arg, node) => (s as GCounter).increment(node, arg) },
  { name: 'PN-Counter', empty: () => new PNCounter(), apply: (s, op, arg, node) => (op % 2 === 0 ? (s as PNCounter).increment(node, arg) : (s as PNCounter).decrement(node, arg)) },
  { name: 'MV-Register', empty: () => new MVRegister(), apply: (s, op, arg, node) => (op % 2 === 0 ? (s as MVRegister).assign(node, elements[arg % 3]) : (s as MVRegister).clear()) },
  { name: 'Flag', empty: () => new EnableWinsFlag(), apply: (s, op, _arg, node) => (op % 2 === 0 ? (s as EnableWinsFlag).enable(node) : (s as EnableWinsFlag).disable()) },
  { name: 'OR-Set', empty: () => new ORSet(), apply: (s, op, arg, node) => (op % 3 === 2 ? (s as ORSet).remove(elements[arg % 3]) : (s as ORSet).add(node, elements[arg % 3])) },
  {
    name: 'OR-Map',
    empty: () => new ORMap(),
    apply: (s, op, arg, node) => {
      const m = s as ORMap
      switch (op % 5) {
        case 0: return m.increment(node, 'n', arg - 2)
        case 1: return m.addElement(node, 's', elements[arg % 3])
        case 2: return m.removeElement('s', elements[arg % 3])
        case 3: return m.enable(node, 'f')
        default: return m.remove('counter', 'n')
      }
    },
  },
]

/** kind 0-5: an op at `at`; 6: `at` pulls `from`'s full state; 7: `at` leaves, handing its state to `from` (when another slot). */
interface Step {
  readonly at: number
  readonly kind: number
  readonly arg: number
  readonly from: number
}

const history = fc.array(fc.record({ at: fc.nat(2), kind: fc.nat(7), arg: fc.nat(7), from: fc.nat(2) }), { maxLength: 40 })

const merge = (into: Crdt, other: Crdt): Crdt => (into as { merge(o: Crdt): Crdt }).merge(other)
const clone = (s: Crdt): Crdt => (s as { clone(): Crdt }).clone()
function join(subject: Subject, parts: readonly Crdt[]): Crdt {
  const out = subject.empty()
  for (const p of parts) merge(out, clone(p))
  return out
}

function run(subject: Subject, steps: readonly Step[]): { states: Crdt[]; dead: Crdt[]; deltas: Crdt[]; leaves: number } {
  const names = ['a0', 'b0', 'c0']
  const states = names.map(() => subject.empty())
  const dead: Crdt[] = []
  const deltas: Crdt[] = []
  let leaves = 0
  const id = (i: number): string => `${names[i]}#1`
  for (const step of steps) {
    if (step.kind === 6) merge(states[step.at], states[step.from])
    else if (step.kind === 7) {
      if (step.at === step.from) continue
      merge(states[step.from], states[step.at])
      const fold = foldCrdt(states[step.from], id(step.from), departureOf(id(step.at)))
      if (fold !== undefined) deltas.push(fold)
      dead.push(states[step.at])
      leaves++
      names[step.at] = `${names[step.at][0]}${leaves}`
      states[step.at] = subject.empty()
    } else deltas.push(subject.apply(states[step.at], step.kind, step.arg, id(step.at)))
  }
  return { states, dead, deltas, leaves }
}

const params = { numRuns: 150, seed: 16 }

for (const subject of subjects) {
  test(`${subject.name} with leavers folded into heirs: merge is commutative, associative and idempotent`, () => {
    fc.assert(
      fc.property(history, (steps) => {
        const [a, b, c] = run(subject, steps).states
        assert.ok(sameCrdt(join(subject, [a, b]), join(subject, [b, a])), 'a ⊔ b = b ⊔ a')
        assert.ok(sameCrdt(join(subject, [join(subject, [a, b]), c]), join(subject, [a, join(subject, [b, c])])), '(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)')
        assert.ok(sameCrdt(join(subject, [a, a]), a), 'a ⊔ a = a')
      }),
      params,
    )
  })

  test(`${subject.name} with leavers folded into heirs: every delta, in any order and repeated, equals every state ever held`, () => {
    fc.assert(
      fc.property(history, fc.array(fc.nat(), { maxLength: 80 }), (steps, picks) => {
        const { states, dead, deltas } = run(subject, steps)
        const full = join(subject, [...states, ...dead])
        const order = deltas.map((d, i) => ({ d, k: picks[i] ?? i })).sort((x, y) => x.k - y.k)
        const dupes = picks.slice(0, 10).filter(() => deltas.length > 0).map((p) => deltas[p % deltas.length])
        assert.ok(sameCrdt(join(subject, [...order.map((o) => o.d), ...dupes]), full), 'join of deltas = join of states')
        for (const s of [...states, ...deltas]) {
          const back = decodeCrdt(encodeCrdt(s))
          assert.ok(back.ok && sameCrdt(back.value, s), 'survives encode/decode')
        }
      }),
      params,
    )
  })
}

test('a PN-Counter whose members leave into heirs, with fresh names taking their places, is exact and keeps one entry per live name', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ at: fc.nat(2), n: fc.integer({ min: -5, max: 9 }), leaveTo: fc.option(fc.nat(2)) }), { maxLength: 60 }), (ops) => {
      const names = ['a0', 'b0', 'c0']
      const states = names.map(() => new PNCounter())
      const stale: PNCounter[] = []
      let sum = 0
      let leaves = 0
      for (const op of ops) {
        states[op.at].increment(`${names[op.at]}#1`, op.n)
        sum += op.n
        const heir = op.leaveTo
        if (heir === null || heir === op.at) continue
        stale.push(states[op.at].clone())
        states[heir].merge(states[op.at]).fold(`${names[heir]}#1`, departureOf(`${names[op.at]}#1`))
        names[op.at] = `${names[op.at][0]}${++leaves}`
        states[op.at] = new PNCounter()
      }
      const all = new PNCounter()
      for (const s of states) all.merge(s)
      assert.equal(all.value(), sum, 'exact after all the leaves')
      for (const s of stale) all.merge(s)
      assert.equal(all.value(), sum, 'stale copies of the leavers change nothing')
      const live = new Set(names)
      assert.ok([...replicasOf(all)].every((r) => live.has(r.split('#')[0])), `only live names keep entries: ${[...replicasOf(all)].join(', ')}`)
    }),
    params,
  )
})

test('an OR-Set element a leaver added and a survivor removed does not come back from a stale copy of the leaver', () => {
  const leaver = new ORSet()
  leaver.add('n#5', 'x')
  leaver.add('n#5', 'y')
  const stale = leaver.clone()
  const heir = new ORSet().merge(leaver)
  heir.remove('x')
  const fold = heir.fold('h#3', departureOf('n#5'))
  assert.deepEqual([...replicasOf(heir)], [], 'the leaver\'s context entry is gone')
  assert.deepEqual(heir.values(), ['y'], 'its live element stays')
  assert.deepEqual(stale.clone().merge(fold).merge(heir).values(), ['y'], 'x stays removed')
  assert.equal(departureOf('n'), undefined, 'an id without a generation is never retired')
})
