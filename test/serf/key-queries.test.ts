// Serf's key-management queries: the query as Serf 0.9.4 writes it (spec B.2, verified bytes), the key
// request inside, the response Grapevine sends back, and answering each query once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode } from '@msgpack/msgpack'
import { KeyQueryResponder, decodeKeyRequest, decodeSerfQuery, keyringControl } from '../../src/serf/key-queries.js'
import { MsgpackWriter } from '../../src/wire/msgpack-writer.js'
import { Keyring, formatKey } from '../../src/wire/keyring.js'

const text = (s: string): number[] => [...new TextEncoder().encode(s)]
const fixstr = (s: string): number[] => [0xa0 + s.length, ...text(s)]

/** Spec B.2's verified query, with the name and payload given. */
function query(name: string, payload: Uint8Array, id = 0x76749368): Uint8Array {
  const w = new MsgpackWriter(256)
  w.u8(4)
  w.mapHeader(11)
  w.raw(Uint8Array.of(...fixstr('Addr'), 0xa4, 127, 0, 0, 1))
  w.raw(Uint8Array.of(...fixstr('Filters'), 0xc0))
  w.raw(Uint8Array.of(...fixstr('Flags'), 0x00))
  w.raw(Uint8Array.of(...fixstr('ID'), 0xce, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff))
  w.raw(Uint8Array.of(...fixstr('LTime'), 0x05))
  w.str('Name')
  w.str(name)
  w.str('Payload')
  w.bytes(payload)
  w.raw(Uint8Array.of(...fixstr('Port'), 0xcd, 0x1f, 0x36))
  w.raw(Uint8Array.of(...fixstr('RelayFactor'), 0x00))
  w.raw(Uint8Array.of(...fixstr('SourceNode'), ...fixstr('serfQ')))
  w.raw(Uint8Array.of(...fixstr('Timeout'), 0xce, 0x77, 0x35, 0x94, 0x00))
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

test('a serf query decodes: address, port, id, lamport time, name, source and the key request inside', () => {
  const key = new Uint8Array(16).fill(9)
  const q = decodeSerfQuery(query('_serf_install-key', keyRequest(key)))
  assert.ok(q.ok, q.ok ? '' : q.error.message)
  assert.deepEqual([...q.value.addr], [127, 0, 0, 1])
  assert.equal(q.value.port, 0x1f36)
  assert.equal(q.value.id, 0x76749368)
  assert.equal(q.value.lTime, 5)
  assert.equal(q.value.sourceNode, 'serfQ')
  const k = decodeKeyRequest(q.value.payload)
  assert.ok(k.ok)
  assert.deepEqual([...k.value], [...key])
  assert.equal(decodeSerfQuery(Uint8Array.of(4, 0x81)).ok, false)
})

test('key queries are applied and answered once, with serf\'s response layout; other queries are ignored', () => {
  const k1 = new Uint8Array(32).fill(1)
  const k2 = new Uint8Array(16).fill(2)
  const ring = new Keyring([k1])
  const r = new KeyQueryResponder('gv', keyringControl(ring, () => undefined))
  const ans = r.handle(query('_serf_install-key', keyRequest(k2), 1))
  assert.ok(ans !== undefined && !('error' in ans))
  assert.equal(ans.op, 'install')
  assert.equal(ring.keys.length, 2)
  const { outer, body } = response(ans.response)
  assert.deepEqual([outer.From, outer.ID, outer.LTime, outer.Flags], ['gv', 1, 5, 0])
  assert.deepEqual(body, { Keys: null, Message: '', PrimaryKey: '', Result: true })
  assert.equal(r.handle(query('_serf_install-key', keyRequest(k2), 1)), undefined, 'a second copy of the same query is not answered again')
  // Removing the primary fails with memberlist's reason; list reports every key and the primary.
  const rm = r.handle(query('_serf_remove-key', keyRequest(k1), 2))
  assert.ok(rm !== undefined && !('error' in rm))
  const rmBody = response(rm.response).body as { Result: boolean; Message: string }
  assert.equal(rmBody.Result, false)
  assert.match(rmBody.Message, /primary/)
  const list = r.handle(query('_serf_list-keys', new Uint8Array(0), 3))
  assert.ok(list !== undefined && !('error' in list))
  const listBody = response(list.response).body as { Keys: string[]; PrimaryKey: string }
  assert.deepEqual(listBody.Keys, [formatKey(k1), formatKey(k2)])
  assert.equal(listBody.PrimaryKey, formatKey(k1))
  assert.equal(r.handle(query('my-user-query', new Uint8Array(0), 4)), undefined)
  // Without encryption, Serf's own answer.
  const none = new KeyQueryResponder('gv', keyringControl(new Keyring(), () => undefined)).handle(query('_serf_install-key', keyRequest(k2), 5))
  assert.ok(none !== undefined && !('error' in none))
  const noneBody = response(none.response).body as { Result: boolean; Message: string }
  assert.deepEqual([noneBody.Result, noneBody.Message], [false, 'No keyring to modify (encryption not enabled)'])
})
