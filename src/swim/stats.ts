import type { DecodeErrorReason } from '../wire/decode-error.js'
import type { DropReason } from './events.js'

/**
 * Counters kept by the membership layer; the agent exports them as Prometheus metrics.
 *
 * Two kinds of byte counts: wire bytes (`bytesIn/Out` for UDP datagrams as sent or received, after
 * compression and CRC; `streamBytesIn/Out` for TCP stream payloads), and message bytes by type (the
 * encoded size of each message, type byte included, before compression and compound framing), which
 * tell what the traffic is made of.
 */
export class SwimStats {
  /** UDP datagrams and their wire bytes. */
  packetsIn = 0
  packetsOut = 0
  bytesIn = 0
  bytesOut = 0
  /** TCP streams: requests we served (in) and exchanges we opened (out), and every byte of both ways. */
  streamsIn = 0
  streamsOut = 0
  streamBytesIn = 0
  streamBytesOut = 0
  /**
   * The maps below, made at first use: an empty Map still costs about 180 bytes, and a node of the
   * overlay mode, simulated by the ten thousand, never fills most of them.
   */
  private readonly maps: { [name: string]: Map<string, number> | undefined } = {}
  private map<K extends string>(name: string): Map<K, number> {
    return (this.maps[name] ??= new Map()) as Map<K, number>
  }
  /** UDP messages received, by type name (after unwrapping compound/compress/CRC), and their bytes. */
  get messagesIn(): Map<string, number> { return this.map('messagesIn') }
  get messageBytesIn(): Map<string, number> { return this.map('messageBytesIn') }
  /** UDP messages sent, by type name, and their bytes. */
  get messagesOut(): Map<string, number> { return this.map('messagesOut') }
  get messageBytesOut(): Map<string, number> { return this.map('messageBytesOut') }
  /** Stream messages (pushPull, ping, ack, userStream, err) received and sent, by type, and their bytes. */
  get streamMessagesIn(): Map<string, number> { return this.map('streamMessagesIn') }
  get streamMessageBytesIn(): Map<string, number> { return this.map('streamMessageBytesIn') }
  get streamMessagesOut(): Map<string, number> { return this.map('streamMessagesOut') }
  get streamMessageBytesOut(): Map<string, number> { return this.map('streamMessageBytesOut') }
  /** Input that could not be decoded, by DecodeError reason (also counted in `dropped`). */
  get decodeErrors(): Map<DecodeErrorReason, number> { return this.map('decodeErrors') }
  /** Dropped input, by reason (every DropReason: decode error reasons, 'wrong-node', 'conflict', 'bad-vsn', …). */
  get dropped(): Map<DropReason, number> { return this.map('dropped') }
  probes = 0
  probeFailures = 0
  acksReceived = 0
  nacksReceived = 0
  indirectProbesSent = 0
  indirectProbesRelayed = 0
  tcpFallbackProbes = 0
  tcpFallbackSuccesses = 0
  suspicionsRaised = 0
  /** Suspicions raised because the layer above accused the member (phi accrual); not in suspicionsRaised. */
  suspicionsByPhi = 0
  deathsDeclared = 0
  /** Times an expired suspicion was not declared dead because the delegate's second opinion (confirmDead) said no. */
  deathsPostponed = 0
  refutations = 0
  /** Direct refutation: our alive sent straight to an accuser or to the sender of an accusation (fresh or already refuted). */
  directRefutations = 0
  /** Suspicion reminders: suspicions we hold sent straight to the suspect. */
  suspicionReminders = 0
  /** Final probe: expired suspicions probed once more before a death. */
  finalProbes = 0
  /** Final probe: deaths postponed because the suspect answered the final probe. */
  finalProbeAcks = 0
  /** Calm healing: third-party dead notices about members we hear from, taken as suspicions instead. */
  deadNoticesSoftened = 0
  /** Calm healing: softened dead notices about members last heard from before the minimum suspicion timeout, checked with a probe of our own. */
  deadNoticesChecked = 0
  /** Calm healing: of those checks, the ones the member answered (the notice stayed a suspicion). */
  deadNoticeChecksAcked = 0
  /** Calm healing: dead or suspect entries in push-pull states about members we hear from, not believed. */
  pushPullAccusationsIgnored = 0
  /** Calm healing: second-hand accusations sent straight to the accused member so it refutes. */
  accusationsForwarded = 0
  /** Calm healing: push-pulls with failed members started because another failed member came back alive. */
  revivalReconnects = 0
  /** Dead probes: pings to members declared dead lately (deadProbeWindowMs), and those acked (then push-pulled). */
  deadProbes = 0
  deadProbeAcks = 0
  /** Name conflicts seen: a name claimed from a second address (each claim, in every role). */
  nameConflicts = 0
  pushPullsInitiated = 0
  pushPullsServed = 0
  pushPullsRejected = 0
  streamErrors = 0
  broadcastsDropped = 0

  countIn(type: string, bytes: number): void {
    tally(this.messagesIn, this.messageBytesIn, type, bytes)
  }
  countOut(type: string, bytes: number): void {
    tally(this.messagesOut, this.messageBytesOut, type, bytes)
  }
  streamIn(type: string, bytes: number): void {
    tally(this.streamMessagesIn, this.streamMessageBytesIn, type, bytes)
  }
  streamOut(type: string, bytes: number): void {
    tally(this.streamMessagesOut, this.streamMessageBytesOut, type, bytes)
  }
  decodeError(reason: DecodeErrorReason): void {
    add(this.decodeErrors, reason, 1)
  }
  drop(reason: DropReason): void {
    add(this.dropped, reason, 1)
  }
}

function tally(counts: Map<string, number>, sizes: Map<string, number>, type: string, bytes: number): void {
  add(counts, type, 1)
  add(sizes, type, bytes)
}

function add<K>(map: Map<K, number>, key: K, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
}
