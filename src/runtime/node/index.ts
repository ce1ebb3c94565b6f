/** The node runtime: the composed node on real UDP and TCP sockets and the real clock. */
export { startNode, resolveNodeOptions, JoinError, UnknownMemberError, NameConflictError, DEFAULT_PORT } from './start-node.js'
export type { GrapevineNode, NodeOptions, NodeListeners, Member, MemberEvent, MemberEventType } from './start-node.js'
export { encodeTags, decodeTags } from '../../node/index.js'
export type { Tags } from '../../node/index.js'
export { startPools, startDatacenterNode, checkPools } from './pools.js'
export type { PoolSet, DatacenterNode, DatacenterNodeOptions } from './pools.js'
