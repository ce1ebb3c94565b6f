/**
 * Who is a server of which datacenter, as the LAN and WAN pools say it in their tags, and the names
 * the WAN pool uses. Pure: the pool controller (controller.ts), the real runtime and the simulator read
 * the same tags the same way.
 *
 *   LAN pool member tags:  dc=dc1                          every agent started with a datacenter
 *                          role=server wan_addr=IP:PORT    servers: where their WAN pool listens
 *   WAN pool member:       name `web-1.dc1`, tags role=server dc=dc1
 *
 * As in Consul, WAN members are named `<node>.<datacenter>` so that one WAN pool holds the servers of
 * every datacenter without name clashes; a datacenter name therefore may not contain a dot.
 */
import type { Address } from '../core/types.js'

/** The tags this module owns; a user's own tags may not use them on a node that runs pools. */
export const POOL_TAGS = { datacenter: 'dc', role: 'role', wanAddress: 'wan_addr' } as const
export const SERVER_ROLE = 'server'

/** A datacenter name: 1–64 of a–z, 0–9, `-` and `_` (Consul's rule, and no dot: WAN names split at the last one). */
export function datacenterProblem(dc: unknown, field = 'datacenter'): string | undefined {
  if (typeof dc === 'string' && /^[a-z0-9_-]{1,64}$/.test(dc)) return undefined
  return `${field}: expected 1 to 64 of a-z, 0-9, '-' and '_' like dc1 (no dot: WAN members are named NODE.DATACENTER), got ${JSON.stringify(dc)}`
}

/** The name of a server in the WAN pool: `web-1.dc1`. */
export function wanName(node: string, dc: string): string {
  return `${node}.${dc}`
}

/** A WAN member's name split at its last dot into node and datacenter; undefined when it has none. */
export function splitWanName(name: string): { readonly node: string; readonly datacenter: string } | undefined {
  const i = name.lastIndexOf('.')
  if (i <= 0 || i === name.length - 1) return undefined
  return { node: name.slice(0, i), datacenter: name.slice(i + 1) }
}

/** Tags a node adds to its LAN pool membership. */
export function lanTags(dc: string, wanAddress: Address | undefined): Record<string, string> {
  if (wanAddress === undefined) return { [POOL_TAGS.datacenter]: dc }
  return { [POOL_TAGS.datacenter]: dc, [POOL_TAGS.role]: SERVER_ROLE, [POOL_TAGS.wanAddress]: formatAddress(wanAddress) }
}

/** Tags a server carries in the WAN pool. */
export function wanTags(dc: string): Record<string, string> {
  return { [POOL_TAGS.datacenter]: dc, [POOL_TAGS.role]: SERVER_ROLE }
}

/**
 * The user tags that collide with the pools' own: each a problem naming the tag. `dc` and `wan_addr`
 * are the pools' on every node; `role` only on servers (a client may keep its own role tag: a member
 * is taken for a server only with all three).
 */
export function reservedTagProblems(tags: Readonly<Record<string, string>>, server: boolean, field = 'tags'): string[] {
  return Object.values(POOL_TAGS)
    .filter((t) => Object.hasOwn(tags, t) && (server || t !== POOL_TAGS.role))
    .map((t) => `${field}.${t}: reserved for the datacenter pools (set from the datacenter and server options); remove this tag or rename it`)
}

/** `10.0.0.5:8302`, `[::1]:8302`. */
export function formatAddress(a: Address): string {
  return a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`
}

/** `HOST:PORT` with an IP literal (the form formatAddress writes); undefined for anything else. */
export function parseAddress(text: string): Address | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535) return undefined
  const ip = m[1] ?? m[2]
  if (m[2] !== undefined && m[2].split('.').some((o) => Number(o) > 255)) return undefined
  return { ip, port }
}

/** A LAN member as a server of `dc`: its WAN address; undefined when it is not a server of that datacenter. */
export function serverWanAddress(tags: Readonly<Record<string, string>>, dc: string): Address | undefined {
  if (tags[POOL_TAGS.role] !== SERVER_ROLE || tags[POOL_TAGS.datacenter] !== dc) return undefined
  const text = tags[POOL_TAGS.wanAddress]
  return text === undefined ? undefined : parseAddress(text)
}
