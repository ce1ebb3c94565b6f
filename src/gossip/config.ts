/**
 * Broadcast (rumor mongering) configuration: one typed object with documented defaults, validated once.
 *
 * The spreading policy follows Demers et al. 1987, "Epidemic algorithms for replicated database
 * maintenance", §1.4: push, pull or push-pull; loss of interest by counter (after k unnecessary contacts)
 * or coin (probability 1/k per unnecessary contact); with feedback (a contact is unnecessary only when the
 * peer already had the rumor) or blind (every contact counts). The defaults were picked by measurement
 * (`bench/rumor-policies.ts`); the numbers are in the README and in the doc of `DEFAULT_RUMOR_CONFIG`.
 */
import { ConfigError } from '../core/errors.js'

export type RumorMode = 'push' | 'pull' | 'push-pull'
export type RumorRemoval = 'counter' | 'coin'

/** Longest node name (UTF-8 bytes) that can originate or forward a rumor; the origin travels in every id. */
export const NODE_NAME_MAX_BYTES = 128

export interface RumorConfig {
  /** Period of a gossip round (the glue calls `tick` this often); memberlist's GossipInterval. LAN 200. */
  readonly gossipIntervalMs: number
  /** Peers contacted per gossip round (memberlist's GossipNodes). More spreads faster and costs more. 3. Range [1, 64]. */
  readonly fanout: number
  /** push: holders send hot rumors; pull: every node asks peers for what it lacks; push-pull: both in one exchange. */
  readonly mode: RumorMode
  /** counter: lose interest after k unnecessary contacts; coin: lose interest with probability 1/k at each. */
  readonly removal: RumorRemoval
  /**
   * The k of the removal rule, counted per contact (each peer sent a rumor is one contact, so with blind
   * removal and fanout f a counter of k lasts about k / f rounds). Higher lowers the residue
   * exponentially (s ≈ e^(−m)) and raises the traffic m linearly. 3. Range [1, 64].
   */
  readonly k: number
  /** true: a contact is unnecessary only when the peer already had the rumor (needs acks or digests); false: blind, every contact counts. */
  readonly feedback: boolean
  /** Largest payload `broadcast` accepts. One rumor with the longest name and origin must fit in messageBytesMax. 1024. */
  readonly maxPayloadBytes: number
  /** Longest rumor name (topic), UTF-8 bytes. 64. Range [0, 255]. */
  readonly maxNameBytes: number
  /**
   * Largest message the engine builds for one gossip contact. The glue wraps it (Grapevine envelope,
   * memberlist user-message type, compound framing), so keep it below the packet budget (1400) minus that
   * overhead. 1300.
   */
  readonly messageBytesMax: number
  /** Most hot rumors (still being spread) per node. On overflow the one closest to losing interest is dropped and counted (`dropped`). 256. */
  readonly maxQueue: number
  /** How long a delivered rumor's id is remembered to suppress duplicates. 90000. Must be at least 2 × maxRumorAgeMs. */
  readonly dedupeWindowMs: number
  /** Most ids remembered; when full the oldest is forgotten early and counted (`seenEvictedEarly`). 65536. */
  readonly dedupeMaxEntries: number
  /**
   * A rumor is forwarded and accepted only while its age (time held, summed along its path) is at most
   * this. With dedupeWindowMs ≥ 2 × this, a copy arriving after its id was forgotten would need more than
   * dedupeWindowMs − maxRumorAgeMs of pure network transit, so re-delivery cannot happen in practice.
   * 45000: a rumor kept retainMs (30 s) for repair can still be taken when handed over after a partition.
   */
  readonly maxRumorAgeMs: number
  /** Most ids a pull digest lists (the asker's hot and most recently seen rumors). 64. Range [0, 4096]. */
  readonly digestMaxIds: number
  /**
   * Residue repair (Demers' anti-entropy backing rumor mongering): every this long a node sends one pull
   * digest to a random peer, which answers with the recently delivered rumors (hot or not) the asker lacks.
   * Costs one small message per node per interval when idle; repairs a node that rumor mongering missed
   * within about one interval. 1000. 0 disables.
   */
  readonly repairIntervalMs: number
  /**
   * Quiet backoff of repair pulls: while the pulls bring nothing and nothing new is delivered here, the
   * time between them doubles from repairIntervalMs up to this. A delivery (a broadcast here or a rumor
   * received) brings it back to repairIntervalMs, and a peer's pull naming a rumor we lack is answered
   * at once by a pull of ours to that peer: a node rumor mongering missed learns of it from the pulls of
   * the nodes that got it (they pull 1, 3, 7, 15 s after the delivery). 16000. At least repairIntervalMs
   * (equal: no backoff).
   */
  readonly repairBackoffMaxMs: number
  /**
   * How long delivered rumors are kept to answer repair pulls. 30000. At most maxRumorAgeMs. This is
   * how long a cut-off node can be away and still get the broadcasts it missed once it is back (a
   * partition that heals, a long pause): with 2 broadcasts/s in a 100-node cluster split in halves for
   * 20 s, 10 s of retention delivered 94.2 % of them everywhere and 30 s delivered all (`grapevine sim
   * --nodes 100 --seed 7 --duration 90s --broadcasts 2 --kv-writes 5 --partition 0.5@30s:20s`).
   * Longer absences need state (cluster state converges after any partition), as Serf's bounded event
   * buffer does.
   */
  readonly retainMs: number
  /**
   * Most delivered rumors kept to answer repair pulls (payloads included). 64. Retention covers the
   * last retainMs or the last retainMax broadcasts, whichever is less: at more than about 2 broadcasts
   * per second raise it, with digestMaxIds, to bridge 30 s.
   */
  readonly retainMax: number
}

/**
 * Defaults: push, counter, feedback, k = 3, fanout 3 every 200 ms, residue repair every 1 s. Measured
 * with `bench/rumor-policies.ts` (one rumor, 1–10 ms latency): at 1000 nodes this policy alone leaves a
 * residue of 0.8 % (0 % loss) / 0.6 % (10 % loss) for 4.6 / 5.7 rumor copies and 8.3 / 9.8 messages per
 * node, every node reached in 0.5 s on average and 1.0–1.1 s at worst; with repair the residue was 0 in
 * every trial at 100 and 1000 nodes, with or without loss. k = 4 cuts the residue before repair to
 * 0.1 % for 40 % more traffic; push-pull is 35 % faster but its digests cost 15 messages per node per
 * second even when nothing is broadcast (pull likewise), against 1 for push with repair.
 */
export const DEFAULT_RUMOR_CONFIG: RumorConfig = {
  gossipIntervalMs: 200,
  fanout: 3,
  mode: 'push',
  removal: 'counter',
  k: 3,
  feedback: true,
  maxPayloadBytes: 1024,
  maxNameBytes: 64,
  messageBytesMax: 1300,
  maxQueue: 256,
  dedupeWindowMs: 90_000,
  dedupeMaxEntries: 65_536,
  maxRumorAgeMs: 45_000,
  digestMaxIds: 64,
  repairIntervalMs: 1000,
  repairBackoffMaxMs: 16_000,
  retainMs: 30_000,
  retainMax: 64,
}

/** Fixed bytes of a rumors message around one rumor: kind, flags, counts, epoch, varints, hops, lengths. */
export const ONE_RUMOR_FRAMING_BYTES = 1 + 1 + 1 + 1 + 4 + 5 + 5 + 1 + 1 + 2 + 2

/** Merges `partial` over the defaults and validates the result; throws one ConfigError (`invalid broadcast configuration`) listing every problem. */
export function resolveRumorConfig(partial: Partial<RumorConfig> = {}): RumorConfig {
  const problems: string[] = []
  const known = new Set(Object.keys(DEFAULT_RUMOR_CONFIG))
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) problems.push(`${key} is not a broadcast configuration field; check the spelling (fields: ${[...known].join(', ')})`)
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const c: RumorConfig = { ...DEFAULT_RUMOR_CONFIG, ...defined }
  const int = (name: keyof RumorConfig, min: number, max = Number.MAX_SAFE_INTEGER): boolean => {
    const v = c[name]
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return true
    problems.push(`${name} must be an integer in [${min}, ${max}] (got ${String(v)}); the default is ${String(DEFAULT_RUMOR_CONFIG[name])}`)
    return false
  }
  int('gossipIntervalMs', 1)
  int('fanout', 1, 64)
  int('k', 1, 64)
  const sizesOk = [int('maxPayloadBytes', 0, 65_535), int('maxNameBytes', 0, 255), int('messageBytesMax', 64, 65_000)].every(Boolean)
  int('maxQueue', 1, 1_000_000)
  const ageOk = [int('dedupeWindowMs', 1), int('maxRumorAgeMs', 1)].every(Boolean)
  int('dedupeMaxEntries', 16, 10_000_000)
  int('digestMaxIds', 0, 4096)
  const repairOk = int('repairIntervalMs', 0) && int('repairBackoffMaxMs', 0)
  if (repairOk && c.repairBackoffMaxMs < c.repairIntervalMs) {
    problems.push(`repairBackoffMaxMs (${c.repairBackoffMaxMs}) must be at least repairIntervalMs (${c.repairIntervalMs}); set it equal to turn the quiet backoff off`)
  }
  const retainOk = int('retainMs', 0)
  int('retainMax', 0, 100_000)
  if (c.retainMax > c.digestMaxIds) {
    problems.push(`retainMax (${c.retainMax}) must be at most digestMaxIds (${c.digestMaxIds}), or repair answers would resend rumors the asker could not list; raise digestMaxIds or lower retainMax`)
  }
  if (retainOk && ageOk && c.retainMs > c.maxRumorAgeMs) {
    problems.push(`retainMs (${c.retainMs}) must be at most maxRumorAgeMs (${c.maxRumorAgeMs}): an older rumor would be refused by its receiver; lower retainMs`)
  }
  if (c.mode !== 'push' && c.mode !== 'pull' && c.mode !== 'push-pull') {
    problems.push(`mode must be 'push', 'pull' or 'push-pull' (got ${JSON.stringify(c.mode)}); the default is '${DEFAULT_RUMOR_CONFIG.mode}'`)
  }
  if (c.removal !== 'counter' && c.removal !== 'coin') {
    problems.push(`removal must be 'counter' or 'coin' (got ${JSON.stringify(c.removal)}); the default is '${DEFAULT_RUMOR_CONFIG.removal}'`)
  }
  if (typeof c.feedback !== 'boolean') problems.push(`feedback must be true or false (got ${String(c.feedback)})`)
  if (sizesOk) {
    const need = c.maxPayloadBytes + c.maxNameBytes + NODE_NAME_MAX_BYTES + ONE_RUMOR_FRAMING_BYTES
    if (need > c.messageBytesMax) {
      problems.push(
        `maxPayloadBytes (${c.maxPayloadBytes}) + maxNameBytes (${c.maxNameBytes}) + a ${NODE_NAME_MAX_BYTES}-byte origin name + ${ONE_RUMOR_FRAMING_BYTES} bytes of framing = ${need} must fit in messageBytesMax (${c.messageBytesMax}); lower maxPayloadBytes to ${Math.max(0, c.messageBytesMax - need + c.maxPayloadBytes)} or less`,
      )
    }
  }
  if (ageOk && c.dedupeWindowMs < 2 * c.maxRumorAgeMs) {
    problems.push(
      `dedupeWindowMs (${c.dedupeWindowMs}) must be at least 2 × maxRumorAgeMs (${c.maxRumorAgeMs}) so that a late copy cannot outlive its remembered id; raise dedupeWindowMs to ${2 * c.maxRumorAgeMs} or lower maxRumorAgeMs`,
    )
  }
  if (problems.length > 0) throw new ConfigError(problems, 'broadcast')
  return c
}
