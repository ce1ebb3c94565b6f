/**
 * startNode: the library's front door. Validates the options once, binds TCP then UDP on the same
 * port, builds the composed node (src/node/) from the resolved settings, runs it under the Driver and
 * joins the given seeds (resolved by discovery/: addresses, host names, dns://, srv://, k8s://), which are
 * then re-resolved periodically (discovery/rediscovery.ts).
 *
 *   const node = await startNode({ name: 'api-1', bind: '10.0.0.5:7946', join: ['10.0.0.4:7946'], tags: { role: 'api' } })
 *   node.on('member', (e) => console.log(e.type, e.member.name, e.member.tags))
 *   await node.leave(); await node.shutdown()
 *
 * Errors: startNode rejects with a ConfigError (nothing was bound) for bad options, with the system
 * error (EADDRINUSE, …; everything bound so far is closed again) when a socket cannot be bound, and
 * with a JoinError when `join` was given and no seed answered, or a NameConflictError when
 * a live member already holds its name at another address (the node is shut down again).
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import { SeededRng } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import { ComposedNode, ConfigError } from '../../node/index.js'
import type { DropReason } from '../../node/index.js'
import { isIpv4, isUnspecified, normalizeIp } from './address.js'
import { DEFAULT_REDISCOVER_INTERVAL_MS, SeedResolver } from './discovery/seed-resolver.js'
import type { GrapevineNode, NodeEventName } from './api.js'
import { cryptoRandom } from './crypto-random.js'
import { nodeAead } from '../../wire/aead-node.js'
import { Driver } from './driver.js'
import { NodeHandle } from './handle.js'
import { DEFAULT_PORT, resolveNodeOptions } from './options.js'
import type { NodeOptions } from './options.js'
import { TcpTransport } from './tcp.js'
import { CrdtStore } from './crdt-store.js'
import { UdpTransport } from './udp.js'

export { DEFAULT_PORT, resolveNodeOptions } from './options.js'
export type { NodeOptions, NodeListeners, EncryptionOptions, ResolvedNodeOptions } from './options.js'
export type { DiscoveryOptions } from './discovery/seed-resolver.js'
export type { KubernetesOptions } from './discovery/kubernetes.js'
export { JoinError, UnknownMemberError, NameConflictError, serfEventId, SERF_BROADCAST_TIMEOUT_MS } from './api.js'
export type {
  BroadcastMessage, BroadcastOptions, DiscoveryEvent, ReachabilityReport, EncryptionStatus, GrapevineNode, Member, MemberEvent, MemberEventType, NodeEventName, NodeStateApi,
  ProtocolStats, QueryOptions, QueryResult, SerfQueryEvent, Traffic, Coordinate, CoordinateStats, RttEstimate,
} from './api.js'

export async function startNode(options: NodeOptions = {}): Promise<GrapevineNode> {
  const o = resolveNodeOptions(options)
  // Durable replicated data is read back first: a bad data file fails the start before anything is bound.
  const durable = o.dataDir === undefined ? undefined : await CrdtStore.open(o.dataDir, o.settings.name, o.settings.generation)
  let driverRef: Driver | undefined
  let node: ComposedNode
  let udp: UdpTransport, tcp: TcpTransport
  try {
    ;({ udp, tcp } = await bindBoth(o.bind, o.settings.config.streamTimeoutMs, () => driverRef))
    let address: Address
    try {
      address = o.advertise ?? defaultAdvertise(o.bind, tcp.port)
      node = new ComposedNode({ ...o.settings, address, crdtRestore: durable?.restore }, { rng: new SeededRng(randomBytes(4).readUInt32LE(0)), randomBytes: cryptoRandom(), aead: nodeAead })
    } catch (e) {
      await Promise.all([udp.close(), tcp.close()])
      throw e
    }
  } catch (e) {
    await durable?.store.close()
    throw e
  }
  durable?.store.bind((key) => node.crdt?.record(key))
  // Every write of ours is committed to disk before its delta is queued; a failed commit undoes it. A
  // graceful leave retires the replica on disk before it commits its state to an heir (handoff.ts).
  if (durable !== undefined) node.crdt?.setDurableCommit((rec) => durable.store.commit(rec), () => durable.store.retire())
  const driver = new Driver(node, { timersAfterIo: o.timersAfterIo })
  driverRef = driver
  driver.attach(udp, tcp)
  const seeds = new SeedResolver(DEFAULT_PORT, o.discovery)
  const handle = new NodeHandle(driver, udp, tcp, tcp.port, seeds, o.discovery.rediscoverIntervalMs ?? DEFAULT_REDISCOVER_INTERVAL_MS, durable?.store)
  for (const [event, listener] of Object.entries(o.on)) handle.on(event as NodeEventName, listener as (...args: never[]) => void)
  driver.run((now, out) => node.start(now, out))
  if (o.join.length > 0) {
    try {
      await handle.join(o.join)
    } catch (e) {
      await handle.shutdown()
      throw e
    }
  }
  return handle
}

/** The address to advertise when bound to a wildcard: the first non-internal interface of the family. */
function defaultAdvertise(bind: Address, port: number): Address {
  if (!isUnspecified(bind.ip)) return { ip: bind.ip, port }
  const wantV4 = isIpv4(bind.ip)
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.internal || (wantV4 && i.family !== 'IPv4')) continue
      const ip = normalizeIp(i.address)
      if (ip !== undefined && !ip.startsWith('fe80')) return { ip, port }
    }
  }
  throw new ConfigError([`advertise: bound to ${bind.ip} and no non-internal interface found; give advertise: 'HOST:PORT' with a reachable IP`])
}

async function bindBoth(bind: Address, readTimeoutMs: number, driver: () => Driver | undefined): Promise<{ udp: UdpTransport; tcp: TcpTransport }> {
  const tcpHandlers = {
    request: (from: Address, bytes: Uint8Array) => driver()?.streamRequest(from, bytes) ?? null,
    dropped: (reason: DropReason, from: Address | undefined, detail: string) => driver()?.dropped(reason, from, detail),
  }
  const udpHandlers = {
    packet: (from: Address, bytes: Uint8Array) => driver()?.packet(from, bytes),
    dropped: tcpHandlers.dropped,
  }
  // Port 0: TCP picks the port, UDP takes the same one; retry when another process holds the UDP side.
  for (let attempt = 0; ; attempt++) {
    const tcp = await TcpTransport.listen(bind.ip, bind.port, readTimeoutMs, tcpHandlers)
    try {
      const udp = await UdpTransport.bind(bind.ip, tcp.port, udpHandlers)
      return { udp, tcp }
    } catch (e) {
      await tcp.close()
      if (bind.port !== 0 || attempt >= 10 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e
    }
  }
}
