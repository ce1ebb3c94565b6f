/**
 * Gossip aggregation (aggregation/: push-pull averaging, push-sum) as a stack protocol (stack.ts),
 * envelope id 4: any number of named aggregates per node, each its own machine and cycle.
 *
 *   gossip round ──▶ per aggregate whose cycle is due: machine.tick(participants) ──▶ frame ──▶ one peer
 *                    (and the retransmissions of exchanges still unanswered, aggregation/aggregator.ts)
 *   message from a peer ──▶ frame: [version 1][fn][epochCycles u16][name length][name][message]
 *        ├─ no aggregate of that name here, or another fn / epoch length ──▶ counted and dropped
 *        └─ machine.handle ──▶ maybe a reply (push-pull) through the same send
 *   an epoch ended (by our count or a peer's later epoch) ──▶ onEstimate(name, estimate)
 *
 * Who takes part: each node running an aggregate announces it in its own cluster state under the key
 * `grapevine/aggregate/<name>` with the value `<fn> <mode> <cycleMs> <epochCycles>` (node/aggregation.ts
 * writes and deletes it). An aggregate's participants are the live Grapevine peers (stack.ts: only
 * members with Grapevine's mark, so Serf agents never get a message) whose state holds the same value.
 * Every node thus picks partners that run the same computation, and every node with the same view picks
 * the same count/sum leader (common.ts). The cluster state is the mechanism made for "what does node X
 * run": it reaches every node in a few state rounds, like the membership itself.
 *
 * Values: the value function is read at each epoch start (the machines read `localValue` there only). A
 * value function that throws or returns a non-finite number leaves the node on its previous value and is
 * counted (`valueErrors`, `lastValueError`): one bad reading must not poison the cluster's average.
 *
 * What the real network does (and the simulator models the same): an exchange whose request, push,
 * reply or ack is lost goes again next cycle (three sends in all; repeats are recognised by id and not
 * mixed twice). Only an exchange lost three times changes the total (a push-sum push: its mass; a push-pull
 * reply: the responder mixed, the initiator not); epochs bound that damage to one epoch. A crashed participant's mass stays in (or leaves) the epoch it crashed in; the next epoch
 * starts without it once SWIM declared it dead. Pure: no clock, no sockets; time comes with each call.
 */
import type { Rng } from '../core/rng.js'
import { ConfigError } from '../core/errors.js'
import { PushPullAggregator, PushSumAggregator, type AggregationInput, type HandleResult } from '../aggregation/aggregator.js'
import { AGGREGATE_FUNCTION_NAMES, type AggregateEstimate, type AggregateFunctionName } from '../aggregation/common.js'
import { decodeUtf8 } from '../wire/msgpack-reader.js'
import { utf8Length, writeUtf8 } from '../wire/msgpack-writer.js'
import { Cadence } from './protocols.js'
import type { PeerSend, StackProtocol } from './stack.js'

export const AGGREGATION_PROTOCOL = 4
export type AggregationMode = 'push-pull' | 'push-sum'
export const AGGREGATION_MODES: readonly AggregationMode[] = ['push-pull', 'push-sum']
/** Where a participant announces an aggregate in its cluster state. */
export const AGGREGATE_KEY_PREFIX = 'grapevine/aggregate/'
const FRAME_VERSION = 1
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** One aggregate's settings. */
export interface AggregateSpec {
  /** Names the aggregate cluster-wide: letters, digits, `.`, `_`, `-`, at most 64. */
  readonly name: string
  readonly fn: AggregateFunctionName
  /** 'push-pull' (default: a request and a reply per exchange, variance × 0.30 a cycle) or 'push-sum' (one push, error × 0.71 a cycle). */
  readonly mode: AggregationMode
  /** Time between two cycles (one exchange initiated by each node), ms. Default 1000; at least 50. */
  readonly cycleMs: number
  /** Cycles per epoch: an estimate is published, and values and members re-read, every cycleMs × epochCycles. Default 20. */
  readonly epochCycles: number
}

export type AggregateOptions = Partial<Pick<AggregateSpec, 'mode' | 'cycleMs' | 'epochCycles'>>

export const AGGREGATE_DEFAULTS = { mode: 'push-pull', cycleMs: 1000, epochCycles: 20 } as const satisfies AggregateOptions

/** Checks and completes an aggregate's settings; throws ConfigError naming every bad field and its fix. */
export function resolveAggregateSpec(name: string, fn: string, o: AggregateOptions = {}): AggregateSpec {
  const spec = { name, fn, mode: o.mode ?? AGGREGATE_DEFAULTS.mode, cycleMs: o.cycleMs ?? AGGREGATE_DEFAULTS.cycleMs, epochCycles: o.epochCycles ?? AGGREGATE_DEFAULTS.epochCycles }
  const p: string[] = []
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) p.push(`name: expected 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit) like "load", got ${JSON.stringify(name)}`)
  if (!AGGREGATE_FUNCTION_NAMES.includes(fn as AggregateFunctionName)) p.push(`function: expected one of ${AGGREGATE_FUNCTION_NAMES.join(', ')}, got ${JSON.stringify(fn)}`)
  if (!AGGREGATION_MODES.includes(spec.mode)) p.push(`mode: expected push-pull or push-sum, got ${JSON.stringify(spec.mode)}`)
  if (!Number.isSafeInteger(spec.cycleMs) || spec.cycleMs < 50 || spec.cycleMs > 3_600_000) p.push(`cycleMs: expected an integer from 50 to 3600000 like 1000, got ${String(spec.cycleMs)}`)
  if (!Number.isSafeInteger(spec.epochCycles) || spec.epochCycles < 2 || spec.epochCycles > 10_000) p.push(`epochCycles: expected an integer from 2 to 10000 like 20, got ${String(spec.epochCycles)}`)
  if (p.length > 0) throw new ConfigError(p, 'aggregate')
  return spec as AggregateSpec
}

/** The cluster-state value that announces an aggregate: nodes with equal values compute together. */
export function aggregateSignature(s: AggregateSpec): string {
  return `${s.fn} ${s.mode} ${s.cycleMs} ${s.epochCycles}`
}

/** What the node reads of other members' cluster state (state/cluster-state.ts ClusterState). */
export interface ParticipationView {
  get(node: string, key: string): string | undefined
}

/** Counters of one aggregate (live objects). */
export interface AggregateCounters {
  sent: number
  /** Of those, retransmissions of an unanswered request or push. */
  resent: number
  received: number
  /** Messages dropped: malformed, for another function or epoch length, or from an older epoch (push-sum). */
  dropped: number
  stale: number
  valueErrors: number
}

/** A running aggregate as the API shows it. */
export interface AggregateStatus extends AggregateSpec {
  /** The last completed epoch's estimate here (undefined until one completed). */
  readonly estimate: AggregateEstimate | undefined
  /** The epoch under way: its number, cycle and this node's running value. */
  readonly running: { readonly epoch: number; readonly cycle: number; readonly value: number | undefined }
  /** Nodes computing it as this node sees them, itself included. */
  readonly participants: number
  /** The value this node contributes to the running epoch (last good reading). */
  readonly localValue: number
  readonly lastValueError: string | undefined
  readonly counters: Readonly<AggregateCounters>
}

class RunningAggregate {
  readonly machine: PushPullAggregator | PushSumAggregator
  readonly cadence: Cadence
  readonly key: string
  readonly signature: string
  readonly counters: AggregateCounters = { sent: 0, resent: 0, received: 0, dropped: 0, stale: 0, valueErrors: 0 }
  lastValueError: string | undefined
  participants = 1

  constructor(
    readonly spec: AggregateSpec,
    private readonly read: () => number,
    public value: number,
  ) {
    const config = { fn: spec.fn, epochCycles: spec.epochCycles }
    this.machine = spec.mode === 'push-sum' ? new PushSumAggregator(config) : new PushPullAggregator(config)
    this.cadence = new Cadence(spec.cycleMs)
    this.key = AGGREGATE_KEY_PREFIX + spec.name
    this.signature = aggregateSignature(spec)
  }

  /** Reads the value function: the previous value when it throws or gives no finite number. */
  readValue(): number {
    const got = readValue(this.read)
    if (typeof got === 'number') this.value = got
    else {
      this.counters.valueErrors++
      this.lastValueError = got.error
    }
    return this.value
  }
}

/** Calls a value function: the number, or why it gave none. */
export function readValue(read: () => number): number | { error: string } {
  try {
    const v = read()
    return typeof v === 'number' && Number.isFinite(v) ? v : { error: `the value function returned ${typeof v === 'number' ? String(v) : typeof v}, not a finite number` }
  } catch (e) {
    return { error: `the value function threw: ${e instanceof Error ? e.message : String(e)}` }
  }
}

export class AggregationProtocol implements StackProtocol {
  readonly id = AGGREGATION_PROTOCOL
  private readonly running = new Map<string, RunningAggregate>()
  /** Messages for no aggregate running here (the sender's view of our state was behind). */
  readonly counts = { unknownAggregate: 0, malformed: 0 }

  constructor(
    private readonly self: string,
    private readonly rng: Rng,
    private readonly view: ParticipationView,
    private readonly onEstimate: (name: string, estimate: AggregateEstimate) => void,
  ) {}

  /**
   * Starts an aggregate here (its announcement in the cluster state is the caller's: node/aggregation.ts).
   * Throws ConfigError when one of that name runs already or the value function gives no number now.
   */
  start(spec: AggregateSpec, read: () => number): void {
    if (this.running.has(spec.name)) throw new ConfigError([`name: an aggregate named ${JSON.stringify(spec.name)} runs already; stop it first or choose another name`], 'aggregate')
    const first = readValue(read)
    if (typeof first !== 'number') throw new ConfigError([`value: ${first.error}`], 'aggregate')
    this.running.set(spec.name, new RunningAggregate(spec, read, first))
  }

  /** Stops an aggregate; false when none of that name runs. */
  stop(name: string): boolean {
    return this.running.delete(name)
  }

  names(): string[] {
    return [...this.running.keys()].sort()
  }

  status(name: string): AggregateStatus | undefined {
    const a = this.running.get(name)
    if (a === undefined) return undefined
    return { ...a.spec, estimate: a.machine.estimate(), running: a.machine.current(), participants: a.participants, localValue: a.value, lastValueError: a.lastValueError, counters: { ...a.counters } }
  }

  // ------------------------------------------------------------------ StackProtocol

  onRound(nowMs: number, peers: readonly string[], send: PeerSend): void {
    for (const a of this.running.values()) {
      if (!a.cadence.due(nowMs)) continue
      const before = a.machine.estimate()
      const out = a.machine.tick(this.input(a, peers), this.rng)
      this.published(a, before)
      for (const r of a.machine.takeResends()) if (send(r.to, frame(a.spec, r.bytes))) (a.counters.sent++, a.counters.resent++)
      if (out !== undefined && send(out.to, frame(a.spec, out.bytes))) a.counters.sent++
    }
  }

  nextRoundMs(nowMs: number): number | undefined {
    let at: number | undefined
    for (const a of this.running.values()) {
      const due = a.cadence.nextDueMs(nowMs)
      if (at === undefined || due < at) at = due
    }
    return at
  }

  onMessage(sender: string, payload: Uint8Array, _nowMs: number, send: PeerSend): void {
    const f = unframe(payload)
    if (typeof f === 'string') {
      this.counts.malformed++
      return
    }
    const a = this.running.get(f.name)
    if (a === undefined) {
      this.counts.unknownAggregate++
      return
    }
    a.counters.received++
    if (f.fn !== a.spec.fn || f.epochCycles !== a.spec.epochCycles) {
      a.counters.dropped++
      return
    }
    const before = a.machine.estimate()
    const r: HandleResult = a.machine.handle(sender, f.message, this.input(a, undefined))
    this.published(a, before)
    if (r.kind === 'dropped') a.counters.dropped++
    else if (r.kind === 'stale') a.counters.stale++
    if (r.kind !== 'dropped' && r.reply !== undefined && send(r.reply.to, frame(a.spec, r.reply.bytes))) a.counters.sent++
  }

  // ------------------------------------------------------------------ internals

  /** The machine's view: our participants (peers announcing the same aggregate) and the value, read lazily. */
  private input(a: RunningAggregate, peers: readonly string[] | undefined): AggregationInput {
    const list = peers === undefined ? this.lastPeers : (this.lastPeers = peers)
    const participants = list.filter((p) => this.view.get(p, a.key) === a.signature)
    a.participants = participants.length + 1
    return {
      self: this.self,
      peers: participants,
      get localValue(): number {
        return a.readValue()
      },
    }
  }

  private lastPeers: readonly string[] = []

  private published(a: RunningAggregate, before: AggregateEstimate | undefined): void {
    const now = a.machine.estimate()
    if (now !== undefined && now !== before) this.onEstimate(a.spec.name, now)
  }
}

function frame(spec: AggregateSpec, message: Uint8Array): Uint8Array {
  const n = utf8Length(spec.name)
  const out = new Uint8Array(5 + n + message.length)
  out[0] = FRAME_VERSION
  out[1] = AGGREGATE_FUNCTION_NAMES.indexOf(spec.fn)
  out[2] = spec.epochCycles >>> 8
  out[3] = spec.epochCycles & 0xff
  out[4] = n
  writeUtf8(spec.name, out, 5)
  out.set(message, 5 + n)
  return out
}

interface Frame {
  readonly fn: AggregateFunctionName | undefined
  readonly epochCycles: number
  readonly name: string
  readonly message: Uint8Array
}

/** A frame's parts, or why it is not one; never throws. The inner message is the machine's to judge. */
export function unframe(b: Uint8Array): Frame | string {
  if (b.length < 6) return `aggregation frame of ${b.length} bytes is too short`
  if (b[0] !== FRAME_VERSION) return `aggregation frame version ${b[0]}, expected ${FRAME_VERSION}`
  const n = b[4]
  if (n === 0 || 5 + n > b.length) return `aggregate name of ${n} bytes does not fit`
  return { fn: AGGREGATE_FUNCTION_NAMES[b[1]], epochCycles: (b[2] << 8) | b[3], name: decodeUtf8(b, 5, 5 + n), message: b.subarray(5 + n) }
}
