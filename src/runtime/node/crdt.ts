/**
 * `node.crdt`: the replicated data types of a running node, typed per kind.
 *
 *   node.crdt.counter('requests').increment(n) ──▶ driver.run(node.crdtWrite(…)) ──▶ delta queued for gossip
 *        └─▶ with a data directory: the key committed to disk (synchronously) before its delta is queued;
 *            a failed commit rejects with CrdtCommitError and nothing changed or spread
 *        └─▶ consistency 'majority' | 'all': a `grapevine-crdt` query carries the delta; resolves when
 *            enough members merged it, rejects with CrdtConsistencyError at the timeout
 *   .value() ──▶ the local state, at once;   .value({ consistency: 'majority' }) ──▶ merged with what a
 *            majority of members answered
 *   subscribe(key, cb) ◀── `crdtChanged` events (our writes and what peers sent)
 *
 * Nothing here is replicated by hand: the protocol is src/replication/ inside the composed node.
 */
import { ConfigError, CRDT_QUERY, hyparviewRefusal, SERF_QUERY_SIZE_LIMIT, crdtKey, decodeReplicationMessage, encodeCrdt, encodeReplicationMessage, parseKey } from '../../node/index.js'
import type { ComposedNode, Crdt, CrdtKind, CrdtKinds, HybridClock, KeyChange, NodeEvent } from '../../node/index.js'
import type { Driver } from './driver.js'
import type { CrdtStore } from './crdt-store.js'

export type Consistency = 'local' | 'majority' | 'all'

export interface CrdtOptions {
  /** 'local' (default): done when applied here (and on disk). 'majority' / 'all': also merged by that many live members. */
  readonly consistency?: Consistency
  /** How long 'majority' / 'all' wait, ms. Default 5000. */
  readonly timeoutMs?: number
}

/** A read or write whose consistency level was not reached in time. Blast radius: the write is applied here and spreads anyway. */
export class CrdtConsistencyError extends Error {
  override readonly name = 'CrdtConsistencyError'
}

export interface CounterHandle {
  increment(by?: number, o?: CrdtOptions): Promise<void>
  decrement(by?: number, o?: CrdtOptions): Promise<void>
  value(): number
  value(o: CrdtOptions): Promise<number>
}
export interface SetHandle {
  add(element: string, o?: CrdtOptions): Promise<void>
  remove(element: string, o?: CrdtOptions): Promise<void>
  has(element: string): boolean
  values(): string[]
  values(o: CrdtOptions): Promise<string[]>
}
export interface RegisterHandle {
  set(value: string, o?: CrdtOptions): Promise<void>
  value(): string | undefined
  value(o: CrdtOptions): Promise<string | undefined>
}
export interface FlagHandle {
  enable(o?: CrdtOptions): Promise<void>
  disable(o?: CrdtOptions): Promise<void>
  value(): boolean
  value(o: CrdtOptions): Promise<boolean>
}
/** An OR-Map's fields: counters, flags, sets and LWW registers, each by field name. */
export interface MapHandle {
  increment(field: string, by?: number, o?: CrdtOptions): Promise<void>
  enable(field: string, o?: CrdtOptions): Promise<void>
  disable(field: string, o?: CrdtOptions): Promise<void>
  add(field: string, element: string, o?: CrdtOptions): Promise<void>
  removeElement(field: string, element: string, o?: CrdtOptions): Promise<void>
  set(field: string, value: string, o?: CrdtOptions): Promise<void>
  /** Removes a field (reset-remove: concurrent updates elsewhere survive). */
  delete(kind: 'counter' | 'flag' | 'set' | 'lww', field: string, o?: CrdtOptions): Promise<void>
  value(): MapValue
  value(o: CrdtOptions): Promise<MapValue>
}
export interface MapValue {
  readonly counters: Record<string, number>
  readonly flags: Record<string, boolean>
  readonly sets: Record<string, string[]>
  readonly registers: Record<string, string | undefined>
}

export interface CrdtApi {
  counter(name: string): CounterHandle
  set(name: string): SetHandle
  map(name: string): MapHandle
  register(name: string): RegisterHandle
  flag(name: string): FlagHandle
  /** Calls `cb` after each change of `key` (`kind/name`, e.g. `counter/requests`); returns the unsubscribe. */
  subscribe(key: string, cb: (change: KeyChange) => void): () => void
  /** Every key held here (`kind/name`), sorted. */
  keys(): readonly string[]
  /** A key's value as plain JSON (what the HTTP API and the CLI show); undefined when absent. */
  read(key: string): unknown
}

const DEFAULT_TIMEOUT_MS = 5000

type Mutate<K extends CrdtKind> = (s: CrdtKinds[K], replica: string, clock: HybridClock, wallMs: number) => Crdt

export class NodeCrdt implements CrdtApi {
  private readonly subscribers = new Map<string, Set<(c: KeyChange) => void>>()

  constructor(
    private readonly driver: Driver,
    private readonly node: ComposedNode,
    /** The handle's query (it resolves at the deadline; answers arrive through onResponse). */
    private readonly query: (name: string, payload: Uint8Array, opts: { timeoutMs: number; onResponse: (from: string, payload: Uint8Array) => void }) => Promise<unknown>,
    private readonly store: CrdtStore | undefined,
  ) {
    driver.events.on('event', (e: NodeEvent) => {
      if (e.type !== 'crdtChanged') return
      this.store?.changed(e.changes)
      for (const c of e.changes) for (const cb of this.subscribers.get(c.key) ?? []) cb(c)
    })
  }

  counter(name: string): CounterHandle {
    const get = (): number => this.state('counter', name)?.value() ?? 0
    return {
      increment: (by = 1, o) => this.write('counter', name, (s, id) => s.increment(id, by), o),
      decrement: (by = 1, o) => this.write('counter', name, (s, id) => s.decrement(id, by), o),
      value: ((o?: CrdtOptions) => (o === undefined ? get() : this.readWith('counter', name, o).then(get))) as CounterHandle['value'],
    }
  }

  set(name: string): SetHandle {
    const get = (): string[] => this.state('set', name)?.values() ?? []
    return {
      add: (x, o) => this.write('set', name, (s, id) => s.add(id, x), o),
      remove: (x, o) => this.write('set', name, (s) => s.remove(x), o),
      has: (x) => this.state('set', name)?.has(x) ?? false,
      values: ((o?: CrdtOptions) => (o === undefined ? get() : this.readWith('set', name, o).then(get))) as SetHandle['values'],
    }
  }

  register(name: string): RegisterHandle {
    const get = (): string | undefined => this.state('register', name)?.value()
    return {
      set: (v, o) => this.write('register', name, (s, id, clock, wall) => s.assign(id, v, clock, wall), o),
      value: ((o?: CrdtOptions) => (o === undefined ? get() : this.readWith('register', name, o).then(get))) as RegisterHandle['value'],
    }
  }

  flag(name: string): FlagHandle {
    const get = (): boolean => this.state('flag', name)?.value() ?? false
    return {
      enable: (o) => this.write('flag', name, (s, id) => s.enable(id), o),
      disable: (o) => this.write('flag', name, (s) => s.disable(), o),
      value: ((o?: CrdtOptions) => (o === undefined ? get() : this.readWith('flag', name, o).then(get))) as FlagHandle['value'],
    }
  }

  map(name: string): MapHandle {
    const get = (): MapValue => mapValue(this.state('map', name))
    return {
      increment: (f, by = 1, o) => this.write('map', name, (s, id) => s.increment(id, f, by), o),
      enable: (f, o) => this.write('map', name, (s, id) => s.enable(id, f), o),
      disable: (f, o) => this.write('map', name, (s) => s.disable(f), o),
      add: (f, x, o) => this.write('map', name, (s, id) => s.addElement(id, f, x), o),
      removeElement: (f, x, o) => this.write('map', name, (s) => s.removeElement(f, x), o),
      set: (f, v, o) => this.write('map', name, (s, id, clock, wall) => s.assignLww(id, f, v, clock, wall), o),
      delete: (kind, f, o) => this.write('map', name, (s) => s.remove(kind, f), o),
      value: ((o?: CrdtOptions) => (o === undefined ? get() : this.readWith('map', name, o).then(get))) as MapHandle['value'],
    }
  }

  subscribe(key: string, cb: (change: KeyChange) => void): () => void {
    if (parseKey(key) === undefined) throw new ConfigError([`key: expected kind/name with kind one of counter, gcounter, set, map, register, mvregister, flag (e.g. counter/requests), got ${JSON.stringify(key)}`])
    if (typeof cb !== 'function') throw new ConfigError(['callback: expected a function'])
    let set = this.subscribers.get(key)
    if (set === undefined) this.subscribers.set(key, (set = new Set()))
    set.add(cb)
    return () => void set.delete(cb)
  }

  keys(): readonly string[] {
    return this.replicator().keys()
  }

  read(key: string): unknown {
    const p = parseKey(key)
    if (p === undefined) return undefined
    const s = this.replicator().get(p.kind, p.name)
    if (s === undefined) return undefined
    switch (s.type) {
      case 'g-counter':
      case 'pn-counter':
      case 'flag':
        return s.value()
      case 'or-set':
        return s.values()
      case 'lww-register':
        return s.value() ?? null
      case 'mv-register':
        return s.values()
      case 'or-map':
        return mapValue(s)
    }
  }

  // ------------------------------------------------------------------ internals

  private replicator(): NonNullable<ComposedNode['crdt']> {
    const r = this.node.crdt
    if (r === undefined) throw new ConfigError(['membershipOnly: replicated data types need Grapevine\'s stack; start the node without membershipOnly'])
    return r
  }

  private state<K extends CrdtKind>(kind: K, name: string): CrdtKinds[K] | undefined {
    return this.replicator().get(kind, name)
  }

  private async write<K extends CrdtKind>(kind: K, name: string, mutate: Mutate<K>, o: CrdtOptions | undefined): Promise<void> {
    const level = checkOptions(o, this.node.overlay !== undefined)
    let delta: Crdt | undefined
    this.driver.run((now, out) => {
      delta = this.node.crdtWrite((r) => r.write(kind, name, (s, id, clock) => mutate(s, id, clock, Date.now())), now, out)
    })
    // The write itself was committed to disk inside crdtWrite (a failed commit threw CrdtCommitError above and
    // nothing was queued); this writes what peers changed meanwhile.
    this.store?.flush()
    if (level === 'local' || delta === undefined || delta.isEmpty) return
    const key = crdtKey(kind, name)
    const payload = encodeReplicationMessage({ kind: 'states', states: [{ key, state: encodeCrdt(delta), seqs: [], want: false }], need: [] })
    if (payload.length > SERF_QUERY_SIZE_LIMIT - 256) {
      throw new CrdtConsistencyError(`${key}: the write's delta is ${payload.length} bytes; consistency '${level}' sends it in a Serf query, at most ${SERF_QUERY_SIZE_LIMIT - 256} bytes. The write is applied here and spreads by gossip; use consistency 'local' for writes this large`)
    }
    await this.gather(key, payload, level, o?.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => true)
  }

  /** Asks members for their state of the key and merges their answers, until `level` answered. */
  private async readWith(kind: CrdtKind, name: string, o: CrdtOptions): Promise<void> {
    const level = checkOptions(o, this.node.overlay !== undefined)
    if (level === 'local') return
    const key = crdtKey(kind, name)
    const payload = encodeReplicationMessage({ kind: 'states', states: [], need: [key] })
    await this.gather(key, payload, level, o.timeoutMs ?? DEFAULT_TIMEOUT_MS, (answer) => {
      const d = decodeReplicationMessage(answer)
      if (!d.ok || d.value.kind !== 'states') return false
      // An answer without our key's state: the member lacks it (fine) or it did not fit (unreadable).
      if (d.value.need.length > 0) return false
      if (d.value.states.length > 0) this.driver.run((now, out) => this.node.crdtWrite((r) => r.mergeRemoteState(answer), now, out))
      return true
    })
  }

  private gather(key: string, payload: Uint8Array, level: Consistency, timeoutMs: number, take: (answer: Uint8Array) => boolean): Promise<void> {
    // A suspect member is still a member: 'all' waits for it too.
    const members = this.node.members().filter((m) => m.state === 'alive' || m.state === 'suspect').length
    const needed = level === 'all' ? members : Math.floor(members / 2) + 1
    // We hold the write (or our own state for a read): we count as one, without waiting for our own answer.
    const answered = new Set<string>([this.node.name])
    let unreadable = 0
    if (answered.size >= needed) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      let done = false
      const onResponse = (from: string, answer: Uint8Array): void => {
        if (done || answered.has(from)) return
        if (!take(answer)) return void unreadable++
        answered.add(from)
        if (answered.size >= needed) {
          done = true
          resolve()
        }
      }
      this.query(CRDT_QUERY, payload, { timeoutMs, onResponse }).then(
        () => {
          if (done) return
          done = true
          const why = unreadable > 0 ? ` (${unreadable} answered with a state larger than Serf's ${SERF_QUERY_SIZE_LIMIT}-byte query response)` : ''
          reject(new CrdtConsistencyError(`${key}: consistency '${level}' not reached: ${answered.size} of ${members} live members answered within ${timeoutMs} ms, ${needed} needed${why}`))
        },
        (e: unknown) => {
          done = true
          reject(e as Error)
        },
      )
    })
  }
}

/** Checks the options; `partialView`: the node runs membership 'hyparview', where only 'local' can work. */
function checkOptions(o: CrdtOptions | undefined, partialView: boolean): Consistency {
  const level = o?.consistency ?? 'local'
  if (partialView && (level === 'majority' || level === 'all')) throw hyparviewRefusal('consistency levels')
  const problems: string[] = []
  if (level !== 'local' && level !== 'majority' && level !== 'all') problems.push(`consistency: expected 'local', 'majority' or 'all', got ${JSON.stringify(level)}`)
  const t = o?.timeoutMs
  if (t !== undefined && !(Number.isFinite(t) && t > 0)) problems.push(`timeoutMs: expected a positive number of milliseconds, got ${JSON.stringify(t)}`)
  if (problems.length > 0) throw new ConfigError(problems)
  return level
}

function mapValue(s: CrdtKinds['map'] | undefined): MapValue {
  const v: MapValue = { counters: {}, flags: {}, sets: {}, registers: {} }
  for (const { kind, name } of s?.keys() ?? []) {
    if (kind === 'counter') v.counters[name] = s!.counter(name)
    else if (kind === 'flag') v.flags[name] = s!.flag(name)
    else if (kind === 'set') v.sets[name] = s!.set(name)
    else if (kind === 'lww') v.registers[name] = s!.lww(name)
    else v.registers[name] = s!.register(name).join(',')
  }
  return v
}
