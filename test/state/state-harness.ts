/**
 * A pure multi-node harness for the cluster state engine: N StateReconcilers exchanging encoded bytes
 * through an in-memory queue with seeded loss, delay, duplication and partitions, rounds driven by
 * virtual time (a heap of due events, no real timers). After every application the reconciliation
 * invariant is checked for each node the message changed, and every packet is checked against its budget.
 */
import { createHash } from 'node:crypto'
import { deriveSeed, SeededRng } from '../../src/core/rng.js'
import type { StateConfig } from '../../src/state/config.js'
import { assertReplica } from '../../src/state/invariant.js'
import { encodedSize, encodeStateMessage } from '../../src/state/messages.js'
import { StateReconciler } from '../../src/state/reconcile.js'

export interface NetworkOptions {
  /** Probability each datagram is dropped. */
  readonly packetLossProbability?: number
  /** Probability each datagram is delivered twice. */
  readonly packetDuplicateProbability?: number
  /** One-way delay, uniform in [min, max] ms. */
  readonly oneWayDelayMsMin?: number
  readonly oneWayDelayMsMax?: number
}

export interface HarnessOptions {
  readonly seed: number
  readonly nodes: number
  readonly config?: Partial<StateConfig>
  readonly network?: NetworkOptions
  /** Check the invariant after every application (default true). */
  readonly checkInvariant?: boolean
}

type Item =
  | { readonly at: number; readonly seq: number; readonly type: 'round'; readonly node: string }
  | { readonly at: number; readonly seq: number; readonly type: 'packet'; readonly from: string; readonly to: string; readonly bytes: Uint8Array }

export interface HarnessStats {
  packets: number
  bytes: number
  dropped: number
  maxPacketBytes: number
  applications: number
  /** Node deltas applied as same-generation resets (past a GC watermark). */
  resets: number
  invariantChecks: number
}

export class StateHarness {
  nowMs = 0
  readonly names: string[]
  readonly engines = new Map<string, StateReconciler>()
  readonly stats: HarnessStats = { packets: 0, bytes: 0, dropped: 0, maxPacketBytes: 0, applications: 0, resets: 0, invariantChecks: 0 }
  readonly rng: SeededRng
  private readonly heap: Item[] = []
  private seq = 0
  private groupOf: Map<string, number> | undefined
  private readonly down = new Set<string>()
  private readonly config: Partial<StateConfig>
  private readonly network: Required<NetworkOptions>
  private readonly check: boolean
  private readonly interval: number
  private readonly fanout: number
  private readonly seed: number

  constructor(options: HarnessOptions) {
    this.seed = options.seed
    this.rng = new SeededRng(options.seed)
    this.config = options.config ?? {}
    this.check = options.checkInvariant ?? true
    this.network = {
      packetLossProbability: 0,
      packetDuplicateProbability: 0,
      oneWayDelayMsMin: 1,
      oneWayDelayMsMax: 10,
      ...options.network,
    }
    this.names = Array.from({ length: options.nodes }, (_, i) => `node-${String(i).padStart(3, '0')}`)
    this.names.forEach((name, i) => {
      const engine = this.makeEngine(name, 1, i)
      this.engines.set(name, engine)
      // Everyone knows everyone as a peer from the start (membership is SWIM's job); state is learned.
      this.push({ at: this.rng.int(engine.config.roundIntervalMs), seq: 0, type: 'round', node: name })
    })
    const first = this.engines.get(this.names[0]) as StateReconciler
    this.interval = first.config.roundIntervalMs
    this.fanout = first.config.fanout
  }

  private makeEngine(name: string, generation: number, salt: number): StateReconciler {
    return new StateReconciler({ self: name, generation, rng: new SeededRng(deriveSeed(this.seed, salt)), config: this.config })
  }

  engine(name: string): StateReconciler {
    return this.engines.get(name) as StateReconciler
  }

  /** Replaces a node by a fresh engine with a new generation and empty state (a restart). */
  restart(name: string, generation: number): StateReconciler {
    const engine = this.makeEngine(name, generation, 1_000_000 + generation)
    this.engines.set(name, engine)
    return engine
  }

  /** Join-time push-pull between `name` and `via`: both full states, encoded, over a "stream". */
  pushPull(name: string, via: string): void {
    const a = this.engine(name)
    const b = this.engine(via)
    const fromA = encodeStateMessage(a.fullState())
    const fromB = encodeStateMessage(b.fullState())
    this.afterApply(via, b.handleBytes(name, fromA, this.nowMs, true))
    this.afterApply(name, a.handleBytes(via, fromB, this.nowMs, true))
  }

  /** Splits the cluster: packets between different groups are dropped. Unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groupOf = new Map()
    groups.forEach((g, i) => g.forEach((n) => this.groupOf?.set(n, i)))
  }

  heal(): void {
    this.groupOf = undefined
  }

  /** A stopped node neither starts rounds nor receives packets. */
  stop(name: string): void {
    this.down.add(name)
  }

  resume(name: string): void {
    this.down.delete(name)
  }

  private reachable(from: string, to: string): boolean {
    if (this.down.has(to)) return false
    if (this.groupOf === undefined) return true
    return (this.groupOf.get(from) ?? -1) === (this.groupOf.get(to) ?? -1)
  }

  /** Sends `bytes` through the lossy network. */
  private send(from: string, to: string, bytes: Uint8Array): void {
    this.stats.packets++
    this.stats.bytes += bytes.length
    if (bytes.length > this.stats.maxPacketBytes) this.stats.maxPacketBytes = bytes.length
    const budget = this.engine(from).config.maxDeltaBytes
    if (bytes.length > budget) throw new Error(`${from} sent ${bytes.length} bytes to ${to}, above the budget ${budget}`)
    const copies = this.rng.float() < this.network.packetDuplicateProbability ? 2 : 1
    for (let c = 0; c < copies; c++) {
      if (this.rng.float() < this.network.packetLossProbability) {
        this.stats.dropped++
        continue
      }
      const { oneWayDelayMsMin: lo, oneWayDelayMsMax: hi } = this.network
      this.push({ at: this.nowMs + lo + this.rng.int(hi - lo + 1), seq: 0, type: 'packet', from, to, bytes })
    }
  }

  /** Runs virtual time forward by `ms`, processing every due event. */
  runFor(ms: number): void {
    const until = this.nowMs + ms
    while (this.heap.length > 0 && this.heap[0].at <= until) {
      const item = this.pop()
      this.nowMs = item.at
      if (item.type === 'round') this.round(item.node)
      else this.deliver(item.from, item.to, item.bytes)
    }
    this.nowMs = until
  }

  /** Runs whole rounds until every node holds every owner's latest state; returns the virtual ms taken. */
  runUntilConverged(maxMs: number): number {
    const start = this.nowMs
    while (this.nowMs - start < maxMs) {
      if (this.converged()) return this.nowMs - start
      this.runFor(this.interval)
    }
    if (this.converged()) return this.nowMs - start
    throw new Error(`no convergence within ${maxMs} ms (seed ${this.seed}); replay with the same seed`)
  }

  private round(name: string): void {
    this.push({ at: this.nowMs + this.interval, seq: 0, type: 'round', node: name })
    if (this.down.has(name)) return
    const engine = this.engine(name)
    engine.tick(this.nowMs)
    const n = this.names.length
    const self = this.names.indexOf(name)
    const picked = new Set<number>()
    const want = Math.min(this.fanout, n - 1)
    while (picked.size < want) {
      const i = this.rng.int(n)
      if (i !== self) picked.add(i)
    }
    for (const i of picked) {
      const peer = this.names[i]
      const syn = engine.startRound(peer, this.nowMs)
      const bytes = encodeStateMessage(syn)
      if (bytes.length !== encodedSize(syn)) throw new Error(`encodedSize ${encodedSize(syn)} != ${bytes.length}`)
      this.send(name, peer, bytes)
    }
  }

  private deliver(from: string, to: string, bytes: Uint8Array): void {
    if (!this.reachable(from, to)) {
      this.stats.dropped++
      return
    }
    const result = this.engine(to).handleBytes(from, bytes, this.nowMs)
    this.afterApply(to, result)
    if (result.reply !== undefined) this.send(to, from, result.reply)
  }

  private afterApply(at: string, result: ReturnType<StateReconciler['handleBytes']>): void {
    if (result.error !== undefined) throw new Error(`${at} dropped a message: ${result.error.message}`)
    this.stats.applications++
    this.stats.resets += result.applied?.resets ?? 0
    if (!this.check || result.applied === undefined) return
    const replica = this.engine(at)
    for (const node of result.applied.changed) this.assertCopy(replica, node)
  }

  private assertCopy(replica: StateReconciler, node: string): void {
    const owner = this.engines.get(node)
    const copy = replica.state.node(node)
    if (owner === undefined || copy === undefined) return
    this.stats.invariantChecks++
    assertReplica(replica.self, node, copy, owner.state.node(node) as NonNullable<typeof copy>)
  }

  /** Checks the invariant for every copy at every node. */
  assertAllInvariants(): void {
    for (const engine of this.engines.values()) for (const name of engine.state.nodeNames()) this.assertCopy(engine, name)
  }

  /** Whether every running node holds every owner's generation and maxVersion (hence its whole map). */
  converged(): boolean {
    for (const [name, engine] of this.engines) {
      if (this.down.has(name)) continue
      for (const [owner, o] of this.engines) {
        const mine = engine.state.node(owner)
        const theirs = o.state.node(owner)
        if (mine === undefined || theirs === undefined) return false
        if (mine.generation !== theirs.generation || mine.maxVersion !== theirs.maxVersion) return false
      }
    }
    return true
  }

  /** SHA-256 of everything `name` can read: every node's generation and live entries, sorted. */
  fingerprint(name: string): string {
    const state = this.engine(name).state
    const h = createHash('sha256')
    for (const node of state.nodeNames()) {
      h.update(`${node}\0${state.node(node)?.generation}\0`)
      for (const [k, v] of state.entries(node)) h.update(`${k}\0${v}\0`)
      h.update('\n')
    }
    return h.digest('hex')
  }

  private push(item: Item): void {
    const h = this.heap
    const it = { ...item, seq: this.seq++ } as Item
    h.push(it)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i], h[p])) break
      ;[h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  private pop(): Item {
    const h = this.heap
    const top = h[0]
    const last = h.pop() as Item
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l], h[m])) m = l
        if (r < h.length && before(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    return top
  }
}

function before(a: Item, b: Item): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
