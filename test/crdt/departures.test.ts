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
import { PNCounter, departureOf, foldCrdt, replicasOf } from '../../src/crdt/index.js'
import type { Crdt } from '../../src/crdt/index.js'
import { lawTests, merge, setWithRemoval, type Subject } from './fold-laws.js'

/** kind 0-5: an op at `at`; 6: `at` pulls `from`'s full state; 7: `at` leaves, handing its state to `from` (when another slot). */
interface Step {
  readonly at: number
  readonly kind: number
  readonly arg: number
  readonly from: number
}

const history = fc.array(fc.record({ at: fc.nat(2), kind: fc.nat(7), arg: fc.nat(7), from: fc.nat(2) }), { maxLength: 40 })

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

lawTests('with leavers folded into heirs', history, run, params)

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
  const { stale, survivor: heir } = setWithRemoval('n#5')
  const fold = heir.fold('h#3', departureOf('n#5'))
  assert.deepEqual([...replicasOf(heir)], [], 'the leaver\'s context entry is gone')
  assert.deepEqual(heir.values(), ['y'], 'its live element stays')
  assert.deepEqual(stale.clone().merge(fold).merge(heir).values(), ['y'], 'x stays removed')
  assert.equal(departureOf('n'), undefined, 'an id without a generation is never retired')
})
