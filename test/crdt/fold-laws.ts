/**
 * What the two fold property files share (folds.test.ts: a restarted replica's past lives;
 * departures.test.ts: a graceful leaver folded into its heir): the six types driven by random ops,
 * the join helpers, and the two laws checked on every history a file's `run` plays:
 *
 *   history (fast-check) ──▶ run(subject, steps) ──▶ { states, dead, deltas }
 *     ──▶ merge commutative, associative, idempotent on the states
 *     ──▶ every delta, in any order and repeated, joins to every state ever held (and survives the codec)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EnableWinsFlag, GCounter, MVRegister, ORMap, ORSet, PNCounter, decodeCrdt, encodeCrdt, sameCrdt } from '../../src/crdt/index.js'
import type { Crdt } from '../../src/crdt/index.js'

export const elements = ['x', 'y', 'z']

export interface Subject {
  readonly name: string
  readonly empty: () => Crdt
  readonly apply: (s: Crdt, op: number, arg: number, node: string) => Crdt
}

export const subjects: Subject[] = [
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

export const merge = (into: Crdt, other: Crdt): Crdt => (into as { merge(o: Crdt): Crdt }).merge(other)
export const clone = (s: Crdt): Crdt => (s as { clone(): Crdt }).clone()

/** The join of `parts` (copies: the parts are left as they were). */
export function join(subject: Subject, parts: readonly Crdt[]): Crdt {
  const out = subject.empty()
  for (const p of parts) merge(out, clone(p))
  return out
}

/** What a file's `run` returns: the live states, the states of lives that ended, and every delta made. */
export interface Played {
  readonly states: Crdt[]
  readonly dead: Crdt[]
  readonly deltas: Crdt[]
}

/** The two laws, per type, as tests named `${type} ${label}: …`. */
export function lawTests<S>(label: string, history: fc.Arbitrary<S[]>, run: (subject: Subject, steps: readonly S[]) => Played, params: fc.Parameters<unknown>): void {
  for (const subject of subjects) {
    test(`${subject.name} ${label}: merge is commutative, associative and idempotent`, () => {
      fc.assert(
        fc.property(history, (steps) => {
          const [a, b, c] = run(subject, steps).states
          assert.ok(sameCrdt(join(subject, [a, b]), join(subject, [b, a])), 'a ⊔ b = b ⊔ a')
          assert.ok(sameCrdt(join(subject, [join(subject, [a, b]), c]), join(subject, [a, join(subject, [b, c])])), '(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)')
          assert.ok(sameCrdt(join(subject, [a, a]), a), 'a ⊔ a = a')
        }),
        params as fc.Parameters<[S[]]>,
      )
    })

    test(`${subject.name} ${label}: every delta, in any order and repeated, equals every state ever held`, () => {
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
        params as fc.Parameters<[S[], number[]]>,
      )
    })
  }
}

/**
 * The removed-element case both files check: `writer` added x and y; `stale` is a copy from then, and
 * `survivor` merged it and removed x (then folds `writer` away, by restart or by departure).
 */
export function setWithRemoval(writer: string): { stale: ORSet; survivor: ORSet } {
  const set = new ORSet()
  set.add(writer, 'x')
  set.add(writer, 'y')
  const survivor = new ORSet().merge(set)
  survivor.remove('x')
  return { stale: set.clone(), survivor }
}
