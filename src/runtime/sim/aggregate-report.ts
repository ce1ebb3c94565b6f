/**
 * The readable lines of a scenario report's `aggregate` field (aggregate-workload.ts measures it):
 *
 *   aggregate      push-pull, cycle 1 s, 20 cycles an epoch (truth over the live nodes)
 *   avg            truth 42.06; epoch 0 worst node 7.4e-6, epochs 1..4 worst 5e-6 (median epoch 4.4e-6); all within 1 % after 21.0 s
 *                  within 1 % everywhere after 7 cycles of an epoch (median of 4); theory 7 for the std: …
 */
import type { AggregateFunctionReport, AggregateWorkloadReport } from './aggregate-workload.js'

function sci(v: number): string {
  return v === 0 ? '0' : v >= 0.01 ? `${+(v * 100).toFixed(2)} %` : v.toExponential(1)
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]
}

/** One function's lines. The first epoch is apart: nodes start it before every announcement has spread. */
function functionRows(f: AggregateFunctionReport, rows: Array<[string, string]>): void {
  const [first, ...later] = f.epochs
  const within = f.firstWithin1PctMs === null ? 'never all within 1 %' : `all within 1 % after ${(f.firstWithin1PctMs / 1000).toFixed(1)} s`
  let epochs = 'no epoch completed'
  if (first !== undefined) {
    epochs = `epoch ${first.epoch} worst node ${sci(first.maxRelativeError)}`
    if (later.length > 0) {
      const worst = later.map((e) => e.maxRelativeError)
      epochs += `, epochs ${later[0].epoch}..${later[later.length - 1].epoch} worst ${sci(Math.max(...worst))} (median epoch ${sci(median(worst)!)})`
    }
  }
  rows.push([f.function, `truth ${+f.truthAtEnd.toPrecision(6)}; ${epochs}; ${within}`])
  const cycles = f.cyclesToWithin1Pct.filter((c): c is number => c !== null)
  const missed = f.cyclesToWithin1Pct.length - cycles.length
  const theory = f.theory.cyclesToStdWithin1Pct === null ? f.theory.note : `theory ${f.theory.cyclesToStdWithin1Pct} for the std: ${f.theory.note}`
  const measured = cycles.length === 0 ? 'no epoch within 1 % everywhere' : `within 1 % everywhere after ${median(cycles)} cycles of an epoch (median of ${cycles.length}${missed > 0 ? `; ${missed} never` : ''})`
  rows.push(['', `${measured}; ${theory}`])
}

export function aggregateRows(a: AggregateWorkloadReport, rows: Array<[string, string]>): void {
  rows.push(['aggregate', `${a.mode}, cycle ${a.cycleMs / 1000} s, ${a.epochCycles} cycles an epoch; truth over the live nodes, error relative (--json for every epoch)`])
  for (const f of a.functions) functionRows(f, rows)
}
