/**
 * Serf's messages inside memberlist (serf/messages.go, spec B.2): `[serf type byte][msgpack struct]`.
 * They travel as memberlist user messages (`[8]` + these bytes) in gossip, and as the push-pull user
 * state (type 2). Field names and Go types, in the sorted order go-msgpack writes them:
 *
 * | # | name     | fields                                                                        |
 * |---|----------|-------------------------------------------------------------------------------|
 * | 0 | leave    | LTime uint64, Node string, Prune bool                                         |
 * | 1 | join     | LTime uint64, Node string                                                     |
 * | 2 | pushPull | EventLTime uint64, Events []*userEvents (nil entries), LTime uint64,          |
 * |   |          | LeftMembers []string, QueryLTime uint64, StatusLTimes map[string]uint64       |
 * | 3 | user     | CC bool, LTime uint64, Name string, Payload []byte                            |
 * | 4 | query    | Addr []byte, Filters [][]byte, Flags uint32, ID uint32, LTime uint64, Name string, |
 * |   |          | Payload []byte, Port uint16, RelayFactor uint8, SourceNode string, Timeout int64 ns |
 * | 5 | response | Flags uint32 (1: an ack), From string, ID uint32, LTime uint64, Payload []byte |
 *
 * `userEvents{Events []userEvent, LTime uint64}`, `userEvent{Name string, Payload []byte}`. Query
 * filters are `[type][msgpack]`: 0 a node list ([]string), 1 `filterTag{Expr, Tag}` (a regular
 * expression over one tag). Other types (9 relay, …) decode as `other`: an unknown type is not an
 * error (Serf logs and drops it too).
 *
 * Encoding uses the project's MsgpackWriter, so the bytes are what Go writes (strings and []byte as
 * the str family, integers in their smallest form). Go writes map[string]uint64 in random order; we
 * write StatusLTimes sorted, which any reader accepts. Decoding is bounded by the limits below and the
 * bytes present, and never throws: it returns a DecodeResult with a typed DecodeError.
 */
import { DecodeError, decodeFail, decodeOk, toDecodeError } from '../wire/decode-error.js'
import type { DecodeResult } from '../wire/decode-error.js'
import { KeyTable, MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'

export const SERF_LEAVE = 0
export const SERF_JOIN = 1
export const SERF_PUSH_PULL = 2
export const SERF_USER_EVENT = 3
export const SERF_QUERY = 4
export const SERF_QUERY_RESPONSE = 5

/** Query flags (serf/query.go): the querier wants acks; do not re-gossip the query. */
export const QUERY_FLAG_ACK = 1
export const QUERY_FLAG_NO_BROADCAST = 2
/** Response flag: this response is an ack. */
export const QUERY_RESPONSE_FLAG_ACK = 1
/** Serf's QuerySizeLimit and QueryResponseSizeLimit defaults: a query or a response, encoded. */
export const SERF_QUERY_SIZE_LIMIT = 1024
/** Filters a query may carry (node list and tag filters) that we read. */
export const SERF_QUERY_FILTERS_MAX = 64

/** Bounds on remote Serf messages. Node names: memberlist has none, Serf's agents use host names. */
export const SERF_NAME_MAX_BYTES = 1024
/** Serf's hard cap on a user event's name + payload (UserEventSizeLimit may not exceed 9 KiB). */
export const SERF_EVENT_MAX_BYTES = 9 * 1024
/** Entries of a push-pull Events array (Serf sends its EventBuffer, 512 slots) we accept. */
export const SERF_EVENT_SLOTS_MAX = 4096
/** Members listed in a push-pull state (StatusLTimes, LeftMembers) we accept. */
export const SERF_STATE_MEMBERS_MAX = 65536

export interface SerfLeave {
  readonly type: 'leave'
  readonly lTime: number
  readonly node: string
  readonly prune: boolean
}

export interface SerfJoin {
  readonly type: 'join'
  readonly lTime: number
  readonly node: string
}

export interface SerfUserEvent {
  readonly type: 'userEvent'
  readonly lTime: number
  readonly name: string
  readonly payload: Uint8Array
  /** May coalesce (CC). */
  readonly coalesce: boolean
}

export interface SerfEventSlot {
  readonly lTime: number
  readonly events: ReadonlyArray<{ readonly name: string; readonly payload: Uint8Array }>
}

export interface SerfPushPull {
  readonly type: 'pushPull'
  readonly lTime: number
  readonly statusLTimes: ReadonlyMap<string, number>
  readonly leftMembers: readonly string[]
  readonly eventLTime: number
  /** Serf's event buffer; null slots are empty. */
  readonly events: ReadonlyArray<SerfEventSlot | null>
  readonly queryLTime: number
}

export interface SerfQuery {
  readonly type: 'query'
  readonly lTime: number
  readonly id: number
  /** Where responses and acks go (the querier's memberlist address): IP bytes (4 or 16) and port. */
  readonly addr: Uint8Array
  readonly port: number
  /** Raw filters, `[filter type][msgpack]` each. */
  readonly filters: readonly Uint8Array[]
  readonly flags: number
  readonly relayFactor: number
  readonly sourceNode: string
  readonly name: string
  readonly payload: Uint8Array
  /** The querier's deadline, in nanoseconds (Go time.Duration). */
  readonly timeoutNs: number
}

export interface SerfQueryResponse {
  readonly type: 'queryResponse'
  readonly lTime: number
  readonly id: number
  readonly from: string
  readonly flags: number
  readonly payload: Uint8Array
}

/** A Serf message type Grapevine does not interpret (relays, key messages, …). */
export interface SerfOther {
  readonly type: 'other'
  readonly messageType: number
}

export type SerfMessage = SerfLeave | SerfJoin | SerfUserEvent | SerfPushPull | SerfQuery | SerfQueryResponse | SerfOther

// ------------------------------------------------------------------ encoding

const writer = new MsgpackWriter(256)

/** One field of a Serf struct, in go-msgpack's form: uint, string, bool, []byte (nil when empty, or as str), [][]byte. */
type Field =
  | readonly [string, 'uint', number]
  | readonly [string, 'str', string]
  | readonly [string, 'bool', boolean]
  | readonly [string, 'bytes' | 'bytesOrNil', Uint8Array]
  | readonly [string, 'bytesList', readonly Uint8Array[]]

/** `[type][map of fields]`, the fields already in sorted key order. */
function writeStruct(w: MsgpackWriter, type: number, fields: readonly Field[]): void {
  w.u8(type)
  w.mapHeader(fields.length)
  for (const f of fields) {
    w.str(f[0])
    switch (f[1]) {
      case 'uint':
        w.uint(f[2])
        break
      case 'str':
        w.str(f[2])
        break
      case 'bool':
        w.bool(f[2])
        break
      case 'bytes':
        w.bytes(f[2])
        break
      case 'bytesOrNil':
        if (f[2].length === 0) w.nil()
        else w.bytes(f[2])
        break
      case 'bytesList':
        if (f[2].length === 0) w.nil()
        else {
          w.arrayHeader(f[2].length)
          for (const b of f[2]) w.bytes(b)
        }
        break
    }
  }
}

export function encodeSerfMessage(msg: Exclude<SerfMessage, SerfOther>): Uint8Array {
  const w = writer.reset()
  switch (msg.type) {
    case 'leave':
      writeStruct(w, SERF_LEAVE, [['LTime', 'uint', msg.lTime], ['Node', 'str', msg.node], ['Prune', 'bool', msg.prune]])
      break
    case 'join':
      writeStruct(w, SERF_JOIN, [['LTime', 'uint', msg.lTime], ['Node', 'str', msg.node]])
      break
    case 'userEvent':
      writeStruct(w, SERF_USER_EVENT, [['CC', 'bool', msg.coalesce], ['LTime', 'uint', msg.lTime], ['Name', 'str', msg.name], ['Payload', 'bytes', msg.payload]])
      break
    case 'pushPull': {
      w.u8(SERF_PUSH_PULL)
      w.mapHeader(6)
      w.str('EventLTime')
      w.uint(msg.eventLTime)
      w.str('Events')
      w.arrayHeader(msg.events.length)
      for (const slot of msg.events) {
        if (slot === null) {
          w.nil()
          continue
        }
        w.mapHeader(2)
        w.str('Events')
        w.arrayHeader(slot.events.length)
        for (const e of slot.events) {
          w.mapHeader(2)
          w.str('Name')
          w.str(e.name)
          w.str('Payload')
          w.bytes(e.payload)
        }
        w.str('LTime')
        w.uint(slot.lTime)
      }
      w.str('LTime')
      w.uint(msg.lTime)
      w.str('LeftMembers')
      w.arrayHeader(msg.leftMembers.length)
      for (const name of msg.leftMembers) w.str(name)
      w.str('QueryLTime')
      w.uint(msg.queryLTime)
      w.str('StatusLTimes')
      const names = [...msg.statusLTimes.keys()].sort()
      w.mapHeader(names.length)
      for (const name of names) {
        w.str(name)
        w.uint(msg.statusLTimes.get(name)!)
      }
      break
    }
    case 'query':
      writeStruct(w, SERF_QUERY, [
        ['Addr', 'bytes', msg.addr],
        ['Filters', 'bytesList', msg.filters],
        ['Flags', 'uint', msg.flags],
        ['ID', 'uint', msg.id],
        ['LTime', 'uint', msg.lTime],
        ['Name', 'str', msg.name],
        ['Payload', 'bytes', msg.payload],
        ['Port', 'uint', msg.port],
        ['RelayFactor', 'uint', msg.relayFactor],
        ['SourceNode', 'str', msg.sourceNode],
        ['Timeout', 'uint', msg.timeoutNs],
      ])
      break
    case 'queryResponse':
      writeStruct(w, SERF_QUERY_RESPONSE, [
        ['Flags', 'uint', msg.flags],
        ['From', 'str', msg.from],
        ['ID', 'uint', msg.id],
        ['LTime', 'uint', msg.lTime],
        ['Payload', 'bytesOrNil', msg.payload],
      ])
      break
  }
  return w.finish()
}

// ------------------------------------------------------------------ decoding

const reader = new MsgpackReader(16)
const LTIME_MAX = Number.MAX_SAFE_INTEGER - 1

const LEAVE_KEYS = new KeyTable(['LTime', 'Node', 'Prune'])
const JOIN_KEYS = new KeyTable(['LTime', 'Node'])
const USER_KEYS = new KeyTable(['CC', 'LTime', 'Name', 'Payload'])
const PUSH_PULL_KEYS = new KeyTable(['EventLTime', 'Events', 'LTime', 'LeftMembers', 'QueryLTime', 'StatusLTimes'])
const SLOT_KEYS = new KeyTable(['Events', 'LTime'])
const EVENT_KEYS = new KeyTable(['Name', 'Payload'])
const QUERY_KEYS = new KeyTable(['Addr', 'Filters', 'Flags', 'ID', 'LTime', 'Name', 'Payload', 'Port', 'RelayFactor', 'SourceNode', 'Timeout'])
const RESPONSE_KEYS = new KeyTable(['Flags', 'From', 'ID', 'LTime', 'Payload'])
const U32_MAX = 0xffffffff

/** Decodes one Serf message (`[type][msgpack]`); never throws. */
export function decodeSerfMessage(bytes: Uint8Array): DecodeResult<SerfMessage> {
  if (bytes.length === 0) return decodeFail(new DecodeError('empty', 'empty serf message', 0))
  const type = bytes[0]
  if (type > SERF_QUERY_RESPONSE) {
    return decodeOk({ type: 'other', messageType: type })
  }
  const r = reader.reset(bytes, 1)
  try {
    let msg: SerfMessage
    if (type === SERF_LEAVE) msg = readLeave(r)
    else if (type === SERF_JOIN) msg = readJoin(r)
    else if (type === SERF_USER_EVENT) msg = readUserEvent(r)
    else if (type === SERF_QUERY) msg = readQuery(r)
    else if (type === SERF_QUERY_RESPONSE) msg = readQueryResponse(r)
    else msg = readPushPull(r)
    if (r.pos !== r.end) return decodeFail(new DecodeError('trailing-bytes', `${r.end - r.pos} bytes after the serf message`, r.pos))
    return decodeOk(msg)
  } catch (e) {
    return decodeFail(toDecodeError(e))
  } finally {
    reader.reset(new Uint8Array(0), 0)
  }
}

function readLeave(r: MsgpackReader): SerfLeave {
  let lTime = 0
  let node = ''
  let prune = false
  const n = r.mapHeader('leave')
  for (let i = 0; i < n; i++) {
    const k = r.key(LEAVE_KEYS, i)
    if (k === 0) lTime = r.uint(LTIME_MAX, 'LTime')
    else if (k === 1) node = r.str(SERF_NAME_MAX_BYTES, 'Node')
    else if (k === 2) prune = r.bool('Prune')
    else r.skip()
  }
  return { type: 'leave', lTime, node, prune }
}

function readJoin(r: MsgpackReader): SerfJoin {
  let lTime = 0
  let node = ''
  const n = r.mapHeader('join')
  for (let i = 0; i < n; i++) {
    const k = r.key(JOIN_KEYS, i)
    if (k === 0) lTime = r.uint(LTIME_MAX, 'LTime')
    else if (k === 1) node = r.str(SERF_NAME_MAX_BYTES, 'Node')
    else r.skip()
  }
  return { type: 'join', lTime, node }
}

function readUserEvent(r: MsgpackReader): SerfUserEvent {
  let lTime = 0
  let name = ''
  let payload: Uint8Array = new Uint8Array(0)
  let coalesce = false
  const n = r.mapHeader('user event')
  for (let i = 0; i < n; i++) {
    const k = r.key(USER_KEYS, i)
    if (k === 0) coalesce = r.bool('CC')
    else if (k === 1) lTime = r.uint(LTIME_MAX, 'LTime')
    else if (k === 2) name = r.str(SERF_EVENT_MAX_BYTES, 'Name')
    else if (k === 3) payload = r.bytes(SERF_EVENT_MAX_BYTES, 'Payload')
    else r.skip()
  }
  return { type: 'userEvent', lTime, name, payload, coalesce }
}

function readQuery(r: MsgpackReader): SerfQuery {
  let addr: Uint8Array = new Uint8Array(0)
  const filters: Uint8Array[] = []
  let flags = 0
  let id = 0
  let lTime = 0
  let name = ''
  let payload: Uint8Array = new Uint8Array(0)
  let port = 0
  let relayFactor = 0
  let sourceNode = ''
  let timeoutNs = 0
  const n = r.mapHeader('query')
  for (let i = 0; i < n; i++) {
    const k = r.key(QUERY_KEYS, i)
    if (k === 0) addr = r.bytes(16, 'Addr')
    else if (k === 1) {
      const count = readArrayHeader(r, 'Filters', SERF_QUERY_FILTERS_MAX)
      for (let j = 0; j < count; j++) filters.push(r.bytes(SERF_QUERY_SIZE_LIMIT, 'Filters[]'))
    } else if (k === 2) flags = r.uint(U32_MAX, 'Flags')
    else if (k === 3) id = r.uint(U32_MAX, 'ID')
    else if (k === 4) lTime = r.uint(LTIME_MAX, 'LTime')
    else if (k === 5) name = r.str(SERF_QUERY_SIZE_LIMIT, 'Name')
    else if (k === 6) payload = r.bytes(SERF_EVENT_MAX_BYTES, 'Payload')
    else if (k === 7) port = r.uint(0xffff, 'Port')
    else if (k === 8) relayFactor = r.uint(0xff, 'RelayFactor')
    else if (k === 9) sourceNode = r.str(SERF_NAME_MAX_BYTES, 'SourceNode')
    else if (k === 10) timeoutNs = r.uint(LTIME_MAX, 'Timeout')
    else r.skip()
  }
  return { type: 'query', addr, filters, flags, id, lTime, name, payload, port, relayFactor, sourceNode, timeoutNs }
}

function readQueryResponse(r: MsgpackReader): SerfQueryResponse {
  let flags = 0
  let from = ''
  let id = 0
  let lTime = 0
  let payload: Uint8Array = new Uint8Array(0)
  const n = r.mapHeader('query response')
  for (let i = 0; i < n; i++) {
    const k = r.key(RESPONSE_KEYS, i)
    if (k === 0) flags = r.uint(U32_MAX, 'Flags')
    else if (k === 1) from = r.str(SERF_NAME_MAX_BYTES, 'From')
    else if (k === 2) id = r.uint(U32_MAX, 'ID')
    else if (k === 3) lTime = r.uint(LTIME_MAX, 'LTime')
    else if (k === 4) payload = r.bytes(SERF_EVENT_MAX_BYTES, 'Payload')
    else r.skip()
  }
  return { type: 'queryResponse', flags, from, id, lTime, payload }
}

/** An array header; nil is an empty array (Go's nil slice). */
export function readArrayHeader(r: MsgpackReader, what: string, max: number): number {
  const at = r.pos
  if (r.pos >= r.end) r.fail('truncated', 'msgpack data ends early')
  const b = r.buf[r.pos++]
  let n: number
  if (b === 0xc0) return 0
  if (b >= 0x90 && b <= 0x9f) n = b & 0x0f
  else if (b === 0xdc || b === 0xdd) {
    const width = b === 0xdc ? 2 : 4
    if (r.end - r.pos < width) r.fail('truncated', 'msgpack data ends early')
    n = 0
    for (let i = 0; i < width; i++) n = n * 256 + r.buf[r.pos++]
  } else return r.fail('bad-field', `${what} is not an array (0x${b.toString(16)})`, at)
  if (n > max) r.fail('too-large', `${what} has more than ${max} entries`, at)
  if (n > r.end - r.pos) r.fail('truncated', `${what} announces ${n} entries, fewer bytes remain`, at)
  return n
}

/** A map header; nil is an empty map. */
function mapHeaderOrNil(r: MsgpackReader, what: string, max: number): number {
  if (r.pos < r.end && r.buf[r.pos] === 0xc0) {
    r.pos++
    return 0
  }
  const at = r.pos
  const n = r.mapHeader(what)
  if (n > max) r.fail('too-large', `${what} has more than ${max} entries`, at)
  if (n * 2 > r.end - r.pos) r.fail('truncated', `${what} announces ${n} entries, fewer bytes remain`, at)
  return n
}

function readSlot(r: MsgpackReader): SerfEventSlot | null {
  if (r.pos < r.end && r.buf[r.pos] === 0xc0) {
    r.pos++
    return null
  }
  let lTime = 0
  const events: Array<{ name: string; payload: Uint8Array }> = []
  const n = r.mapHeader('userEvents')
  for (let i = 0; i < n; i++) {
    const k = r.key(SLOT_KEYS, i)
    if (k === 0) {
      const count = readArrayHeader(r, 'userEvents.Events', SERF_EVENT_SLOTS_MAX)
      for (let j = 0; j < count; j++) {
        let name = ''
        let payload: Uint8Array = new Uint8Array(0)
        const m = mapHeaderOrNil(r, 'userEvent', 16)
        for (let f = 0; f < m; f++) {
          const ek = r.key(EVENT_KEYS, f)
          if (ek === 0) name = r.str(SERF_EVENT_MAX_BYTES, 'Name')
          else if (ek === 1) payload = r.bytes(SERF_EVENT_MAX_BYTES, 'Payload')
          else r.skip()
        }
        events.push({ name, payload })
      }
    } else if (k === 1) lTime = r.uint(LTIME_MAX, 'LTime')
    else r.skip()
  }
  return { lTime, events }
}

function readPushPull(r: MsgpackReader): SerfPushPull {
  let lTime = 0
  let eventLTime = 0
  let queryLTime = 0
  const statusLTimes = new Map<string, number>()
  const leftMembers: string[] = []
  const events: Array<SerfEventSlot | null> = []
  const n = r.mapHeader('push-pull state')
  for (let i = 0; i < n; i++) {
    const k = r.key(PUSH_PULL_KEYS, i)
    switch (k) {
      case 0:
        eventLTime = r.uint(LTIME_MAX, 'EventLTime')
        break
      case 1: {
        const count = readArrayHeader(r, 'Events', SERF_EVENT_SLOTS_MAX)
        for (let j = 0; j < count; j++) events.push(readSlot(r))
        break
      }
      case 2:
        lTime = r.uint(LTIME_MAX, 'LTime')
        break
      case 3: {
        const count = readArrayHeader(r, 'LeftMembers', SERF_STATE_MEMBERS_MAX)
        for (let j = 0; j < count; j++) leftMembers.push(r.str(SERF_NAME_MAX_BYTES, 'LeftMembers'))
        break
      }
      case 4:
        queryLTime = r.uint(LTIME_MAX, 'QueryLTime')
        break
      case 5: {
        const count = mapHeaderOrNil(r, 'StatusLTimes', SERF_STATE_MEMBERS_MAX)
        for (let j = 0; j < count; j++) {
          const name = r.str(SERF_NAME_MAX_BYTES, 'StatusLTimes key')
          statusLTimes.set(name, r.uint(LTIME_MAX, 'StatusLTimes value'))
        }
        break
      }
      default:
        r.skip()
    }
  }
  return { type: 'pushPull', lTime, statusLTimes, leftMembers, eventLTime, events, queryLTime }
}
