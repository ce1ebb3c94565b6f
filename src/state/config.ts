/**
 * Cluster state configuration: one typed object with documented defaults, validated once.
 *
 * Each doc gives the meaning, the trade-off, the default and the constraint; `resolveStateConfig` checks
 * the constraints and throws one `ConfigError` listing every bad field with its fix (the shape of
 * swim/config.ts).
 */
import { ConfigError } from '../core/errors.js'

export interface StateConfig {
  /**
   * How long a tombstone (a deleted key) is kept after this node learned it, before it is garbage
   * collected and the node's `lastGcVersion` watermark moves past it. Resurrection is prevented by the
   * watermark whatever the value (a peer older than the watermark gets a full reset of that node), so
   * this only trades memory against resets: a peer that misses a tombstone for longer than this needs a
   * full copy of the owner's state instead of a delta. Default 2 h, as chitchat (Cassandra's gossip keeps
   * dead endpoints 3 days). Must be ≥ 0; keep it well above the time a delete needs to reach every node.
   */
  readonly tombstoneGraceMs: number
  /**
   * Byte budget of one Syn, Ack or Ack2 payload including its kind byte: memberlist's 1400-byte packet
   * minus room for the envelope (user-message type, layer tag, CRC, label, AES-GCM's 29 bytes). Default
   * 1300. Larger moves more state per round but risks IP fragmentation. Must fit the largest entry.
   */
  readonly maxDeltaBytes: number
  /**
   * Time between state gossip rounds (Cassandra and chitchat: 1 s). Default 1000. 0 turns the rounds
   * off: the state then spreads only through push-pull (join and SWIM's periodic exchange), and no
   * heartbeats reach the phi detector.
   */
  readonly roundIntervalMs: number
  /**
   * Peers a node starts a Syn/Ack/Ack2 exchange with per round. Each exchange moves up to two budgets of
   * deltas (the Ack and the Ack2). Cassandra uses 1, chitchat 3. Default 3: in the simulator 200 nodes ×
   * 2,000 writes converge 22 / 12 / 6 rounds after the last write with fanout 1 / 2 / 3 for 19 / 24 / 26 MB
   * in all; a quiet cluster pays up to fanout Syns of up to maxDeltaBytes per node and round, riding on
   * SWIM's pings and acks (stack/protocols.ts). Range [1, 16].
   */
  readonly fanout: number
  /**
   * An Ack is answered with an Ack2 only while the Syn it replies to is this recent, so duplicated or very
   * late Acks cost no extra packet (their deltas are still applied: application is idempotent). Default
   * 5000; must be ≥ roundIntervalMs.
   */
  readonly exchangeTimeoutMs: number
  /** Largest key accepted by `set`, in UTF-8 bytes. Default 128. */
  readonly maxKeyBytes: number
  /**
   * Largest value accepted by `set`, in UTF-8 bytes. Default 768. One entry must fit one delta:
   * maxKeyBytes + maxValueBytes + maxNodeNameBytes + DELTA_FRAMING_BYTES ≤ maxDeltaBytes.
   */
  readonly maxValueBytes: number
  /** Largest node name, in UTF-8 bytes (memberlist allows long names; Serf caps tags, not names). Default 128. */
  readonly maxNodeNameBytes: number
  /**
   * Share of each delta budget given to one uniformly drawn stale node before the stalest-first order
   * fills the rest, so a node with a small version gap is never starved by busier ones. Default 0.25;
   * range [0, 1]; 0 turns the lottery off (pure stalest-first, chitchat's order).
   */
  readonly lotteryShare: number
  /**
   * How long the state of a member that left gracefully stays readable here before it is forgotten. A
   * member that failed keeps its state until SWIM reaps it (Serf's reconnect timeout, 24 h, or a
   * force-leave with prune): it may come back. A forgotten node's state at that generation is refused
   * from peers for tombstoneGraceMs afterwards (a node-level tombstone), so it cannot come back from a
   * peer that has not forgotten it yet; a newer generation (the node restarted) is accepted. Default
   * 60000 (Cassandra keeps a departed endpoint for 3 days, because its token ring needs it; ours is only
   * read). Must be ≥ 0.
   */
  readonly forgetLeftAfterMs: number
  /**
   * Quiet backoff of the riding Syns: while nothing differs (no change here, no difference found by an
   * exchange, no membership change), the rounds that send Syns thin out to every 2nd, 4th … up to every
   * this many rounds; the first difference brings them back to every round at once. Heartbeats still
   * advance every round but travel only on those Syns, so the phi detector hears each member less often
   * while nothing happens: at 32 nodes in the simulator (`npm run bench:idle`), 1 / 2 / 4 / 8 send
   * 117 / 59 / 30 / 15 B of Syns per node and second, and phi of a crashed member crosses 8 at the median
   * node 10.5 / 16.0 / 23.8 / 31.0 s after the crash. Worse, phi learns the busy rounds' rhythm and
   * then hears quiet gaps: the highest phi of a live member over a quiet minute was 0.87 with 1, 10.2
   * with 2 and over 4000 with 4 (8 accuses), so the default is 1 (no backoff) and phi stays truthful.
   * Raise it only where phi is not read (phi mode 'swimOnly' and nobody watching phi): a change spreads
   * as fast with any value (a busy node sends at full fanout every round). Range [1, 64].
   */
  readonly quietBackoffMaxRounds: number
  /**
   * Quiet Syns send each heartbeat as one byte, its value mod 256, instead of a msgpack integer that grows
   * with uptime (1 byte for the first 127 rounds, 3 up to 18 hours, then 5). A receiver rebuilds the value
   * from its own and takes it only as far as the time since it last heard the node allows (one heartbeat
   * per roundIntervalMs, plus 2); every 16th quiet Syn still carries whole values, so a receiver that fell
   * more than 127 heartbeats behind (a long partition) catches up within seconds. Default true. Turn it off
   * while a cluster still holds Grapevine nodes older than this form: they drop such Syns as undecodable
   * (no harm to state, but their phi hears fewer heartbeats).
   */
  readonly compactHeartbeats: boolean
  /**
   * What the cluster state puts into SWIM's push-pull (TCP): 'join', its full state only when the exchange
   * is a join (the joiner and the node it joins through each get everything) and nothing in the periodic
   * exchanges, whose anti-entropy the Syn windows already do; 'always', its full state in every push-pull,
   * as before (about 20 bytes per known node, each way, every 30 s at 32 nodes). With roundIntervalMs 0
   * (no Syns) push-pull is the only way state spreads, so 'join' then acts as 'always'. Default 'join'.
   */
  readonly pushPullState: 'join' | 'always'
}

export const STATE_DEFAULTS: StateConfig = {
  tombstoneGraceMs: 2 * 3600_000,
  maxDeltaBytes: 1300,
  roundIntervalMs: 1000,
  fanout: 3,
  exchangeTimeoutMs: 5000,
  maxKeyBytes: 128,
  maxValueBytes: 768,
  maxNodeNameBytes: 128,
  lotteryShare: 0.25,
  forgetLeftAfterMs: 60_000,
  quietBackoffMaxRounds: 1,
  compactHeartbeats: true,
  pushPullState: 'join',
}

/** Worst-case bytes of an Ack around one entry besides its key, value and node name (headers, numbers). */
export const DELTA_FRAMING_BYTES = 72
/** Worst-case bytes of a Syn carrying one digest, besides its three names (window start, end, digest). */
export const SYN_FRAMING_BYTES = 58

/** Merges `partial` over the defaults and validates the result. Throws ConfigError (`invalid state configuration`). */
export function resolveStateConfig(partial: Partial<StateConfig> = {}): StateConfig {
  const problems: string[] = []
  const known = new Set(Object.keys(STATE_DEFAULTS))
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) problems.push(`${key} is not a state configuration field; check the spelling (fields: ${[...known].join(', ')})`)
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const c: StateConfig = { ...STATE_DEFAULTS, ...defined }
  const integer = (name: keyof StateConfig, min: number, max = Number.MAX_SAFE_INTEGER): boolean => {
    const v = c[name]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}] (got ${String(v)}); the default is ${String(STATE_DEFAULTS[name])}`)
      return false
    }
    return true
  }
  integer('tombstoneGraceMs', 0)
  const budgetOk = integer('maxDeltaBytes', 256, 65_000)
  const intervalOk = integer('roundIntervalMs', 0)
  integer('fanout', 1, 16)
  integer('forgetLeftAfterMs', 0)
  integer('quietBackoffMaxRounds', 1, 64)
  const timeoutOk = integer('exchangeTimeoutMs', 1)
  const sizesOk = [integer('maxKeyBytes', 1, 65_535), integer('maxValueBytes', 0, 65_535), integer('maxNodeNameBytes', 1, 65_535)].every(Boolean)
  if (typeof c.lotteryShare !== 'number' || !(c.lotteryShare >= 0 && c.lotteryShare <= 1)) {
    problems.push(`lotteryShare must be a number in [0, 1] (got ${String(c.lotteryShare)}); the default is ${STATE_DEFAULTS.lotteryShare}`)
  }
  if (typeof c.compactHeartbeats !== 'boolean') {
    problems.push(`compactHeartbeats must be true or false (got ${String(c.compactHeartbeats)}); the default is ${STATE_DEFAULTS.compactHeartbeats}`)
  }
  if (c.pushPullState !== 'join' && c.pushPullState !== 'always') {
    problems.push(`pushPullState must be 'join' or 'always' (got ${String(c.pushPullState)}); the default is '${STATE_DEFAULTS.pushPullState}'`)
  }
  if (intervalOk && timeoutOk && c.exchangeTimeoutMs < c.roundIntervalMs) {
    problems.push(`exchangeTimeoutMs (${c.exchangeTimeoutMs}) must be ≥ roundIntervalMs (${c.roundIntervalMs}); a reply may take up to a round`)
  }
  if (budgetOk && sizesOk) {
    const largest = c.maxKeyBytes + c.maxValueBytes + c.maxNodeNameBytes + DELTA_FRAMING_BYTES
    if (largest > c.maxDeltaBytes) {
      problems.push(
        `maxDeltaBytes (${c.maxDeltaBytes}) must hold the largest entry: maxKeyBytes + maxValueBytes + maxNodeNameBytes + ${DELTA_FRAMING_BYTES} = ${largest}; raise maxDeltaBytes or lower the key, value or name bounds`,
      )
    }
    const syn = 3 * c.maxNodeNameBytes + SYN_FRAMING_BYTES
    if (syn > c.maxDeltaBytes) {
      problems.push(`maxDeltaBytes (${c.maxDeltaBytes}) must hold a Syn of one digest: 3 × maxNodeNameBytes + ${SYN_FRAMING_BYTES} = ${syn}; raise maxDeltaBytes or lower maxNodeNameBytes`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, 'state')
  return c
}
