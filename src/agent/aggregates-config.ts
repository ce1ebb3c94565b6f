/**
 * The aggregates an agent keeps running, from its config file (read beside config.ts, which calls this
 * once per read: at start and on each SIGHUP):
 *
 *   "aggregates": [
 *     { "name": "load", "function": "avg", "value": { "metric": "load1" } },
 *     { "name": "nodes", "function": "count", "mode": "push-sum" },
 *     { "name": "queue", "function": "max", "value": { "command": "wc -l < /var/spool/jobs" }, "cycleMs": 500, "epochCycles": 10 }
 *   ]
 *
 *   file ──▶ every entry checked (fields, name, function, mode, cycle, epoch, value source; names unique)
 *        ──▶ AggregateConfig[] ──▶ configured-aggregates.ts starts them at boot, and on SIGHUP starts the
 *            new ones, stops the removed ones and restarts the changed ones
 *
 * Each problem names the entry, the field and the fix, with "did you mean" for a misspelt field,
 * function, mode or metric. The values are those of POST /v1/aggregate (aggregate-sources.ts); a
 * command is allowed here without a token, since whoever writes the agent's config file has its rights.
 */
import { AGGREGATE_FUNCTION_NAMES, AGGREGATION_MODES, resolveAggregateSpec, type AggregateSpec, type MembershipMode } from '../node/index.js'
import { ConfigError } from '../core/errors.js'
import { didYouMean } from '../core/suggest.js'
import { METRICS, type MetricName, type SourceSpec } from './aggregate-sources.js'

export const AGGREGATE_FILE_FIELDS = ['aggregates'] as const

/** One configured aggregate: its settings and where its value comes from. */
export interface AggregateConfig {
  readonly spec: AggregateSpec
  readonly source: SourceSpec
}

const ENTRY_FIELDS = ['name', 'function', 'mode', 'cycleMs', 'epochCycles', 'value']
const SOURCE_KINDS = ['metric', 'constant', 'command']
/** More would be a mistake, not a configuration: each aggregate costs a message a cycle. */
export const CONFIGURED_AGGREGATES_MAX = 64

/** Reads the file's `aggregates` list; problems are appended to `problems`, naming the entry and the field. */
export function resolveAggregatesConfig(file: Record<string, unknown>, fileFrom: (field: string) => string, problems: string[], membership: MembershipMode = 'swim'): AggregateConfig[] {
  const list = file.aggregates
  if (list === undefined) return []
  if (membership !== 'swim') {
    problems.push(`${fileFrom('aggregates')}: aggregates ride on SWIM's full membership; remove aggregates or use --membership swim`)
    return []
  }
  if (!Array.isArray(list)) {
    problems.push(`${fileFrom('aggregates')} ${JSON.stringify(list)?.slice(0, 80)}: expected an array like [{ "name": "load", "function": "avg", "value": { "metric": "load1" } }]`)
    return []
  }
  if (list.length > CONFIGURED_AGGREGATES_MAX) problems.push(`${fileFrom('aggregates')}: ${list.length} entries; at most ${CONFIGURED_AGGREGATES_MAX}`)
  const out: AggregateConfig[] = []
  const names = new Map<string, number>()
  list.slice(0, CONFIGURED_AGGREGATES_MAX).forEach((entry, i) => {
    const at = (field?: string): string => fileFrom(`aggregates[${i}]${field === undefined ? '' : `.${field}`}`)
    const before = problems.length
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      problems.push(`${at()} ${JSON.stringify(entry)?.slice(0, 80)}: expected an object like { "name": "load", "function": "avg", "value": { "metric": "load1" } }`)
      return
    }
    const e = entry as Record<string, unknown>
    for (const k of Object.keys(e)) if (!ENTRY_FIELDS.includes(k)) problems.push(`${at()}: unknown field ${JSON.stringify(k)}${didYouMean(k, ENTRY_FIELDS)}; fields are ${ENTRY_FIELDS.join(', ')}`)
    const fn = e.function
    if (fn === undefined) problems.push(`${at()}: needs "function": one of ${AGGREGATE_FUNCTION_NAMES.join(', ')}`)
    else if (typeof fn !== 'string' || !(AGGREGATE_FUNCTION_NAMES as readonly string[]).includes(fn)) {
      problems.push(`${at('function')} ${JSON.stringify(fn)}: expected one of ${AGGREGATE_FUNCTION_NAMES.join(', ')}${typeof fn === 'string' ? didYouMean(fn, AGGREGATE_FUNCTION_NAMES) : ''}`)
    }
    if (e.mode !== undefined && (typeof e.mode !== 'string' || !(AGGREGATION_MODES as readonly string[]).includes(e.mode))) {
      problems.push(`${at('mode')} ${JSON.stringify(e.mode)}: expected push-pull or push-sum${typeof e.mode === 'string' ? didYouMean(e.mode, AGGREGATION_MODES) : ''}`)
    }
    const source = readSource(e.value, typeof fn === 'string' ? fn : '', at('value'), problems)
    if (problems.length > before) return
    let spec: AggregateSpec
    try {
      spec = resolveAggregateSpec(e.name as string, fn as string, { mode: e.mode as AggregateSpec['mode'] | undefined, cycleMs: e.cycleMs as number | undefined, epochCycles: e.epochCycles as number | undefined })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      for (const p of err.problems) {
        const m = /^(\w+): (.*)$/s.exec(p)
        problems.push(m === null ? `${at()}: ${p}` : `${at(m[1])}: ${m[2]}`)
      }
      return
    }
    const first = names.get(spec.name)
    if (first !== undefined) return void problems.push(`${at('name')} ${JSON.stringify(spec.name)}: aggregates[${first}] has this name already; names are unique on a node`)
    names.set(spec.name, i)
    out.push({ spec, source: source! })
  })
  return out
}

function readSource(v: unknown, fn: string, from: string, problems: string[]): SourceSpec | undefined {
  const example = '{ "metric": "load1" }, { "constant": 4 } or { "command": "SHELL TEXT" }'
  if (v === undefined || v === null) {
    if (fn === 'count') return { constant: 1 }
    return void problems.push(`${from}: needed for ${fn === '' ? 'this function' : fn}; expected ${example} (only count needs none)`)
  }
  if (typeof v === 'number') return Number.isFinite(v) ? { constant: v } : void problems.push(`${from} ${v}: expected a finite number`)
  if (typeof v !== 'object' || Array.isArray(v)) return void problems.push(`${from} ${JSON.stringify(v)?.slice(0, 80)}: expected ${example}`)
  const o = v as Record<string, unknown>
  const keys = Object.keys(o)
  if (keys.length !== 1) return void problems.push(`${from} ${JSON.stringify(v).slice(0, 80)}: expected exactly one of ${SOURCE_KINDS.join(', ')}, like ${example}`)
  const kind = keys[0]
  if (kind === 'constant') return typeof o.constant === 'number' && Number.isFinite(o.constant) ? { constant: o.constant } : void problems.push(`${from}.constant ${JSON.stringify(o.constant)}: expected a finite number like 4`)
  if (kind === 'metric') {
    if (typeof o.metric === 'string' && (METRICS as readonly string[]).includes(o.metric)) return { metric: o.metric as MetricName }
    return void problems.push(`${from}.metric ${JSON.stringify(o.metric)}: expected one of ${METRICS.join(', ')}${typeof o.metric === 'string' ? didYouMean(o.metric, METRICS) : ''}`)
  }
  if (kind === 'command') {
    if (typeof o.command === 'string' && o.command.trim() !== '' && o.command.length <= 4096) return { command: o.command }
    return void problems.push(`${from}.command: expected a shell command of 1 to 4096 characters whose output starts with a number, like "wc -l < /var/spool/jobs"`)
  }
  return void problems.push(`${from}: unknown source ${JSON.stringify(kind)}${didYouMean(kind, SOURCE_KINDS)}; expected ${example}`)
}

/** Two configured aggregates are the same when settings and source are: a reload leaves such one running. */
export function sameAggregate(a: AggregateConfig, b: AggregateConfig): boolean {
  return JSON.stringify([a.spec, a.source]) === JSON.stringify([b.spec, b.source])
}
