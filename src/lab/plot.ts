/**
 * `grapevine lab --plot FILE.svg|png`: the mean susceptible/infective/removed fractions per cycle and,
 * for a sweep over k, residue and traffic against k with the theory beside them.
 */
import type { Figure, LineChart, Series } from '../output/plot.js'
import { writeFigure } from '../output/plot.js'
import type { LabResult } from './runner.js'

const cycles = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
const fraction = { title: 'fraction of sites' }
const cycleAxis = { title: 'cycle' }

function title(r: LabResult): string {
  const o = r.options
  const what = o.model === 'rumor' ? `Rumor mongering, ${o.mode}, ${o.removal}` : `Anti-entropy, ${o.mode}`
  return `${what} — ${o.nodes.toLocaleString('en-US')} sites, mean of ${o.runs} run${o.runs === 1 ? '' : 's'} (seed ${o.seed})`
}

export function labFigure(r: LabResult): Figure {
  const o = r.options
  const charts: LineChart[] = []
  if (o.model === 'anti-entropy' || r.rows.length === 1) {
    const row = r.rows[0]
    const x = cycles(row.curves.susceptible.length)
    const series: Series[] = [
      { name: 'susceptible', x, y: row.curves.susceptible },
      { name: o.model === 'rumor' ? 'infective' : 'knows the update', x, y: row.curves.infective },
    ]
    if (o.model === 'rumor') series.push({ name: 'removed', x, y: row.curves.removed })
    charts.push({ title: o.model === 'rumor' ? `States per cycle (k = ${row.k})` : 'States per cycle', x: cycleAxis, y: { ...fraction, domain: [0, 1] }, series })
    charts.push({
      title: 'Susceptible fraction, log scale (the tail)',
      x: cycleAxis,
      y: { ...fraction, scale: 'log' },
      series: [{ name: 'susceptible', x, y: row.curves.susceptible }],
    })
  } else {
    // Every k drawn over the same cycles: a row whose runs all ended earlier keeps its final value.
    const len = Math.max(...r.rows.map((row) => row.curves.susceptible.length))
    const pad = (ys: number[]): number[] => Array.from({ length: len }, (_, t) => ys[Math.min(t, ys.length - 1)])
    const byK = (pick: (c: LabResult['rows'][number]['curves']) => number[]): Series[] =>
      r.rows.map((row) => ({ name: `k = ${row.k}`, x: cycles(len), y: pad(pick(row.curves)) }))
    charts.push({ title: 'Susceptible per cycle', x: cycleAxis, y: { ...fraction, domain: [0, 1] }, series: byK((c) => c.susceptible) })
    charts.push({ title: 'Infective per cycle', x: cycleAxis, y: { ...fraction, domain: [0, 1] }, series: byK((c) => c.infective) })
  }
  if (o.model === 'rumor' && r.rows.length > 1) {
    const ks = r.rows.map((row) => row.k)
    const residue: Series[] = [{ name: 'residue (measured)', x: ks, y: r.rows.map((row) => row.residue.mean) }]
    if (r.rows.every((row) => row.theory.residueDeterministic !== undefined)) {
      residue.push({ name: 's = e^-(k+1)(1-s)', x: ks, y: r.rows.map((row) => row.theory.residueDeterministic ?? NaN), dashed: true })
    }
    if (r.rows.every((row) => row.theory.residueFromTraffic !== undefined)) {
      residue.push({ name: 'e^-m (m = measured traffic)', x: ks, y: r.rows.map((row) => row.theory.residueFromTraffic ?? NaN), dashed: true })
    }
    charts.push({ title: 'Residue against k', x: { title: 'k' }, y: { title: 'residue', unit: 'fraction never reached', scale: 'log' }, series: residue })
    charts.push({
      title: 'Traffic against k',
      x: { title: 'k' },
      y: { title: 'traffic', unit: 'update messages per site' },
      series: [{ name: 'traffic m', x: ks, y: r.rows.map((row) => row.traffic.mean) }],
    })
  }
  return { title: title(r), charts, columns: 2 }
}

export async function writeLabPlot(file: string, r: LabResult): Promise<void> {
  await writeFigure(file, labFigure(r))
}
