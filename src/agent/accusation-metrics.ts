/**
 * Storm visibility in the agent's metrics: every accusation this node records, by accuser, and over the
 * last STORM_WINDOW_MS the rates of suspicions, refutations and dead declarations and each accused
 * member's distinct accusers (summarizeAccusations, the same summary the dashboard draws).
 *
 *   node 'event' ──suspected / suspicionConfirmed / failed / alive / refuted──▶ AccusationRecorder: ring (window)
 *                 └─▶ totals by kind and accuser ──(first scrape loads prom-client)──▶ grapevine_accusations_total{kind, accuser}
 *   scrape ──▶ summarizeAccusations(ring, now) ──▶ grapevine_accusations_per_second{kind=suspicion|refutation|death}
 *                                                 grapevine_member_accusers{member}, grapevine_members_accused_by_many
 */
import { performance } from 'node:perf_hooks'
import type { Registry } from 'prom-client'
import type { GrapevineNode } from '../runtime/node/start-node.js'
import type { AccusationRecord } from '../swim/accusation-window.js'
import { STORM_ACCUSERS, STORM_WINDOW_MS, summarizeAccusations } from '../swim/accusation-window.js'
import type { SwimEvent } from '../swim/events.js'

/** Records kept at most (a storm of thousands per window still summarizes its newest). */
const RING_MAX = 10_000

/** The accusation record of a SWIM event, if it is one; `self` names us for our own refutations. */
export function accusationOf(e: SwimEvent, self: string, at: number): AccusationRecord | undefined {
  switch (e.type) {
    case 'suspected':
    case 'failed':
      return { type: e.type, member: e.member.name, from: e.from, at }
    case 'suspicionConfirmed':
      return { type: 'suspected', member: e.member.name, from: e.from, at }
    case 'alive':
      return { type: 'alive', member: e.member.name, from: null, at }
    case 'refuted':
      return { type: 'refuted', member: self, from: null, at }
    default:
      return undefined
  }
}

type Labels = Record<string, string>

/** Listens to the node from the agent's start (prom-client loads only at the first scrape). */
export class AccusationRecorder {
  readonly ring: AccusationRecord[] = []
  /** Accusations by kind and accuser, keyed by the labels' JSON: the counter mirrors these. */
  readonly totals = new Map<string, number>()
  private readonly onEvent = (e: SwimEvent): void => {
    const at = this.now()
    const r = accusationOf(e, this.node.name, at)
    if (r === undefined) return
    if (r.from !== null && (r.type === 'suspected' || r.type === 'failed')) {
      const key = JSON.stringify({ kind: r.type === 'suspected' ? 'suspicion' : 'death', accuser: r.from })
      this.totals.set(key, (this.totals.get(key) ?? 0) + 1)
    }
    const ring = this.ring
    ring.push(r)
    let drop = 0
    while (drop < ring.length && (ring.length - drop > RING_MAX || at - ring[drop].at > STORM_WINDOW_MS)) drop++
    if (drop > 0) ring.splice(0, drop)
  }

  constructor(
    private readonly node: GrapevineNode,
    readonly now: () => number = () => performance.now(),
  ) {
    node.on('event', this.onEvent)
  }

  summary(): ReturnType<typeof summarizeAccusations> {
    return summarizeAccusations(this.ring, this.now())
  }

  close(): void {
    this.node.off('event', this.onEvent)
  }
}

/** Registers the series on `registry`; `mirrored` makes a counter that follows a growing value read at scrape. */
export function registerAccusationSeries(
  { Gauge }: typeof import('prom-client'),
  registry: Registry,
  recorder: AccusationRecorder,
  mirrored: (name: string, help: string, labelNames: string[], read: () => Iterable<[Labels, number]>) => void,
): void {
  mirrored(
    'grapevine_accusations_total',
    'Accusations this node recorded (its own and those gossiped to it; a confirmation is one more), by kind and accuser',
    ['kind', 'accuser'],
    () => [...recorder.totals].map(([key, n]): [Labels, number] => [JSON.parse(key) as Labels, n]),
  )
  new Gauge({
    name: 'grapevine_accusations_per_second',
    help: `Over the last ${STORM_WINDOW_MS / 1000} s as this node saw them: suspicions (confirmations included), refutations (any member's), dead declarations`,
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const s = recorder.summary()
      this.set({ kind: 'suspicion' }, s.perSecond.suspicions)
      this.set({ kind: 'refutation' }, s.perSecond.refutations)
      this.set({ kind: 'death' }, s.perSecond.deaths)
    },
  })
  new Gauge({
    name: 'grapevine_member_accusers',
    help: `Distinct accusers of each member accused within the last ${STORM_WINDOW_MS / 1000} s (an accusation after a refutation starts the count again)`,
    labelNames: ['member'],
    registers: [registry],
    collect() {
      this.reset()
      for (const a of recorder.summary().accused) this.set({ member: a.member }, a.accusers.length)
    },
  })
  new Gauge({
    name: 'grapevine_members_accused_by_many',
    help: `Members accused by ${STORM_ACCUSERS} or more distinct members within the last ${STORM_WINDOW_MS / 1000} s`,
    registers: [registry],
    collect() {
      this.set(recorder.summary().accused.filter((a) => a.many).length)
    },
  })
}
