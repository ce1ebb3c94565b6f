/**
 * The simulator's virtual network: it decides the fate of every datagram and of every stream (TCP)
 * segment, and knows nothing about SWIM. Nodes are small non-negative integers (the simulation's
 * node indexes); the network never sees bytes.
 *
 *   sender ── route(from, to) ──▶ blocked?  (a partition rule covers from → to)  → dropped
 *                                 lost?     (packetLossProbability)              → dropped
 *                                 copies:   1, or 2 with packetDuplicationProbability
 *                                 per copy: one-way delay (uniform or exponential between the
 *                                           bounds) + extra delay when reordered
 *
 * A stream segment (`routeSegment`, for the TCP model of streams.ts) meets the same link: blocked,
 * lost (with streamSegmentLossProbability where set, else packetLossProbability: `--loss` applies to
 * datagrams and segments alike), delayed and reordered the same way. Duplication is not drawn for
 * segments: TCP discards a duplicate, so it would change nothing.
 *
 * Knob names follow TigerBeetle's packet simulator (`packet_simulator.zig`): one-way delay bounds,
 * loss, duplication ("replay" there) and reordering probabilities. Defaults apply to every link;
 * `shape(from, to, knobs)` overrides some of them on every link from a set of nodes to a set (a rack's
 * loss, the WAN latency between two datacenters; later rules win, `unshape(id)` lifts one), and
 * `setLink` overrides any of them for one direction of one link, over everything else.
 *
 * Partitions are rules "block every link from this set to that set", so they are asymmetric by
 * construction: `block(A, B)` stops A → B and leaves B → A open. `partition(A, B)` blocks both
 * directions (or one with `oneWay`), `split(groups)` isolates groups from each other, `unblock(id)`
 * lifts one rule and `heal()` lifts all. Rules are checked when a packet is sent; a packet already in
 * flight when a partition starts still arrives (as on a real wire, where the packet left the host).
 *
 * Determinism: all randomness comes from one SeededRng given at construction (the simulation derives
 * it from the run seed), drawn in a fixed order per routed packet. Delays are rounded to whole
 * microseconds so traces print cleanly and the same seed gives the same floats everywhere.
 */
import { SeededRng } from '../../core/rng.js'

/** The knobs of one link direction. All delays in milliseconds, probabilities in [0, 1]. */
export interface LinkOptions {
  /** Shortest one-way delay. */
  readonly oneWayDelayMsMin: number
  /** Longest one-way delay (before any reordering delay). */
  readonly oneWayDelayMsMax: number
  /**
   * `uniform` (default): delay uniform in [min, max]. `exponential`: min + an exponential tail whose
   * mean is `oneWayDelayMsMean` (default the midpoint), cut at max: many fast packets, a few slow ones,
   * as TigerBeetle models it.
   */
  readonly oneWayDelayDistribution: 'uniform' | 'exponential'
  /** Mean delay for the exponential distribution; ignored for uniform. Must lie in [min, max]. */
  readonly oneWayDelayMsMean?: number
  /** Probability that a datagram vanishes. */
  readonly packetLossProbability: number
  /**
   * Probability that a stream (TCP) segment vanishes. Unset: the link's packetLossProbability. Like
   * every knob it is merged layer by layer (defaults, shape rules, the link's own override), so a
   * value set on the defaults stays in force on a link whose rule changes only packetLossProbability.
   */
  readonly streamSegmentLossProbability?: number
  /** Probability that a datagram arrives twice (the copy has its own delay). */
  readonly packetDuplicationProbability: number
  /** Probability that a datagram is held back by an extra delay, so later ones overtake it. */
  readonly packetReorderProbability: number
  /** The extra delay of a reordered datagram is uniform in (0, packetReorderDelayMsMax]. */
  readonly packetReorderDelayMsMax: number
}

export type NetworkOptions = LinkOptions

/**
 * What `new Network` and `Simulation` accept: any subset of the knobs, plus shorthands from the
 * architecture notes, `latencyMs: [min, max]`, `loss` (same as packetLossProbability) and `streamLoss`
 * (same as streamSegmentLossProbability).
 */
export type NetworkOptionsInput = Partial<NetworkOptions> & {
  readonly latencyMs?: readonly [number, number]
  readonly loss?: number
  readonly streamLoss?: number
}

export const DEFAULT_NETWORK: NetworkOptions = {
  oneWayDelayMsMin: 1,
  oneWayDelayMsMax: 10,
  oneWayDelayDistribution: 'uniform',
  packetLossProbability: 0,
  packetDuplicationProbability: 0,
  packetReorderProbability: 0,
  packetReorderDelayMsMax: 20,
}

/** Thrown for bad network knobs; nothing changed. */
export class NetworkOptionsError extends Error {
  override readonly name = 'NetworkOptionsError'
}

/** Merges `input` over `base` (default: DEFAULT_NETWORK) and validates; throws NetworkOptionsError. */
export function resolveNetworkOptions(input: NetworkOptionsInput = {}, base: NetworkOptions = DEFAULT_NETWORK): NetworkOptions {
  const merged: { -readonly [K in keyof NetworkOptions]: NetworkOptions[K] } = { ...base }
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || key === 'latencyMs' || key === 'loss' || key === 'streamLoss') continue
    ;(merged as Record<string, unknown>)[key] = value
  }
  if (input.latencyMs !== undefined) {
    merged.oneWayDelayMsMin = input.latencyMs[0]
    merged.oneWayDelayMsMax = input.latencyMs[1]
  }
  if (input.loss !== undefined) merged.packetLossProbability = input.loss
  if (input.streamLoss !== undefined) merged.streamSegmentLossProbability = input.streamLoss
  checkLink(merged, 'network')
  return merged
}

function checkLink(o: Partial<LinkOptions>, where: string): void {
  const problems: string[] = []
  const nonNegative = (k: keyof LinkOptions): void => {
    const v = o[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) problems.push(`${k} must be a finite number ≥ 0 (got ${String(v)})`)
  }
  const probability = (k: keyof LinkOptions): void => {
    const v = o[k]
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) problems.push(`${k} must be a probability in [0, 1] (got ${String(v)})`)
  }
  nonNegative('oneWayDelayMsMin')
  nonNegative('oneWayDelayMsMax')
  nonNegative('packetReorderDelayMsMax')
  probability('packetLossProbability')
  probability('streamSegmentLossProbability')
  probability('packetDuplicationProbability')
  probability('packetReorderProbability')
  if (o.oneWayDelayMsMin !== undefined && o.oneWayDelayMsMax !== undefined && o.oneWayDelayMsMin > o.oneWayDelayMsMax) {
    problems.push(`oneWayDelayMsMin (${o.oneWayDelayMsMin}) must not exceed oneWayDelayMsMax (${o.oneWayDelayMsMax})`)
  }
  const dist = o.oneWayDelayDistribution
  if (dist !== undefined && dist !== 'uniform' && dist !== 'exponential') problems.push(`oneWayDelayDistribution must be 'uniform' or 'exponential' (got ${String(dist)})`)
  const mean = o.oneWayDelayMsMean
  if (mean !== undefined && (typeof mean !== 'number' || !Number.isFinite(mean) || (o.oneWayDelayMsMin !== undefined && mean < o.oneWayDelayMsMin) || (o.oneWayDelayMsMax !== undefined && mean > o.oneWayDelayMsMax))) {
    problems.push(`oneWayDelayMsMean must lie between oneWayDelayMsMin and oneWayDelayMsMax (got ${String(mean)})`)
  }
  if (problems.length > 0) throw new NetworkOptionsError(`invalid ${where} options: ${problems.join('; ')}`)
}

/** Outcome flags of the last `route` call (bit set). */
export const Fate = {
  delivered: 1,
  blocked: 2,
  lost: 4,
  duplicated: 8,
  reordered: 16,
} as const

/**
 * Counters of everything the network decided, and of the stream model's retransmissions and
 * timeouts (streams.ts counts those here, so that a report's network section has them all).
 */
export interface NetworkStats {
  packetsRouted: number
  packetsBlocked: number
  packetsLost: number
  packetsDuplicated: number
  packetsReordered: number
  /** Stream segments sent (SYN, SYN-ACK, RST, data; retransmissions included). */
  streamHops: number
  /** Segments lost to the loss probability. */
  streamSegmentsLost: number
  /** Segments a partition rule stopped. */
  streamSegmentsBlocked: number
  /** Segments sent again after a retransmission timeout (SYN, SYN-ACK, data). */
  streamRetransmits: number
  /** Exchanges whose caller's deadline passed before they ended. */
  streamsTimedOut: number
}

interface BlockRule {
  readonly id: number
  readonly from: Uint8Array
  readonly to: Uint8Array
}

/** Knobs for every link from a node of `from` to a node of `to`; null stands for every node, present and future. */
interface ShapeRule {
  readonly id: number
  readonly from: Uint8Array | null
  readonly to: Uint8Array | null
  overrides: Partial<LinkOptions>
}

const inMask = (m: Uint8Array | null, id: number): boolean => m === null || (id < m.length && m[id] === 1)

/** Knobs that decide whether a datagram arrives once, as sent: the settle phase turns them off. */
const NOISE: Partial<LinkOptions> = { packetLossProbability: 0, streamSegmentLossProbability: 0, packetDuplicationProbability: 0, packetReorderProbability: 0 }

/** Node ids must stay below this (link keys are from × LINK_STRIDE + to). */
export const MAX_NODE_ID = 1 << 20
const LINK_STRIDE = MAX_NODE_ID

export class Network {
  private opts: NetworkOptions
  private readonly rng: SeededRng
  private rules: BlockRule[] = []
  private nextRuleId = 1
  private readonly links = new Map<number, Partial<LinkOptions>>()
  private shapes: ShapeRule[] = []
  /** Arrival delays of the copies decided by the last `route` call (valid for `copies` entries). */
  readonly delays: [number, number] = [0, 0]
  /** Fate bits of the last `route` or `routeSegment` call. */
  lastFate = 0
  readonly stats: NetworkStats = {
    packetsRouted: 0,
    packetsBlocked: 0,
    packetsLost: 0,
    packetsDuplicated: 0,
    packetsReordered: 0,
    streamHops: 0,
    streamSegmentsLost: 0,
    streamSegmentsBlocked: 0,
    streamRetransmits: 0,
    streamsTimedOut: 0,
  }

  constructor(seed: number, options: NetworkOptionsInput = {}) {
    this.opts = resolveNetworkOptions(options)
    this.rng = new SeededRng(seed)
  }

  /** The default knobs of every link. */
  get options(): NetworkOptions {
    return this.opts
  }

  /** Changes default knobs from now on (e.g. a scenario step raising loss). Validated; throws NetworkOptionsError. */
  configure(changes: NetworkOptionsInput): void {
    this.opts = resolveNetworkOptions(changes, this.opts)
  }

  /** Overrides knobs of the one direction from → to; `null` removes the override. */
  setLink(from: number, to: number, overrides: Partial<LinkOptions> | null): void {
    checkId(from)
    checkId(to)
    const key = from * LINK_STRIDE + to
    if (overrides === null) {
      this.links.delete(key)
      return
    }
    checkLink({ ...this.opts, ...overrides }, `link ${from}→${to}`)
    this.links.set(key, { ...overrides })
  }

  /** Overrides both directions between a and b. */
  setLinkBothWays(a: number, b: number, overrides: Partial<LinkOptions> | null): void {
    this.setLink(a, b, overrides)
    this.setLink(b, a, overrides)
  }

  /** The knobs in force on from → to: defaults, then matching shape rules in order, then the link's own override. */
  linkOptions(from: number, to: number): NetworkOptions {
    let merged: NetworkOptions = this.opts
    for (const r of this.shapes) if (inMask(r.from, from) && inMask(r.to, to)) merged = { ...merged, ...r.overrides }
    const o = this.links.size === 0 ? undefined : this.links.get(from * LINK_STRIDE + to)
    return o === undefined ? merged : { ...merged, ...o }
  }

  /**
   * Overrides knobs on every link from a node of `from` to a node of `to` (one direction; `null`: every
   * node, including nodes added later), over the defaults and earlier rules. Validated against the
   * defaults; throws NetworkOptionsError. Returns the rule id for `unshape`.
   */
  shape(from: Iterable<number> | null, to: Iterable<number> | null, overrides: Partial<LinkOptions>): number {
    checkLink({ ...this.opts, ...overrides }, 'link rule')
    const rule: ShapeRule = { id: this.nextRuleId++, from: from === null ? null : mask(from), to: to === null ? null : mask(to), overrides: { ...overrides } }
    this.shapes.push(rule)
    return rule.id
  }

  /** Lifts the given shape rules (unknown ids are ignored). */
  unshape(ids: number | readonly number[]): void {
    const drop = new Set(typeof ids === 'number' ? [ids] : ids)
    this.shapes = this.shapes.filter((r) => !drop.has(r.id))
  }

  /** Turns loss, duplication and reordering off everywhere (defaults, rules, links); delays stay. */
  calm(): void {
    this.opts = { ...this.opts, ...NOISE }
    for (const r of this.shapes) r.overrides = { ...r.overrides, ...NOISE }
    for (const [key, o] of this.links) this.links.set(key, { ...o, ...NOISE })
  }

  /** Blocks every link from a node of `from` to a node of `to` (one direction). Returns the rule id for `unblock`. */
  block(from: Iterable<number>, to: Iterable<number>): number {
    const rule: BlockRule = { id: this.nextRuleId++, from: mask(from), to: mask(to) }
    this.rules.push(rule)
    return rule.id
  }

  /**
   * Cuts group A from group B: both directions, or only A → B with `oneWay` (A's packets to B vanish,
   * B still reaches A). Returns the rule ids.
   */
  partition(groupA: Iterable<number>, groupB: Iterable<number>, opts: { oneWay?: boolean } = {}): number[] {
    const a = [...groupA]
    const b = [...groupB]
    const ids = [this.block(a, b)]
    if (!opts.oneWay) ids.push(this.block(b, a))
    return ids
  }

  /** Isolates each group from every other group, both directions. Returns the rule ids. */
  split(groups: ReadonlyArray<Iterable<number>>): number[] {
    const lists = groups.map((g) => [...g])
    const ids: number[] = []
    for (let i = 0; i < lists.length; i++) {
      const others: number[] = []
      for (let j = 0; j < lists.length; j++) if (j !== i) others.push(...lists[j])
      ids.push(this.block(lists[i], others))
    }
    return ids
  }

  /** Lifts the given rules (unknown ids are ignored). */
  unblock(ids: number | readonly number[]): void {
    const drop = new Set(typeof ids === 'number' ? [ids] : ids)
    this.rules = this.rules.filter((r) => !drop.has(r.id))
  }

  /** Lifts every partition rule. Link overrides and default knobs stay. */
  heal(): void {
    this.rules = []
  }

  /** Whether any partition rule is in force. */
  get partitioned(): boolean {
    return this.rules.length > 0
  }

  /** True when a partition rule blocks from → to. */
  isBlocked(from: number, to: number): boolean {
    const rules = this.rules
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]
      if (from < r.from.length && r.from[from] === 1 && to < r.to.length && r.to[to] === 1) return true
    }
    return false
  }

  /** True when both directions between a and b are open. */
  connected(a: number, b: number): boolean {
    return !this.isBlocked(a, b) && !this.isBlocked(b, a)
  }

  /**
   * Decides the fate of one datagram from → to. Returns how many copies arrive (0, 1 or 2); their
   * delays are in `delays[0..copies)` and the fate bits in `lastFate`. No allocation.
   */
  route(from: number, to: number): number {
    this.stats.packetsRouted++
    if (this.rules.length > 0 && this.isBlocked(from, to)) {
      this.stats.packetsBlocked++
      this.lastFate = Fate.blocked
      return 0
    }
    const o = this.links.size === 0 && this.shapes.length === 0 ? this.opts : this.linkOptions(from, to)
    const rng = this.rng
    if (o.packetLossProbability > 0 && rng.float() < o.packetLossProbability) {
      this.stats.packetsLost++
      this.lastFate = Fate.lost
      return 0
    }
    let fate: number = Fate.delivered
    let copies = 1
    if (o.packetDuplicationProbability > 0 && rng.float() < o.packetDuplicationProbability) {
      copies = 2
      fate |= Fate.duplicated
      this.stats.packetsDuplicated++
    }
    for (let i = 0; i < copies; i++) {
      let d = this.sampleDelay(o)
      if (o.packetReorderProbability > 0 && rng.float() < o.packetReorderProbability) {
        d += roundMicro((1 - rng.float()) * o.packetReorderDelayMsMax)
        fate |= Fate.reordered
        this.stats.packetsReordered++
      }
      this.delays[i] = d
    }
    this.lastFate = fate
    return copies
  }

  /**
   * Decides the fate of one stream segment from → to: its arrival delay, or -1 when it vanishes
   * (`lastFate` says blocked or lost). Loss is streamSegmentLossProbability where set, else
   * packetLossProbability; no duplication (see the module comment). No allocation.
   */
  routeSegment(from: number, to: number): number {
    const stats = this.stats
    stats.streamHops++
    if (this.rules.length > 0 && this.isBlocked(from, to)) {
      stats.streamSegmentsBlocked++
      this.lastFate = Fate.blocked
      return -1
    }
    const o = this.links.size === 0 && this.shapes.length === 0 ? this.opts : this.linkOptions(from, to)
    const loss = o.streamSegmentLossProbability ?? o.packetLossProbability
    if (loss > 0 && this.rng.float() < loss) {
      stats.streamSegmentsLost++
      this.lastFate = Fate.lost
      return -1
    }
    const d = this.sampleDelay(o)
    if (o.packetReorderProbability > 0 && this.rng.float() < o.packetReorderProbability) {
      this.lastFate = Fate.delivered | Fate.reordered
      return d + roundMicro((1 - this.rng.float()) * o.packetReorderDelayMsMax)
    }
    this.lastFate = Fate.delivered
    return d
  }

  private sampleDelay(o: LinkOptions): number {
    const min = o.oneWayDelayMsMin
    const max = o.oneWayDelayMsMax
    if (max <= min) return roundMicro(min)
    if (o.oneWayDelayDistribution === 'exponential') {
      const mean = (o.oneWayDelayMsMean ?? (min + max) / 2) - min
      const tail = -Math.log(1 - this.rng.float()) * mean
      return roundMicro(Math.min(max, min + tail))
    }
    return roundMicro(min + this.rng.float() * (max - min))
  }
}

function roundMicro(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= MAX_NODE_ID) throw new RangeError(`node id must be an integer in [0, ${MAX_NODE_ID}) (got ${id})`)
}

function mask(ids: Iterable<number>): Uint8Array {
  const list = [...ids]
  let size = 0
  for (const id of list) {
    checkId(id)
    if (id + 1 > size) size = id + 1
  }
  const m = new Uint8Array(size)
  for (const id of list) m[id] = 1
  return m
}
