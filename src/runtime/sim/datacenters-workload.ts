/**
 * Cross-datacenter traffic of a datacenters run: user events and queries fired in another
 * datacenter through the pool controller's relay (src/pools/), each followed to its end, from the
 * timeline's `event` and `query` steps and from a `workload:` of so many per second.
 *
 *   fire(kind, FROM, TO) ─▶ a running LAN node of FROM (a step: its last one, a client when there is
 *                           one; the workload: any, drawn) ─▶ relay: its server ─▶ WAN ─▶ a server of TO
 *     event: TO's server fires it in TO's LAN pool ─▶ each LAN node of TO delivers it   (counted here)
 *     query: TO's server runs it in TO's LAN pool  ─▶ each LAN node of TO answers with its name
 *            ─▶ the answers come back in the relay's response (those that fit; the rest are counted)
 *   outcome (delivered or refused, with the reason) ─▶ the record, and the trace
 *
 * A relay in flight while FROM or TO was cut off the WAN (a cut overlapping the time from its fire
 * to its outcome) is marked `duringCut`: refusing it is the expected outcome, as Serf does not queue
 * user events; the summary counts those apart. Workload
 * arrivals are a Poisson process drawn from a generator of their own, derived from the run seed, so
 * the workload does not perturb the nodes' randomness and the same seed gives the same run.
 */
import { SeededRng, deriveSeed } from '../../core/rng.js'
import type { ComposedNode, NodeEvent } from '../../node/index.js'
import type { RelayOutcome } from '../../pools/index.js'
import type { SimDatacenters } from './datacenters.js'
import type { SimNode } from './node.js'
import type { SimObserver, Simulation } from './simulation.js'
import { formatTimeMs } from './trace.js'
import type { TraceSink } from './trace.js'

/** Reserved child-seed index of the datacenters workload's generator. */
export const DATACENTERS_WORKLOAD_SEED_INDEX = 0x7ff0_0018

/** Names of the relayed events and queries; the target's nodes answer queries of this prefix. */
const EVENT_PREFIX = 'relay-'
const QUERY_PREFIX = 'relay-query-'

export interface RelayWorkloadOptions {
  /** Relayed user events per virtual second, over the whole run of datacenters (0: none). */
  readonly eventsPerSec?: number
  /** Relayed queries per virtual second (0: none). */
  readonly queriesPerSec?: number
  /** Arrivals in [startMs, endMs): default from 30 s (the pools formed) to 30 s before the end. */
  readonly startMs?: number
  readonly endMs?: number
}

export interface RelayRecord {
  readonly kind: 'event' | 'query'
  readonly name: string
  readonly atMs: number
  readonly from: string
  readonly to: string
  /** The LAN node that fired it. */
  readonly origin: string
  /** From a timeline step (listed one by one in the report) or the workload (summarised). */
  readonly listed: boolean
  /** FROM or TO was cut off the WAN at some time between the fire and the outcome. */
  readonly duringCut: boolean
  readonly ok: boolean | null
  readonly error: string | null
  readonly servedBy: string | null
  /** LAN nodes of `to` that delivered the event or received the query, of how many were running at the fire. */
  readonly delivered: number
  readonly of: number
  /** Events: from the fire to the last delivery. Queries: to the outcome (the query's deadline). */
  readonly lastDeliveryMs: number | null
  /** Queries: acks counted by TO's server, and answers that came back (kept or counted as omitted). */
  readonly acks: number | null
  readonly responses: number | null
}

/** One kind of relay over the run. */
export interface RelaySummary {
  readonly fired: number
  readonly ok: number
  readonly refused: number
  /** Refusals of relays in flight while FROM or TO was cut off the WAN. */
  readonly refusedDuringCut: number
  /** Over the relays that succeeded: (relay, running node of TO) pairs delivered, of all such pairs. */
  readonly deliveredPairs: number
  readonly pairs: number
  /** Queries: answers that came back to the origin, of the pairs. */
  readonly responsesBack: number
  /** Over the successful relays: from the fire to the last delivery (events). Null without one. */
  readonly lastDeliveryMs: { readonly p50: number; readonly p99: number; readonly max: number } | null
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Fires relayed events and queries and follows each to its deliveries and outcome. */
export class RelayTraffic implements SimObserver {
  readonly records: Array<Mutable<RelayRecord>> = []
  private readonly byName = new Map<string, { record: Mutable<RelayRecord>; target: Set<number>; seen: Set<number>; last: number }>()
  private seq = 0

  constructor(
    private readonly sim: Simulation,
    private readonly dcs: SimDatacenters,
    /** Whether a datacenter was cut off the WAN at some time in [fromMs, toMs]. */
    private readonly wasCut: (dc: string, fromMs: number, toMs: number) => boolean,
    private readonly trace: TraceSink | undefined,
  ) {
    sim.observe(this)
  }

  /** Schedules the workload's arrivals: events and queries between two distinct datacenters drawn at random. */
  scheduleWorkload(w: RelayWorkloadOptions, durationMs: number): void {
    const rng = new SeededRng(deriveSeed(this.sim.seed, DATACENTERS_WORKLOAD_SEED_INDEX))
    const start = w.startMs ?? Math.min(30_000, durationMs)
    const end = w.endMs ?? Math.max(start, durationMs - 30_000)
    const names = this.dcs.datacenters.map((d) => d.name)
    for (const [kind, rate] of [['event', w.eventsPerSec ?? 0], ['query', w.queriesPerSec ?? 0]] as const) {
      if (rate <= 0 || names.length < 2) continue
      for (let t = start - Math.log(1 - rng.float()) * (1000 / rate); t < end; t -= Math.log(1 - rng.float()) * (1000 / rate)) {
        const from = names[rng.int(names.length)]
        const others = names.filter((n) => n !== from)
        const to = others[rng.int(others.length)]
        const pick = rng.float()
        this.sim.at(t, () => {
          const running = this.dcs.datacenters.find((d) => d.name === from)!.lan.filter((n) => n.status === 'running')
          const origin = running[Math.floor(pick * running.length)]
          if (origin !== undefined) this.fire(kind, origin, from, to, false)
        })
      }
    }
  }

  /** Schedules one relay of a timeline step, from FROM's last running node (a client when FROM has one). */
  scheduleStep(kind: 'event' | 'query', atMs: number, from: string, to: string): string {
    const name = this.nextName(kind)
    this.sim.at(atMs, () => {
      const origin = [...this.dcs.datacenters.find((d) => d.name === from)!.lan].reverse().find((n) => n.status === 'running')
      if (origin !== undefined) this.fire(kind, origin, from, to, true, name)
    })
    return name
  }

  private nextName(kind: 'event' | 'query'): string {
    return `${kind === 'event' ? EVENT_PREFIX : QUERY_PREFIX}${++this.seq}`
  }

  private fire(kind: 'event' | 'query', origin: SimNode, from: string, to: string, listed: boolean, name = this.nextName(kind)): void {
    const target = this.dcs.datacenters.find((d) => d.name === to)!.lan.filter((n) => n.status === 'running')
    const record: Mutable<RelayRecord> = {
      kind, name, atMs: this.sim.nowMs, from, to, origin: origin.name, listed, duringCut: false,
      ok: null, error: null, servedBy: null, delivered: 0, of: target.length, lastDeliveryMs: null, acks: null, responses: null,
    }
    this.records.push(record)
    this.byName.set(name, { record, target: new Set(target.map((n) => n.index)), seen: new Set(), last: -1 })
    this.line(`relay ${name} ${kind} ${from} > ${to} origin=${origin.name}`)
    const payload = new TextEncoder().encode(name)
    this.dcs.relay(origin, { kind, datacenter: to, name, payload }, (r: RelayOutcome) => {
      record.ok = r.ok
      record.duringCut = this.wasCut(from, record.atMs, this.sim.nowMs) || this.wasCut(to, record.atMs, this.sim.nowMs)
      record.error = r.ok ? null : r.error
      record.servedBy = r.ok ? r.servedBy : null
      if (kind === 'query' && r.ok) {
        record.acks = r.ackCount
        record.responses = r.responses.length + r.omitted
        record.lastDeliveryMs = this.sim.nowMs - record.atMs
      }
      this.line(`relay ${name} ${r.ok ? `ok servedBy=${r.servedBy}${kind === 'query' ? ` acks=${r.ackCount} responses=${r.responses.length} omitted=${r.omitted}` : ''}` : `refused error=${JSON.stringify(r.error)}`}`)
    })
  }

  onEvent(node: SimNode, e: NodeEvent): void {
    let name: string
    if (e.type === 'message' && e.message.via === 'serf') name = e.message.name
    else if (e.type === 'serf' && e.event.type === 'query' && e.event.query.name.startsWith(QUERY_PREFIX)) name = e.event.query.name
    else return
    const f = this.byName.get(name)
    if (f === undefined || !f.target.has(node.index) || f.seen.has(node.index)) return
    f.seen.add(node.index)
    f.record.delivered = f.seen.size
    if (f.record.kind === 'event') f.record.lastDeliveryMs = this.sim.nowMs - f.record.atMs
    if (e.type === 'serf' && e.event.type === 'query') {
      // The handler of a target node: answer with its name, as a service's handler would answer.
      const q = e.event.query
      const gen = node.generation
      this.sim.at(this.sim.nowMs, () => {
        if (node.status === 'running' && node.generation === gen) this.sim.invoke(node, (p, now, out) => (p as ComposedNode).respondToQuery(q, new TextEncoder().encode(node.name), now, out))
      })
    }
  }

  /** The relays of one kind, summed up. */
  summary(kind: 'event' | 'query'): RelaySummary {
    const all = this.records.filter((r) => r.kind === kind)
    const ok = all.filter((r) => r.ok === true)
    const latencies = ok.flatMap((r) => (r.lastDeliveryMs === null ? [] : [r.lastDeliveryMs])).sort((a, b) => a - b)
    const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
    return {
      fired: all.length,
      ok: ok.length,
      refused: all.filter((r) => r.ok === false).length,
      refusedDuringCut: all.filter((r) => r.ok === false && r.duringCut).length,
      deliveredPairs: ok.reduce((s, r) => s + r.delivered, 0),
      pairs: ok.reduce((s, r) => s + r.of, 0),
      responsesBack: ok.reduce((s, r) => s + (r.responses ?? 0), 0),
      lastDeliveryMs: latencies.length === 0 ? null : { p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] },
    }
  }

  private line(text: string): void {
    this.trace?.(`${formatTimeMs(this.sim.nowMs)} ${text}`)
  }
}
