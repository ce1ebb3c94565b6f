/**
 * Overlay configuration: HyParView (Leitão, Pereira, Rodrigues, DSN 2007) and Plumtree (Leitão,
 * Pereira, Rodrigues, SRDS 2007). One typed object each with documented defaults (the papers'
 * values where they give one), validated once with every bad field named in a ConfigError.
 *
 *   partial config ──▶ resolveHyParViewConfig / resolvePlumtreeConfig ──▶ frozen config | ConfigError
 */
import { ConfigError } from '../core/errors.js'

export interface HyParViewConfig {
  /** Active view size (symmetric links, monitored). Paper: log10(N) + 1, 5 for 10,000 nodes. Range [1, 64]. */
  readonly activeViewSize: number
  /** Passive view size (backup peers, not monitored). Paper: k × (log10(N) + 1), 30. Range [1, 1024]. */
  readonly passiveViewSize: number
  /** Active random walk length of FORWARD_JOIN (ARWL). Paper: 6. Range [1, 32]; must be ≥ passiveRandomWalkLength. */
  readonly activeRandomWalkLength: number
  /** Walk length at which FORWARD_JOIN's new node enters the passive view (PRWL). Paper: 3. */
  readonly passiveRandomWalkLength: number
  /** Period of SHUFFLE. Each shuffle costs one walk of up to ARWL hops and one reply. 10000. */
  readonly shuffleIntervalMs: number
  /** Active-view entries sent in a SHUFFLE (ka). Paper: 3. */
  readonly shuffleActiveCount: number
  /** Passive-view entries sent in a SHUFFLE (kp). Paper: 4. */
  readonly shufflePassiveCount: number
  /** Period of keep-alive pings to active neighbours and of the view repair check (refill, rejoin). 1000. */
  readonly keepAliveIntervalMs: number
  /**
   * A neighbour not heard from for this long is down (`timeout`). 5000. Must exceed 2 × keepAliveIntervalMs.
   * 0 turns pings and timeouts off, for transports that report broken links themselves (`sendFailed`, as
   * TCP does in the papers); the repair check still runs every keepAliveIntervalMs.
   */
  readonly keepAliveTimeoutMs: number
  /**
   * How long to wait for a NEIGHBOR reply before trying another passive peer. 500 (memberlist's LAN probe
   * timeout). After a mass failure most passive peers are dead too and are asked one at a time, so this
   * paces the repair: at 2000, 300 nodes with 70 % crashed took 12–18 s to become one overlay again; at
   * 500, 6–9 s (test/overlay/node-failure.test.ts). A reply that comes after it is still taken. Raise it
   * over links whose round trip nears it (WAN).
   */
  readonly neighborRequestTimeoutMs: number
  /**
   * Partition heal: a neighbour lost to `timeout` is remembered this long, and each shuffle period one
   * remembered peer is sent a direct SHUFFLE; when it answers (the partition healed), the link is made
   * again with a high-priority NEIGHBOR, for one answer in activeViewSize (enough to join two sides,
   * few enough not to rewire the overlay). 600000; 0 turns it off.
   */
  readonly reconnectWindowMs: number
}

export const DEFAULT_HYPARVIEW_CONFIG: HyParViewConfig = Object.freeze({
  activeViewSize: 5,
  passiveViewSize: 30,
  activeRandomWalkLength: 6,
  passiveRandomWalkLength: 3,
  shuffleIntervalMs: 10_000,
  shuffleActiveCount: 3,
  shufflePassiveCount: 4,
  keepAliveIntervalMs: 1000,
  keepAliveTimeoutMs: 5000,
  neighborRequestTimeoutMs: 500,
  reconnectWindowMs: 600_000,
})

export type PlumtreeMode = 'plumtree' | 'flood'

export interface PlumtreeConfig {
  /** `plumtree`: eager push on tree links, IHAVE on the others; `flood`: eager push to every neighbour, never prune. */
  readonly mode: PlumtreeMode
  /** Largest payload `broadcast` accepts and a GOSSIP may carry; larger is a BroadcastError, never silent. 1024. Range [1, 65000]. */
  readonly maxPayloadBytes: number
  /** IHAVE announcements are batched and sent this often. 50. */
  readonly ihaveIntervalMs: number
  /** Most ids in one IHAVE message; more wait for the next flush. 64. Range [1, 1024]. */
  readonly ihaveBatchMax: number
  /** Most ids queued per lazy peer; beyond, the oldest is dropped (counted). 1024. */
  readonly ihaveQueueMax: number
  /** Wait after the first IHAVE of a missing message before sending GRAFT. Above the tree's delivery delay. 200. */
  readonly graftTimeoutMs: number
  /** Wait before trying the next announcer after a GRAFT (shorter than graftTimeoutMs). 100. */
  readonly graftRetryMs: number
  /** Tree optimization: graft an announcer whose copy is this many hops shorter than the eager path. Paper: 3 (0 disables). */
  readonly optimizationHopThreshold: number
  /**
   * Which announcements may trigger the optimization. `current-links` (default): only while the path the
   * hop count was measured on is still the tree (the message's parent still an eager peer, the announcer
   * a neighbour since before the delivery). `any` is the paper's rule applied to every IHAVE, including
   * those replayed to a new neighbour (announceToNewNeighborMs, not in the paper): such an IHAVE describes
   * an older tree, and when the parent is no longer eager its GRAFT prunes nothing and closes a cycle,
   * two extra payloads on a later broadcast (2,000 nodes, seed 1: 3 of 18 broadcasts 2 over N − 1, each
   * from one such GRAFT; test/overlay/plumtree-exact.test.ts).
   */
  readonly optimizationScope: 'current-links' | 'any'
  /** Payloads kept to answer GRAFTs, at most this many. 1024. */
  readonly cacheMaxEntries: number
  /** ...and at most this old. 60000. */
  readonly cacheTtlMs: number
  /** Message ids remembered for duplicate suppression. 16384. Must be ≥ cacheMaxEntries. */
  readonly seenMaxEntries: number
  /** ...and for at most this long. 300000. Must be ≥ cacheTtlMs. */
  readonly seenTtlMs: number
  /** Most missing messages tracked (announced, not received). Beyond, new announcements are ignored (counted). 4096. */
  readonly missingMaxEntries: number
  /**
   * Messages delivered within this window are announced (IHAVE) to a neighbour that comes up. 0 disables.
   * 30000. It must cover failure detection plus repair: a node cut off by a mass failure (every
   * neighbour crashed) hears of nothing until keep-alive timeouts and passive peers give it new
   * neighbours, which after 70 % crashed took up to 18 s; the IHAVEs it then gets let it GRAFT what it
   * missed. At 5000 those broadcasts stayed lost (96–98 % reliability); at 30000, 100 %. Only messages
   * still cached (cacheTtlMs) can be announced.
   */
  readonly announceToNewNeighborMs: number
  /**
   * A neighbour that comes up: `eager` (the paper's: tree repair starts eager) or `lazy-in-tree`
   * (default): eager only while this node is in no tree yet (no message delivered, or no eager peer
   * left), lazy otherwise. Between two nodes already in the tree an eager link closes a cycle: the next
   * broadcast crosses it twice (two payloads more than N − 1) before the duplicates prune it; a lazy
   * link carries IHAVE, and a GRAFT makes it eager if it is ever needed.
   */
  readonly newNeighbors: 'eager' | 'lazy-in-tree'
  /**
   * A message that reaches this node as the answer to its GRAFT says the tree above it broke, most often
   * at a crashed parent. `lazy-too` (default): it is pushed
   * to the lazy peers as well (but those that announced it), so neighbours cut off by the same failure, and
   * their eager subtrees, get it at link speed, not after an IHAVE batch and a GRAFT timeout; the duplicates it causes are
   * pruned as any, and a node that got such a push does not push it on. `tree`: the paper's, eager peers only (the lazy ones get IHAVE).
   */
  readonly repairPush: 'lazy-too' | 'tree'
}

export const DEFAULT_PLUMTREE_CONFIG: PlumtreeConfig = Object.freeze({
  mode: 'plumtree',
  maxPayloadBytes: 1024,
  ihaveIntervalMs: 50,
  ihaveBatchMax: 64,
  ihaveQueueMax: 1024,
  graftTimeoutMs: 200,
  graftRetryMs: 100,
  optimizationHopThreshold: 3,
  optimizationScope: 'current-links',
  cacheMaxEntries: 1024,
  cacheTtlMs: 60_000,
  seenMaxEntries: 16_384,
  seenTtlMs: 300_000,
  missingMaxEntries: 4096,
  announceToNewNeighborMs: 30_000,
  newNeighbors: 'lazy-in-tree',
  repairPush: 'lazy-too',
})

function checkInt(problems: string[], name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.push(`${name}: expected an integer in [${min}, ${max}], got ${String(v)}`)
  }
}

export function resolveHyParViewConfig(partial: Partial<HyParViewConfig> = {}): HyParViewConfig {
  const c: HyParViewConfig = { ...DEFAULT_HYPARVIEW_CONFIG, ...partial }
  const p: string[] = []
  checkInt(p, 'activeViewSize', c.activeViewSize, 1, 64)
  checkInt(p, 'passiveViewSize', c.passiveViewSize, 1, 1024)
  checkInt(p, 'activeRandomWalkLength', c.activeRandomWalkLength, 1, 32)
  checkInt(p, 'passiveRandomWalkLength', c.passiveRandomWalkLength, 0, 32)
  checkInt(p, 'shuffleIntervalMs', c.shuffleIntervalMs, 1, 3_600_000)
  checkInt(p, 'shuffleActiveCount', c.shuffleActiveCount, 0, 64)
  checkInt(p, 'shufflePassiveCount', c.shufflePassiveCount, 0, 256)
  checkInt(p, 'keepAliveIntervalMs', c.keepAliveIntervalMs, 1, 3_600_000)
  checkInt(p, 'keepAliveTimeoutMs', c.keepAliveTimeoutMs, 0, 3_600_000)
  checkInt(p, 'neighborRequestTimeoutMs', c.neighborRequestTimeoutMs, 1, 3_600_000)
  checkInt(p, 'reconnectWindowMs', c.reconnectWindowMs, 0, 86_400_000)
  if (p.length === 0 && c.passiveRandomWalkLength > c.activeRandomWalkLength) {
    p.push(`passiveRandomWalkLength: must be ≤ activeRandomWalkLength (${c.activeRandomWalkLength}), got ${c.passiveRandomWalkLength}; lower it or raise the active walk`)
  }
  if (p.length === 0 && c.keepAliveTimeoutMs !== 0 && c.keepAliveTimeoutMs <= 2 * c.keepAliveIntervalMs) {
    p.push(`keepAliveTimeoutMs: must exceed 2 × keepAliveIntervalMs (${2 * c.keepAliveIntervalMs}) so one lost ping is not a failure, got ${c.keepAliveTimeoutMs}`)
  }
  if (p.length > 0) throw new ConfigError(p, 'HyParView')
  return Object.freeze(c)
}

export function resolvePlumtreeConfig(partial: Partial<PlumtreeConfig> = {}): PlumtreeConfig {
  const c: PlumtreeConfig = { ...DEFAULT_PLUMTREE_CONFIG, ...partial }
  const p: string[] = []
  if (c.mode !== 'plumtree' && c.mode !== 'flood') p.push(`mode: expected 'plumtree' or 'flood', got ${String(c.mode)}`)
  if (c.optimizationScope !== 'current-links' && c.optimizationScope !== 'any') p.push(`optimizationScope: expected 'current-links' or 'any', got ${String(c.optimizationScope)}`)
  if (c.newNeighbors !== 'eager' && c.newNeighbors !== 'lazy-in-tree') p.push(`newNeighbors: expected 'lazy-in-tree' or 'eager', got ${String(c.newNeighbors)}`)
  if (c.repairPush !== 'lazy-too' && c.repairPush !== 'tree') p.push(`repairPush: expected 'lazy-too' or 'tree', got ${String(c.repairPush)}`)
  checkInt(p, 'maxPayloadBytes', c.maxPayloadBytes, 1, 65_000)
  checkInt(p, 'ihaveIntervalMs', c.ihaveIntervalMs, 1, 60_000)
  checkInt(p, 'ihaveBatchMax', c.ihaveBatchMax, 1, 1024)
  checkInt(p, 'ihaveQueueMax', c.ihaveQueueMax, 1, 1_000_000)
  checkInt(p, 'graftTimeoutMs', c.graftTimeoutMs, 1, 600_000)
  checkInt(p, 'graftRetryMs', c.graftRetryMs, 1, 600_000)
  checkInt(p, 'optimizationHopThreshold', c.optimizationHopThreshold, 0, 255)
  checkInt(p, 'cacheMaxEntries', c.cacheMaxEntries, 1, 10_000_000)
  checkInt(p, 'cacheTtlMs', c.cacheTtlMs, 1, 86_400_000)
  checkInt(p, 'seenMaxEntries', c.seenMaxEntries, 1, 10_000_000)
  checkInt(p, 'seenTtlMs', c.seenTtlMs, 1, 86_400_000)
  checkInt(p, 'missingMaxEntries', c.missingMaxEntries, 1, 1_000_000)
  checkInt(p, 'announceToNewNeighborMs', c.announceToNewNeighborMs, 0, 86_400_000)
  if (p.length === 0) {
    if (c.graftRetryMs > c.graftTimeoutMs) p.push(`graftRetryMs: must be ≤ graftTimeoutMs (${c.graftTimeoutMs}), got ${c.graftRetryMs}`)
    if (c.seenMaxEntries < c.cacheMaxEntries) p.push(`seenMaxEntries: must be ≥ cacheMaxEntries (${c.cacheMaxEntries}), got ${c.seenMaxEntries}`)
    if (c.seenTtlMs < c.cacheTtlMs) p.push(`seenTtlMs: must be ≥ cacheTtlMs (${c.cacheTtlMs}), got ${c.seenTtlMs}`)
  }
  if (p.length > 0) throw new ConfigError(p, 'Plumtree')
  return Object.freeze(c)
}
