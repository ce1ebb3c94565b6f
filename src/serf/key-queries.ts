/**
 * Serf's key-management queries (serf/internal_query.go, serf/keymanager.go in Serf 0.9.4), so that
 * `serf keys -install/-use/-remove/-list` run on a Serf agent also change, and count, Grapevine nodes:
 *
 *   query    [4]{Addr, Filters, Flags, ID, LTime, Name: "_serf_install-key" | "_serf_use-key" |
 *               "_serf_remove-key" | "_serf_list-keys", Payload: [7]{Key: bytes}, Port, RelayFactor,
 *               SourceNode, Timeout}
 *   response [5]{Flags: 0, From, ID, LTime, Payload: [8]{Keys: [base64], Message, PrimaryKey, Result}}
 *            sent by UDP as a memberlist user message to the query's Addr:Port
 *
 * Other queries (user queries, `_serf_ping`, `_serf_conflict`) are not answered yet. A query is
 * answered once, however many copies of it gossip brings (by ID and LTime, in a bounded window). Pure.
 */
import { DecodeError, decodeFail, decodeOk, toDecodeError } from '../wire/decode-error.js'
import type { DecodeResult } from '../wire/decode-error.js'
import { KeyTable, MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { KeyringError, formatKey } from '../wire/keyring.js'
import type { Keyring } from '../wire/keyring.js'
import { SERF_NAME_MAX_BYTES, SERF_QUERY } from './messages.js'

export const SERF_QUERY_RESPONSE = 5
export const SERF_KEY_REQUEST = 7
export const SERF_KEY_RESPONSE = 8
/** Serf's QuerySizeLimit: a query's payload is never larger. */
export const SERF_QUERY_MAX_BYTES = 1024
/** Answered queries remembered for deduplication. */
export const SERF_ANSWERED_MAX = 256

export interface SerfQuery {
  readonly lTime: number
  readonly id: number
  readonly name: string
  readonly payload: Uint8Array
  /** Where the response goes: the asker's memberlist address. */
  readonly addr: Uint8Array
  readonly port: number
  readonly sourceNode: string
}

const QUERY_KEYS = new KeyTable(['Addr', 'Filters', 'Flags', 'ID', 'LTime', 'Name', 'Payload', 'Port', 'RelayFactor', 'SourceNode', 'Timeout'])
const KEY_REQUEST_KEYS = new KeyTable(['Key'])
const reader = new MsgpackReader(8)
const LTIME_MAX = Number.MAX_SAFE_INTEGER - 1

/** Decodes a Serf query message `[4][msgpack]`; never throws. */
export function decodeSerfQuery(bytes: Uint8Array): DecodeResult<SerfQuery> {
  if (bytes.length === 0 || bytes[0] !== SERF_QUERY) return decodeFail(new DecodeError('not-supported', 'not a serf query', 0))
  const r = reader.reset(bytes, 1)
  try {
    let lTime = 0
    let id = 0
    let name = ''
    let payload: Uint8Array = new Uint8Array(0)
    let addr: Uint8Array = new Uint8Array(0)
    let port = 0
    let sourceNode = ''
    const n = r.mapHeader('query')
    for (let i = 0; i < n; i++) {
      const k = r.key(QUERY_KEYS, i)
      if (k === 0) addr = r.bytes(16, 'Addr')
      else if (k === 3) id = r.uint(0xffffffff, 'ID')
      else if (k === 4) lTime = r.uint(LTIME_MAX, 'LTime')
      else if (k === 5) name = r.str(SERF_NAME_MAX_BYTES, 'Name')
      else if (k === 6) payload = r.bytes(SERF_QUERY_MAX_BYTES, 'Payload')
      else if (k === 7) port = r.uint(0xffff, 'Port')
      else if (k === 9) sourceNode = r.str(SERF_NAME_MAX_BYTES, 'SourceNode')
      else r.skip()
    }
    if (r.pos !== r.end) return decodeFail(new DecodeError('trailing-bytes', `${r.end - r.pos} bytes after the query`, r.pos))
    if (addr.length !== 4 && addr.length !== 16) return decodeFail(new DecodeError('bad-field', `query Addr of ${addr.length} bytes`, 1))
    return decodeOk({ lTime, id, name, payload, addr, port, sourceNode })
  } catch (e) {
    return decodeFail(toDecodeError(e))
  } finally {
    reader.reset(new Uint8Array(0), 0)
  }
}

/** The key of a key request payload `[7]{Key}`; never throws. */
export function decodeKeyRequest(payload: Uint8Array): DecodeResult<Uint8Array> {
  if (payload.length === 0 || payload[0] !== SERF_KEY_REQUEST) return decodeFail(new DecodeError('bad-field', 'not a key request', 0))
  const r = reader.reset(payload, 1)
  try {
    let key: Uint8Array = new Uint8Array(0)
    const n = r.mapHeader('key request')
    for (let i = 0; i < n; i++) {
      if (r.key(KEY_REQUEST_KEYS, i) === 0) key = r.bytes(64, 'Key')
      else r.skip()
    }
    return decodeOk(key)
  } catch (e) {
    return decodeFail(toDecodeError(e))
  } finally {
    reader.reset(new Uint8Array(0), 0)
  }
}

/** One node's answer to a key query (Serf's nodeKeyResponse). */
export interface KeyResponse {
  readonly result: boolean
  readonly message: string
  /** list-keys only: every installed key in base64, and the primary. */
  readonly keys?: readonly string[]
  readonly primaryKey?: string
}

/** `[5]{Flags, From, ID, LTime, Payload: [8]{Keys, Message, PrimaryKey, Result}}`, as Serf writes it. */
export function encodeKeyQueryResponse(q: SerfQuery, from: string, resp: KeyResponse): Uint8Array {
  const inner = new MsgpackWriter(256)
  inner.u8(SERF_KEY_RESPONSE)
  inner.mapHeader(4)
  inner.str('Keys')
  if (resp.keys === undefined) inner.nil()
  else {
    inner.arrayHeader(resp.keys.length)
    for (const k of resp.keys) inner.str(k)
  }
  inner.str('Message')
  inner.str(resp.message)
  inner.str('PrimaryKey')
  inner.str(resp.primaryKey ?? '')
  inner.str('Result')
  inner.bool(resp.result)
  const w = new MsgpackWriter(512)
  w.u8(SERF_QUERY_RESPONSE)
  w.mapHeader(5)
  w.str('Flags')
  w.uint(0)
  w.str('From')
  w.str(from)
  w.str('ID')
  w.uint(q.id)
  w.str('LTime')
  w.uint(q.lTime)
  w.str('Payload')
  w.bytes(inner.finish())
  return w.finish()
}

export type KeyOperation = 'install' | 'use' | 'remove' | 'list'

const OPERATIONS: Readonly<Record<string, KeyOperation>> = {
  '_serf_install-key': 'install',
  '_serf_use-key': 'use',
  '_serf_remove-key': 'remove',
  '_serf_list-keys': 'list',
}

/** What answering needs from the node: its keyring, changed and read as Serf's handlers do. */
export interface KeyringControl {
  /** Applies install/use/remove; returns an error message, or undefined on success. */
  apply(op: Exclude<KeyOperation, 'list'>, key: Uint8Array): string | undefined
  /** Installed keys in base64 and the primary; undefined when encryption is not enabled. */
  list(): { keys: string[]; primary: string } | undefined
}

/** Answers Serf's key queries, once each. */
export class KeyQueryResponder {
  private readonly answered = new Set<string>()

  constructor(private readonly name: string, private readonly keyring: KeyringControl) {}

  /**
   * A query message (`[4]…`): the response to send and where, or undefined when it is not a key
   * query, was answered already, or cannot be decoded (`error` then says why).
   */
  handle(bytes: Uint8Array): { to: { addr: Uint8Array; port: number }; response: Uint8Array; op: KeyOperation } | { error: DecodeError } | undefined {
    const decoded = decodeSerfQuery(bytes)
    if (!decoded.ok) return { error: decoded.error }
    const q = decoded.value
    const op = OPERATIONS[q.name]
    if (op === undefined) return undefined
    const id = `${q.id}/${q.lTime}`
    if (this.answered.has(id)) return undefined
    if (this.answered.size >= SERF_ANSWERED_MAX) this.answered.delete(this.answered.values().next().value as string)
    this.answered.add(id)
    return { to: { addr: q.addr, port: q.port }, response: encodeKeyQueryResponse(q, this.name, this.answer(op, q)), op }
  }

  private answer(op: KeyOperation, q: SerfQuery): KeyResponse {
    const listed = this.keyring.list()
    if (op === 'list') {
      if (listed === undefined) return { result: false, message: 'Keyring is empty (encryption not enabled)' }
      return { result: true, message: '', keys: listed.keys, primaryKey: listed.primary }
    }
    const key = decodeKeyRequest(q.payload)
    if (!key.ok) return { result: false, message: `Failed to decode key request: ${key.error.message}` }
    if (listed === undefined) return { result: false, message: 'No keyring to modify (encryption not enabled)' }
    const error = this.keyring.apply(op, key.value)
    return error === undefined ? { result: true, message: '' } : { result: false, message: error }
  }
}

/** The keyring as Serf's key queries change and read it; `changed` tells the owner (the agent saves its file). */
export function keyringControl(keyring: Keyring, changed: () => void): KeyringControl {
  return {
    apply(op, key) {
      try {
        if (op === 'install') keyring.install(key)
        else if (op === 'use') keyring.use(key)
        else keyring.remove(key)
      } catch (e) {
        if (e instanceof KeyringError) return e.message
        throw e
      }
      changed()
      return undefined
    },
    list: () => (keyring.enabled ? { keys: keyring.keys.map(formatKey), primary: formatKey(keyring.primary as Uint8Array) } : undefined),
  }
}
