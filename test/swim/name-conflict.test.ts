// Name conflicts driven by hand: two nodes claiming one name from different addresses. The cluster
// keeps the established one; the newcomer's join is refused, and every role sees a nameConflict.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeStream, encodeStream } from '../../src/wire/codec.js'
import type { PushNodeState, PushPullMsg } from '../../src/wire/messages.js'
import { encodeConflictResponse, SERF_CONFLICT_RESPONSE } from '../../src/serf/conflict-query.js'
import { encodeTags } from '../../src/serf/tags.js'
import { MsgpackReader } from '../../src/wire/msgpack-reader.js'
import { addr, alive, deliver, expectEvent, newNode, rejectEvent, VSN } from '../helpers/swim-harness.js'

function entry(name: string, i: number, state: PushNodeState['state'] = 0, incarnation = 1): PushNodeState {
  return { name, addr: Uint8Array.of(127, 0, 0, i), port: 7946, meta: null, incarnation, state, vsn: VSN }
}

function pushPull(nodes: PushNodeState[], join = true): Uint8Array {
  const msg: PushPullMsg = { type: 'pushPull', join, userState: new Uint8Array(0), nodes }
  return encodeStream(msg, { compress: false })
}

test('a newcomer whose name a seed holds alive at another address is refused: join fails naming the conflict, nothing is merged', () => {
  // We are "me" at 127.0.0.1; the cluster already has a live "me" at 127.0.0.5.
  const { swim, out } = newNode()
  const id = swim.join([addr(2)], 0, out)
  const exchangeId = out.streams[0].exchangeId
  out.clear()
  swim.handleStreamReply(exchangeId, { ok: true, bytes: pushPull([entry('seed', 2), entry('me', 5, 0, 9), entry('other', 3)]) }, 50, out)
  const conflict = expectEvent(out, 'nameConflict')
  assert.deepEqual([conflict.name, conflict.role, conflict.kept.ip, conflict.refused.ip], ['me', 'newcomer', '127.0.0.5', '127.0.0.1'])
  const done = expectEvent(out, 'joinCompleted')
  assert.equal(done.joinId, id)
  assert.deepEqual(done.conflict, { name: 'me', kept: { ip: '127.0.0.5', port: 7946 } })
  assert.equal(done.errors.length, 1)
  assert.match(done.errors[0], /name conflict: the cluster already has a live member named "me" at 127\.0\.0\.5:7946/)
  assert.match(done.errors[0], /give this node another name/)
  rejectEvent(out, 'joined')
  assert.deepEqual(swim.members().map((m) => m.name), ['me'], 'nothing of the seed state was merged')
  assert.equal(swim.localMember().address.ip, '127.0.0.1')
  assert.equal(swim.stats.nameConflicts, 1)
})

test('a refused newcomer does not knock on its seeds from the reconnect loop; an explicit join tries again', () => {
  const { swim, out } = newNode()
  swim.join([addr(2)], 0, out)
  const exchangeId = out.streams[0].exchangeId
  swim.handleStreamReply(exchangeId, { ok: true, bytes: pushPull([entry('seed', 2), entry('me', 5)]) }, 50, out)
  out.clear()
  for (let t = 1; t <= 20; t++) swim.handleTimer({ kind: 'reconnectTick', epoch: 0 }, t * 10_000, out)
  assert.equal(out.streams.length, 0, 'no push-pull to the seed while refused')
  swim.join([addr(2)], 300_000, out)
  assert.equal(out.streams.length, 1)
  // The other "me" has gone meanwhile (the seed holds it left): the join now succeeds.
  const retry = out.streams[0].exchangeId
  out.clear()
  swim.handleStreamReply(retry, { ok: true, bytes: pushPull([entry('seed', 2), entry('me', 5, 3)]) }, 300_050, out)
  const done = expectEvent(out, 'joinCompleted')
  assert.equal(done.conflict, undefined)
  assert.equal(done.contacted, 1)
  assert.equal(swim.member('seed')?.state, 'alive')
})

test('a suspect holder of our name refuses us too; a failed or left one, or one at our own address, does not', () => {
  const cases: Array<{ state: PushNodeState['state']; at: number; refused: boolean }> = [
    { state: 1, at: 5, refused: true },
    { state: 2, at: 5, refused: false },
    { state: 3, at: 5, refused: false },
    { state: 0, at: 1, refused: false },
  ]
  for (const c of cases) {
    const { swim, out } = newNode()
    swim.join([addr(2)], 0, out)
    const exchangeId = out.streams[0].exchangeId
    out.clear()
    swim.handleStreamReply(exchangeId, { ok: true, bytes: pushPull([entry('seed', 2), entry('me', c.at, c.state)]) }, 50, out)
    const done = expectEvent(out, 'joinCompleted')
    assert.equal(done.conflict !== undefined, c.refused, `state ${c.state} at 127.0.0.${c.at}`)
    assert.equal(swim.member('seed')?.state === 'alive', !c.refused)
  }
})

test('an established member keeps its name when a newcomer claims it: nameConflict (established), no refutation, no change', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('peer', 1, 2))
  out.clear()
  const inc = swim.incarnation
  // The newcomer's join push-pull reaches us: it claims "me" from 127.0.0.5.
  const reply = swim.handleStreamRequest(addr(5), pushPull([entry('me', 5, 0, inc + 5)]), 10, out)
  assert.ok(reply)
  const ours = decodeStream(reply)
  assert.ok(ours.ok && ours.value.type === 'pushPull')
  assert.deepEqual(ours.value.nodes.filter((n) => n.name === 'me').map((n) => [...n.addr]), [[127, 0, 0, 1]], 'our reply names our address, so the newcomer can refuse itself')
  const conflict = expectEvent(out, 'nameConflict')
  assert.deepEqual([conflict.role, conflict.kept.ip, conflict.refused.ip], ['established', '127.0.0.1', '127.0.0.5'])
  rejectEvent(out, 'refuted')
  assert.equal(swim.incarnation, inc)
  assert.equal(swim.localMember().address.ip, '127.0.0.1')
})

test('a witness keeps the member it knows and reports the claim from the other address', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2))
  out.clear()
  deliver(swim, out, 1, alive('x', 4, 7))
  const conflict = expectEvent(out, 'nameConflict')
  assert.deepEqual([conflict.name, conflict.role, conflict.kept.ip, conflict.refused.ip], ['x', 'witness', '127.0.0.2', '127.0.0.7'])
  assert.equal(swim.member('x')?.address.ip, '127.0.0.2')
  assert.equal(swim.member('x')?.incarnation, 1)
})

test("our vote in Serf's name-conflict query: [6] then Serf's Member, nil for an unknown name", () => {
  const member = {
    name: 'web-1', address: { ip: '10.0.0.7', port: 7946 }, state: 'alive' as const, incarnation: 3,
    meta: encodeTags({ role: 'web' }), vsn: VSN, stateChangeMs: 0,
  }
  const bytes = encodeConflictResponse(member, false)
  assert.equal(bytes[0], SERF_CONFLICT_RESPONSE)
  const r = new MsgpackReader(8).reset(bytes, 1)
  const n = r.mapHeader('member')
  const fields: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) {
    const k = r.str(64, 'key')
    if (k === 'Addr') fields[k] = [...r.bytes(16, k)]
    else if (k === 'Name') fields[k] = r.str(64, k)
    else if (k === 'Tags') {
      const t = r.mapHeader('tags')
      const tags: Record<string, string> = {}
      for (let j = 0; j < t; j++) tags[r.str(64, 'k')] = r.str(64, 'v')
      fields[k] = tags
    } else fields[k] = r.uint(65535, k)
  }
  assert.deepEqual(fields, {
    Name: 'web-1', Addr: [10, 0, 0, 7], Port: 7946, Tags: { role: 'web' }, Status: 1,
    ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 5,
  })
  assert.equal(encodeConflictResponse({ ...member, state: 'dead' }, false)[0], SERF_CONFLICT_RESPONSE)
  assert.deepEqual([...encodeConflictResponse(undefined, false)], [SERF_CONFLICT_RESPONSE, 0xc0])
})
