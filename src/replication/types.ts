/**
 * What the replication layer shows its callers: its errors, its counters, the replicator's options and
 * the records it hands to persistence.
 */
import type { Rng } from '../core/rng.js'
import type { ReplicationConfig } from './config.js'
import type { CrdtKind } from './keys.js'


/**
 * A write whose key would pass replication.maxStateBytes (it could then never travel). Blast radius:
 * none; the write was refused and nothing changed.
 */
export class CrdtLimitError extends Error {
  override readonly name = 'CrdtLimitError'
}

/**
 * A write whose durable commit (the data directory's store) failed. Blast radius: none; the write was
 * undone here and its delta never queued, so no peer holds it.
 */
export class CrdtCommitError extends Error {
  override readonly name = 'CrdtCommitError'
}

/**
 * A write on a node that is leaving: its replicated state was handed to an heir (replication/handoff.ts),
 * so a write now would be lost or counted twice. Blast radius: none; nothing changed.
 */
export class CrdtLeavingError extends Error {
  override readonly name = 'CrdtLeavingError'
}

export interface ReplicationCounters {
  /** Writes made here (each a numbered delta). */
  writes: number
  /** Delta messages sent (piggybacked, or pushed in fragments when large). */
  deltasSent: number
  deltasReceived: number
  /** Deltas that extended a contiguous interval (and were queued to relay). */
  deltasApplied: number
  /** Deltas already covered here. */
  duplicates: number
  /** Deltas that left a gap (merged, and the sender asked for the key's full state). */
  gaps: number
  gapRequests: number
  digestsSent: number
  digestsReceived: number
  /** Key states sent and received (answers to digests and gaps, push-pull). */
  statesSent: number
  statesReceived: number
  fragmentsSent: number
  /** States too large to send even in fragments (only concurrent writers can make one). */
  oversized: number
  /** Members that left or were reaped, whose bookkeeping was dropped. */
  departedFolded: number
  /** Deltas of a departed member that arrived after its departure: merged, not numbered or relayed. */
  departedDeltas: number
  /** Keys where this replica folded its predecessors (older generations of its name) into itself. */
  folds: number
  /** Deltas from a retired replica (a predecessor some replica folded), dropped. */
  retiredDropped: number
  /** Handoffs of a leaving node (handoff.ts), as the leaver: folded by the heir, or left unfolded. */
  handoffsFolded: number
  handoffsUnfolded: number
  /** Commit sent but never confirmed: folded by the heir or not (either is safe; which is unknown). */
  handoffsUncertain: number
  /** Candidates that did not answer in time or refused, so the next was tried. */
  handoffFailovers: number
  /** As the heir: offer parts merged, and leavers folded into this replica. */
  offersTaken: number
  heirFolds: number
  /** Writes undone because their durable commit failed (CrdtCommitError). */
  commitFailures: number
  decodeErrors: Record<string, number>
}

export function newReplicationCounters(): ReplicationCounters {
  return {
    writes: 0,
    deltasSent: 0,
    deltasReceived: 0,
    deltasApplied: 0,
    duplicates: 0,
    gaps: 0,
    gapRequests: 0,
    digestsSent: 0,
    digestsReceived: 0,
    statesSent: 0,
    statesReceived: 0,
    fragmentsSent: 0,
    oversized: 0,
    departedFolded: 0,
    departedDeltas: 0,
    folds: 0,
    handoffsFolded: 0,
    handoffsUnfolded: 0,
    handoffsUncertain: 0,
    handoffFailovers: 0,
    offersTaken: 0,
    heirFolds: 0,
    retiredDropped: 0,
    commitFailures: 0,
    decodeErrors: {},
  }
}

/** A key's durable record: its state and its seqs (what persistence stores and reloads). */
export interface KeyRecord {
  readonly key: string
  readonly state: Uint8Array
  readonly seqs: ReadonlyArray<readonly [string, number]>
}

/** A key that changed here: by a write of ours (`local`) or by what a peer sent (`remote`). */
export interface KeyChange {
  readonly key: string
  readonly kind: CrdtKind
  readonly name: string
  readonly local: boolean
}

export interface ReplicatorOptions {
  /** This node's member name. */
  readonly self: string
  /** This incarnation's replica id (keys.ts replicaId; reloaded from the data directory when durable). */
  readonly replica: string
  readonly rng: Rng
  readonly config?: Partial<ReplicationConfig>
  /** Keys reloaded from the data directory. */
  readonly restored?: readonly KeyRecord[]
}
