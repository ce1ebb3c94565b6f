/**
 * The demo cluster's port layout, apart from its supervisor (cluster.ts) so that the command line can
 * describe `demo --base-port` without loading the demo: `grapevine agent` never does.
 *
 *   node-i: gossip DEFAULT_BASE_PORT + i − 1, HTTP that + HTTP_OFFSET
 */
export const DEFAULT_BASE_PORT = 7946
/** HTTP port = gossip port + this, so the default cluster's HTTP ports are 7980.. . */
export const HTTP_OFFSET = 34
