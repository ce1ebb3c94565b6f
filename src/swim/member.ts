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
