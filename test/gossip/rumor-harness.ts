/**
 * A pure, deterministic experiment harness for the broadcast engine: N RumorMongers in virtual time,
 * exchanging their encoded bytes over an in-memory network with seeded latency and loss. No SWIM and
 * no piggybacking: only gossip rounds, so results compare with Demers et al.'s model.
 *
 * Each node ticks every gossipIntervalMs at its own random phase; a message is lost with probability
 * `loss`, else delivered after a uniform one-way latency. The harness records every delivery to check
 * exactly-once and to measure residue, traffic and delay.
 */
import { SeededRng, deriveSeed } from '../../src/core/rng.js'
import { TimerQueue } from '../../src/core/timer-queue.js'
import type { RumorConfig } from '../../src/gossip/config.js'
import { RumorMonger, type RumorCounters, type RumorOutput } from '../../src/gossip/rumor.js'

export interface HarnessOptions {
  readonly nodes: number
  readonly seed: number
  readonly config?: Partial<RumorConfig>
  /** Probability that a message is lost. 0 by default. */
  readonly loss?: number
  /** One-way latency range in ms. [1, 10] by default. */
  readonly latencyMs?: readonly [number, number]
}

type Event = { kind: 'tick'; node: number } | { kind: 'message'; from: number; to: number; bytes: Uint8Array }

export interface RumorStats {
  /** Nodes that delivered it (origin included). */
  readonly reached: number
  /** Fraction of live nodes that never delivered it. */
  readonly residue: number
  /** Deliveries beyond the first at some node (must be 0). */
  readonly extraDeliveries: number
  /** Mean and max time from broadcast to delivery, over the nodes reached other than the origin. */
  readonly avgDelayMs: number
  readonly maxDelayMs: number
  readonly maxHops: number
}

export class RumorHarness {
  readonly engines: RumorMonger[]
  readonly names: string[]
  nowMs = 0
  /** Messages sent in total, and those lost. */
  messages = 0
  lost = 0
  private live: string[]
  private readonly down = new Set<number>()
  private readonly queue = new TimerQueue<Event>()
  private readonly net: SeededRng
  private readonly index = new Map<string, number>()
  /** rumor id → (node → delivery count), plus when it was broadcast and each first delivery time. */
  private readonly deliveries = new Map<string, { startMs: number; count: Map<number, number>; delays: number[]; maxHops: number }>()
  private readonly loss: number
  private readonly latency: readonly [number, number]
  readonly intervalMs: number

  constructor(options: HarnessOptions) {
    this.net = new SeededRng(deriveSeed(options.seed, 1_000_000))
    this.loss = options.loss ?? 0
    this.latency = options.latencyMs ?? [1, 10]
    this.names = Array.from({ length: options.nodes }, (_, i) => `node-${String(i).padStart(4, '0')}`)
    this.names.forEach((n, i) => this.index.set(n, i))
    this.live = this.names.slice()
    this.engines = this.names.map((self, i) => new RumorMonger({ self, rng: new SeededRng(deriveSeed(options.seed, i)), config: options.config }))
    this.intervalMs = this.engines[0].config.gossipIntervalMs
    for (let i = 0; i < options.nodes; i++) this.queue.push(this.net.float() * this.intervalMs, { kind: 'tick', node: i })
  }

  /** Node `i` broadcasts; returns the rumor id. */
  broadcast(i: number, name: string, payload: Uint8Array): string {
    const d = this.engines[i].broadcast(name, payload, this.nowMs)
    this.deliveries.set(d.id, { startMs: this.nowMs, count: new Map([[i, 1]]), delays: [], maxHops: 0 })
    return d.id
  }

  /** Node `i` stops: it neither ticks nor receives, and leaves every peer view. */
  crash(i: number): void {
    this.down.add(i)
    this.live = this.names.filter((_, j) => !this.down.has(j))
  }

  get liveCount(): number {
    return this.live.length
  }

  private absorb(from: number, out: RumorOutput): void {
    for (const d of out.delivered) {
      const rec = this.deliveries.get(d.id)
      if (rec === undefined) continue
      const c = rec.count.get(from) ?? 0
      rec.count.set(from, c + 1)
      if (c === 0) {
        rec.delays.push(this.nowMs - rec.startMs)
        rec.maxHops = Math.max(rec.maxHops, d.hops)
      }
    }
    for (const s of out.sends) {
      this.messages++
      if (this.net.float() < this.loss) {
        this.lost++
        continue
      }
      const to = this.index.get(s.to)
      if (to === undefined) continue
      const [lo, hi] = this.latency
      this.queue.push(this.nowMs + lo + this.net.float() * (hi - lo), { kind: 'message', from, to, bytes: s.bytes })
    }
  }

  /** Runs until virtual time `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      const next = this.queue.peek()
      if (next === undefined || next.dueAtMs > untilMs) break
      this.queue.pop()
      this.nowMs = next.dueAtMs
      const e = next.item
      if (e.kind === 'tick') {
        this.queue.push(this.nowMs + this.intervalMs, e)
        if (!this.down.has(e.node)) this.absorb(e.node, this.engines[e.node].tick(this.nowMs, this.live))
      } else if (!this.down.has(e.to)) {
        this.absorb(e.to, this.engines[e.to].handleMessage(this.names[e.from], e.bytes, this.nowMs))
      }
    }
    this.nowMs = untilMs
  }

  /** Whether no live node still spreads anything. */
  get quiet(): boolean {
    return this.engines.every((e, i) => this.down.has(i) || e.hotCount === 0)
  }

  /** Runs round by round until every node is quiet (plus one round for replies in flight) or `maxMs` passes. */
  runUntilQuiet(maxMs: number): boolean {
    const end = this.nowMs + maxMs
    while (this.nowMs < end) {
      this.runUntil(Math.min(end, this.nowMs + this.intervalMs))
      if (this.quiet) {
        this.runUntil(this.nowMs + this.latency[1] * 2 + 1)
        return true
      }
    }
    return false
  }

  stats(id: string): RumorStats {
    const rec = this.deliveries.get(id)
    if (rec === undefined) throw new Error(`unknown rumor ${id}`)
    let reached = 0
    let extra = 0
    for (const [node, c] of rec.count) {
      if (this.down.has(node)) continue
      reached++
      extra += c - 1
    }
    const delays = rec.delays
    return {
      reached,
      residue: (this.live.length - reached) / this.live.length,
      extraDeliveries: extra,
      avgDelayMs: delays.length === 0 ? 0 : delays.reduce((a, b) => a + b, 0) / delays.length,
      maxDelayMs: delays.length === 0 ? 0 : Math.max(...delays),
      maxHops: rec.maxHops,
    }
  }

  /** The sum of every engine's numeric counters. */
  totals(): Omit<RumorCounters, 'decodeErrors'> & { decodeErrors: number } {
    const sum: Record<string, number> = {}
    for (const e of this.engines) {
      for (const [k, v] of Object.entries(e.counters)) {
        const n = typeof v === 'number' ? v : Object.values(v as Record<string, number>).reduce((a, b) => a + b, 0)
        sum[k] = (sum[k] ?? 0) + n
      }
    }
    return sum as unknown as Omit<RumorCounters, 'decodeErrors'> & { decodeErrors: number }
  }
}
