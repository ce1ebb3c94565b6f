/**
 * The table of `npm run bench:reliability`: its results, per figure, under this release's defaults and
 * under memberlist 0.2.2's rules, next to issue 13's target for the defaults and whether it is met.
 *
 *   JobResult[] ─▶ rows { figure, defaults, memberlist, target, met } ─▶ markdown (the README's table)
 *
 * Per-seed values are joined with " / " in seed order; `met` is undefined for figures without a target.
 */
import type { CrashRun, HealRun, JobResult, LossRun, Rules } from './reliability-runs.js'

export interface ReliabilityRow {
  readonly figure: string
  readonly defaults: string
  readonly memberlist: string
  readonly target: string
  /** Whether the defaults meet the target (undefined: no target). */
  readonly met?: boolean
}

export interface ReliabilityContext {
  readonly nodes: number
  readonly lossS: number
  readonly seeds: readonly number[]
  readonly healFile: string
}

/** The issue's bounds for the defaults. */
export const TARGETS = {
  falseDeathsAt25: 2,
  falseDeathsAt10: 0,
  lingerMs: 10_000,
  crashRatio: 1.25,
  healDrop: 0,
  healAllSeeAllMs: 10_000,
} as const

const s1 = (ms: number | null): string => (ms === null ? 'never' : (ms / 1000).toFixed(1))
const mean = (xs: ReadonlyArray<number | null>): number | null => (xs.some((x) => x === null) || xs.length === 0 ? null : (xs as number[]).reduce((a, b) => a + b, 0) / xs.length)

export function formatReliability(ctx: ReliabilityContext, results: readonly JobResult[]): { rows: ReliabilityRow[]; markdown: string } {
  const pick = <K extends JobResult['kind']>(kind: K, rules: Rules, extra: (r: Extract<JobResult, { kind: K }>) => boolean = () => true): Array<Extract<JobResult, { kind: K }>> =>
    ctx.seeds.flatMap((seed) => results.filter((r): r is Extract<JobResult, { kind: K }> => r.kind === kind && r.rules === rules && r.seed === seed && extra(r as Extract<JobResult, { kind: K }>)))
  const rows: ReliabilityRow[] = []
  const perSeed = <T>(runs: readonly T[], f: (r: T) => string): string => runs.map(f).join(' / ')

  for (const loss of [...new Set(results.filter((r): r is { kind: 'loss' } & LossRun => r.kind === 'loss').map((r) => r.loss))]) {
    const d = pick('loss', 'default', (r) => r.loss === loss)
    const m = pick('loss', 'memberlist', (r) => r.loss === loss)
    const p = `${+(loss * 100).toFixed(1)} % loss, ${ctx.lossS} s`
    const bound = loss >= 0.25 ? TARGETS.falseDeathsAt25 : loss <= 0.1 ? TARGETS.falseDeathsAt10 : undefined
    rows.push({
      figure: `${p}: live members declared dead, per run`,
      defaults: perSeed(d, (r) => String(r.falseDeaths)),
      memberlist: perSeed(m, (r) => String(r.falseDeaths)),
      target: bound === undefined ? '' : bound === 0 ? 'none' : `≤ ${bound} per run`,
      met: bound === undefined ? undefined : d.every((r) => r.falseDeaths <= bound),
    })
    rows.push({
      figure: `${p}: after the loss, every node sees every live member alive (s)`,
      defaults: perSeed(d, (r) => s1(r.lingerMs)),
      memberlist: perSeed(m, (r) => s1(r.lingerMs)),
      target: `≤ ${TARGETS.lingerMs / 1000} s`,
      met: d.every((r) => r.lingerMs !== null && r.lingerMs <= TARGETS.lingerMs),
    })
    rows.push({ figure: `${p}: suspicions of live members, per run`, defaults: perSeed(d, (r) => String(r.falseSuspicions)), memberlist: perSeed(m, (r) => String(r.falseSuspicions)), target: '' })
    rows.push({ figure: `${p}: messages per node per second`, defaults: perSeed(d, (r) => r.messagesPerNodePerSec.toFixed(1)), memberlist: perSeed(m, (r) => r.messagesPerNodePerSec.toFixed(1)), target: '' })
  }

  const cd = pick('crash', 'default')
  const cm = pick('crash', 'memberlist')
  if (cd.length > 0) {
    const md = mean(cd.map((r) => r.deadEverywhereMs))
    const mm = mean(cm.map((r) => r.deadEverywhereMs))
    const ratio = md === null || mm === null || mm === 0 ? null : md / mm
    const crash = `a crash of 1 of ${ctx.nodes}, no loss`
    rows.push({
      figure: `${crash}: dead in every view (s; mean)`,
      defaults: `${perSeed(cd, (r: CrashRun) => s1(r.deadEverywhereMs))} (${s1(md)})`,
      memberlist: `${perSeed(cm, (r: CrashRun) => s1(r.deadEverywhereMs))} (${s1(mm)})`,
      target: `≤ ${TARGETS.crashRatio}× memberlist's${ratio === null ? '' : ` (×${ratio.toFixed(2)})`}`,
      met: ratio !== null && ratio <= TARGETS.crashRatio,
    })
    rows.push({ figure: `${crash}: first suspicion (s)`, defaults: perSeed(cd, (r) => s1(r.firstSuspicionMs)), memberlist: perSeed(cm, (r) => s1(r.firstSuspicionMs)), target: '' })
  }

  const hd = pick('heal', 'default')
  const hm = pick('heal', 'memberlist')
  if (hd.length > 0) {
    const heal = `${ctx.healFile.replace(/^.*\//, '')}, heal at ${hd[0].healAtMs / 1000} s`
    rows.push({
      figure: `${heal}: fewest alive in a view, just before → after the heal`,
      defaults: perSeed(hd, (r: HealRun) => `${r.fewestBefore}→${r.fewestAfter}`),
      memberlist: perSeed(hm, (r: HealRun) => `${r.fewestBefore}→${r.fewestAfter}`),
      target: '',
    })
    rows.push({
      figure: `${heal}: largest fall of a node's alive count after the heal (nodes that fell)`,
      defaults: perSeed(hd, (r) => `${r.largestDrop} (${r.nodesThatDropped})`),
      memberlist: perSeed(hm, (r) => `${r.largestDrop} (${r.nodesThatDropped})`),
      target: 'no fall',
      met: hd.every((r) => r.largestDrop <= TARGETS.healDrop),
    })
    rows.push({
      figure: `${heal}: every node sees every live member alive (s after the heal)`,
      defaults: perSeed(hd, (r) => s1(r.allSeeAllMs)),
      memberlist: perSeed(hm, (r) => s1(r.allSeeAllMs)),
      target: `≤ ${TARGETS.healAllSeeAllMs / 1000} s`,
      met: hd.every((r) => r.allSeeAllMs !== null && r.allSeeAllMs <= TARGETS.healAllSeeAllMs),
    })
    rows.push({ figure: `${heal}: reachable members declared dead after the heal`, defaults: perSeed(hd, (r) => String(r.falseDeathsAfterHeal)), memberlist: perSeed(hm, (r) => String(r.falseDeathsAfterHeal)), target: '' })
  }

  const cell = (x: string): string => x.replace(/\|/g, '\\|')
  const lines = [
    `${ctx.nodes} nodes, LAN profile, whole stack; seeds ${ctx.seeds.join(', ')} (values per seed, in that order)`,
    '',
    "| figure | this release's defaults | memberlist 0.2.2's rules | target (defaults) |",
    '|---|---|---|---|',
    ...rows.map((r) => `| ${cell(r.figure)} | ${cell(r.defaults)} | ${cell(r.memberlist)} | ${r.target === '' ? '' : `${cell(r.target)}${r.met === false ? ' **missed**' : ' met'}`} |`),
  ]
  return { rows, markdown: lines.join('\n') }
}
