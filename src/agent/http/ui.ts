/**
 * The dashboard's side of the agent (the rest of the API is in api.ts and data.ts):
 *
 *   GET /ui, /ui/…        the dashboard page and its assets (built from web/ into dist/web), no token
 *                         needed for these static files (the page asks for the token when the API wants one)
 *   GET /v1/ui/view       this node's view in one answer: members with phi, estimated RTT (network
 *                         coordinates) and time of last change, its coordinate's error, the datacenter pools, its
 *                         health score, recent suspicions (who accused, how it reached us), state keys
 *                         with versions, recent gossip (peer, direction, message types, bytes), counters
 *
 * and, on the event stream when asked for (GET /v1/events?types=gossip,suspicion,health,phi,…): `event: gossip` { at, direction, kind, peer, types, bytes }
 * (sampled: at most GOSSIP_EVENTS_PER_SECOND per client), `event: suspicion` { type, member, from, via,
 * incarnation, at }, `event: health` { score, at } and every PHI_EVERY_MS `event: phi` { health, phi:
 * { member: φ }, rtt: { member: ms }, coordinate, pools } (φ changes continuously, so it is sent as a sample rather than per change).
 *
 * A UiTracker listens to the node's events from the start and keeps bounded rings of what it saw;
 * message types are decoded only when someone asks (the rings hold the raw bytes). Packets are recorded
 * only while a dashboard watches (a view or an event stream in the last WATCH_MS): the node reports
 * traffic only to listeners, so an agent nobody watches does no work per packet for the dashboard (it
 * was ~4 % of an idle agent's JS time). The first view after a quiet spell has little gossip; the next
 * poll has it.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode, Traffic } from '../../runtime/node/start-node.js'
import type { SwimEvent } from '../../swim/events.js'
import type { StateEvent } from '../../state/cluster-state.js'
import { describePacket, describeStream } from '../../wire/describe.js'
import { memberJson, phiJson, send, userState } from './respond.js'
import type { DatacenterNode } from '../../runtime/node/pools.js'
import { formatAddress } from '../../pools/names.js'

/** The estimated round trip to a member from its network coordinate, rounded to 0.01 ms; null when unknown or off. */
function rttJson(node: GrapevineNode, name: string): number | null {
  if (name === node.name) return null
  const r = node.rtt(name)
  return r === undefined ? null : Math.round(r * 100) / 100
}

/** This node's coordinate in brief (the error is Vivaldi's confidence: it falls as probes agree); null when off. */
function coordinateJson(node: GrapevineNode): { error: number; heightMs: number; updates: number } | null {
  const c = node.coordinate()
  const all = node.coordinates()
  if (c === undefined || all === undefined) return null
  return { error: Math.round(c.error * 1000) / 1000, heightMs: Math.round(c.height * 1e5) / 100, updates: all.stats.updates }
}

/** The datacenter pools in brief: this node's datacenter and role, the WAN pool's members, servers by datacenter. */
function poolsView(pools: DatacenterNode | undefined): Record<string, unknown> | null {
  if (pools === undefined) return null
  return {
    datacenter: pools.datacenter,
    server: pools.isServer,
    wan: pools.wan?.members().map((m) => ({ name: m.name, state: userState(m.state), address: `${m.address.ip}:${m.address.port}` })) ?? null,
    datacenters: pools.datacenters().map((d) => ({ datacenter: d.datacenter, servers: d.servers.map((x) => ({ name: x.name, state: userState(x.state), failed: x.failed, address: formatAddress(x.address), rttMs: x.rttMs === undefined ? null : Math.round(x.rttMs * 100) / 100 })) })),
  }
}

export const GOSSIP_RING = 200
/** How long after the last view or event stream packets are still recorded. */
export const WATCH_MS = 60_000
export const SUSPICION_RING = 200
export const GOSSIP_EVENTS_PER_SECOND = 30
export const PHI_EVERY_MS = 2000

/** Where the built dashboard lives: dist/web next to dist/src. */
export const WEB_ROOT = fileURLToPath(new URL('../../../web/', import.meta.url))

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

interface Packet {
  readonly at: number
  readonly direction: 'in' | 'out'
  readonly kind: 'packet' | 'stream'
  readonly peer: string
  readonly bytes: Uint8Array
}

export interface SuspicionJson {
  readonly type: 'suspected' | 'failed' | 'alive' | 'refuted'
  readonly member: string
  readonly from: string | null
  readonly via: string | null
  readonly incarnation: number
  readonly at: number
}

/** Wall-clock ms of a runtime (performance.now) instant. */
function wall(runtimeMs: number): number {
  return Math.round(Date.now() - (performance.now() - runtimeMs))
}

/** Serves a file of the built dashboard; false when the path is not under /ui. */
export async function serveUi(req: IncomingMessage, res: ServerResponse, url: URL, root = WEB_ROOT): Promise<boolean> {
  const p = url.pathname
  if (p !== '/ui' && !p.startsWith('/ui/')) return false
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, { error: `${req.method} is not allowed on ${p}; use GET` }, { allow: 'GET' })
    return true
  }
  if (p === '/ui') {
    res.writeHead(302, { location: '/ui/' + url.search })
    res.end()
    return true
  }
  const rel = p === '/ui/' ? 'index.html' : decodeURIComponent(p.slice('/ui/'.length))
  const file = path.resolve(root, rel)
  if (!file.startsWith(path.resolve(root) + path.sep)) {
    send(res, 404, { error: `no such file ${JSON.stringify(p)}` })
    return true
  }
  let body: Buffer
  try {
    body = await readFile(file)
  } catch {
    const hint = rel === 'index.html' ? '; the dashboard is not built: run `npm run build`' : ''
    send(res, 404, { error: `no such file ${JSON.stringify(p)}${hint}` })
    return true
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': rel === 'index.html' ? 'no-cache' : 'max-age=300',
  })
  res.end(req.method === 'HEAD' ? undefined : body)
  return true
}

/** What a node did recently, kept in bounded rings for the dashboard. */
export class UiTracker {
  private readonly packets: Packet[] = []
  private readonly suspicions: SuspicionJson[] = []
  private readonly versions = new Map<string, number>()
  private readonly names = new Map<string, string>()
  private scannedAt = 0
  /** Wall-clock ms until which packets are recorded (the last view or stream + WATCH_MS). */
  private watchedUntil = 0
  /** Open event streams: packets are recorded while any is open. */
  private streams = 0
  private readonly onTraffic = (t: Traffic): void => this.traffic(t)
  private recording = false
  health = 0

  constructor(
    private readonly node: GrapevineNode,
    /** The datacenter pools, shown beside the members when the agent runs with a datacenter. */
    private readonly pools?: DatacenterNode,
  ) {
    node.on('event', (e) => this.event(e))
    node.on('state', (e) => this.state(e))
  }

  /** The member at the packet's address; the address itself when none is known (members rescanned at most once a second). */
  private peerName(t: Traffic): string {
    const key = `${t.peer.ip}:${t.peer.port}`
    const name = this.names.get(key)
    if (name !== undefined) return name
    const now = Date.now()
    if (now - this.scannedAt < 1000) return key
    this.scannedAt = now
    for (const m of this.node.members()) this.names.set(`${m.address.ip}:${m.address.port}`, m.name)
    return this.names.get(key) ?? key
  }

  private traffic(t: Traffic): void {
    const at = Date.now()
    if (at > this.watchedUntil && this.streams === 0) {
      this.node.off('traffic', this.onTraffic)
      this.recording = false
      return
    }
    this.packets.push({ at, direction: t.direction, kind: t.kind, peer: this.peerName(t), bytes: t.bytes })
    if (this.packets.length > GOSSIP_RING) this.packets.shift()
  }

  /** A dashboard is watching: record packets for the next WATCH_MS. */
  private watched(): void {
    this.watchedUntil = Date.now() + WATCH_MS
    if (this.recording) return
    this.recording = true
    this.node.on('traffic', this.onTraffic)
  }

  private event(e: SwimEvent): void {
    const at = Date.now()
    if (e.type === 'health') this.health = e.score
    let s: SuspicionJson | undefined
    if (e.type === 'suspected' || e.type === 'failed') s = { type: e.type, member: e.member.name, from: e.from, via: e.via, incarnation: e.member.incarnation, at }
    // A confirmation is one more accuser of the open suspicion: the dashboard's "confirmed by".
    else if (e.type === 'suspicionConfirmed') s = { type: 'suspected', member: e.member.name, from: e.from, via: 'gossip', incarnation: e.member.incarnation, at }
    else if (e.type === 'alive') s = { type: 'alive', member: e.member.name, from: null, via: null, incarnation: e.member.incarnation, at }
    else if (e.type === 'refuted') s = { type: 'refuted', member: this.node.name, from: null, via: e.accusation, incarnation: e.incarnation, at }
    if (e.type === 'joined' || e.type === 'updated') this.names.set(`${e.member.address.ip}:${e.member.address.port}`, e.member.name)
    if (s === undefined) return
    this.suspicions.push(s)
    if (this.suspicions.length > SUSPICION_RING) this.suspicions.shift()
  }

  private state(e: StateEvent): void {
    if (e.type === 'keySet') this.versions.set(`${e.node}\0${e.key}`, e.version)
  }

  /** The newest `limit` packets as JSON (types decoded now). */
  gossip(limit = GOSSIP_RING): Array<Record<string, unknown>> {
    this.watched()
    return this.packets.slice(-limit).map(packetJson)
  }

  /** The whole view for GET /v1/ui/view. */
  view(): Record<string, unknown> {
    const node = this.node
    const stats = node.stats()
    return {
      self: node.name,
      now: Date.now(),
      health: this.health,
      members: node.members().map((m) => {
        return { ...memberJson(m), phi: phiJson(node.phi(m.name)), rttMs: rttJson(node, m.name), changedAt: wall(m.stateChangeMs) }
      }),
      coordinate: coordinateJson(node),
      pools: poolsView(this.pools),
      suspicions: this.suspicions,
      kv: node.state.nodes().flatMap((owner) => node.state.entries(owner).map(([key, value]) => ({ node: owner, key, value, version: this.versions.get(`${owner}\0${key}`) ?? null }))),
      gossip: this.gossip(),
      counters: { packetsIn: stats.packetsIn, packetsOut: stats.packetsOut, bytesIn: stats.bytesIn, bytesOut: stats.bytesOut, streamsIn: stats.streamsIn, streamsOut: stats.streamsOut },
    }
  }

  /** Writes gossip (sampled), suspicions, health and phi, those of them in `types`, to an event stream; returns the unsubscribe. */
  stream(res: ServerResponse, types: ReadonlySet<string>): () => void {
    this.watched()
    this.streams++
    let windowStart = 0
    let inWindow = 0
    const onTraffic = (): void => {
      const now = Date.now()
      if (now - windowStart >= 1000) {
        windowStart = now
        inWindow = 0
      }
      if (inWindow >= GOSSIP_EVENTS_PER_SECOND) return
      inWindow++
      const p = this.packets[this.packets.length - 1]
      if (p !== undefined) res.write(`event: gossip\ndata: ${JSON.stringify(packetJson(p))}\n\n`)
    }
    const onEvent = (e: SwimEvent): void => {
      if (e.type === 'health' && types.has('health')) res.write(`event: health\ndata: ${JSON.stringify({ score: e.score, at: Date.now() })}\n\n`)
      else if (types.has('suspicion') && (e.type === 'suspected' || e.type === 'suspicionConfirmed' || e.type === 'failed' || e.type === 'alive' || e.type === 'refuted')) {
        res.write(`event: suspicion\ndata: ${JSON.stringify(this.suspicions[this.suspicions.length - 1])}\n\n`)
      }
    }
    const phiTimer = !types.has('phi') ? undefined : setInterval(() => {
      const phi: Record<string, number | null> = {}
      const rtt: Record<string, number | null> = {}
      for (const m of this.node.members()) {
        phi[m.name] = phiJson(this.node.phi(m.name))
        rtt[m.name] = rttJson(this.node, m.name)
      }
      res.write(`event: phi\ndata: ${JSON.stringify({ health: this.health, phi, rtt, coordinate: coordinateJson(this.node), pools: poolsView(this.pools) })}\n\n`)
    }, PHI_EVERY_MS)
    phiTimer?.unref()
    // Registered after the tracker's own listeners, so the rings already hold what the event is about.
    if (types.has('gossip')) this.node.on('traffic', onTraffic)
    if (types.has('health') || types.has('suspicion')) this.node.on('event', onEvent)
    return () => {
      this.streams--
      this.watchedUntil = Math.max(this.watchedUntil, Date.now() + WATCH_MS)
      clearInterval(phiTimer)
      this.node.off('traffic', onTraffic)
      this.node.off('event', onEvent)
    }
  }
}

function packetJson(p: Packet): Record<string, unknown> {
  const types = p.kind === 'packet' ? describePacket(p.bytes) : describeStream(p.bytes)
  return { at: p.at, direction: p.direction, kind: p.kind, peer: p.peer, types, bytes: p.bytes.length }
}
