/**
 * memberlist's formulas as small named pure functions (util.go, suspicion.go, awareness.go), with
 * table tests against memberlist's values in test/swim/formulas.test.ts.
 */

/**
 * Minimum suspicion timeout: mult × max(1, log10(max(1, n))) × probeInterval, with the node scale
 * truncated to three decimals as memberlist does (`time.Duration(nodeScale*1000)`).
 * LAN (mult 4, 1 s): n ≤ 10 → 4000 ms, n = 100 → 8000 ms, n = 1000 → 12000 ms.
 */
export function suspicionTimeoutMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)))
  const scaledMilli = Math.floor(nodeScale * 1000)
  return (suspicionMult * scaledMilli * probeIntervalMs) / 1000
}

/**
 * Confirmations a suspicion waits for before its timeout reaches the minimum: suspicionMult − 2, or 0
 * when the cluster is too small to provide them (n − 2 < k), in which case the timer starts at the min.
 */
export function expectedConfirmations(suspicionMult: number, n: number): number {
  const k = suspicionMult - 2
  return n - 2 < k || k < 0 ? 0 : k
}

/**
 * Lifeguard's shrinking suspicion timeout: after c independent confirmations out of k expected, the
 * timeout moves from max towards min logarithmically; returns what remains after `elapsedMs`
 * (≤ 0 means "fire now"). The raw value is floored to whole milliseconds, as memberlist does.
 * LAN n ≥ 4 (min 4 s, max 24 s, k = 2): c = 0 → 24 s, c = 1 → 11.381 s, c = 2 → 4 s.
 */
export function remainingSuspicionMs(c: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs - elapsedMs
  const frac = Math.log(c + 1) / Math.log(k + 1)
  const raw = maxMs / 1000 - frac * (maxMs / 1000 - minMs / 1000)
  const timeout = Math.max(minMs, Math.floor(1000 * raw + 1e-9))
  return timeout - elapsedMs
}

/**
 * How many times a broadcast is transmitted before it is retired: mult × ceil(log10(n + 1)).
 * LAN (mult 4): n 1–9 → 4, 10–99 → 8, 100–999 → 12.
 */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1))
}

/** Push-pull interval, unchanged up to 32 members, then × (ceil(log2 n − log2 32) + 1): ×2 for 33–64, ×3 for 65–128. */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  const threshold = 32
  if (n <= threshold) return intervalMs
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(threshold)) + 1
  return multiplier * intervalMs
}

/** Lifeguard local health: a timeout scaled by (score + 1). */
export function scaleTimeoutMs(timeoutMs: number, healthScore: number): number {
  return timeoutMs * (healthScore + 1)
}

/** The parts of the failure-detection bound a configuration implies for a cluster of n members. */
export interface DetectionBound {
  /** SWIM's time-bounded completeness: round-robin over a reshuffled list reaches every member within 2(n − 1) probe intervals, plus the probe's own deadline. */
  readonly firstSuspicionMs: number
  /** From the first suspicion to the first dead declaration: the suspicion timeout before any confirmation (Lifeguard's max, or the min without it). */
  readonly suspicionMs: number
  /** From the first dead declaration until everyone knows: the dead broadcast is sent retransmitLimit times, about gossipNodes per round, on top of the probe piggyback; one round per transmission bounds it generously. */
  readonly disseminationMs: number
  /** Sum of the three: a crashed member is dead in every view within this, with no loss. */
  readonly totalMs: number
}

export function detectionBoundMs(
  c: {
    readonly probeIntervalMs: number
    readonly suspicionMult: number
    readonly suspicionMaxTimeoutMult: number
    readonly retransmitMult: number
    readonly gossipIntervalMs: number
    readonly lifeguard: boolean
  },
  n: number,
): DetectionBound {
  const firstSuspicionMs = (2 * Math.max(1, n - 1) + 1) * c.probeIntervalMs
  const min = suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs)
  const suspicionMs = c.lifeguard && expectedConfirmations(c.suspicionMult, n) > 0 ? c.suspicionMaxTimeoutMult * min : min
  const disseminationMs = retransmitLimit(c.retransmitMult, n) * c.gossipIntervalMs + c.probeIntervalMs
  return { firstSuspicionMs, suspicionMs, disseminationMs, totalMs: firstSuspicionMs + suspicionMs + disseminationMs }
}
