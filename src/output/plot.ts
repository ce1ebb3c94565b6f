/**
 * Charts written to files: line charts of named series, with titled axes (units in the title) and a
 * legend, laid out in a grid when a figure has several panels. Vega-Lite describes the chart, Vega
 * renders it to SVG headless (no canvas), resvg turns the SVG into a PNG. The file's extension picks
 * the format: `.svg` or `.png`.
 *
 *   await writeFigure('out.png', { title: 'Spread', charts: [{ x: { title: 'cycle' }, y: { title:
 *     'fraction', unit: 'of sites' }, series: [{ name: 'infective', x: [0, 1, 2], y: [0.1, 0.4, 0.2] }] }] })
 *
 * Vega, Vega-Lite and resvg are loaded on first use (dynamic import), not with this module: they cost
 * about 16 MB, and the agent, which imports the CLI, never draws a chart.
 */
import { writeFileSync } from 'node:fs'
import { extname } from 'node:path'
import type { TopLevelSpec } from 'vega-lite'
import { importOptional } from '../core/optional-package.js'

export interface Axis {
  title: string
  /** Shown after the title in parentheses, e.g. `cycles`, `messages per site`. */
  unit?: string
  scale?: 'linear' | 'log'
  /** Fixed domain; default: fitted to the data (zero included on linear axes only if data reaches it). */
  domain?: readonly [number, number]
}

export interface Series {
  name: string
  x: ArrayLike<number>
  y: ArrayLike<number>
  /** Draw this series dashed (for theory or reference curves). */
  dashed?: boolean
}

export interface LineChart {
  title?: string
  x: Axis
  y: Axis
  series: readonly Series[]
  /** Marks at each data point (default: only when a series has at most 30 points). */
  points?: boolean
  width?: number
  height?: number
}

export interface Figure {
  title?: string
  charts: readonly LineChart[]
  /** Panels per row (default 2, or 1 for a single chart). */
  columns?: number
}

export type FigureFormat = 'svg' | 'png'

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif'
/** Tableau 10: distinguishable and printable. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac']

/** The format a file name asks for, or undefined for an unsupported extension. */
export function figureFormat(file: string): FigureFormat | undefined {
  const ext = extname(file).toLowerCase()
  return ext === '.svg' ? 'svg' : ext === '.png' ? 'png' : undefined
}

function axisTitle(axis: Axis): string {
  return axis.unit === undefined || axis.unit === '' ? axis.title : `${axis.title} (${axis.unit})`
}

function panelSpec(chart: LineChart, index: number, seriesOrder: readonly string[]): Record<string, unknown> {
  const rows: { x: number; y: number; series: string; dashed: boolean }[] = []
  let maxPoints = 0
  for (const s of chart.series) {
    const n = Math.min(s.x.length, s.y.length)
    maxPoints = Math.max(maxPoints, n)
    for (let i = 0; i < n; i++) {
      const x = s.x[i]
      const y = s.y[i]
      // A log axis cannot show zero or negative values; they are left out rather than breaking the scale.
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue
      if (chart.y.scale === 'log' && y <= 0) continue
      if (chart.x.scale === 'log' && x <= 0) continue
      rows.push({ x, y, series: s.name, dashed: s.dashed === true })
    }
  }
  const scale = (axis: Axis): Record<string, unknown> => ({
    type: axis.scale ?? 'linear',
    ...(axis.domain ? { domain: [...axis.domain] } : axis.scale === 'log' ? {} : { zero: false }),
    ...(axis.scale === 'log' ? {} : { nice: true }),
  })
  const showPoints = chart.points ?? maxPoints <= 30
  return {
    ...(chart.title ? { title: { text: chart.title, fontSize: 14 } } : {}),
    width: chart.width ?? 420,
    height: chart.height ?? 260,
    data: { name: `panel${index}`, values: rows },
    mark: { type: 'line', point: showPoints ? { size: 36, filled: true } : false, strokeWidth: 2, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: axisTitle(chart.x), scale: scale(chart.x), axis: { grid: true, tickMinStep: 1 } },
      y: { field: 'y', type: 'quantitative', title: axisTitle(chart.y), scale: scale(chart.y), axis: { grid: true } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: [...seriesOrder], range: PALETTE.slice(0, Math.max(1, seriesOrder.length)) },
        sort: [...seriesOrder],
        legend: { orient: 'right', labelLimit: 280, symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 300 },
      },
      strokeDash: {
        field: 'dashed',
        type: 'nominal',
        scale: { domain: [false, true], range: [[1, 0], [6, 4]] },
        legend: null,
      },
    },
  }
}

/** The Vega-Lite spec of a figure (exported so callers can embed it or inspect it). */
export function figureSpec(figure: Figure): TopLevelSpec {
  if (figure.charts.length === 0) throw new Error('figure: no charts to draw')
  const panels = figure.charts.map((chart, i) => {
    // Each panel gets its own colour scale: series names differ between panels.
    const order = chart.series.map((s) => s.name)
    return panelSpec(chart, i, [...new Set(order)])
  })
  const config = {
    font: FONT,
    background: 'white',
    padding: 16,
    axis: { labelFontSize: 12, titleFontSize: 13, titlePadding: 8 },
    legend: { labelFontSize: 12, titleFontSize: 12 },
    title: { fontSize: 16, anchor: 'start' },
    view: { stroke: '#888' },
  }
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config, ...(figure.title ? { title: figure.title } : {}) }
  if (panels.length === 1) return { ...base, ...panels[0] } as TopLevelSpec
  const columns = figure.columns ?? 2
  return { ...base, columns, concat: panels, resolve: { scale: { color: 'independent', strokeDash: 'independent' } } } as unknown as TopLevelSpec
}

/** Renders a figure to SVG text. */
export async function figureSvg(figure: Figure): Promise<string> {
  const [{ View, parse }, { compile }] = await Promise.all([
    importOptional('vega', 'drawing a plot', () => import('vega')),
    importOptional('vega-lite', 'drawing a plot', () => import('vega-lite')),
  ])
  const vgSpec = compile(figureSpec(figure)).spec
  const view = new View(parse(vgSpec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Rasterises SVG text to PNG bytes; `scale` 2 gives a sharp image on high-density screens. */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await importOptional('@resvg/resvg-js', 'a PNG plot', () => import('@resvg/resvg-js'))
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  })
  return resvg.render().asPng()
}

/** Writes a figure to `file` as SVG or PNG according to its extension. */
export async function writeFigure(file: string, figure: Figure): Promise<void> {
  const format = figureFormat(file)
  if (format === undefined) throw new Error(`${file}: unsupported chart format (use a .svg or .png file name)`)
  const svg = await figureSvg(figure)
  writeFileSync(file, format === 'svg' ? svg : await svgToPng(svg))
}
