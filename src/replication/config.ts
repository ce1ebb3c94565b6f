/**
 * Replication of the CRDTs (replicator.ts): one typed configuration with documented defaults, validated
 * once; `resolveReplicationConfig` throws one ConfigError listing every bad field with its fix.
 *
 * Message sizes follow from two numbers: every message this protocol hands to SWIM is at most
 * `maxMessageBytes` (so it fits a packet with SWIM's and the envelope's framing), and a message larger
 * than that travels as at most `maxFragments` fragments. A key's encoded state is capped at
 * `maxStateBytes` so that it always fits one fragmented message.
 */
import { ConfigError } from '../core/errors.js'

/**
 * With a data directory, how soon changes that came from peers reach the disk (a write of ours is
 * committed before its delta is queued). The real store (runtime/node/crdt-store.ts) and the simulated
 * disk (runtime/sim/crdt-disk.ts) both use it.
 */
export const PEER_CHANGES_FLUSH_MS = 100

export interface ReplicationConfig {
  /**
   * Largest message handed to SWIM (a delta, a digest, a state batch, a fragment), bytes. memberlist's
   * 1400-byte packet minus SWIM's compound framing, the envelope (sender name) and AES-GCM's 29 bytes.
   * Default 1150. Range [256, 60000].
   */
  readonly maxMessageBytes: number
  /**
   * Most fragments one message is cut into. A fragment lost loses its message (anti-entropy repairs
   * it), so a larger value lets bigger keys replicate but makes them fragile under loss. Default 64.
   * Range [1, 255].
   */
  readonly maxFragments: number
  /**
   * Largest encoded state of one key, bytes. A local write that would pass it throws CrdtLimitError and
   * changes nothing. Must fit one fragmented message: maxStateBytes + 1024 ≤ maxFragments ×
   * (maxMessageBytes − 32). Default 65536.
   */
  readonly maxStateBytes: number
  /**
   * Time between anti-entropy exchanges (a digest of per-key hashes to one random peer; the peer answers
   * with what differs). Repairs whatever gossip missed (loss, partitions, restarts). Default 1000;
   * 0 turns it off. Range [0, 600000].
   */
  readonly antiEntropyIntervalMs: number
  /**
   * memberlist's RetransmitMult for deltas: each delta (and each relay of it) is piggybacked
   * retransmitMult × ⌈log10(n + 1)⌉ times. Default 4. Range [1, 16].
   */
  readonly retransmitMult: number
  /** Most deltas queued for gossip; beyond it the most-sent are dropped (anti-entropy repairs). Default 4096. */
  readonly maxQueuedDeltas: number
  /** A gap is answered by the sender's full state of the key; asked at most once per this many ms per key. Default 500. */
  readonly gapRequestIntervalMs: number
  /** A message whose fragments have not all arrived in this long is dropped. Default 5000. */
  readonly fragmentTimeoutMs: number
  /** Most messages being reassembled at once (from all peers); beyond it the oldest is dropped. Default 32. */
  readonly maxReassemblies: number
  /** Most bytes of full states in one push-pull (join) section; the rest comes by anti-entropy. Default 1 MiB. */
  readonly maxPushPullBytes: number
  /**
   * How long a replica runs before it folds its predecessors (the same name's older generations: this
   * node before a restart without its data directory) into its own entries and retires them
   * (crdt/floors.ts). Until then their entries stay, so a predecessor's last writes can still arrive from
   * any peer; what has not reached this node by then is lost at the fold. Longer is safer under
   * partitions; shorter bounds memory sooner under crash loops. Default 30000. Range [0, 86400000].
   */
  readonly foldAfterMs: number
  /**
   * Fold past lives at all (foldAfterMs). Off by default: a churn of restarts without data directories
   * still loses counter value through the fold on some seeds (README, "Folding a restarted node's past
   * lives"), so until that is found a restart's entries stay (one per restart that wrote, per key).
   */
  readonly foldPastLives: boolean
  /**
   * A graceful leave hands this node's replicated state to one heir (handoff.ts): how long one candidate
   * has to answer before the next is tried, and, once it was told to fold, to confirm it. Default 1000.
   * Range [50, 60000].
   */
  readonly handoffTimeoutMs: number
  /** Live peers offered the handoff in turn before a leaver leaves unfolded (counted). Default 3. Range [0, 16]; 0 turns handoffs off. */
  readonly handoffCandidates: number
  /**
   * For comparisons only (`npm run bench:crdt`): every write and relay gossips the key's whole state
   * instead of its delta, the naive state-based exchange, over the same gossip, anti-entropy and
   * limits. Default false.
   */
  readonly fullStateGossip: boolean
}

export const REPLICATION_DEFAULTS: ReplicationConfig = {
  maxMessageBytes: 1150,
  maxFragments: 64,
  maxStateBytes: 65_536,
  antiEntropyIntervalMs: 1000,
  retransmitMult: 4,
  maxQueuedDeltas: 4096,
  gapRequestIntervalMs: 500,
  fragmentTimeoutMs: 5000,
  maxReassemblies: 32,
  maxPushPullBytes: 1 << 20,
  foldAfterMs: 30_000,
  foldPastLives: false,
  handoffTimeoutMs: 1000,
  handoffCandidates: 3,
  fullStateGossip: false,
}

/** Bytes of a fragment's framing (kind, id, index, count, bin header), generously. */
export const FRAGMENT_OVERHEAD_BYTES = 32
/** Room a state batch needs around one key's state (key, seqs, flags), generously. */
export const STATE_FRAMING_BYTES = 1024

export function resolveReplicationConfig(partial: Partial<ReplicationConfig> = {}): ReplicationConfig {
  const c: ReplicationConfig = { ...REPLICATION_DEFAULTS, ...partial }
  const problems: string[] = []
  const int = (field: Exclude<keyof ReplicationConfig, 'fullStateGossip' | 'foldPastLives'>, min: number, max: number): void => {
    const v = c[field]
    if (!Number.isInteger(v) || v < min || v > max) problems.push(`${field}: expected an integer in [${min}, ${max}], got ${String(v)}`)
  }
  int('maxMessageBytes', 256, 60_000)
  int('maxFragments', 1, 255)
  int('maxStateBytes', 64, 16 << 20)
  int('antiEntropyIntervalMs', 0, 600_000)
  int('retransmitMult', 1, 16)
  int('maxQueuedDeltas', 16, 1 << 20)
  int('gapRequestIntervalMs', 0, 600_000)
  int('fragmentTimeoutMs', 100, 600_000)
  int('maxReassemblies', 1, 4096)
  int('maxPushPullBytes', 1024, 64 << 20)
  int('foldAfterMs', 0, 86_400_000)
  int('handoffTimeoutMs', 50, 60_000)
  int('handoffCandidates', 0, 16)
  if (typeof c.foldPastLives !== 'boolean') problems.push(`foldPastLives: expected true or false, got ${String(c.foldPastLives)}`)
  if (typeof c.fullStateGossip !== 'boolean') problems.push(`fullStateGossip: expected true or false, got ${String(c.fullStateGossip)}`)
  if (problems.length === 0) {
    const room = c.maxFragments * (c.maxMessageBytes - FRAGMENT_OVERHEAD_BYTES)
    if (c.maxStateBytes + STATE_FRAMING_BYTES > room) {
      problems.push(
        `maxStateBytes: ${c.maxStateBytes} bytes (+${STATE_FRAMING_BYTES} framing) cannot travel in ${c.maxFragments} fragments of ${c.maxMessageBytes} bytes (${room} bytes); lower maxStateBytes to at most ${room - STATE_FRAMING_BYTES} or raise maxFragments`,
      )
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, 'replication')
  return c
}
