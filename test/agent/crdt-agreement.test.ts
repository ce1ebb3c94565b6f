// How the dashboard counts agreement on a replicated key (agent/crdt-agreement.ts): each member's answer
// to the grapevine-crdt query is compared, in canonical bytes, with this node's own answer; a member
// holding another state differs, one without the key lacks it, one whose state did not fit is unknown.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { tallyAnswers } from '../../src/agent/crdt-agreement.js'
import { PNCounter, encodeCrdt } from '../../src/crdt/index.js'
import { encodeReplicationMessage } from '../../src/node/index.js'

const KEY = 'counter/hits'

function answer(c: PNCounter | undefined): Uint8Array {
  return encodeReplicationMessage({ kind: 'states', states: c === undefined ? [] : [{ key: KEY, state: encodeCrdt(c), seqs: [], want: false }], need: [] })
}

test('agreement counts members holding exactly our state, another state, none, or one too large to compare', () => {
  const ours = new PNCounter()
  ours.increment('a', 5)
  const same = new PNCounter()
  same.merge(ours)
  const behind = new PNCounter()
  behind.increment('a', 3)
  const tooLarge = encodeReplicationMessage({ kind: 'states', states: [], need: [KEY] })
  const responses = [
    { from: 'a', payload: answer(ours) },
    { from: 'b', payload: answer(same) },
    { from: 'c', payload: answer(behind) },
    { from: 'd', payload: answer(undefined) },
    { from: 'e', payload: new Uint8Array(0) },
    { from: 'f', payload: tooLarge },
    { from: 'b', payload: answer(behind) },
  ]
  assert.deepEqual(tallyAnswers(responses, 'a', KEY), { agree: 2, differ: 1, lacking: 2, tooLarge: 1, answered: 6 })
})

test('without its own answer (or when it lacks the key) a node reports no agreement rather than a guess', () => {
  const c = new PNCounter()
  c.increment('b', 1)
  assert.equal(tallyAnswers([{ from: 'b', payload: answer(c) }], 'a', KEY), undefined)
  assert.equal(tallyAnswers([{ from: 'a', payload: answer(undefined) }, { from: 'b', payload: answer(c) }], 'a', KEY), undefined)
})
