/**
 * The causal CRDTs built on one dot store and one causal context (dot-store.ts, causal-context.ts):
 *
 *   EnableWinsFlag  dots                   enable: new dot        disable: forget the seen dots
 *   MVRegister      dot -> value           assign: new dot, forget the seen dots; concurrent writes all stay
 *   ORSet (ORSWOT)  element -> dots        add: new dot, forget the element's older dots; remove: forget them
 *
 *   mutator(state) -> delta = (the new entries, the dots they replace or remove as context)
 *   state.merge(delta) at every replica, in any order, any number of times
 *
 * "Forget" is the delta's context: it lists the dots the writer saw; a receiver drops an entry whose dot
 * the delta has seen but does not hold. An operation concurrent with a remove or disable has a dot the
 * remover never saw, so it survives: add-wins and enable-wins, with no tombstones kept.
 *
 *   fold(n#7) -> delta = (the retired predecessors' entries still here, context = floor n → 7): n#5's and
 *                n#6's context entries go (floors.ts); the entries they wrote stay while they live
 *   fold(h#3, n → 6) -> the same for a leaver n#5 whose heir is h#3 (replication/handoff.ts)
 */
import type { MsgpackReader } from '../wire/msgpack-reader.js'
import type { MsgpackWriter } from '../wire/msgpack-writer.js'
import { utf8Length } from '../wire/msgpack-writer.js'
import { CausalContext, compareNames } from './causal-context.js'
import { crdtMaxStringBytes, readContext, readDotFun, readDotMapBody, readNil, writeContext, writeDotFun, writeNil } from './codec-parts.js'
import type { DotFun } from './dot-store.js'
import { addDotsTo, cloneDotFun, joinDotFun, joinDotMap, retiredDots, retiredEntries, retirementOf, setDot } from './dot-store.js'
import type { GenerationFloors, Retirement } from './floors.js'

export function checkValue(v: string, what: string): void {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string, got ${typeof v}`)
  if (utf8Length(v) > crdtMaxStringBytes) throw new RangeError(`${what} is longer than ${crdtMaxStringBytes} bytes`)
}

/** A causal state whose store is one DotFun: the shared half of the flag and the multi-value register. */
abstract class DotFunState<V> {
  protected store: DotFun<V> = new Map()
  protected readonly ctx = new CausalContext()

  /** Applies to `delta` (a fresh empty state): one new entry at `node`'s next dot, replacing all seen here. */
  protected replaceAll<T extends DotFunState<V>>(delta: T, node: string, value: V): T {
    const counter = this.ctx.next(node)
    setDot(delta.store, node, counter, value)
    delta.ctx.add(node, counter)
    return this.forgetAll(delta)
  }

  /** Applies to `delta` (a fresh empty state): forgets every entry seen here. */
  protected forgetAll<T extends DotFunState<V>>(delta: T): T {
    addDotsTo(this.store, delta.ctx)
    this.merge(delta)
    return delta
  }

  /** Applies to `delta` (a fresh empty state): folds `node`'s predecessors (floors.ts); empty when none. */
  protected foldInto<T extends DotFunState<V>>(delta: T, node: string, retire?: Retirement): T {
    const r = retirementOf(node, this.ctx, [this.store], retire)
    if (r === undefined) return delta
    delta.ctx.retire(r.name, r.generation)
    delta.store = retiredDots(this.store, delta.ctx.floors)
    this.merge(delta)
    return delta
  }

  /** The replica ids with a causal-context entry (retired ones have none). */
  replicas(): Set<string> {
    return this.ctx.replicas()
  }

  /** The generation floors of this state (codec.ts writes them). */
  get floors(): GenerationFloors {
    return this.ctx.floors
  }

  merge(other: DotFunState<V>): this {
    this.store = joinDotFun(this.store, this.ctx, other.store, other.ctx)
    this.ctx.join(other.ctx)
    return this
  }

  get isEmpty(): boolean {
    return this.ctx.isEmpty
  }

  /** Body: [context, dots]. */
  protected writeBody(w: MsgpackWriter, writeValue: (w: MsgpackWriter, v: V) => void): void {
    w.arrayHeader(2)
    writeContext(w, this.ctx)
    writeDotFun(w, this.store, writeValue)
  }

  protected readBody(r: MsgpackReader, what: string, readValue: (r: MsgpackReader) => V, floors: GenerationFloors | undefined): this {
    const at = r.pos
    if (r.arrayHeader(what) !== 2) r.fail('bad-field', `${what} is not [context, dots]`, at)
    this.ctx.join(readContext(r, floors))
    this.store = readDotFun(r, this.ctx, readValue)
    return this
  }
}

export class EnableWinsFlag extends DotFunState<null> {
  readonly type = 'flag'

  enable(node: string): EnableWinsFlag {
    return this.replaceAll(new EnableWinsFlag(), node, null)
  }

  disable(): EnableWinsFlag {
    return this.forgetAll(new EnableWinsFlag())
  }

  fold(node: string, retire?: Retirement): EnableWinsFlag {
    return this.foldInto(new EnableWinsFlag(), node, retire)
  }

  value(): boolean {
    return this.store.size > 0
  }

  clone(): EnableWinsFlag {
    return new EnableWinsFlag().merge(this)
  }

  write(w: MsgpackWriter): void {
    this.writeBody(w, writeNil)
  }

  static read(r: MsgpackReader, floors?: GenerationFloors): EnableWinsFlag {
    return new EnableWinsFlag().readBody(r, 'flag', readNil, floors)
  }
}

export class MVRegister extends DotFunState<string> {
  readonly type = 'mv-register'

  /** Writes `value`, replacing every value this replica has seen; returns the delta. */
  assign(node: string, value: string): MVRegister {
    checkValue(value, 'register value')
    return this.replaceAll(new MVRegister(), node, value)
  }

  /** Removes every value this replica has seen (a concurrent write survives). */
  clear(): MVRegister {
    return this.forgetAll(new MVRegister())
  }

  fold(node: string, retire?: Retirement): MVRegister {
    return this.foldInto(new MVRegister(), node, retire)
  }

  /** The concurrent values, distinct and sorted; one value when there was no concurrent write. */
  values(): string[] {
    const out = new Set<string>()
    for (const inner of this.store.values()) for (const v of inner.values()) out.add(v)
    return [...out].sort(compareNames)
  }

  clone(): MVRegister {
    return new MVRegister().merge(this)
  }

  write(w: MsgpackWriter): void {
    this.writeBody(w, (w2, v) => w2.str(v))
  }

  static read(r: MsgpackReader, floors?: GenerationFloors): MVRegister {
    return new MVRegister().readBody(r, 'mv-register', (r2) => r2.str(crdtMaxStringBytes, 'register value'), floors)
  }
}

/** Observed-remove set without tombstones (riak_dt's ORSWOT): add wins over a concurrent remove. */
export class ORSet {
  readonly type = 'or-set'
  private elements = new Map<string, DotFun<null>>()
  private readonly ctx = new CausalContext()

  add(node: string, element: string): ORSet {
    checkValue(element, 'set element')
    const delta = new ORSet()
    const counter = this.ctx.next(node)
    const dots: DotFun<null> = new Map()
    setDot(dots, node, counter, null)
    delta.elements.set(element, dots)
    const old = this.elements.get(element)
    if (old !== undefined) addDotsTo(old, delta.ctx)
    delta.ctx.add(node, counter)
    this.merge(delta)
    return delta
  }

  /** Removes `element` as observed here; a no-op delta when it is absent. */
  remove(element: string): ORSet {
    const delta = new ORSet()
    const old = this.elements.get(element)
    if (old !== undefined) addDotsTo(old, delta.ctx)
    this.merge(delta)
    return delta
  }

  /** Removes every element observed here. */
  clear(): ORSet {
    const delta = new ORSet()
    for (const dots of this.elements.values()) addDotsTo(dots, delta.ctx)
    this.merge(delta)
    return delta
  }

  /** Folds `node`'s predecessors (floors.ts); an empty delta when there are none. */
  fold(node: string, retire?: Retirement): ORSet {
    const delta = new ORSet()
    const r = retirementOf(node, this.ctx, this.elements.values(), retire)
    if (r !== undefined) {
      delta.ctx.retire(r.name, r.generation)
      delta.elements = retiredEntries(this.elements, delta.ctx.floors)
    }
    return this.merge(delta) && delta
  }

  /** The replica ids with a causal-context entry (retired ones have none). */
  replicas(): Set<string> {
    return this.ctx.replicas()
  }

  get floors(): GenerationFloors {
    return this.ctx.floors
  }

  has(element: string): boolean {
    return this.elements.has(element)
  }

  values(): string[] {
    return [...this.elements.keys()].sort(compareNames)
  }

  get size(): number {
    return this.elements.size
  }

  merge(other: ORSet): this {
    this.elements = joinDotMap(this.elements, this.ctx, other.elements, other.ctx)
    this.ctx.join(other.ctx)
    return this
  }

  clone(): ORSet {
    const s = new ORSet()
    for (const [e, dots] of this.elements) s.elements.set(e, cloneDotFun(dots))
    s.ctx.join(this.ctx)
    return s
  }

  get isEmpty(): boolean {
    return this.ctx.isEmpty
  }

  /** Body: [context, [element, dots, element, dots ...]], elements sorted. */
  write(w: MsgpackWriter): void {
    w.arrayHeader(2)
    writeContext(w, this.ctx)
    const names = this.values()
    w.arrayHeader(names.length * 2)
    for (const e of names) {
      w.str(e)
      writeDotFun(w, this.elements.get(e)!, writeNil)
    }
  }

  static read(r: MsgpackReader, floors?: GenerationFloors): ORSet {
    const s = new ORSet()
    const body = readDotMapBody(r, 'or-set', 2, (r2) => ({ key: r2.str(crdtMaxStringBytes, 'set element'), readValue: readNil }), floors)
    s.ctx.join(body.ctx)
    s.elements = body.stores
    return s
  }
}
