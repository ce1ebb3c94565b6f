/**
 * `grapevine lab aggregate`: push-pull averaging and push-sum on N nodes (src/lab/aggregate.ts), per cycle
 * the variance, its factor beside the papers' theory, the maximum relative error and the median node's
 * estimate, as a table or as JSON.
 *
 *   grapevine lab aggregate --mode push-pull --function avg --pairing sequential --nodes 100000 --cycles 20
 *   grapevine lab aggregate --mode push-sum --function count --nodes 10000 --cycles 40 --json
 *
 * Flag parsing is pure (parseAggregateFlags); a bad flag is a UsageError naming it, what was given and
 * the expected form.
 */
import { AGGREGATE_FUNCTIONS, AGGREGATE_MODES, AGGREGATE_PAIRINGS, runAggregate } from '../lab/aggregate.js'
import type { AggregateOptions, AggregateResult } from '../lab/aggregate.js'
import type { CommandIo } from '../output/io.js'
import { table } from '../output/table.js'
import { UsageError } from '../core/errors.js'
import { parseCount, parseSeed } from '../runtime/sim/scenario-values.js'

export interface RawAggregateFlags {
  mode?: string
  function?: string
  pairing?: string
  nodes?: string
  cycles?: string
  runs?: string
  seed?: string
  json?: boolean
}

const MAX_NODES = 16_777_216
const MAX_CYCLES = 10_000
/** Flags of the epidemic models that mean nothing here. */
const FOREIGN = ['removal', 'k', 'fanout', 'connectionLimit', 'hunt', 'pushThenPull', 'maxCycles', 'csv', 'plot', 'workers']

function choice<T extends string>(text: string | undefined, flag: string, options: readonly T[], fallback: T): T {
  if (text === undefined) return fallback
  if (!(options as readonly string[]).includes(text)) throw new UsageError(`${flag}: expected one of ${options.join(', ')}, got ${JSON.stringify(text)}`)
  return text as T
}

export function parseAggregateFlags(raw: RawAggregateFlags): { options: AggregateOptions; json: boolean } {
  for (const f of FOREIGN) {
    if ((raw as Record<string, unknown>)[f] !== undefined) throw new UsageError(`--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: applies to the epidemic models (lab rumor, lab anti-entropy), not to lab aggregate`)
  }
  const mode = choice(raw.mode, '--mode', AGGREGATE_MODES, 'push-pull')
  const fn = choice(raw.function, '--function', AGGREGATE_FUNCTIONS, 'avg')
  if (mode === 'push-sum' && raw.pairing !== undefined) throw new UsageError('--pairing: applies to push-pull only; push-sum sends to one random node per round')
  const pairing = choice(raw.pairing, '--pairing', AGGREGATE_PAIRINGS, mode === 'push-sum' ? 'random' : 'sequential')
  const nodesForm = `a node count in 2..${MAX_NODES} like 10000`
  const nodes = raw.nodes === undefined ? 10_000 : parseCount(raw.nodes, '--nodes', nodesForm)
  if (nodes < 2 || nodes > MAX_NODES) throw new UsageError(`--nodes: expected ${nodesForm}, got ${JSON.stringify(raw.nodes)}`)
  const cyclesForm = `a cycle count in 1..${MAX_CYCLES} like 30`
  const cycles = raw.cycles === undefined ? (mode === 'push-sum' ? 2 * Math.ceil(Math.log2(nodes)) + 20 : 20) : parseCount(raw.cycles, '--cycles', cyclesForm)
  if (cycles > MAX_CYCLES) throw new UsageError(`--cycles: expected ${cyclesForm}, got ${JSON.stringify(raw.cycles)}`)
  const runs = raw.runs === undefined ? Math.max(1, Math.min(10, Math.floor(1_000_000 / nodes))) : parseCount(raw.runs, '--runs', 'a run count like 10')
  const seed = parseSeed(raw.seed ?? '1')
  return { options: { mode, fn, pairing, nodes, cycles, runs, seed }, json: raw.json === true }
}

const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '-' : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toPrecision(4))

export function formatAggregateTable(r: AggregateResult): string {
  const o = r.options
  const t = r.theory
  const head = `${o.mode}${o.mode === 'push-pull' ? ` (${o.pairing} pairing)` : ''}, ${o.fn}, ${o.nodes} nodes, ${o.runs} run(s), seed ${o.seed}; truth ${num(r.truth)}\n`
  const rows = r.variance.map((v, k) => [String(k), num(v), num(r.varianceFactor[k]), num(k === 0 ? null : t.varianceFactor), num(r.maxRelativeError[k]), num(r.estimate[k])])
  const summary =
    t.varianceFactor === null
      ? `${t.source}\n`
      : `variance factor per cycle: measured ${num(r.meanVarianceFactor)} (geometric mean from cycle ${r.settledFromCycle}), theory ${num(t.varianceFactor)} (${t.source})\n`
  return head + table(['cycle', 'variance', 'factor', 'theory', 'max rel. error', 'estimate (median node)'], rows) + summary
}

export function aggregateJson(r: AggregateResult): Record<string, unknown> {
  const finite = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : v)
  return {
    model: 'aggregate',
    mode: r.options.mode,
    function: r.options.fn,
    pairing: r.options.mode === 'push-pull' ? r.options.pairing : null,
    nodes: r.options.nodes,
    cycles: r.options.cycles,
    runs: r.options.runs,
    seed: r.options.seed,
    truth: r.truth,
    variance: r.variance,
    varianceFactor: r.varianceFactor,
    maxRelativeError: r.maxRelativeError,
    estimate: r.estimate.map(finite),
    meanVarianceFactor: r.meanVarianceFactor,
    settledFromCycle: r.settledFromCycle,
    theory: r.theory,
    elapsedMs: r.elapsedMs,
  }
}

export function runAggregateCommand(raw: RawAggregateFlags, io: CommandIo): number {
  const { options, json } = parseAggregateFlags(raw)
  const result = runAggregate(options, () => performance.now())
  io.out(json ? JSON.stringify(aggregateJson(result), null, 2) + '\n' : formatAggregateTable(result))
  return 0
}
