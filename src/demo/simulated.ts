/**
 * `grapevine demo --sim`: a simulated 50-node cluster goes through a crash, a pause and a partition
 * (`grapevine demo` without --sim runs real agents: cluster.ts). Membership changes are printed as they happen,
 * summarised per second of virtual time so the output stays readable, then the final report.
 */
import type { NodeEvent } from '../node/index.js'
import type { SimNode } from '../runtime/sim/node.js'
import type { ScenarioStep } from '../runtime/sim/scenario.js'
import { runScenario } from '../runtime/sim/scenario.js'
import { formatReport } from '../runtime/sim/report.js'
import type { CommandIo } from '../output/io.js'

const SHOWN = ['joined', 'suspected', 'alive', 'failed', 'left', 'reaped', 'refuted'] as const
type Shown = (typeof SHOWN)[number]
const MEMBERS_PER_LINE = 8

/** Collects membership events of one virtual second and prints them as one line per kind. */
class SecondSummary {
  private second = -1
  private counts = new Map<Shown, Map<string, number>>()

  constructor(private readonly print: (line: string) => void) {}

  event(node: SimNode, event: NodeEvent, atMs: number): void {
    if (!(SHOWN as readonly string[]).includes(event.type)) return
    this.advance(atMs)
    const type = event.type as Shown
    // Who the change is about: the member, or for a refutation the node itself.
    const about = event.type === 'refuted' ? node.name : 'member' in event ? event.member.name : node.name
    if (about === node.name && event.type === 'joined') return // a node announcing itself at start
    let byMember = this.counts.get(type)
    if (byMember === undefined) this.counts.set(type, (byMember = new Map()))
    byMember.set(about, (byMember.get(about) ?? 0) + 1)
  }

  /** A line that is not a summary (a fault); earlier seconds are flushed first. */
  line(atMs: number, text: string): void {
    this.advance(atMs)
    this.print(`${stamp(atMs)} ${text}`)
  }

  advance(atMs: number): void {
    const second = Math.floor(atMs / 1000)
    if (second !== this.second) {
      this.flush()
      this.second = second
    }
  }

  flush(): void {
    if (this.counts.size === 0) return
    const parts: string[] = []
    for (const type of SHOWN) {
      const byMember = this.counts.get(type)
      if (byMember === undefined) continue
      const names = [...byMember.keys()].sort()
      const views = [...byMember.values()].reduce((a, b) => a + b, 0)
      const listed = names.slice(0, MEMBERS_PER_LINE).map((n) => `${n}${byMember.get(n)! > 1 ? `×${byMember.get(n)}` : ''}`)
      const more = names.length > MEMBERS_PER_LINE ? ` …+${names.length - MEMBERS_PER_LINE} more` : ''
      parts.push(type === 'joined' && names.length > MEMBERS_PER_LINE ? `joined: ${views} views of ${names.length} members` : `${type}: ${listed.join(' ')}${more}`)
    }
    const head = `[${String(this.second).padStart(8)}s]`
    parts.forEach((part, i) => this.print(`${i === 0 ? head : ' '.repeat(head.length)} ${part}`))
    this.counts = new Map()
  }
}

function stamp(atMs: number): string {
  return `[${(atMs / 1000).toFixed(3).padStart(8)}s]`
}

export const DEMO_STEPS: readonly ScenarioStep[] = [
  { kind: 'crash', count: 2, atMs: 20_000 },
  { kind: 'pause', count: 1, atMs: 45_000, lengthMs: 8_000 },
  { kind: 'partition', fraction: 0.2, atMs: 70_000, lengthMs: 20_000 },
]

export function runDemo(opts: { seed: number; nodes: number }, io: CommandIo): number {
  const summary = new SecondSummary((line) => io.out(line + '\n'))
  io.out(`Grapevine demo: ${opts.nodes} simulated nodes (seed ${opts.seed}), virtual time; membership changes summarised per second (×N = seen by N nodes)\n`)
  const report = runScenario({
    seed: opts.seed,
    nodes: opts.nodes,
    durationMs: 120_000,
    profile: 'lan',
    network: { packetLossProbability: 0.01 },
    steps: DEMO_STEPS,
    log: (text, atMs) => summary.line(atMs, `! ${text}`),
    observer: {
      onEvent: (node, event, atMs) => summary.event(node, event, atMs),
      onResume: (node, atMs) => summary.line(atMs, `! ${node.name} resumes`),
    },
  })
  summary.flush()
  io.out('\n' + formatReport({ ...report, replay: `grapevine demo --sim --seed ${opts.seed} --nodes ${opts.nodes}` }) + '\n')
  return report.converged ? 0 : 1
}
