/** Replicated cluster state: versioned key-value per node, Syn/Ack/Ack2 reconciliation, tombstones. */
export { ApplyTally, ClusterState, StateInputError, type ApplyOutcome, type StaleNode, type StateEvent } from './cluster-state.js'
export { DELTA_FRAMING_BYTES, resolveStateConfig, STATE_DEFAULTS, SYN_FRAMING_BYTES, type StateConfig } from './config.js'
export { buildDeltas, packNode } from './delta-builder.js'
export { assertReplica, checkReplica, checkStructure } from './invariant.js'
export {
  decodeStateMessage,
  encodedSize,
  encodeStateMessage,
  STATE_LIMITS,
  StateMessageKind,
  type Ack,
  type Ack2,
  type DeltaEntry,
  type FullState,
  type NodeDelta,
  type NodeDigest,
  type StateMessage,
  type Syn,
} from './messages.js'
export { isTombstone, type NodeStateView, type VersionedValue } from './node-state.js'
export { inWindow, StateReconciler, type BytesResult, type HandleResult, type ReconcilerOptions } from './reconcile.js'
