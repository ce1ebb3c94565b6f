/**
 * What push-pull averaging and push-sum share: the aggregate functions, how an epoch starts, the leader
 * that seeds count and sum, and the wire form of their messages.
 *
 *   epoch e starts at every node:  x := its local value (or the count/sum indicator), w := indicator
 *   gossip within the epoch         (push-pull.ts / push-sum.ts)
 *   epoch e ends                    the node's estimate of e is published; e + 1 starts with fresh values
 *
 * Restarting in epochs (Jelasity, Montresor, Babaoglu 2005, section 4) is what makes the estimate track
 * changing values and membership, and what bounds the damage a lost message does: mass lost in epoch e
 * skews e's result only.
 *
 * Count and sum need one node holding weight 1 while every other holds 0: the epoch's leader is the
 * member whose FNV-1a hash of (epoch, name) is smallest, so every node with the same member list picks
 * the same one without a message, and leadership rotates from epoch to epoch. Two leaders (divergent
 * member lists) double the indicator mass: that epoch's count halves, the next is right again.
 *
 * Message (msgpack array): [protocol 1|2, kind 0 request | 1 reply | 2 push | 3 ack, epoch, cycle, x, w, id?],
 * x and w as 8-byte big-endian IEEE doubles (the project's msgpack reader refuses floats on purpose); `id`
 * numbers an exchange so a retransmitted request or push is recognised and answered without mixing twice.
 */
import type { DecodeResult } from '../wire/decode-error.js'
import { decodeFail, decodeOk, toDecodeError } from '../wire/decode-error.js'
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { ConfigError } from '../core/errors.js'

export type AggregateFunctionName = 'avg' | 'sum' | 'count' | 'min' | 'max'
export const AGGREGATE_FUNCTION_NAMES: readonly AggregateFunctionName[] = ['avg', 'sum', 'count', 'min', 'max']

export interface AggregationConfig {
  /** The aggregate computed. */
  readonly fn: AggregateFunctionName
  /**
   * Gossip cycles per epoch. The error after c cycles is about factor^c of the initial spread (push-pull
   * sequential 0.30, push-sum 0.5 after mixing), so 30 cycles give about 1e-15 (push-pull) or 1e-6
   * (push-sum, 10,000 nodes); longer epochs track changes more slowly. Starting value 30, at least 2.
   */
  readonly epochCycles: number
}

export function checkAggregationConfig(c: AggregationConfig): AggregationConfig {
  const problems: string[] = []
  if (!AGGREGATE_FUNCTION_NAMES.includes(c.fn)) problems.push(`fn: expected one of ${AGGREGATE_FUNCTION_NAMES.join(', ')}, got ${JSON.stringify(c.fn)}`)
  if (!Number.isSafeInteger(c.epochCycles) || c.epochCycles < 2) problems.push(`epochCycles: expected an integer >= 2 like 30, got ${c.epochCycles}`)
  if (problems.length > 0) throw new ConfigError(problems, 'aggregation')
  return c
}

/** The published result of one completed epoch. */
export interface AggregateEstimate {
  /** The estimate, or undefined when this node never received the leader's weight (count, sum). */
  readonly value: number | undefined
  /** The epoch it belongs to. */
  readonly epoch: number
  /** |x - x_peer| of the epoch's last exchange relative to |x|: how far apart nodes still were. */
  readonly spread: number
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The member that holds the indicator weight in `epoch` (smallest hash of epoch and name; name breaks ties). */
export function epochLeader(epoch: number, members: readonly string[]): string | undefined {
  let best: string | undefined
  let bestHash = Infinity
  for (const m of members) {
    const h = fnv1a(`${epoch}\u0000${m}`)
    if (h < bestHash || (h === bestHash && best !== undefined && m < best)) {
      best = m
      bestHash = h
    }
  }
  return best
}

/** Initial (x, w) of a node in an epoch. */
export function initialMass(fn: AggregateFunctionName, value: number, leader: boolean, pushSum: boolean): { x: number; w: number } {
  const indicator = leader ? 1 : 0
  switch (fn) {
    case 'avg':
      return { x: value, w: 1 }
    case 'sum':
      return { x: value, w: indicator }
    case 'count':
      // push-sum: s = 1 everywhere over the leader's weight -> N; push-pull: the indicator's average is 1/N.
      return pushSum ? { x: 1, w: indicator } : { x: indicator, w: indicator }
    default:
      return { x: value, w: 1 }
  }
}

/** A node's estimate from its (x, w). */
export function estimateOf(fn: AggregateFunctionName, x: number, w: number, pushSum: boolean): number | undefined {
  if (fn === 'min' || fn === 'max') return x
  if (pushSum) return w > 0 ? x / w : undefined
  if (fn === 'avg') return x
  if (fn === 'count') return w > 0 ? 1 / w : undefined
  return w > 0 ? x / w : undefined
}

export type AggregationMessageKind = 'request' | 'reply' | 'push' | 'ack'
const KINDS: readonly AggregationMessageKind[] = ['request', 'reply', 'push', 'ack']

export interface AggregationMessage {
  readonly protocol: 'push-pull' | 'push-sum'
  readonly kind: AggregationMessageKind
  readonly epoch: number
  readonly cycle: number
  readonly x: number
  readonly w: number
  /** The exchange (absent: an exchange that is never retransmitted). */
  readonly id?: number
}

const writer = new MsgpackWriter(64)
const scratch = new DataView(new ArrayBuffer(8))

function float64(v: number): Uint8Array {
  scratch.setFloat64(0, v)
  return new Uint8Array(scratch.buffer.slice(0))
}

export function encodeAggregationMessage(m: AggregationMessage): Uint8Array {
  writer.reset()
  writer.arrayHeader(m.id === undefined ? 6 : 7)
  writer.uint(m.protocol === 'push-pull' ? 1 : 2)
  writer.uint(KINDS.indexOf(m.kind))
  writer.uint(m.epoch)
  writer.uint(m.cycle)
  writer.bytes(float64(m.x))
  writer.bytes(float64(m.w))
  if (m.id !== undefined) writer.uint(m.id)
  return writer.finish()
}

/** Decodes a message; never throws. Non-finite numbers are refused (they would poison every average). */
export function decodeAggregationMessage(bytes: Uint8Array): DecodeResult<AggregationMessage> {
  const r: MsgpackReader = new MsgpackReader(4).reset(bytes, 0)
  try {
    if (bytes.length === 0) r.fail('empty', 'no aggregation message')
    const fields = r.arrayHeader('aggregation message')
    if (fields !== 6 && fields !== 7) r.fail('bad-field', 'aggregation message is not [protocol, kind, epoch, cycle, x, w, id?]', 0)
    const protocol = r.uint(2, 'protocol')
    if (protocol === 0) r.fail('bad-field', 'protocol 0 is neither push-pull (1) nor push-sum (2)', 1)
    const kind = KINDS[r.uint(KINDS.length - 1, 'kind')]
    const epoch = r.uint(Number.MAX_SAFE_INTEGER, 'epoch')
    const cycle = r.uint(Number.MAX_SAFE_INTEGER, 'cycle')
    const read = (field: string): number => {
      const at = r.pos
      const b = r.rawView(8, field)
      if (b.length !== 8) r.fail('bad-field', `${field} is not 8 bytes`, at)
      const v = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0)
      if (!Number.isFinite(v)) r.fail('bad-field', `${field} is not a finite number`, at)
      return v
    }
    const x = read('x')
    const w = read('w')
    const id = fields === 7 ? r.uint(Number.MAX_SAFE_INTEGER, 'id') : undefined
    if (r.pos !== bytes.length) r.fail('trailing-bytes', `${bytes.length - r.pos} bytes after the message`)
    const m = { protocol: protocol === 1 ? 'push-pull' : 'push-sum', kind, epoch, cycle, x, w } as const
    return decodeOk(id === undefined ? m : { ...m, id })
  } catch (e) {
    return decodeFail(toDecodeError(e))
  }
}
