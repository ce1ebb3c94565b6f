/**
 * Datacenter pools (Consul's LAN and WAN gossip pools), the parts both runtimes share: tags and names,
 * the WAN routing table with soft fail, the relay messages, and the controller that flood-joins
 * servers and relays events and queries between datacenters. Pure: no sockets, timers or clocks.
 */
export { PoolController, RelayError, DEFAULT_HOP_MS, DEFAULT_RELAY_ATTEMPTS, DEFAULT_RELAY_QUERY_MS } from './controller.js'
export type { IncomingQuery, PoolAccess, PoolControllerOptions, PoolEvent, RelayOutcome } from './controller.js'
export { POOL_TAGS, SERVER_ROLE, datacenterProblem, formatAddress, lanTags, parseAddress, reservedTagProblems, serverWanAddress, splitWanName, wanName, wanTags } from './names.js'
export { routeTable, serverChange } from './router.js'
export type { PoolMember, RoutedServer, ServerChange } from './router.js'
export { RELAY_QUERY, RELAY_QUERY_BYTES_MAX, RELAY_RESPONSE_BYTES_MAX, decodeRelayRequest, decodeRelayResponse, encodeRelayRequest, encodeRelayResponse } from './relay.js'
export type { RelayRequest, RelayResponse } from './relay.js'
