/** Counters kept by the membership layer; the agent exports them as Prometheus metrics. */
export class SwimStats {
  packetsIn = 0
  packetsOut = 0
  bytesIn = 0
  bytesOut = 0
  /** Messages received, by type name (after unwrapping compound/compress/CRC). */
  readonly messagesIn = new Map<string, number>()
  /** Messages sent, by type name. */
  readonly messagesOut = new Map<string, number>()
  /** Dropped input, by reason (decode error reasons, 'wrong-node', 'conflict', 'bad-vsn', …). */
  readonly dropped = new Map<string, number>()
  probes = 0
  probeFailures = 0
  acksReceived = 0
  nacksReceived = 0
  indirectProbesSent = 0
  indirectProbesRelayed = 0
  tcpFallbackProbes = 0
  tcpFallbackSuccesses = 0
  suspicionsRaised = 0
  deathsDeclared = 0
  refutations = 0
  pushPullsInitiated = 0
  pushPullsServed = 0
  pushPullsRejected = 0
  streamErrors = 0
  broadcastsDropped = 0

  countIn(type: string): void {
    this.messagesIn.set(type, (this.messagesIn.get(type) ?? 0) + 1)
  }
  countOut(type: string): void {
    this.messagesOut.set(type, (this.messagesOut.get(type) ?? 0) + 1)
  }
  drop(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1)
  }
}
