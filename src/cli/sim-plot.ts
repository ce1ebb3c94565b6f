/**
 * `grapevine sim … --plot FILE.svg|.png`: the run's time series as three panels sharing the time axis:
 * members each node sees alive (fewest, median, most over the live nodes, against the number of live
 * nodes), first-hand suspicions and dead declarations per second, and the bytes per second the whole
 * cluster sent.
 */
import type { Report } from '../runtime/sim/report.js'
import type { TimeSeries } from '../runtime/sim/timeseries.js'
import type { Figure } from '../output/plot.js'
import { figureFormat, writeFigure } from '../output/plot.js'
import { UsageError } from '../core/errors.js'

const WIDTH = 760
const HEIGHT = 200

/** Refuses a --plot file name that is neither .svg nor .png, before anything runs. */
export function checkPlotFile(file: string | undefined): void {
  if (file !== undefined && figureFormat(file) === undefined) throw new UsageError(`--plot: expected a file name ending in .svg or .png, got ${JSON.stringify(file)}`)
}

/** The figure of a run's time series. */
export function timeSeriesFigure(ts: TimeSeries, title: string): Figure {
  const t = ts.t
  const perSecond = 1000 / ts.intervalMs
  const time = { title: 'virtual time', unit: 's' }
  return {
    title,
    columns: 1,
    charts: [
      {
        title: 'Members each node sees alive',
        x: time,
        y: { title: 'members seen alive', unit: 'nodes' },
        width: WIDTH,
        height: HEIGHT,
        series: [
          { name: 'live nodes (should see)', x: t, y: ts.live, dashed: true },
          { name: 'most', x: t, y: ts.aliveMax },
          { name: 'median', x: t, y: ts.aliveMedian },
          { name: 'fewest', x: t, y: ts.aliveMin },
        ],
      },
      {
        title: 'Accusations (first-hand)',
        x: time,
        y: { title: 'per second', unit: 'events/s' },
        width: WIDTH,
        height: HEIGHT,
        series: [
          { name: 'suspicions', x: t, y: ts.suspicions.map((v) => v * perSecond) },
          { name: 'dead declarations', x: t, y: ts.deaths.map((v) => v * perSecond) },
        ],
      },
      {
        title: 'Traffic sent by the whole cluster',
        x: time,
        y: { title: 'traffic', unit: 'KB/s' },
        width: WIDTH,
        height: HEIGHT,
        series: [{ name: 'datagrams and streams', x: t, y: ts.bytesPerSec.map((v) => Math.round(v / 102.4) / 10) }],
      },
    ],
  }
}

/** Writes the plot of a report's time series. */
export async function writePlot(file: string, report: Report): Promise<void> {
  if (report.timeSeries === undefined) throw new Error('the report has no time series to plot')
  const title = `${report.scenario !== undefined ? `${report.scenario}: ` : ''}${report.nodes} nodes, seed ${report.seed}`
  await writeFigure(file, timeSeriesFigure(report.timeSeries, title))
}
