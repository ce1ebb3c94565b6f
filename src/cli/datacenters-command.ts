/**
 * `grapevine sim FILE` for a file of several datacenters (runtime/sim/datacenters-file.ts): runs it,
 * prints the report (each pool's figures, the WAN partition's detection and heal, the relayed events
 * and queries), with `--plot FILE.svg|.png` draws the members each pool's nodes see alive over time,
 * and with `--trace FILE` writes the run's trace (the simulator's lines plus `pool` and `relay` lines).
 *
 *   file ─▶ parseDatacentersScenario ─▶ runDatacentersScenario(trace sink) ─▶ report text | --json
 *                                                                          └▶ datacentersFigure ─▶ --plot
 *
 * Only --seed, --duration, --json, --plot and --trace apply; the file describes everything else.
 */
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import type { Figure } from '../output/plot.js'
import { writeFigure } from '../output/plot.js'
import { formatDatacentersReport, runDatacentersScenario } from '../runtime/sim/datacenters-scenario.js'
import type { DatacentersReport } from '../runtime/sim/datacenters-scenario.js'
import { parseDatacentersScenario } from '../runtime/sim/datacenters-file.js'
import { ScenarioFileError } from '../runtime/sim/scenario-file.js'
import { parseDurationMs, parseSeed } from '../runtime/sim/scenario-values.js'
import { formatDurationMs } from '../runtime/sim/steps.js'
import { fileTrace } from './sim-command.js'
import type { RawSimFlags } from './sim-command.js'
import { checkPlotFile } from './sim-plot.js'

const ALLOWED = new Set(['seed', 'duration', 'json', 'plot', 'trace'])

/** Members seen alive in each pool over time: one panel for the LAN pools, one for the WAN pool. */
export function datacentersFigure(r: DatacentersReport): Figure {
  const t = r.timeSeries.t
  const time = { title: 'virtual time', unit: 's' }
  return {
    title: `${r.scenario ?? 'datacenters'}: seed ${r.seed}`,
    columns: 1,
    charts: [
      {
        title: 'LAN pools: fewest members alive seen by a node of each datacenter',
        x: time,
        y: { title: 'members seen alive', unit: 'nodes' },
        width: 760,
        height: 200,
        series: r.datacenters.flatMap((d) => {
          const seen = { name: `${d.name} (${d.nodes} nodes)`, x: t, y: r.timeSeries.lan[d.name] }
          // A datacenter that lost a node: how many of its nodes run, dashed, beside what they see.
          const running = r.timeSeries.lanLive[d.name]
          return running.some((v) => v !== d.nodes) ? [seen, { name: `${d.name} running`, x: t, y: running, dashed: true }] : [seen]
        }),
      },
      {
        title: 'WAN pool: fewest servers alive seen by a server',
        x: time,
        y: { title: 'servers seen alive', unit: 'servers' },
        width: 760,
        height: 200,
        series: [
          { name: 'servers running (should see)', x: t, y: r.timeSeries.wanLive, dashed: true },
          { name: 'fewest seen alive', x: t, y: r.timeSeries.wan },
        ],
      },
    ],
  }
}

/** A scenario file's problems or a usage mistake printed, exit code 2; anything else is rethrown. */
export function fileErrorExit(err: unknown, path: string, io: CommandIo): number {
  if (err instanceof ScenarioFileError) {
    io.err(`grapevine sim: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} in ${path}:\n${err.message}\n`)
    return 2
  }
  if (err instanceof UsageError) {
    io.err(`grapevine sim: ${err.message}\n`)
    return 2
  }
  throw err
}

export async function runDatacentersFileCommand(path: string, text: string, raw: RawSimFlags, io: CommandIo, randomSeed: () => number): Promise<number> {
  let report: DatacentersReport
  try {
    for (const [k, v] of Object.entries(raw)) {
      if (v !== undefined && !(k === 'lifeguard' && v === true) && !ALLOWED.has(k)) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: not for a datacenters scenario; the file describes the datacenters and their faults (only --seed, --duration, --json, --plot and --trace apply)`)
    }
    checkPlotFile(raw.plot)
    const file = parseDatacentersScenario(text, path)
    const durationMs = raw.duration === undefined ? file.scenario.durationMs : parseDurationMs(raw.duration, '--duration')
    if (durationMs <= 0) throw new UsageError(`--duration: expected a duration above 0 like 5m, got ${JSON.stringify(raw.duration)}`)
    const seed = raw.seed !== undefined ? parseSeed(raw.seed) : (file.seed ?? randomSeed())
    const steps = (file.scenario.steps ?? []).filter((s) => s.atMs < durationMs)
    const trace = raw.trace === undefined ? undefined : fileTrace(raw.trace)
    const wallStart = performance.now()
    try {
      report = runDatacentersScenario({ ...file.scenario, seed, durationMs, steps, trace: trace?.sink })
    } finally {
      trace?.close()
    }
    const wallMs = performance.now() - wallStart
    const replay = `grapevine sim ${path} --seed ${seed}${raw.duration === undefined ? '' : ` --duration ${formatDurationMs(durationMs)}`}`
    io.out(raw.json === true ? JSON.stringify({ ...report, wallMs, replay }, null, 2) + '\n' : formatDatacentersReport(report, wallMs) + `replay: ${replay}\n`)
  } catch (err) {
    return fileErrorExit(err, path, io)
  }
  if (raw.plot !== undefined) {
    await writeFigure(raw.plot, datacentersFigure(report))
    if (raw.json !== true) io.out(`plot written to ${raw.plot}\n`)
  }
  if (raw.trace !== undefined && raw.json !== true) io.out(`trace written to ${raw.trace}\n`)
  // Exit 0 when every pool converged at the end (WAN: whole) and no LAN pool declared a running member failed.
  return report.wan.whole && report.datacenters.every((d) => d.lan.converged && d.lan.falsePositives.deaths === 0) ? 0 : 1
}
