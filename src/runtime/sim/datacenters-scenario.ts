/**
 * A run of several datacenters (datacenters.ts) with WAN partitions, crashes and cross-datacenter
 * events and queries, and its report: each pool with the figures a single-pool run has (alive counts,
 * detection of crashes, accusations, convergence, traffic: datacenters-pools.ts), the WAN pool's
 * detection and heal of a partitioned datacenter, and every relay's delivery (datacenters-workload.ts).
 *
 *   spawn the datacenters (LAN latency inside each, WAN latency between each pair, on every link
 *   between their nodes, LAN and WAN nodes alike) ─▶ run the timeline and the workload until `durationMs`:
 *     wan-partition DC for T   every link between DC's nodes and the others' is cut, then restored
 *     crash DC server|client   a server process (its LAN and WAN nodes) or a client of DC stops
 *     event|query FROM → TO    a node of FROM fires a user event or runs a query in TO through the relay
 *     workload                 so many relayed events and queries per second, between random datacenters
 *   sample every second: the fewest members alive seen by a LAN node of each datacenter, and by a WAN node
 *   trace (when asked): the simulator's lines, and `pool` and `relay` lines for the controllers' reports
 *
 * What counts as the WAN pool detecting the partition: every WAN node outside the datacenter holds
 * every one of its servers failed, and the reverse (`detectedMs` after the cut); healing: every
 * running WAN node sees every running server alive again (`healedMs` after the restore). A LAN pool is
 * unaffected when no LAN node ever saw fewer members alive than its datacenter has and none declared
 * one failed.
 */
import type { NodeEvent } from '../../node/index.js'
import { ComposedNode, resolveConfig } from '../../node/index.js'
import type { SwimConfig } from '../../node/index.js'
import type { PoolEvent } from '../../pools/index.js'
import { SimDatacenters } from './datacenters.js'
import type { DatacenterSpec } from './datacenters.js'
import { PoolWatch } from './datacenters-pools.js'
import type { PoolFigures } from './datacenters-pools.js'
import { RelayTraffic } from './datacenters-workload.js'
import type { RelayRecord, RelaySummary, RelayWorkloadOptions } from './datacenters-workload.js'
import type { SimNode } from './node.js'
import { Simulation } from './simulation.js'
import { formatDurationMs } from './steps.js'
import { formatTimeMs } from './trace.js'
import type { TraceSink } from './trace.js'

export type DatacenterStep =
  | { readonly atMs: number; readonly kind: 'wan-partition'; readonly datacenter: string; readonly forMs: number }
  | { readonly atMs: number; readonly kind: 'event' | 'query'; readonly from: string; readonly to: string }
  /** A process of the datacenter stops: a server (its LAN and WAN nodes, the first running one) or a client (the last running one). */
  | { readonly atMs: number; readonly kind: 'crash'; readonly datacenter: string; readonly role: 'server' | 'client' }

export interface DatacentersScenarioOptions {
  readonly name?: string
  readonly seed: number
  readonly durationMs: number
  readonly datacenters: readonly DatacenterSpec[]
  /** One-way delay inside a datacenter (default 0.5–2 ms). */
  readonly lanLatencyMs?: readonly [number, number]
  /** One-way delay between two datacenters, by pair `a|b` (either order); default 20–60 ms. */
  readonly wanLatencyMs?: Readonly<Record<string, readonly [number, number]>>
  readonly floodIntervalMs?: number
  readonly wanConfig?: Partial<SwimConfig>
  readonly steps?: readonly DatacenterStep[]
  /** Relayed events and queries per second between datacenters drawn at random (datacenters-workload.ts). */
  readonly workload?: RelayWorkloadOptions
  readonly sampleEveryMs?: number
  /** One line per packet, stream step, member event, fault, pool event and relay (trace.ts). */
  readonly trace?: TraceSink
  readonly log?: (text: string, atMs: number) => void
}

/** A relayed event or query of a timeline step (the workload's are summarised in `relays`). */
export type EventRecord = RelayRecord

export interface PartitionRecord {
  readonly datacenter: string
  readonly atMs: number
  readonly forMs: number
  /** After the cut, until the first server across it was declared failed by a WAN node (null: none while cut). */
  readonly firstFailedMs: number | null
  /** Of the (WAN node, server across the cut) pairs, the fraction held failed when the cut ended. */
  readonly failedAtRestore: number
  /** After the cut, until every WAN node on each side held every server of the other failed (null: never). */
  readonly detectedMs: number | null
  /** The same for one side: the other datacenters' servers holding the cut one's failed, and the cut one's servers holding the others' failed. */
  readonly detectedOutsideMs: number | null
  readonly detectedInsideMs: number | null
  /** After the restore, until every running WAN node saw every running server alive (null: not by the end). */
  readonly healedMs: number | null
}

export interface DatacentersReport {
  readonly scenario: string | undefined
  readonly seed: number
  /** Each datacenter's LAN pool (fewest alive seen once it formed); `lan` has the figures a single-pool run reports. */
  readonly datacenters: ReadonlyArray<{ readonly name: string; readonly nodes: number; readonly servers: number; readonly fewestAliveSeen: number; readonly failedDeclarations: number; readonly lan: PoolFigures }>
  /** The WAN pool; `whole`: at the end every running server sees every running server alive and every crashed one failed. */
  readonly wan: { readonly servers: number; readonly fewestAliveSeen: number; readonly softFailReports: number; readonly recoveries: number; readonly floodJoins: number; readonly whole: boolean; readonly pool: PoolFigures }
  readonly steps: readonly string[]
  readonly partitions: readonly PartitionRecord[]
  /** The timeline's relayed events and queries, one by one. */
  readonly events: readonly EventRecord[]
  /** Every relayed event and query (timeline and workload), summed up; `workload` lists the workload's. */
  readonly relays: { readonly events: RelaySummary; readonly queries: RelaySummary; readonly workload: readonly RelayRecord[] }
  readonly durationMs: number
  readonly timeSeries: {
    readonly t: number[]
    /** The fewest members alive seen by a running LAN node of each datacenter, and how many were running. */
    readonly lan: Record<string, number[]>
    readonly lanLive: Record<string, number[]>
    /** The fewest servers alive seen by a running server, and how many were running. */
    readonly wan: number[]
    readonly wanLive: number[]
    readonly wanServers: number
  }
}

/**
 * The fewest members seen alive from the first sample where every node saw all of them (the pool had
 * formed) on: the joins at the start are not a fault. Never formed: over every sample after the first.
 */
function fewestOnceFormed(series: readonly number[], members: number): number {
  const formed = series.findIndex((v) => v === members)
  return Math.min(...series.slice(formed < 0 ? 1 : formed))
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`)

const aliveCount = (n: SimNode): number => {
  if (n.status !== 'running' && n.status !== 'paused') return NaN
  let c = 0
  for (const m of (n.protocol as ComposedNode).members()) if (m.state === 'alive') c++
  return c
}

/** A pool event as one trace line's tail. */
function describePoolEvent(e: PoolEvent): string {
  switch (e.type) {
    case 'floodJoin':
      return `floodJoin ${e.servers.join(',')}`
    case 'server':
      return `server ${e.server} ${e.change}`
    case 'relayServed':
      return `relayServed ${e.kind} ${e.name} dc=${e.datacenter}${e.forwarded ? ' forwarded' : ''}`
    case 'relayDropped':
      return `relayDropped reason=${JSON.stringify(e.reason)}`
    case 'relayFailover':
      return `relayFailover ${e.kind} dc=${e.datacenter} failed=${e.failed} next=${e.next}`
    case 'relayDone':
      return `relayDone ${e.kind} dc=${e.datacenter} ok=${e.ok}`
  }
}

export function runDatacentersScenario(opts: DatacentersScenarioOptions): DatacentersReport {
  const sim = new Simulation({ seed: opts.seed, network: { latencyMs: opts.lanLatencyMs ?? [0.5, 2] }, recordEvents: false, trace: opts.trace })
  const log = (text: string): void => opts.log?.(text, sim.nowMs)
  const trace = opts.trace
  const dcs = new SimDatacenters(sim, opts.datacenters, {
    floodIntervalMs: opts.floodIntervalMs, wanConfig: opts.wanConfig,
    onPoolEvent: trace === undefined ? undefined : (_dc, node, e, atMs) => trace(`${formatTimeMs(atMs)} pool ${node.name} ${describePoolEvent(e)}`),
  })
  const steps: string[] = opts.datacenters.map((d) => `spawn ${d.name}: ${d.nodes} nodes, ${d.servers} servers (LAN latency ${formatRange(opts.lanLatencyMs ?? [0.5, 2])} one way)`)
  const names = opts.datacenters.map((d) => d.name)
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const lat = opts.wanLatencyMs?.[pairKey(names[i], names[j])] ?? [20, 60]
      const a = dcs.nodesOf(names[i]).map((n) => n.index)
      const b = dcs.nodesOf(names[j]).map((n) => n.index)
      sim.network.shape(a, b, { oneWayDelayMsMin: lat[0], oneWayDelayMsMax: lat[1] })
      sim.network.shape(b, a, { oneWayDelayMsMin: lat[0], oneWayDelayMsMax: lat[1] })
      steps.push(`WAN latency ${formatRange(lat)} one way between ${names[i]} and ${names[j]}`)
    }
  }
  // Each pool watched on its own: the LAN pool of every datacenter, and the WAN pool.
  const lanConfig = resolveConfig({}, 'lan')
  const lanWatch = new Map(dcs.datacenters.map((d) => [d.name, new PoolWatch(sim, d.lan, lanConfig)]))
  const wanWatch = new PoolWatch(sim, dcs.wanNodes(), resolveConfig(opts.wanConfig ?? {}, 'wan'))
  const lanFailed = new Map<string, number>(names.map((n) => [n, 0]))
  const lanOf = new Map<number, string>()
  for (const d of dcs.datacenters) for (const n of d.lan) lanOf.set(n.index, d.name)
  sim.observe({
    onEvent: (node: SimNode, e: NodeEvent) => {
      const dc = lanOf.get(node.index)
      if (dc !== undefined && e.type === 'failed') lanFailed.set(dc, (lanFailed.get(dc) ?? 0) + 1)
    },
  })
  /** WAN cuts as they happen: a datacenter, from, and until (Infinity while it lasts). */
  const cuts: Array<{ dc: string; fromMs: number; toMs: number }> = []
  const relays = new RelayTraffic(sim, dcs, (dc, a, b) => cuts.some((c) => c.dc === dc && c.fromMs <= b && c.toMs >= a), trace)

  // Time series: the fewest alive seen in each pool, and how many of its nodes run, every sampleEveryMs.
  const every = opts.sampleEveryMs ?? 1000
  const perDc = (): Record<string, number[]> => Object.fromEntries(names.map((n) => [n, [] as number[]]))
  const ts = { t: [] as number[], lan: perDc(), lanLive: perDc(), wan: [] as number[], wanLive: [] as number[], wanServers: dcs.wanNodes().length }
  const fewest = (nodes: readonly SimNode[]): number => nodes.reduce((m, n) => (Number.isNaN(aliveCount(n)) ? m : Math.min(m, aliveCount(n))), Infinity)
  const live = (nodes: readonly SimNode[]): number => nodes.filter((n) => n.live).length
  const sample = (): void => {
    ts.t.push(sim.nowMs / 1000)
    for (const d of dcs.datacenters) {
      ts.lan[d.name].push(fewest(d.lan))
      ts.lanLive[d.name].push(live(d.lan))
    }
    ts.wan.push(fewest(dcs.wanNodes()))
    ts.wanLive.push(live(dcs.wanNodes()))
    if (sim.nowMs + every <= opts.durationMs) sim.at(sim.nowMs + every, sample)
  }
  sim.at(0, sample)

  const partitions: Array<{ -readonly [K in keyof PartitionRecord]: PartitionRecord[K] }> = []
  /**
   * Every running WAN node holds every server across the cut failed ('dead'), or every running server
   * alive ('alive'); `side` limits the observers to the cut datacenter's servers or to the others'.
   */
  const wanSideHolds = (dc: string, state: 'dead' | 'alive', side?: 'inside' | 'outside'): boolean => {
    const inside = new Set(dcs.nodesOf(dc).map((n) => n.name))
    const running = dcs.wanNodes().filter((w) => w.status === 'running')
    const runningNames = new Set(running.map((w) => w.name))
    for (const w of running) {
      const mine = inside.has(w.name)
      if (side !== undefined && mine !== (side === 'inside')) continue
      const seen = new Map((w.protocol as ComposedNode).members().map((m) => [m.name, m.state]))
      for (const x of dcs.wanNodes()) {
        if (x === w) continue
        const across = inside.has(x.name) !== mine
        if (state === 'dead' ? across && (seen.get(x.name) ?? 'dead') !== 'dead' && runningNames.has(x.name) : runningNames.has(x.name) && seen.get(x.name) !== 'alive') return false
      }
    }
    return true
  }
  /** The fraction of (WAN node, server across the cut from it) pairs held failed. */
  const failedAcross = (dc: string): number => {
    const inside = new Set(dcs.nodesOf(dc).map((n) => n.name))
    let pairs = 0
    let failed = 0
    for (const w of dcs.wanNodes()) {
      if (w.status !== 'running') continue
      for (const m of (w.protocol as ComposedNode).members()) {
        if (inside.has(m.name) === inside.has(w.name)) continue
        pairs++
        if (m.state === 'dead') failed++
      }
    }
    return pairs === 0 ? 0 : failed / pairs
  }
  for (const step of opts.steps ?? []) {
    if (step.kind === 'wan-partition') {
      const rec = { datacenter: step.datacenter, atMs: step.atMs, forMs: step.forMs, firstFailedMs: null as number | null, failedAtRestore: 0, detectedMs: null as number | null, detectedOutsideMs: null as number | null, detectedInsideMs: null as number | null, healedMs: null as number | null }
      partitions.push(rec)
      steps.push(`${formatDurationMs(step.atMs)}: cut ${step.datacenter} off the WAN for ${formatDurationMs(step.forMs)}`)
      sim.at(step.atMs, () => {
        const inside = dcs.nodesOf(step.datacenter)
        const outside = dcs.datacenters.filter((d) => d.name !== step.datacenter).flatMap((d) => dcs.nodesOf(d.name))
        const ids = sim.partition(inside, outside)
        const cutRecord = { dc: step.datacenter, fromMs: sim.nowMs, toMs: Infinity }
        cuts.push(cutRecord)
        wanWatch.faultAt(sim.nowMs)
        log(`WAN partition: ${step.datacenter} cut off`)
        const watchCut = (): void => {
          if (sim.nowMs >= step.atMs + step.forMs) return
          if (rec.firstFailedMs === null && failedAcross(step.datacenter) > 0) rec.firstFailedMs = sim.nowMs - step.atMs
          if (rec.detectedOutsideMs === null && wanSideHolds(step.datacenter, 'dead', 'outside')) rec.detectedOutsideMs = sim.nowMs - step.atMs
          if (rec.detectedInsideMs === null && wanSideHolds(step.datacenter, 'dead', 'inside')) rec.detectedInsideMs = sim.nowMs - step.atMs
          if (wanSideHolds(step.datacenter, 'dead')) rec.detectedMs = sim.nowMs - step.atMs
          else sim.at(sim.nowMs + 250, watchCut)
        }
        watchCut()
        sim.at(step.atMs + step.forMs, () => {
          rec.failedAtRestore = failedAcross(step.datacenter)
          sim.unblock(ids)
          cutRecord.toMs = sim.nowMs
          log(`WAN partition of ${step.datacenter} healed`)
          const healAt = sim.nowMs
          const watchHeal = (): void => {
            if (wanSideHolds(step.datacenter, 'alive')) rec.healedMs = sim.nowMs - healAt
            else if (sim.nowMs + 250 <= opts.durationMs) sim.at(sim.nowMs + 250, watchHeal)
          }
          watchHeal()
        })
      })
    } else if (step.kind === 'crash') {
      const d = dcs.datacenters.find((x) => x.name === step.datacenter)
      if (d === undefined) throw new RangeError(`crash step: no datacenter ${step.datacenter}`)
      steps.push(`${formatDurationMs(step.atMs)}: crash a ${step.role} of ${step.datacenter}${step.role === 'server' ? ' (its LAN and WAN nodes)' : ''}`)
      sim.at(step.atMs, () => {
        const candidates = step.role === 'server' ? d.lan.slice(0, d.wan.length) : [...d.lan.slice(d.wan.length)].reverse()
        const victim = candidates.find((n) => n.status === 'running')
        if (victim === undefined) return log(`crash: no running ${step.role} left in ${step.datacenter}`)
        dcs.crash(victim)
        log(`crashed ${victim.name} (${step.role} of ${step.datacenter})`)
      })
    } else {
      const name = relays.scheduleStep(step.kind, step.atMs, step.from, step.to)
      steps.push(`${formatDurationMs(step.atMs)}: ${step.kind === 'event' ? 'user event' : 'query'} ${name} from a node of ${step.from} to ${step.to}`)
    }
  }
  const w = opts.workload
  if (w !== undefined && ((w.eventsPerSec ?? 0) > 0 || (w.queriesPerSec ?? 0) > 0)) {
    const start = w.startMs ?? Math.min(30_000, opts.durationMs)
    const end = w.endMs ?? Math.max(start, opts.durationMs - 30_000)
    steps.push(`workload: ${w.eventsPerSec ?? 0} relayed events/s and ${w.queriesPerSec ?? 0} relayed queries/s from ${formatDurationMs(start)} to ${formatDurationMs(end)}, from a random node of one datacenter to another`)
    relays.scheduleWorkload(w, opts.durationMs)
  }
  sim.runUntilTime(opts.durationMs)

  const pe = dcs.poolEvents
  const wanFigures = wanWatch.figures(opts.durationMs)
  return {
    scenario: opts.name,
    seed: sim.seed,
    datacenters: dcs.datacenters.map((d) => ({
      name: d.name, nodes: d.lan.length, servers: d.wan.length, fewestAliveSeen: fewestOnceFormed(ts.lan[d.name], d.lan.length), failedDeclarations: lanFailed.get(d.name) ?? 0,
      lan: lanWatch.get(d.name)!.figures(opts.durationMs),
    })),
    wan: {
      servers: dcs.wanNodes().length,
      fewestAliveSeen: fewestOnceFormed(ts.wan, dcs.wanNodes().length),
      softFailReports: pe.filter((e) => e.event.type === 'server' && e.event.change === 'failed').length,
      recoveries: pe.filter((e) => e.event.type === 'server' && e.event.change === 'recovered').length,
      floodJoins: pe.filter((e) => e.event.type === 'floodJoin').length,
      whole: wanFigures.converged,
      pool: wanFigures,
    },
    steps,
    partitions,
    events: relays.records.filter((r) => r.listed),
    relays: { events: relays.summary('event'), queries: relays.summary('query'), workload: relays.records.filter((r) => !r.listed) },
    durationMs: opts.durationMs,
    timeSeries: ts,
  }
}

function formatRange(r: readonly [number, number]): string {
  return `${formatDurationMs(r[0])}..${formatDurationMs(r[1])}`
}

function seconds(ms: number): string {
  return formatDurationMs(Math.round(ms))
}

function bytes(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(2)} KB` : `${n.toFixed(0)} B`
}

/** The lines a single-pool report has, for one pool. */
function poolLines(p: PoolFigures, lines: string[]): void {
  const formed = p.formedMs === null ? 'not formed before the first fault' : `formed in ${seconds(p.formedMs)}`
  const converged = p.converged ? 'converged at the end' : `NOT converged at the end: ${p.convergenceMismatches} wrong views, e.g. ${p.convergenceExamples.join('; ')}`
  lines.push(`    ${formed}; ${converged}; traffic ${p.packetsPerNodePerSec.toFixed(2)} packets/s, ${bytes(p.bytesPerNodePerSec)}/s per node`)
  lines.push(`    accusations first-hand: ${p.accusations.suspicions} suspicions, ${p.accusations.deaths} deaths (of a running, reachable member: ${p.falsePositives.suspicions}, ${p.falsePositives.deaths}); refutations ${p.refutations}; highest local health ${p.healthMax}`)
  const plus = (ms: number | null): string => (ms === null ? 'never' : `+${seconds(ms)}`)
  for (const d of p.detection) lines.push(`    ${d.node} crashed at ${seconds(d.crashedAtMs)}: suspected ${plus(d.firstSuspicionMs)}, failed ${plus(d.firstDeadMs)}, failed everywhere ${plus(d.deadEverywhereMs)}`)
}

function relayLine(kind: 'events' | 'queries', s: RelaySummary): string {
  if (s.fired === 0) return `relayed ${kind}: none`
  const pct = s.pairs === 0 ? '' : ` (${((s.deliveredPairs / s.pairs) * 100).toFixed(1)}% of ${s.pairs} (${kind === 'events' ? 'event' : 'query'}, running node of the target) pairs${kind === 'queries' ? `, ${s.responsesBack} answers back` : ''})`
  const lat = s.lastDeliveryMs === null ? '' : `; ${kind === 'events' ? 'last delivery' : 'outcome'} p50 ${seconds(s.lastDeliveryMs.p50)}, p99 ${seconds(s.lastDeliveryMs.p99)}, max ${seconds(s.lastDeliveryMs.max)}`
  const refused = s.refused === 0 ? '' : `; ${s.refused} refused (${s.refusedDuringCut} of them in flight while the source or the target was cut off the WAN)`
  const open = s.fired - s.ok - s.refused
  return `relayed ${kind}: ${s.fired} fired, ${s.ok} delivered${pct}${lat}${refused}${open > 0 ? `; ${open} without an outcome by the end` : ''}`
}

/** The report as text, as `grapevine sim FILE` prints it (with the run's wall time when the caller measured it). */
export function formatDatacentersReport(r: DatacentersReport, wallMs?: number): string {
  const lines: string[] = []
  lines.push(`${r.scenario ?? 'datacenters'}: seed ${r.seed}, ${formatDurationMs(r.durationMs)} virtual${wallMs === undefined ? '' : ` in ${(wallMs / 1000).toFixed(1)} s`}`)
  for (const s of r.steps) lines.push(`  ${s}`)
  lines.push('LAN pools:')
  for (const d of r.datacenters) {
    const ok = d.fewestAliveSeen === d.nodes && d.failedDeclarations === 0
    lines.push(`  ${d.name}: ${d.nodes} nodes; fewest members alive seen by any node ${d.fewestAliveSeen}; members declared failed ${d.failedDeclarations}${ok ? ' (unaffected)' : ''}`)
    poolLines(d.lan, lines)
  }
  lines.push(`WAN pool: ${r.wan.servers} servers; fewest alive seen ${r.wan.fewestAliveSeen}; soft-fail reports ${r.wan.softFailReports}, recoveries ${r.wan.recoveries}, flood joins ${r.wan.floodJoins}; whole at the end: ${r.wan.whole ? 'yes' : 'no'}`)
  poolLines(r.wan.pool, lines)
  for (const p of r.partitions) {
    const first = p.firstFailedMs === null ? 'no server across the cut declared failed while cut' : `first server across the cut declared failed after ${formatDurationMs(Math.round(p.firstFailedMs))}`
    const sides = `outside held all of ${p.datacenter}'s failed ${p.detectedOutsideMs === null ? 'never' : `after ${seconds(p.detectedOutsideMs)}`}, ${p.datacenter} held all the others' failed ${p.detectedInsideMs === null ? 'never' : `after ${seconds(p.detectedInsideMs)}`}`
    const det = p.detectedMs === null
      ? `${first}; ${Math.round(p.failedAtRestore * 100)}% of the server pairs across it held failed at the restore (${sides})`
      : `${first}; all of them on both sides after ${formatDurationMs(Math.round(p.detectedMs))} (${sides})`
    const heal = p.healedMs === null ? 'not healed by the end' : `healed (every server alive everywhere) ${formatDurationMs(Math.round(p.healedMs))} after the restore`
    lines.push(`  partition of ${p.datacenter} at ${formatDurationMs(p.atMs)} for ${formatDurationMs(p.forMs)}: ${det}; ${heal}`)
  }
  lines.push('Cross-datacenter events and queries:')
  for (const e of r.events) {
    const what = e.kind === 'event' ? `delivered to ${e.delivered}/${e.of} nodes of ${e.to}${e.lastDeliveryMs === null ? '' : ` within ${seconds(e.lastDeliveryMs)}`}` : `received by ${e.delivered}/${e.of} nodes of ${e.to}, ${e.responses ?? 0} answers back (${e.acks ?? 0} acks)`
    const outcome = e.ok === null ? 'no outcome' : e.ok ? `fired by ${e.servedBy}; ${what}` : `refused: ${e.error}`
    lines.push(`  ${formatDurationMs(e.atMs)} ${e.kind} ${e.from} → ${e.to}: ${outcome}`)
  }
  lines.push(`  ${relayLine('events', r.relays.events)}`)
  lines.push(`  ${relayLine('queries', r.relays.queries)}`)
  return lines.join('\n') + '\n'
}
