/**
 * A scenario's timeline: the steps (faults, joins, network changes), how each one reads, and the
 * runner that schedules them on a simulation.
 *
 * Steps that act on nodes (crash, restart, pause, leave) pick them with a `NodePick`:
 *
 *   nodes       exactly these names (those not eligible at that instant are skipped)
 *   among       candidates: these names only (default every node)
 *   ofStep      candidates: the nodes the latest execution of the step with that id acted on
 *   count       draw this many of the eligible candidates at random
 *   fraction    draw this share of them (rounded, at least 1)
 *   rolling     with `everyMs`: take the candidates in name order, `count` per execution, each once
 *
 * and repeat with `everyMs` (fresh picks each time) up to `times` executions or the end of the chaos
 * phase. A crash or restart with `downMs` keeps the process down that long, then starts a fresh one.
 *
 * Random picks draw from the scenario generator in step order, so a scenario and a seed name one run.
 * The steps the `grapevine sim` flags build (crash, pause, partition, leave by count or fraction; loss
 * and latency) draw exactly as they always did.
 */
import type { SeededRng } from '../../core/rng.js'
import type { LinkOptions } from './network.js'
import { nodeIndexOf } from './names.js'
import type { SimNode } from './node.js'
import type { Simulation, SpawnOptions } from './simulation.js'

export { nodeName, nodeIndexOf } from './names.js'

/** Which nodes a step acts on (see the module comment). */
export interface NodePick {
  readonly nodes?: readonly string[]
  readonly among?: readonly string[]
  readonly ofStep?: string
  readonly count?: number
  readonly fraction?: number
  readonly rolling?: boolean
}

/** Repetition: again every `everyMs` (at most `times` executions in all) while the chaos phase lasts. */
export interface Repeat {
  readonly everyMs?: number
  readonly times?: number
}

interface Base {
  /** Virtual ms from the start of the run. */
  readonly atMs: number
  /** A name other steps refer to (`ofStep`, heal's `ofStep`). */
  readonly id?: string
}

/** Knobs a network step changes (delays in ms, probabilities in [0, 1]). */
export interface NetworkChange {
  readonly loss?: number
  /** Loss of stream (TCP) segments, when it differs from `loss`. */
  readonly streamLoss?: number
  readonly latencyMs?: readonly [number, number]
  readonly duplication?: number
  readonly reorder?: number
}

/** Where a network change applies: every link (default), links from or to a group, or links between two groups. */
export type LinkScope = { readonly group: readonly string[] } | { readonly between: readonly [readonly string[], readonly string[]] }

/** One step. Times are virtual ms from the start of the run. */
export type ScenarioStep =
  /** Crash nodes; with `downMs`, a fresh process starts after that long. */
  | ({ readonly kind: 'crash'; readonly downMs?: number } & Base & NodePick & Repeat)
  /** Restart nodes (a running one is crashed first): a fresh protocol, same name and address, rejoining; `downMs` of downtime between. */
  | ({ readonly kind: 'restart'; readonly downMs?: number } & Base & NodePick & Repeat)
  /** Pause nodes for `lengthMs` (nothing processed meanwhile, as a long GC pause or CPU starvation). */
  | ({ readonly kind: 'pause'; readonly lengthMs: number } & Base & NodePick & Repeat)
  /** Nodes leave gracefully. */
  | ({ readonly kind: 'leave' } & Base & NodePick)
  /**
   * Cut nodes from each other: a random `fraction` of the live nodes from the rest, or explicit `sides`
   * (two: one from the other; more: each from every other), for `lengthMs` or until a heal step. With
   * oneWay only the first side's packets to the others vanish.
   */
  | ({ readonly kind: 'partition'; readonly fraction?: number; readonly sides?: ReadonlyArray<readonly string[]>; readonly lengthMs?: number; readonly oneWay?: boolean } & Base)
  /** Lift the partition of the step `ofStep`, or every partition. */
  | ({ readonly kind: 'heal'; readonly ofStep?: string } & Base)
  /** `count` new nodes join through the first live node (named on from the last node's index). */
  | ({ readonly kind: 'join'; readonly count: number } & Base & Repeat)
  /** Packet loss probability on every link from `atMs` on; stream segments follow it unless a stream loss is set (`streamProbability` sets one). */
  | ({ readonly kind: 'loss'; readonly probability: number; readonly streamProbability?: number } & Base)
  /** One-way delay bounds on every link from `atMs` on. */
  | ({ readonly kind: 'latency'; readonly minMs: number; readonly maxMs: number } & Base)
  /** Network knobs from `atMs` on, on every link or in a scope, for `lengthMs` or to the end. */
  | ({ readonly kind: 'network'; readonly change: NetworkChange; readonly scope?: LinkScope; readonly lengthMs?: number } & Base)

/** `1500` → `1.5s`, `120000` → `2m`, `250` → `250ms`. */
export function formatDurationMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)}s`
  return `${+ms.toFixed(3)}ms`
}

const percent = (p: number): string => `${+(p * 100).toFixed(3)}%`

/** Names as short as they go: runs of consecutive node indexes read `node-000..node-049`. */
export function formatNames(names: readonly string[]): string {
  const parts: string[] = []
  for (let i = 0; i < names.length; ) {
    let j = i
    const start = nodeIndexOf(names[i])
    while (start >= 0 && j + 1 < names.length && nodeIndexOf(names[j + 1]) === start + (j + 1 - i)) j++
    parts.push(j - i >= 2 ? `${names[i]}..${names[j]}` : names.slice(i, j + 1).join(' '))
    i = j + 1
  }
  return parts.join(' ')
}

function describePick(p: NodePick): string {
  const of = p.ofStep !== undefined ? ` of the nodes of step ${p.ofStep}` : p.among !== undefined ? ` of ${formatNames(p.among)}` : ''
  if (p.nodes !== undefined) return formatNames(p.nodes)
  if (p.count !== undefined) return `${p.count} node${p.count === 1 ? '' : 's'}${p.rolling ? ' at a time' : ''}${of}`
  if (p.fraction !== undefined) return `${percent(p.fraction)}${of}`
  return p.ofStep !== undefined ? `the nodes of step ${p.ofStep}` : `every node${of}`
}

function describeRepeat(r: Repeat): string {
  if (!r.everyMs) return ''
  return `, every ${formatDurationMs(r.everyMs)}${r.times !== undefined ? ` (${r.times} times)` : ''}`
}

function describeChange(c: NetworkChange): string {
  const parts: string[] = []
  if (c.loss !== undefined) parts.push(`loss ${percent(c.loss)}`)
  if (c.streamLoss !== undefined) parts.push(`stream loss ${percent(c.streamLoss)}`)
  if (c.latencyMs !== undefined) parts.push(`latency ${formatDurationMs(c.latencyMs[0])}..${formatDurationMs(c.latencyMs[1])}`)
  if (c.duplication !== undefined) parts.push(`duplication ${percent(c.duplication)}`)
  if (c.reorder !== undefined) parts.push(`reordering ${percent(c.reorder)}`)
  return parts.join(', ')
}

function describeScope(scope: LinkScope | undefined): string {
  if (scope === undefined) return ''
  return 'group' in scope ? ` to and from ${formatNames(scope.group)}` : ` between ${formatNames(scope.between[0])} and ${formatNames(scope.between[1])}`
}

/** A step as one readable line. */
export function formatStep(step: ScenarioStep): string {
  const at = formatDurationMs(step.atMs)
  const id = step.id !== undefined ? ` [${step.id}]` : ''
  const down = (ms: number | undefined): string => (ms ? `, down ${formatDurationMs(ms)}` : '')
  switch (step.kind) {
    case 'crash':
      return `crash ${describePick(step)} at ${at}${down(step.downMs)}${describeRepeat(step)}${id}`
    case 'restart':
      return `restart ${describePick(step)} at ${at}${down(step.downMs)}${describeRepeat(step)}${id}`
    case 'pause':
      return `pause ${describePick(step)} at ${at} for ${formatDurationMs(step.lengthMs)}${describeRepeat(step)}${id}`
    case 'leave':
      return `leave ${describePick(step)} at ${at}${id}`
    case 'partition': {
      const what = step.sides !== undefined ? step.sides.map(formatNames).join(' | ') : `${percent(step.fraction ?? 0)} of the nodes`
      const length = step.lengthMs !== undefined ? ` for ${formatDurationMs(step.lengthMs)}` : ''
      return `partition ${what} at ${at}${length}${step.oneWay ? ' (one way)' : ''}${id}`
    }
    case 'heal':
      return `heal ${step.ofStep !== undefined ? `the partition of step ${step.ofStep}` : 'every partition'} at ${at}`
    case 'join':
      return `join ${step.count} new node${step.count === 1 ? '' : 's'} at ${at}${describeRepeat(step)}${id}`
    case 'loss':
      return `loss ${percent(step.probability)}${step.streamProbability !== undefined ? `, stream loss ${percent(step.streamProbability)}` : ''} from ${at}`
    case 'latency':
      return `latency ${formatDurationMs(step.minMs)}..${formatDurationMs(step.maxMs)} from ${at}`
    case 'network': {
      const scope = describeScope(step.scope)
      const length = step.lengthMs !== undefined ? ` for ${formatDurationMs(step.lengthMs)}` : ''
      return `network ${describeChange(step.change)}${scope} from ${at}${length}${id}`
    }
  }
}

/** The link knobs a network change sets. */
export function linkOverrides(c: NetworkChange): Partial<LinkOptions> {
  return {
    ...(c.loss !== undefined ? { packetLossProbability: c.loss } : {}),
    ...(c.streamLoss !== undefined ? { streamSegmentLossProbability: c.streamLoss } : {}),
    ...(c.latencyMs !== undefined ? { oneWayDelayMsMin: c.latencyMs[0], oneWayDelayMsMax: c.latencyMs[1] } : {}),
    ...(c.duplication !== undefined ? { packetDuplicationProbability: c.duplication } : {}),
    ...(c.reorder !== undefined ? { packetReorderProbability: c.reorder } : {}),
  }
}

/** Node indexes of names (`node-NNN`; nodes that join later included). */
function indexes(names: readonly string[]): number[] {
  return names.map(nodeIndexOf).filter((i) => i >= 0)
}

export interface StepRunnerOptions {
  readonly sim: Simulation
  readonly rng: SeededRng
  /** Steps at or after this time do not run. */
  readonly durationMs: number
  readonly log: (text: string) => void
  /** Spawn options of joining nodes (their metadata and node settings). */
  readonly spawnOptions?: Pick<SpawnOptions, 'meta' | 'node'>
  /** Told when a node crashes (the report's first-gone time). */
  readonly onGone?: (atMs: number) => void
  /** The node each joining node joins through (default: the simulation's first node). */
  readonly joinThrough?: () => SimNode | undefined
}

/** Schedules a timeline's steps on a simulation and performs them. */
export class StepRunner {
  /** Nodes the latest execution of each step id acted on. */
  private readonly acted = new Map<string, SimNode[]>()
  /** Partition rule ids per partition step id. */
  private readonly cuts = new Map<string, number[]>()
  private readonly cursors = new Map<ScenarioStep, number>()
  private readonly executions = new Map<ScenarioStep, number>()

  constructor(private readonly o: StepRunnerOptions) {}

  schedule(step: ScenarioStep, atMs = step.atMs): void {
    if (atMs >= this.o.durationMs) return
    this.o.sim.at(atMs, () => this.run(step))
  }

  private names(nodes: readonly SimNode[]): string {
    const list = nodes.map((n) => n.name)
    return list.length <= 8 ? formatNames(list) || '(none)' : `${list.slice(0, 8).join(' ')} …+${list.length - 8} more`
  }

  private running(): SimNode[] {
    return this.o.sim.nodes.filter((n) => n.status === 'running' && !n.leaving)
  }

  /** The nodes a pick names at this instant, among those `eligible` allows, in index order. */
  private pick(step: ScenarioStep & NodePick, eligible: (n: SimNode) => boolean): SimNode[] {
    const { sim, rng } = this.o
    const byName = (names: readonly string[]): SimNode[] => names.map((x) => sim.node(x)).filter((n): n is SimNode => n !== undefined)
    if (step.nodes !== undefined) return byName(step.nodes).filter(eligible)
    const candidates = step.ofStep !== undefined ? (this.acted.get(step.ofStep) ?? []) : step.among !== undefined ? byName(step.among) : sim.nodes.slice()
    if (step.rolling) {
      const from = this.cursors.get(step) ?? 0
      const take = candidates.slice(from, from + (step.count ?? 1))
      this.cursors.set(step, from + take.length)
      return take.filter(eligible)
    }
    // In index order; a count or fraction draws from the generator exactly as the flag-driven steps always did.
    const pool = candidates.filter(eligible)
    if (step.count === undefined && step.fraction === undefined) return pool
    const k = step.count ?? Math.max(1, Math.round((step.fraction ?? 0) * pool.length))
    return rng.sample(pool, k).sort((a, b) => a.index - b.index)
  }

  /** Schedules the next execution of a repeating step, if any. */
  private again(step: ScenarioStep & Repeat): void {
    const done = (this.executions.get(step) ?? 0) + 1
    this.executions.set(step, done)
    if (!step.everyMs || step.everyMs <= 0 || (step.times !== undefined && done >= step.times)) return
    if ('rolling' in step && step.rolling && (this.cursors.get(step) ?? 0) >= this.rollingSize(step)) return
    this.schedule(step, step.atMs + done * step.everyMs)
  }

  private rollingSize(step: ScenarioStep & NodePick): number {
    if (step.ofStep !== undefined) return this.acted.get(step.ofStep)?.length ?? 0
    return step.among !== undefined ? step.among.length : this.o.sim.nodes.length
  }

  private remember(step: ScenarioStep, nodes: SimNode[]): void {
    if (step.id !== undefined) this.acted.set(step.id, nodes)
  }

  /** Stops the nodes; a restart (or a crash with downtime) starts a fresh process now or after `downMs`. */
  private stop(nodes: readonly SimNode[], restart: boolean, downMs = 0): void {
    const { sim } = this.o
    if (nodes.length > 0) this.o.onGone?.(sim.nowMs)
    if (restart && downMs === 0) {
      for (const n of nodes) sim.restart(n)
      return
    }
    for (const n of nodes) sim.crash(n)
    if (!restart && downMs === 0) return
    const gens = nodes.map((n) => n.generation)
    sim.at(sim.nowMs + downMs, () => {
      const back = nodes.filter((n, i) => n.status === 'crashed' && n.generation === gens[i])
      if (back.length > 0) this.o.log(`restart ${this.names(back)} after ${formatDurationMs(downMs)} down`)
      for (const n of back) sim.restart(n)
    })
  }

  private run(step: ScenarioStep): void {
    const { sim, rng, log } = this.o
    switch (step.kind) {
      case 'crash': {
        const victims = this.pick(step, (n) => n.status === 'running' && !n.leaving)
        log(`crash ${this.names(victims)}`)
        this.remember(step, victims)
        this.stop(victims, step.downMs !== undefined && step.downMs > 0, step.downMs)
        this.again(step)
        return
      }
      case 'restart': {
        const nodes = this.pick(step, (n) => !n.leaving)
        log(`restart ${this.names(nodes)}${step.downMs ? ` (down ${formatDurationMs(step.downMs)})` : ''}`)
        this.remember(step, nodes)
        this.stop(nodes, true, step.downMs)
        this.again(step)
        return
      }
      case 'leave': {
        const leavers = this.pick(step, (n) => n.status === 'running' && !n.leaving)
        log(`leave ${this.names(leavers)}`)
        this.remember(step, leavers)
        for (const n of leavers) sim.leave(n)
        return
      }
      case 'pause': {
        const paused = this.pick(step, (n) => n.status === 'running' && !n.leaving)
        log(`pause ${this.names(paused)} for ${formatDurationMs(step.lengthMs)}`)
        this.remember(step, paused)
        for (const n of paused) sim.pause(n, step.lengthMs)
        this.again(step)
        return
      }
      case 'partition': {
        let sides: number[][]
        if (step.sides !== undefined) {
          sides = step.sides.map(indexes)
          log(`partition ${step.sides.map((side) => `${side.length} nodes`).join(' | ')}${step.oneWay ? ' (one way)' : ''}`)
        } else {
          const live = rng.shuffle(sim.liveNodes())
          const size = Math.min(live.length - 1, Math.max(1, Math.round((step.fraction ?? 0) * live.length)))
          const side = live.slice(0, size).sort((a, b) => a.index - b.index)
          const rest = live.slice(size).sort((a, b) => a.index - b.index)
          sides = [side.map((n) => n.index), rest.map((n) => n.index)]
          log(`partition ${side.length} nodes from ${rest.length}${step.oneWay ? ' (one way)' : ''}: ${this.names(side)}`)
        }
        const ids = sides.length === 2 ? sim.partition(sides[0], sides[1], { oneWay: step.oneWay }) : sim.split(sides)
        if (step.id !== undefined) this.cuts.set(step.id, ids)
        if (step.lengthMs !== undefined) {
          sim.at(step.atMs + step.lengthMs, () => {
            log(`partition${step.id !== undefined ? ` ${step.id}` : ''} ends`)
            sim.unblock(ids)
          })
        }
        return
      }
      case 'heal': {
        if (step.ofStep === undefined) {
          log('heal every partition')
          sim.heal()
        } else {
          log(`heal partition ${step.ofStep}`)
          sim.unblock(this.cuts.get(step.ofStep) ?? [])
        }
        return
      }
      case 'join': {
        const contact = this.o.joinThrough?.()
        const joined = sim.spawn(step.count, { ...this.o.spawnOptions, ...(contact !== undefined ? { join: [contact] } : {}) })
        log(`join ${this.names(joined)}`)
        this.remember(step, joined)
        this.again(step)
        return
      }
      case 'loss':
        log(`loss ${step.probability}${step.streamProbability !== undefined ? `, stream loss ${step.streamProbability}` : ''}`)
        sim.network.configure({ packetLossProbability: step.probability, streamSegmentLossProbability: step.streamProbability })
        return
      case 'latency':
        log(`latency ${step.minMs}..${step.maxMs} ms`)
        sim.network.configure({ oneWayDelayMsMin: step.minMs, oneWayDelayMsMax: step.maxMs })
        return
      case 'network': {
        const overrides = linkOverrides(step.change)
        log(`network ${describeChange(step.change)}${describeScope(step.scope)}`)
        let ids: number[]
        if (step.scope === undefined) {
          ids = [sim.network.shape(null, null, overrides)]
        } else if ('group' in step.scope) {
          const g = indexes(step.scope.group)
          ids = [sim.network.shape(g, null, overrides), sim.network.shape(null, g, overrides)]
        } else {
          const [a, b] = step.scope.between.map(indexes)
          ids = [sim.network.shape(a, b, overrides), sim.network.shape(b, a, overrides)]
        }
        if (step.lengthMs !== undefined) {
          sim.at(step.atMs + step.lengthMs, () => {
            log(`network change${step.id !== undefined ? ` ${step.id}` : ''} ends`)
            sim.network.unshape(ids)
          })
        }
        return
      }
    }
  }
}
