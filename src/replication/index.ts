/**
 * CRDT replication over gossip: the pure protocol (replicator.ts), its messages, keys and configuration.
 *
 *   node write ──▶ CrdtReplicator.write ──▶ delta queued ──▶ stack protocol (stack/crdt-protocol.ts) ──▶ SWIM
 */
export { CrdtReplicator, type KeyChange, type KeyRecord, type ReplicatorOptions, type Send } from './replicator.js'
export { PEER_CHANGES_FLUSH_MS, REPLICATION_DEFAULTS, resolveReplicationConfig, type ReplicationConfig } from './config.js'
export { CRDT_KINDS, crdtKey, emptyState, hash53, isCrdtKind, kindType, parseKey, replicaId, replicaMember, type CrdtKind, type CrdtKinds } from './keys.js'
export { CrdtCommitError, CrdtLeavingError, CrdtLimitError, type ReplicationCounters } from './types.js'
export { MessageTooLargeError } from './fragments.js'
