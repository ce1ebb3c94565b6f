/**
 * The relay messages: a user event or a query addressed to another datacenter travels as a Serf query
 * named RELAY_QUERY with a node filter naming one server, and comes back as that server's response.
 *
 *   client ──LAN query _gv_relay (nodes: [local server])──▶ local server
 *   local server ──WAN query _gv_relay (nodes: [srv.dc2])──▶ server of dc2 ──▶ fires the event / runs the
 *   query in dc2's LAN pool ──response (lTime, or acks and responses)──▶ back along the same path
 *
 * Encoding (msgpack, version 1):
 *   request  [1, kind 0 event | 1 query, datacenter, name, payload, coalesce, timeoutMs, hops, (retry)]
 *            retry (a 9th field, written only when true): the request went out before through another
 *            server that did not answer, so an event may have fired already (fired-events.ts)
 *   response [1, ok, servedBy, lTime, ackCount, [ack names…], [[from, payload], …], omitted, error]
 *
 * Bounds: a relayed request rides inside a Serf query (at most 1024 bytes encoded), so a relayed query's
 * name and payload are limited to RELAY_QUERY_BYTES_MAX; a relayed query's responses ride back in one
 * Serf query response (also 1024 bytes), so the answering server packs as many as fit into
 * RELAY_RESPONSE_BYTES_MAX and counts the rest in `omitted`; when even the names of the members that
 * acked do not fit, the list is cut too (`ackCount` stays exact).
 * Decoding never throws: bad bytes give a reason.
 */
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { toDecodeError } from '../wire/decode-error.js'

export const RELAY_QUERY = '_gv_relay'
const VERSION = 1
/** Name plus payload of a relayed query or event (an event alone: Serf's 512-byte limit applies too). */
export const RELAY_QUERY_BYTES_MAX = 700
/** Room for a relay response inside a Serf query response (1024 bytes with the response's own fields). */
export const RELAY_RESPONSE_BYTES_MAX = 860
/** A request is forwarded at most this many times (client → local server → remote server). */
export const RELAY_HOPS_MAX = 2

export interface RelayRequest {
  readonly kind: 'event' | 'query'
  readonly datacenter: string
  readonly name: string
  readonly payload: Uint8Array
  /** Events: Serf's coalesce flag. */
  readonly coalesce: boolean
  /** Queries: how long the target datacenter collects responses. */
  readonly timeoutMs: number
  /** Forwards so far (0 from the origin). */
  readonly hops: number
  /** Sent before through a server that did not answer (failover): the event may have fired already. */
  readonly retry?: boolean
}

export interface RelayResponse {
  readonly ok: boolean
  /** The server that fired the event or ran the query (its LAN name). */
  readonly servedBy: string
  /** Events: the event's Lamport time in the target datacenter. Queries: the query's. */
  readonly lTime: number
  /** Members of the target datacenter that acked the query (exact), and their names as far as they fit. */
  readonly ackCount: number
  readonly acks: readonly string[]
  readonly responses: ReadonlyArray<{ readonly from: string; readonly payload: Uint8Array }>
  /** Responses that did not fit into the relay response. */
  readonly omitted: number
  /** Why it failed, when not ok. */
  readonly error: string
}

const writer = new MsgpackWriter(1024)
const reader = new MsgpackReader(4)

export function encodeRelayRequest(r: RelayRequest): Uint8Array {
  const w = writer.reset()
  w.arrayHeader(r.retry === true ? 9 : 8)
  w.uint(VERSION)
  w.uint(r.kind === 'event' ? 0 : 1)
  w.str(r.datacenter)
  w.str(r.name)
  w.bytes(r.payload)
  w.bool(r.coalesce)
  w.uint(Math.max(0, Math.round(r.timeoutMs)))
  w.uint(r.hops)
  if (r.retry === true) w.bool(true)
  return w.finish()
}

export function decodeRelayRequest(bytes: Uint8Array): { ok: true; value: RelayRequest } | { ok: false; reason: string } {
  try {
    const r = reader.reset(bytes, 0)
    const fields = r.arrayHeader('relay request')
    if (fields !== 8 && fields !== 9) return { ok: false, reason: 'relay request: expected 8 or 9 fields' }
    const version = r.uint(255, 'version')
    if (version !== VERSION) return { ok: false, reason: `relay request: version ${version}, this node reads ${VERSION}` }
    const kind = r.uint(1, 'kind') === 0 ? 'event' : 'query'
    const datacenter = r.str(64, 'datacenter')
    const name = r.str(RELAY_QUERY_BYTES_MAX, 'name')
    const payload = r.bytes(RELAY_QUERY_BYTES_MAX, 'payload')
    const coalesce = r.bool('coalesce')
    const timeoutMs = r.uint(300_000, 'timeoutMs')
    const hops = r.uint(RELAY_HOPS_MAX, 'hops')
    const retry = fields === 9 ? r.bool('retry') : false
    if (r.pos !== bytes.length) return { ok: false, reason: 'relay request: trailing bytes' }
    return { ok: true, value: retry ? { kind, datacenter, name, payload, coalesce, timeoutMs, hops, retry } : { kind, datacenter, name, payload, coalesce, timeoutMs, hops } }
  } catch (e) {
    return { ok: false, reason: `relay request: ${toDecodeError(e).message}` }
  }
}

/** Encodes a response, keeping as many responses as fit into RELAY_RESPONSE_BYTES_MAX (the rest counted in `omitted`). */
export function encodeRelayResponse(r: RelayResponse): Uint8Array {
  let kept = r.responses.length
  let keptAcks = r.acks.length
  for (;;) {
    const w = writer.reset()
    w.arrayHeader(9)
    w.uint(VERSION)
    w.bool(r.ok)
    w.str(r.servedBy)
    w.uint(r.lTime)
    w.uint(r.ackCount)
    w.arrayHeader(keptAcks)
    for (const a of r.acks.slice(0, keptAcks)) w.str(a)
    w.arrayHeader(kept)
    for (const x of r.responses.slice(0, kept)) {
      w.arrayHeader(2)
      w.str(x.from)
      w.bytes(x.payload)
    }
    w.uint(r.omitted + r.responses.length - kept)
    w.str(r.error.slice(0, 200))
    if (w.pos <= RELAY_RESPONSE_BYTES_MAX || (kept === 0 && keptAcks === 0)) return w.finish()
    if (kept > 0) kept--
    else keptAcks--
  }
}

export function decodeRelayResponse(bytes: Uint8Array): { ok: true; value: RelayResponse } | { ok: false; reason: string } {
  try {
    const r = reader.reset(bytes, 0)
    if (r.arrayHeader('relay response') !== 9) return { ok: false, reason: 'relay response: expected 9 fields' }
    const version = r.uint(255, 'version')
    if (version !== VERSION) return { ok: false, reason: `relay response: version ${version}, this node reads ${VERSION}` }
    const ok = r.bool('ok')
    const servedBy = r.str(255, 'servedBy')
    const lTime = r.uint(Number.MAX_SAFE_INTEGER, 'lTime')
    const ackCount = r.uint(0xffffffff, 'ackCount')
    const acks: string[] = []
    for (let i = r.arrayHeader('acks'), j = 0; j < i; j++) acks.push(r.str(255, 'acks[]'))
    const responses: Array<{ from: string; payload: Uint8Array }> = []
    for (let i = r.arrayHeader('responses'), j = 0; j < i; j++) {
      if (r.arrayHeader('response') !== 2) return { ok: false, reason: 'relay response: a response is [from, payload]' }
      responses.push({ from: r.str(255, 'from'), payload: r.bytes(RELAY_RESPONSE_BYTES_MAX, 'payload') })
    }
    const omitted = r.uint(0xffffffff, 'omitted')
    const error = r.str(200, 'error')
    if (r.pos !== bytes.length) return { ok: false, reason: 'relay response: trailing bytes' }
    return { ok: true, value: { ok, servedBy, lTime, ackCount, acks, responses, omitted, error } }
  } catch (e) {
    return { ok: false, reason: `relay response: ${toDecodeError(e).message}` }
  }
}
