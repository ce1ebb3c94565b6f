/**
 * The agent's health routes, answered before the bearer token is checked (a kubelet's probe carries
 * no token, and these say nothing beyond the node's name and whether it is in a cluster):
 *
 *   GET /health, /health/live   200 { status: "ok", name } while the process serves HTTP (liveness)
 *   GET /health/ready           200 { status: "ready", name, reason, livePeers } when the node has joined
 *                               and sees at least one live peer, or is the configured first node
 *                               (--bootstrap, or no seeds at all); else 503 { status: "not ready", reason }
 *                               (not joined yet and why, no live peer left, leaving)
 *
 * Readiness gates traffic to the pod, not the gossip: the headless Service that seeds the cluster
 * publishes not-ready addresses, so a pod that is not ready yet can still be joined.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { requireMethod, send } from './respond.js'

export interface Readiness {
  readonly ready: boolean
  /** Why, in words: "2 live peers", "first node (--bootstrap)", "not joined yet: …", "leaving the cluster". */
  readonly reason: string
  readonly livePeers: number
}

/** Answers /health, /health/live and /health/ready; false for any other path. */
export function handleHealthRoute(req: IncomingMessage, res: ServerResponse, url: URL, name: string, readiness: () => Readiness): boolean {
  switch (url.pathname) {
    case '/health':
    case '/health/live':
      requireMethod(req, 'GET')
      send(res, 200, { status: 'ok', name })
      return true
    case '/health/ready': {
      requireMethod(req, 'GET')
      const r = readiness()
      send(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', name, reason: r.reason, livePeers: r.livePeers })
      return true
    }
    default:
      return false
  }
}
