/**
 * The datacenter pool controller: what a node of a datacenter does on top of its pools, the same code
 * under the real runtime (runtime/node/datacenter.ts) and the simulator (runtime/sim/datacenters.ts).
 * It touches its pools only through PoolAccess, and keeps no timer: the runtime calls flood() on its
 * interval and feeds membership changes and queries in.
 *
 *   LAN member joined/updated ─▶ flood(): LAN servers of our datacenter missing from the WAN pool ─▶ wan.join
 *   WAN member changed ────────▶ server report: joined / failed (kept routable: soft fail) / recovered / left
 *   relay(event|query, dc) ────▶ dc is ours: fire / run it in the LAN pool
 *                                we are a server: WAN query _gv_relay to the best server of dc
 *                                we are a client: LAN query _gv_relay to one of our servers, which forwards
 *   query _gv_relay arrives ───▶ run it here (dc is ours) or forward it over the WAN, answer with the outcome
 *
 * Flood join follows Consul: every server of the datacenter that the LAN pool knows alive, and that
 * the WAN pool does not know alive under its WAN name, is joined at the WAN address it advertises in
 * its LAN tags. A failed WAN member alive in the LAN pool is joined again (the WAN path may be back).
 *
 * A relay goes to one server, the healthiest and nearest known (router.ts); there is no failover to a
 * second server within one relay: an event sent twice would fire twice, and the caller sees which
 * server was tried and why it failed, and may retry.
 */
import type { Address } from '../core/types.js'
import type { MemberState } from '../node/index.js'
import type { QueryResult } from '../node/index.js'
import { serverWanAddress, wanName, POOL_TAGS, SERVER_ROLE } from './names.js'
import { decodeRelayRequest, decodeRelayResponse, encodeRelayRequest, encodeRelayResponse, RELAY_HOPS_MAX, RELAY_QUERY, RELAY_QUERY_BYTES_MAX } from './relay.js'
import type { RelayRequest, RelayResponse } from './relay.js'
import { routeTable, serverChange } from './router.js'
import type { PoolMember, RoutedServer, ServerChange } from './router.js'

/** What the controller may do with one pool. */
export interface PoolAccess {
  /** This node's name in the pool. */
  readonly name: string
  members(): readonly PoolMember[]
  /** Starts a join (push-pull with each address); failures are the runtime's to log. */
  join(addresses: readonly Address[]): void
  /** Fires a Serf user event in the pool; returns its Lamport time; throws for a bad name or size. */
  userEvent(name: string, payload: Uint8Array, coalesce: boolean): number
  /** Sends a Serf query; `done` is called once, at its deadline. Throws for a bad name or size. */
  query(name: string, payload: Uint8Array, opts: { readonly nodes?: readonly string[]; readonly timeoutMs?: number }, done: (r: QueryResult) => void): void
  /** Estimated round trip to a member (network coordinates), when known. */
  rtt(name: string): number | undefined
}

/** A query that reached this node in one of its pools. */
export interface IncomingQuery {
  readonly name: string
  readonly payload: Uint8Array
  /** Sends the one response the query may take; false when the querier is gone. */
  respond(payload: Uint8Array): boolean
}

export type PoolEvent =
  | { readonly type: 'floodJoin'; readonly servers: readonly string[]; readonly addresses: readonly Address[] }
  | { readonly type: 'server'; readonly change: ServerChange; readonly server: string; readonly datacenter: string }
  | { readonly type: 'relayServed'; readonly kind: RelayRequest['kind']; readonly name: string; readonly datacenter: string; readonly forwarded: boolean }
  | { readonly type: 'relayDropped'; readonly reason: string }

export interface PoolControllerOptions {
  readonly datacenter: string
  readonly lan: PoolAccess
  /** The WAN pool: servers only. */
  readonly wan?: PoolAccess
  /** Added to a relay's deadline for each hop still ahead (default 4000 ms: WAN gossip of the query plus the answer). */
  readonly hopMs?: number
  readonly onEvent?: (e: PoolEvent) => void
}

/** The outcome of a relay, as the caller sees it. */
export interface RelayOutcome extends RelayResponse {
  readonly datacenter: string
}

/** A relay that cannot start: an unknown kind of input. Nothing was sent. */
export class RelayError extends Error {
  override readonly name = 'RelayError'
}

/** Serf's user event limit, for the early check of a relayed event. */
const USER_EVENT_BYTES_MAX = 512
export const DEFAULT_HOP_MS = 4000
/** A relayed query's collection time when the caller gives none. */
export const DEFAULT_RELAY_QUERY_MS = 3000

export class PoolController {
  readonly datacenter: string
  private readonly hopMs: number
  private readonly wanStates = new Map<string, MemberState>()
  readonly counts = { floodJoins: 0, relaysSent: 0, relaysServed: 0, relaysForwarded: 0, relaysFailed: 0, relaysDropped: 0 }

  constructor(private readonly o: PoolControllerOptions) {
    this.datacenter = o.datacenter
    this.hopMs = o.hopMs ?? DEFAULT_HOP_MS
    if (o.wan !== undefined) this.wanChanged()
  }

  get isServer(): boolean {
    return this.o.wan !== undefined
  }

  /** Datacenters and their servers as the WAN pool sees them (servers); ours alone, from the LAN pool, otherwise. */
  datacenters(): Map<string, RoutedServer[]> {
    if (this.o.wan !== undefined) {
      const wan = this.o.wan
      return routeTable(wan.members(), (n) => (n === wan.name ? 0 : wan.rtt(n)))
    }
    const lan = this.o.lan
    const local = this.localServers().map((m) => ({ ...m, name: wanName(m.name, this.datacenter) }))
    return routeTable(local, (n) => lan.rtt(n.slice(0, n.lastIndexOf('.'))))
  }

  /** The servers of our datacenter in the LAN pool (routable: alive and suspect first), as LAN members. */
  localServers(): PoolMember[] {
    const rank = (s: MemberState): number => (s === 'alive' ? 0 : s === 'suspect' ? 1 : 2)
    return this.o.lan
      .members()
      .filter((m) => m.state !== 'left' && serverWanAddress(m.tags, this.datacenter) !== undefined)
      .sort((a, b) => rank(a.state) - rank(b.state) || (this.o.lan.rtt(a.name) ?? Infinity) - (this.o.lan.rtt(b.name) ?? Infinity) || (a.name < b.name ? -1 : 1))
  }

  /** Joins into the WAN pool every live LAN server of our datacenter it does not hold alive. Returns the addresses. */
  flood(): Address[] {
    const wan = this.o.wan
    if (wan === undefined) return []
    const live = new Set(wan.members().filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.name))
    const servers: string[] = []
    const addresses: Address[] = []
    for (const m of this.o.lan.members()) {
      if (m.name === this.o.lan.name || m.state !== 'alive') continue
      const addr = serverWanAddress(m.tags, this.datacenter)
      if (addr === undefined || live.has(wanName(m.name, this.datacenter))) continue
      servers.push(m.name)
      addresses.push(addr)
    }
    if (addresses.length > 0) {
      this.counts.floodJoins += addresses.length
      this.o.onEvent?.({ type: 'floodJoin', servers, addresses })
      wan.join(addresses)
    }
    return addresses
  }

  /** A LAN member changed: a server of ours that came up is flood-joined at once. */
  lanMemberChanged(m: PoolMember): void {
    if (m.state === 'alive' && serverWanAddress(m.tags, this.datacenter) !== undefined) this.flood()
  }

  /** A WAN member changed: reports servers that joined, failed (still routable), recovered or left. */
  wanChanged(): void {
    const wan = this.o.wan
    if (wan === undefined) return
    const now = new Map<string, MemberState>()
    for (const m of wan.members()) if (m.tags[POOL_TAGS.role] === SERVER_ROLE && m.name !== wan.name) now.set(m.name, m.state)
    for (const name of new Set([...this.wanStates.keys(), ...now.keys()])) {
      const change = serverChange(this.wanStates.get(name), now.get(name))
      if (change === undefined) continue
      const dot = name.lastIndexOf('.')
      this.o.onEvent?.({ type: 'server', change, server: name, datacenter: dot > 0 ? name.slice(dot + 1) : '' })
    }
    this.wanStates.clear()
    for (const [k, v] of now) this.wanStates.set(k, v)
  }

  /**
   * Fires a user event or runs a query in datacenter `dc` (ours: directly). `done` is called once with
   * the outcome. Throws RelayError (nothing sent) for a name or payload over the relay's limits.
   */
  relay(req: { kind: RelayRequest['kind']; datacenter: string; name: string; payload: Uint8Array; coalesce?: boolean; timeoutMs?: number }, done: (r: RelayOutcome) => void): void {
    const size = new TextEncoder().encode(req.name).length + req.payload.length
    if (req.name.length === 0) throw new RelayError('name: expected a non-empty event or query name')
    if (req.kind === 'event' && size > USER_EVENT_BYTES_MAX - 12) throw new RelayError(`event ${JSON.stringify(req.name)}: name and payload are ${size} bytes; Serf's user event limit leaves ${USER_EVENT_BYTES_MAX - 12}`)
    if (size > RELAY_QUERY_BYTES_MAX) throw new RelayError(`query ${JSON.stringify(req.name)}: name and payload are ${size} bytes; a relayed query carries at most ${RELAY_QUERY_BYTES_MAX}`)
    const full: RelayRequest = {
      kind: req.kind, datacenter: req.datacenter, name: req.name, payload: req.payload, coalesce: req.coalesce ?? false,
      timeoutMs: req.kind === 'query' ? req.timeoutMs ?? DEFAULT_RELAY_QUERY_MS : 0, hops: 0,
    }
    this.route(full, (r) => done({ ...r, datacenter: req.datacenter }))
  }

  /** A query reached this node in `pool`; true when it was a relay (answered here), false when it is the application's. */
  handleQuery(pool: 'lan' | 'wan', q: IncomingQuery): boolean {
    if (q.name !== RELAY_QUERY) return false
    const d = decodeRelayRequest(q.payload)
    const answer = (r: RelayResponse): void => {
      q.respond(encodeRelayResponse(r))
    }
    if (!d.ok) {
      this.counts.relaysDropped++
      this.o.onEvent?.({ type: 'relayDropped', reason: d.reason })
      answer(this.failure(d.reason))
      return true
    }
    const req = d.value
    if (req.datacenter !== this.datacenter && (pool === 'wan' || this.o.wan === undefined || req.hops >= RELAY_HOPS_MAX)) {
      this.counts.relaysDropped++
      const reason = `${this.o.lan.name} (datacenter ${this.datacenter}${this.isServer ? '' : ', not a server'}) cannot forward to datacenter ${req.datacenter}`
      this.o.onEvent?.({ type: 'relayDropped', reason })
      answer(this.failure(reason))
      return true
    }
    const forwarded = req.datacenter !== this.datacenter
    if (forwarded) this.counts.relaysForwarded++
    else this.counts.relaysServed++
    this.o.onEvent?.({ type: 'relayServed', kind: req.kind, name: req.name, datacenter: req.datacenter, forwarded })
    this.route({ ...req, hops: req.hops + 1 }, answer)
    return true
  }

  private failure(error: string): RelayResponse {
    return { ok: false, servedBy: this.o.lan.name, lTime: 0, ackCount: 0, acks: [], responses: [], omitted: 0, error }
  }

  /** Runs the request here, or sends it one hop on; `done` once. */
  private route(req: RelayRequest, done: (r: RelayResponse) => void): void {
    if (req.datacenter === this.datacenter) return this.runHere(req, done)
    let pool: PoolAccess
    let target: string | undefined
    let hopsAhead: number
    if (this.o.wan !== undefined) {
      pool = this.o.wan
      target = this.datacenters().get(req.datacenter)?.[0]?.name
      hopsAhead = 1
      if (target === undefined) return done(this.failure(`no server of datacenter ${req.datacenter} is known in the WAN pool; known: ${[...this.datacenters().keys()].join(', ') || 'none'}`))
    } else {
      pool = this.o.lan
      target = this.localServers()[0]?.name
      hopsAhead = 2
      if (target === undefined) return done(this.failure(`no server of datacenter ${this.datacenter} is known in the LAN pool to relay to ${req.datacenter}`))
    }
    const timeoutMs = req.timeoutMs + hopsAhead * this.hopMs
    this.counts.relaysSent++
    try {
      pool.query(RELAY_QUERY, encodeRelayRequest(req), { nodes: [target], timeoutMs }, (r) => {
        const reply = r.responses.find((x) => x.from === target)
        if (reply === undefined) {
          this.counts.relaysFailed++
          return done(this.failure(`${target} ${r.acks.includes(target) ? 'acked but did not answer' : 'did not answer'} within ${timeoutMs} ms`))
        }
        const d = decodeRelayResponse(reply.payload)
        if (!d.ok) this.counts.relaysFailed++
        done(d.ok ? d.value : this.failure(`${target} answered: ${d.reason}`))
      })
    } catch (e) {
      this.counts.relaysFailed++
      done(this.failure(`${target}: ${(e as Error).message}`))
    }
  }

  private runHere(req: RelayRequest, done: (r: RelayResponse) => void): void {
    const lan = this.o.lan
    try {
      if (req.kind === 'event') {
        const lTime = lan.userEvent(req.name, req.payload, req.coalesce)
        return done({ ok: true, servedBy: lan.name, lTime, ackCount: 0, acks: [], responses: [], omitted: 0, error: '' })
      }
      lan.query(req.name, req.payload, { timeoutMs: req.timeoutMs }, (r) =>
        done({ ok: true, servedBy: lan.name, lTime: r.lTime, ackCount: r.acks.length, acks: r.acks, responses: r.responses, omitted: 0, error: '' }),
      )
    } catch (e) {
      done(this.failure(`${lan.name}: ${(e as Error).message}`))
    }
  }
}
