import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_RUMOR_CONFIG, resolveRumorConfig } from '../../src/gossip/config.js'
import { ConfigError } from '../../src/core/errors.js'

test('the default rumor config is valid', () => {
  assert.deepEqual(resolveRumorConfig(), DEFAULT_RUMOR_CONFIG)
})

test('config errors name every bad field and the fix', () => {
  try {
    resolveRumorConfig({ fanout: 0, mode: 'gossip' as never, k: 1.5, maxPayloadBytes: 1300, dedupeWindowMs: 1000, bogus: 1 } as never)
    assert.fail('expected ConfigError')
  } catch (e) {
    assert.ok(e instanceof ConfigError)
    const text = e.problems.join('\n')
    assert.match(text, /fanout must be an integer in \[1, 64\] \(got 0\); the default is 3/)
    assert.match(text, /mode must be 'push', 'pull' or 'push-pull'/)
    assert.match(text, /k must be an integer/)
    assert.match(text, /must fit in messageBytesMax \(1300\); lower maxPayloadBytes to \d+ or less/)
    assert.match(text, /dedupeWindowMs \(1000\) must be at least 2 × maxRumorAgeMs/)
    assert.match(text, /bogus is not a broadcast configuration field/)
    assert.equal(e.problems.length, 6)
  }
})
