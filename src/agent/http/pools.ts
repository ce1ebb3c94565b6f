/**
 * The agent's routes for datacenter pools (the rest of the API is in api.ts):
 *
 *   GET  /v1/members?wan=1   the WAN pool's members (servers of every datacenter, named NODE.DC), with
 *                            the same fields and filters as the LAN list; 400 on an agent that is not a server
 *   GET  /v1/datacenters     { datacenter, server, datacenters: [{ datacenter, servers: [{ name, node, address,
 *                            state, failed, rttMs }] }] }: servers healthiest and nearest first; a server the
 *                            WAN pool declared failed stays listed with failed: true (soft fail)
 *   POST /v1/event?dc=DC     the body of /v1/event; fired in datacenter DC by one of its servers →
 *                            { name, datacenter, servedBy, lTime }
 *   POST /v1/query?dc=DC     the body of /v1/query (nodes, tags and ack are not relayed: 400) →
 *                            { name, datacenter, servedBy, lTime, acks, ackCount, responses, omitted }
 *
 * `dc` naming this agent's own datacenter is the plain local route. 400 for `dc` or `wan` on an agent
 * without a datacenter; 502 when the relay failed (no server known there, no answer in time), with why.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import type { DatacenterNode } from '../../runtime/node/pools.js'
import { RelayError } from '../../pools/controller.js'
import type { RelayOutcome } from '../../pools/controller.js'
import { formatAddress } from '../../pools/names.js'
import { ConfigError } from '../../core/errors.js'
import { readEventBody, readQueryBody } from './bodies.js'
import { HttpError, requireMethod, send, userState } from './respond.js'

const NOT_IN_A_DATACENTER = 'this agent runs without a datacenter; start it with --datacenter DC (and --server --wan-bind HOST:PORT for the WAN pool)'

/** The pool whose members /v1/members lists: the WAN pool's node with ?wan=1, else the agent's node. */
export function membersPool(url: URL, node: GrapevineNode, pools: DatacenterNode | undefined): GrapevineNode {
  const wan = url.searchParams.get('wan')
  if (wan === null || wan === '0' || wan === 'false') return node
  if (wan !== '' && wan !== '1' && wan !== 'true') throw new HttpError(400, `wan: expected 1 or true, got ${JSON.stringify(wan)}`)
  if (pools === undefined) throw new HttpError(400, NOT_IN_A_DATACENTER)
  if (pools.wan === undefined) throw new HttpError(400, `this agent is a client of datacenter ${pools.datacenter}; only servers are in the WAN pool: ask a server, or see GET /v1/datacenters`)
  return pools.wan
}

function relayJson(name: string, r: RelayOutcome, kind: 'event' | 'query'): Record<string, unknown> {
  const base = { name, datacenter: r.datacenter, servedBy: r.servedBy, lTime: r.lTime }
  if (kind === 'event') return base
  return { ...base, acks: r.acks, ackCount: r.ackCount, responses: r.responses.map((x) => ({ from: x.from, payload: Buffer.from(x.payload).toString('utf8') })), omitted: r.omitted }
}

export async function handlePoolsRoute(req: IncomingMessage, res: ServerResponse, url: URL, pools: DatacenterNode | undefined): Promise<boolean> {
  const path = url.pathname
  if (path === '/v1/datacenters') {
    requireMethod(req, 'GET')
    if (pools === undefined) throw new HttpError(400, NOT_IN_A_DATACENTER)
    const datacenters = pools.datacenters().map((d) => ({
      datacenter: d.datacenter,
      servers: d.servers.map((s) => ({ name: s.name, node: s.node, address: formatAddress(s.address), state: userState(s.state), failed: s.failed, rttMs: s.rttMs ?? null })),
    }))
    send(res, 200, { datacenter: pools.datacenter, server: pools.isServer, datacenters })
    return true
  }
  if ((path !== '/v1/event' && path !== '/v1/query') || !url.searchParams.has('dc')) return false
  const dc = url.searchParams.get('dc') ?? ''
  if (pools === undefined) throw new HttpError(400, `dc: ${NOT_IN_A_DATACENTER}`)
  if (dc === pools.datacenter) return false
  requireMethod(req, 'POST')
  const kind = path === '/v1/event' ? 'event' : 'query'
  let name: string
  let pending: Promise<RelayOutcome>
  try {
    if (kind === 'event') {
      const body = await readEventBody(req)
      name = body.name
      pending = pools.userEvent(body.name, body.payload, { datacenter: dc, coalesce: body.coalesce })
    } else {
      const body = await readQueryBody(req)
      if (body.nodes !== undefined || (body.tags !== undefined && Object.keys(body.tags).length > 0) || body.ack === false) {
        throw new HttpError(400, 'nodes, tags and ack: not relayed to another datacenter; the query goes to every member there')
      }
      name = body.name
      pending = pools.query(body.name, body.payload, { datacenter: dc, timeoutMs: body.timeoutMs })
    }
    const r = await pending
    if (!r.ok) throw new HttpError(502, `relay to datacenter ${dc} failed: ${r.error}`)
    send(res, 200, relayJson(name, r, kind))
  } catch (e) {
    if (e instanceof RelayError || e instanceof ConfigError) throw new HttpError(400, e.message)
    throw e
  }
  return true
}
