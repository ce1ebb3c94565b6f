/**
 * The pieces every CRDT encoding is built from, and the bounds on what a decoder accepts.
 *
 *   encode: CausalContext / DotFun  -> msgpack arrays, canonical order (equal states, equal bytes)
 *   decode: bytes -> the same, every count and string checked against a bound and the bytes left first;
 *           a bad input throws DecodeError, caught at the public boundary (codec.ts)
 *
 * Layouts (all msgpack arrays):
 *   context = [ [node, contiguousTop, [cloudCounter...]] ... ]   nodes sorted, counters ascending
 *   dotfun  = [ [node, [counter, value, counter, value ...]] ... ]
 *   floors  = [ [name, generation] ... ]                           names sorted (floors.ts)
 */
import type { MsgpackReader } from '../wire/msgpack-reader.js'
import type { MsgpackWriter } from '../wire/msgpack-writer.js'
import { CausalContext } from './causal-context.js'
import type { DotFun } from './dot-store.js'
import { GenerationFloors } from './floors.js'
import { forEachDot, setDot } from './dot-store.js'

/** Longest replica name, element, field name or register value accepted (bytes of UTF-8). */
export const crdtMaxStringBytes = 65_536
/** Most entries in any one list of an encoding (replicas, dots, elements, fields). */
export const crdtMaxEntries = 1_000_000
/** Largest counter value or dot counter accepted: JavaScript's exact integers. */
export const crdtMaxCount = Number.MAX_SAFE_INTEGER

/** An array header whose count is bounded by `crdtMaxEntries` and by the bytes left (each entry >= 1 byte). */
export function readCount(r: MsgpackReader, what: string): number {
  const at = r.pos
  const n = r.arrayHeader(what)
  if (n > crdtMaxEntries) r.fail('too-large', `${what} has ${n} entries, more than ${crdtMaxEntries}`, at)
  if (n > r.end - r.pos) r.fail('truncated', `${what} announces ${n} entries but fewer bytes remain`, at)
  return n
}

export function readName(r: MsgpackReader, what: string): string {
  const at = r.pos
  const s = r.str(crdtMaxStringBytes, what)
  if (s.length === 0) r.fail('bad-field', `${what} is empty`, at)
  return s
}

/**
 * Reads `[[node, ...arity-1 more fields] ...]` with nodes strictly ascending (the canonical order); calls
 * `visit` after each node name, positioned on the entry's next field.
 */
export function readNodeEntries(r: MsgpackReader, what: string, shape: string, arity: number, visit: (node: string, at: number) => void): void {
  const n = readCount(r, what)
  let previous = ''
  for (let i = 0; i < n; i++) {
    const at = r.pos
    if (r.arrayHeader(`${what} entry`) !== arity) r.fail('bad-field', `${what} entry is not ${shape}`, at)
    const node = readName(r, `${what} node`)
    if (i > 0 && node <= previous) r.fail('bad-field', `${what} nodes not in strictly ascending order at "${node}"`, at)
    previous = node
    visit(node, at)
  }
}

export function writeContext(w: MsgpackWriter, ctx: CausalContext): void {
  const entries = ctx.entries()
  w.arrayHeader(entries.length)
  for (const e of entries) {
    w.arrayHeader(3)
    w.str(e.node)
    w.uint(e.contiguous)
    w.arrayHeader(e.cloud.length)
    for (const c of e.cloud) w.uint(c)
  }
}

/** `floors`: the encoding's generation floors (codec.ts); a retired replica's entry is accepted and dropped. */
export function readContext(r: MsgpackReader, floors?: GenerationFloors): CausalContext {
  const ctx = new CausalContext()
  if (floors !== undefined) ctx.floors.join(floors)
  readNodeEntries(r, 'context', '[node, top, cloud]', 3, (node, at) => {
    const top = r.uint(crdtMaxCount, 'context top')
    ctx.addUpTo(node, top)
    const k = readCount(r, 'context cloud')
    let last = top
    for (let j = 0; j < k; j++) {
      const c = r.uint(crdtMaxCount, 'cloud counter')
      // A canonical cloud holds only counters above top + 1, ascending: anything else is not our output.
      if (c <= last || (j === 0 && c === top + 1)) r.fail('bad-field', `cloud counter ${c} of "${node}" is not canonical`, at)
      last = c
      ctx.add(node, c)
    }
    if (top === 0 && k === 0) r.fail('bad-field', `context entry of "${node}" is empty`, at)
  })
  return ctx
}

export function writeDotFun<V>(w: MsgpackWriter, f: DotFun<V>, writeValue: (w: MsgpackWriter, v: V) => void): void {
  const nodes = new Map<string, Array<[number, V]>>()
  forEachDot(f, (node, counter, value) => {
    let list = nodes.get(node)
    if (list === undefined) nodes.set(node, (list = []))
    list.push([counter, value])
  })
  w.arrayHeader(nodes.size)
  for (const [node, list] of nodes) {
    w.arrayHeader(2)
    w.str(node)
    w.arrayHeader(list.length * 2)
    for (const [counter, value] of list) {
      w.uint(counter)
      writeValue(w, value)
    }
  }
}

/** Reads a dot store; every dot must be in `ctx` (a causal state's store never holds a dot it has not seen). */
export function readDotFun<V>(r: MsgpackReader, ctx: CausalContext, readValue: (r: MsgpackReader) => V): DotFun<V> {
  const f: DotFun<V> = new Map()
  readNodeEntries(r, 'dot store', '[node, dots]', 2, (node, at) => {
    const k = readCount(r, 'dots')
    if (k === 0 || k % 2 !== 0) r.fail('bad-field', `dots of "${node}" are not counter/value pairs`, at)
    let last = 0
    for (let j = 0; j < k; j += 2) {
      const cAt = r.pos
      const counter = r.uint(crdtMaxCount, 'dot counter')
      if (counter <= last) r.fail('bad-field', `dot counters of "${node}" not ascending`, cAt)
      last = counter
      if (!ctx.has(node, counter)) r.fail('bad-field', `dot (${node}, ${counter}) is not in the causal context`, cAt)
      setDot(f, node, counter, readValue(r))
    }
  })
  return f
}

export function readNil(r: MsgpackReader): null {
  const at = r.pos
  if (r.pos >= r.end) r.fail('truncated', 'msgpack data ends early', at)
  if (r.buf[r.pos] !== 0xc0) r.fail('bad-field', 'expected nil', at)
  r.pos++
  return null
}

export function writeNil(w: MsgpackWriter): void {
  w.nil()
}

/**
 * Reads a dot map's body `[context, [key fields..., dots, ...]]` (OR-Set: [element, dots]; OR-Map: [kind,
 * name, dots]): keys strictly ascending, no empty store, every dot inside the context.
 */
export function readDotMapBody<V>(
  r: MsgpackReader,
  what: string,
  width: number,
  readKey: (r: MsgpackReader) => { key: string; readValue: (r: MsgpackReader) => V },
  floors?: GenerationFloors,
): { ctx: CausalContext; stores: Map<string, DotFun<V>> } {
  const at = r.pos
  if (r.arrayHeader(what) !== 2) r.fail('bad-field', `${what} is not [context, entries]`, at)
  const ctx = readContext(r, floors)
  const stores = new Map<string, DotFun<V>>()
  const n = readCount(r, `${what} entries`)
  if (n % width !== 0) r.fail('bad-field', `${what} entries do not come in groups of ${width}`, at)
  let previous = ''
  for (let i = 0; i < n; i += width) {
    const kAt = r.pos
    const { key, readValue } = readKey(r)
    if (i > 0 && key <= previous) r.fail('bad-field', `${what} keys not in strictly ascending order`, kAt)
    previous = key
    const dots = readDotFun(r, ctx, readValue)
    if (dots.size === 0) r.fail('bad-field', `${what} key "${key}" has no dots`, kAt)
    stores.set(key, dots)
  }
  return { ctx, stores }
}

/** [[name, number] ...]: floors' (name, generation), and the replication messages' (key, hash) or (origin, seq). */
export function writeNamedNumbers(w: MsgpackWriter, pairs: ReadonlyArray<readonly [string, number]>): void {
  w.arrayHeader(pairs.length)
  for (const [name, n] of pairs) {
    w.arrayHeader(2)
    w.str(name)
    w.uint(n)
  }
}

export function writeFloors(w: MsgpackWriter, floors: GenerationFloors): void {
  writeNamedNumbers(w, floors.entries())
}

export function readFloors(r: MsgpackReader): GenerationFloors {
  const f = new GenerationFloors()
  readNodeEntries(r, 'floors', '[name, generation]', 2, (name, at) => {
    const g = r.uint(crdtMaxCount, 'floor generation')
    if (g === 0) r.fail('bad-field', `floor of "${name}" is zero`, at)
    f.setDecoded(name, g)
  })
  return f
}
