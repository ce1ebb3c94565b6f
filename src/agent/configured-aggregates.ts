/**
 * The aggregates of the agent's config file (aggregates-config.ts), kept running: started at boot, and
 * on each SIGHUP brought in line with the file again.
 *
 *   apply(list) ──▶ for each configured name:
 *                     removed from the file, or its settings or source changed ──▶ stopped (its source
 *                       closed; the node withdraws its announcement)
 *                     new, changed, or stopped meanwhile through the API ──▶ source opened (a command
 *                       runs once: its failure is logged and that aggregate is left out until the next
 *                       reload) ──▶ node.aggregate.start
 *                     unchanged and running ──▶ left alone (its epochs and estimate carry on)
 *               ──▶ { started, stopped, kept, failed } for the log line
 *
 * An aggregate started through the API (POST /v1/aggregate) is not the file's: a reload never stops
 * it, and a file entry of the same name waits (logged) until it is stopped. Sources are registered with
 * the API's (aggregate-sources.ts sourcesOf), so GET /v1/aggregate shows where each value comes from.
 */
import type { Logger } from './log.js'
import type { GrapevineNode } from '../runtime/node/start-node.js'
import { openSource, sourcesOf, type ValueSource } from './aggregate-sources.js'
import { sameAggregate, type AggregateConfig } from './aggregates-config.js'

export interface AppliedAggregates {
  readonly started: string[]
  readonly stopped: string[]
  readonly kept: string[]
  /** Entries that could not start now, with the reason. */
  readonly failed: Array<{ readonly name: string; readonly error: string }>
}

export class ConfiguredAggregates {
  /** What this class started, by name: the configuration and its source. */
  private readonly running = new Map<string, { config: AggregateConfig; source: ValueSource }>()
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(
    private readonly node: GrapevineNode,
    private readonly log: Logger,
  ) {}

  /** Names this class runs now (started from the file and not stopped since). */
  names(): string[] {
    return [...this.running.keys()].filter((n) => this.node.aggregate.get(n) !== undefined).sort()
  }

  /** Brings the running aggregates in line with `list`; applications run one after another. */
  apply(list: readonly AggregateConfig[]): Promise<AppliedAggregates> {
    const next = this.queue.then(() => this.applyNow(list))
    this.queue = next.catch(() => undefined)
    return next
  }

  /** Stops nothing (the node's shutdown does), closes the sources' timers. */
  close(): void {
    this.closed = true
    for (const { source } of this.running.values()) source.close()
    this.running.clear()
  }

  private async applyNow(list: readonly AggregateConfig[]): Promise<AppliedAggregates> {
    const result: AppliedAggregates = { started: [], stopped: [], kept: [], failed: [] }
    if (this.closed) return result
    const wanted = new Map(list.map((c) => [c.spec.name, c]))
    const sources = sourcesOf(this.node)
    for (const [name, r] of [...this.running]) {
      const w = wanted.get(name)
      const alive = this.node.aggregate.get(name) !== undefined && sources.get(name) === r.source
      if (alive && w !== undefined && sameAggregate(w, r.config)) {
        result.kept.push(name)
        continue
      }
      this.running.delete(name)
      r.source.close()
      if (alive) {
        this.node.aggregate.stop(name)
        sources.delete(name)
        result.stopped.push(name)
      }
    }
    for (const c of list) {
      const name = c.spec.name
      if (this.running.has(name)) continue
      if (this.node.aggregate.get(name) !== undefined) {
        result.failed.push({ name, error: 'an aggregate of this name runs already (started through the API or the library); stop it, then reload' })
        continue
      }
      let source: ValueSource | undefined
      try {
        source = await openSource(this.node, c.source, c.spec.cycleMs * c.spec.epochCycles)
        if (this.closed) return (source.close(), result)
        const s = source
        this.node.aggregate.start(name, c.spec.fn, () => s.value(), { mode: c.spec.mode, cycleMs: c.spec.cycleMs, epochCycles: c.spec.epochCycles })
        sources.set(name, s)
        this.running.set(name, { config: c, source: s })
        result.started.push(name)
      } catch (e) {
        source?.close()
        result.failed.push({ name, error: (e as Error).message })
      }
    }
    result.kept.sort()
    for (const f of result.failed) this.log.error({ aggregate: f.name, err: f.error }, 'configured aggregate not started')
    if (result.started.length + result.stopped.length > 0) this.log.info({ started: result.started, stopped: result.stopped, kept: result.kept }, 'configured aggregates applied')
    return result
  }
}
