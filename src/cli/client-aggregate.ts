/**
 * `grapevine aggregate …`: aggregates a running agent computes with the cluster by gossip, over its
 * HTTP API (/v1/aggregate).
 *
 *   grapevine aggregate start NAME FUNCTION (--metric M | --constant N | --command SH)
 *                             [--mode push-pull|push-sum] [--cycle MS] [--epoch-cycles C]
 *   grapevine aggregate get NAME          the last epoch's estimate (the number; --json: everything)
 *   grapevine aggregate list              every aggregate running on the agent, with its estimate
 *   grapevine aggregate stop NAME
 *
 *   command ──HTTP──▶ agent ──▶ node.aggregate (the protocol runs inside the agent's node)
 *
 * Every command takes --http, --http-token and --json. The same aggregate (name, function, mode,
 * cycle, epoch) must be started on every agent that should take part.
 */
import type { Command } from 'commander'
import { UsageError } from '../core/errors.js'
import type { CommandIo } from '../output/io.js'
import { table } from '../output/table.js'
import { clientOptions } from './client-commands.js'
import { call, target, type ClientFlags } from './client.js'

interface StartFlags extends ClientFlags {
  metric?: string
  constant?: string
  command?: string
  mode?: string
  cycle?: string
  epochCycles?: string
}

interface Aggregate {
  name: string
  function: string
  mode: string
  epochMs: number
  estimate: { value: number | null; epoch: number; spread: number | null } | null
  running: { epoch: number; cycle: number }
  participants: number
  source: { kind: string; metric?: string; value?: number; command?: string; lastError?: string | null }
}

function integer(text: string | undefined, flag: string, example: string): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number, like ${example}`)
  return Number(text)
}

function sourceOf(f: StartFlags, fn: string): Record<string, unknown> | undefined {
  const given = [f.metric, f.constant, f.command].filter((x) => x !== undefined).length
  if (given > 1) throw new UsageError('give one of --metric, --constant or --command')
  if (f.metric !== undefined) return { metric: f.metric }
  if (f.command !== undefined) return { command: f.command }
  if (f.constant !== undefined) {
    const n = Number(f.constant)
    if (f.constant.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--constant ${JSON.stringify(f.constant)}: expected a number, like 4 or 0.5`)
    return { constant: n }
  }
  if (fn === 'count') return undefined
  throw new UsageError('the value is missing: give --metric load1|load5|load15|members|rss|freemem|cpus, --constant N or --command "SHELL"')
}

function estimateText(a: Aggregate): string {
  const v = a.estimate?.value
  return v === null || v === undefined ? '-' : String(Number(v.toPrecision(8)))
}

function sourceText(a: Aggregate): string {
  const s = a.source
  if (s.kind === 'metric') return `metric ${s.metric}`
  if (s.kind === 'constant') return `constant ${s.value}`
  if (s.kind === 'command') return `command${s.lastError ? ' (last run failed)' : ''}`
  return s.kind
}

/** Adds `grapevine aggregate …` to the program. */
export function addAggregateCommands(program: Command, io: CommandIo): void {
  const agg = program.command('aggregate').description('average, sum, count, min or max of a value over the cluster, computed by gossip (on a running agent)')
  const run = (fn: (...a: never[]) => Promise<number>) => async (...args: unknown[]): Promise<void> => {
    process.exitCode = await (fn as (...a: unknown[]) => Promise<number>)(...args)
  }
  const print = (a: Aggregate, json: boolean | undefined): number => {
    io.out(json === true ? JSON.stringify(a, null, 2) + '\n' : `${estimateText(a)}\n`)
    return 0
  }

  clientOptions(agg.command('start').description('start an aggregate on the agent (start it on every agent that should take part)'))
    .argument('<NAME>', 'names the aggregate cluster-wide: letters, digits, ., _, -')
    .argument('<FUNCTION>', 'avg, sum, count, min or max')
    .option('--metric <M>', "the value is the agent's own load1, load5, load15, members, rss, freemem or cpus")
    .option('--constant <N>', 'the value is N')
    .option('--command <SH>', 'the value is the first word the shell command prints, run every epoch')
    .option('--mode <MODE>', 'push-pull (default) or push-sum')
    .option('--cycle <MS>', 'ms between exchanges (default 1000)')
    .option('--epoch-cycles <C>', 'cycles per epoch: an estimate every cycle × C ms (default 20)')
    .action(
      run(async (name: string, fn: string, f: StartFlags) => {
        const body = { name, function: fn, mode: f.mode, cycleMs: integer(f.cycle, '--cycle', '1000'), epochCycles: integer(f.epochCycles, '--epoch-cycles', '20'), value: sourceOf(f, fn) }
        const res = await call(target(f, process.env), 'POST', '/v1/aggregate', body)
        const a = (await res.json()) as Aggregate
        if (f.json === true) return print(a, true)
        io.out(`started ${a.name}: ${a.function} by ${a.mode}, an estimate every ${a.epochMs} ms (${sourceText(a)})\n`)
        return 0
      }),
    )

  clientOptions(agg.command('get').description("print the aggregate's estimate of the last completed epoch (- until one completed)"))
    .argument('<NAME>')
    .action(run(async (name: string, f: ClientFlags) => print((await (await call(target(f, process.env), 'GET', `/v1/aggregate/${encodeURIComponent(name)}`)).json()) as Aggregate, f.json)))

  clientOptions(agg.command('list').description('every aggregate running on the agent')).action(
    run(async (f: ClientFlags) => {
      const body = (await (await call(target(f, process.env), 'GET', '/v1/aggregate')).json()) as { aggregates: Aggregate[] }
      if (f.json === true) io.out(JSON.stringify(body, null, 2) + '\n')
      else {
        const rows = body.aggregates.map((a) => [a.name, a.function, a.mode, estimateText(a), a.estimate === null ? '-' : String(a.estimate.epoch), String(a.participants), sourceText(a)])
        io.out(table(['NAME', 'FUNCTION', 'MODE', 'ESTIMATE', 'EPOCH', 'NODES', 'SOURCE'], rows))
      }
      return 0
    }),
  )

  clientOptions(agg.command('stop').description('stop the aggregate on the agent (the others go on without it)'))
    .argument('<NAME>')
    .action(
      run(async (name: string, f: ClientFlags) => {
        const body = await (await call(target(f, process.env), 'DELETE', `/v1/aggregate/${encodeURIComponent(name)}`)).json()
        io.out(f.json === true ? JSON.stringify(body) + '\n' : `stopped ${name}\n`)
        return 0
      }),
    )
}
