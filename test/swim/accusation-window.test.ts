// The accusation summary the agent's metrics and the dashboard share: rates over the window, each
// accused member's distinct accusers, "accused by many" at STORM_ACCUSERS, and a refutation closing it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AccusationRecord } from '../../src/swim/accusation-window.js'
import { STORM_ACCUSERS, STORM_WINDOW_MS, summarizeAccusations } from '../../src/swim/accusation-window.js'

const suspected = (member: string, from: string, at: number): AccusationRecord => ({ type: 'suspected', member, from, at })

test('a member accused by three distinct members within the window is accused by many; repeats and self-accusations do not count', () => {
  assert.equal(STORM_ACCUSERS, 3)
  const records = [suspected('x', 'a', 1000), suspected('x', 'a', 1500), suspected('x', 'x', 1600), suspected('x', 'b', 2000), suspected('y', 'a', 2100), suspected('x', 'c', 3000)]
  const s = summarizeAccusations(records, 4000)
  assert.deepEqual(s.accused.map((a) => [a.member, a.accusers, a.many, a.open]), [['x', ['a', 'b', 'c'], true, true], ['y', ['a'], false, true]])
})

test('rates are per second over the window: suspicions with confirmations, refutations of anyone, dead declarations', () => {
  const records: AccusationRecord[] = [
    suspected('x', 'a', 1000), suspected('x', 'b', 1100),
    { type: 'alive', member: 'x', from: null, at: 1200 },
    { type: 'refuted', member: 'me', from: null, at: 1300 },
    { type: 'failed', member: 'y', from: 'c', at: 1400 },
  ]
  const s = summarizeAccusations(records, 5000)
  assert.deepEqual(s.perSecond, { suspicions: 2 / (STORM_WINDOW_MS / 1000), refutations: 0.2, deaths: 0.1 })
  const x = s.accused.find((a) => a.member === 'x')
  assert.equal(x?.open, false, 'x refuted')
  assert.deepEqual(s.accused.find((a) => a.member === 'y')?.accusers, ['c'])
})

test('accusations older than the window, or before a refutation, no longer count towards "many"', () => {
  const old = [suspected('x', 'a', 0), suspected('x', 'b', 100), suspected('x', 'c', 200)]
  assert.equal(summarizeAccusations(old, 1000).accused[0].many, true)
  assert.deepEqual(summarizeAccusations(old, 200 + STORM_WINDOW_MS).accused, [], 'all three fell out of the window')
  const refuted = [...old, { type: 'alive', member: 'x', from: null, at: 300 } as AccusationRecord, suspected('x', 'd', 400)]
  const s = summarizeAccusations(refuted, 1000)
  assert.deepEqual(s.accused.map((a) => [a.accusers, a.many, a.open]), [[['d'], false, true]])
})
