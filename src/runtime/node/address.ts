/**
 * Address helpers of the node runtime: IP literal checks, the canonical form of what sockets report
 * (IPv4-mapped IPv6 becomes IPv4, zone ids are dropped), and `HOST:PORT` parsing for options.
 */
import type { Address } from '../../core/types.js'
import { bytesToIp, ipToBytes, parseAddress } from '../../core/types.js'

export function isIpv4(ip: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip)
}

/** The canonical text of an IP literal as the protocol core uses it; undefined when not an IP literal. */
export function normalizeIp(ip: string): string | undefined {
  const zone = ip.indexOf('%')
  const bare = zone >= 0 ? ip.slice(0, zone) : ip
  const bytes = ipToBytes(bare)
  return bytes === undefined ? undefined : bytesToIp(bytes)
}

export function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || normalizeIp(ip) === '::'
}

/** `HOST:PORT` or `[V6]:PORT` (port optional when `defaultPort` is given), IP literal host, canonical form. */
export function parseHostPort(text: string, defaultPort?: number): Address | undefined {
  if (typeof text !== 'string') return undefined
  const a = parseAddress(text.trim(), defaultPort)
  if (a === undefined) return undefined
  const ip = normalizeIp(a.ip)
  return ip === undefined ? undefined : { ip, port: a.port }
}
