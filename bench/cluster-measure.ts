/**
 * Measuring windows and joins for the cluster bench (bench/cluster.ts), the same way for both systems.
 *
 *   window(seconds):  nft counters + /proc CPU ticks read ──sleep──▶ read again + RSS ──▶ per node:
 *                     packets/s, bytes/s (UDP, TCP), CPU s per minute, RSS; suspicions and failures
 *                     the agents logged inside the window
 *   join:             replay each agent's membership log lines ──▶ when its view first held all N ──▶
 *                     the last agent's time, counted from the last agent's start
 *
 * Times are performance.now() stamps taken when an agent's log line reached the bench, so a join time
 * includes the pipe (well under a millisecond) and the bench's own scheduling on a loaded machine.
 */
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import type { Counters, NftCounters } from './cluster-net.js'
import { clkTck, cpuTicks, rssBytes, sleep, SYSTEMS, type ClusterAgent, type System } from './cluster-procs.js'

export const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)
const MB = 1e6

export interface PerNodeRate {
  udp: number
  tcp: number
  total: number
}

export interface WindowFigures {
  nodes: number
  windowS: number
  /** 1-minute load average of the machine at the start and the end of the window. */
  loadavg: [number, number]
  bytesPerNodePerS: PerNodeRate | null
  packetsPerNodePerS: PerNodeRate | null
  cpuSecondsPerNodePerMin: { mean: number | null; max: number | null }
  rssMb: { median: number | null; max: number | null; perAgent: Record<string, number> }
  /** Suspicions and failures logged inside the window about agents that were running all along. */
  suspectEvents: number
  falseFailures: number
}

/**
 * Measures `seconds` of whatever the clusters are doing now. Rates are per running agent: the
 * counters sum over every agent of a system, divided by how many of them ran through the window.
 */
export async function measureWindow(agents: Record<System, ClusterAgent[]>, nft: NftCounters | undefined, seconds: number): Promise<Record<System, WindowFigures>> {
  const running = (s: System): ClusterAgent[] => agents[s].filter((a) => a.running && !a.killedByBench)
  const load0 = os.loadavg()[0]
  const c0: Counters | undefined = nft?.read()
  const ticks0 = new Map(SYSTEMS.flatMap((s) => running(s)).map((a) => [a, cpuTicks(a.pid!)]))
  const w0 = performance.now()
  await sleep(seconds * 1000)
  const c1: Counters | undefined = nft?.read()
  const w1 = performance.now()
  const load1 = os.loadavg()[0]
  const windowS = (w1 - w0) / 1000
  const tck = clkTck()
  const out = {} as Record<System, WindowFigures>
  for (const s of SYSTEMS) {
    const here = running(s).filter((a) => ticks0.has(a))
    const n = here.length
    const perNode = (f: (c: Counters) => { udp: number; tcp: number }): PerNodeRate | null => {
      if (c0 === undefined || c1 === undefined || n === 0) return null
      const a = f(c0)
      const b = f(c1)
      const udp = (b.udp - a.udp) / windowS / n
      const tcp = (b.tcp - a.tcp) / windowS / n
      return { udp, tcp, total: udp + tcp }
    }
    const cpu = here.flatMap((a) => {
      const x = ticks0.get(a)
      const y = cpuTicks(a.pid!)
      return x === undefined || y === undefined ? [] : [((y - x) / tck / windowS) * 60]
    })
    const rssMb: Record<string, number> = {}
    for (const a of here) {
      const r = rssBytes(a.pid!)
      if (r !== undefined) rssMb[a.name] = r / MB
    }
    const names = new Set(here.map((a) => a.name))
    const inWindow = (kind: string): number => here.reduce((k, a) => k + a.events.filter((e) => e.kind === kind && names.has(e.member) && e.at >= w0 && e.at <= w1).length, 0)
    const rss = Object.values(rssMb)
    out[s] = {
      nodes: n,
      windowS,
      loadavg: [load0, load1],
      bytesPerNodePerS: perNode((c) => ({ udp: c[s].udp.bytes, tcp: c[s].tcp.bytes })),
      packetsPerNodePerS: perNode((c) => ({ udp: c[s].udp.packets, tcp: c[s].tcp.packets })),
      cpuSecondsPerNodePerMin: { mean: mean(cpu), max: cpu.length === 0 ? null : Math.max(...cpu) },
      rssMb: { median: median(rss), max: rss.length === 0 ? null : Math.max(...rss), perAgent: rssMb },
      suspectEvents: inWindow('suspect'),
      falseFailures: inWindow('failed'),
    }
  }
  return out
}

/**
 * When `agent`'s view first held all of `names` alive (replaying its log lines in order), or null.
 * Join, alive and update put a member in the view; failed, left and reap take it out.
 */
export function fullViewAt(agent: ClusterAgent, names: ReadonlySet<string>): number | null {
  const view = new Set<string>([agent.name])
  const complete = (): boolean => [...names].every((n) => view.has(n))
  for (const e of agent.events) {
    if (e.kind === 'failed' || e.kind === 'left' || e.kind === 'reap') view.delete(e.member)
    else if (e.kind !== 'suspect') view.add(e.member)
    if (names.has(e.member) && complete()) return e.at
  }
  return null
}

export interface JoinFigures {
  /** Seconds from the last agent's start until every agent saw every other alive; null: not within the limit. */
  allSeeAllS: number | null
  /** Seconds from the last start until each agent's view was complete: median and the slowest agent. */
  perAgentMedianS: number | null
  /** Agents whose view was not complete at the end of the limit. */
  incomplete: number
  /** Seconds from the last start until the last agent said it was up (process start-up, not the protocol). */
  lastUpS: number | null
  /** Seconds from the moment the last agent was up until every agent saw every other: the protocol's part. */
  allSeeAllAfterUpS: number | null
  /** Failed join attempts that were retried, over all agents. */
  joinRetries: number
}

export function joinFigures(agents: readonly ClusterAgent[], lastStartAt: number): JoinFigures {
  const names = new Set(agents.map((a) => a.name))
  const at = agents.map((a) => fullViewAt(a, names))
  const done = at.filter((t): t is number => t !== null).map((t) => Math.max(0, t - lastStartAt) / 1000)
  const incomplete = at.length - done.length
  const ups = agents.map((a) => a.startedAt)
  const lastUp = ups.some((u) => u === undefined) ? null : Math.max(...(ups as number[]))
  const allSeeAllS = incomplete === 0 ? Math.max(...done) : null
  return {
    allSeeAllS,
    perAgentMedianS: median(done),
    incomplete,
    lastUpS: lastUp === null ? null : Math.max(0, lastUp - lastStartAt) / 1000,
    allSeeAllAfterUpS: lastUp === null || allSeeAllS === null ? null : Math.max(0, allSeeAllS - Math.max(0, lastUp - lastStartAt) / 1000),
    joinRetries: agents.reduce((n, a) => n + a.joinRetries, 0),
  }
}
