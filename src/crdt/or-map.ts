/**
 * OR-Map of embedded CRDTs (riak_dt_map's design over Almeida et al.'s dot map): add-wins fields,
 * reset-remove. A field is named by (kind, name), so a counter and a set called "x" are two fields.
 * Every field's value is a dot store under the map's one causal context:
 *
 *   kind      entries (dot -> ...)            read as
 *   counter   writer's latest (up, down)     sum of up - down over the surviving entries
 *   flag      null                            enabled while any dot survives (enable-wins)
 *   set       element                         the distinct elements of the surviving dots (add-wins)
 *   register  value                           the distinct values (multi-value register)
 *   lww       (timestamp, value)              the largest (timestamp, writer, value)
 *
 *   update field -> delta = (the field's new entry, context = the field's dots it replaces + the new dot)
 *   remove field -> delta = (nothing, context = every dot of the field seen here)
 *   merge        -> joinDotMap: a field whose dots were all seen and dropped by the other side is gone
 *
 * Reset-remove: removing a field forgets exactly what the remover saw; an update concurrent with the
 * remove survives, so the field comes back holding only what was not observed. One documented exception,
 * shared with riak_dt's embedded counter: a counter entry carries its writer's running total, so an
 * increment concurrent with a remove brings back that writer's whole total, not only the new increment.
 *
 *   fold(n#7)    -> each counter field's entries of n#7's predecessors added into one new entry of n#7
 *                   (replacing them), then floor n → 7 (floors.ts) with the predecessors' other entries
 *                   re-asserted: they stay while they live; the predecessors' context entries go
 *   fold(h#3, n → 6) -> the same into a leaver's heir: n#5's (and older n's) counter entries into h#3's
 */
import type { MsgpackReader } from '../wire/msgpack-reader.js'
import type { MsgpackWriter } from '../wire/msgpack-writer.js'
import { CausalContext, compareNames } from './causal-context.js'
import { checkValue } from './causal-types.js'
import { crdtMaxCount, crdtMaxStringBytes, readDotMapBody, readNil, writeContext, writeDotFun, writeNil } from './codec-parts.js'
import type { DotFun } from './dot-store.js'
import { addDotsTo, joinDotMap, retiredEntries, retirementOf, setDot } from './dot-store.js'
import type { GenerationFloors } from './floors.js'
import { predecessorsOf, type Retirement } from './floors.js'
import type { HlcTimestamp, HybridClock } from './hlc.js'
import { compareHlc } from './hlc.js'

export type MapFieldKind = 'counter' | 'flag' | 'set' | 'register' | 'lww'
const kinds: readonly MapFieldKind[] = ['counter', 'flag', 'set', 'register', 'lww']

type Entry = null | string | { readonly up: number; readonly down: number } | { readonly ts: HlcTimestamp; readonly value: string }

const fieldKey = (kind: MapFieldKind, name: string): string => `${kind}:${name}`
function splitKey(key: string): { kind: MapFieldKind; name: string } {
  const i = key.indexOf(':')
  return { kind: key.slice(0, i) as MapFieldKind, name: key.slice(i + 1) }
}

export class ORMap {
  readonly type = 'or-map'
  private fields = new Map<string, DotFun<Entry>>()
  private readonly ctx = new CausalContext()

  // ---- mutators: each applies its delta here and returns it -------------------------------------

  /** Adds `by` (a safe integer, negative to decrement) to counter `name`. */
  increment(node: string, name: string, by = 1): ORMap {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment must be a safe integer, got ${by}`)
    let up = 0
    let down = 0
    const mine = this.fields.get(fieldKey('counter', name))?.get(node)
    if (mine !== undefined) {
      for (const e of mine.values()) {
        const c = e as { up: number; down: number }
        up += c.up
        down += c.down
      }
    }
    if (by >= 0) up += by
    else down -= by
    if (!Number.isSafeInteger(up) || !Number.isSafeInteger(down)) throw new RangeError(`counter ${name} of ${node} would pass ${crdtMaxCount}`)
    // Replaces only this writer's own entries: other writers' totals stay as they are.
    return this.put(node, 'counter', name, { up, down }, (dots) => ownDots(dots, node))
  }

  enable(node: string, name: string): ORMap {
    return this.put(node, 'flag', name, null, (dots) => dots)
  }

  disable(name: string): ORMap {
    return this.remove('flag', name)
  }

  addElement(node: string, name: string, element: string): ORMap {
    checkValue(element, 'set element')
    return this.put(node, 'set', name, element, (dots) => filterDots(dots, (v) => v === element))
  }

  removeElement(name: string, element: string): ORMap {
    const delta = new ORMap()
    const dots = this.fields.get(fieldKey('set', name))
    if (dots !== undefined) addDotsTo(filterDots(dots, (v) => v === element), delta.ctx)
    this.merge(delta)
    return delta
  }

  assign(node: string, name: string, value: string): ORMap {
    checkValue(value, 'register value')
    return this.put(node, 'register', name, value, (dots) => dots)
  }

  assignLww(node: string, name: string, value: string, clock: HybridClock, physicalMs: number): ORMap {
    checkValue(value, 'register value')
    const dots = this.fields.get(fieldKey('lww', name))
    if (dots !== undefined) for (const inner of dots.values()) for (const e of inner.values()) clock.observe((e as { ts: HlcTimestamp }).ts)
    return this.put(node, 'lww', name, { ts: clock.now(physicalMs), value }, (all) => all)
  }

  /** Reset-remove of one field: forgets every entry of it seen here. */
  remove(kind: MapFieldKind, name: string): ORMap {
    const delta = new ORMap()
    const dots = this.fields.get(fieldKey(kind, name))
    if (dots !== undefined) addDotsTo(dots, delta.ctx)
    this.merge(delta)
    return delta
  }

  /** Folds `node`'s predecessors (floors.ts): their counter entries into `node`'s; an empty delta when none. */
  fold(node: string, retire?: Retirement): ORMap {
    const delta = new ORMap()
    const r = retirementOf(node, this.ctx, this.fields.values(), retire)
    if (r === undefined) return delta
    for (const key of [...this.fields.keys()]) {
      const { kind, name } = splitKey(key)
      const dots = this.fields.get(key)!
      const old = predecessorsOf(node, dots.keys(), this.ctx.floors, r)
      if (kind !== 'counter' || old.length === 0) continue
      let up = 0
      let down = 0
      const mine = [node, ...old]
      for (const id of mine) for (const e of dots.get(id)?.values() ?? []) {
        up += (e as { up: number }).up
        down += (e as { down: number }).down
      }
      if (!Number.isSafeInteger(up) || !Number.isSafeInteger(down)) throw new RangeError(`counter ${name} of ${node} would pass ${crdtMaxCount}`)
      delta.merge(this.put(node, 'counter', name, { up, down }, (all) => new Map(mine.filter((id) => all.has(id)).map((id) => [id, all.get(id)!]))))
    }
    const step = new ORMap()
    step.ctx.retire(r.name, r.generation)
    step.fields = retiredEntries(this.fields, step.ctx.floors)
    this.merge(step)
    return delta.merge(step)
  }

  /** The replica ids with a causal-context entry (retired ones have none). */
  replicas(): Set<string> {
    return this.ctx.replicas()
  }

  get floors(): GenerationFloors {
    return this.ctx.floors
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** The fields present, sorted by kind then name. */
  keys(): Array<{ kind: MapFieldKind; name: string }> {
    return [...this.fields.keys()].sort(compareNames).map(splitKey)
  }

  has(kind: MapFieldKind, name: string): boolean {
    return this.fields.has(fieldKey(kind, name))
  }

  counter(name: string): number {
    let sum = 0
    for (const e of this.entries('counter', name)) sum += (e as { up: number }).up - (e as { down: number }).down
    return sum
  }

  flag(name: string): boolean {
    return this.fields.has(fieldKey('flag', name))
  }

  set(name: string): string[] {
    return [...new Set(this.entries('set', name) as string[])].sort(compareNames)
  }

  register(name: string): string[] {
    return [...new Set(this.entries('register', name) as string[])].sort(compareNames)
  }

  lww(name: string): string | undefined {
    let best: { ts: HlcTimestamp; node: string; value: string } | undefined
    const dots = this.fields.get(fieldKey('lww', name))
    if (dots === undefined) return undefined
    for (const [node, inner] of dots) {
      for (const e of inner.values()) {
        const c = { ...(e as { ts: HlcTimestamp; value: string }), node }
        if (best === undefined || (compareHlc(c.ts, best.ts) || compareNames(c.node, best.node) || compareNames(c.value, best.value)) > 0) best = c
      }
    }
    return best?.value
  }

  // ---- lattice -----------------------------------------------------------------------------------

  merge(other: ORMap): this {
    this.fields = joinDotMap(this.fields, this.ctx, other.fields, other.ctx)
    this.ctx.join(other.ctx)
    return this
  }

  clone(): ORMap {
    return new ORMap().merge(this)
  }

  get isEmpty(): boolean {
    return this.ctx.isEmpty
  }

  /** Body: [context, [kindIndex, name, dots, ...]], fields sorted by key. */
  write(w: MsgpackWriter): void {
    w.arrayHeader(2)
    writeContext(w, this.ctx)
    const keys = [...this.fields.keys()].sort(compareNames)
    w.arrayHeader(keys.length * 3)
    for (const key of keys) {
      const { kind, name } = splitKey(key)
      w.uint(kinds.indexOf(kind))
      w.str(name)
      writeDotFun(w, this.fields.get(key)!, (w2, e) => writeEntry(w2, kind, e))
    }
  }

  static read(r: MsgpackReader, floors?: GenerationFloors): ORMap {
    const m = new ORMap()
    const body = readDotMapBody(r, 'or-map', 3, (r2) => {
      const kind = kinds[r2.uint(kinds.length - 1, 'field kind')]
      const key = fieldKey(kind, r2.str(crdtMaxStringBytes, 'field name'))
      return { key, readValue: (r3: MsgpackReader) => readEntry(r3, kind) }
    }, floors)
    m.ctx.join(body.ctx)
    m.fields = body.stores
    return m
  }

  // ---- internals ---------------------------------------------------------------------------------

  private entries(kind: MapFieldKind, name: string): Entry[] {
    const out: Entry[] = []
    const dots = this.fields.get(fieldKey(kind, name))
    if (dots !== undefined) for (const inner of dots.values()) for (const e of inner.values()) out.push(e)
    return out
  }

  /** One new dot for field (kind, name) holding `entry`, replacing the dots `replaced` picks. */
  private put(node: string, kind: MapFieldKind, name: string, entry: Entry, replaced: (dots: DotFun<Entry>) => DotFun<Entry>): ORMap {
    const key = fieldKey(kind, name)
    const delta = new ORMap()
    const counter = this.ctx.next(node)
    const dots: DotFun<Entry> = new Map()
    setDot(dots, node, counter, entry)
    delta.fields.set(key, dots)
    const current = this.fields.get(key)
    if (current !== undefined) addDotsTo(replaced(current), delta.ctx)
    delta.ctx.add(node, counter)
    this.merge(delta)
    return delta
  }
}

function ownDots(dots: DotFun<Entry>, node: string): DotFun<Entry> {
  const inner = dots.get(node)
  return inner === undefined ? new Map() : new Map([[node, inner]])
}

function filterDots(dots: DotFun<Entry>, keep: (v: Entry) => boolean): DotFun<Entry> {
  const out: DotFun<Entry> = new Map()
  for (const [node, inner] of dots) for (const [c, v] of inner) if (keep(v)) setDot(out, node, c, v)
  return out
}

function writeEntry(w: MsgpackWriter, kind: MapFieldKind, e: Entry): void {
  switch (kind) {
    case 'counter': {
      const c = e as { up: number; down: number }
      w.arrayHeader(2)
      w.uint(c.up)
      w.uint(c.down)
      return
    }
    case 'flag':
      return writeNil(w)
    case 'set':
    case 'register':
      return w.str(e as string)
    case 'lww': {
      const l = e as { ts: HlcTimestamp; value: string }
      w.arrayHeader(3)
      w.uint(l.ts.wallMs)
      w.uint(l.ts.logical)
      w.str(l.value)
    }
  }
}

function readEntry(r: MsgpackReader, kind: MapFieldKind): Entry {
  const at = r.pos
  switch (kind) {
    case 'counter': {
      if (r.arrayHeader('counter entry') !== 2) r.fail('bad-field', 'map counter entry is not [up, down]', at)
      return { up: r.uint(crdtMaxCount, 'up'), down: r.uint(crdtMaxCount, 'down') }
    }
    case 'flag':
      return readNil(r)
    case 'set':
    case 'register':
      return r.str(crdtMaxStringBytes, kind === 'set' ? 'set element' : 'register value')
    case 'lww': {
      if (r.arrayHeader('lww entry') !== 3) r.fail('bad-field', 'map lww entry is not [wallMs, logical, value]', at)
      return { ts: { wallMs: r.uint(crdtMaxCount, 'wallMs'), logical: r.uint(crdtMaxCount, 'logical') }, value: r.str(crdtMaxStringBytes, 'value') }
    }
  }
}

