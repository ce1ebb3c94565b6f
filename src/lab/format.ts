/**
 * The lab's output: a table like the paper's (one row per k, mean ± standard deviation, theory beside),
 * CSV (one line per k) and JSON ({ model, mode, removal, nodes, runs, seed, rows: [...] }).
 */
import { table } from '../output/table.js'
import type { LabOptions, LabResult, LabRow, Stat } from './runner.js'

/** The JSON document of a sweep. Anti-entropy has no k and no removal: both are null there. */
export type LabJson = Pick<LabOptions, 'model' | 'mode' | 'nodes' | 'runs' | 'seed' | 'fanout' | 'connectionLimit' | 'hunt'> & {
  removal: LabOptions['removal'] | null
  pushThenPull: number | null
  workers: number
  elapsedMs: number
  rows: LabJsonRow[]
}

export interface LabJsonRow {
  k: number | null
  residue: number
  residueSd: number
  traffic: number
  trafficSd: number
  tAve: number
  tAveSd: number
  tLast: number
  tLastSd: number
  rounds: number
  roundsSd: number
  truncatedRuns: number
  theory: { residueDeterministic?: number; residueFromTraffic?: number; rounds?: number }
  fractions: { susceptible: number[]; infective: number[]; removed: number[] }
}

function isRumor(r: LabResult): boolean {
  return r.options.model === 'rumor'
}

export function toJson(r: LabResult): LabJson {
  const o = r.options
  const rumor = isRumor(r)
  return {
    model: o.model,
    mode: o.mode,
    removal: rumor ? o.removal : null,
    nodes: o.nodes,
    runs: o.runs,
    seed: o.seed,
    fanout: o.fanout,
    connectionLimit: o.connectionLimit,
    hunt: o.hunt,
    pushThenPull: o.pushThenPull ?? null,
    workers: r.workers,
    elapsedMs: Math.round(r.elapsedMs),
    rows: r.rows.map((row) => ({
      k: rumor ? row.k : null,
      residue: row.residue.mean,
      residueSd: row.residue.sd,
      traffic: row.traffic.mean,
      trafficSd: row.traffic.sd,
      tAve: row.tAve.mean,
      tAveSd: row.tAve.sd,
      tLast: row.tLast.mean,
      tLastSd: row.tLast.sd,
      rounds: row.rounds.mean,
      roundsSd: row.rounds.sd,
      truncatedRuns: row.truncated,
      theory: row.theory,
      fractions: row.curves,
    })),
  }
}

/** Four significant digits, or scientific notation for small values (residues reach 1e-6). */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  if (x === 0) return '0'
  const a = Math.abs(x)
  if (a < 1e-3) return x.toExponential(2)
  if (a >= 1000) return Math.round(x).toString()
  return Number(x.toPrecision(4)).toString()
}

/** Mean ± sd with the sd to two significant digits and the mean to the same decimal place. */
export function pm(s: Stat): string {
  if (!Number.isFinite(s.mean) || !Number.isFinite(s.sd)) return `${num(s.mean)} ± ${num(s.sd)}`
  if (s.sd === 0) return `${num(s.mean)} ± 0`
  if (Math.abs(s.mean) < 1e-3 && s.mean !== 0) return `${s.mean.toExponential(2)} ± ${s.sd.toExponential(1)}`
  const decimals = Math.max(0, Math.min(8, 1 - Math.floor(Math.log10(s.sd))))
  return `${s.mean.toFixed(decimals)} ± ${s.sd.toFixed(decimals)}`
}

function describe(r: LabResult): string {
  const o = r.options
  const what = isRumor(r) ? `rumor mongering, ${o.mode}, ${o.removal}` : `anti-entropy, ${o.mode}`
  const extras = [
    o.fanout !== 1 ? `fanout ${o.fanout}` : '',
    o.connectionLimit > 0 ? `connection limit ${o.connectionLimit}${o.hunt > 0 ? `, hunt ${o.hunt}` : ''}` : '',
    o.pushThenPull !== undefined ? `push for ${o.pushThenPull} cycles, then pull` : '',
  ].filter((x) => x !== '')
  const setup = `${o.nodes.toLocaleString('en-US')} sites, ${o.runs} run${o.runs === 1 ? '' : 's'}, seed ${o.seed}`
  const time = `${(r.elapsedMs / 1000).toFixed(2)} s on ${r.workers} thread${r.workers === 1 ? '' : 's'}`
  return `${what}${extras.length ? ` (${extras.join('; ')})` : ''} — ${setup} — ${time}`
}

/** The human table: mean ± standard deviation over runs, theory values in their own columns. */
export function formatTable(r: LabResult): string {
  const rumor = isRumor(r)
  const showDet = r.rows.some((row) => row.theory.residueDeterministic !== undefined)
  const showExpM = r.rows.some((row) => row.theory.residueFromTraffic !== undefined)
  const showRounds = r.rows.some((row) => row.theory.rounds !== undefined)
  const headers = [
    ...(rumor ? ['k'] : []),
    'residue s',
    ...(showDet ? ['s = e^-(k+1)(1-s)'] : []),
    ...(showExpM ? ['e^-m'] : []),
    'traffic m',
    't_ave',
    't_last',
    rumor ? 'cycles' : 'rounds',
    ...(showRounds ? [r.options.mode === 'push' ? 'log2 N + ln N' : 'log3 N'] : []),
  ]
  const line = (row: LabRow): string[] => [
    ...(rumor ? [String(row.k)] : []),
    pm(row.residue),
    ...(showDet ? [row.theory.residueDeterministic === undefined ? '' : num(row.theory.residueDeterministic)] : []),
    ...(showExpM ? [row.theory.residueFromTraffic === undefined ? '' : num(row.theory.residueFromTraffic)] : []),
    pm(row.traffic),
    pm(row.tAve),
    pm(row.tLast),
    pm(row.rounds),
    ...(showRounds ? [row.theory.rounds === undefined ? '' : num(row.theory.rounds)] : []),
  ]
  const notes: string[] = []
  const truncated = r.rows.reduce((n, row) => n + row.truncated, 0)
  if (truncated > 0) notes.push(`warning: ${truncated} run(s) stopped at --max-cycles ${r.options.maxCycles} before the end`)
  notes.push('traffic m: update messages sent per site; t_ave, t_last: cycle of receipt, mean over reached sites and the last one; mean ± sd over runs')
  return `${describe(r)}\n${table(headers, r.rows.map(line))}${notes.join('\n')}\n`
}

const CSV_HEADER = ['model', 'mode', 'removal', 'k', 'nodes', 'runs', 'seed', 'residue', 'residue_sd', 'traffic', 'traffic_sd', 't_ave', 't_ave_sd', 't_last', 't_last_sd', 'rounds', 'rounds_sd', 'theory_residue_deterministic', 'theory_residue_exp_m', 'theory_rounds']

/** One line per k; empty fields where a value does not apply. */
export function formatCsv(r: LabResult): string {
  const j = toJson(r)
  const opt = (x: number | undefined | null): string => (x === undefined || x === null ? '' : String(x))
  const lines = j.rows.map((row) =>
    [j.model, j.mode, j.removal ?? '', opt(row.k), j.nodes, j.runs, j.seed, row.residue, row.residueSd, row.traffic, row.trafficSd, row.tAve, row.tAveSd, row.tLast, row.tLastSd, row.rounds, row.roundsSd, opt(row.theory.residueDeterministic), opt(row.theory.residueFromTraffic), opt(row.theory.rounds)].join(','),
  )
  return [CSV_HEADER.join(','), ...lines].join('\n') + '\n'
}
