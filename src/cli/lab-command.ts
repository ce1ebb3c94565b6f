/**
 * `grapevine lab`: the epidemic models of Demers et al. 1987 on N sites (src/lab), many runs per k,
 * printed as a table like the paper's, or as JSON or CSV, optionally plotted to an SVG or PNG file.
 *
 *   grapevine lab rumor --mode push --removal feedback-counter --k 1..5 --nodes 1000 --runs 400 --seed 1
 *   grapevine lab rumor --mode pull --removal blind-coin --k 2
 *   grapevine lab anti-entropy --mode push-pull --nodes 1000000 --runs 1
 *
 *   grapevine lab aggregate --mode push-pull --function avg --pairing sequential --nodes 100000 --cycles 20
 *     (gossip aggregation: lab-aggregate.ts)
 *
 * Flag parsing is a pure function (parseLabFlags, unit-tested); a bad flag raises UsageError naming the
 * flag, what was given and the expected form (exit code 2). The models, the progress bar and the plots
 * load when the command runs (dynamic import): the agent shares this CLI and uses none of them.
 */
import type { Command } from 'commander'
import { Option } from 'commander'
import type { SingleBar } from 'cli-progress'
import { LAB_MODES, REMOVALS } from '../lab/model.js'
import type { LabMode, LabModel, Removal } from '../lab/model.js'
import type { LabOptions } from '../lab/runner.js'
import { figureFormat } from '../output/plot.js'
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import { importOptional } from '../core/optional-package.js'
import { runAggregateCommand } from './lab-aggregate.js'
import { parseCount, parseSeed } from '../runtime/sim/scenario-values.js'

export interface RawLabFlags {
  mode?: string
  removal?: string
  k?: string
  nodes?: string
  runs?: string
  seed?: string
  fanout?: string
  connectionLimit?: string
  hunt?: string
  pushThenPull?: string | boolean
  maxCycles?: string
  json?: boolean
  csv?: boolean
  plot?: string
  workers?: string
  /** lab aggregate only (lab-aggregate.ts). */
  function?: string
  pairing?: string
  cycles?: string
}

export interface LabCommandOptions {
  lab: LabOptions
  output: 'table' | 'json' | 'csv'
  plot?: string
  workers?: number
}

export const LAB_MODELS: readonly LabModel[] = ['anti-entropy', 'rumor']
const MAX_NODES = 16_777_216
const MAX_K = 255
const MAX_FANOUT = 64
const MAX_K_VALUES = 64

function bad(flag: string, expected: string, given: string): never {
  throw new UsageError(`${flag}: expected ${expected}, got ${JSON.stringify(given)}`)
}

/** `1..5`, `2`, `1,2,4` (or a mix, `1..3,8`) → sorted distinct values in [1, 255]. */
export function parseKList(text: string, flag = '--k'): number[] {
  const expected = `k values in 1..${MAX_K}: a range like 1..5, a list like 1,2,4 or one value like 2`
  const out = new Set<number>()
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(part)
    if (!m) bad(flag, expected, text)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (lo < 1 || hi > MAX_K || hi < lo) bad(flag, expected, text)
    for (let k = lo; k <= hi; k++) out.add(k)
  }
  if (out.size > MAX_K_VALUES) bad(flag, `at most ${MAX_K_VALUES} k values`, text)
  return [...out].sort((a, b) => a - b)
}

function choice<T extends string>(text: string, flag: string, options: readonly T[]): T {
  if (!(options as readonly string[]).includes(text)) bad(flag, `one of ${options.join(', ')}`, text)
  return text as T
}

/** Validates the model argument and every flag; throws UsageError on the first bad one. */
export function parseLabFlags(modelText: string, raw: RawLabFlags): LabCommandOptions {
  if (!(LAB_MODELS as readonly string[]).includes(modelText)) bad('model', `one of ${LAB_MODELS.join(', ')} or aggregate`, modelText)
  const model = modelText as LabModel
  const rumor = model === 'rumor'
  if (!rumor && raw.k !== undefined) throw new UsageError('--k: applies to rumor mongering only (lab rumor …); anti-entropy never stops spreading')
  if (!rumor && raw.removal !== undefined) throw new UsageError('--removal: applies to rumor mongering only (lab rumor …)')
  const nodes = raw.nodes === undefined ? 1000 : parseCount(raw.nodes, '--nodes', `a site count in 2..${MAX_NODES} like 1000`)
  if (nodes < 2 || nodes > MAX_NODES) bad('--nodes', `a site count in 2..${MAX_NODES} like 1000`, raw.nodes ?? '')
  const ks = rumor ? parseKList(raw.k ?? '1..5') : [0]
  const defaultRuns = nodes <= 10_000 ? 400 : Math.max(1, Math.floor(4_000_000 / nodes))
  const runs = raw.runs === undefined ? defaultRuns : parseCount(raw.runs, '--runs', 'a run count like 400')
  const seed = parseSeed(raw.seed ?? '1')
  const mode: LabMode = raw.mode === undefined ? 'push' : choice(raw.mode, '--mode', LAB_MODES)
  const removal: Removal = raw.removal === undefined ? 'feedback-counter' : choice(raw.removal, '--removal', REMOVALS)
  const fanout = raw.fanout === undefined ? 1 : parseCount(raw.fanout, '--fanout', `partners per cycle, 1..${MAX_FANOUT}`)
  if (fanout > MAX_FANOUT || fanout > nodes - 1) bad('--fanout', `partners per cycle, 1..${Math.min(MAX_FANOUT, nodes - 1)} (fewer than --nodes)`, raw.fanout ?? '')
  const limitForm = 'connections a site accepts per cycle, 1..65535 (default: no limit)'
  const connectionLimit = raw.connectionLimit === undefined ? 0 : parseCount(raw.connectionLimit, '--connection-limit', limitForm)
  if (connectionLimit > 65_535) bad('--connection-limit', limitForm, raw.connectionLimit ?? '')
  const hunt = raw.hunt === undefined ? 0 : parseCount(raw.hunt, '--hunt', 'extra partners to try after a refused connection, like 1', true)
  if (hunt > 0 && connectionLimit === 0) throw new UsageError('--hunt: only means something with --connection-limit; add --connection-limit 1')
  let pushThenPull: number | undefined
  if (raw.pushThenPull !== undefined) {
    if (raw.mode !== undefined) throw new UsageError('--push-then-pull: replaces --mode (push for some cycles, then pull); drop --mode')
    pushThenPull = raw.pushThenPull === true ? Math.ceil(Math.log2(nodes)) : parseCount(String(raw.pushThenPull), '--push-then-pull', 'the number of push cycles before pulling, like 10 (default: ceil(log2 N))')
  }
  const maxCycles = raw.maxCycles === undefined ? 100_000 : parseCount(raw.maxCycles, '--max-cycles', 'a cycle count like 10000')
  if (raw.json === true && raw.csv === true) throw new UsageError('--json and --csv: pick one output format')
  if (raw.plot !== undefined && figureFormat(raw.plot) === undefined) bad('--plot', 'a file name ending in .svg or .png', raw.plot)
  const workers = raw.workers === undefined ? undefined : parseCount(raw.workers, '--workers', 'a thread count like 2 (0: run on the main thread)', true)
  if (workers !== undefined && workers > 256) bad('--workers', 'a thread count like 2, at most 256', raw.workers ?? '')
  return {
    lab: { model, mode, removal, ks, nodes, runs, seed, fanout, connectionLimit, hunt, pushThenPull, maxCycles },
    output: raw.json === true ? 'json' : raw.csv === true ? 'csv' : 'table',
    plot: raw.plot,
    workers,
  }
}

/** A progress bar on stderr for sweeps that take more than a second, only when stderr is a terminal. */
function progressBar(Bar: typeof SingleBar): { update: (done: number, total: number) => void; stop: () => void } {
  const started = performance.now()
  let bar: SingleBar | undefined
  const tty = process.stderr.isTTY === true
  return {
    update(done, total) {
      if (!tty) return
      if (bar === undefined) {
        if (performance.now() - started < 1000 || done >= total) return
        bar = new Bar({ format: 'lab [{bar}] {percentage}% | {value}/{total} runs | ETA {eta}s', stream: process.stderr, hideCursor: true, clearOnComplete: true })
        bar.start(total, done)
      }
      bar.update(done)
    },
    stop() {
      bar?.stop()
    },
  }
}

export async function runLabCommand(modelText: string, raw: RawLabFlags, io: CommandIo): Promise<number> {
  if (modelText === 'aggregate') return runAggregateCommand(raw, io)
  const opts = parseLabFlags(modelText, raw)
  const [{ runLab }, { formatCsv, formatTable, toJson }, { writeLabPlot }, { SingleBar: Bar }] = await Promise.all([
    import('../lab/runner.js'),
    import('../lab/format.js'),
    import('../lab/plot.js'),
    importOptional('cli-progress', 'grapevine lab', () => import('cli-progress')),
  ])
  const bar = progressBar(Bar)
  let result
  try {
    result = await runLab(opts.lab, { workers: opts.workers, progress: bar.update })
  } finally {
    bar.stop()
  }
  if (opts.output === 'json') io.out(JSON.stringify(toJson(result), null, 2) + '\n')
  else if (opts.output === 'csv') io.out(formatCsv(result))
  else io.out(formatTable(result))
  if (opts.plot !== undefined) {
    await writeLabPlot(opts.plot, result)
    if (opts.output === 'table') io.out(`plot written to ${opts.plot}\n`)
  }
  return 0
}

export function addLabCommand(program: Command, io: CommandIo): void {
  program
    .command('lab')
    .description('the epidemic models of Demers et al. 1987 (anti-entropy, rumor mongering) on N sites: residue, traffic, delays, as in the paper\'s tables; and gossip aggregation (aggregate: push-pull averaging, push-sum)')
    .argument('<model>', 'anti-entropy, rumor or aggregate')
    .addOption(new Option('--mode <MODE>', 'who sends: push, pull or push-pull (default push); aggregate: push-pull (default) or push-sum'))
    .option('--function <F>', 'aggregate: avg (default), sum, count, min or max')
    .option('--pairing <P>', 'aggregate, push-pull: sequential (default: each node initiates once per cycle in random order), random (N random pairs) or matching (two perfect matchings)')
    .option('--cycles <C>', 'aggregate: cycles to run (default 20; push-sum 2·log2 N + 20)')
    .addOption(new Option('--removal <HOW>', 'rumor mongering: when a site loses interest: feedback-counter (default), blind-counter, feedback-coin, blind-coin'))
    .option('--k <K>', 'rumor mongering: counter limit or 1/probability, e.g. 1..5, 1,2,4 or 2 (default 1..5)')
    .option('--nodes <N>', 'number of sites (default 1000)')
    .option('--runs <R>', 'runs per k (default 400; fewer above 10,000 sites)')
    .option('--seed <S>', 'run seed, 0..4294967295 (default 1); run r uses a seed derived from it')
    .option('--fanout <F>', 'partners each site contacts per cycle (default 1)')
    .option('--connection-limit <L>', 'connections a site accepts per cycle as the called party (default: no limit)')
    .option('--hunt <H>', 'with --connection-limit: other partners a refused site tries in the same cycle (default 0)')
    .option('--push-then-pull [CYCLES]', 'push for CYCLES cycles (default ceil(log2 N)), then pull')
    .option('--max-cycles <C>', 'stop a run after C cycles (default 100000)')
    .option('--json', 'print { model, mode, removal, nodes, runs, seed, rows: [...] } as JSON')
    .option('--csv', 'print one CSV line per k')
    .option('--plot <FILE>', 'draw fractions per cycle and residue/traffic against k to FILE.svg or FILE.png')
    .option('--workers <N>', 'worker threads for the runs (default: one per core for big sweeps; 0: main thread)')
    .action(async (model: string, flags: RawLabFlags) => {
      process.exitCode = await runLabCommand(model, flags, io)
    })
}
