/**
 * Delta-state CRDTs: pure data types, their delta mutators, merge, and binary encoding.
 *
 *   mutator on a replica -> (state changed here, delta returned) -> delta bytes gossiped
 *   -> decodeCrdt at another replica -> state.merge(delta)
 *
 * Replication over the node's gossip is a separate layer; nothing here touches a clock, a socket or a
 * random source (HLC physical time is handed in).
 */
export { CausalContext, type Dot } from './causal-context.js'
export { GCounter, PNCounter } from './counters.js'
export { HybridClock, compareHlc, type HlcTimestamp } from './hlc.js'
export { LwwRegister, type LwwEntry } from './lww-register.js'
export { EnableWinsFlag, MVRegister, ORSet } from './causal-types.js'
export { ORMap, type MapFieldKind } from './or-map.js'
export { encodeCrdt, decodeCrdt, sameCrdt, crdtFormat, floorsOf, foldCrdt, replicasOf, type Crdt, type CrdtType } from './codec.js'
export { crdtMaxCount, crdtMaxEntries, crdtMaxStringBytes } from './codec-parts.js'
export { GenerationFloors, departureOf, replicaGeneration, type Retirement } from './floors.js'
