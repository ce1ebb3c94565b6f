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
 * Failover: a relay goes to the healthiest and nearest server known (router.ts: alive, then suspect,
 * then soft-failed). When that server does not answer, the same hop is tried through the next one, up
 * to relayAttemptsMax servers (default 3), and each failover is reported. A silent server may still
 * have fired the event (its answer, not the request, was lost: a one-way cut, where the request came
 * round through the WAN pool's gossip); a retried request says so (retry), and the server that takes
 * it answers with the event already seen in its LAN pool instead of firing it again (fired-events.ts).
 * One case is not retried at all: an event whose server acked (it holds the request) but did not
 * answer; the caller is told it may have fired. A query is retried in every case (running a query
 * twice only asks twice). When every server tried failed, the error names each and why: the target
 * datacenter is unreachable from here.
 *
 *   hop to dc2: [b.dc2 (alive), a.dc2 (suspect), c.dc2 (failed)]
 *     b.dc2 ─no ack, no answer─▶ failover ─▶ a.dc2 ─answer─▶ done
 *                                            a.dc2 ─no answer─▶ c.dc2 ─no answer─▶ "no server of dc2 answered: …"
 *
 * A hop completes at the target's answer (not at the query's deadline); the deadline bounds a silent
 * server. A client's hop to its local server waits long enough for that server's own failovers.
 */
import type { Address } from '../core/types.js'
import type { MemberState } from '../node/index.js'
import type { QueryResult } from '../node/index.js'
import { serverWanAddress, wanName, POOL_TAGS, SERVER_ROLE } from './names.js'
import { decodeRelayRequest, decodeRelayResponse, encodeRelayRequest, encodeRelayResponse, RELAY_HOPS_MAX, RELAY_QUERY, RELAY_QUERY_BYTES_MAX } from './relay.js'
import type { RelayRequest, RelayResponse } from './relay.js'
import { routeTable, serverChange } from './router.js'
import { FiredEvents } from './fired-events.js'
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
  /**
   * Sends a Serf query (members ack it on receipt); `onResponse` sees each response as it arrives and
   * `done` is called once, at the deadline. Throws for a bad name or size.
   */
  query(
    name: string, payload: Uint8Array,
    opts: { readonly nodes?: readonly string[]; readonly timeoutMs?: number; readonly onResponse?: (from: string, payload: Uint8Array) => void },
    done: (r: QueryResult) => void,
  ): void
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
  /** A relay hop's server did not answer; the hop is tried through `next`. */
  | { readonly type: 'relayFailover'; readonly kind: RelayRequest['kind']; readonly datacenter: string; readonly failed: string; readonly next: string; readonly reason: string }
  /** A relay this node started ended: delivered or failed (after every failover). */
  | { readonly type: 'relayDone'; readonly kind: RelayRequest['kind']; readonly datacenter: string; readonly ok: boolean }

export interface PoolControllerOptions {
  readonly datacenter: string
  readonly lan: PoolAccess
  /** The WAN pool: servers only. */
  readonly wan?: PoolAccess
  /** Added to a relay's deadline for each hop still ahead (default 4000 ms: WAN gossip of the query plus the answer). */
  readonly hopMs?: number
  /** Servers one relay hop tries before it gives up (default 3; 1 turns failover off). */
  readonly relayAttemptsMax?: number
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
/** Servers one relay hop tries: the first and up to two failovers. */
export const DEFAULT_RELAY_ATTEMPTS = 3
/** A relayed query's collection time when the caller gives none. */
export const DEFAULT_RELAY_QUERY_MS = 3000

export class PoolController {
  readonly datacenter: string
  private readonly hopMs: number
  private readonly attemptsMax: number
  private readonly wanStates = new Map<string, MemberState>()
  private readonly fired = new FiredEvents()
  /**
   * relaysSent: hop attempts sent (failovers included); relaysFailed: attempts that got no usable answer;
   * relayFailovers: attempts retried through another server; relaysStarted/Delivered/Undelivered: relays
   * this node started and how they ended.
   */
  readonly counts = {
    floodJoins: 0, relaysSent: 0, relaysServed: 0, relaysForwarded: 0, relaysFailed: 0, relaysDropped: 0,
    relayFailovers: 0, relaysStarted: 0, relaysDelivered: 0, relaysUndelivered: 0, relaysDeduplicated: 0,
  }

  constructor(private readonly o: PoolControllerOptions) {
    this.datacenter = o.datacenter
    this.hopMs = o.hopMs ?? DEFAULT_HOP_MS
    this.attemptsMax = o.relayAttemptsMax ?? DEFAULT_RELAY_ATTEMPTS
    if (!(Number.isInteger(this.attemptsMax) && this.attemptsMax >= 1 && this.attemptsMax <= 16)) throw new RelayError(`relayAttemptsMax: expected an integer from 1 to 16, like 3, got ${String(o.relayAttemptsMax)}`)
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
    this.counts.relaysStarted++
    // The origin's own request is never a retry, so the time it is run at does not matter.
    this.route(full, 0, (r) => {
      if (r.ok) this.counts.relaysDelivered++
      else this.counts.relaysUndelivered++
      this.o.onEvent?.({ type: 'relayDone', kind: req.kind, datacenter: req.datacenter, ok: r.ok })
      done({ ...r, datacenter: req.datacenter })
    })
  }

  /** A user event seen in the LAN pool at nowMs (gossiped here, or fired here): remembered so a retried relay does not fire it again. */
  lanUserEvent(name: string, payload: Uint8Array, lTime: number, nowMs: number): void {
    this.fired.record(name, payload, lTime, nowMs)
  }

  /** A query reached this node in `pool` at nowMs; true when it was a relay (answered here), false when it is the application's. */
  handleQuery(pool: 'lan' | 'wan', q: IncomingQuery, nowMs: number): boolean {
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
    this.route({ ...req, hops: req.hops + 1 }, nowMs, answer)
    return true
  }

  private failure(error: string): RelayResponse {
    return { ok: false, servedBy: this.o.lan.name, lTime: 0, ackCount: 0, acks: [], responses: [], omitted: 0, error }
  }

  /** Runs the request here, or sends it one hop on (with failover); `done` once. */
  private route(req: RelayRequest, nowMs: number, done: (r: RelayResponse) => void): void {
    if (req.datacenter === this.datacenter) return this.runHere(req, nowMs, done)
    let pool: PoolAccess
    let servers: string[]
    let timeoutMs: number
    const remoteHopMs = req.timeoutMs + this.hopMs
    if (this.o.wan !== undefined) {
      pool = this.o.wan
      servers = (this.datacenters().get(req.datacenter) ?? []).map((s) => s.name)
      timeoutMs = remoteHopMs
      if (servers.length === 0) return done(this.failure(`no server of datacenter ${req.datacenter} is known in the WAN pool; known: ${[...this.datacenters().keys()].join(', ') || 'none'}`))
    } else {
      pool = this.o.lan
      servers = this.localServers().map((m) => m.name)
      // The local server may try attemptsMax remote servers in turn before it answers.
      timeoutMs = this.attemptsMax * remoteHopMs + this.hopMs
      if (servers.length === 0) return done(this.failure(`no server of datacenter ${this.datacenter} is known in the LAN pool to relay to ${req.datacenter}`))
    }
    const tried = servers.slice(0, this.attemptsMax)
    const reasons: string[] = []
    const attempt = (i: number): void => {
      const target = tried[i]
      const failed = (reason: string, retry: boolean): void => {
        this.counts.relaysFailed++
        reasons.push(`${target} ${reason}`)
        const next = tried[i + 1]
        if (retry && next !== undefined) {
          this.counts.relayFailovers++
          this.o.onEvent?.({ type: 'relayFailover', kind: req.kind, datacenter: req.datacenter, failed: target, next, reason })
          return attempt(i + 1)
        }
        const where = pool === this.o.wan ? `datacenter ${req.datacenter}` : `datacenter ${this.datacenter} (to relay to ${req.datacenter})`
        const head = retry ? `no server of ${where} answered (${tried.length} of ${servers.length} tried)` : `relay to ${req.datacenter} not retried`
        done(this.failure(`${head}: ${reasons.join('; ')}`))
      }
      let finished = false
      const answered = (payload: Uint8Array): void => {
        if (finished) return
        finished = true
        const d = decodeRelayResponse(payload)
        if (!d.ok) return failed(`answered: ${d.reason}`, true)
        done(d.value)
      }
      this.counts.relaysSent++
      try {
        pool.query(RELAY_QUERY, encodeRelayRequest(i > 0 ? { ...req, retry: true } : req), { nodes: [target], timeoutMs, onResponse: (from, p) => from === target && answered(p) }, (r) => {
          if (finished) return
          const reply = r.responses.find((x) => x.from === target)
          if (reply !== undefined) return answered(reply.payload)
          finished = true
          const acked = r.acks.includes(target)
          if (acked && req.kind === 'event') return failed(`acked but did not answer within ${timeoutMs} ms: the event may have fired there, so it is not sent again through another server`, false)
          failed(`${acked ? 'acked but did not answer' : 'did not answer'} within ${timeoutMs} ms`, true)
        })
      } catch (e) {
        finished = true
        failed(`could not be asked: ${(e as Error).message}`, true)
      }
    }
    attempt(0)
  }

  private runHere(req: RelayRequest, nowMs: number, done: (r: RelayResponse) => void): void {
    const lan = this.o.lan
    try {
      if (req.kind === 'event') {
        const earlier = req.retry === true ? this.fired.firedRecently(req.name, req.payload, nowMs) : undefined
        if (earlier !== undefined) {
          this.counts.relaysDeduplicated++
          return done({ ok: true, servedBy: lan.name, lTime: earlier, ackCount: 0, acks: [], responses: [], omitted: 0, error: '' })
        }
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
