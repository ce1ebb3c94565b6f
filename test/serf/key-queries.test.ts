// Serf's key-management queries: a query as Serf 0.9.4 writes it (spec B.2's verified layout) goes
// through the Serf layer's query handling (dedupe, filters) to the keyring, and the response goes back
// to the querier in Serf's layout, once per query.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode } from '@msgpack/msgpack'
import { answerKeyQuery, decodeKeyRequest, keyringControl } from '../../src/serf/key-queries.js'
import { SerfLayer } from '../../src/serf/serf-layer.js'
import { MsgpackWriter } from '../../src/wire/msgpack-writer.js'
import { Keyring, formatKey } from '../../src/wire/keyring.js'

/** Spec B.2's verified query, with the name, payload and id given. */
function query(name: string, payload: Uint8Array, id: number, lTime = 5): Uint8Array {
  const w = new MsgpackWriter(256)
  w.u8(4)
  w.mapHeader(11)
  const kv: Array<[string, () => void]> = [
    ['Addr', () => w.bytes(Uint8Array.of(127, 0, 0, 1))],
    ['Filters', () => w.nil()],
    ['Flags', () => w.uint(0)],
    ['ID', () => w.uint(id)],
    ['LTime', () => w.uint(lTime)],
    ['Name', () => w.str(name)],
    ['Payload', () => w.bytes(payload)],
    ['Port', () => w.uint(0x1f36)],
    ['RelayFactor', () => w.uint(0)],
    ['SourceNode', () => w.str('serfQ')],
    ['Timeout', () => w.uint(2_000_000_000)],
  ]
  for (const [k, v] of kv) {
    w.str(k)
    v()
  }
  return w.finish()
}

function keyRequest(key: Uint8Array): Uint8Array {
  const w = new MsgpackWriter(64)
  w.u8(7)
  w.mapHeader(1)
  w.str('Key')
  w.bytes(key)
  return w.finish()
}

/** A response `[5]{…, Payload: [8]{…}}` decoded as Go would: strings as text, Payload as bytes. */
function response(bytes: Uint8Array): { outer: Record<string, unknown>; body: Record<string, unknown> } {
  assert.equal(bytes[0], 5)
  const raw = decode(bytes.subarray(1), { rawStrings: true }) as Record<string, unknown>
  const payload = raw.Payload as Uint8Array
  assert.equal(payload[0], 8)
  const outer = { ...raw, From: new TextDecoder().decode(raw.From as Uint8Array), Payload: payload }
  return { outer, body: decode(payload.subarray(1)) as Record<string, unknown> }
}

test('a key request decodes; anything else is a typed error', () => {
  const key = new Uint8Array(16).fill(9)
  const k = decodeKeyRequest(keyRequest(key))
  assert.ok(k.ok)
  assert.deepEqual([...k.value], [...key])
  assert.equal(decodeKeyRequest(Uint8Array.of(7, 0x81)).ok, false)
  assert.equal(decodeKeyRequest(Uint8Array.of(3)).ok, false)
})

test('key queries reach the keyring through the serf layer and are answered once, in serf\'s layout', () => {
  const k1 = new Uint8Array(32).fill(1)
  const k2 = new Uint8Array(16).fill(2)
  const ring = new Keyring([k1])
  let changes = 0
  const control = keyringControl(ring, () => changes++)
  const layer = new SerfLayer({ name: 'gv', retransmitMult: 4, clusterSize: () => 3, onKeyQuery: (name, payload) => answerKeyQuery(name, payload, control) })
  const sent: Array<{ to: string; bytes: Uint8Array }> = []
  const deliver = (bytes: Uint8Array): void => layer.notifyUserMessage(bytes, 'serfQ', 0, (to, p) => {
    sent.push({ to, bytes: p })
    return true
  })
  deliver(query('_serf_install-key', keyRequest(k2), 1))
  assert.equal(ring.keys.length, 2)
  assert.equal(changes, 1)
  assert.equal(sent.length, 1)
  assert.equal(sent[0].to, 'serfQ')
  const { outer, body } = response(sent[0].bytes)
  assert.deepEqual([outer.From, outer.ID, outer.LTime, outer.Flags], ['gv', 1, 5, 0])
  assert.deepEqual(body, { Keys: null, Message: '', PrimaryKey: '', Result: true })
  deliver(query('_serf_install-key', keyRequest(k2), 1))
  assert.equal(sent.length, 1, 'a second copy of the same query is not answered again')
  // Removing the primary fails with memberlist's reason; list reports every key and the primary.
  deliver(query('_serf_remove-key', keyRequest(k1), 2))
  const rm = response(sent[1].bytes).body as { Result: boolean; Message: string }
  assert.equal(rm.Result, false)
  assert.match(rm.Message, /primary/)
  deliver(query('_serf_list-keys', new Uint8Array(0), 3))
  const list = response(sent[2].bytes).body as { Keys: string[]; PrimaryKey: string }
  assert.deepEqual(list.Keys, [formatKey(k1), formatKey(k2)])
  assert.equal(list.PrimaryKey, formatKey(k1))
  deliver(query('_serf_conflict', new TextEncoder().encode('x'), 4))
  assert.equal(sent.length, 3, 'other internal queries are not answered')
  // Without encryption, Serf's own answer.
  const none = answerKeyQuery('_serf_install-key', keyRequest(k2), keyringControl(new Keyring(), () => undefined))
  assert.ok(none !== undefined)
  const noneBody = decode(none.subarray(1)) as { Result: boolean; Message: string }
  assert.deepEqual([noneBody.Result, noneBody.Message], [false, 'No keyring to modify (encryption not enabled)'])
})
