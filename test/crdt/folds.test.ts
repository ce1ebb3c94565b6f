/**
 * Folding a restarted replica's past lives (generation floors, src/crdt/floors.ts), checked with
 * fast-check on random histories of three member names that mutate, exchange full states, restart
 * (a fresh replica `name#g+1` with an empty state, which may then pull a peer's state) and fold:
 *
 * - merge stays commutative, associative and idempotent on the states those histories reach;
 * - every delta ever made (folds included, dead incarnations' too), merged in any order, equals the join
 *   of every state ever held;
 * - a counter folded after its successor synced loses nothing and counts nothing twice, and a state keeps
 *   at most one replica entry per name once each name folded;
 * - a stale state that still holds a retired replica's entries merged later changes nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PNCounter, foldCrdt, replicasOf, sameCrdt } from '../../src/crdt/index.js'
import type { Crdt } from '../../src/crdt/index.js'
import { lawTests, merge, setWithRemoval, type Subject } from './fold-laws.js'

const names = ['a', 'b', 'c'] as const

/** kind 0-5: an op at `at`; 6: `at` pulls `from`'s full state; 7: `at` restarts (pulls `from` if arg is odd); 8: `at` folds. */
interface Step {
  readonly at: number
  readonly kind: number
  readonly arg: number
  readonly from: number
}

const history = fc.array(fc.record({ at: fc.nat(2), kind: fc.nat(8), arg: fc.nat(7), from: fc.nat(2) }), { maxLength: 40 })

function run(subject: Subject, steps: readonly Step[]): { states: Crdt[]; dead: Crdt[]; deltas: Crdt[]; ids: string[] } {
  const gens = [1, 1, 1]
  const states = names.map(() => subject.empty())
  const dead: Crdt[] = []
  const deltas: Crdt[] = []
  const id = (i: number): string => `${names[i]}#${gens[i]}`
  for (const step of steps) {
    if (step.kind === 6) merge(states[step.at], states[step.from])
    else if (step.kind === 7) {
      dead.push(states[step.at])
      gens[step.at]++
      states[step.at] = subject.empty()
      if (step.arg % 2 === 1 && step.from !== step.at) merge(states[step.at], states[step.from])
    } else if (step.kind === 8) deltas.push(foldCrdt(states[step.at], id(step.at))!)
    else deltas.push(subject.apply(states[step.at], step.kind, step.arg, id(step.at)))
  }
  return { states, dead, deltas, ids: names.map((_, i) => id(i)) }
}

const params = { numRuns: 150, seed: 17 }

lawTests('with restarts and folds', history, run, params)

test('a PN-Counter folded after each restart has synced is exact and keeps one entry per name', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ at: fc.nat(2), n: fc.integer({ min: -5, max: 9 }), restart: fc.boolean() }), { maxLength: 60 }), (ops) => {
      const gens = [1, 1, 1]
      const states = names.map(() => new PNCounter())
      const syncAll = (): void => {
        const all = new PNCounter()
        for (const s of states) all.merge(s)
        for (const s of states) s.merge(all)
      }
      let sum = 0
      for (const op of ops) {
        if (op.restart) {
          syncAll()
          gens[op.at]++
          const fresh = new PNCounter().merge(states[(op.at + 1) % 3])
          fresh.fold(`${names[op.at]}#${gens[op.at]}`)
          states[op.at] = fresh
        }
        states[op.at].increment(`${names[op.at]}#${gens[op.at]}`, op.n)
        sum += op.n
      }
      syncAll()
      for (const s of states) {
        assert.equal(s.value(), sum)
        assert.ok(replicasOf(s).size <= 3, `one entry per name, got ${[...replicasOf(s)].join(', ')}`)
      }
    }),
    params,
  )
})

test('a stale state holding a retired replica merged after the fold neither double-counts nor brings a removed element back', () => {
  const counter = new PNCounter()
  counter.increment('a#1', 5)
  const stale = counter.clone()
  const successor = new PNCounter().merge(counter)
  const fold = successor.fold('a#2')
  successor.increment('a#2', 1)
  assert.equal(successor.value(), 6)
  assert.deepEqual([...replicasOf(successor)], ['a#2'])
  const other = stale.clone().merge(fold)
  assert.equal(other.value(), 5, 'the fold replaces a#1 with a#2 instead of adding to it')
  other.merge(stale).merge(successor)
  assert.equal(other.value(), 6)
  assert.ok(sameCrdt(other, successor.clone().merge(stale)))

  const { stale: staleSet, survivor: next } = setWithRemoval('a#1')
  const setFold = next.fold('a#2')
  assert.deepEqual(next.values(), ['y'], 'a fold keeps the live elements of the retired replica')
  assert.deepEqual([...replicasOf(next)], [], 'and drops its context entry')
  const merged = staleSet.clone().merge(setFold).merge(next)
  assert.deepEqual(merged.values(), ['y'], 'x, removed, does not come back from the stale copy')
  assert.deepEqual(staleSet.clone().merge(setFold).values(), ['y'], 'the fold alone carries what its successor saw removed, and keeps y')
})
