/**
 * The broadcast engine's public types: what goes in (PeerView), what comes out (sends, deliveries,
 * counters) and the one error a local operation can throw.
 */
/** The live peers, as the membership layer sees them now (self may be included; it is ignored). */
export type PeerView = readonly string[]

/** A rumor handed to the application (`node.on('message', …)`), once per node. */
export interface Delivery {
  /** `origin/epoch.seq`, unique per rumor. */
  readonly id: string
  readonly name: string
  readonly payload: Uint8Array
  readonly origin: string
  /** The peer it came from (the origin itself for a local broadcast). */
  readonly from: string
  /** Gossip hops from the origin (0 for a local broadcast). */
  readonly hops: number
}

export interface Send {
  readonly to: string
  readonly bytes: Uint8Array
}

/** Cumulative counters of one engine (metrics read them). */
export interface RumorCounters {
  /** Local broadcasts accepted. */
  broadcasts: number
  /** Rumors delivered to the application, local broadcasts included. */
  delivered: number
  /** Copies received of rumors already known. */
  duplicates: number
  messagesSent: number
  bytesSent: number
  /** Rumor copies sent (Demers' traffic). */
  rumorsSent: number
  /** Replies sent carrying "already had" ids (feedback). */
  acksSent: number
  /** Contacts carrying a pull digest. */
  pullRequestsSent: number
  /** Hot rumors retired by the removal rule (or for lack of peers to tell). */
  lostInterest: number
  /** Hot rumors retired for being older than maxRumorAgeMs. */
  expired: number
  /** Hot rumors dropped because the queue was full (maxQueue). */
  dropped: number
  /** Received rumors refused for being older than maxRumorAgeMs. */
  tooOld: number
  /** Received rumors refused for exceeding this node's maxNameBytes or maxPayloadBytes. */
  rejected: number
  /** Residue-repair pulls sent (one per repairIntervalMs). */
  repairPullsSent: number
  /** Rumors sent in answer to repair pulls (each one a node that rumor mongering had missed, or a lost copy). */
  repairSent: number
  /** Remembered ids forgotten before their window ended because the set was full. */
  seenEvictedEarly: number
  /** Received messages dropped as undecodable, by reason. */
  decodeErrors: Record<string, number>
}

export interface RumorOutput {
  readonly sends: Send[]
  readonly delivered: Delivery[]
  /** The engine's cumulative counters (the live object, not a copy). */
  readonly counters: RumorCounters
}

export type BroadcastErrorReason = 'payload-too-large' | 'name-too-long'

/** Thrown by `broadcast`. Nothing changed: the rumor was not queued, no sequence number was used. */
export class BroadcastError extends Error {
  override readonly name = 'BroadcastError'
  constructor(
    readonly reason: BroadcastErrorReason,
    message: string,
  ) {
    super(message)
  }
}

/** Counters all at zero. */
export function newRumorCounters(): RumorCounters {
  return {
    broadcasts: 0,
    delivered: 0,
    duplicates: 0,
    messagesSent: 0,
    bytesSent: 0,
    rumorsSent: 0,
    acksSent: 0,
    pullRequestsSent: 0,
    lostInterest: 0,
    expired: 0,
    dropped: 0,
    tooOld: 0,
    rejected: 0,
    repairPullsSent: 0,
    repairSent: 0,
    seenEvictedEarly: 0,
    decodeErrors: {},
  }
}
