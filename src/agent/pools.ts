/**
 * The agent's datacenter pools: starts its node as a plain node, or as a node of a datacenter (LAN
 * pool, and for a server also the WAN pool on --wan-bind), joins the WAN seeds in the background and
 * logs what the pool controller reports.
 *
 *   config.pools undefined ─▶ startNode(options)                       (one pool, as before)
 *   config.pools           ─▶ startDatacenterNode({ datacenter, lan: options, wan: server ? {…} : undefined })
 *                             ─▶ --join-wan seeds joined in the background, retried with backoff
 *                             ─▶ pool events logged: flood joins, WAN servers joined / failed (kept
 *                                routable: soft fail) / recovered / left, relays served, dropped and
 *                                failed over to another server
 *
 * The WAN pool starts with the agent's label and keys, unless the WAN keyring file (keyring.wan.json
 * beside the agent's keyring file) holds its own; from then on it has its own keyring, changed with
 * `grapevine keys … --wan` (HTTP /v1/keys…?wan=1) or by Serf key queries in the WAN pool, and saved to
 * that file on every change (Consul's remote.keyring). Its SWIM timings are the `wan` profile with the
 * config file's wanSwim fields over it.
 */
import type { Logger } from './log.js'
import { startNode } from '../runtime/node/start-node.js'
import type { GrapevineNode, NodeOptions } from '../runtime/node/start-node.js'
import { startDatacenterNode } from '../runtime/node/pools.js'
import type { DatacenterNode } from '../runtime/node/pools.js'
import { formatAddress } from '../pools/names.js'
import { writeKeyringFile } from './keyring-file.js'
import type { PoolEvent } from '../pools/controller.js'
import type { AgentConfig } from './config.js'

export interface AgentPools {
  readonly node: GrapevineNode
  readonly pools: DatacenterNode | undefined
}

/** Starts the agent's node (and its WAN pool when it is a server). Rejects as startNode does; nothing stays bound. */
export async function startAgentNode(config: AgentConfig, options: NodeOptions): Promise<AgentPools> {
  // The echo is a setting of coordinates: given only while they are on.
  const echo = config.coordinates ? { coordinateEcho: config.coordinateEcho } : {}
  const withCoords: NodeOptions = { ...options, coordinates: config.coordinates, ...echo }
  const p = config.pools
  if (p === undefined) return { node: await startNode(withCoords), pools: undefined }
  const pools = await startDatacenterNode({
    datacenter: p.datacenter,
    lan: withCoords,
    wan: p.server
      ? {
        bind: p.wanBind, advertise: p.wanAdvertise, config: p.wanSwim, label: options.label, coordinates: config.coordinates, ...echo,
        encryption: p.wanKeys === undefined ? options.encryption : { ...options.encryption, keys: p.wanKeys },
      }
      : undefined,
    floodIntervalMs: p.floodIntervalMs,
  })
  return { node: pools.lan, pools }
}

/** Writes the WAN pool's keyring file (servers with a keyring file; not when the keyring is empty). */
export async function saveWanKeyring(pools: DatacenterNode | undefined, config: AgentConfig): Promise<void> {
  const path = config.pools?.wanKeyringFile
  const keys = pools?.wan?.exportKeys() ?? []
  if (path === undefined || keys.length === 0) return
  await writeKeyringFile(path, keys)
}

/** Logs the pool controller's reports, keeps the WAN keyring file in step and joins the WAN seeds in the background. Returns a stop function. */
export function runAgentPools(pools: DatacenterNode, config: AgentConfig, log: Logger): () => void {
  const saveWan = (): void => void saveWanKeyring(pools, config).catch((e: Error) => log.warn({ keyringFile: config.pools?.wanKeyringFile, err: e.message }, 'WAN keyring file write failed'))
  saveWan()
  // Serf key queries in the WAN pool change its keyring from the network.
  pools.wan?.on('keyring', saveWan)
  pools.on('pool', (e: PoolEvent) => {
    switch (e.type) {
      case 'floodJoin':
        return log.info({ servers: e.servers, addresses: e.addresses.map(formatAddress) }, 'flood join: LAN servers joined into the WAN pool')
      case 'server':
        if (e.change === 'failed') return log.warn({ server: e.server, datacenter: e.datacenter }, 'WAN server failed; kept for routing, tried last (soft fail)')
        return log.info({ server: e.server, datacenter: e.datacenter }, `WAN server ${e.change}`)
      case 'relayServed':
        return log.info({ kind: e.kind, name: e.name, datacenter: e.datacenter, forwarded: e.forwarded }, e.forwarded ? 'relay forwarded over the WAN' : 'relay served in this datacenter')
      case 'relayDropped':
        return log.warn({ reason: e.reason }, 'relay or flood join failed')
      case 'relayFailover':
        return log.warn({ kind: e.kind, datacenter: e.datacenter, failed: e.failed, next: e.next, reason: e.reason }, 'relay server did not answer; trying the next one')
    }
  })
  log.info({ datacenter: pools.datacenter, server: pools.isServer, wan: pools.wan === undefined ? undefined : formatAddress(pools.wan.address) }, 'datacenter pools started')
  const seeds = config.pools?.joinWan ?? []
  const wan = pools.wan
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  if (wan !== undefined && seeds.length > 0) {
    const attempt = async (n: number): Promise<void> => {
      timer = undefined
      if (stopped) return
      try {
        const contacted = await wan.join(seeds)
        log.info({ seeds, contacted, attempt: n }, 'joined the WAN pool')
      } catch (e) {
        if (stopped) return
        const max = config.joinRetryMax
        if (max > 0 && n >= max) return void log.error({ seeds, attempts: n, err: (e as Error).message }, 'WAN join failed; giving up (flood join and the reconnect loop may still connect)')
        const delay = Math.min(30_000, config.joinRetryIntervalMs * 2 ** (n - 1))
        log.warn({ seeds, attempt: n, retryInMs: delay, err: (e as Error).message }, 'WAN join failed; retrying')
        timer = setTimeout(() => void attempt(n + 1), delay)
      }
    }
    void attempt(1)
  }
  return () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
  }
}

/** What /v1/self adds for a node of a datacenter. */
export function poolsInfo(pools: DatacenterNode | undefined): Record<string, unknown> {
  if (pools === undefined) return {}
  return {
    datacenter: { name: pools.datacenter, server: pools.isServer, wan: pools.wan === undefined ? null : formatAddress(pools.wan.address), wanMembers: pools.wan?.members().length ?? null, relays: pools.stats() },
  }
}
