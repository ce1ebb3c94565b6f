/**
 * Time series of a scenario run, sampled every `intervalMs` of virtual time (default one second):
 * how many members each live node sees alive (min, median and max over the live nodes, from the
 * ViewTracker's views), first-hand suspicions and dead declarations made during the interval, and the
 * bytes per second the cluster sent (datagrams and stream payloads). Columns of equal length keep the
 * JSON report compact; `marks` are the executed steps, for plots.
 *
 * Sampling is a read-only action in the simulation's queue: it changes no node's inputs, so a run
 * with and without samples is the same run.
 */
import type { NodeEvent } from '../../node/index.js'
import type { ViewTracker } from './checkers.js'
import type { SimNode } from './node.js'
import type { SimObserver, Simulation } from './simulation.js'

export interface TimeSeries {
  readonly intervalMs: number
  /** End of each interval, virtual seconds. */
  readonly t: number[]
  /** Live nodes (running or paused) at the sample: what every one of them should see alive. */
  readonly live: number[]
  /** Members a live node sees alive, itself included: the fewest, the median and the most over live nodes. */
  readonly aliveMin: number[]
  readonly aliveMedian: number[]
  readonly aliveMax: number[]
  /** First-hand suspicions (a node's own probe failed) during the interval. */
  readonly suspicions: number[]
  /** First-hand dead declarations (a node's own suspicion timer expired) during the interval. */
  readonly deaths: number[]
  /** Bytes sent by every node during the interval, per second. */
  readonly bytesPerSec: number[]
  /** Steps as they ran: virtual seconds and a short text. */
  readonly marks: Array<{ readonly t: number; readonly text: string }>
}

export class TimeSeriesSampler implements SimObserver {
  private suspicions = 0
  private deaths = 0
  private lastBytes = 0
  private readonly series: TimeSeries

  constructor(
    private readonly sim: Simulation,
    private readonly tracker: ViewTracker,
    readonly intervalMs = 1000,
  ) {
    this.series = { intervalMs, t: [], live: [], aliveMin: [], aliveMedian: [], aliveMax: [], suspicions: [], deaths: [], bytesPerSec: [], marks: [] }
  }

  /** Samples at every multiple of the interval from now on. */
  start(): void {
    this.lastBytes = this.bytesSent()
    const tick = (): void => {
      this.sample()
      this.sim.at(this.sim.nowMs + this.intervalMs, tick)
    }
    this.sim.at(this.sim.nowMs + this.intervalMs, tick)
  }

  /** Records a step for the plots' markers. */
  mark(text: string): void {
    this.series.marks.push({ t: this.sim.nowMs / 1000, text })
  }

  get result(): TimeSeries {
    return this.series
  }

  onEvent(node: SimNode, event: NodeEvent): void {
    if (event.type !== 'suspected' && event.type !== 'failed') return
    if (event.from !== node.name || (event.via !== 'probe' && event.via !== 'timeout')) return
    if (event.type === 'suspected') this.suspicions++
    else this.deaths++
  }

  private bytesSent(): number {
    let total = 0
    for (const n of this.sim.nodes) total += n.counters.bytesSent + n.counters.streamBytesSent
    return total
  }

  private sample(): void {
    const s = this.series
    const counts: number[] = []
    for (const n of this.sim.nodes) if (n.live) counts.push(this.tracker.aliveSeenBy(n))
    counts.sort((a, b) => a - b)
    const bytes = this.bytesSent()
    s.t.push(this.sim.nowMs / 1000)
    s.live.push(counts.length)
    s.aliveMin.push(counts[0] ?? 0)
    s.aliveMedian.push(counts.length === 0 ? 0 : counts[(counts.length - 1) >> 1])
    s.aliveMax.push(counts[counts.length - 1] ?? 0)
    s.suspicions.push(this.suspicions)
    s.deaths.push(this.deaths)
    s.bytesPerSec.push(Math.round(((bytes - this.lastBytes) * 1000) / this.intervalMs))
    this.suspicions = 0
    this.deaths = 0
    this.lastBytes = bytes
  }
}
