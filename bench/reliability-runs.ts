/**
 * The runs behind `npm run bench:reliability` (bench/reliability.ts), one pure function per kind: each
 * takes a seed and a rule set and returns plain figures, so the bench can hand them to worker threads
 * and a test can run them on a tiny cluster. Everything happens in the simulator, in virtual time: the
 * whole stack on every node, loss on datagrams and TCP segments alike (streams run over the lossy
 * network, as TCP does), the same code a real node runs.
 *
 * ```
 *   loss run    spawn N ─(loss P on every datagram and segment)─ lossMs ─▶ loss off ─ tailMs ─▶ settle
 *                 false deaths: first-hand dead declarations of running, reachable members (whole run)
 *                 linger: loss off ─▶ the instant from which every live node sees every live member alive
 *   crash run   spawn N ─ 40 s ─▶ crash one ─▶ … ─▶ dead in every live node's view  (no loss)
 *   heal run    a scenario with one partition step and its heal (examples/two-dc-partition.yaml)
 *                 at the heal: each node's alive count just before ─▶ its fewest after ─▶ all see all
 * ```
 *
 * "Memberlist's rules" turn off this release's four departures from memberlist 0.2.2 (final probe,
 * direct refutation, suspicion reminders, calm healing); nothing else differs between the two columns.
 * The view of every node comes from its own membership events (ViewTracker), the same bookkeeping the
 * scenario's convergence check uses.
 */
import type { SwimConfig } from '../src/swim/config.js'
import { ViewTracker } from '../src/runtime/sim/checkers.js'
import type { SimNode } from '../src/runtime/sim/node.js'
import type { NodeEvent } from '../src/node/index.js'
import type { ScenarioOptions } from '../src/runtime/sim/scenario.js'
import { runScenario } from '../src/runtime/sim/scenario.js'
import type { SimObserver } from '../src/runtime/sim/types.js'
import { loadScenarioFile } from '../src/cli/scenario-command.js'

export type Rules = 'default' | 'memberlist'

/** The switches that give memberlist 0.2.2's behaviour back (README: where Grapevine differs, on purpose). */
export const MEMBERLIST_RULES: Readonly<Partial<SwimConfig>> = { finalProbe: false, directRefutation: false, suspicionReminders: false, calmHealing: false, deadProbeWindowMs: 0 }

export const rulesConfig = (rules: Rules): Partial<SwimConfig> => (rules === 'memberlist' ? { ...MEMBERLIST_RULES } : {})

/**
 * Watches every node's view from a mark in virtual time on: each node's alive count just before the
 * mark, its fewest after it, and the instant from which every live node sees every live member alive.
 */
export class ViewWatch implements SimObserver {
  readonly tracker = new ViewTracker()
  private nodes: SimNode[] = []
  private before: number[] | null = null
  private readonly fewestAfter: number[] = []

  constructor(readonly markMs: number) {}

  onSpawn(node: SimNode, atMs: number): void {
    this.nodes[node.index] = node
    this.beforeChange(atMs)
    this.tracker.onSpawn(node, atMs)
  }

  onCrash(node: SimNode, atMs: number): void {
    this.beforeChange(atMs)
    this.tracker.onCrash(node, atMs)
  }

  onRestart(node: SimNode, atMs: number): void {
    this.beforeChange(atMs)
    this.tracker.onRestart(node, atMs)
  }

  onLeft(node: SimNode, atMs: number): void {
    this.beforeChange(atMs)
    this.tracker.onLeft(node, atMs)
  }

  onEvent(node: SimNode, event: NodeEvent, atMs: number): void {
    this.beforeChange(atMs)
    this.tracker.onEvent(node, event, atMs)
    if (this.before !== null) this.noteAfter(node)
  }

  /** The first change at or after the mark: every node's count now is its count just before the mark. */
  private beforeChange(atMs: number): void {
    if (this.before !== null || atMs < this.markMs) return
    this.snapshot()
  }

  private snapshot(): void {
    this.before = this.nodes.map((n) => (n.live ? this.tracker.aliveSeenBy(n) : -1))
    this.nodes.forEach((n, i) => (this.fewestAfter[i] = this.before![i]))
  }

  private noteAfter(node: SimNode): void {
    if (!node.live) return
    const i = node.index
    const now = this.tracker.aliveSeenBy(node)
    if (now < (this.fewestAfter[i] ?? Infinity)) this.fewestAfter[i] = now
  }

  /** Figures at the end of the run. */
  result(): { allSeeAllAfterMarkMs: number | null; fewestBefore: number; fewestAfter: number; largestDrop: number; nodesThatDropped: number } {
    if (this.before === null) this.snapshot()
    const since = this.tracker.convergedSinceMs
    let fewestBefore = Infinity
    let fewestAfter = Infinity
    let largestDrop = 0
    let dropped = 0
    this.before!.forEach((b, i) => {
      if (b < 0 || !this.nodes[i].live) return
      const a = this.fewestAfter[i]
      fewestBefore = Math.min(fewestBefore, b)
      fewestAfter = Math.min(fewestAfter, a)
      if (b - a > 0) dropped++
      largestDrop = Math.max(largestDrop, b - a)
    })
    return {
      allSeeAllAfterMarkMs: since === null ? null : Math.max(0, since - this.markMs),
      fewestBefore: Number.isFinite(fewestBefore) ? fewestBefore : 0,
      fewestAfter: Number.isFinite(fewestAfter) ? fewestAfter : 0,
      largestDrop,
      nodesThatDropped: dropped,
    }
  }
}

export interface LossRun {
  readonly seed: number
  readonly rules: Rules
  readonly loss: number
  /** First-hand dead declarations of running, reachable members over the whole run. */
  readonly falseDeaths: number
  readonly falseSuspicions: number
  readonly refutations: number
  /** From the end of the loss until every live node sees every live member alive (and stays so); null: never. */
  readonly lingerMs: number | null
  readonly converged: boolean
  readonly messagesPerNodePerSec: number
  readonly wallMs: number
}

export interface LossRunOptions {
  readonly nodes: number
  readonly lossMs: number
  /** Loss-free virtual time after the loss, inside the chaos phase (a suspect that comes back is seen). */
  readonly tailMs: number
}

/** N nodes under random loss from the start (joins included) for lossMs, then none. */
export function lossRun(seed: number, rules: Rules, loss: number, o: LossRunOptions): LossRun {
  const watch = new ViewWatch(o.lossMs)
  const r = runScenario({
    seed,
    nodes: o.nodes,
    durationMs: o.lossMs + o.tailMs,
    network: { loss },
    steps: [{ kind: 'loss', probability: 0, atMs: o.lossMs }],
    config: rulesConfig(rules),
    observer: watch,
  })
  return {
    seed,
    rules,
    loss,
    falseDeaths: r.falsePositives.deaths,
    falseSuspicions: r.falsePositives.suspicions,
    refutations: r.refutations,
    lingerMs: r.converged ? watch.result().allSeeAllAfterMarkMs : null,
    converged: r.converged,
    messagesPerNodePerSec: r.messagesPerNodePerSec,
    wallMs: r.wallMs,
  }
}

export interface CrashRun {
  readonly seed: number
  readonly rules: Rules
  readonly firstSuspicionMs: number | null
  readonly firstDeadMs: number | null
  /** From the crash until every live node holds the crashed member dead. */
  readonly deadEverywhereMs: number | null
  readonly falseDeaths: number
  readonly wallMs: number
}

export const CRASH_AT_MS = 40_000

/** N nodes, no loss, one crash at 40 s. */
export function crashRun(seed: number, rules: Rules, nodes: number): CrashRun {
  const r = runScenario({ seed, nodes, durationMs: CRASH_AT_MS + 30_000, steps: [{ kind: 'crash', count: 1, atMs: CRASH_AT_MS }], config: rulesConfig(rules) })
  const d = r.detection[0]
  return {
    seed,
    rules,
    firstSuspicionMs: d?.firstSuspicionMs ?? null,
    firstDeadMs: d?.firstDeadMs ?? null,
    deadEverywhereMs: d?.deadEverywhereMs ?? null,
    falseDeaths: r.falsePositives.deaths,
    wallMs: r.wallMs,
  }
}

export interface HealRun {
  readonly seed: number
  readonly rules: Rules
  readonly healAtMs: number
  /** The fewest members any node saw alive just before the heal, and at any moment after it. */
  readonly fewestBefore: number
  readonly fewestAfter: number
  /** The most one node's alive count fell below its count just before the heal, and how many nodes fell at all. */
  readonly largestDrop: number
  readonly nodesThatDropped: number
  /** From the heal until every node sees every live member alive (and stays so to the end of the run). */
  readonly allSeeAllMs: number | null
  /** Dead declarations of reachable members outside the partition (first-hand). */
  readonly falseDeathsAfterHeal: number
  readonly converged: boolean
  readonly wallMs: number
}

/** The partition's heal: the scenario's first heal step, or the end of its first partition's length. */
export function healInstantMs(scenario: Omit<ScenarioOptions, 'seed'>): number {
  for (const s of scenario.steps ?? []) {
    if (s.kind === 'heal') return s.atMs
    if (s.kind === 'partition' && s.lengthMs !== undefined) return s.atMs + s.lengthMs
  }
  throw new RangeError('the heal scenario has no heal: give it a partition step with a length, or a heal step')
}

/** A scenario with a partition and its heal (examples/two-dc-partition.yaml), under one rule set. */
export function healRun(seed: number, rules: Rules, scenario: Omit<ScenarioOptions, 'seed'>): HealRun {
  const healAtMs = healInstantMs(scenario)
  const watch = new ViewWatch(healAtMs)
  const deaths = new DeathsAfter(healAtMs)
  const r = runScenario({ ...scenario, seed, config: { ...scenario.config, ...rulesConfig(rules) }, observer: both(watch, deaths) })
  const w = watch.result()
  return {
    seed,
    rules,
    healAtMs,
    fewestBefore: w.fewestBefore,
    fewestAfter: w.fewestAfter,
    largestDrop: w.largestDrop,
    nodesThatDropped: w.nodesThatDropped,
    allSeeAllMs: w.allSeeAllAfterMarkMs,
    falseDeathsAfterHeal: deaths.count,
    converged: r.converged,
    wallMs: r.wallMs,
  }
}

/** First-hand dead declarations, after an instant, of members that are running. */
class DeathsAfter implements SimObserver {
  count = 0
  private readonly running = new Map<string, SimNode>()
  constructor(private readonly fromMs: number) {}
  onSpawn(node: SimNode): void {
    this.running.set(node.name, node)
  }
  onEvent(node: SimNode, event: NodeEvent, atMs: number): void {
    if (event.type !== 'failed' || atMs < this.fromMs || event.from !== node.name || event.via !== 'timeout') return
    const member = this.running.get(event.member.name)
    if (member !== undefined && member.status === 'running') this.count++
  }
}

function both(a: SimObserver, b: SimObserver): SimObserver {
  return {
    onSpawn: (n, t) => (a.onSpawn?.(n, t), b.onSpawn?.(n, t)),
    onCrash: (n, t) => (a.onCrash?.(n, t), b.onCrash?.(n, t)),
    onRestart: (n, t) => (a.onRestart?.(n, t), b.onRestart?.(n, t)),
    onLeft: (n, t) => (a.onLeft?.(n, t), b.onLeft?.(n, t)),
    onEvent: (n, e, t) => (a.onEvent?.(n, e, t), b.onEvent?.(n, e, t)),
  }
}

/** One simulation of the bench, as a worker thread receives it. */
export type Job =
  | { readonly kind: 'loss'; readonly seed: number; readonly rules: Rules; readonly loss: number; readonly opts: LossRunOptions }
  | { readonly kind: 'crash'; readonly seed: number; readonly rules: Rules; readonly nodes: number }
  | { readonly kind: 'heal'; readonly seed: number; readonly rules: Rules; readonly file: string }

export type JobResult = ({ kind: 'loss' } & LossRun) | ({ kind: 'crash' } & CrashRun) | ({ kind: 'heal' } & HealRun)

export function runJob(job: Job): JobResult {
  switch (job.kind) {
    case 'loss':
      return { kind: 'loss', ...lossRun(job.seed, job.rules, job.loss, job.opts) }
    case 'crash':
      return { kind: 'crash', ...crashRun(job.seed, job.rules, job.nodes) }
    case 'heal':
      return { kind: 'heal', ...healRun(job.seed, job.rules, loadScenarioFile(job.file).scenario) }
  }
}
