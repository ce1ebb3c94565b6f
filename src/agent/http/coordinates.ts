/**
 * The agent's routes for network coordinates (the rest of the API is in api.ts):
 *
 *   GET /v1/coordinates          { name, coordinates: [{ name, coordinate: { vec, error, adjustment, height } }],
 *                                  stats }: every coordinate this node knows, its own first (seconds, as Serf's)
 *   GET /v1/coordinates/rtt?a=A&b=B   { a, b, rttMs }: the estimated round trip between A and B (default
 *                                  B: this node), as `serf rtt A B` computes it
 *   GET /v1/coordinates/nearest?k=K   [{ name, rttMs }]: live members nearest first (rttMs null when not
 *                                  known yet), at most K (default all)
 *
 * 400 for a missing or bad parameter, 404 for a member whose coordinate is not known (not a member, or
 * not probed yet: it comes with the first ack), 409 when the agent runs without coordinates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { HttpError, requireMethod, send } from './respond.js'

export function handleCoordinatesRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode): boolean {
  const path = url.pathname
  if (path !== '/v1/coordinates' && path !== '/v1/coordinates/rtt' && path !== '/v1/coordinates/nearest') return false
  requireMethod(req, 'GET')
  const all = node.coordinates()
  if (all === undefined) throw new HttpError(409, 'this agent runs without network coordinates (coordinates: false, or membership-only); turn them on in its configuration')
  if (path === '/v1/coordinates') {
    send(res, 200, { name: node.name, coordinates: all.known, stats: all.stats })
    return true
  }
  if (path === '/v1/coordinates/nearest') {
    const kText = url.searchParams.get('k')
    const k = kText === null ? Number.POSITIVE_INFINITY : Number(kText)
    if (!(Number.isInteger(k) && k > 0) && k !== Number.POSITIVE_INFINITY) throw new HttpError(400, `k: expected a positive integer like 3, got ${JSON.stringify(kText)}`)
    send(res, 200, node.nearest(k).map((e) => ({ name: e.name, rttMs: Number.isFinite(e.rttMs) ? e.rttMs : null })))
    return true
  }
  const a = url.searchParams.get('a')
  const b = url.searchParams.get('b') ?? node.name
  if (a === null || a === '') throw new HttpError(400, 'a: give the member to estimate to, like /v1/coordinates/rtt?a=web-1 (and b=, default this node)')
  for (const name of [a, b]) {
    if (node.rtt(name, node.name) === undefined) {
      const member = node.members().some((m) => m.name === name)
      throw new HttpError(404, member ? `no coordinate for ${name} yet: it comes with the first ack to this node's probes; try again in a few probe intervals` : `${name} is not a member this node knows`)
    }
  }
  send(res, 200, { a, b, rttMs: node.rtt(a, b) })
  return true
}
