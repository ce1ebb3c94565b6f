/**
 * Last-writer-wins register with hybrid logical clock timestamps (hlc.ts).
 *
 *   replica A: assign(A, v, clock, physicalMs) -> clock observes the current winner, then ticks:
 *              delta = (ts, A, v) with ts above everything A has seen
 *   any replica: merge -> keep the larger of (ts, writer name, value)
 *
 * Ordering by (timestamp, writer) makes concurrent writes resolve the same way everywhere; the value is
 * a last tie-break so that merge stays commutative even if one writer ever reuses a timestamp (a restart
 * that lost its clock). Values are strings (JSON or base64 for anything else), at most
 * crdtMaxStringBytes of UTF-8 when decoded.
 */
import type { MsgpackReader } from '../wire/msgpack-reader.js'
import type { MsgpackWriter } from '../wire/msgpack-writer.js'
import { compareNames } from './causal-context.js'
import { crdtMaxCount, crdtMaxStringBytes, readName } from './codec-parts.js'
import type { HlcTimestamp, HybridClock } from './hlc.js'
import { compareHlc } from './hlc.js'

export interface LwwEntry {
  readonly ts: HlcTimestamp
  readonly node: string
  readonly value: string
}

/** Orders two writes: timestamp, then writer name, then value. */
export function compareLww(a: LwwEntry, b: LwwEntry): number {
  return compareHlc(a.ts, b.ts) || compareNames(a.node, b.node) || compareNames(a.value, b.value)
}

export class LwwRegister {
  readonly type = 'lww-register'
  private entry: LwwEntry | undefined

  /** Writes `value` as replica `node`; returns the delta to replicate. */
  assign(node: string, value: string, clock: HybridClock, physicalMs: number): LwwRegister {
    if (this.entry !== undefined) clock.observe(this.entry.ts)
    const delta = new LwwRegister()
    delta.entry = { ts: clock.now(physicalMs), node, value }
    this.merge(delta)
    return delta
  }

  /** The winning value, or undefined before any write. */
  value(): string | undefined {
    return this.entry?.value
  }

  /** The winning write with its timestamp and writer. */
  get winner(): LwwEntry | undefined {
    return this.entry
  }

  merge(other: LwwRegister): this {
    const o = other.entry
    if (o !== undefined && (this.entry === undefined || compareLww(o, this.entry) > 0)) this.entry = o
    return this
  }

  clone(): LwwRegister {
    return new LwwRegister().merge(this)
  }

  get isEmpty(): boolean {
    return this.entry === undefined
  }

  /** Body: [] or [wallMs, logical, node, value]. */
  write(w: MsgpackWriter): void {
    if (this.entry === undefined) return w.arrayHeader(0)
    writeLwwEntry(w, this.entry)
  }

  static read(r: MsgpackReader): LwwRegister {
    const reg = new LwwRegister()
    const at = r.pos
    const n = r.arrayHeader('lww-register')
    if (n === 0) return reg
    if (n !== 4) r.fail('bad-field', 'lww-register is not [wallMs, logical, node, value]', at)
    reg.entry = readLwwBody(r)
    return reg
  }
}

export function writeLwwEntry(w: MsgpackWriter, e: LwwEntry): void {
  w.arrayHeader(4)
  w.uint(e.ts.wallMs)
  w.uint(e.ts.logical)
  w.str(e.node)
  w.str(e.value)
}

/** The four fields after a 4-array header. */
export function readLwwBody(r: MsgpackReader): LwwEntry {
  const wallMs = r.uint(crdtMaxCount, 'wallMs')
  const logical = r.uint(crdtMaxCount, 'logical')
  const node = readName(r, 'writer')
  const value = r.str(crdtMaxStringBytes, 'value')
  return { ts: { wallMs, logical }, node, value }
}
