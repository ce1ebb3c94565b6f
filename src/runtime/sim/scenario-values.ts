/**
 * The values of the scenario language, as `grapevine sim` flags and scenario files write them:
 * durations (`30s`), counts, probabilities (`5%`), latencies (`1ms..10ms`), rates, seeds, profiles, and
 * the compact fault forms `3@30s` (crash), `2@30s:5s/20s` (pause) and `0.3@40s:20s` (partition).
 * Pure: each parser returns the value or throws a UsageError naming the flag (or field), what was given
 * and the expected form. Used by the CLI's flags (cli/sim-command.ts) and by scenario files
 * (scenario-file.ts), in Node and in the browser alike.
 */
import { UsageError } from '../../core/errors.js'
import type { AggregateFunctionName, AggregationMode, Profile } from '../../node/index.js'
import { AGGREGATE_FUNCTION_NAMES, AGGREGATION_MODES, isProfile } from '../../node/index.js'
import { didYouMean } from '../../core/suggest.js'
import type { ScenarioStep } from './steps.js'

export const DURATION_FORM = 'a duration like 30s, 500ms or 2m'

export function fail(flag: string, expected: string, given: string): never {
  throw new UsageError(`${flag}: expected ${expected}, got ${JSON.stringify(given)}`)
}

/** Parses one component of a compound flag value; a failure reports the whole value. */
function part<T>(parse: () => T, flag: string, expected: string, whole: string): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof UsageError) fail(flag, expected, whole)
    throw err
  }
}

/** `500ms`, `30s`, `1.5s`, `2m` → milliseconds. A unit is required. */
export function parseDurationMs(text: string, flag: string, expected = DURATION_FORM): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(text)
  if (!m) fail(flag, expected, text)
  const value = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000)
  if (!Number.isFinite(value)) fail(flag, expected, text)
  return value
}

/** A positive integer (or ≥ 0 with allowZero). */
export function parseCount(text: string, flag: string, expected = 'a positive integer like 50', allowZero = false): number {
  if (!/^\s*\d+\s*$/.test(text)) fail(flag, expected, text)
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) fail(flag, expected, text)
  return n
}

/** A probability: `0.05` or `5%`, in [0, 1]. */
export function parseProbability(text: string, flag: string, expected = 'a probability like 0.05 or 5%'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text)
  if (!m) fail(flag, expected, text)
  const p = Number(m[1]) / (m[2] === '%' ? 100 : 1)
  if (!(p >= 0 && p <= 1)) fail(flag, expected, text)
  return p
}

/** `1ms..10ms` (or one duration for a fixed delay) → [min, max] ms. */
export function parseLatency(text: string, flag = '--latency'): [number, number] {
  const expected = 'MIN..MAX like 1ms..10ms'
  const parts = text.split('..')
  if (parts.length > 2 || parts.some((p) => p.trim() === '')) fail(flag, expected, text)
  const [min, max] = parts.map((p) => part(() => parseDurationMs(p, flag), flag, expected, text))
  const hi = max ?? min
  if (min > hi) fail(flag, `${expected} with MIN ≤ MAX`, text)
  return [min, hi]
}

/** `3@30s` → crash 3 nodes at 30 s. */
export function parseCrash(text: string, flag = '--crash'): ScenarioStep {
  const expected = 'COUNT@TIME like 3@30s'
  const [count, at, extra] = text.split('@')
  if (at === undefined || extra !== undefined || count === '' || at === '') fail(flag, expected, text)
  return { kind: 'crash', count: part(() => parseCount(count, flag), flag, expected, text), atMs: part(() => parseDurationMs(at, flag), flag, expected, text) }
}

/** `2@30s:5s` → pause 2 nodes at 30 s for 5 s; `2@30s:5s/20s` repeats every 20 s. */
export function parsePause(text: string, flag = '--pause'): ScenarioStep {
  const expected = 'COUNT@TIME:LENGTH[/EVERY] like 2@30s:5s or 2@30s:5s/20s'
  const m = /^([^@]+)@([^:]+):([^/]+)(?:\/(.+))?$/.exec(text)
  if (!m) fail(flag, expected, text)
  const step = {
    kind: 'pause' as const,
    count: part(() => parseCount(m[1], flag), flag, expected, text),
    atMs: part(() => parseDurationMs(m[2], flag), flag, expected, text),
    lengthMs: part(() => parseDurationMs(m[3], flag), flag, expected, text),
    ...(m[4] === undefined ? {} : { everyMs: part(() => parseDurationMs(m[4], flag), flag, expected, text) }),
  }
  if (step.lengthMs <= 0 || (step.everyMs !== undefined && step.everyMs <= 0)) fail(flag, `${expected} with LENGTH and EVERY above 0`, text)
  return step
}

/** `0.3@40s:20s` (or `30%@40s:20s`) → cut 30% of the nodes from the rest at 40 s for 20 s. */
export function parsePartition(text: string, flag = '--partition'): ScenarioStep {
  const expected = 'FRACTION@TIME:LENGTH like 0.3@40s:20s'
  const m = /^([^@]+)@([^:]+):(.+)$/.exec(text)
  if (!m) fail(flag, expected, text)
  const fraction = part(() => parseProbability(m[1], flag), flag, expected, text)
  if (fraction <= 0 || fraction >= 1) fail(flag, `${expected} with 0 < FRACTION < 1`, text)
  const lengthMs = part(() => parseDurationMs(m[3], flag), flag, expected, text)
  if (lengthMs <= 0) fail(flag, `${expected} with LENGTH above 0`, text)
  return { kind: 'partition', fraction, atMs: part(() => parseDurationMs(m[2], flag), flag, expected, text), lengthMs }
}

/** Most workload operations per second a run accepts (each is one queue item). */
export const WORKLOAD_RATE_MAX = 10_000

/** A rate per second of virtual time: `50`, `0.5`; above 0 and at most WORKLOAD_RATE_MAX. */
export function parseRate(text: string, flag: string): number {
  const expected = `a rate per second of virtual time like 50 or 0.5 (above 0, at most ${WORKLOAD_RATE_MAX})`
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(text)) fail(flag, expected, text)
  const rate = Number(text)
  if (!(rate > 0 && rate <= WORKLOAD_RATE_MAX)) fail(flag, expected, text)
  return rate
}

/** A 32-bit unsigned seed. */
export function parseSeed(text: string, flag = '--seed'): number {
  const expected = 'an integer seed in [0, 4294967295] like 42'
  const n = parseCount(text, flag, expected, true)
  if (n > 0xffff_ffff) fail(flag, expected, text)
  return n
}

export function parseProfile(text: string, flag = '--profile'): Profile {
  if (!isProfile(text)) fail(flag, 'one of lan, wan, local', text)
  return text
}

/** `avg,count` or `all` → the aggregate functions a run computes (aggregate-workload.ts). */
export function parseAggregateFunctions(text: string, flag = '--aggregate'): AggregateFunctionName[] {
  const expected = `a comma-separated list of ${AGGREGATE_FUNCTION_NAMES.join(', ')}, or all`
  if (text.trim() === 'all') return [...AGGREGATE_FUNCTION_NAMES]
  const words = text.split(',').map((w) => w.trim())
  const out: AggregateFunctionName[] = []
  for (const w of words) {
    if (!AGGREGATE_FUNCTION_NAMES.includes(w as AggregateFunctionName)) throw new UsageError(`${flag}: ${JSON.stringify(w)} is not an aggregate function${didYouMean(w, [...AGGREGATE_FUNCTION_NAMES, 'all'])}; expected ${expected}`)
    if (!out.includes(w as AggregateFunctionName)) out.push(w as AggregateFunctionName)
  }
  return out
}

export function parseAggregationMode(text: string, flag = '--aggregate-mode'): AggregationMode {
  if (!AGGREGATION_MODES.includes(text as AggregationMode)) throw new UsageError(`${flag}: expected push-pull or push-sum, got ${JSON.stringify(text)}${didYouMean(text, AGGREGATION_MODES)}`)
  return text as AggregationMode
}

/** An aggregate's cycle: a duration of 50 ms to 60 min in whole milliseconds (the node's own bounds). */
export function parseAggregateCycleMs(text: string, flag = '--aggregate-cycle'): number {
  const expected = 'a duration from 50ms to 60m in whole milliseconds, like 1s or 200ms'
  const ms = parseDurationMs(text, flag, expected)
  if (!Number.isSafeInteger(ms) || ms < 50 || ms > 3_600_000) fail(flag, expected, text)
  return ms
}

/** Cycles per epoch: 2 to 10,000 (the node's own bounds). */
export function parseEpochCycles(text: string, flag = '--aggregate-epoch-cycles'): number {
  const expected = 'an integer from 2 to 10000 like 20'
  const n = parseCount(text, flag, expected)
  if (n < 2 || n > 10_000) fail(flag, expected, text)
  return n
}
