import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveStateConfig, STATE_DEFAULTS } from '../../src/state/config.js'
import { ConfigError } from '../../src/core/errors.js'

test('defaults are valid and partial configs merge over them', () => {
  assert.deepEqual(resolveStateConfig(), STATE_DEFAULTS)
  assert.equal(resolveStateConfig({ fanout: 3 }).fanout, 3)
  assert.equal(resolveStateConfig({ fanout: undefined }).fanout, STATE_DEFAULTS.fanout)
})

test('every bad field is named with its fix, all at once', () => {
  try {
    resolveStateConfig({ fanout: 0, tombstoneGraceMs: -1, lotteryShare: 2, exchangeTimeoutMs: 10, maxDeltaBytes: 300, bogus: 1 } as never)
    assert.fail('expected a ConfigError')
  } catch (e) {
    assert.ok(e instanceof ConfigError)
    const text = e.problems.join('\n')
    for (const field of ['bogus is not a state configuration field', 'fanout must be', 'tombstoneGraceMs must be', 'lotteryShare must be', 'exchangeTimeoutMs (10) must be ≥ roundIntervalMs', 'maxDeltaBytes (300) must hold the largest entry']) {
      assert.ok(text.includes(field), `${field} in\n${text}`)
    }
  }
})

test('names too long for a Syn are refused', () => {
  assert.throws(() => resolveStateConfig({ maxNodeNameBytes: 600, maxValueBytes: 10 }), /3 × maxNodeNameBytes/)
})
