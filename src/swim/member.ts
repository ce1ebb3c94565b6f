/**
 * The member table's entries and the state lattice.
 *
 * Precedence at one incarnation: dead/left > suspect > alive; an alive beats the others only with a
 * strictly higher incarnation (memberlist state.go). `forgotten` marks dead or left members that the
 * protocol no longer carries (memberlist drops them from its node list after GossipToTheDeadTime);
 * they stay in the table, for reconnect attempts and reporting, until reaped.
 */
import type { Address } from '../core/types.js'
import { bytesToIp } from '../core/types.js'
import type { MemberInfo, MemberState } from './events.js'

export interface Member {
  readonly name: string
  address: Address
  addr: Uint8Array
  state: MemberState
  incarnation: number
  meta: Uint8Array
  vsn: Uint8Array
  stateChangeMs: number
  forgotten: boolean
  /** When a packet last came to us from this member's own address (calm healing); -Infinity: never. */
  heardMs?: number
}

export const EMPTY = new Uint8Array(0)

export function snapshot(m: Member): MemberInfo {
  return {
    name: m.name,
    address: m.address,
    state: m.state,
    incarnation: m.incarnation,
    meta: m.meta,
    vsn: m.vsn,
    stateChangeMs: m.stateChangeMs,
  }
}

export function addressFromWire(addr: Uint8Array, port: number): Address | undefined {
  const ip = bytesToIp(addr)
  return ip === undefined ? undefined : { ip, port }
}

export function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  const x = a ?? EMPTY
  const y = b ?? EMPTY
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}

export function isDeadOrLeft(state: MemberState): boolean {
  return state === 'dead' || state === 'left'
}

/** Protocol max version (PMax) advertised in a Vsn array. */
export function protocolMax(vsn: Uint8Array): number {
  return vsn.length >= 2 ? vsn[1] : 0
}

/**
 * Interning of the small byte arrays and addresses every member entry holds. A 1000-node cluster has
 * a million member entries across its nodes in one simulator process, nearly all with the same Vsn and
 * each address repeated in every view; sharing them is what keeps a simulated node under 0.5 MB.
 * Bounded: a cache that grows past its limit starts over (only sharing is lost, never correctness).
 * Interned values are never mutated.
 */
const INTERN_LIMIT = 65_536
const vsnCache = new Map<number, Uint8Array>()
const addrCache = new Map<string, Address>()

export function internVsn(vsn: Uint8Array): Uint8Array {
  if (vsn.length !== 6) return vsn
  const key = ((vsn[0] * 256 + vsn[1]) * 256 + vsn[2]) * 16_777_216 + (vsn[3] * 256 + vsn[4]) * 256 + vsn[5]
  const hit = vsnCache.get(key)
  if (hit !== undefined) return hit
  if (vsnCache.size >= INTERN_LIMIT) vsnCache.clear()
  const copy = vsn.slice()
  vsnCache.set(key, copy)
  return copy
}

/** The shared Address (and its IP bytes) for wire bytes and a port; undefined when not an IP. */
export function internAddress(addr: Uint8Array, port: number): { address: Address; addr: Uint8Array } | undefined {
  let key = String(port)
  for (let i = 0; i < addr.length; i++) key += ',' + addr[i]
  const hit = addrCache.get(key)
  if (hit !== undefined) return { address: hit, addr: ipBytesOf(hit) }
  const ip = bytesToIp(addr)
  if (ip === undefined) return undefined
  const address: Address = { ip, port }
  ipBytes.set(address, addr.slice())
  if (addrCache.size >= INTERN_LIMIT) addrCache.clear()
  addrCache.set(key, address)
  return { address, addr: ipBytesOf(address) }
}

const ipBytes = new WeakMap<Address, Uint8Array>()
function ipBytesOf(a: Address): Uint8Array {
  return ipBytes.get(a)!
}
