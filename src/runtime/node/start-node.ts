/**
 * startNode: the library's front door. Validates the options once, binds TCP then UDP on the same
 * port, starts the SWIM state machine under the Driver and joins the given seeds.
 *
 *   const node = await startNode({ name: 'api-1', bind: '10.0.0.5:7946', join: ['10.0.0.4:7946'], tags: { role: 'api' } })
 *   node.on('member', (e) => console.log(e.type, e.member.name, e.member.tags))
 *   await node.leave(); await node.shutdown()
 *
 * Errors: startNode rejects with a ConfigError (nothing was bound) for bad options, with the system
 * error (EADDRINUSE, …; everything bound so far is closed again) when a socket cannot be bound, and
 * with a JoinError when `join` was given and no seed answered (the node is shut down again).
 */
import { randomBytes } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import os from 'node:os'
import { SeededRng } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import { addressKey, ipToBytes } from '../../core/types.js'
import { ConfigError, isProfile, resolveConfig } from '../../swim/config.js'
import type { Profile, SwimConfig } from '../../swim/config.js'
import type { DropReason, MemberInfo, MemberState, SwimEvent } from '../../swim/events.js'
import { META_MAX_BYTES, Swim } from '../../swim/swim.js'
import { SerfLayer } from '../../serf/serf-layer.js'
import { createGrapevineStack } from '../../stack/create.js'
import type { GrapevineStack } from '../../stack/create.js'
import type { StateProtocolCounters } from '../../stack/protocols.js'
import type { RumorCounters } from '../../gossip/rumor-types.js'
import { markMeta } from '../../stack/envelope.js'
import { resolveRumorConfig } from '../../gossip/config.js'
import type { RumorConfig } from '../../gossip/config.js'
import { resolveStateConfig } from '../../state/config.js'
import type { StateConfig } from '../../state/config.js'
import { resolvePhiConfig } from '../../state/phi.js'
import type { PhiConfig } from '../../state/phi.js'
import type { ClusterState, StateEvent } from '../../state/cluster-state.js'
import type { SerfLayerEvent } from '../../serf/serf-layer.js'
import type { ReceivedQuery } from '../../serf/queries.js'
import type { SwimStats } from '../../swim/stats.js'
import { isIpv4, isUnspecified, normalizeIp, parseHostPort } from './address.js'
import { Driver } from './driver.js'
import type { Traffic } from './driver.js'
import { decodeTags, encodeTags, tagProblems } from '../../serf/tags.js'
import type { Tags } from '../../serf/tags.js'
import { TcpTransport } from './tcp.js'
import { Keyring, KeyringError, formatKey, parseKey } from '../../wire/keyring.js'
import type { KeyringInfo } from '../../wire/keyring.js'
import { WireSecurity, labelProblem } from '../../wire/security.js'
import { cryptoRandom } from './crypto-random.js'
import { answerKeyQuery, keyringControl } from '../../serf/key-queries.js'
import { UdpTransport } from './udp.js'

export const DEFAULT_PORT = 7946

export interface NodeOptions {
  /** Unique node name in the cluster. Default: os.hostname(). */
  readonly name?: string
  /** Where to listen, UDP and TCP on the same port: '127.0.0.1:7946', '[::1]:7946', '0.0.0.0:7946'. Port 0 picks a free one. Default '0.0.0.0:7946'. */
  readonly bind?: string
  /** The address other members use to reach us. Default: the bind address (a bound wildcard picks the first non-internal IPv4 interface). */
  readonly advertise?: string
  /** Seeds to join at start ('HOST:PORT', port 7946 when omitted). startNode rejects when none answers. */
  readonly join?: readonly string[]
  /** Timing profile: 'lan' (default), 'wan' or 'local'. */
  readonly profile?: Profile
  /** Overrides of the profile's SWIM settings. */
  readonly config?: Partial<SwimConfig>
  /** Serf-compatible tags carried in node metadata (at most 512 bytes encoded). */
  readonly tags?: Tags
  /**
   * Take part in Serf's protocol (join/leave intents, user events, push-pull state), so Serf agents
   * show this node `left` after leave() instead of `failed`. Default true; false gives plain memberlist.
   */
  readonly serf?: boolean
  /**
   * The incarnation to start at (default 1). A restarted node passes one more than the last it used
   * (the agent keeps it in its snapshot), so peers that still hold it failed accept it at once.
   */
  readonly incarnation?: number
  /** Broadcast (rumor mongering) settings over the defaults: push, counter, feedback, k = 3, fanout 3. */
  readonly broadcast?: Partial<RumorConfig>
  /** Cluster state settings over the defaults (round every 1 s to 2 peers, tombstones kept 2 h). */
  readonly state?: Partial<StateConfig>
  /** Phi accrual settings over the defaults (threshold 8, Akka's). */
  readonly phi?: Partial<PhiConfig>
  /** This run's generation of the node's state; must grow across restarts. Default: the wall clock in ms. */
  readonly generation?: number
  /**
   * Encryption as memberlist and Serf do it (AES-GCM): `keys` (base64 as `serf keygen` prints, or 16,
   * 24 or 32 bytes), the primary first. `verifyIncoming` / `verifyOutgoing` (default true) switch a
   * running plaintext cluster over without downtime: accept both, then send encrypted, then require it.
   */
  readonly encryption?: EncryptionOptions
  /** Cluster label on every packet and stream (memberlist 0.3+). Off by default: Serf 0.9.4 rejects labels. */
  readonly label?: string
}

export interface EncryptionOptions {
  readonly keys?: ReadonlyArray<string | Uint8Array>
  readonly verifyIncoming?: boolean
  readonly verifyOutgoing?: boolean
}

/** What a node's wire security is: keys by fingerprint only, never key material. */
export interface EncryptionStatus extends KeyringInfo {
  /** True when keys are installed and outgoing traffic is encrypted. */
  readonly encrypting: boolean
  readonly verifyIncoming: boolean
  readonly verifyOutgoing: boolean
  /** The cluster label, '' when none. */
  readonly label: string
}

/** What `protocolStats()` returns. */
export interface ProtocolStats {
  readonly broadcast: RumorCounters
  /** Rumors this node is still spreading. */
  readonly hotRumors: number
  readonly state: StateProtocolCounters
  /** Nodes whose state this node holds (itself included). */
  readonly stateNodes: number
  /** The highest version of this node's own map. */
  readonly stateVersion: number
  /** Grapevine envelopes handled and dropped (malformed, unknown protocol). */
  readonly stack: { readonly messages: number; readonly dropped: number }
}

/** A broadcast as a node's `message` handler gets it, once per node. */
/**
 * A broadcast as `message` listeners get it: Grapevine's own (`via: 'grapevine'`, rumor mongering to the
 * Grapevine nodes) or a Serf user event (`via: 'serf'`, from any Serf agent or Grapevine node of the
 * cluster, as `serf event NAME PAYLOAD` sends them).
 */
export interface BroadcastMessage {
  /** `origin/epoch.seq` for Grapevine's broadcasts; `serf:LTIME:NAME` for Serf user events. */
  readonly id: string
  readonly name: string
  readonly payload: Uint8Array
  /** The node that broadcast it; '' for a Serf user event from another node (Serf does not say who sent it). */
  readonly origin: string
  /** Gossip hops from the origin (0 for our own; 0 for Serf user events, which do not count them). */
  readonly hops: number
  readonly via: 'grapevine' | 'serf'
  /** Serf user events only: the event's Lamport time and whether Serf agents may coalesce it. */
  readonly lTime?: number
  readonly coalesce?: boolean
}

/**
 * A Serf query this node was asked (`serf query NAME PAYLOAD` on a Serf agent, and the filters matched
 * this node). The querier already got our ack; `respond` sends the one response it may take (at most
 * Serf's 1024 bytes encoded; throws QueryResponseError otherwise, or when called twice) and returns
 * false when the querier is no longer a live member. Respond within `timeoutMs`, or the querier has
 * stopped listening.
 */
export interface SerfQueryEvent extends ReceivedQuery {
  respond(payload: Uint8Array | string): boolean
}

/** Options of `node.query`. */
export interface QueryOptions {
  /** How long to collect acks and responses; default Serf's: 16 gossip intervals × ceil(log10(N + 1)). */
  readonly timeoutMs?: number
  /** Ask every member that takes the query to ack it (default true). */
  readonly ack?: boolean
  /** Only these members take the query (Serf's node filter). */
  readonly nodes?: readonly string[]
  /** Only members whose tag matches each regular expression take it (Serf's tag filters). */
  readonly tags?: Readonly<Record<string, string>>
  /** Called for each response as it arrives. */
  readonly onResponse?: (from: string, payload: Uint8Array) => void
}

/** What a query collected by its deadline. */
export interface QueryResult {
  readonly name: string
  readonly lTime: number
  /** Members that acked, in arrival order. */
  readonly acks: readonly string[]
  readonly responses: ReadonlyArray<{ readonly from: string; readonly payload: Uint8Array }>
}

/** How `node.broadcast` sends: Grapevine's rumor mongering (default) or a Serf user event. */
export interface BroadcastOptions {
  /**
   * 'grapevine' (default): rumor mongering to the Grapevine nodes, payload up to the broadcast config's
   * maxPayloadBytes. 'serf': a Serf user event, which Serf agents receive too (their `user` event
   * handlers run); name and payload together at most Serf's 512 bytes.
   */
  readonly via?: 'grapevine' | 'serf'
  /** Serf user events only: let Serf agents merge events of this name that arrive close together. Default false. */
  readonly coalesce?: boolean
}

/** The id under which a Serf user event is reported to `message` listeners. */
export function serfEventId(lTime: number, name: string): string {
  return `serf:${lTime}:${name}`
}

/** A node's view of the replicated cluster state (each node owns its own map; everyone reads all). */
export interface NodeStateApi {
  /** Sets a key of this node's map; replicated to every node. Returns the change's version. */
  set(key: string, value: string): number
  /** Deletes a key of this node's map (a tombstone, so it stays deleted everywhere); false if absent. */
  delete(key: string): boolean
  /** A key of a node's map (this node's by default). */
  get(node: string, key: string): string | undefined
  /** The live keys of a node's map (this node's by default), sorted by key. */
  entries(node?: string): Array<[string, string]>
  /** Nodes whose state this node holds. */
  nodes(): readonly string[]
  /** Calls `listener` for every change of a key starting with `prefix`, on any node; returns the unsubscribe. */
  watch(prefix: string, listener: (e: StateEvent) => void): () => void
}

/** Serf's BroadcastTimeout: how long leave() waits for the Serf leave intent to go out. */
export const SERF_BROADCAST_TIMEOUT_MS = 5_000

/** A member as the node reports it: the protocol's snapshot plus its decoded Serf tags. */
export interface Member extends MemberInfo {
  readonly tags: Readonly<Record<string, string>>
}

export type MemberEventType = 'joined' | 'updated' | 'suspected' | 'alive' | 'failed' | 'left' | 'reaped'

export interface MemberEvent {
  readonly type: MemberEventType
  readonly member: Member
}

/** join() found no seed that answered. Nothing changed except that the seeds are retried by the reconnect loop. */
export class JoinError extends Error {
  override readonly name = 'JoinError'
  constructor(readonly errors: readonly string[]) {
    super(`join failed: no seed answered${errors.length > 0 ? `\n  - ${errors.join('\n  - ')}` : ''}`)
  }
}

export type { Traffic }
export type NodeEventName = 'member' | 'event' | 'serf' | 'message' | 'state' | 'query' | 'keyring' | 'traffic'

export interface GrapevineNode {
  readonly name: string
  /** The advertised address. */
  readonly address: Address
  /** The bound port (UDP and TCP). */
  readonly port: number
  /** Push-pull with each seed; resolves with how many answered, rejects with JoinError if none did. */
  join(addresses: readonly string[]): Promise<number>
  /** Broadcasts our departure; resolves once it went out or after timeoutMs (config leaveTimeoutMs). */
  leave(timeoutMs?: number): Promise<void>
  /** Closes every socket and timer; idempotent. Afterwards nothing of ours keeps the process alive. */
  shutdown(): Promise<void>
  members(): Member[]
  localMember(): Member
  /**
   * Serf's force-leave: tells the cluster that a failed member will not come back. Every member (this
   * one first) records it `left`, which stops reconnect attempts; with `prune` it is also forgotten at
   * once (`reaped`). A live member is not affected (it refutes the intent). Resolves with the member's
   * state before, or undefined when no member has that name; waits (at most SERF_BROADCAST_TIMEOUT_MS)
   * until the intent went out. Without the Serf layer only this node's view changes.
   */
  forceLeave(name: string, opts?: { prune?: boolean }): Promise<MemberState | undefined>
  /**
   * Fires a Serf user event: delivered here (`serf` event `userEvent`) and gossiped to every member,
   * where Serf agents run their `user` event handlers. `coalesce` (default false) lets Serf agents
   * merge events of the same name that arrive close together. Returns the event's Lamport time.
   * Throws UserEventError for an empty name or an event over Serf's 512-byte limit, and ConfigError
   * without the Serf layer.
   */
  userEvent(name: string, payload?: Uint8Array | string, opts?: { coalesce?: boolean }): number
  /**
   * Sends a Serf query to the cluster (what `serf query` does) and resolves at its deadline with the
   * members that acked and the responses (Serf agents answer through their `query` event handlers,
   * Grapevine nodes through `on('query')`). The querying node does not take its own query. Throws
   * QueryResponseError for a name starting with `_serf_` or a query over Serf's 1024 bytes.
   */
  query(name: string, payload?: Uint8Array | string, opts?: QueryOptions): Promise<QueryResult>
  /** Replaces the tags (a new incarnation, gossiped). Throws ConfigError naming the bad tag. */
  setTags(tags: Tags): void
  /** Replaces the raw metadata (at most 512 bytes). */
  setMeta(meta: Uint8Array): void
  /**
   * Broadcasts a payload to every live Grapevine node, delivered once each (`message` events; here
   * too, at once). Returns its id. Throws BroadcastError when the payload or name is over its limit.
   * With `via: 'serf'` it goes out as a Serf user event instead (see userEvent), reaching Serf agents too.
   */
  broadcast(name: string, payload: Uint8Array | string, opts?: BroadcastOptions): string
  /** The replicated cluster state: this node's map to write, every node's to read. */
  readonly state: NodeStateApi
  /** The phi accrual suspicion level of a member, from its state heartbeats (undefined: none heard yet). */
  phi(name: string): number | undefined
  /** Counters of the broadcast and cluster-state protocols (live objects; metrics read them). */
  protocolStats(): ProtocolStats
  /** The protocol's counters (drops by reason, probes, …). */
  stats(): SwimStats
  /** Encryption and label status, keys by fingerprint. */
  encryption(): EncryptionStatus
  /** Installs a key (base64 or bytes) for decryption; the first key of an empty keyring becomes primary. Throws KeyringError. */
  installKey(key: string | Uint8Array): void
  /** Makes an installed key the primary (it encrypts from now on). Throws KeyringError when not installed. */
  useKey(key: string | Uint8Array): void
  /** Removes an installed key; throws KeyringError for the primary. */
  removeKey(key: string | Uint8Array): void
  /** Changes memberlist's verify switches while running (the plaintext-to-encrypted switch). */
  setEncryptionVerify(opts: { incoming?: boolean; outgoing?: boolean }): void
  /** The keys in base64, the primary first: for writing a keyring file. Never show them. */
  exportKeys(): string[]
  on(event: 'member', listener: (e: MemberEvent) => void): this
  on(event: 'event', listener: (e: SwimEvent) => void): this
  /** Serf layer facts: user events, join/leave intents, undecodable Serf messages (only with serf: true). */
  on(event: 'serf', listener: (e: SerfLayerEvent) => void): this
  /** A Serf query reached this node (Serf's own `_serf_…` queries are handled inside). */
  on(event: 'query', listener: (q: SerfQueryEvent) => void): this
  /** A broadcast or a Serf user event arrived (or was sent from here), once each. */
  on(event: 'message', listener: (m: BroadcastMessage) => void): this
  /** A key of some node's state changed here (set, deleted, or the node restarted with a new generation). */
  on(event: 'state', listener: (e: StateEvent) => void): this
  /** The keyring was changed from the network (Serf's `keys` queries); the agent saves its keyring file. */
  on(event: 'keyring', listener: () => void): this
  /** Each datagram and stream sent or received (with the peer's address and plaintext bytes), for observers. */
  on(event: 'traffic', listener: (t: Traffic) => void): this
  off(event: NodeEventName, listener: (...args: never[]) => void): this
}

interface Resolved {
  readonly name: string
  readonly bind: Address
  readonly advertise: Address | undefined
  readonly join: readonly string[]
  readonly config: SwimConfig
  readonly meta: Uint8Array
  readonly serf: boolean
  readonly incarnation: number
  readonly generation: number
  readonly broadcast: Partial<RumorConfig>
  readonly state: Partial<StateConfig>
  readonly phi: Partial<PhiConfig>
  readonly keyring: Keyring
  readonly label: string
  readonly verifyIncoming: boolean
  readonly verifyOutgoing: boolean
}

/** Validates every option at once; throws one ConfigError listing each bad field with its fix. */
export function resolveNodeOptions(options: NodeOptions = {}): Resolved {
  const problems: string[] = []
  if (options === null || typeof options !== 'object') throw new ConfigError([`options: expected an object, got ${JSON.stringify(options)}`])
  const known = new Set(['name', 'bind', 'advertise', 'join', 'profile', 'config', 'tags', 'serf', 'incarnation', 'broadcast', 'state', 'phi', 'generation', 'encryption', 'label'])
  for (const k of Object.keys(options)) {
    if (!known.has(k)) problems.push(`${k}: not an option of startNode; options are ${[...known].join(', ')}`)
  }
  const name = options.name ?? os.hostname()
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255) {
    problems.push(`name: expected a non-empty string of at most 255 bytes, unique in the cluster, got ${JSON.stringify(options.name)}`)
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
  }
  if (options.profile !== undefined && !isProfile(options.profile)) {
    problems.push(`profile: expected 'lan', 'wan' or 'local', got ${JSON.stringify(options.profile)}`)
  }
  let config: SwimConfig | undefined
  if (options.config !== undefined && (options.config === null || typeof options.config !== 'object')) {
    problems.push(`config: expected an object of SWIM settings like { probeIntervalMs: 1000 }, got ${JSON.stringify(options.config)}`)
  } else if (options.profile === undefined || isProfile(options.profile)) {
    try {
      config = resolveConfig(options.config ?? {}, options.profile ?? options.config?.profile ?? 'lan')
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      problems.push(...e.problems.map((p) => `config.${p}`))
    }
  }
  let meta = encodeTags({})
  if (options.tags !== undefined) {
    const tp = tagProblems(options.tags)
    problems.push(...tp)
    if (tp.length === 0) meta = encodeTags(options.tags)
  }
  if (options.serf !== undefined && typeof options.serf !== 'boolean') {
    problems.push(`serf: expected true (speak Serf's intents, the default) or false (plain memberlist), got ${JSON.stringify(options.serf)}`)
  }
  const incarnation = options.incarnation ?? 1
  if (!Number.isInteger(incarnation) || incarnation < 1 || incarnation > 0xffffffff) {
    problems.push(`incarnation: expected an integer from 1 to 4294967295 (one more than the last one used), got ${JSON.stringify(options.incarnation)}`)
  }
  const generation = options.generation ?? Date.now()
  if (!Number.isSafeInteger(generation) || generation < 0) {
    problems.push(`generation: expected a non-negative integer that grows across restarts (the default is the wall clock in ms), got ${JSON.stringify(options.generation)}`)
  }
  const sub = (field: string, check: () => unknown): void => {
    try {
      check()
    } catch (e) {
      const list = (e as { problems?: readonly string[] }).problems
      if (list === undefined) throw e
      problems.push(...list.map((p) => `${field}.${p}`))
    }
  }
  sub('broadcast', () => resolveRumorConfig(options.broadcast ?? {}))
  sub('state', () => resolveStateConfig(options.state ?? {}))
  sub('phi', () => resolvePhiConfig(options.phi ?? {}))
  const enc = encryptionOptions(options, problems)
  if (problems.length > 0 || bind === undefined || config === undefined) throw new ConfigError(problems)
  return {
    name, bind, advertise, join, config, meta: markMeta(meta), serf: options.serf ?? true, incarnation, generation,
    broadcast: options.broadcast ?? {}, state: options.state ?? {}, phi: options.phi ?? {}, ...enc,
  }
}

function toKey(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? parseKey(key) : new Keyring([key]).keys[0]
}

function encryptionOptions(options: NodeOptions, problems: string[]): Pick<Resolved, 'keyring' | 'label' | 'verifyIncoming' | 'verifyOutgoing'> {
  const e = options.encryption ?? {}
  const keyring = new Keyring()
  if (e === null || typeof e !== 'object') {
    problems.push(`encryption: expected { keys: ['<base64 key>'], verifyIncoming?, verifyOutgoing? }, got ${JSON.stringify(e)}`)
  } else if (e.keys !== undefined && !Array.isArray(e.keys)) {
    problems.push(`encryption.keys: expected an array of base64 keys (primary first) as \`grapevine keygen\` prints them, got ${typeof e.keys}`)
  } else {
    for (const [i, k] of (e.keys ?? []).entries()) {
      try {
        keyring.install(toKey(k))
      } catch (err) {
        if (!(err instanceof KeyringError)) throw err
        problems.push(`encryption.keys[${i}]: ${err.message}`)
      }
    }
  }
  for (const f of ['verifyIncoming', 'verifyOutgoing'] as const) {
    const v = (e as EncryptionOptions | null)?.[f]
    if (v !== undefined && typeof v !== 'boolean') problems.push(`encryption.${f}: expected true (the default) or false, got ${JSON.stringify(v)}`)
  }
  const label = options.label ?? ''
  const lp = labelProblem(label)
  if (lp !== undefined) problems.push(lp)
  return { keyring, label: lp === undefined ? label : '', verifyIncoming: e?.verifyIncoming ?? true, verifyOutgoing: e?.verifyOutgoing ?? true }
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

/** Seed text to an address: IP literals directly, host names through the system resolver. */
async function resolveSeed(text: string): Promise<Address> {
  const direct = parseHostPort(text, DEFAULT_PORT)
  if (direct !== undefined) return direct
  const m = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(text.trim())
  const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2])
  if (m === null || port > 65535) throw new Error(`${JSON.stringify(text)}: expected HOST:PORT like 10.0.0.4:7946`)
  const found = await lookup(m[1])
  const ip = normalizeIp(found.address)
  if (ip === undefined) throw new Error(`${text}: resolved to ${found.address}, not an IP literal`)
  return { ip, port }
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

export async function startNode(options: NodeOptions = {}): Promise<GrapevineNode> {
  const o = resolveNodeOptions(options)
  let driverRef: Driver | undefined
  const { udp, tcp } = await bindBoth(o.bind, o.config.streamTimeoutMs, () => driverRef)
  let address: Address
  try {
    address = o.advertise ?? defaultAdvertise(o.bind, tcp.port)
  } catch (e) {
    await Promise.all([udp.close(), tcp.close()])
    throw e
  }
  const seed = randomBytes(4).readUInt32LE(0)
  let swimRef: Swim | undefined
  let serfRef: SerfLayer | undefined
  const keyControl = keyringControl(o.keyring, () => driverRef?.events.emit('keyring'))
  const serf = o.serf
    ? new SerfLayer({
        name: o.name,
        retransmitMult: o.config.retransmitMult,
        clusterSize: () => swimRef?.estimatedClusterSize() ?? 1,
        tags: () => (swimRef === undefined ? {} : decodeTags(swimRef.localMember().meta)),
        onEvent: (e) => {
          driverRef?.events.emit('serf', e)
          if (e.type === 'query') {
            const q = e.query
            const event: SerfQueryEvent = {
              ...q,
              respond: (payload) => {
                const bytes = payloadBytes(payload)
                const d = driverRef
                if (d === undefined || d.isStopped) throw new ConfigError(['the node is shut down'])
                const r = (serfRef as SerfLayer).respondToQuery(q, bytes)
                return d.run((_now, out) => d.swim.sendUserTo(r.to, r.payload, out))
              },
            }
            driverRef?.events.emit('query', event)
          }
          if (e.type === 'userEvent') {
            const m: BroadcastMessage = { id: serfEventId(e.lTime, e.name), name: e.name, payload: e.payload, origin: e.local ? o.name : '', hops: 0, via: 'serf', lTime: e.lTime, coalesce: e.coalesce }
            driverRef?.events.emit('message', m)
          }
        },
        // Arrives inside a SWIM input; applied right after it, as an input of its own.
        onLeaveIntent: (node, prune) =>
          queueMicrotask(() => {
            const d = driverRef
            if (d !== undefined && !d.isStopped) d.run((now, out) => d.swim.forceLeave(node, prune, now, out))
          }),
        // Serf's key queries (`serf keys …` on an agent): answered from the keyring at once, as Serf does.
        onKeyQuery: (name, payload) => answerKeyQuery(name, payload, keyControl),
      })
    : undefined
  serfRef = serf
  const grapevine = createGrapevineStack({
    name: o.name,
    serf,
    rng: new SeededRng(randomBytes(4).readUInt32LE(0)),
    generation: o.generation,
    broadcast: o.broadcast,
    state: o.state,
    phi: o.phi,
    onDelivery: (d) => driverRef?.events.emit('message', { id: d.id, name: d.name, payload: d.payload, origin: d.origin, hops: d.hops, via: 'grapevine' } satisfies BroadcastMessage),
    onStateChange: (e) => driverRef?.events.emit('state', e),
    onDrop: (reason) => driverRef?.swim.stats.drop(reason),
  })
  const security = new WireSecurity(
    { keyring: o.keyring, label: o.label, verifyIncoming: o.verifyIncoming, verifyOutgoing: o.verifyOutgoing },
    cryptoRandom(),
  )
  // memberlist leaves room for the envelope in every packet it packs (spec 4.4).
  const config = security.packetOverheadBytes === 0 ? o.config : { ...o.config, packetBytesBudget: o.config.packetBytesBudget - security.packetOverheadBytes }
  const swim = new Swim({ name: o.name, address, config, rng: new SeededRng(seed), meta: o.meta, delegate: grapevine.stack, incarnation: o.incarnation })
  swimRef = swim
  const driver = new Driver(swim, security)
  driverRef = driver
  driver.attach(udp, tcp)
  const node = new NodeHandle(driver, udp, tcp, tcp.port, serf, grapevine)
  driver.run((now, out) => {
    swim.start(now, out)
    // Serf's join intent: queued now, it goes out with the first gossip to anyone and sets our statusLTime.
    serf?.join()
  })
  if (o.join.length > 0) {
    try {
      await node.join(o.join)
    } catch (e) {
      await node.shutdown()
      throw e
    }
  }
  return node
}

/** A payload as bytes: strings as UTF-8. Throws ConfigError for anything else. */
function payloadBytes(payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload
  if (!(bytes instanceof Uint8Array)) throw new ConfigError([`payload: expected a string or a Uint8Array, got ${typeof payload}`])
  return bytes
}

function withTags(m: MemberInfo): Member {
  return { ...m, tags: decodeTags(m.meta) }
}

const MEMBER_EVENTS = new Set<string>(['joined', 'updated', 'suspected', 'alive', 'failed', 'left', 'reaped'])

class NodeHandle implements GrapevineNode {
  readonly name: string
  readonly address: Address
  private readonly joins = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>()
  private readonly leaves: Array<() => void> = []
  /** Queries waiting for their deadline; shutdown() ends them early. */
  private readonly pendingQueries = new Set<() => void>()
  private closing: Promise<void> | undefined
  /** The Serf leave intent's wait (a second leave() shares it); shutdown() ends it early. */
  private serfLeaving: Promise<void> | undefined
  private serfLeaveDone: (() => void) | undefined

  constructor(
    private readonly driver: Driver,
    private readonly udp: UdpTransport,
    private readonly tcp: TcpTransport,
    readonly port: number,
    private readonly serf: SerfLayer | undefined,
    private readonly grapevine: GrapevineStack,
  ) {
    this.name = driver.swim.name
    this.address = driver.swim.address
    driver.events.on('event', (e: SwimEvent) => this.route(e))
    this.state = this.stateApi()
  }

  readonly state: NodeStateApi

  broadcast(name: string, payload: Uint8Array | string, opts: BroadcastOptions = {}): string {
    if (opts.via === 'serf') return serfEventId(this.userEvent(name, payload, { coalesce: opts.coalesce }), name)
    if (opts.via !== undefined && opts.via !== 'grapevine') throw new ConfigError([`via: expected 'grapevine' or 'serf', got ${JSON.stringify(opts.via)}`])
    const bytes = payloadBytes(payload)
    if (typeof name !== 'string') throw new ConfigError([`name: expected a string, got ${typeof name}`])
    if (this.driver.isStopped) throw new ConfigError(['the node is shut down'])
    return this.driver.run((now) => this.grapevine.broadcasts.broadcast(name, bytes, now).id)
  }

  phi(name: string): number | undefined {
    return this.grapevine.phi.phi(name, this.driver.now())
  }

  protocolStats(): ProtocolStats {
    const st = this.grapevine.state.reconciler.state
    return {
      broadcast: this.grapevine.broadcasts.engine.counters,
      hotRumors: this.grapevine.broadcasts.engine.hotCount,
      state: this.grapevine.state.counters,
      stateNodes: st.nodeNames().length,
      stateVersion: st.digestOf(this.name)?.maxVersion ?? 0,
      stack: this.grapevine.stack.counts,
    }
  }

  private stateApi(): NodeStateApi {
    const st = (): ClusterState => this.grapevine.state.reconciler.state
    const local = <T>(op: (now: number) => T): T =>
      this.driver.run((now) => {
        const r = op(now)
        this.grapevine.state.flush()
        return r
      })
    return {
      set: (key, value) => local(() => st().set(key, value)),
      delete: (key) => local((now) => st().delete(key, now)),
      get: (node, key) => st().get(node, key),
      entries: (node) => st().entries(node ?? this.name),
      nodes: () => st().nodeNames(),
      watch: (prefix, listener) => {
        const on = (e: StateEvent): void => {
          if (e.type === 'nodeRestarted' || e.type === 'nodeForgotten' || e.key.startsWith(prefix)) listener(e)
        }
        this.driver.events.on('state', on)
        return () => void this.driver.events.off('state', on)
      },
    }
  }

  private route(e: SwimEvent): void {
    if (MEMBER_EVENTS.has(e.type) && 'member' in e) {
      this.driver.events.emit('member', { type: e.type as MemberEventType, member: withTags(e.member) })
    } else if (e.type === 'joinCompleted') {
      const pending = this.joins.get(e.joinId)
      if (pending === undefined) return
      this.joins.delete(e.joinId)
      if (e.contacted > 0) pending.resolve(e.contacted)
      else pending.reject(new JoinError(e.errors))
    } else if (e.type === 'leaveCompleted') {
      for (const done of this.leaves.splice(0)) done()
    }
  }

  async join(addresses: readonly string[]): Promise<number> {
    if (!Array.isArray(addresses) || addresses.length === 0) {
      throw new ConfigError([`join: expected a non-empty array of 'HOST:PORT' strings like ['10.0.0.4:7946'], got ${JSON.stringify(addresses)}`])
    }
    const errors: string[] = []
    const seeds: Address[] = []
    for (const text of addresses) {
      try {
        seeds.push(await resolveSeed(text))
      } catch (e) {
        errors.push((e as Error).message)
      }
    }
    const own = seeds.filter((s) => addressKey(s) !== addressKey(this.address))
    if (own.length === 0) throw new JoinError([...errors, ...(seeds.length > 0 ? ['the only seeds given are this node itself'] : [])])
    if (this.driver.isStopped) throw new JoinError(['the node is shut down'])
    const contacted = await new Promise<number>((resolve, reject) => {
      this.driver.run((now, out) => {
        const id = this.driver.swim.join(own, now, out)
        this.joins.set(id, { resolve, reject })
      })
    })
    // Serf's Join broadcasts a join intent once memberlist joined.
    if (this.serf !== undefined && !this.driver.isStopped) this.driver.run(() => this.serf?.join())
    return contacted
  }

  async leave(timeoutMs?: number): Promise<void> {
    if (this.driver.isStopped) return
    const startedMs = Date.now()
    await this.leaveSerf(timeoutMs)
    if (this.driver.isStopped) return
    const remainingMs = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (Date.now() - startedMs))
    return this.leaveSwim(remainingMs)
  }

  /**
   * Serf's Leave, first half: broadcast the leave intent and wait until it has been transmitted (or
   * SERF_BROADCAST_TIMEOUT_MS), so Serf agents mark us `leaving` before memberlist's dead arrives and
   * then record `left`. Skipped without the Serf layer or when alone (as Serf does); a second leave()
   * waits for the first one's intent.
   */
  private leaveSerf(timeoutMs: number | undefined): Promise<void> {
    const serf = this.serf
    if (this.serfLeaving !== undefined) return this.serfLeaving
    if (serf === undefined || this.driver.swim.isLeaving) return Promise.resolve()
    if (!this.driver.swim.members().some((m) => m.name !== this.name && m.state === 'alive')) {
      this.serfLeaving = Promise.resolve()
      return this.serfLeaving
    }
    const waitMs = Math.min(SERF_BROADCAST_TIMEOUT_MS, timeoutMs ?? SERF_BROADCAST_TIMEOUT_MS)
    this.serfLeaving = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), Math.max(0, waitMs))
      const done = (): void => {
        clearTimeout(timer)
        this.serfLeaveDone = undefined
        resolve()
      }
      this.serfLeaveDone = done
      this.driver.run(() => serf.leave(done))
    })
    return this.serfLeaving
  }

  private leaveSwim(timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        resolve()
      }
      this.leaves.push(done)
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.max(0, timeoutMs))
      this.driver.run((now, out) => this.driver.swim.leave(now, out))
      // A second leave() while the first is in flight: swim emits nothing new, the first completion resolves both.
    })
  }

  shutdown(): Promise<void> {
    if (this.closing === undefined) {
      this.driver.swim.shutdown()
      this.driver.stop()
      for (const done of this.leaves.splice(0)) done()
      for (const done of [...this.pendingQueries]) done()
      this.serfLeaveDone?.()
      for (const [id, p] of this.joins) {
        this.joins.delete(id)
        p.reject(new JoinError(['the node was shut down']))
      }
      this.closing = Promise.all([this.udp.close(), this.tcp.close()]).then(() => undefined)
    }
    return this.closing
  }

  members(): Member[] {
    return this.driver.swim.members().map(withTags)
  }

  localMember(): Member {
    return withTags(this.driver.swim.localMember())
  }

  async forceLeave(name: string, opts: { prune?: boolean } = {}): Promise<MemberState | undefined> {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError([`name: expected a member name, got ${JSON.stringify(name)}`])
    const prune = opts.prune === true
    const before = this.driver.swim.member(name)?.state
    const serf = this.serf
    if (this.driver.isStopped) return before
    if (serf === undefined) {
      return this.driver.run((now, out) => this.driver.swim.forceLeave(name, prune, now, out))
    }
    if (before === undefined && serf.statusLTime(name) === undefined) return undefined
    const othersAlive = this.driver.swim.members().some((m) => m.name !== this.name && m.state === 'alive')
    await new Promise<void>((resolve) => {
      const timer = othersAlive ? setTimeout(resolve, SERF_BROADCAST_TIMEOUT_MS) : undefined
      this.driver.run(() =>
        serf.forceLeave(name, prune, () => {
          if (timer !== undefined) clearTimeout(timer)
          resolve()
        }),
      )
      // Alone, nobody will carry the intent (Serf does not wait then either); our own view changes at once.
      if (!othersAlive) queueMicrotask(resolve)
    })
    return before
  }

  userEvent(name: string, payload: Uint8Array | string = new Uint8Array(0), opts: { coalesce?: boolean } = {}): number {
    const serf = this.serf
    if (serf === undefined) throw new ConfigError(['serf: user events need the Serf layer; start the node with serf: true (the default)'])
    const bytes = payloadBytes(payload)
    if (this.driver.isStopped) throw new ConfigError(['the node is shut down'])
    return this.driver.run(() => serf.userEvent(name, bytes, opts.coalesce === true))
  }

  query(name: string, payload: Uint8Array | string = new Uint8Array(0), opts: QueryOptions = {}): Promise<QueryResult> {
    const serf = this.serf
    if (serf === undefined) throw new ConfigError(['serf: queries need the Serf layer; start the node with serf: true (the default)'])
    const bytes = payloadBytes(payload)
    if (this.driver.isStopped) throw new ConfigError(['the node is shut down'])
    const c = this.driver.swim.config
    // Serf's DefaultQueryTimeout: GossipInterval × QueryTimeoutMult (16) × ceil(log10(N + 1)).
    const timeoutMs = opts.timeoutMs ?? c.gossipIntervalMs * 16 * Math.max(1, Math.ceil(Math.log10(this.driver.swim.estimatedClusterSize() + 1)))
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new ConfigError([`timeoutMs: expected a positive number of milliseconds, got ${String(opts.timeoutMs)}`])
    const id = randomBytes(4).readUInt32LE(0)
    const addr = ipToBytes(this.address.ip) as Uint8Array
    const { lTime } = this.driver.run((now) =>
      serf.query({ name, payload: bytes, id, addr, port: this.address.port, timeoutMs, nowMs: now, requestAck: opts.ack !== false, nodes: opts.nodes, tags: opts.tags }),
    )
    const result: { acks: string[]; responses: Array<{ from: string; payload: Uint8Array }> } = { acks: [], responses: [] }
    const listener = (e: SerfLayerEvent): void => {
      if (e.type !== 'queryReply' || e.lTime !== lTime || e.id !== id) return
      if (e.ack) result.acks.push(e.from)
      else {
        result.responses.push({ from: e.from, payload: e.payload })
        opts.onResponse?.(e.from, e.payload)
      }
    }
    this.driver.events.on('serf', listener)
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.pendingQueries.delete(done)
        this.driver.events.off('serf', listener)
        serf.closeQuery(lTime, id)
        resolve({ name, lTime, acks: result.acks, responses: result.responses })
      }
      const timer = setTimeout(done, timeoutMs)
      this.pendingQueries.add(done)
    })
  }

  setTags(tags: Tags): void {
    const problems = tagProblems(tags)
    if (problems.length > 0) throw new ConfigError(problems)
    this.setMeta(markMeta(encodeTags(tags)))
  }

  setMeta(meta: Uint8Array): void {
    if (!(meta instanceof Uint8Array) || meta.length > META_MAX_BYTES) {
      throw new ConfigError([`meta: expected at most ${META_MAX_BYTES} bytes, got ${meta instanceof Uint8Array ? `${meta.length} bytes` : typeof meta}`])
    }
    if (this.driver.isStopped) return
    this.driver.run((now, out) => this.driver.swim.setMeta(meta, now, out))
  }

  stats(): SwimStats {
    return this.driver.swim.stats
  }

  private get security(): WireSecurity {
    const s = this.driver.security
    if (s === undefined) throw new ConfigError(['the node runs without its security layer'])
    return s
  }

  encryption(): EncryptionStatus {
    const s = this.security
    return { ...s.keyring.info(), encrypting: s.encrypting, verifyIncoming: s.verifyIncoming, verifyOutgoing: s.verifyOutgoing, label: s.label }
  }

  installKey(key: string | Uint8Array): void {
    this.security.keyring.install(toKey(key))
  }

  useKey(key: string | Uint8Array): void {
    this.security.keyring.use(toKey(key))
  }

  removeKey(key: string | Uint8Array): void {
    this.security.keyring.remove(toKey(key))
  }

  setEncryptionVerify(opts: { incoming?: boolean; outgoing?: boolean }): void {
    const s = this.security
    if (opts.incoming !== undefined) s.verifyIncoming = opts.incoming
    if (opts.outgoing !== undefined) s.verifyOutgoing = opts.outgoing
  }

  exportKeys(): string[] {
    return this.security.keyring.keys.map(formatKey)
  }

  on(event: NodeEventName, listener: (e: never) => void): this {
    this.driver.events.on(event, listener as (...args: unknown[]) => void)
    return this
  }

  off(event: NodeEventName, listener: (...args: never[]) => void): this {
    this.driver.events.off(event, listener as (...args: unknown[]) => void)
    return this
  }
}
