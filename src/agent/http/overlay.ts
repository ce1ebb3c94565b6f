/**
 * The agent's routes for `--membership hyparview` (the rest of the API is in api.ts):
 *
 *   GET /v1/overlay   { membership, view: 'partial', self, active: [{ peer, tree: eager|lazy }], passive: [peer],
 *                       tree: { eager, lazy, cacheSize, seenSize, missingSize }, counters: { hyparview, plumtree,
 *                       crdt }, dropped }: the views, the broadcast tree and the counters; 409 with SWIM
 *   GET /v1/members   in this mode: { membership: 'hyparview', view: 'partial', note, self, active, passive }
 *                     (a node knows its neighbours, not the cluster); ?status= and ?tag= are refused (409)
 *   POST /v1/event, /v1/query, /v1/force-leave, /v1/reachability, POST /v1/tags, GET /v1/coordinates…:
 *                     409 naming the mode: each needs SWIM's full membership (Serf's events and queries reach
 *                     every member, tags ride on member records, coordinates on SWIM's probes). Broadcasts
 *                     (POST /v1/broadcast), cluster state (/v1/kv) and the replicated data types (/v1/crdt,
 *                     consistency 'local') work over the overlay.
 *
 * In SWIM mode every path here but /v1/overlay is left to the other routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { hyparviewRefusal, type OverlayStats } from '../../node/index.js'
import { HttpError, requireMethod, send } from './respond.js'

/** What the mode cannot do, by route: the words hyparviewRefusal puts in its message. */
const REFUSED: ReadonlyArray<readonly [string, string, string | undefined]> = [
  ['/v1/event', 'user events', 'POST'],
  ['/v1/query', 'queries', 'POST'],
  ['/v1/force-leave', 'force-leave and member states', undefined],
  ['/v1/reachability', 'reachability tests (a Serf ping query to every member)', undefined],
  ['/v1/tags', 'tags (they ride on SWIM\'s member records)', 'POST'],
  ['/v1/coordinates', 'network coordinates (they come from SWIM\'s probes)', undefined],
]

export const PARTIAL_VIEW_NOTE =
  "membership hyparview: a partial view. This node knows its overlay neighbours (active view, monitored) and backups (passive view, not monitored), not the whole cluster; there are no member states or tags"

/** The views as /v1/members answers in hyparview mode. */
export function partialViewJson(node: GrapevineNode, o: OverlayStats): Record<string, unknown> {
  const eager = new Set(o.eagerPeers)
  return {
    membership: 'hyparview',
    view: 'partial',
    note: PARTIAL_VIEW_NOTE,
    self: { name: node.name, peer: `${node.address.ip.includes(':') ? `[${node.address.ip}]` : node.address.ip}:${node.port}` },
    active: o.active.map((peer) => ({ peer, tree: eager.has(peer) ? 'eager' : 'lazy' })),
    passive: [...o.passive],
  }
}

export function handleOverlayRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode): boolean {
  const path = url.pathname
  const o = node.overlay()
  if (path === '/v1/overlay') {
    requireMethod(req, 'GET')
    if (o === undefined) throw new HttpError(409, 'this agent runs membership swim (full membership): there is no overlay; GET /v1/members lists the members. Start the agent with --membership hyparview for partial views and Plumtree')
    send(res, 200, {
      ...partialViewJson(node, o),
      tree: { eager: o.eager, lazy: o.lazy, eagerPeers: o.eagerPeers, lazyPeers: o.lazyPeers, cacheSize: o.cacheSize, seenSize: o.seenSize, missingSize: o.missingSize },
      counters: { hyparview: o.hyparview, plumtree: o.plumtree, crdt: o.crdt ?? null },
      dropped: o.dropped,
    })
    return true
  }
  if (o === undefined) return false
  if (path === '/v1/members') {
    requireMethod(req, 'GET')
    for (const p of ['status', 'tag', 'wan']) {
      if (url.searchParams.has(p)) throw new HttpError(409, `${p}: filters by member state, tag or pool need full membership; ${PARTIAL_VIEW_NOTE}`)
    }
    send(res, 200, partialViewJson(node, o))
    return true
  }
  for (const [route, what, method] of REFUSED) {
    if (path !== route && !path.startsWith(`${route}/`)) continue
    if (method !== undefined && req.method !== method) return false
    throw new HttpError(409, hyparviewRefusal(what).problems[0])
  }
  return false
}
