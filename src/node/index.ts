/**
 * The composed node (`src/node/`): what both runtimes drive. The runtimes import this, `core` and
 * `wire`, never the protocols below directly: the types they need of those are re-exported here.
 */
export { ComposedNode } from './node.js'
export type { NodeSpec, NodeEnv } from './node.js'
export { resolveNodeSettings, resolveNodeSettingsOrThrow, toKey, NODE_SETTING_FIELDS } from './settings.js'
export type { NodeSettings, EncryptionOptions, ResolvedSettings, SettingsDefaults } from './settings.js'
export type { MembershipMode, OverlaySettings, ResolvedOverlay } from './overlay-settings.js'
export { hyparviewRefusal, resolveOverlaySettings } from './overlay-settings.js'
export type { OverlayStats } from './overlay-mode.js'
export type { OverlayNodeEvent, OverlayNodeTimer } from './types.js'
export { MEMBER_EVENT_TYPES, SERF_BROADCAST_TIMEOUT_MS, serfEventId } from './types.js'
export type {
  BroadcastMessage, EncryptionStatus, Member, MemberEvent, MemberEventType, NodeEvent, NodeOutbox, NodeOwnTimer, NodeTimer,
  ProtocolStats, QueryOptions, QueryResult, QueryToAnswer, Traffic,
} from './types.js'
export { ConfigError, NodeStoppedError } from '../core/errors.js'
export { isProfile, resolveConfig, PROFILES } from '../swim/config.js'
export type { Profile, SwimConfig } from '../swim/config.js'
export type { DropReason, MemberInfo, MemberState, SwimEvent, SuspicionSource } from '../swim/events.js'
export type { SwimTimer } from '../swim/timers.js'
export type { SwimStats } from '../swim/stats.js'
export { META_MAX_BYTES } from '../swim/swim.js'
export { decodeTags, encodeTags, tagProblems } from '../serf/tags.js'
export type { Tags } from '../serf/tags.js'
export type { SerfLayerEvent } from '../serf/serf-layer.js'
export { SERF_PING_QUERY } from '../serf/serf-layer.js'
export { QueryResponseError } from '../serf/queries.js'
export type { ReceivedQuery } from '../serf/queries.js'
export type { StateEvent, ClusterState } from '../state/cluster-state.js'
export { ENVELOPE_MAGIC } from '../stack/envelope.js'
export { pushPullScaleMs, suspicionTimeoutMs } from '../swim/formulas.js'
export type { Coordinate } from '../coordinates/vivaldi.js'
export { distanceMs } from '../coordinates/vivaldi.js'
export type { CoordinateStats, RttEstimate } from '../coordinates/network-coordinates.js'
// The replicated data types, for the runtime's node.crdt and its data directory.
export { encodeCrdt, decodeCrdt } from '../crdt/index.js'
export type { Crdt, HybridClock } from '../crdt/index.js'
export { crdtKey, parseKey, kindType, replicaId, CrdtCommitError, CrdtLeavingError, CrdtLimitError, PEER_CHANGES_FLUSH_MS } from '../replication/index.js'
export type { CrdtKind, CrdtKinds, KeyChange, KeyRecord, ReplicationConfig } from '../replication/index.js'
export { encodeReplicationMessage, decodeReplicationMessage } from '../replication/messages.js'
export { SERF_QUERY_SIZE_LIMIT } from '../serf/messages.js'
export { CRDT_QUERY } from './crdt-query.js'
export { CRDT_PROTOCOL } from '../stack/crdt-protocol.js'
// Gossip aggregation on the node (node/aggregation.ts), for the runtime's node.aggregate and the simulator.
export { startAggregate, stopAggregate, aggregateStatus, aggregateList, AGGREGATE_DEFAULTS, AGGREGATION_MODES, AGGREGATE_KEY_PREFIX, AGGREGATE_FUNCTION_NAMES, resolveAggregateSpec } from './aggregation.js'
export type { AggregateOptions, AggregateStatus, AggregateSpec, AggregationMode, AggregateEstimate, AggregateFunctionName } from './aggregation.js'
