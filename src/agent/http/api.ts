/**
 * The agent's HTTP API (JSON), on node:http. This file routes and answers the membership, event and
 * query routes; the rest of the API is beside it in agent/http/, with the shared pieces in respond.ts:
 *
 *   GET  /health, /health/live, /health/ready   liveness and readiness, without the token (health.ts)
 *   GET  /v1/self         this member, agent info and counters
 *   GET  /v1/members      members sorted by name, each with its phi (null: no state heartbeat heard), state in
 *                         Serf's words (alive, suspect, failed, left); ?status=failed&name=web-.*&tag=role=web
 *                         filter, each an anchored regular expression as in `serf members` (member-filter.ts)
 *   POST /v1/join         { "addresses": ["10.0.0.4:7946"] } → { contacted }
 *   POST /v1/leave        leave gracefully, then the agent shuts down → { left: true }
 *   POST /v1/force-leave  { "name": "web-3", "prune": false } → { name, prune, previous, state }: a failed
 *                         member becomes left everywhere (prune: forgotten); 409 for a live one
 *   POST /v1/event        { "name": "deploy", "payload": "v42", "coalesce": true } → { name, lTime }: a
 *                         Serf user event to every member (coalesce defaults to true, as `serf event`;
 *                         400 when over Serf's 512-byte limit)
 *   POST /v1/query        { "name": "whoami", "payload": "hi", "timeoutMs": 3000, "nodes": [...], "tags": {"role": "^web$"} }
 *                         → { name, lTime, acks, responses: [{ from, payload }] } once the query's deadline passed
 *   GET  /v1/events       Server-Sent Events of the kinds in ?types=member,user,… (default member,user):
 *                         `event: member` with { type, member }, `event: user` with { name, payload (UTF-8
 *                         text), lTime } for Serf user events; message and state (data.ts), gossip,
 *                         suspicion, health and phi (ui.ts: the dashboard asks for those); 400 for an unknown kind
 *   GET  /v1/kv…, PUT/DELETE /v1/kv/KEY, POST /v1/broadcast: replicated state and broadcasts (data.ts)
 *   GET  /v1/crdt, GET/POST /v1/crdt/KIND/NAME: the replicated data types (crdt.ts)
 *   GET/POST /v1/aggregate, GET/DELETE /v1/aggregate/NAME: aggregates computed by gossip (aggregate.ts)
 *   GET  /v1/keys, POST /v1/keys/install|use|remove|verify: encryption keys, by fingerprint (keys.ts)
 *   GET  /v1/tags         { tags } of this node; POST { "set": {"k": "v"}, "delete": ["k2"] } changes them at
 *                         runtime (gossiped as an update, kept in the snapshot) → { tags }
 *   POST /v1/reachability  Serf's reachability test: `_serf_ping` with acks → who did not ack (reachability.ts)
 *   GET  /v1/members?wan=1, GET /v1/datacenters, POST /v1/event?dc=DC, POST /v1/query?dc=DC: the datacenter
 *                         pools, events and queries relayed to another datacenter (pools.ts)
 *   GET  /v1/coordinates, /v1/coordinates/rtt?a=A&b=B, /v1/coordinates/nearest?k=K: network coordinates (coordinates.ts)
 *   GET  /v1/overlay      with --membership hyparview: views, tree, counters; /v1/members is the partial view there,
 *                         and what needs full membership answers 409 naming the mode (overlay.ts)
 *   GET  /metrics         Prometheus text
 *   GET  /ui, /v1/ui/view  the dashboard and its view of this node (ui.ts); /v1/ui/data its CRDT and aggregate panel (ui-data.ts)
 *
 * Errors are `{ "error": "reason" }` with 400 (bad JSON or fields), 401 (token missing or wrong),
 * 404 (no such path or member), 405 (wrong method, with Allow), 409 (force-leave of a live member),
 * 413 (body over 64 KiB), 502 (no seed answered). With a token, every request needs `Authorization: Bearer TOKEN`.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { timingSafeEqual, createHash } from 'node:crypto'
import type { GrapevineNode, MemberEvent, QueryResult } from '../../runtime/node/start-node.js'
import { QueryResponseError } from '../../serf/queries.js'
import { JoinError, UnknownMemberError } from '../../runtime/node/start-node.js'
import type { SerfLayerEvent } from '../../serf/serf-layer.js'
import { UserEventError } from '../../serf/serf-layer.js'
import { ConfigError, NodeStoppedError } from '../../core/errors.js'
import { handleDataRoute, streamData } from './data.js'
import { handleCrdtRoute } from './crdt.js'
import { handleUiDataRoute } from './ui-data.js'
import { handleAggregateRoute, listensOnLoopback } from './aggregate.js'
import { handleOverlayRoute } from './overlay.js'
import { handleKeysRoute } from './keys.js'
import { handleCoordinatesRoute } from './coordinates.js'
import { readEventBody, readQueryBody } from './bodies.js'
import { handlePoolsRoute, membersPool } from './pools.js'
import type { DatacenterNode } from '../../runtime/node/pools.js'
import type { AgentMetrics } from '../metrics.js'
import { UiTracker, serveUi } from './ui.js'
import { handleHealthRoute } from './health.js'
import { handleReachabilityRoute } from './reachability.js'
import type { Readiness } from './health.js'
import { HttpError, memberJson, phiJson, readJson, requireMethod, send, userState } from './respond.js'
import { filterMembers } from './member-filter.js'

const SSE_HEARTBEAT_MS = 15_000

/** What the HTTP API needs from the agent. */
export interface ApiTarget {
  readonly node: GrapevineNode
  /** The datacenter pools, when the agent runs with a datacenter (routes in pools.ts). */
  readonly pools?: DatacenterNode
  readonly metrics: AgentMetrics
  readonly token: string | undefined
  /** Agent facts for /v1/self. */
  info(): Record<string, unknown>
  /** Join with the node's join (names resolved now). */
  join(addresses: readonly string[]): Promise<number>
  /** Starts the graceful leave and shutdown; resolves once the leave went out. */
  leave(): Promise<void>
  /** Saves the keyring after a change (to the keyring file, when there is one). */
  keysChanged?(): Promise<void>
  /** Saves the WAN pool's keyring after a change through ?wan=1. */
  wanKeysChanged?(): Promise<void>
  /** This node's tags were changed through the API (the agent keeps them in its snapshot). */
  tagsChanged?(): void
  /** GET /metrics without the token. */
  readonly metricsPublic?: boolean
  /** For GET /health/ready; without it, ready once a live peer is seen. */
  readiness?(): Readiness
}

function tokenMatches(given: string, expected: string): boolean {
  // Compare digests so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The kinds of event `GET /v1/events?types=…` can carry; without `types`, DEFAULT_EVENT_TYPES. */
export const EVENT_TYPES = ['member', 'user', 'message', 'state', 'gossip', 'suspicion', 'health', 'phi'] as const
export type EventType = (typeof EVENT_TYPES)[number]
/** Serf's event stream: membership changes and user events (the dashboard asks for its own kinds). */
export const DEFAULT_EVENT_TYPES: readonly EventType[] = ['member', 'user']

/** `types=member,state` (also repeated) → the set; 400 naming an unknown kind. */
export function parseEventTypes(query: URLSearchParams): ReadonlySet<EventType> {
  const given = query.getAll('types').flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '')
  if (given.length === 0) return new Set(DEFAULT_EVENT_TYPES)
  const bad = given.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t))
  if (bad.length > 0) throw new HttpError(400, `types: unknown event type ${bad.map((b) => JSON.stringify(b.slice(0, 40))).join(', ')}; choose from ${EVENT_TYPES.join(', ')}`)
  return new Set(given as EventType[])
}

export class HttpApi {
  readonly server: Server
  private readonly streams = new Set<ServerResponse>()
  private readonly ui: UiTracker

  constructor(private readonly target: ApiTarget) {
    this.ui = new UiTracker(target.node, target.pools)
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (res.headersSent) return void res.destroy()
        if (e instanceof HttpError) send(res, e.status, { error: e.message }, e.headers)
        else send(res, 500, { error: `internal error: ${(e as Error).message}` })
      })
    })
    this.server.headersTimeout = 10_000
    this.server.requestTimeout = 30_000
  }

  /** Listens; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        const a = this.server.address()
        resolve(typeof a === 'object' && a !== null ? a.port : port)
      })
    })
  }

  close(): Promise<void> {
    for (const s of this.streams) s.end()
    this.streams.clear()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t = this.target
    if (await serveUi(req, res, new URL(req.url ?? '/', 'http://agent'))) return
    if (handleHealthRoute(req, res, new URL(req.url ?? '/', 'http://agent'), t.node.name, () => t.readiness?.() ?? this.peerReadiness())) return
    const publicMetrics = t.metricsPublic === true && req.url?.split('?')[0] === '/metrics'
    if (t.token !== undefined && !publicMetrics) {
      const auth = req.headers.authorization ?? ''
      const m = /^Bearer (.+)$/.exec(auth)
      if (m === null || !tokenMatches(m[1], t.token)) {
        throw new HttpError(401, m === null ? 'missing bearer token; send Authorization: Bearer TOKEN' : 'wrong bearer token', { 'www-authenticate': 'Bearer' })
      }
    }
    const url = new URL(req.url ?? '/', 'http://agent')
    if (handleOverlayRoute(req, res, url, t.node)) return
    if (await handleDataRoute(req, res, url, t.node)) return
    if (await handleCrdtRoute(req, res, url, t.node)) return
    if (await handleUiDataRoute(req, res, url, t.node)) return
    if (await handleAggregateRoute(req, res, url, t.node, t.token !== undefined || listensOnLoopback(this.server))) return
    if (handleCoordinatesRoute(req, res, url, t.node)) return
    if (await handlePoolsRoute(req, res, url, t.pools)) return
    if (await handleKeysRoute(req, res, url, t.node, () => t.keysChanged?.() ?? Promise.resolve(), { pools: t.pools, persist: () => t.wanKeysChanged?.() ?? Promise.resolve() })) return
    if (await handleReachabilityRoute(req, res, url, t.node)) return
    switch (url.pathname) {
      case '/v1/self':
        requireMethod(req, 'GET')
        return send(res, 200, { member: memberJson(t.node.localMember()), ...t.info() })
      case '/v1/members':
        requireMethod(req, 'GET')
        const pool = membersPool(url, t.node, t.pools)
        return send(res, 200, filterMembers(pool.members(), url.searchParams).map((m) => ({ ...memberJson(m), phi: phiJson(pool.phi(m.name)) })))
      case '/v1/join': {
        requireMethod(req, 'POST')
        const body = (await readJson(req)) as { addresses?: unknown }
        const a = body?.addresses
        if (!Array.isArray(a) || a.length === 0 || a.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 300)) {
          throw new HttpError(400, `addresses: expected a non-empty array of "HOST:PORT" strings like ["10.0.0.4:7946"], got ${JSON.stringify(a)?.slice(0, 200)}`)
        }
        try {
          return send(res, 200, { contacted: await t.join(a as string[]) })
        } catch (e) {
          if (e instanceof JoinError) throw new HttpError(502, e.message)
          if (e instanceof ConfigError || e instanceof NodeStoppedError) throw new HttpError(400, e.message)
          throw e
        }
      }
      case '/v1/leave':
        requireMethod(req, 'POST')
        await readJson(req)
        await t.leave()
        return send(res, 200, { left: true })
      case '/v1/force-leave': {
        requireMethod(req, 'POST')
        const body = (await readJson(req)) as { name?: unknown; prune?: unknown }
        if (typeof body?.name !== 'string' || body.name.length === 0) throw new HttpError(400, `name: expected the name of a member, got ${JSON.stringify(body?.name)}`)
        if (body.prune !== undefined && typeof body.prune !== 'boolean') throw new HttpError(400, `prune: expected true or false, got ${JSON.stringify(body.prune)}`)
        const name = body.name
        const prune = body.prune === true
        const current = t.node.members().find((m) => m.name === name)
        if (current === undefined) throw new HttpError(404, `no member named ${JSON.stringify(name)}; \`grapevine members\` lists the names`)
        if (name === t.node.name) throw new HttpError(409, `${name} is this agent; use \`grapevine leave\` to leave gracefully`)
        if (current.state === 'alive' || current.state === 'suspect') {
          throw new HttpError(409, `${name} is ${current.state}; force-leave is for failed members (a live one refutes it): stop it, or wait until it is marked failed`)
        }
        let previous
        try {
          previous = await t.node.forceLeave(name, { prune })
        } catch (e) {
          if (e instanceof UnknownMemberError) throw new HttpError(404, `no member named ${JSON.stringify(name)}; \`grapevine members\` lists the names`)
          throw e
        }
        const now = t.node.members().find((m) => m.name === name)?.state
        return send(res, 200, { name, prune, previous: userState(previous), state: now === undefined ? 'pruned' : userState(now) })
      }
      case '/v1/event': {
        requireMethod(req, 'POST')
        const body = await readEventBody(req)
        try {
          const lTime = t.node.userEvent(body.name, body.payload, { coalesce: body.coalesce })
          return send(res, 200, { name: body.name, lTime })
        } catch (e) {
          if (e instanceof UserEventError || e instanceof ConfigError || e instanceof NodeStoppedError) throw new HttpError(400, e.message)
          throw e
        }
      }
      case '/v1/query': {
        requireMethod(req, 'POST')
        const body = await readQueryBody(req)
        let pending: Promise<QueryResult>
        try {
          pending = t.node.query(body.name, body.payload, { timeoutMs: body.timeoutMs, nodes: body.nodes, tags: body.tags, ack: body.ack })
        } catch (e) {
          if (e instanceof QueryResponseError || e instanceof ConfigError || e instanceof NodeStoppedError) throw new HttpError(400, e.message)
          throw e
        }
        const r = await pending
        return send(res, 200, { name: r.name, lTime: r.lTime, acks: r.acks, responses: r.responses.map((x) => ({ from: x.from, payload: Buffer.from(x.payload).toString('utf8') })) })
      }
      case '/v1/tags': {
        if (req.method === 'GET' || req.method === 'HEAD') return send(res, 200, { tags: t.node.localMember().tags })
        requireMethod(req, 'POST')
        const body = (await readJson(req)) as { set?: unknown; delete?: unknown }
        const set = body?.set ?? {}
        const del = body?.delete ?? []
        if (set === null || typeof set !== 'object' || Array.isArray(set) || !Object.values(set).every((v) => typeof v === 'string')) {
          throw new HttpError(400, `set: expected an object of tag → value strings, like {"role": "web"}, got ${JSON.stringify(set)?.slice(0, 100)}`)
        }
        if (!Array.isArray(del) || !del.every((k) => typeof k === 'string')) throw new HttpError(400, `delete: expected an array of tag names, like ["zone"], got ${JSON.stringify(del)?.slice(0, 100)}`)
        const both = Object.keys(set).filter((k) => (del as string[]).includes(k))
        if (both.length > 0) throw new HttpError(400, `tag ${JSON.stringify(both[0])} is both set and deleted; pick one`)
        const next: Record<string, string> = { ...t.node.localMember().tags, ...(set as Record<string, string>) }
        for (const k of del as string[]) delete next[k]
        try {
          t.node.setTags(next)
        } catch (e) {
          if (e instanceof ConfigError || e instanceof NodeStoppedError) throw new HttpError(400, e.message)
          throw e
        }
        t.tagsChanged?.()
        return send(res, 200, { tags: t.node.localMember().tags })
      }
      case '/v1/events':
        requireMethod(req, 'GET')
        return this.stream(req, res, url)
      case '/v1/ui/view':
        requireMethod(req, 'GET')
        return send(res, 200, this.ui.view())
      case '/metrics': {
        requireMethod(req, 'GET')
        const text = await t.metrics.text()
        res.writeHead(200, { 'content-type': t.metrics.contentType })
        return void res.end(text)
      }
      default:
        throw new HttpError(404, `no such path ${JSON.stringify(url.pathname)}; see /v1/members, /v1/self, /v1/join, /v1/leave, /v1/events, /metrics, /health, /ui`)
    }
  }

  private peerReadiness(): Readiness {
    const livePeers = this.target.node.members().filter((m) => m.name !== this.target.node.name && m.state === 'alive').length
    return { ready: livePeers > 0, reason: livePeers > 0 ? `${livePeers} live peers` : 'no live peer', livePeers }
  }

  /** Server-Sent Events: one `member` event per membership change, a comment as heartbeat. */
  private stream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const types = parseEventTypes(url.searchParams)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(': connected\n\n')
    this.streams.add(res)
    const onMember = (e: MemberEvent): void => {
      res.write(`event: member\ndata: ${JSON.stringify({ type: e.type, member: memberJson(e.member) })}\n\n`)
    }
    const onSerf = (e: SerfLayerEvent): void => {
      if (e.type !== 'userEvent') return
      res.write(`event: user\ndata: ${JSON.stringify({ name: e.name, payload: Buffer.from(e.payload).toString('utf8'), lTime: e.lTime })}\n\n`)
    }
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS)
    heartbeat.unref()
    if (types.has('member')) this.target.node.on('member', onMember)
    if (types.has('user')) this.target.node.on('serf', onSerf)
    const stopData = streamData(res, this.target.node, types)
    const stopUi = this.ui.stream(res, types)
    const done = (): void => {
      stopData()
      stopUi()
      clearInterval(heartbeat)
      this.target.node.off('member', onMember)
      this.target.node.off('serf', onSerf)
      this.streams.delete(res)
    }
    req.on('close', done)
    res.on('close', done)
  }
}
