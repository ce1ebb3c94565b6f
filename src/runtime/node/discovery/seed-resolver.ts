/**
 * Seed texts → addresses, every time they are asked for (each join attempt, each rediscovery round),
 * so a name's current records are what a node joins:
 *
 *   'HOST:PORT'          address literal as is; host name through the system resolver (lookup, all addresses)
 *   dns://NAME:PORT      Resolver.resolve4 + resolve6 (both asked; one family missing is fine)
 *   srv://_s._p.NAME     Resolver.resolveSrv, then each target's A/AAAA, at the record's port
 *   k8s://NS?…           kubernetes.ts (EndpointSlices)
 *
 * dns:// and srv:// use node:dns's Resolver (c-ares), with `dnsServers` when given (tests point it at a
 * server on loopback) and the system's otherwise. A seed that fails (NXDOMAIN, no records, API down)
 * becomes one line in `errors` naming the seed and the cause; the others still count.
 */
import { Resolver } from 'node:dns/promises'
import { lookup } from 'node:dns/promises'
import type { Address } from '../../../core/types.js'
import { addressKey } from '../../../core/types.js'
import { normalizeIp } from '../address.js'
import { resolveKubernetes } from './kubernetes.js'
import type { KubernetesOptions } from './kubernetes.js'
import { parseSeed } from './seed-spec.js'
import type { SeedSpec } from './seed-spec.js'

export interface DiscoveryOptions {
  /**
   * After the join, resolve the seeds again this often and join any address that is not a live member
   * (as chitchat re-resolves its seeds), so two halves that formed apart find each other. Only seeds
   * that name something to look up (host names, dns://, srv://, k8s://) are re-resolved. Default 30000; 0 turns it off.
   */
  readonly rediscoverIntervalMs?: number
  /** DNS servers for dns:// and srv:// ('10.0.0.2', '127.0.0.1:5353'). Default: the system's (/etc/resolv.conf). */
  readonly dnsServers?: readonly string[]
  /** Per DNS query timeout. Default 2000 (two tries). */
  readonly dnsTimeoutMs?: number
  /** For k8s:// seeds: where the API, the token and the CA are (defaults: the in-pod ones). */
  readonly kubernetes?: KubernetesOptions
}

export const DEFAULT_REDISCOVER_INTERVAL_MS = 30_000

export interface Resolved {
  /** Every address found, once each. */
  readonly addresses: Address[]
  /** One line per seed that failed, naming it. */
  readonly errors: string[]
}

/** Checks `discovery` options; returns a problem per bad field (empty when fine). */
export function discoveryProblems(d: DiscoveryOptions | undefined): string[] {
  if (d === undefined) return []
  if (d === null || typeof d !== 'object') return [`discovery: expected an object like { rediscoverIntervalMs: 30000 }, got ${JSON.stringify(d)}`]
  const p: string[] = []
  const known = ['rediscoverIntervalMs', 'dnsServers', 'dnsTimeoutMs', 'kubernetes']
  for (const k of Object.keys(d)) if (!known.includes(k)) p.push(`discovery.${k}: not an option; options are ${known.join(', ')}`)
  const ms = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0
  if (d.rediscoverIntervalMs !== undefined && !ms(d.rediscoverIntervalMs)) p.push(`discovery.rediscoverIntervalMs: expected whole milliseconds ≥ 0 (0 turns rediscovery off), got ${JSON.stringify(d.rediscoverIntervalMs)}`)
  if (d.dnsTimeoutMs !== undefined && !(ms(d.dnsTimeoutMs) && d.dnsTimeoutMs > 0)) p.push(`discovery.dnsTimeoutMs: expected whole milliseconds > 0, got ${JSON.stringify(d.dnsTimeoutMs)}`)
  if (d.dnsServers !== undefined && !(Array.isArray(d.dnsServers) && d.dnsServers.every((s) => typeof s === 'string'))) {
    p.push(`discovery.dnsServers: expected an array of 'IP' or 'IP:PORT' strings, got ${JSON.stringify(d.dnsServers)}`)
  }
  const k = d.kubernetes
  if (k !== undefined) {
    if (k === null || typeof k !== 'object') p.push(`discovery.kubernetes: expected an object like { apiUrl: 'https://10.96.0.1' }, got ${JSON.stringify(k)}`)
    else {
      for (const f of ['apiUrl', 'tokenFile', 'caFile', 'namespaceFile'] as const) {
        if (k[f] !== undefined && typeof k[f] !== 'string') p.push(`discovery.kubernetes.${f}: expected a string, got ${JSON.stringify(k[f])}`)
      }
      if (typeof k.apiUrl === 'string' && !/^https?:\/\/[^/]+\/?$/.test(k.apiUrl)) p.push(`discovery.kubernetes.apiUrl: expected https://HOST[:PORT], got ${JSON.stringify(k.apiUrl)}`)
      if (k.timeoutMs !== undefined && !(ms(k.timeoutMs) && k.timeoutMs > 0)) p.push(`discovery.kubernetes.timeoutMs: expected whole milliseconds > 0, got ${JSON.stringify(k.timeoutMs)}`)
    }
  }
  return p
}

export class SeedResolver {
  private readonly resolver: Resolver

  constructor(
    private readonly defaultPort: number,
    private readonly options: DiscoveryOptions = {},
  ) {
    this.resolver = new Resolver({ timeout: options.dnsTimeoutMs ?? 2000, tries: 2 })
    if (options.dnsServers !== undefined && options.dnsServers.length > 0) this.resolver.setServers([...options.dnsServers])
  }

  /** Parses a seed text (throws an Error naming it and the fix). */
  parse(text: string): SeedSpec {
    return parseSeed(text, this.defaultPort)
  }

  /** Resolves every seed now; never throws: failures are lines in `errors`. */
  async resolveAll(texts: readonly string[]): Promise<Resolved> {
    const results = await Promise.all(
      texts.map(async (text) => {
        try {
          const found = await this.resolve(this.parse(text))
          if (found.length === 0) return { addresses: [], error: `${text}: resolved to no address` }
          return { addresses: found, error: undefined }
        } catch (e) {
          const m = (e as Error).message
          return { addresses: [], error: m.startsWith(JSON.stringify(text)) || m.startsWith(text) ? m : `${text}: ${m}` }
        }
      }),
    )
    const seen = new Set<string>()
    const addresses: Address[] = []
    const errors: string[] = []
    for (const r of results) {
      if (r.error !== undefined) errors.push(r.error)
      for (const a of r.addresses) {
        if (seen.has(addressKey(a))) continue
        seen.add(addressKey(a))
        addresses.push(a)
      }
    }
    return { addresses, errors }
  }

  private async resolve(spec: SeedSpec): Promise<Address[]> {
    switch (spec.kind) {
      case 'address':
        return [spec.address]
      case 'host': {
        const found = await lookup(spec.host, { all: true }).catch((e: NodeJS.ErrnoException) => {
          throw new Error(dnsFailure(spec.host, e))
        })
        return ips(found.map((f) => f.address)).map((ip) => ({ ip, port: spec.port }))
      }
      case 'dns':
        return (await this.addressesOf(spec.name)).map((ip) => ({ ip, port: spec.port }))
      case 'srv': {
        const records = await this.resolver.resolveSrv(spec.name).catch((e: NodeJS.ErrnoException) => {
          throw new Error(dnsFailure(spec.name, e, 'SRV'))
        })
        if (records.length === 0) throw new Error(`no SRV records for ${spec.name}`)
        const out: Address[] = []
        const failures: string[] = []
        await Promise.all(
          records.map(async (r) => {
            try {
              const literal = normalizeIp(r.name)
              for (const ip of literal !== undefined ? [literal] : await this.addressesOf(r.name)) out.push({ ip, port: r.port })
            } catch (e) {
              failures.push((e as Error).message)
            }
          }),
        )
        if (out.length === 0) throw new Error(`SRV targets of ${spec.name} resolve to no address: ${failures.join('; ')}`)
        return out
      }
      case 'k8s':
        return resolveKubernetes(spec.namespace, spec.labelSelector, spec.port, this.options.kubernetes)
    }
  }

  /** A and AAAA of `name`: an error only when both fail or both are empty. */
  private async addressesOf(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)])
    const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]
    if (found.length > 0) return ips(found)
    const failure = [v4, v6].find((r): r is PromiseRejectedResult => r.status === 'rejected' && (r.reason as NodeJS.ErrnoException).code !== 'ENODATA')
    if (failure !== undefined) throw new Error(dnsFailure(name, failure.reason as NodeJS.ErrnoException))
    throw new Error(`${name} has no A or AAAA records`)
  }
}

function ips(texts: readonly string[]): string[] {
  return texts.map((t) => normalizeIp(t)).filter((ip): ip is string => ip !== undefined)
}

/** A DNS error in words: NXDOMAIN, no records, timeouts, refused. */
function dnsFailure(name: string, e: NodeJS.ErrnoException, type = 'A/AAAA'): string {
  switch (e.code) {
    case 'ENOTFOUND':
      return `${name}: no such name (NXDOMAIN)`
    case 'ENODATA':
      return `${name}: no ${type} records`
    case 'ETIMEOUT':
      return `${name}: the DNS server did not answer (timeout)`
    case 'ECONNREFUSED':
      return `${name}: the DNS server refused the connection`
    case 'ESERVFAIL':
      return `${name}: the DNS server failed (SERVFAIL)`
    case 'EREFUSED':
      return `${name}: the DNS server refused the query (REFUSED)`
    default:
      return `${name}: DNS lookup failed (${e.code ?? e.message})`
  }
}
