/**
 * One resolved configuration for a node, whichever runtime runs it: the options a user gives
 * (`startNode`, the simulator's `node` option, the agent's config file) are checked here once, every
 * problem named with its fix, and turned into the NodeSpec the composed node is built from.
 *
 *   NodeSettings (user input) ──resolveNodeSettings──▶ ResolvedSettings ──+ name, address, env──▶ NodeSpec
 *
 * What only one runtime knows (sockets to bind, seeds to resolve, the host name, the wall clock as a
 * generation) stays with that runtime and is handed in as `defaults`.
 */
import { ConfigError } from '../core/errors.js'
import { isProfile, resolveConfig } from '../swim/config.js'
import type { Profile, SwimConfig } from '../swim/config.js'
import { resolveRumorConfig } from '../gossip/config.js'
import type { RumorConfig } from '../gossip/config.js'
import { resolveStateConfig } from '../state/config.js'
import type { StateConfig } from '../state/config.js'
import { resolvePhiConfig } from '../state/phi.js'
import { resolveReplicationConfig, type ReplicationConfig } from '../replication/config.js'
import type { PhiConfig } from '../state/phi.js'
import { markMeta } from '../stack/envelope.js'
import { Keyring, KeyringError, parseKey } from '../wire/keyring.js'
import { labelProblem } from '../wire/security.js'
import { encodeTags, tagProblems } from '../serf/tags.js'
import type { Tags } from '../serf/tags.js'
import { GRAPEVINE_VIVALDI, SERF_VIVALDI, type VivaldiConfig } from '../coordinates/vivaldi.js'
import { resolveOverlaySettings } from './overlay-settings.js'
import type { MembershipMode, OverlaySettings, ResolvedOverlay } from './overlay-settings.js'

/** What a node runs, whichever runtime runs it. Every field optional; defaults documented per field. */
export interface NodeSettings {
  /** Unique node name in the cluster (the real runtime defaults it to the host name). */
  readonly name?: string
  /** Timing profile: 'lan' (default), 'wan' or 'local'. */
  readonly profile?: Profile
  /** Overrides of the profile's SWIM settings. */
  readonly config?: Partial<SwimConfig>
  /** Serf-compatible tags carried in node metadata (at most 512 bytes encoded). */
  readonly tags?: Tags
  /**
   * Take part in Serf's protocol (join/leave intents, user events, queries, push-pull state), so Serf
   * agents show this node `left` after leave() instead of `failed`. Default true.
   */
  readonly serf?: boolean
  /**
   * SWIM alone: no Serf layer, no broadcasts, no cluster state, no phi (plain memberlist). Default false:
   * the whole stack.
   */
  readonly membershipOnly?: boolean
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
  /** CRDT replication settings over the defaults (replication/config.ts: message and state sizes, anti-entropy every 1 s). */
  readonly replication?: Partial<ReplicationConfig>
  /** This run's generation of the node's state; must grow across restarts. Default: the runtime's (the wall clock in ms). */
  readonly generation?: number
  /**
   * Encryption as memberlist and Serf do it (AES-GCM): `keys` (base64 as `serf keygen` prints, or 16,
   * 24 or 32 bytes), the primary first. `verifyIncoming` / `verifyOutgoing` (default true) switch a
   * running plaintext cluster over without downtime: accept both, then send encrypted, then require it.
   */
  readonly encryption?: EncryptionOptions
  /** Cluster label on every packet and stream (memberlist 0.3+). Off by default: Serf 0.9.4 rejects labels. */
  readonly label?: string
  /**
   * Serf's network coordinates (Vivaldi, updated from probe RTTs, carried in acks as Serf carries them):
   * `node.rtt(a, b)` and `node.nearest(k)`. Costs about 120 bytes per ack. Default true, false when
   * membership-only (plain memberlist sends empty acks).
   */
  readonly coordinates?: boolean
  /**
   * The coordinates' latency filter: 'grapevine' (default) takes the median of a peer's last 5 RTTs, the
   * lower middle one of an even number; 'serf' the median of 3, the upper middle one of two, as Serf
   * 0.9.4 does (with coordinateEcho: false, Grapevine's coordinate then evolves step for step as a Serf
   * agent's would). The wire and the estimates are the same either way.
   */
  readonly coordinateFilter?: 'grapevine' | 'serf'
  /**
   * The coordinate echo (a departure from Serf, README "Departures"): after an acked direct probe of a
   * Grapevine peer, the prober sends it the measured RTT and its own coordinate (one user message of
   * about 150 bytes), so both ends of every probe learn from it. Serf agents never receive one. Default
   * true; false does as Serf does (neither sends nor applies echoes).
   */
  readonly coordinateEcho?: boolean
  /**
   * 'swim' (default): full membership, SWIM + Lifeguard on memberlist's wire. 'hyparview': for clusters
   * too large for full membership: no SWIM and no Serf; HyParView neighbours (neighborUp/neighborDown
   * events), broadcasts over Plumtree, cluster state rounds to sampled peers.
   */
  readonly membership?: MembershipMode
  /** HyParView and Plumtree settings for membership: 'hyparview'. */
  readonly overlay?: OverlaySettings
}

export interface EncryptionOptions {
  readonly keys?: ReadonlyArray<string | Uint8Array>
  readonly verifyIncoming?: boolean
  readonly verifyOutgoing?: boolean
}

/** The fields of NodeSettings, for "not an option" checks. */
export const NODE_SETTING_FIELDS = [
  'name', 'profile', 'config', 'tags', 'serf', 'membershipOnly', 'incarnation', 'broadcast', 'state', 'phi', 'generation', 'encryption', 'label', 'coordinates', 'coordinateFilter', 'coordinateEcho', 'membership', 'overlay', 'replication',
] as const

/** Settings checked and completed: everything the composed node needs but its name, address and randomness. */
export interface ResolvedSettings {
  readonly name: string
  readonly config: SwimConfig
  /** Metadata for SWIM: Serf's tags, marked as Grapevine's unless membership-only. */
  readonly meta: Uint8Array
  readonly serf: boolean
  readonly membershipOnly: boolean
  /** Network coordinates on (acks carry ours, probes update it). */
  readonly coordinates: boolean
  /** The coordinates' update rule (undefined: Grapevine's, GRAPEVINE_VIVALDI). */
  readonly vivaldi?: VivaldiConfig
  /** The coordinate echo on (undefined: on). */
  readonly coordinateEcho?: boolean
  readonly incarnation: number
  readonly generation: number
  readonly broadcast: Partial<RumorConfig>
  readonly state: Partial<StateConfig>
  readonly phi: Partial<PhiConfig>
  readonly replication: Partial<ReplicationConfig>
  readonly keyring: Keyring
  readonly label: string
  readonly verifyIncoming: boolean
  readonly verifyOutgoing: boolean
  /** 'hyparview': the overlay runs instead of SWIM (absent: 'swim'). */
  readonly membership?: MembershipMode
  /** The overlay's resolved settings, in hyparview mode. */
  readonly overlay?: ResolvedOverlay
}

/** Values only the runtime knows. */
export interface SettingsDefaults {
  readonly name: string
  readonly generation: number
}

/** A key as bytes: base64 text as `grapevine keygen` prints it, or raw bytes. Throws KeyringError. */
export function toKey(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? parseKey(key) : new Keyring([key]).keys[0]
}

/**
 * Checks every setting, adding each problem (field, what was expected, what was given) to `problems`.
 * Returns undefined when something is wrong; the caller throws one ConfigError with all of them.
 */
export function resolveNodeSettings(o: NodeSettings, defaults: SettingsDefaults, problems: string[]): ResolvedSettings | undefined {
  const name = o.name ?? defaults.name
  if (typeof name !== 'string' || name.length === 0 || new TextEncoder().encode(name).length > 255) {
    problems.push(`name: expected a non-empty string of at most 255 bytes, unique in the cluster, got ${JSON.stringify(o.name)}`)
  }
  if (o.profile !== undefined && !isProfile(o.profile)) {
    problems.push(`profile: expected 'lan', 'wan' or 'local', got ${JSON.stringify(o.profile)}`)
  }
  let config: SwimConfig | undefined
  if (o.config !== undefined && (o.config === null || typeof o.config !== 'object')) {
    problems.push(`config: expected an object of SWIM settings like { probeIntervalMs: 1000 }, got ${JSON.stringify(o.config)}`)
  } else if (o.profile === undefined || isProfile(o.profile)) {
    try {
      config = resolveConfig(o.config ?? {}, o.profile ?? o.config?.profile ?? 'lan')
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      problems.push(...e.problems.map((p) => `config.${p}`))
    }
  }
  let tags = encodeTags({})
  if (o.tags !== undefined) {
    const tp = tagProblems(o.tags)
    problems.push(...tp)
    if (tp.length === 0) tags = encodeTags(o.tags)
  }
  if (o.coordinates !== undefined && typeof o.coordinates !== 'boolean') {
    problems.push(`coordinates: expected true (Serf's network coordinates in acks, the default) or false (empty acks), got ${JSON.stringify(o.coordinates)}`)
  }
  if (o.coordinateFilter !== undefined && o.coordinateFilter !== 'grapevine' && o.coordinateFilter !== 'serf') {
    problems.push(`coordinateFilter: expected 'grapevine' (the default: the median of a peer's last 5 RTTs, the lower of two) or 'serf' (of 3, the higher of two, as Serf 0.9.4), got ${JSON.stringify(o.coordinateFilter)}`)
  } else if (o.coordinateFilter !== undefined && (o.coordinates === false || o.membershipOnly === true || o.membership === 'hyparview')) {
    problems.push(`coordinateFilter: network coordinates are off here (coordinates: false, membershipOnly or hyparview); remove coordinateFilter`)
  }
  if (o.coordinateEcho !== undefined && typeof o.coordinateEcho !== 'boolean') {
    problems.push(`coordinateEcho: expected true (the default: tell a probed Grapevine peer the RTT, so both ends learn) or false (Serf's behaviour), got ${JSON.stringify(o.coordinateEcho)}`)
  } else if (o.coordinateEcho !== undefined && (o.coordinates === false || (o.membershipOnly === true && o.coordinates !== true) || o.membership === 'hyparview')) {
    problems.push(`coordinateEcho: network coordinates are off here (coordinates: false, membershipOnly or hyparview); remove coordinateEcho`)
  }
  for (const f of ['serf', 'membershipOnly'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'boolean') {
      problems.push(
        f === 'serf'
          ? `serf: expected true (speak Serf's intents, the default) or false (plain memberlist below Grapevine's protocols), got ${JSON.stringify(o.serf)}`
          : `membershipOnly: expected false (the whole stack, the default) or true (SWIM alone), got ${JSON.stringify(o.membershipOnly)}`,
      )
    }
  }
  const incarnation = o.incarnation ?? 1
  if (!Number.isInteger(incarnation) || incarnation < 1 || incarnation > 0xffffffff) {
    problems.push(`incarnation: expected an integer from 1 to 4294967295 (one more than the last one used), got ${JSON.stringify(o.incarnation)}`)
  }
  const generation = o.generation ?? defaults.generation
  if (!Number.isSafeInteger(generation) || generation < 0) {
    problems.push(`generation: expected a non-negative integer that grows across restarts (the default is the wall clock in ms), got ${JSON.stringify(o.generation)}`)
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
  sub('broadcast', () => resolveRumorConfig(o.broadcast ?? {}))
  sub('state', () => resolveStateConfig(o.state ?? {}))
  sub('phi', () => resolvePhiConfig(o.phi ?? {}))
  sub('replication', () => resolveReplicationConfig(o.replication ?? {}))
  const enc = encryptionSettings(o, problems)
  const mode = resolveOverlaySettings(o, problems)
  if (problems.length > 0 || config === undefined) return undefined
  const membershipOnly = o.membershipOnly ?? false
  if (mode.overlay !== undefined) {
    return { name, config, meta: markMeta(tags), serf: false, membershipOnly: false, coordinates: false, incarnation, generation, broadcast: o.broadcast ?? {}, state: o.state ?? {}, phi: o.phi ?? {}, replication: o.replication ?? {}, ...enc, membership: 'hyparview', overlay: mode.overlay }
  }
  return {
    // Membership-only without tags is plain memberlist: no metadata at all.
    name, config, meta: membershipOnly ? (o.tags === undefined ? new Uint8Array(0) : tags) : markMeta(tags), serf: !membershipOnly && (o.serf ?? true), membershipOnly,
    coordinates: o.coordinates ?? !membershipOnly, vivaldi: o.coordinateFilter === 'serf' ? SERF_VIVALDI : GRAPEVINE_VIVALDI,
    coordinateEcho: o.coordinateEcho ?? true, incarnation, generation,
    broadcast: o.broadcast ?? {}, state: o.state ?? {}, phi: o.phi ?? {}, replication: o.replication ?? {}, ...enc,
  }
}

/** Like resolveNodeSettings, but throws one ConfigError naming every problem. */
export function resolveNodeSettingsOrThrow(o: NodeSettings, defaults: SettingsDefaults): ResolvedSettings {
  const problems: string[] = []
  if (o === null || typeof o !== 'object') throw new ConfigError([`node settings: expected an object, got ${JSON.stringify(o)}`])
  const r = resolveNodeSettings(o, defaults, problems)
  if (r === undefined) throw new ConfigError(problems)
  return r
}

function encryptionSettings(o: NodeSettings, problems: string[]): Pick<ResolvedSettings, 'keyring' | 'label' | 'verifyIncoming' | 'verifyOutgoing'> {
  const e = o.encryption ?? {}
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
  const label = o.label ?? ''
  const lp = labelProblem(label)
  if (lp !== undefined) problems.push(lp)
  return { keyring, label: lp === undefined ? label : '', verifyIncoming: e?.verifyIncoming ?? true, verifyOutgoing: e?.verifyOutgoing ?? true }
}
