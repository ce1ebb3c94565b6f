/**
 * `grapevine sim FILE`: reads a scenario file, runs it (the language itself, pure, is
 * runtime/sim/scenario-file.ts) and prints the report as the flag-driven
 * `grapevine sim` does, with the time series; `--plot FILE.svg|.png` draws them.
 *
 *   grapevine sim examples/two-dc-partition.yaml [--seed S] [--duration TIME] [--json] [--plot F] [--trace F]
 *   (a file with datacenters: runs in datacenters-command.ts, one with membership: hyparview in overlay-sim-command.ts)
 *
 * The file describes the cluster, so the flags that describe one (--nodes, --profile, --loss, …) are
 * refused with a message saying where to change it instead. `--duration` may shorten (or lengthen)
 * the chaos phase: steps from then on do not run, and the report's steps say so.
 */
import type { Report } from '../runtime/sim/report.js'
import { runScenario } from '../runtime/sim/scenario.js'
import { formatDurationMs } from '../runtime/sim/steps.js'
import type { TraceSink } from '../runtime/sim/trace.js'
import type { RawSimFlags } from './sim-command.js'
import type { CommandIo } from '../output/io.js'
import { finishRun } from './sim-command.js'
import { UsageError } from '../core/errors.js'
import { parseDurationMs, parseSeed } from '../runtime/sim/scenario-values.js'
import type { ScenarioFile } from '../runtime/sim/scenario-file.js'
import { checkPlotFile } from './sim-plot.js'
import { parseScenario } from '../runtime/sim/scenario-file.js'
import { FileTooLargeError, SCENARIO_FILE_MAX_BYTES, readBoundedText } from '../agent/bounded-read.js'
import { basename } from 'node:path'
import { isDatacentersScenario } from '../runtime/sim/datacenters-file.js'
import { isOverlayScenario } from '../runtime/sim/overlay-file.js'
import { fileErrorExit, runDatacentersFileCommand } from './datacenters-command.js'

/** Reads and validates a scenario file; throws ScenarioFileError listing every problem. */
export function loadScenarioFile(path: string): ScenarioFile {
  let text: string
  try {
    text = readBoundedText(path, SCENARIO_FILE_MAX_BYTES, 'the scenario file')
  } catch (err) {
    if (err instanceof FileTooLargeError) throw new UsageError(err.message)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`no scenario file at ${path}; give the path of a .yaml or .json scenario (the package's examples/ folder has some, like examples/flaky-rack.yaml)`)
    if (code === 'EISDIR') throw new UsageError(`${path} is a folder; give the path of a .yaml or .json scenario file in it`)
    if (code === 'EACCES') throw new UsageError(`cannot read the scenario file ${path}: permission denied`)
    throw new UsageError(`cannot read the scenario file ${path}: ${code ?? (err as Error).message}`)
  }
  return parseScenario(text, basename(path))
}

/** Flags that describe a cluster or its faults: a scenario file does that. */
const CLUSTER_FLAGS: ReadonlyArray<[keyof RawSimFlags, string, string]> = [
  ['nodes', '--nodes', 'nodes:'],
  ['profile', '--profile', 'profile:'],
  ['loss', '--loss', 'network: { loss: … } or a network step'],
  ['streamLoss', '--stream-loss', 'network: { streamLoss: … } or a network step'],
  ['membershipOnly', '--membership-only', 'membershipOnly: true'],
  ['latency', '--latency', 'network: { latency: … } or a network step'],
  ['crash', '--crash', 'a crash step in timeline:'],
  ['pause', '--pause', 'a pause step in timeline:'],
  ['partition', '--partition', 'a partition step in timeline:'],
  ['kvWrites', '--kv-writes', 'workload: { kvWrites: … }'],
  ['broadcasts', '--broadcasts', 'workload: { broadcasts: … }'],
  ['crdtOps', '--crdt-ops', 'workload: { crdtOps: … }'],
  ['crdtDurable', '--crdt-durable', 'workload: { crdtDurable: true }'],
  ['workloadWindow', '--workload-window', 'workload: { window: … }'],
]

/** The scenario file's run with the command line's overrides (seed, duration). */
export interface FileRun {
  readonly file: ScenarioFile
  readonly path: string
  readonly seed: number
  readonly durationMs: number
}

/** Validates the flags given with a scenario file; throws UsageError. */
export function fileRunOf(path: string, raw: RawSimFlags, randomSeed: () => number): FileRun {
  for (const [key, flag, where] of CLUSTER_FLAGS) {
    if (raw[key] !== undefined) throw new UsageError(`${flag}: the scenario file describes the cluster; set ${where} in ${path} instead, or run without a file to use flags`)
  }
  checkPlotFile(raw.plot)
  if (raw.lifeguard === false) throw new UsageError(`--no-lifeguard: the scenario file describes the cluster; set lifeguard: false in ${path} instead`)
  const file = loadScenarioFile(path)
  const durationMs = raw.duration === undefined ? file.scenario.durationMs : parseDurationMs(raw.duration, '--duration')
  if (durationMs <= 0) throw new UsageError(`--duration: expected a duration above 0 like 30s, got ${JSON.stringify(raw.duration)}`)
  const seed = raw.seed !== undefined ? parseSeed(raw.seed) : (file.seed ?? randomSeed())
  return { file, path, seed, durationMs }
}

/** The command that replays a file run. */
export function fileReplayCommand(run: FileRun): string {
  const duration = run.durationMs !== run.file.scenario.durationMs ? ` --duration ${formatDurationMs(run.durationMs)}` : ''
  return `grapevine sim ${run.path} --seed ${run.seed}${duration}`
}

/** Runs a scenario file; the report carries the time series. */
export function runFile(run: FileRun, trace?: TraceSink): Report {
  const skipped = run.file.scenario.steps?.filter((s) => s.atMs >= run.durationMs).length ?? 0
  const report = runScenario({ ...run.file.scenario, seed: run.seed, durationMs: run.durationMs, trace })
  const notes = skipped > 0 ? [`(${skipped} step${skipped === 1 ? '' : 's'} after --duration ${formatDurationMs(run.durationMs)} not run)`] : []
  return { ...report, ...(run.file.name !== undefined ? { scenario: run.file.name } : {}), steps: [...report.steps, ...notes], replay: fileReplayCommand(run) }
}

/** `grapevine sim FILE …`; resolves to the exit code (0 converged, 1 not, 2 usage or file error). */
export async function runScenarioFileCommand(path: string, raw: RawSimFlags, io: CommandIo, randomSeed: () => number): Promise<number> {
  let run: FileRun
  try {
    // A file of several datacenters has its own runner and report (datacenters-command.ts).
    const text = readBoundedText(path, SCENARIO_FILE_MAX_BYTES, 'the scenario file')
    if (isDatacentersScenario(text)) return await runDatacentersFileCommand(path, text, raw, io, randomSeed)
    if (isOverlayScenario(text)) return await (await import('./overlay-sim-command.js')).runOverlayFileCommand(path, text, raw, io, randomSeed)
  } catch (err) {
    if (!(err instanceof Error && 'code' in err) && !(err instanceof FileTooLargeError)) throw err
    // Unreadable: loadScenarioFile below says why.
  }
  try {
    run = fileRunOf(path, raw, randomSeed)
  } catch (err) {
    return fileErrorExit(err, path, io)
  }
  return finishRun((trace) => runFile(run, trace), raw, io)
}
