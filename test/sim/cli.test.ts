// The `grapevine sim` flag parsers: good forms parse, bad ones name the flag, echo the input and show
// the expected form (the CLI prints that message and exits with code 2).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseSimFlags, replayCommand, scenarioOf } from '../../src/cli/sim-command.js'
import { UsageError } from '../../src/core/errors.js'
import { parseCrash, parseDurationMs, parseLatency, parsePartition, parsePause, parseProbability, parseProfile, parseSeed } from '../../src/runtime/sim/scenario-values.js'

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`)
    assert.equal(e.message, message)
    return true
  })
}

test('durations accept ms, s and m, and nothing else', () => {
  assert.equal(parseDurationMs('500ms', '--duration'), 500)
  assert.equal(parseDurationMs('30s', '--duration'), 30_000)
  assert.equal(parseDurationMs('1.5s', '--duration'), 1500)
  assert.equal(parseDurationMs('2m', '--duration'), 120_000)
  rejects(() => parseDurationMs('120', '--duration'), '--duration: expected a duration like 30s, 500ms or 2m, got "120"')
  rejects(() => parseDurationMs('2h', '--duration'), '--duration: expected a duration like 30s, 500ms or 2m, got "2h"')
  rejects(() => parseDurationMs('-1s', '--duration'), '--duration: expected a duration like 30s, 500ms or 2m, got "-1s"')
})

test('--crash is COUNT@TIME', () => {
  assert.deepEqual(parseCrash('3@30s'), { kind: 'crash', count: 3, atMs: 30_000 })
  rejects(() => parseCrash('3@'), '--crash: expected COUNT@TIME like 3@30s, got "3@"')
  rejects(() => parseCrash('3'), '--crash: expected COUNT@TIME like 3@30s, got "3"')
  rejects(() => parseCrash('0@1s'), '--crash: expected COUNT@TIME like 3@30s, got "0@1s"')
  rejects(() => parseCrash('x@1s'), '--crash: expected COUNT@TIME like 3@30s, got "x@1s"')
  rejects(() => parseCrash('2@30'), '--crash: expected COUNT@TIME like 3@30s, got "2@30"')
  rejects(() => parseCrash('2@3s@4s'), '--crash: expected COUNT@TIME like 3@30s, got "2@3s@4s"')
})

test('--pause is COUNT@TIME:LENGTH with an optional period', () => {
  assert.deepEqual(parsePause('2@30s:5s'), { kind: 'pause', count: 2, atMs: 30_000, lengthMs: 5000 })
  assert.deepEqual(parsePause('1@10s:500ms/20s'), { kind: 'pause', count: 1, atMs: 10_000, lengthMs: 500, everyMs: 20_000 })
  const form = 'COUNT@TIME:LENGTH[/EVERY] like 2@30s:5s or 2@30s:5s/20s'
  rejects(() => parsePause('2@30s'), `--pause: expected ${form}, got "2@30s"`)
  rejects(() => parsePause('2@30s:'), `--pause: expected ${form}, got "2@30s:"`)
  rejects(() => parsePause('2@30s:0s'), `--pause: expected ${form} with LENGTH and EVERY above 0, got "2@30s:0s"`)
})

test('--partition is FRACTION@TIME:LENGTH', () => {
  assert.deepEqual(parsePartition('0.3@40s:20s'), { kind: 'partition', fraction: 0.3, atMs: 40_000, lengthMs: 20_000 })
  assert.equal((parsePartition('25%@1m:30s') as { fraction: number }).fraction, 0.25)
  rejects(() => parsePartition('1.5@40s:20s'), '--partition: expected FRACTION@TIME:LENGTH like 0.3@40s:20s, got "1.5@40s:20s"')
  rejects(() => parsePartition('1@40s:20s'), '--partition: expected FRACTION@TIME:LENGTH like 0.3@40s:20s with 0 < FRACTION < 1, got "1@40s:20s"')
  rejects(() => parsePartition('0.3@40s'), '--partition: expected FRACTION@TIME:LENGTH like 0.3@40s:20s, got "0.3@40s"')
})

test('--loss, --latency, --seed and --profile parse their forms and name the flag on a mistake', () => {
  assert.equal(parseProbability('0.05', '--loss'), 0.05)
  assert.equal(parseProbability('5%', '--loss'), 0.05)
  rejects(() => parseProbability('1.2', '--loss'), '--loss: expected a probability like 0.05 or 5%, got "1.2"')
  rejects(() => parseProbability('lots', '--loss'), '--loss: expected a probability like 0.05 or 5%, got "lots"')
  assert.deepEqual(parseLatency('1ms..10ms'), [1, 10])
  assert.deepEqual(parseLatency('5ms'), [5, 5])
  rejects(() => parseLatency('10ms..1ms'), '--latency: expected MIN..MAX like 1ms..10ms with MIN ≤ MAX, got "10ms..1ms"')
  rejects(() => parseLatency('1..10'), '--latency: expected MIN..MAX like 1ms..10ms, got "1..10"')
  rejects(() => parseLatency('1ms..'), '--latency: expected MIN..MAX like 1ms..10ms, got "1ms.."')
  assert.equal(parseSeed('4294967295'), 4294967295)
  rejects(() => parseSeed('4294967296'), '--seed: expected an integer seed in [0, 4294967295] like 42, got "4294967296"')
  rejects(() => parseSeed('-3'), '--seed: expected an integer seed in [0, 4294967295] like 42, got "-3"')
  assert.equal(parseProfile('wan'), 'wan')
  rejects(() => parseProfile('lam'), '--profile: expected one of lan, wan, local, got "lam"')
})

test('flags combine into a scenario with defaults and a replay command', () => {
  const o = parseSimFlags({ nodes: '40', seed: '9', duration: '90s', loss: '0.02', crash: ['2@30s', '1@40s'], pause: ['1@50s:5s/10s'], partition: ['0.25@60s:10s'], lifeguard: false }, () => 123)
  assert.equal(o.nodes, 40)
  assert.equal(o.seed, 9)
  assert.equal(o.randomSeed, false)
  assert.equal(o.steps.length, 4)
  assert.equal(
    replayCommand(o),
    'grapevine sim --nodes 40 --seed 9 --duration 90s --profile lan --loss 0.02 --crash 2@30s --crash 1@40s --pause 1@50s:5s/10s --partition 0.25@1m:10s --no-lifeguard',
  )
  const scenario = scenarioOf(o)
  assert.equal(scenario.lifeguard, false)
  assert.deepEqual(scenario.network, { packetLossProbability: 0.02 })
  const d = parseSimFlags({}, () => 123)
  assert.deepEqual([d.nodes, d.seed, d.randomSeed, d.durationMs, d.profile, d.lifeguard, d.json], [50, 123, true, 120_000, 'lan', true, false])
  // The replay command parses back to the same options.
  const again = parseSimFlags(
    Object.fromEntries(
      [...replayCommand(o).matchAll(/--([a-z-]+)(?: ([^ -][^ ]*))?/g)].reduce<Array<[string, string | string[] | boolean]>>((acc, [, k, v]) => {
        if (k === 'no-lifeguard') acc.push(['lifeguard', false])
        else if (['crash', 'pause', 'partition'].includes(k)) {
          const prev = acc.find(([key]) => key === k)
          if (prev) (prev[1] as string[]).push(v)
          else acc.push([k, [v]])
        } else acc.push([k, v])
        return acc
      }, []),
    ),
  )
  assert.deepEqual({ ...again }, { ...o })
})

test('flags that contradict each other are refused', () => {
  rejects(() => parseSimFlags({ nodes: '1' }), '--nodes: expected a node count like 50 (at least 2), got "1"')
  rejects(() => parseSimFlags({ nodes: '5', crash: ['3@1s', '2@2s'] }), '--crash: 5 crashes in total leave no node of the 5 running; crash fewer or raise --nodes')
  rejects(() => parseSimFlags({ duration: '60s', crash: ['1@90s'] }), '--crash: the time 90s is not within --duration 1m; faults happen in the chaos phase')
  rejects(() => parseSimFlags({ duration: '0s' }), '--duration: expected a duration like 30s, 500ms or 2m, got "0s"')
})

test('stream loss gives tcp segments their own loss and is replayed', () => {
  const o = parseSimFlags({ seed: '1', loss: '25%', streamLoss: '0' }, () => 1)
  assert.deepEqual([o.loss, o.streamLoss], [0.25, 0])
  assert.match(replayCommand(o), / --loss 0\.25 --stream-loss 0$/)
  assert.deepEqual(scenarioOf(o).network, { packetLossProbability: 0.25, streamSegmentLossProbability: 0 })
  assert.equal(parseSimFlags({}, () => 1).streamLoss, undefined, 'unset: segments follow --loss')
  rejects(() => parseSimFlags({ streamLoss: '2' }), '--stream-loss: expected a probability like 0.05 or 5%, got "2"')
})
