/**
 * Where an agent's aggregates get their values (POST /v1/aggregate, `grapevine aggregate start`):
 *
 *   { "constant": 4 }          the same number every epoch (a capacity, a weight, a flag as 0/1)
 *   { "metric": "load1" }      something the agent measures itself, read at each epoch start:
 *                              load1 | load5 | load15 (the host's load average), members (alive members
 *                              this node sees), rss (the agent's resident memory, bytes), freemem (the
 *                              host's free memory, bytes), cpus (logical CPUs)
 *   { "command": "sh text" }   run with /bin/sh once at start (its failure refuses the start) and then
 *                              once per epoch; the first word of its standard output is the number. A
 *                              failing run keeps the last good value and is shown as `lastError`. At most
 *                              10 s per run and 64 KiB of output; a run still going when the next is due
 *                              makes that one skip.
 *
 *   source ──value()──▶ node.aggregate (read by the protocol at each epoch start, synchronously: a
 *                       command's result is the last one that finished, at most one epoch old)
 *
 * A command runs on the agent's host with the agent's rights: the HTTP route accepts one only when the
 * API needs a token or listens on a loopback address (http/aggregate.ts).
 */
import { execFile } from 'node:child_process'
import { freemem, loadavg, availableParallelism } from 'node:os'
import type { GrapevineNode } from '../runtime/node/start-node.js'

export const METRICS = ['load1', 'load5', 'load15', 'members', 'rss', 'freemem', 'cpus'] as const
export type MetricName = (typeof METRICS)[number]

export type SourceSpec = { readonly constant: number } | { readonly metric: MetricName } | { readonly command: string }

const COMMAND_TIMEOUT_MS = 10_000
const COMMAND_OUTPUT_BYTES = 64 * 1024

/** The value sources of the aggregates the agent started (API and configuration), per node. */
const sources = new WeakMap<GrapevineNode, Map<string, ValueSource>>()

/** The agent's value sources by aggregate name; those of aggregates stopped elsewhere are closed and dropped. */
export function sourcesOf(node: GrapevineNode): Map<string, ValueSource> {
  let m = sources.get(node)
  if (m === undefined) sources.set(node, (m = new Map()))
  // Aggregates stopped elsewhere (node.aggregate.stop in an embedding service) take their source along.
  for (const [name, s] of m) if (node.aggregate.get(name) === undefined) (s.close(), m.delete(name))
  return m
}

/** A source that gives no number; `message` says why, for a 400. */
export class SourceError extends Error {
  override readonly name = 'SourceError'
}

/** A value source as the API shows it. */
export type SourceInfo =
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'metric'; readonly metric: MetricName }
  | { readonly kind: 'command'; readonly command: string; readonly runs: number; readonly lastValue: number; readonly lastError: string | null }

export interface ValueSource {
  value(): number
  info(): SourceInfo
  /** Stops what runs in the background (a command's timer). */
  close(): void
}

export function metricValue(node: GrapevineNode, m: MetricName): number {
  switch (m) {
    case 'load1':
      return loadavg()[0]
    case 'load5':
      return loadavg()[1]
    case 'load15':
      return loadavg()[2]
    case 'members':
      return node.members().filter((x) => x.state === 'alive').length
    case 'rss':
      return process.memoryUsage.rss()
    case 'freemem':
      return freemem()
    case 'cpus':
      return availableParallelism()
  }
}

/** Runs a command once: its number, or a SourceError naming what went wrong. */
export function runCommand(command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: COMMAND_OUTPUT_BYTES, windowsHide: true }, (err, stdout, stderr) => {
      if (err !== null) {
        const why = err.killed ? `timed out after ${COMMAND_TIMEOUT_MS} ms` : `failed (${err.code ?? err.message})`
        return reject(new SourceError(`command ${JSON.stringify(command.slice(0, 80))} ${why}${stderr.trim() === '' ? '' : `: ${stderr.trim().slice(0, 200)}`}`))
      }
      const first = stdout.trim().split(/\s+/)[0] ?? ''
      const v = Number(first)
      if (first === '' || !Number.isFinite(v)) return reject(new SourceError(`command ${JSON.stringify(command.slice(0, 80))} printed ${JSON.stringify(stdout.trim().slice(0, 80))}; expected a number as its first word`))
      resolve(v)
    })
  })
}

/**
 * Makes the source (a command runs once now: a failure rejects with SourceError and nothing runs on).
 * `periodMs`: how often a command runs again (the aggregate's epoch).
 */
export async function openSource(node: GrapevineNode, spec: SourceSpec, periodMs: number): Promise<ValueSource> {
  if ('constant' in spec) {
    const value = spec.constant
    return { value: () => value, info: () => ({ kind: 'constant', value }), close: () => {} }
  }
  if ('metric' in spec) {
    const metric = spec.metric
    return { value: () => metricValue(node, metric), info: () => ({ kind: 'metric', metric }), close: () => {} }
  }
  const command = spec.command
  let last = await runCommand(command)
  let runs = 1
  let lastError: string | null = null
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    runCommand(command)
      .then((v) => { last = v; lastError = null })
      .catch((e: unknown) => { lastError = (e as Error).message })
      .finally(() => { runs++; running = false })
  }, periodMs)
  timer.unref()
  return {
    value: () => last,
    info: () => ({ kind: 'command', command, runs, lastValue: last, lastError }),
    close: () => clearInterval(timer),
  }
}
