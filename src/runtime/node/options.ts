/**
 * startNode's options: the node's settings (src/node/settings.ts, shared with the simulator) plus what
 * only a real node has: the address to bind, the one to advertise, and seeds to join. Checked once;
 * one ConfigError lists every bad field with its fix, before anything is bound.
 */
import os from 'node:os'
import type { Address } from '../../core/types.js'
import { ConfigError, NODE_SETTING_FIELDS, resolveNodeSettings } from '../../node/index.js'
import type { NodeSettings, ResolvedSettings } from '../../node/index.js'
import { isUnspecified, parseHostPort } from './address.js'
import { didYouMean } from '../../core/suggest.js'
import type { SwimEvent } from '../../node/index.js'
import type { BroadcastMessage, MemberEvent, SerfLayerEvent, StateEvent, Traffic } from '../../node/index.js'
import type { DiscoveryEvent, SerfQueryEvent } from './api.js'
import { discoveryProblems } from './discovery/seed-resolver.js'
import type { DiscoveryOptions } from './discovery/seed-resolver.js'
import { parseSeed } from './discovery/seed-spec.js'

export const DEFAULT_PORT = 7946

export type { EncryptionOptions } from '../../node/index.js'

export interface NodeOptions extends NodeSettings {
  /** Unique node name in the cluster. Default: os.hostname(). */
  readonly name?: string
  /** Where to listen, UDP and TCP on the same port: '127.0.0.1:7946', '[::1]:7946', '0.0.0.0:7946'. Port 0 picks a free one. Default '0.0.0.0:7946'. */
  readonly bind?: string
  /** The address other members use to reach us. Default: the bind address (a bound wildcard picks the first non-internal IPv4 interface). */
  readonly advertise?: string
  /**
   * Seeds to join at start: 'HOST:PORT' (port 7946 when omitted), 'dns://NAME[:PORT]' (A/AAAA records),
   * 'srv://_SERVICE._PROTO.NAME' (SRV records) or 'k8s://NAMESPACE?labelSelector=SEL' (the Kubernetes
   * API's EndpointSlices). startNode rejects when none answers. Names are re-resolved periodically after
   * the join (`discovery.rediscoverIntervalMs`), so halves that formed apart find each other.
   */
  readonly join?: readonly string[]
  /** How seeds are looked up and how often again (defaults: system DNS, in-pod Kubernetes credentials, every 30 s). */
  readonly discovery?: DiscoveryOptions
  /**
   * Listeners attached before the node starts, so they see everything from the first event on: with
   * `join`, the `joined` events of the members already in the cluster (a listener attached after
   * `await startNode(…)` has missed those). Same events as `node.on(…)`.
   */
  readonly on?: NodeListeners
  /**
   * Directory for durable replicated data (node.crdt): the keys are kept in an LMDB file there
   * (`crdt.mdb`, needs the `lmdb` package), each write on disk before it resolves, and reloaded on restart.
   * Default: none (the replicated data lives in memory; a restart starts a fresh replica).
   */
  readonly dataDir?: string
  /**
   * Due protocol timers wait until the sockets' pending datagrams are read (a bounded few event-loop turns),
   * so a CPU-starved process does not declare a probe failed whose ack sits unread in the kernel buffer.
   * Default true; false fires timers straight from libuv's timers phase (before the poll for I/O).
   */
  readonly timersAfterIo?: boolean
}

/** `startNode({ on: { member: (e) => … } })`: a listener per event name, as `node.on(name, listener)` takes. */
export interface NodeListeners {
  readonly member?: (e: MemberEvent) => void
  readonly event?: (e: SwimEvent) => void
  readonly serf?: (e: SerfLayerEvent) => void
  readonly query?: (q: SerfQueryEvent) => void
  readonly message?: (m: BroadcastMessage) => void
  readonly state?: (e: StateEvent) => void
  readonly keyring?: () => void
  readonly traffic?: (t: Traffic) => void
  readonly discovery?: (e: DiscoveryEvent) => void
}

const LISTENER_NAMES = ['member', 'event', 'serf', 'query', 'message', 'state', 'keyring', 'traffic', 'discovery']

export interface ResolvedNodeOptions {
  readonly settings: ResolvedSettings
  readonly bind: Address
  readonly advertise: Address | undefined
  readonly join: readonly string[]
  readonly discovery: DiscoveryOptions
  readonly on: NodeListeners
  readonly dataDir: string | undefined
  readonly timersAfterIo: boolean
}

const FIELDS = [...NODE_SETTING_FIELDS, 'bind', 'advertise', 'join', 'discovery', 'on', 'dataDir', 'timersAfterIo']

/** Validates every option at once; throws one ConfigError listing each bad field with its fix. */
export function resolveNodeOptions(options: NodeOptions = {}): ResolvedNodeOptions {
  const problems: string[] = []
  if (options === null || typeof options !== 'object') throw new ConfigError([`options: expected an object, got ${JSON.stringify(options)}`])
  for (const k of Object.keys(options)) {
    if (!FIELDS.includes(k)) problems.push(`${k}: not an option of startNode; options are ${FIELDS.join(', ')}`)
  }
  const bindText = options.bind ?? `0.0.0.0:${DEFAULT_PORT}`
  const bind = typeof bindText === 'string' ? parseHostPort(bindText) : undefined
  if (bind === undefined) {
    problems.push(`bind: expected HOST:PORT with an IP literal like 127.0.0.1:7946 or [::1]:7946, got ${JSON.stringify(bindText)}`)
  }
  let advertise: Address | undefined
  if (options.advertise !== undefined) {
    advertise = typeof options.advertise === 'string' ? parseHostPort(options.advertise, bind?.port) : undefined
    if (advertise === undefined || isUnspecified(advertise.ip)) {
      problems.push(`advertise: expected HOST[:PORT] with a reachable IP literal like 10.0.0.5:7946, got ${JSON.stringify(options.advertise)}`)
    }
  }
  const join = options.join ?? []
  if (!Array.isArray(join) || join.some((s) => typeof s !== 'string' || s.length === 0)) {
    problems.push(`join: expected an array of 'HOST:PORT' strings like ['10.0.0.4:7946'], got ${JSON.stringify(options.join)}`)
  } else {
    for (const text of join) {
      try {
        parseSeed(text, DEFAULT_PORT)
      } catch (e) {
        problems.push(`join: ${(e as Error).message}`)
      }
    }
  }
  problems.push(...discoveryProblems(options.discovery))
  const on = options.on ?? {}
  if (on === null || typeof on !== 'object' || Array.isArray(on)) {
    problems.push(`on: expected an object of listeners like { member: (e) => … }, got ${JSON.stringify(on)}`)
  } else {
    for (const [k, f] of Object.entries(on)) {
      if (!LISTENER_NAMES.includes(k)) problems.push(`on.${k}: not an event of the node${didYouMean(k, LISTENER_NAMES)}; events are ${LISTENER_NAMES.join(', ')}`)
      else if (typeof f !== 'function') problems.push(`on.${k}: expected a function, got ${typeof f}`)
    }
  }
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir.length === 0)) {
    problems.push(`dataDir: expected a directory path, got ${JSON.stringify(options.dataDir)}`)
  }
  if (options.timersAfterIo !== undefined && typeof options.timersAfterIo !== 'boolean') {
    problems.push(`timersAfterIo: expected true or false, got ${JSON.stringify(options.timersAfterIo)}`)
  }
  const settings = resolveNodeSettings(options, { name: os.hostname(), generation: Date.now() }, problems)
  if (problems.length > 0 || bind === undefined || settings === undefined) throw new ConfigError(problems)
  return { settings, bind, advertise, join, discovery: options.discovery ?? {}, on, dataDir: options.dataDir, timersAfterIo: options.timersAfterIo ?? true }
}
