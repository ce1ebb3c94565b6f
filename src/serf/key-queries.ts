/**
 * Serf's key-management queries (serf/internal_query.go, serf/keymanager.go in Serf 0.9.4), so that
 * `serf keys -install/-use/-remove/-list` run on a Serf agent also change, and count, Grapevine nodes.
 * queries.ts receives the query (dedupe, filters, ack, re-gossip) and hands internal ones back; this
 * module applies a key query to the keyring and writes the answer that goes into the query response:
 *
 *   query payload   [7]{Key: bytes}                                   (install, use, remove)
 *   response payload [8]{Keys: [base64], Message, PrimaryKey, Result}  (Serf's nodeKeyResponse)
 *
 * Pure: the keyring is an in-memory object; the owner is told of changes (the agent saves its file).
 */
import { DecodeError, decodeFail, decodeOk, toDecodeError } from '../wire/decode-error.js'
import type { DecodeResult } from '../wire/decode-error.js'
import { KeyringError, formatKey } from '../wire/keyring.js'
import type { Keyring } from '../wire/keyring.js'
import { KeyTable, MsgpackReader } from '../wire/msgpack-reader.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'

export const SERF_KEY_REQUEST = 7
export const SERF_KEY_RESPONSE = 8

const KEY_REQUEST_KEYS = new KeyTable(['Key'])
const reader = new MsgpackReader(8)

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

/** `[8]{Keys, Message, PrimaryKey, Result}`, as Serf writes it. */
export function encodeKeyResponse(resp: KeyResponse): Uint8Array {
  const w = new MsgpackWriter(256)
  w.u8(SERF_KEY_RESPONSE)
  w.mapHeader(4)
  w.str('Keys')
  if (resp.keys === undefined) w.nil()
  else {
    w.arrayHeader(resp.keys.length)
    for (const k of resp.keys) w.str(k)
  }
  w.str('Message')
  w.str(resp.message)
  w.str('PrimaryKey')
  w.str(resp.primaryKey ?? '')
  w.str('Result')
  w.bool(resp.result)
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

/**
 * Answers one internal query: the response payload for a key query (applied to the keyring first,
 * as Serf does), undefined for any other internal query.
 */
export function answerKeyQuery(name: string, payload: Uint8Array, keyring: KeyringControl): Uint8Array | undefined {
  const op = OPERATIONS[name]
  if (op === undefined) return undefined
  return encodeKeyResponse(keyResponse(op, payload, keyring))
}

function keyResponse(op: KeyOperation, payload: Uint8Array, keyring: KeyringControl): KeyResponse {
  const listed = keyring.list()
  if (op === 'list') {
    if (listed === undefined) return { result: false, message: 'Keyring is empty (encryption not enabled)' }
    return { result: true, message: '', keys: listed.keys, primaryKey: listed.primary }
  }
  const key = decodeKeyRequest(payload)
  if (!key.ok) return { result: false, message: `Failed to decode key request: ${key.error.message}` }
  if (listed === undefined) return { result: false, message: 'No keyring to modify (encryption not enabled)' }
  const error = keyring.apply(op, key.value)
  return error === undefined ? { result: true, message: '' } : { result: false, message: error }
}
