/**
 * Messages larger than a packet, cut into numbered fragments and put back together.
 *
 *   sender:   message bytes (> maxMessageBytes) ──▶ split ──▶ fragment 0..count-1, each its own packet
 *   receiver: fragment ──▶ buffer by (sender, id) ──▶ all count pieces ──▶ the message, decoded as usual
 *
 * UDP keeps no order and may lose any piece: a message with a piece missing after `fragmentTimeoutMs`
 * is dropped (counted), and anti-entropy sends the state again later. Buffers are bounded: at most
 * `maxReassemblies` messages at once (the oldest is dropped for a new one), each at most `maxFragments`
 * pieces of at most `maxMessageBytes`.
 */
import type { ReplicationConfig } from './config.js'
import { FRAGMENT_OVERHEAD_BYTES } from './config.js'
import { encodeReplicationMessage, type FragmentMessage } from './messages.js'

/** A message that can never be sent: more fragments than allowed. */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError'
}

/** Splits `bytes` into encoded fragment messages (ids from the caller). Throws MessageTooLargeError. */
export function fragment(bytes: Uint8Array, id: number, c: ReplicationConfig): Uint8Array[] {
  const piece = c.maxMessageBytes - FRAGMENT_OVERHEAD_BYTES
  const count = Math.ceil(bytes.length / piece)
  if (count > c.maxFragments) {
    throw new MessageTooLargeError(`a ${bytes.length}-byte message needs ${count} fragments; at most ${c.maxFragments} (replication.maxFragments) of ${c.maxMessageBytes} bytes (replication.maxMessageBytes)`)
  }
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    out.push(encodeReplicationMessage({ kind: 'fragment', id, index: i, count, bytes: bytes.subarray(i * piece, Math.min(bytes.length, (i + 1) * piece)) }))
  }
  return out
}

interface Pending {
  readonly count: number
  readonly pieces: Array<Uint8Array | undefined>
  received: number
  readonly startedMs: number
}

export interface ReassemblyCounters {
  completed: number
  /** Messages dropped with pieces missing: timed out, pushed out by newer ones, or their sender left. */
  abandoned: number
  /** Fragments refused: too many pieces, inconsistent count, oversized. */
  refused: number
}

export class Reassembly {
  private readonly pending = new Map<string, Pending>()
  readonly counters: ReassemblyCounters = { completed: 0, abandoned: 0, refused: 0 }

  constructor(private readonly config: ReplicationConfig) {}

  /** Takes one fragment; returns the whole message when it was the last piece. */
  add(sender: string, f: FragmentMessage, nowMs: number): Uint8Array | undefined {
    const c = this.config
    if (f.count > c.maxFragments || f.bytes.length > c.maxMessageBytes) {
      this.counters.refused++
      return undefined
    }
    const id = `${sender}\n${f.id}`
    let p = this.pending.get(id)
    if (p !== undefined && p.count !== f.count) {
      this.counters.refused++
      return undefined
    }
    if (p === undefined) {
      if (this.pending.size >= c.maxReassemblies) this.abandon(this.pending.keys().next().value as string)
      p = { count: f.count, pieces: new Array<Uint8Array | undefined>(f.count).fill(undefined), received: 0, startedMs: nowMs }
      this.pending.set(id, p)
    }
    if (p.pieces[f.index] !== undefined) return undefined
    p.pieces[f.index] = f.bytes
    p.received++
    if (p.received < p.count) return undefined
    this.pending.delete(id)
    this.counters.completed++
    let size = 0
    for (const b of p.pieces) size += b!.length
    const out = new Uint8Array(size)
    let at = 0
    for (const b of p.pieces) {
      out.set(b!, at)
      at += b!.length
    }
    return out
  }

  /** Drops messages older than fragmentTimeoutMs. */
  expire(nowMs: number): void {
    for (const [id, p] of this.pending) if (nowMs - p.startedMs > this.config.fragmentTimeoutMs) this.abandon(id)
  }

  /** Drops what a departed member was sending us. */
  forgetSender(sender: string): void {
    for (const id of [...this.pending.keys()]) if (id.startsWith(`${sender}\n`)) this.abandon(id)
  }

  get size(): number {
    return this.pending.size
  }

  private abandon(id: string): void {
    if (this.pending.delete(id)) this.counters.abandoned++
  }
}
