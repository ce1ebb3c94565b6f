/**
 * A run of several datacenters (datacenters.ts) with WAN partitions and cross-datacenter events, and
 * its report: both pools over time, the WAN pool's detection and heal of a partitioned datacenter,
 * and each relayed event's delivery.
 *
 *   spawn the datacenters (LAN latency inside each, WAN latency between each pair, on every link
 *   between their nodes, LAN and WAN nodes alike) ─▶ run the timeline until `durationMs`:
 *     wan-partition DC for T   every link between DC's nodes and the others' is cut, then restored
 *     event FROM → TO          a client of FROM fires a user event in TO through the relay
 *   sample every second: the fewest members alive seen by a LAN node of each datacenter, and by a WAN node
 *
 * What counts as the WAN pool detecting the partition: every WAN node outside the datacenter holds
 * every one of its servers failed, and the reverse (`detectedMs` after the cut); healing: every WAN
 * node sees every server alive again (`healedMs` after the restore). A LAN pool is unaffected when no
 * LAN node ever saw fewer members alive than its datacenter has and none declared one failed.
 */
import type { NodeEvent } from '../../node/index.js'
import { ComposedNode } from '../../node/index.js'
import type { SwimConfig } from '../../node/index.js'
import type { RelayOutcome } from '../../pools/index.js'
import { SimDatacenters } from './datacenters.js'
import type { DatacenterSpec } from './datacenters.js'
import type { SimNode } from './node.js'
import { Simulation } from './simulation.js'
import { formatDurationMs } from './steps.js'

export type DatacenterStep =
  | { readonly atMs: number; readonly kind: 'wan-partition'; readonly datacenter: string; readonly forMs: number }
  | { readonly atMs: number; readonly kind: 'event'; readonly from: string; readonly to: string }

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
  readonly sampleEveryMs?: number
  readonly log?: (text: string, atMs: number) => void
}

export interface EventRecord {
  readonly atMs: number
  readonly from: string
  readonly to: string
  readonly ok: boolean | null
  readonly error: string | null
  readonly servedBy: string | null
  /** LAN nodes of `to` that delivered it, of how many were running. */
  readonly delivered: number
  readonly of: number
  /** From the fire to the last delivery. */
  readonly lastDeliveryMs: number | null
}

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
  /** After the restore, until every WAN node saw every server alive (null: not by the end). */
  readonly healedMs: number | null
}

export interface DatacentersReport {
  readonly scenario: string | undefined
  readonly seed: number
  readonly datacenters: ReadonlyArray<{ readonly name: string; readonly nodes: number; readonly servers: number; readonly fewestAliveSeen: number; readonly failedDeclarations: number }>
  readonly wan: { readonly servers: number; readonly fewestAliveSeen: number; readonly softFailReports: number; readonly recoveries: number; readonly floodJoins: number; readonly whole: boolean }
  readonly steps: readonly string[]
  readonly partitions: readonly PartitionRecord[]
  readonly events: readonly EventRecord[]
  readonly durationMs: number
  readonly timeSeries: { readonly t: number[]; readonly lan: Record<string, number[]>; readonly wan: number[]; readonly wanServers: number }
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`)

const aliveCount = (n: SimNode): number => {
  if (n.status !== 'running' && n.status !== 'paused') return NaN
  let c = 0
  for (const m of (n.protocol as ComposedNode).members()) if (m.state === 'alive') c++
  return c
}

export function runDatacentersScenario(opts: DatacentersScenarioOptions): DatacentersReport {
  const sim = new Simulation({ seed: opts.seed, network: { latencyMs: opts.lanLatencyMs ?? [0.5, 2] }, recordEvents: false })
  const log = (text: string): void => opts.log?.(text, sim.nowMs)
  const dcs = new SimDatacenters(sim, opts.datacenters, { floodIntervalMs: opts.floodIntervalMs, wanConfig: opts.wanConfig })
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
  const lanFailed = new Map<string, number>(names.map((n) => [n, 0]))
  const lanOf = new Map<number, string>()
  for (const d of dcs.datacenters) for (const n of d.lan) lanOf.set(n.index, d.name)
  const deliveries = new Map<string, Array<{ node: string; atMs: number }>>()
  sim.observe({
    onEvent: (node: SimNode, e: NodeEvent) => {
      const dc = lanOf.get(node.index)
      if (dc === undefined) return
      if (e.type === 'failed') lanFailed.set(dc, (lanFailed.get(dc) ?? 0) + 1)
      if (e.type === 'message' && e.message.via === 'serf') deliveries.get(e.message.name)?.push({ node: node.name, atMs: sim.nowMs })
    },
  })

  // Time series: the fewest alive seen in each pool, every sampleEveryMs.
  const every = opts.sampleEveryMs ?? 1000
  const ts = { t: [] as number[], lan: Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<string, number[]>, wan: [] as number[], wanServers: dcs.wanNodes().length }
  const fewest = (nodes: readonly SimNode[]): number => nodes.reduce((m, n) => (Number.isNaN(aliveCount(n)) ? m : Math.min(m, aliveCount(n))), Infinity)
  const sample = (): void => {
    ts.t.push(sim.nowMs / 1000)
    for (const d of dcs.datacenters) ts.lan[d.name].push(fewest(d.lan))
    ts.wan.push(fewest(dcs.wanNodes()))
    if (sim.nowMs + every <= opts.durationMs) sim.at(sim.nowMs + every, sample)
  }
  sim.at(0, sample)

  const partitions: Array<{ -readonly [K in keyof PartitionRecord]: PartitionRecord[K] }> = []
  const events: Array<{ record: { -readonly [K in keyof EventRecord]: EventRecord[K] }; name: string; target: readonly SimNode[] }> = []
  let eventSeq = 0
  const wanSideHolds = (dc: string, state: 'dead' | 'alive'): boolean => {
    const inside = new Set(dcs.nodesOf(dc).map((n) => n.name))
    for (const w of dcs.wanNodes()) {
      if (w.status !== 'running') continue
      const mine = inside.has(w.name)
      for (const m of (w.protocol as ComposedNode).members()) {
        if (m.name === w.name) continue
        const across = inside.has(m.name) !== mine
        if (state === 'dead' ? across && m.state !== 'dead' : m.state !== 'alive') return false
      }
      if (state === 'alive' && (w.protocol as ComposedNode).members().length !== dcs.wanNodes().length) return false
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
      const rec = { datacenter: step.datacenter, atMs: step.atMs, forMs: step.forMs, firstFailedMs: null as number | null, failedAtRestore: 0, detectedMs: null as number | null, healedMs: null as number | null }
      partitions.push(rec)
      steps.push(`${formatDurationMs(step.atMs)}: cut ${step.datacenter} off the WAN for ${formatDurationMs(step.forMs)}`)
      sim.at(step.atMs, () => {
        const inside = dcs.nodesOf(step.datacenter)
        const outside = dcs.datacenters.filter((d) => d.name !== step.datacenter).flatMap((d) => dcs.nodesOf(d.name))
        const ids = sim.partition(inside, outside)
        log(`WAN partition: ${step.datacenter} cut off`)
        const watchCut = (): void => {
          if (sim.nowMs >= step.atMs + step.forMs) return
          if (rec.firstFailedMs === null && failedAcross(step.datacenter) > 0) rec.firstFailedMs = sim.nowMs - step.atMs
          if (wanSideHolds(step.datacenter, 'dead')) rec.detectedMs = sim.nowMs - step.atMs
          else sim.at(sim.nowMs + 250, watchCut)
        }
        watchCut()
        sim.at(step.atMs + step.forMs, () => {
          rec.failedAtRestore = failedAcross(step.datacenter)
          sim.unblock(ids)
          log(`WAN partition of ${step.datacenter} healed`)
          const healAt = sim.nowMs
          const watchHeal = (): void => {
            if (wanSideHolds(step.datacenter, 'alive')) rec.healedMs = sim.nowMs - healAt
            else if (sim.nowMs + 250 <= opts.durationMs) sim.at(sim.nowMs + 250, watchHeal)
          }
          watchHeal()
        })
      })
    } else {
      const name = `relay-${++eventSeq}`
      const from = dcs.datacenters.find((d) => d.name === step.from)
      const to = dcs.datacenters.find((d) => d.name === step.to)
      if (from === undefined || to === undefined) throw new RangeError(`event step: no datacenter ${from === undefined ? step.from : step.to}`)
      const record = { atMs: step.atMs, from: step.from, to: step.to, ok: null as boolean | null, error: null as string | null, servedBy: null as string | null, delivered: 0, of: 0, lastDeliveryMs: null as number | null }
      events.push({ record, name, target: to.lan })
      deliveries.set(name, [])
      steps.push(`${formatDurationMs(step.atMs)}: user event ${name} from a client of ${step.from} to ${step.to}`)
      sim.at(step.atMs, () => {
        // The last node of the datacenter: a client when it has more nodes than servers.
        const origin = [...from.lan].reverse().find((n) => n.status === 'running')
        if (origin === undefined) return
        record.of = to.lan.filter((n) => n.status === 'running').length
        dcs.relay(origin, { kind: 'event', datacenter: step.to, name, payload: Uint8Array.of(eventSeq) }, (r: RelayOutcome) => {
          record.ok = r.ok
          record.error = r.ok ? null : r.error
          record.servedBy = r.ok ? r.servedBy : null
          log(`${name} ${step.from} → ${step.to}: ${r.ok ? `fired by ${r.servedBy}` : `failed: ${r.error}`}`)
        })
      })
    }
  }
  sim.runUntilTime(opts.durationMs)

  for (const e of events) {
    const got = deliveries.get(e.name) ?? []
    const nodes = new Set(got.map((g) => g.node))
    e.record.delivered = nodes.size
    e.record.lastDeliveryMs = got.length === 0 ? null : Math.max(...got.map((g) => g.atMs)) - e.record.atMs
  }
  const pe = dcs.poolEvents
  return {
    scenario: opts.name,
    seed: sim.seed,
    datacenters: dcs.datacenters.map((d) => ({
      name: d.name, nodes: d.lan.length, servers: d.wan.length, fewestAliveSeen: Math.min(...ts.lan[d.name].slice(1)), failedDeclarations: lanFailed.get(d.name) ?? 0,
    })),
    wan: {
      servers: dcs.wanNodes().length,
      fewestAliveSeen: Math.min(...ts.wan.slice(1)),
      softFailReports: pe.filter((e) => e.event.type === 'server' && e.event.change === 'failed').length,
      recoveries: pe.filter((e) => e.event.type === 'server' && e.event.change === 'recovered').length,
      floodJoins: pe.filter((e) => e.event.type === 'floodJoin').length,
      whole: dcs.wanNodes().every((w) => aliveCount(w) === dcs.wanNodes().length),
    },
    steps,
    partitions,
    events: events.map((e) => e.record),
    durationMs: opts.durationMs,
    timeSeries: ts,
  }
}

function formatRange(r: readonly [number, number]): string {
  return `${formatDurationMs(r[0])}..${formatDurationMs(r[1])}`
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
  }
  lines.push(`WAN pool: ${r.wan.servers} servers; fewest alive seen ${r.wan.fewestAliveSeen}; soft-fail reports ${r.wan.softFailReports}, recoveries ${r.wan.recoveries}, flood joins ${r.wan.floodJoins}; whole at the end: ${r.wan.whole ? 'yes' : 'no'}`)
  for (const p of r.partitions) {
    const first = p.firstFailedMs === null ? 'no server across the cut declared failed while cut' : `first server across the cut declared failed after ${formatDurationMs(Math.round(p.firstFailedMs))}`
    const det = p.detectedMs === null
      ? `${first}; ${Math.round(p.failedAtRestore * 100)}% of the server pairs across it held failed at the restore`
      : `${first}; all of them on both sides after ${formatDurationMs(Math.round(p.detectedMs))}`
    const heal = p.healedMs === null ? 'not healed by the end' : `healed (every server alive everywhere) ${formatDurationMs(Math.round(p.healedMs))} after the restore`
    lines.push(`  partition of ${p.datacenter} at ${formatDurationMs(p.atMs)} for ${formatDurationMs(p.forMs)}: ${det}; ${heal}`)
  }
  lines.push('Cross-datacenter events:')
  for (const e of r.events) {
    const outcome = e.ok === null ? 'no outcome' : e.ok ? `fired by ${e.servedBy}; delivered to ${e.delivered}/${e.of} nodes of ${e.to}${e.lastDeliveryMs === null ? '' : ` within ${formatDurationMs(Math.round(e.lastDeliveryMs))}`}` : `refused: ${e.error}`
    lines.push(`  ${formatDurationMs(e.atMs)} ${e.from} → ${e.to}: ${outcome}`)
  }
  return lines.join('\n') + '\n'
}
