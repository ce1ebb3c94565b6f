/**
 * SWIM configuration: one typed object, memberlist's profiles as defaults, validated once.
 *
 * Field names follow memberlist's (camelCased, units last) so memberlist users recognise them. Each doc
 * gives the meaning, the trade-off and the constraint; `resolveConfig` checks the constraints and throws
 * one ConfigError listing every bad field with its fix.
 */
import { ConfigError } from '../core/errors.js'

export type Profile = 'lan' | 'wan' | 'local'

export interface SwimConfig {
  readonly profile: Profile
  /** Time between probes of successive members (memberlist ProbeInterval). Lower detects faster, costs more packets. LAN 1000. Must exceed probeTimeoutMs. */
  readonly probeIntervalMs: number
  /** How long to wait for a direct ack before indirect probes (ProbeTimeout). Set near the p99 round-trip time. LAN 500. */
  readonly probeTimeoutMs: number
  /** Members asked to probe indirectly after a direct probe fails (IndirectChecks). LAN 3, local 1. */
  readonly indirectChecks: number
  /** Broadcast retransmit multiplier: each update is sent retransmitMult × ceil(log10(n+1)) times (RetransmitMult). LAN 4. */
  readonly retransmitMult: number
  /** Suspicion timeout multiplier: min timeout = mult × max(1, log10(n)) × probeInterval (SuspicionMult). LAN 4, WAN 6. Must be ≥ 1. */
  readonly suspicionMult: number
  /** Max suspicion timeout as a multiple of the min, shrunk by confirmations (SuspicionMaxTimeoutMult). 6. */
  readonly suspicionMaxTimeoutMult: number
  /** Anti-entropy push-pull period for n ≤ 32, scaled up beyond (PushPullInterval). LAN 30000. 0 disables. */
  readonly pushPullIntervalMs: number
  /** Gossip round period (GossipInterval). LAN 200. */
  readonly gossipIntervalMs: number
  /** Members gossiped to per round (GossipNodes). LAN 3. */
  readonly gossipNodes: number
  /** Keep gossiping to members declared dead for this long, so they can learn it and refute (GossipToTheDeadTime). LAN 30000. */
  readonly gossipToTheDeadTimeMs: number
  /** Lifeguard local health: probe deadlines scale by up to this factor (AwarenessMaxMultiplier). 8. */
  readonly awarenessMaxMultiplier: number
  /** Deadline for stream exchanges: push-pull, TCP fallback ping (memberlist TCPTimeout). LAN 10000. */
  readonly streamTimeoutMs: number
  /** Do not try the TCP fallback ping when UDP probes fail (DisableTcpPings). */
  readonly disableTcpPings: boolean
  /** LZW-compress packets (when smaller) and streams (EnableCompression). Serf's default: on. */
  readonly enableCompression: boolean
  /** Budget used to pack piggybacked broadcasts into one datagram (memberlist UDPBufferSize). 1400. */
  readonly packetBytesBudget: number
  /** A dead member's name may be claimed from a new address after this long; 0 never (DeadNodeReclaimTime). */
  readonly deadNodeReclaimTimeMs: number
  /**
   * Lifeguard on (default): local health awareness scales probe deadlines, suspicion timeouts start long
   * and shrink with independent confirmations, nacks from indirect probes, and the suspect piggybacked on
   * the probe of a suspect node (buddy system). Off: classic SWIM, fixed suspicion timeout at the minimum.
   */
  readonly lifeguard: boolean
  /**
   * Calm healing (on by default; a departure from memberlist 0.2.2): a member that sent us a packet lately
   * is not accused on second-hand word. A `dead` notice about it from a third node, within the minimum
   * suspicion timeout of its last packet, becomes a suspicion it can refute; a dead or suspect entry
   * about it in a push-pull state, within the longest suspicion timeout, raises no suspicion at all;
   * either way the accusation is forwarded to the member itself so it refutes at once. A push-pull state
   * holding alive, at the incarnation we hold dead, a member is answered by sending that member our dead
   * notice, so that it refutes (straight back, with directRefutation); and for 10 probe intervals after a
   * member we held dead comes back, each probe tick push-pulls with one failed member not yet tried, so
   * the members whose refutations we missed are found in seconds rather than at the next periodic
   * push-pull. What it prevents: after a partition heals, each side's push-pull states declare the other
   * side's members dead, and nodes suspected their own neighbours by the dozen. A third node's dead
   * notice about a member last heard from before that window but within the longest suspicion timeout
   * is not taken on its word either: our own final probe of the member decides if one is running, else
   * we probe it at once and declare it dead ourselves only if it does not answer. A real crash's first
   * dead notice comes after a probe interval plus the minimum suspicion timeout, by when nobody has
   * heard from it within that window; the check costs at most one probe at the nodes that heard from it
   * within the longest (crash of 1 of 64: dead everywhere after 10.6 s on average, 10.3 s without the
   * check). Off: memberlist's rules.
   */
  readonly calmHealing: boolean
  /**
   * Direct refutation (on by default; a departure from memberlist 0.2.2, which only gossips it): an
   * accusation about us that arrives in a packet is answered with our alive sent straight to the packet's
   * sender and to the accuser, and an accusation we already refuted (an incarnation below ours), which
   * memberlist ignores, is answered the same way, once per probe interval per address. What it prevents:
   * a member that holds a suspicion our refutation's transmit-limited gossip missed, whose timer then
   * declares us dead. Serf agents receive an ordinary alive message. Off: memberlist's rules.
   */
  readonly directRefutation: boolean
  /**
   * Final probe (on by default; a departure from memberlist 0.2.2): when a suspicion's timer expires, the
   * member is probed once more (ping with the suspicion attached, indirect probes, TCP) before it is
   * declared dead. No ack within a probe interval (scaled by local health): dead, as memberlist. An ack:
   * the death is postponed and the member probed again a probe interval later, until its refutation
   * arrives or the suspicion has lasted its longest timeout plus its shortest (then dead, as memberlist). A real crash is
   * declared one probe interval later than memberlist declares it. Off: memberlist's rules.
   */
  readonly finalProbe: boolean
  /**
   * Suspicion reminders (on by default; a departure from memberlist 0.2.2): while we hold a member
   * suspect, we send it the suspicion straight every two probe intervals, so that it refutes (or, with
   * directRefutation, answers an accusation it already refuted) to us. What it prevents: a member that
   * the refutation's gossip missed holding a live member suspect until its timer expires, up to the
   * longest suspicion timeout (43 s at 64 members) after the network recovered. One small packet per
   * suspicion held per two intervals. Off: memberlist's rules (only a prober tells the suspect).
   */
  readonly suspicionReminders: boolean
  /**
   * Distinct broadcast peers (on by default; a departure from memberlist 0.2.2): a Serf broadcast (user
   * event, query, join or leave intent) is not piggybacked twice on packets to the same member until it
   * has gone to as many distinct members as it has transmits (or as there are live members). memberlist
   * spends a transmit on every packet that carries a broadcast, whoever receives it, so in a small
   * cluster the few transmits could all go to one member's probes and acks, and a query or event missed
   * the others entirely (a query on three nodes missed one about once in a hundred with the `local`
   * profile's two transmits). Same number of packets and bytes. Off: memberlist's rule.
   */
  readonly distinctBroadcastPeers: boolean
  /**
   * Dead probes (a departure from memberlist 0.2.2; 0 turns them off): for this long after a member was
   * declared dead, each probe tick pings one such member — every tick in a cluster of up to
   * DEAD_PROBES_PER_INTERVAL live members, a proportional share of ticks beyond, so the cluster sends
   * about that many such pings per probe interval whatever its size. An ack means the member is
   * reachable again (a partition healed): we push-pull with it at once, and both sides learn they were
   * held dead and refute. memberlist waits for Serf's reconnect (one failed member per 30 s with
   * probability failed/alive) or a seed. LAN 180000.
   */
  readonly deadProbeWindowMs: number
  /** Try to reconnect to failed members and seed addresses every this long (Serf ReconnectInterval). 30000. 0 disables. */
  readonly reconnectIntervalMs: number
  /** Forget failed members after this long (Serf ReconnectTimeout). 24 h. */
  readonly reconnectTimeoutMs: number
  /** Forget members that left after this long (Serf TombstoneTimeout). 24 h. */
  readonly tombstoneTimeoutMs: number
  /** How often failed and left members are checked for reaping (Serf ReapInterval). 15000. */
  readonly reapIntervalMs: number
  /** How long leave() waits for its dead/left broadcast to go out before reporting completion. 5000. */
  readonly leaveTimeoutMs: number
  /** memberlist protocol version spoken (ProtocolVersion); Serf uses 2. Range [1, 5]. */
  readonly protocolVersion: number
  /** Delegate (Serf) protocol range and current version advertised in Vsn: [min, max, current]. Serf's: [2, 5, 5]. */
  readonly delegateVersions: readonly [number, number, number]
}

const LAN: Omit<SwimConfig, 'profile'> = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  pushPullIntervalMs: 30_000,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadTimeMs: 30_000,
  awarenessMaxMultiplier: 8,
  streamTimeoutMs: 10_000,
  disableTcpPings: false,
  enableCompression: true,
  packetBytesBudget: 1400,
  deadNodeReclaimTimeMs: 0,
  lifeguard: true,
  calmHealing: true,
  directRefutation: true,
  finalProbe: true,
  suspicionReminders: true,
  distinctBroadcastPeers: true,
  deadProbeWindowMs: 180_000,
  reconnectIntervalMs: 30_000,
  reconnectTimeoutMs: 24 * 3600_000,
  tombstoneTimeoutMs: 24 * 3600_000,
  reapIntervalMs: 15_000,
  leaveTimeoutMs: 5_000,
  protocolVersion: 2,
  delegateVersions: [2, 5, 5],
}

export const PROFILES: Readonly<Record<Profile, SwimConfig>> = {
  lan: { profile: 'lan', ...LAN },
  wan: {
    profile: 'wan',
    ...LAN,
    streamTimeoutMs: 30_000,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    probeTimeoutMs: 3000,
    probeIntervalMs: 5000,
    gossipNodes: 4,
    gossipIntervalMs: 500,
    gossipToTheDeadTimeMs: 60_000,
  },
  local: {
    profile: 'local',
    ...LAN,
    streamTimeoutMs: 1000,
    indirectChecks: 1,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    probeTimeoutMs: 200,
    probeIntervalMs: 1000,
    gossipIntervalMs: 100,
    gossipToTheDeadTimeMs: 15_000,
  },
}

/** Thrown by resolveConfig (one class for every layer's configuration: core/errors.ts). */
export { ConfigError }

export function isProfile(value: string): value is Profile {
  return value === 'lan' || value === 'wan' || value === 'local'
}

/** Merges `partial` over the profile's defaults and validates the result. */
export function resolveConfig(partial: Partial<SwimConfig> = {}, profile: Profile = partial.profile ?? 'lan'): SwimConfig {
  const problems: string[] = []
  if (!isProfile(profile)) {
    throw new ConfigError([`profile must be one of lan, wan, local (got ${JSON.stringify(profile)})`])
  }
  const known = new Set(Object.keys(PROFILES.lan))
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) problems.push(`${key} is not a configuration field; check the spelling (fields: ${[...known].join(', ')})`)
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const c: SwimConfig = { ...PROFILES[profile], ...defined, profile }
  const positiveInt = (name: keyof SwimConfig, min = 1, max = Number.MAX_SAFE_INTEGER): void => {
    const v = c[name]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}] (got ${String(v)}); the ${profile} default is ${String(PROFILES[profile][name])}`)
    }
  }
  positiveInt('probeIntervalMs', 1)
  positiveInt('probeTimeoutMs', 1)
  positiveInt('indirectChecks', 0, 64)
  positiveInt('retransmitMult', 1, 64)
  positiveInt('suspicionMult', 1, 64)
  positiveInt('suspicionMaxTimeoutMult', 1, 64)
  positiveInt('pushPullIntervalMs', 0)
  positiveInt('gossipIntervalMs', 1)
  positiveInt('gossipNodes', 0, 64)
  positiveInt('gossipToTheDeadTimeMs', 0)
  positiveInt('awarenessMaxMultiplier', 1, 64)
  positiveInt('streamTimeoutMs', 1)
  positiveInt('packetBytesBudget', 64, 65_000)
  positiveInt('deadNodeReclaimTimeMs', 0)
  positiveInt('deadProbeWindowMs', 0)
  positiveInt('reconnectIntervalMs', 0)
  positiveInt('reconnectTimeoutMs', 0)
  positiveInt('tombstoneTimeoutMs', 0)
  positiveInt('reapIntervalMs', 1)
  positiveInt('leaveTimeoutMs', 0)
  positiveInt('protocolVersion', 1, 5)
  for (const b of ['disableTcpPings', 'enableCompression', 'lifeguard', 'calmHealing', 'directRefutation', 'finalProbe', 'suspicionReminders', 'distinctBroadcastPeers'] as const) {
    if (typeof c[b] !== 'boolean') problems.push(`${b} must be true or false (got ${String(c[b])})`)
  }
  if (Number.isInteger(c.probeTimeoutMs) && Number.isInteger(c.probeIntervalMs) && c.probeTimeoutMs >= c.probeIntervalMs) {
    problems.push(`probeTimeoutMs (${c.probeTimeoutMs}) must be smaller than probeIntervalMs (${c.probeIntervalMs}); set it near the p99 round-trip time`)
  }
  const d = c.delegateVersions
  if (!Array.isArray(d) || d.length !== 3 || d.some((v) => !Number.isInteger(v) || v < 0 || v > 255) || d[0] > d[1] || d[2] < d[0] || d[2] > d[1]) {
    problems.push(`delegateVersions must be [min, max, current] bytes with min ≤ current ≤ max (got ${JSON.stringify(d)}); Serf's is [2, 5, 5]`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return c
}
