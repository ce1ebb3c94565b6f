/**
 * The two replicated-state clusters `bench/state.ts` compares, behind one small interface, both pure and
 * in virtual time with the same round schedule (every node every `roundIntervalMs`, a random phase), the
 * same one-way delay (uniform 1–10 ms), the same loss and the same seeds:
 *
 * - `GrapevineCluster`: N StateReconcilers in test/state/state-harness.ts (real encoded Syn/Ack/Ack2 bytes,
 *   digest windows, budgeted deltas; the invariant checks are off for speed, the tests run them).
 * - `NaiveCluster`: full-state exchange. Every round each node pushes its whole state (every node's map it
 *   holds) to `fanout` random peers, which keep, per owner, the copy with the higher version. No digests,
 *   no budget, push only. Since only the owner writes and a copy at version v is the owner's map at v, a
 *   replica is just a vector of versions, and a message's size is computed, not encoded: it is the exact
 *   size Grapevine's codec gives a `full` message of those node deltas (heartbeat counted as a 3-byte
 *   uint), kept incrementally per node. A message may be far larger than a packet; it is counted whole.
 */
import { SeededRng } from '../src/core/rng.js'
import { TimerQueue } from '../src/core/timer-queue.js'
import { arrayHeaderSize, deltaHeaderSize, entrySize } from '../src/state/messages.js'
import { StateHarness } from '../test/state/state-harness.js'

export interface ReplicatedCluster {
  readonly label: string
  readonly nodes: number
  readonly nowMs: number
  /** Every node learns every node's current state (the join-time push-pull; its bytes are not counted). */
  bootstrap(): void
  /** The owner `node` sets `key`; returns the owner's new version. */
  write(node: number, key: string, value: string): number
  runFor(ms: number): void
  /** Every replica holds every owner's latest version. */
  converged(): boolean
  /** The smallest version of `owner`'s map held by any other node (−1: some node has never heard of it). */
  minReplicaVersion(owner: number): number
  readonly bytes: number
  readonly messages: number
  /** Largest single message, and how many exceeded the 1,300-byte packet budget. */
  readonly maxMessageBytes: number
  readonly oversizeMessages: number
}

export interface ClusterOptions {
  readonly seed: number
  readonly nodes: number
  readonly fanout?: number
  readonly packetLossProbability?: number
}

export const PACKET_BUDGET_BYTES = 1300

export function nodeName(i: number): string {
  return `node-${String(i).padStart(3, '0')}`
}

export class GrapevineCluster implements ReplicatedCluster {
  readonly label = 'grapevine'
  readonly nodes: number
  private readonly h: StateHarness

  constructor(options: ClusterOptions) {
    this.nodes = options.nodes
    this.h = new StateHarness({
      seed: options.seed,
      nodes: options.nodes,
      checkInvariant: false,
      config: options.fanout === undefined ? {} : { fanout: options.fanout },
      network: { packetLossProbability: options.packetLossProbability ?? 0, oneWayDelayMsMin: 1, oneWayDelayMsMax: 10 },
    })
  }

  get nowMs(): number {
    return this.h.nowMs
  }
  get bytes(): number {
    return this.h.stats.bytes
  }
  get messages(): number {
    return this.h.stats.packets
  }
  get maxMessageBytes(): number {
    return this.h.stats.maxPacketBytes
  }
  get oversizeMessages(): number {
    return 0 // the harness throws on any packet above the budget
  }

  bootstrap(): void {
    // Everyone joins through node-000 (push-pull both ways), then pulls once more to get the rest.
    for (let pass = 0; pass < 2; pass++) for (const name of this.h.names.slice(1)) this.h.pushPull(name, this.h.names[0])
  }

  write(node: number, key: string, value: string): number {
    return this.h.engine(this.h.names[node]).state.set(key, value)
  }

  runFor(ms: number): void {
    this.h.runFor(ms)
  }

  converged(): boolean {
    return this.h.converged()
  }

  minReplicaVersion(owner: number): number {
    const name = this.h.names[owner]
    let min = Infinity
    for (const r of this.h.names) {
      if (r === name) continue
      const copy = this.h.engine(r).state.node(name)
      const v = copy === undefined ? -1 : copy.maxVersion
      if (v < min) min = v
    }
    return min
  }
}

type NaiveItem = { readonly type: 'round'; readonly node: number } | { readonly type: 'message'; readonly to: number; readonly versions: Int32Array }

/** Bytes a heartbeat takes in a node delta header (a uint in [256, 65535]). */
const NAIVE_HEARTBEAT = 1000

export class NaiveCluster implements ReplicatedCluster {
  readonly label = 'naive'
  readonly nodes: number
  nowMs = 0
  bytes = 0
  messages = 0
  maxMessageBytes = 0
  oversizeMessages = 0
  private readonly rng: SeededRng
  private readonly fanout: number
  private readonly loss: number
  private readonly interval = 1000
  /** versions[r][o]: the version of o's map replica r holds; −1: r has not heard of o. */
  private readonly versions: Int32Array[]
  /** sizeAt[o][v]: bytes of o's whole map at version v as one node delta. */
  private readonly sizeAt: number[][]
  /** Per owner, the current entry size of each key. */
  private readonly entryBytes: Array<Map<string, number>>
  private readonly entriesTotal: number[]
  /** Per replica: the sum of sizeAt over the copies it holds, and how many it holds. */
  private readonly held: number[]
  private readonly known: number[]
  private readonly queue = new TimerQueue<NaiveItem>()

  constructor(options: ClusterOptions) {
    const n = options.nodes
    this.nodes = n
    this.rng = new SeededRng(options.seed)
    this.fanout = Math.min(options.fanout ?? 3, n - 1)
    this.loss = options.packetLossProbability ?? 0
    this.versions = Array.from({ length: n }, (_, r) => {
      const v = new Int32Array(n).fill(-1)
      v[r] = 0
      return v
    })
    this.entryBytes = Array.from({ length: n }, () => new Map())
    this.entriesTotal = new Array<number>(n).fill(0)
    this.sizeAt = Array.from({ length: n }, (_, o) => [this.ownerSize(o, 0)])
    this.held = Array.from({ length: n }, (_, r) => this.sizeAt[r][0])
    this.known = new Array<number>(n).fill(1)
    for (let i = 0; i < n; i++) this.queue.push(this.rng.int(this.interval), { type: 'round', node: i })
  }

  private ownerSize(o: number, version: number): number {
    const header = deltaHeaderSize({ node: nodeName(o), generation: 1, heartbeat: NAIVE_HEARTBEAT, lastGcVersion: 0, fromVersion: 0, toVersion: version })
    return header + arrayHeaderSize(this.entryBytes[o].size) + this.entriesTotal[o]
  }

  bootstrap(): void {
    const latest = Int32Array.from({ length: this.nodes }, (_, o) => this.versions[o][o])
    for (let r = 0; r < this.nodes; r++) this.merge(r, latest)
  }

  write(node: number, key: string, value: string): number {
    const sizes = this.entryBytes[node]
    const version = this.versions[node][node] + 1
    const size = entrySize({ key, version, value })
    this.entriesTotal[node] += size - (sizes.get(key) ?? 0)
    sizes.set(key, size)
    this.sizeAt[node].push(this.ownerSize(node, version))
    this.held[node] += this.sizeAt[node][version] - this.sizeAt[node][version - 1]
    this.versions[node][node] = version
    return version
  }

  runFor(ms: number): void {
    const until = this.nowMs + ms
    for (let next = this.queue.peek(); next !== undefined && next.dueAtMs <= until; next = this.queue.peek()) {
      this.queue.pop()
      this.nowMs = next.dueAtMs
      const item = next.item
      if (item.type === 'round') this.round(item.node)
      else this.merge(item.to, item.versions)
    }
    this.nowMs = until
  }

  private round(node: number): void {
    this.queue.push(this.nowMs + this.interval, { type: 'round', node })
    const n = this.nodes
    const picked = new Set<number>()
    while (picked.size < this.fanout) {
      const i = this.rng.int(n)
      if (i !== node) picked.add(i)
    }
    // A full-state message: kind byte, the outer array, the deltas array, every held copy.
    const size = 2 + arrayHeaderSize(this.known[node]) + this.held[node]
    for (const peer of picked) {
      this.messages++
      this.bytes += size
      if (size > this.maxMessageBytes) this.maxMessageBytes = size
      if (size > PACKET_BUDGET_BYTES) this.oversizeMessages++
      if (this.rng.float() < this.loss) continue
      this.queue.push(this.nowMs + 1 + this.rng.int(10), { type: 'message', to: peer, versions: this.versions[node].slice() })
    }
  }

  private merge(to: number, incoming: Int32Array): void {
    const mine = this.versions[to]
    for (let o = 0; o < incoming.length; o++) {
      const v = incoming[o]
      const m = mine[o]
      if (v <= m) continue
      if (m < 0) this.known[to]++
      this.held[to] += this.sizeAt[o][v] - (m < 0 ? 0 : this.sizeAt[o][m])
      mine[o] = v
    }
  }

  converged(): boolean {
    const n = this.nodes
    for (let o = 0; o < n; o++) {
      const latest = this.versions[o][o]
      for (let r = 0; r < n; r++) if (this.versions[r][o] !== latest) return false
    }
    return true
  }

  minReplicaVersion(owner: number): number {
    let min = Infinity
    for (let r = 0; r < this.nodes; r++) if (r !== owner && this.versions[r][owner] < min) min = this.versions[r][owner]
    return min
  }
}
