// Swim driven by hand, one input at a time: the message flows of memberlist's state_test.go scenarios.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodePacket, decodeStream, encodeMessage, encodeStream } from '../../src/wire/codec.js'
import * as swimModule from '../../src/swim/swim.js'
import { resolveConfig } from '../../src/swim/config.js'
import { SeededRng } from '../../src/core/rng.js'
import { CollectingOutbox } from '../../src/core/effects.js'
import type { SwimEvent } from '../../src/swim/events.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import type { IndirectPingMsg, PingMsg, PushPullMsg } from '../../src/wire/messages.js'
import { addr, alive, deliver, expectEvent, expectSent, expectTimer, newNode, rejectEvent, sentMessages, VSN } from '../helpers/swim-harness.js'

test('a ping for us is acked to its source address, a ping for another node is dropped', () => {
  const { swim, out } = newNode()
  const ping: PingMsg = { type: 'ping', seqNo: 7, node: 'me', sourceAddr: Uint8Array.of(127, 0, 0, 5), sourcePort: 9000, sourceNode: 'p' }
  deliver(swim, out, 0, ping)
  const ack = expectSent(out, 'ack', { ip: '127.0.0.5', port: 9000 })
  assert.equal(ack.type === 'ack' && ack.seqNo, 7)
  out.clear()
  deliver(swim, out, 0, { ...ping, node: 'someone-else' })
  assert.equal(out.packets.length, 0)
  assert.equal(swim.stats.dropped.get('wrong-node'), 1)
})

test('a direct ack ends the probe without suspicion', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2))
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 1000, out)
  const ping = expectSent(out, 'ping', addr(2)) as PingMsg
  assert.equal(ping.node, 'x')
  deliver(swim, out, 1010, { type: 'ack', seqNo: ping.seqNo, payload: null })
  out.clear()
  swim.handleTimer({ kind: 'probeTimeout', seqNo: ping.seqNo }, 1500, out)
  swim.handleTimer({ kind: 'probeDeadline', seqNo: ping.seqNo }, 2000, out)
  assert.equal(out.packets.length, 0)
  assert.equal(swim.member('x')?.state, 'alive')
})

test('an unanswered probe goes to indirect pings with nack requests, then a TCP fallback, then suspicion with a health penalty', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2), alive('h1', 1, 3), alive('h2', 1, 4), alive('h3', 1, 5))
  out.clear()
  let ping: PingMsg | undefined
  let t0 = 0
  for (let t = 1000; !ping; t += 1000) {
    swim.handleTimer({ kind: 'probeTick', epoch: 0 }, t, out)
    const p = sentMessages(out).find((s) => s.msg.type === 'ping')?.msg as PingMsg
    if (p?.node === 'x') {
      ping = p
      t0 = t
    } else {
      // A helper answers its probe, so the next tick is not held behind it.
      if (p !== undefined) deliver(swim, out, t + 10, { type: 'ack', seqNo: p.seqNo, payload: null })
      out.clear()
    }
    assert.ok(t < 10_000)
  }
  out.clear()
  swim.handleTimer({ kind: 'probeTimeout', seqNo: ping.seqNo }, t0 + 500, out)
  assert.equal(expectTimer(out, 'probeDeadline').afterMs, 500, 'the deadline is the probe interval after the start')
  const indirect = sentMessages(out).filter((s) => s.msg.type === 'indirectPing').map((s) => s.msg as IndirectPingMsg)
  assert.equal(indirect.length, 3)
  for (const ip of indirect) {
    assert.equal(ip.node, 'x')
    assert.equal(ip.nack, true)
    assert.deepEqual([...ip.target], [127, 0, 0, 2])
  }
  assert.equal(out.streams.length, 1, 'TCP fallback ping opened')
  const tcp = decodeStream(out.streams[0].bytes)
  assert.ok(tcp.ok && tcp.value.type === 'ping')
  // One helper answers with a nack; two stay silent: health rises by the two missing nacks.
  deliver(swim, out, t0 + 900, { type: 'nack', seqNo: ping.seqNo })
  out.clear()
  swim.handleTimer({ kind: 'probeDeadline', seqNo: ping.seqNo }, t0 + 1000, out)
  const suspected = expectEvent(out, 'suspected')
  assert.equal(suspected.member.name, 'x')
  assert.equal(suspected.from, 'me')
  assert.equal(suspected.via, 'probe')
  assert.equal(swim.healthScore, 2)
  // n = 5 ≥ 4, so k = 2 and the timer starts at max = 6 × 4 s.
  assert.equal(expectTimer(out, 'suspicionTimeout').afterMs, 24_000)
})

test('a probe timeout that fires past the deadline (the prober was paused) fails the probe at once', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2))
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 1000, out)
  const ping = expectSent(out, 'ping', addr(2)) as PingMsg
  out.clear()
  swim.handleTimer({ kind: 'probeTimeout', seqNo: ping.seqNo }, 4000, out)
  assert.equal(expectEvent(out, 'suspected').member.name, 'x')
  // The ack read afterwards (it waited in the socket during the pause) no longer helps.
  deliver(swim, out, 4000, { type: 'ack', seqNo: ping.seqNo, payload: null })
  assert.equal(swim.member('x')?.state, 'suspect')
})

test('indirect probe helper relays the ack, or sends a nack after the probe timeout', () => {
  const { swim, out } = newNode()
  const req: IndirectPingMsg = {
    type: 'indirectPing', seqNo: 55, target: Uint8Array.of(127, 0, 0, 2), port: 7946, node: 'x', nack: true,
    sourceAddr: Uint8Array.of(127, 0, 0, 3), sourcePort: 7946, sourceNode: 'requester',
  }
  deliver(swim, out, 0, req)
  const ping = expectSent(out, 'ping', addr(2)) as PingMsg
  const relayTimer = expectTimer(out, 'relayTimeout')
  assert.equal(relayTimer.afterMs, 400, 'nack at 80% of the probe timeout')
  out.clear()
  deliver(swim, out, 10, { type: 'ack', seqNo: ping.seqNo, payload: null })
  const relayed = expectSent(out, 'ack', addr(3))
  assert.equal(relayed.type === 'ack' && relayed.seqNo, 55)
  out.clear()
  swim.handleTimer(relayTimer.timer, 500, out)
  assert.equal(out.packets.length, 0, 'no nack after a relayed ack')
  // Second request: no ack this time → nack.
  deliver(swim, out, 1000, { ...req, seqNo: 56 })
  const t2 = expectTimer(out, 'relayTimeout')
  out.clear()
  swim.handleTimer(t2.timer, 1500, out)
  const nack = expectSent(out, 'nack', addr(3))
  assert.equal(nack.type === 'nack' && nack.seqNo, 56)
})

test('suspicion timeout shrinks with independent confirmations and declares death (memberlist\'s rule: finalProbe off)', () => {
  const { swim, out } = newNode('me', 1, { finalProbe: false })
  deliver(swim, out, 0, alive('x', 1, 2), alive('a', 1, 3), alive('b', 1, 4), alive('c', 1, 5))
  deliver(swim, out, 1000, { type: 'suspect', incarnation: 1, node: 'x', from: 'a' })
  assert.equal(expectTimer(out, 'suspicionTimeout').afterMs, 24_000)
  out.clear()
  deliver(swim, out, 2000, { type: 'suspect', incarnation: 1, node: 'x', from: 'a' })
  assert.equal(out.timers.length, 0, 'the first accuser does not count twice')
  deliver(swim, out, 2000, { type: 'suspect', incarnation: 1, node: 'x', from: 'b' })
  assert.equal(expectTimer(out, 'suspicionTimeout').afterMs, 11_381 - 1000)
  out.clear()
  deliver(swim, out, 3000, { type: 'suspect', incarnation: 1, node: 'x', from: 'c' })
  const last = expectTimer(out, 'suspicionTimeout')
  assert.equal(last.afterMs, 4000 - 2000)
  swim.handleTimer(last.timer, 5000, out)
  const failed = expectEvent(out, 'failed')
  assert.equal(failed.member.name, 'x')
  assert.equal(failed.via, 'timeout')
  assert.equal(swim.member('x')?.state, 'dead')
})

test('without Lifeguard the suspicion timeout is fixed at the minimum and probes are not scaled', () => {
  const { swim, out } = newNode('me', 1, { lifeguard: false })
  deliver(swim, out, 0, alive('x', 1, 2), alive('a', 1, 3), alive('b', 1, 4), alive('c', 1, 5))
  deliver(swim, out, 1000, { type: 'suspect', incarnation: 1, node: 'x', from: 'a' })
  assert.equal(expectTimer(out, 'suspicionTimeout').afterMs, 4000)
})

test('a suspected member learns of it on the next probe (buddy system) and refutes', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 3, 2))
  deliver(swim, out, 0, { type: 'suspect', incarnation: 3, node: 'x', from: 'a' })
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 1000, out)
  const msgs = sentMessages(out).map((s) => s.msg.type)
  assert.deepEqual(msgs, ['ping', 'suspect'])
  // The suspect node's side: receiving the suspicion makes it refute with incarnation 4.
  const other = newNode('x', 2)
  deliver(other.swim, other.out, 0, alive('me', 1, 1))
  deliver(other.swim, other.out, 1000, { type: 'suspect', incarnation: 1, node: 'x', from: 'me' })
  const refuted = expectEvent(other.out, 'refuted')
  assert.equal(refuted.incarnation, 2)
})

test('join: push-pull request carries our state; the reply merges members and emits joined', () => {
  const { swim, out } = newNode()
  const id = swim.join([addr(2)], 0, out)
  assert.equal(out.streams.length, 1)
  const req = decodeStream(out.streams[0].bytes)
  assert.ok(req.ok && req.value.type === 'pushPull')
  assert.equal((req.value as PushPullMsg).join, true)
  assert.deepEqual((req.value as PushPullMsg).nodes.map((n) => n.name), ['me'])
  const reply: PushPullMsg = {
    type: 'pushPull', join: true, userState: new Uint8Array(0),
    nodes: [
      { name: 'seed', addr: Uint8Array.of(127, 0, 0, 2), port: 7946, meta: null, incarnation: 1, state: 0, vsn: VSN },
      { name: 'other', addr: Uint8Array.of(127, 0, 0, 3), port: 7946, meta: null, incarnation: 2, state: 0, vsn: VSN },
      { name: 'gone', addr: Uint8Array.of(127, 0, 0, 4), port: 7946, meta: null, incarnation: 1, state: 3, vsn: VSN },
    ],
  }
  out.clear()
  swim.handleStreamReply(out.streams[0]?.exchangeId ?? 1, { ok: true, bytes: encodeStream(reply, { compress: true }) }, 50, out)
  const done = expectEvent(out, 'joinCompleted')
  assert.deepEqual([done.joinId, done.contacted, done.errors], [id, 1, []])
  assert.deepEqual(out.events.filter((e) => e.type === 'joined').map((e) => e.type === 'joined' && e.member.name).sort(), ['other', 'seed'])
  assert.equal(swim.member('gone'), undefined, 'a left entry for an unknown node is ignored')
})

test('push-pull server replies with its state first, then merges; incompatible versions are rejected whole', () => {
  const { swim, out } = newNode()
  const req: PushPullMsg = {
    type: 'pushPull', join: true, userState: new Uint8Array(0),
    nodes: [{ name: 'j', addr: Uint8Array.of(127, 0, 0, 9), port: 7946, meta: null, incarnation: 1, state: 0, vsn: VSN }],
  }
  const reply = swim.handleStreamRequest(addr(9), encodeStream(req, { compress: false }), 0, out)
  assert.ok(reply)
  const decoded = decodeStream(reply)
  assert.ok(decoded.ok && decoded.value.type === 'pushPull')
  assert.deepEqual((decoded.value as PushPullMsg).nodes.map((n) => n.name), ['me'], 'state sent before the merge')
  assert.equal(swim.member('j')?.state, 'alive')
  const bad: PushPullMsg = { ...req, nodes: [{ ...req.nodes[0], name: 'old', vsn: Uint8Array.of(1, 5, 2, 0, 0, 0) }] }
  swim.handleStreamRequest(addr(10), encodeStream(bad, { compress: false }), 0, out)
  assert.equal(swim.member('old'), undefined)
  assert.equal(swim.stats.pushPullsRejected, 1)
})

test('a restarted node learns its old incarnation from push-pull and jumps past it', () => {
  const { swim, out } = newNode()
  const req: PushPullMsg = {
    type: 'pushPull', join: false, userState: new Uint8Array(0),
    nodes: [{ name: 'me', addr: Uint8Array.of(127, 0, 0, 1), port: 7946, meta: null, incarnation: 9, state: 2, vsn: VSN }],
  }
  swim.handleStreamRequest(addr(2), encodeStream(req, { compress: false }), 0, out)
  expectEvent(out, 'refuted')
  assert.equal(swim.incarnation, 10)
})

test('graceful leave broadcasts dead(from = self), others record left; leave completes when it went out', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2))
  out.clear()
  swim.leave(100, out)
  expectEvent(out, 'left')
  rejectEvent(out, 'leaveCompleted')
  const timeout = expectTimer(out, 'leaveTimeout')
  assert.equal(timeout.afterMs, 5000)
  let gossiped = 0
  for (let t = 200; t < 5000 && !out.events.some((e) => e.type === 'leaveCompleted'); t += 200) {
    swim.handleTimer({ kind: 'gossipTick', epoch: 0 }, t, out)
    gossiped++
  }
  const done = expectEvent(out, 'leaveCompleted')
  assert.equal(done.timedOut, false)
  const dead = sentMessages(out).find((s) => s.msg.type === 'dead')
  assert.ok(dead && dead.msg.type === 'dead' && dead.msg.from === 'me' && dead.msg.node === 'me')
  assert.ok(gossiped >= 4)
  // The receiving side records Left, not Dead.
  const other = newNode('x', 2)
  deliver(other.swim, other.out, 0, alive('me', 1, 1))
  deliver(other.swim, other.out, 1, dead!.msg)
  assert.equal(other.swim.member('me')?.state, 'left')
  expectEvent(other.out, 'left')
})

test('a known name from a new address is refused while alive, accepted once it left', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2))
  deliver(swim, out, 1, alive('x', 2, 7))
  assert.equal(swim.member('x')?.address.ip, '127.0.0.2')
  assert.equal(swim.stats.dropped.get('conflict'), 1)
  deliver(swim, out, 2, { type: 'dead', incarnation: 1, node: 'x', from: 'x' })
  out.clear()
  deliver(swim, out, 3, alive('x', 2, 7))
  assert.equal(swim.member('x')?.address.ip, '127.0.0.7')
  expectEvent(out, 'joined')
})

test('garbage packets are counted and dropped, never thrown', () => {
  const { swim, out } = newNode()
  for (const bytes of [new Uint8Array(0), Uint8Array.of(250), Uint8Array.of(4, 0xc1), Uint8Array.of(7, 3, 0, 9), Uint8Array.of(12, 1, 2, 3, 4, 5)]) {
    swim.handlePacket(addr(5), bytes, 0, out)
  }
  const total = [...swim.stats.dropped.values()].reduce((a, b) => a + b, 0)
  assert.ok(total >= 5, `dropped ${total}`)
  assert.equal(swim.members().length, 1)
  assert.equal(swim.handleStreamRequest(addr(5), Uint8Array.of(6, 0x93), 0, out), null)
  void encodeMessage
})

test('more than 127 piggybacked parts go out as several compounds; none is lost', () => {
  const { Swim } = swimModule
  const tiny: Uint8Array[] = Array.from({ length: 300 }, (_, i) => Uint8Array.of(i & 0xff))
  let pending = tiny.slice()
  const swim = new Swim({
    name: 'me', address: addr(1), config: resolveConfig({}), rng: new SeededRng(1),
    delegate: { getBroadcasts: (_o: number, limit: number) => { const out: Uint8Array[] = []; let used = 0; while (pending.length > 0 && used + 4 <= limit) { out.push(pending.shift()!); used += 4 } return out } },
  })
  const out = new CollectingOutbox<SwimTimer, SwimEvent>()
  swim.start(0, out)
  deliver(swim, out, 0, alive('x', 1, 2))
  out.clear()
  swim.handleTimer({ kind: 'gossipTick', epoch: 0 }, 200, out)
  const users = sentMessages(out).filter((s) => s.msg.type === 'user')
  assert.ok(users.length > 127, `sent ${users.length} user parts`)
  assert.ok(out.packets.length >= 2, 'split across packets')
  for (const p of out.packets) {
    const { messages } = decodePacket(p.bytes)
    assert.ok(messages.length <= 127)
  }
  assert.equal(users.length + pending.length, 300, 'every part taken was sent')
})

test('forceLeave: a failed member becomes left (no longer reconnected), prune forgets it, live ones are untouched', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2), alive('y', 1, 3))
  deliver(swim, out, 1, { type: 'dead', incarnation: 1, node: 'x', from: 'y' })
  assert.equal(swim.member('x')?.state, 'dead')
  out.clear()
  assert.equal(swim.forceLeave('nobody', false, 2, out), undefined)
  assert.equal(swim.forceLeave('y', true, 2, out), 'alive')
  assert.equal(swim.forceLeave('me', true, 2, out), 'alive')
  assert.equal(swim.member('y')?.state, 'alive')
  assert.equal(out.events.length, 0)
  assert.equal(swim.forceLeave('x', false, 3, out), 'dead')
  assert.equal(swim.member('x')?.state, 'left')
  assert.equal(expectEvent(out, 'left').member.name, 'x')
  // Left members are not reconnected: many reconnect rounds open no stream to x.
  out.clear()
  for (let t = 10; t < 200; t++) swim.handleTimer({ kind: 'reconnectTick', epoch: 0 }, t, out)
  assert.ok(!out.streams.some((s) => s.to.ip === '127.0.0.2'), 'a stream went to the force-left member')
  out.clear()
  assert.equal(swim.forceLeave('x', true, 300, out), 'left')
  assert.equal(swim.member('x'), undefined)
  assert.equal(expectEvent(out, 'reaped').member.name, 'x')
  assert.ok(!swim.members().some((m) => m.name === 'x'))
})

test('a node started at a given incarnation announces itself at it', () => {
  const swim = new swimModule.Swim({ name: 'me', address: addr(1), config: resolveConfig({}), rng: new SeededRng(1), incarnation: 7 })
  const out = new CollectingOutbox<SwimTimer, SwimEvent>()
  swim.start(0, out)
  assert.equal(swim.incarnation, 7)
  assert.throws(() => new swimModule.Swim({ name: 'me', address: addr(1), config: resolveConfig({}), rng: new SeededRng(1), incarnation: 0 }), /incarnation 0/)
})

test('stats count messages and encoded bytes by type, wire bytes, stream bytes and decode errors by reason', () => {
  const { swim, out } = newNode()
  const ping: PingMsg = { type: 'ping', seqNo: 5, node: 'me' }
  const bytes = encodeMessage(ping)
  swim.handlePacket(addr(2), bytes, 0, out)
  assert.equal(swim.stats.messagesIn.get('ping'), 1)
  assert.equal(swim.stats.messageBytesIn.get('ping'), bytes.length)
  assert.equal(swim.stats.bytesIn, bytes.length)
  assert.equal(swim.stats.messagesOut.get('ack'), 1)
  assert.ok((swim.stats.messageBytesOut.get('ack') ?? 0) > 0)
  swim.handlePacket(addr(2), Uint8Array.of(12, 0, 0, 0, 0, 1), 0, out)
  assert.equal(swim.stats.decodeErrors.get('bad-crc'), 1)
  assert.equal(swim.stats.dropped.get('bad-crc'), 1)
  const req: PushPullMsg = { type: 'pushPull', join: true, userState: new Uint8Array(0), nodes: [] }
  const reqBytes = encodeStream(req, { compress: false })
  const reply = swim.handleStreamRequest(addr(2), reqBytes, 0, out)
  assert.ok(reply !== null)
  assert.equal(swim.stats.streamsIn, 1)
  assert.equal(swim.stats.streamBytesIn, reqBytes.length)
  assert.equal(swim.stats.streamBytesOut, reply.length)
  assert.equal(swim.stats.streamMessagesIn.get('pushPull'), 1)
  assert.equal(swim.stats.streamMessageBytesOut.get('pushPull'), reply.length)
})

test('a member the delegate knows to be leaving is recorded left, not failed, when it dies', () => {
  const swim = new swimModule.Swim({
    name: 'me', address: addr(1), config: resolveConfig({}), rng: new SeededRng(1),
    delegate: { isLeaving: (name) => name === 'x' },
  })
  const out = new CollectingOutbox<SwimTimer, SwimEvent>()
  swim.start(0, out)
  deliver(swim, out, 0, alive('x', 1, 2), alive('y', 1, 3))
  out.clear()
  deliver(swim, out, 1, { type: 'dead', incarnation: 1, node: 'x', from: 'y' }, { type: 'dead', incarnation: 1, node: 'y', from: 'x' })
  assert.equal(swim.member('x')?.state, 'left')
  assert.equal(swim.member('y')?.state, 'dead')
  assert.equal(expectEvent(out, 'left').member.name, 'x')
  assert.equal(expectEvent(out, 'failed').member.name, 'y')
})

test('delegate rounds: onGossipRound runs each gossip tick and can send to a member by name; piggybacks know their destination', () => {
  const asked: Array<string | undefined> = []
  const rounds: number[] = []
  const swim = new swimModule.Swim({
    name: 'me', address: addr(1), config: resolveConfig({}), rng: new SeededRng(1),
    delegate: {
      getBroadcasts: (_overhead, _limit, toName) => {
        asked.push(toName)
        return toName === 'x' ? [Uint8Array.of(0x47, 1, 2)] : []
      },
      onGossipRound: (nowMs, send) => {
        rounds.push(nowMs)
        assert.equal(send('y', Uint8Array.of(0x47, 9)), true)
        assert.equal(send('nobody', Uint8Array.of(0x47, 9)), false)
        assert.equal(send('me', Uint8Array.of(0x47, 9)), false)
      },
    },
  })
  const out = new CollectingOutbox<SwimTimer, SwimEvent>()
  swim.start(0, out)
  deliver(swim, out, 0, alive('x', 1, 2), alive('y', 1, 3))
  out.clear()
  swim.handleTimer({ kind: 'gossipTick', epoch: 0 }, 200, out)
  assert.deepEqual(rounds, [200])
  assert.deepEqual([...new Set(asked)].sort(), ['x', 'y'])
  const sent = sentMessages(out)
  // x got the piggybacked user message, y only the one its round sent directly.
  assert.ok(sent.some((s) => s.to.ip === '127.0.0.2' && s.msg.type === 'user' && s.msg.payload[1] === 1))
  assert.ok(!sent.some((s) => s.to.ip === '127.0.0.3' && s.msg.type === 'user' && s.msg.payload[1] === 1))
  assert.ok(sent.some((s) => s.to.ip === '127.0.0.3' && s.msg.type === 'user' && s.msg.payload[1] === 9))
})
