/**
 * Serf queries as a member that is asked (serf/query.go, serf/serf.go handleQuery): dedupe by Lamport
 * time and id in a ring of SERF_QUERY_BUFFER slots, filters, the ack, and responses.
 *
 * ```
 *   query (gossip) ──▶ witness queryClock ──▶ too old / seen? drop
 *                      ──▶ re-gossip unless NO_BROADCAST
 *                      ──▶ filters match us? ── no ─▶ stop
 *                      ──▶ ACK flag? send {Flags: 1, From, ID, LTime} to the querier
 *                      ──▶ internal (`_serf_…`)? handled here : delivered (the app may respond once)
 * ```
 *
 * Internal queries: `_serf_ping` (what `serf reachability` sends) needs only the ack. Key management
 * (`_serf_install-key`, …) is handed back as `internal` and answered by the runtime from its keyring
 * (key-queries.ts, respondInternal); name-conflict votes (`_serf_conflict`) are answered by the layer
 * from the membership (conflict-query.ts). Responses go to the querier by memberlist user message, to the member named SourceNode (Serf sends to the query's Addr:Port, which is that member's address);
 * Serf's response relays (RelayFactor) are not used: the direct path is the only one.
 *
 * Tag filters are regular expressions written for Go's RE2; JavaScript's engine reads the common
 * subset alike. An expression JavaScript cannot compile, or one longer than TAG_FILTER_MAX_CHARS,
 * matches nothing (Serf would also answer nothing to an expression it cannot compile).
 */
import { MsgpackReader, KeyTable } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { DecodeError } from '../wire/decode-error.js'
import type { SerfQuery } from './messages.js'
import { QUERY_FLAG_ACK, QUERY_RESPONSE_FLAG_ACK, SERF_NAME_MAX_BYTES, SERF_QUERY_SIZE_LIMIT, SERF_STATE_MEMBERS_MAX, encodeSerfMessage, readArrayHeader } from './messages.js'

/** Serf's QueryBuffer: queries remembered for dedupe, by LTime modulo this. */
export const SERF_QUERY_BUFFER = 512
/** Longest tag filter expression we evaluate. */
export const TAG_FILTER_MAX_CHARS = 256

const FILTER_NODES = 0
const FILTER_TAG = 1
const TAG_FILTER_KEYS = new KeyTable(['Expr', 'Tag'])
const reader = new MsgpackReader(8)

/** A query this node should answer: what the application sees. */
export interface ReceivedQuery {
  readonly name: string
  readonly payload: Uint8Array
  readonly lTime: number
  readonly id: number
  /** The member that asked. */
  readonly sourceNode: string
  /** How long the querier waits for responses, in ms. */
  readonly timeoutMs: number
}

/** Why a response cannot be sent. Nothing was sent. */
export class QueryResponseError extends Error {
  override readonly name = 'QueryResponseError'
}

export interface QueryOutcome {
  /** New: re-gossip the very bytes received. */
  readonly rebroadcast: boolean
  /** The ack to send to `to`, when the querier asked for acks and the filters matched us. */
  readonly ack?: { readonly to: string; readonly payload: Uint8Array }
  /** A query for the application (not an internal one), when the filters matched us. */
  readonly deliver?: ReceivedQuery
  /** An internal (`_serf_…`) query that matched us, for the layer to answer (key management). */
  readonly internal?: SerfQuery
}

export class QueryResponder {
  private readonly buffer: Array<{ lTime: number; ids: number[] } | null> = new Array(SERF_QUERY_BUFFER).fill(null)
  /** Queries delivered to the application and not yet answered: key `lTime/id`. */
  private readonly open = new Map<string, ReceivedQuery>()
  readonly counts = { queries: 0, duplicates: 0, acks: 0, responses: 0, filteredOut: 0 }

  constructor(
    private readonly self: string,
    private readonly tags: () => Readonly<Record<string, string>>,
  ) {}

  /** Serf's handleQuery for one received query; `now` is the query clock after witnessing it. */
  handle(q: SerfQuery, clockNow: number, minTime: number): QueryOutcome {
    if (q.lTime < minTime) return { rebroadcast: false }
    if (clockNow > SERF_QUERY_BUFFER && q.lTime < clockNow - SERF_QUERY_BUFFER) return { rebroadcast: false }
    const idx = q.lTime % SERF_QUERY_BUFFER
    let slot = this.buffer[idx]
    if (slot !== null && slot.lTime === q.lTime) {
      if (slot.ids.includes(q.id)) {
        this.counts.duplicates++
        return { rebroadcast: false }
      }
    } else {
      slot = { lTime: q.lTime, ids: [] }
      this.buffer[idx] = slot
    }
    slot.ids.push(q.id)
    this.counts.queries++
    const rebroadcast = (q.flags & 2) === 0
    if (!this.matches(q.filters)) {
      this.counts.filteredOut++
      return { rebroadcast }
    }
    const ack =
      (q.flags & QUERY_FLAG_ACK) !== 0
        ? { to: q.sourceNode, payload: encodeSerfMessage({ type: 'queryResponse', lTime: q.lTime, id: q.id, from: this.self, flags: QUERY_RESPONSE_FLAG_ACK, payload: new Uint8Array(0) }) }
        : undefined
    if (ack !== undefined) this.counts.acks++
    if (q.name.startsWith('_serf_')) return { rebroadcast, ack, internal: q }
    const deliver: ReceivedQuery = { name: q.name, payload: q.payload, lTime: q.lTime, id: q.id, sourceNode: q.sourceNode, timeoutMs: q.timeoutNs / 1e6 }
    this.open.set(`${q.lTime}/${q.id}`, deliver)
    if (this.open.size > SERF_QUERY_BUFFER) this.open.delete(this.open.keys().next().value as string)
    return { rebroadcast, ack, deliver }
  }

  /**
   * The response to a delivered query, to send to `to` (its source node). Once per query; throws
   * QueryResponseError when it was answered already or is unknown, or when the response is over Serf's
   * 1024-byte limit.
   */
  respond(query: Pick<ReceivedQuery, 'lTime' | 'id'>, payload: Uint8Array): { readonly to: string; readonly payload: Uint8Array } {
    const key = `${query.lTime}/${query.id}`
    const q = this.open.get(key)
    if (q === undefined) throw new QueryResponseError(`query ${key} is unknown or was answered already; each query takes one response`)
    const bytes = encodeSerfMessage({ type: 'queryResponse', lTime: q.lTime, id: q.id, from: this.self, flags: 0, payload })
    if (bytes.length > SERF_QUERY_SIZE_LIMIT) {
      throw new QueryResponseError(`response to ${JSON.stringify(q.name)} is ${bytes.length} bytes encoded; Serf's limit is ${SERF_QUERY_SIZE_LIMIT}`)
    }
    this.open.delete(key)
    this.counts.responses++
    return { to: q.sourceNode, payload: bytes }
  }

  /** The response to an internal query the layer answers itself (no size check: key responses are small). */
  respondInternal(q: SerfQuery, payload: Uint8Array): { readonly to: string; readonly payload: Uint8Array } {
    this.counts.responses++
    return { to: q.sourceNode, payload: encodeSerfMessage({ type: 'queryResponse', lTime: q.lTime, id: q.id, from: this.self, flags: 0, payload }) }
  }

  /** Every filter must match (Serf's shouldProcessQuery); an undecodable filter matches nothing. */
  private matches(filters: readonly Uint8Array[]): boolean {
    for (const f of filters) if (!this.matchesOne(f)) return false
    return true
  }

  private matchesOne(f: Uint8Array): boolean {
    if (f.length === 0) return false
    const r = reader.reset(f, 1)
    try {
      if (f[0] === FILTER_NODES) {
        const n = readArrayHeader(r, 'node filter', SERF_STATE_MEMBERS_MAX)
        let found = false
        for (let i = 0; i < n; i++) if (r.str(SERF_NAME_MAX_BYTES, 'node') === this.self) found = true
        return found
      }
      if (f[0] === FILTER_TAG) {
        let expr = ''
        let tag = ''
        const n = r.mapHeader('tag filter')
        for (let i = 0; i < n; i++) {
          const k = r.key(TAG_FILTER_KEYS, i)
          if (k === 0) expr = r.str(TAG_FILTER_MAX_CHARS * 4, 'Expr')
          else if (k === 1) tag = r.str(SERF_NAME_MAX_BYTES, 'Tag')
          else r.skip()
        }
        const value = this.tags()[tag]
        if (value === undefined || expr.length > TAG_FILTER_MAX_CHARS) return false
        return compile(expr)?.test(value) ?? false
      }
      return false
    } catch (e) {
      // Malformed filter: matches nothing. Anything but a decode error is a bug here.
      if (!(e instanceof DecodeError)) throw e
      return false
    } finally {
      reader.reset(new Uint8Array(0), 0)
    }
  }
}

function compile(expr: string): RegExp | undefined {
  try {
    return new RegExp(expr, 'u')
  } catch {
    return undefined
  }
}

const filterWriter = new MsgpackWriter(64)

/** Serf's query filters: `[0][names]` for a node list, `[1]{Expr, Tag}` per tag expression. */
export function encodeQueryFilters(nodes: readonly string[] | undefined, tags: Readonly<Record<string, string>> | undefined): Uint8Array[] {
  const out: Uint8Array[] = []
  if (nodes !== undefined && nodes.length > 0) {
    const w = filterWriter.reset()
    w.u8(FILTER_NODES)
    w.arrayHeader(nodes.length)
    for (const n of nodes) w.str(n)
    out.push(w.finish().slice())
  }
  for (const [tag, expr] of Object.entries(tags ?? {})) {
    const w = filterWriter.reset()
    w.u8(FILTER_TAG)
    w.mapHeader(2)
    w.str('Expr')
    w.str(expr)
    w.str('Tag')
    w.str(tag)
    out.push(w.finish().slice())
  }
  return out
}
