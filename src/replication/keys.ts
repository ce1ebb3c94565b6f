/**
 * Replicated keys: a key is `kind/name`, and its kind fixes its CRDT type, so `counter/requests` and
 * `set/requests` are two keys and two nodes can never disagree on a key's type.
 *
 *   counter → PN-Counter    gcounter → G-Counter    set → OR-Set (ORSWOT)    map → OR-Map
 *   register → LWW-Register (HLC)    mvregister → MV-Register    flag → enable-wins Flag
 */
import { ConfigError } from '../core/errors.js'
import { EnableWinsFlag, GCounter, LwwRegister, MVRegister, ORMap, ORSet, PNCounter, type CrdtType } from '../crdt/index.js'
import { utf8Length } from '../wire/msgpack-writer.js'
import { KEY_MAX_BYTES } from './messages.js'

export interface CrdtKinds {
  counter: PNCounter
  gcounter: GCounter
  set: ORSet
  map: ORMap
  register: LwwRegister
  mvregister: MVRegister
  flag: EnableWinsFlag
}
export type CrdtKind = keyof CrdtKinds

export const CRDT_KINDS: readonly CrdtKind[] = ['counter', 'gcounter', 'set', 'map', 'register', 'mvregister', 'flag']

const makers: { readonly [K in CrdtKind]: () => CrdtKinds[K] } = {
  counter: () => new PNCounter(),
  gcounter: () => new GCounter(),
  set: () => new ORSet(),
  map: () => new ORMap(),
  register: () => new LwwRegister(),
  mvregister: () => new MVRegister(),
  flag: () => new EnableWinsFlag(),
}

/** An empty state of a kind. */
export function emptyState<K extends CrdtKind>(kind: K): CrdtKinds[K] {
  return makers[kind]()
}

/** The CRDT type each kind is stored as. */
export const kindType = Object.fromEntries(CRDT_KINDS.map((k) => [k, makers[k]().type])) as Readonly<Record<CrdtKind, CrdtType>>

export function isCrdtKind(s: string): s is CrdtKind {
  return (CRDT_KINDS as readonly string[]).includes(s)
}

/** The key of `name` of `kind`. Throws ConfigError for an empty or too long name, or an unknown kind. */
export function crdtKey(kind: CrdtKind, name: string): string {
  if (!isCrdtKind(kind)) throw new ConfigError([`kind: expected one of ${CRDT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`])
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError([`name: expected a non-empty string, got ${JSON.stringify(name)}`])
  const max = KEY_MAX_BYTES - kind.length - 1
  if (utf8Length(name) > max) throw new ConfigError([`name: a ${kind} name may be at most ${max} bytes of UTF-8, got ${utf8Length(name)}; use a shorter name`])
  return `${kind}/${name}`
}

/** The kind and name of a key, or undefined when it is not `kind/name` with a known kind. */
export function parseKey(key: string): { readonly kind: CrdtKind; readonly name: string } | undefined {
  const slash = key.indexOf('/')
  if (slash <= 0 || slash === key.length - 1) return undefined
  const kind = key.slice(0, slash)
  return isCrdtKind(kind) ? { kind, name: key.slice(slash + 1) } : undefined
}

/** The member a replica id belongs to: `name#generation` → name. */
export function replicaMember(replica: string): string {
  const hash = replica.lastIndexOf('#')
  return hash <= 0 ? replica : replica.slice(0, hash)
}

/** A node's replica id for one incarnation: its name and the generation it started with. */
export function replicaId(name: string, generation: number): string {
  return `${name}#${generation}`
}

/**
 * A 53-bit hash of bytes (two 32-bit FNV-1a-style lanes with different multipliers; not cryptographic):
 * the per-key digest anti-entropy compares. Written here because it is six lines and wants no package.
 */
export function hash53(bytes: Uint8Array): number {
  let h1 = 0xdeadbeef ^ bytes.length
  let h2 = 0x41c6ce57 ^ bytes.length
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    h1 = Math.imul(h1 ^ b, 2654435761)
    h2 = Math.imul(h2 ^ b, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}
