/**
 * The WAN routing table: which servers each datacenter has, healthiest and nearest first, derived from
 * the WAN pool's members. Pure; recomputed from the member list when asked.
 *
 *   WAN members (name.dc, state, tags) ──routeTable──▶ dc1: [alive…, suspect…, failed…], dc2: […]
 *
 * Soft fail, as Consul's router does it: a server the WAN pool declares failed stays in the table,
 * marked `failed` and tried last, because a WAN failure often means "unreachable from here for now"
 * (a partition, a congested link) rather than "gone"; only a server that left, or that the pool
 * forgot (reaped), is removed. Members that are not servers (no role=server tag, or a name that is
 * not NODE.DC) are ignored.
 */
import type { Address } from '../core/types.js'
import type { MemberState } from '../node/index.js'
import { POOL_TAGS, SERVER_ROLE, splitWanName } from './names.js'

/** A pool member as the pool code needs it (the real runtime's Member and the simulator's MemberInfo both fit). */
export interface PoolMember {
  readonly name: string
  readonly address: Address
  readonly state: MemberState
  readonly tags: Readonly<Record<string, string>>
}

/** One server of a datacenter as the WAN pool sees it. */
export interface RoutedServer {
  /** Its WAN member name, `web-1.dc1`. */
  readonly name: string
  /** Its name in its own LAN pool. */
  readonly node: string
  readonly datacenter: string
  readonly address: Address
  readonly state: MemberState
  /** Soft-failed: the WAN pool declared it failed; kept, but tried after every live server. */
  readonly failed: boolean
  /** Estimated round trip from this server in ms (network coordinates), when known. */
  readonly rttMs: number | undefined
}

const STATE_RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 }

/**
 * Datacenters (sorted by name) and their routable servers: alive first, then suspect, then failed,
 * each group nearest first (unknown distances last), ties by name.
 */
export function routeTable(wanMembers: readonly PoolMember[], rttMs: (name: string) => number | undefined = () => undefined): Map<string, RoutedServer[]> {
  const byDc = new Map<string, RoutedServer[]>()
  for (const m of wanMembers) {
    if (m.state === 'left' || m.tags[POOL_TAGS.role] !== SERVER_ROLE) continue
    const split = splitWanName(m.name)
    if (split === undefined || split.datacenter !== m.tags[POOL_TAGS.datacenter]) continue
    const list = byDc.get(split.datacenter) ?? []
    list.push({ name: m.name, node: split.node, datacenter: split.datacenter, address: m.address, state: m.state, failed: m.state === 'dead', rttMs: rttMs(m.name) })
    byDc.set(split.datacenter, list)
  }
  for (const list of byDc.values()) {
    list.sort((a, b) => STATE_RANK[a.state] - STATE_RANK[b.state] || (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
  return new Map([...byDc.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** What happened to a WAN server between two looks at the pool: the soft-fail report. */
export type ServerChange = 'joined' | 'failed' | 'recovered' | 'left'

/**
 * Compares a server's WAN state before and after a membership event. `failed` is reported once when a
 * server is declared dead (it stays routable, see above), `recovered` when a failed one is alive
 * again, `left` when it left or was forgotten.
 */
export function serverChange(before: MemberState | undefined, after: MemberState | undefined): ServerChange | undefined {
  if (after === undefined || after === 'left') return before !== undefined && before !== 'left' ? 'left' : undefined
  if (after === 'dead') return before !== 'dead' ? 'failed' : undefined
  if (before === 'dead') return 'recovered'
  return before === undefined || before === 'left' ? 'joined' : undefined
}
