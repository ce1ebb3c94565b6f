// Calm healing driven by hand: a member we hear from ourselves is not turned dead, nor suspected from a
// push-pull state, on second-hand word; the accusation is handed to it so it refutes. A member we heard
// from too long ago to know it outlived the accusation is probed before a third node's dead notice is
// believed. A member we have not heard from lately, or any member with calmHealing off, gets memberlist's rules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeStream, encodeMessage, encodeStream } from '../../src/wire/codec.js'
import type { PushPullMsg } from '../../src/wire/messages.js'
import type { SwimConfig } from '../../src/swim/config.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import type { Out } from '../helpers/swim-harness.js'
import { addr, alive, deliver, expectEvent, newNode, rejectEvent, sentMessages, VSN } from '../helpers/swim-harness.js'

// Two carried members (us and x): the minimum suspicion timeout is 4 × 1 × 1 s, the longest 6 × 4 s.
const MIN_MS = 4000
const MAX_MS = 24_000

function withX(config: Partial<SwimConfig> = {}) {
  const node = newNode('me', 1, { calmHealing: true, ...config })
  deliver(node.swim, node.out, 0, alive('x', 1, 2))
  // x pings us at t = 1000: a packet from its own address.
  node.swim.handlePacket(addr(2), encodeMessage({ type: 'ping', seqNo: 1, node: 'me', sourceAddr: Uint8Array.of(127, 0, 0, 2), sourcePort: 7946, sourceNode: 'x' }), 1000, node.out)
  node.out.clear()
  return node
}

/** A push-pull state (uncompressed) holding x at `incarnation` in wire state `state` (0 alive, 2 dead). */
function stateWithX(incarnation: number, state: 0 | 2): Uint8Array {
  const msg: PushPullMsg = {
    type: 'pushPull', join: false, userState: new Uint8Array(0),
    nodes: [{ name: 'x', addr: Uint8Array.of(127, 0, 0, 2), port: 7946, meta: null, incarnation, state, vsn: VSN }],
  }
  return encodeStream(msg, { compress: false })
}

function forwardedSuspects(out: ReturnType<typeof newNode>['out']): number {
  return sentMessages(out).filter((s) => s.to.ip === '127.0.0.2' && s.msg.type === 'suspect' && s.msg.node === 'x' && s.msg.from === 'me').length
}

test('a third node\'s dead notice about a member we heard from within the minimum suspicion timeout is a suspicion, handed to the member', () => {
  const { swim, out } = withX()
  deliver(swim, out, 1000 + MIN_MS, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(swim.member('x')?.state, 'suspect')
  const s = expectEvent(out, 'suspected')
  assert.deepEqual([s.from, s.via], ['z', 'gossip'])
  rejectEvent(out, 'failed')
  assert.equal(forwardedSuspects(out), 1, 'the accusation goes straight to x')
  assert.equal(swim.stats.deadNoticesSoftened, 1)
  // x refutes: the alive at a higher incarnation ends it.
  deliver(swim, out, 1100 + MIN_MS, alive('x', 2, 2))
  assert.equal(swim.member('x')?.state, 'alive')
})

test('memberlist\'s rules where calm healing does not apply: heard too long ago, a leave in its own name, or calmHealing off', () => {
  const late = withX()
  deliver(late.swim, late.out, 1001 + MAX_MS, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(late.swim.member('x')?.state, 'dead')
  assert.equal(late.swim.stats.deadNoticesChecked, 0)
  const own = withX()
  deliver(own.swim, own.out, 1500, { type: 'dead', incarnation: 1, node: 'x', from: 'x' })
  assert.equal(own.swim.member('x')?.state, 'left')
  const off = withX({ calmHealing: false })
  deliver(off.swim, off.out, 1500, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(off.swim.member('x')?.state, 'dead')
  assert.equal(forwardedSuspects(off.out), 0)
})

/** The last timer of `kind` the node scheduled. */
function lastTimer<K extends SwimTimer['kind']>(out: Out, kind: K): Extract<SwimTimer, { kind: K }> {
  const found = out.timers.filter((t) => t.timer.kind === kind)
  assert.ok(found.length > 0, `a ${kind} timer was scheduled`)
  return found[found.length - 1].timer as Extract<SwimTimer, { kind: K }>
}

/** The pings the node sent to x, with whether each carried the suspicion of x (the buddy system). */
function pingsToX(out: Out): Array<{ seqNo: number; withSuspicion: boolean }> {
  const sent = sentMessages(out).filter((s) => s.to.ip === '127.0.0.2')
  return sent.flatMap((s) => (s.msg.type === 'ping' ? [{ seqNo: s.msg.seqNo, withSuspicion: sent.some((t) => t.msg.type === 'suspect' && t.msg.node === 'x') }] : []))
}

// The path that let a node take a third node's dead notice about a member still sending (one that can send
// but not receive, test/stack/sim-stack.test.ts): the node's own final probe of the member was in flight,
// the member's last packet to it 4.4 to 6.5 s old, just past the minimum suspicion timeout, so memberlist's
// rule applied and the notice overrode the probe.
test('a third node\'s dead notice while our own final probe of the member is in flight does not override it: an ack keeps the member suspect', () => {
  const { swim, out } = withX()
  deliver(swim, out, 1000, alive('y', 1, 3), alive('z', 1, 4), alive('w', 1, 5))
  // Our own suspicion of x (from z), confirmed by y and w: its timer is the minimum, 4 s.
  deliver(swim, out, 2000, { type: 'suspect', incarnation: 1, node: 'x', from: 'z' }, { type: 'suspect', incarnation: 1, node: 'x', from: 'y' }, { type: 'suspect', incarnation: 1, node: 'x', from: 'w' })
  const expiry = lastTimer(out, 'suspicionTimeout')
  out.clear()
  swim.handleTimer(expiry, 2000 + MIN_MS, out)
  const [finalPing] = pingsToX(out)
  assert.ok(finalPing !== undefined, 'the final probe went out')
  // z's own final probe failed first: its dead notice comes while ours runs; x's last packet is 5.1 s old.
  deliver(swim, out, 2100 + MIN_MS, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(swim.member('x')?.state, 'suspect', 'the notice waits for our own probe')
  rejectEvent(out, 'failed')
  assert.equal(swim.stats.deadNoticesChecked, 0, 'no second probe: the final one decides')
  swim.handlePacket(addr(2), encodeMessage({ type: 'ack', seqNo: finalPing.seqNo, payload: null }), 2150 + MIN_MS, out)
  assert.equal(swim.member('x')?.state, 'suspect')
  assert.equal(swim.stats.finalProbeAcks, 1)
  rejectEvent(out, 'failed')
})

test('a third node\'s dead notice about a member last heard from between the minimum and the longest suspicion timeout is checked with our own probe: answered, it stays a suspicion', () => {
  const { swim, out } = withX()
  const at = 1001 + MIN_MS
  deliver(swim, out, at, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(swim.member('x')?.state, 'suspect')
  rejectEvent(out, 'failed')
  assert.deepEqual([expectEvent(out, 'suspected').from, expectEvent(out, 'suspected').via], ['z', 'gossip'])
  const [ping] = pingsToX(out)
  assert.ok(ping !== undefined && ping.withSuspicion, 'x is probed now, and told of the suspicion')
  assert.equal(swim.stats.deadNoticesChecked, 1)
  out.clear()
  swim.handlePacket(addr(2), encodeMessage({ type: 'ack', seqNo: ping.seqNo, payload: null }), at + 20, out)
  assert.equal(swim.member('x')?.state, 'suspect', 'it lives: still only a suspicion')
  rejectEvent(out, 'failed')
  assert.equal(swim.stats.deadNoticeChecksAcked, 1)
  const back = out.timers.filter((t) => t.timer.kind === 'suspicionTimeout')
  assert.deepEqual(back.map((t) => t.afterMs), [MIN_MS - 20], 'the suspicion is back on its own timer: what is left of its timeout')
  deliver(swim, out, at + 30, alive('x', 2, 2))
  assert.equal(swim.member('x')?.state, 'alive', 'and x\'s refutation ends it')
})

test('a checked dead notice whose probe goes unanswered: we declare the member dead ourselves', () => {
  const { swim, out } = withX()
  const at = 1001 + MIN_MS
  deliver(swim, out, at, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  const timeout = lastTimer(out, 'probeTimeout')
  swim.handleTimer(timeout, at + 500, out)
  assert.equal(swim.member('x')?.state, 'suspect', 'not before the probe\'s deadline')
  swim.handleTimer(lastTimer(out, 'probeDeadline'), at + 1000, out)
  assert.equal(swim.member('x')?.state, 'dead')
  const failed = expectEvent(out, 'failed')
  assert.deepEqual([failed.from, failed.via], ['me', 'timeout'])
  assert.equal(swim.stats.deathsDeclared, 1)
  assert.equal(swim.stats.deadNoticeChecksAcked, 0)
})

test('a second softened dead notice is one more confirmation of the suspicion we hold, which still ends in a death if the member never answers', () => {
  // Five members (k = 2 confirmations): the suspicion starts at the longest timeout and shrinks.
  const { swim, out } = withX()
  deliver(swim, out, 1000, alive('y', 1, 3), alive('z', 1, 4), alive('w', 1, 5))
  deliver(swim, out, 2000, { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(swim.member('x')?.state, 'suspect')
  out.clear()
  deliver(swim, out, 2100, { type: 'dead', incarnation: 1, node: 'x', from: 'y' })
  assert.equal(expectEvent(out, 'suspicionConfirmed').from, 'y')
  assert.equal(swim.stats.deadNoticesSoftened, 2)
  // x never answers: the (shrunk) timer fires, the final probe fails, x is dead.
  const timer = lastTimer(out, 'suspicionTimeout')
  const fireAt = 2100 + out.timers.filter((t) => t.timer === timer)[0].afterMs
  assert.ok(fireAt < 2000 + MAX_MS, 'the confirmation shortened the timeout')
  out.clear()
  swim.handleTimer(timer, fireAt, out)
  swim.handleTimer(lastTimer(out, 'probeTimeout'), fireAt + 500, out)
  swim.handleTimer(lastTimer(out, 'probeDeadline'), fireAt + 1000, out)
  assert.equal(swim.member('x')?.state, 'dead')
  assert.equal(expectEvent(out, 'failed').via, 'timeout')
})

test('a push-pull state holding a member we hear from dead raises no suspicion within the longest suspicion timeout; after it, one', () => {
  const state = (incarnation: number): Uint8Array => stateWithX(incarnation, 2)
  const { swim, out } = withX()
  swim.handleStreamRequest(addr(7), state(1), 1000 + MAX_MS, out)
  assert.equal(swim.member('x')?.state, 'alive')
  rejectEvent(out, 'suspected')
  assert.equal(forwardedSuspects(out), 1)
  assert.equal(swim.stats.pushPullAccusationsIgnored, 1)
  out.clear()
  swim.handleStreamRequest(addr(7), state(1), 1001 + MAX_MS, out)
  assert.equal(swim.member('x')?.state, 'suspect')
  assert.equal(expectEvent(out, 'suspected').via, 'pushPull')
})

test('a member told of a second-hand accusation about itself refutes at once', () => {
  const { swim, out } = newNode('x', 2, { calmHealing: true })
  const inc = swim.incarnation
  deliver(swim, out, 10, { type: 'suspect', incarnation: inc, node: 'x', from: 'me' })
  assert.equal(expectEvent(out, 'refuted').incarnation, inc + 1)
})

test('a push-pull state holding alive, at the incarnation we hold dead, a member: it is asked straight to refute, once per probe interval', () => {
  const aliveState = (incarnation: number): Uint8Array => stateWithX(incarnation, 0)
  const asked = (out: ReturnType<typeof newNode>['out']): number =>
    sentMessages(out).filter((s) => s.to.ip === '127.0.0.2' && s.msg.type === 'dead' && s.msg.node === 'x' && s.msg.from === 'me').length
  const { swim, out } = newNode('me', 1, { calmHealing: true })
  deliver(swim, out, 0, alive('x', 1, 2), { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  assert.equal(swim.member('x')?.state, 'dead')
  out.clear()
  swim.handleStreamRequest(addr(7), aliveState(1), 10_000, out)
  assert.equal(swim.member('x')?.state, 'dead', 'an alive at the same incarnation does not revive it')
  assert.equal(asked(out), 1, 'x is sent our dead notice, so that it refutes')
  out.clear()
  swim.handleStreamRequest(addr(7), aliveState(1), 10_500, out)
  assert.equal(asked(out), 0, 'not again within the probe interval')
  // x refutes straight to us (direct refutation): alive at 2 revives it.
  deliver(swim, out, 10_600, alive('x', 2, 2))
  assert.equal(swim.member('x')?.state, 'alive')
  const off = newNode('me', 1, { calmHealing: false })
  deliver(off.swim, off.out, 0, alive('x', 1, 2), { type: 'dead', incarnation: 1, node: 'x', from: 'z' })
  off.out.clear()
  off.swim.handleStreamRequest(addr(7), aliveState(1), 10_000, off.out)
  assert.equal(asked(off.out), 0, 'memberlist\'s rules: nothing sent')
})

test('when a member held dead comes back, each of the other failed members gets one push-pull at the next probe ticks', () => {
  const { swim, out } = newNode('me', 1, { calmHealing: true })
  deliver(swim, out, 0, alive('x', 1, 2), alive('y', 1, 3), alive('z', 1, 4))
  deliver(swim, out, 0, { type: 'dead', incarnation: 1, node: 'x', from: 'q' }, { type: 'dead', incarnation: 1, node: 'y', from: 'q' })
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 1000, out)
  assert.equal(out.streams.length, 0, 'no revival yet: Serf\'s reconnect loop only')
  deliver(swim, out, 1500, alive('x', 2, 2))
  assert.equal(swim.member('x')?.state, 'alive')
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 2000, out)
  const pushPulls = out.streams.filter((s) => { const d = decodeStream(s.bytes); return d.ok && d.value.type === 'pushPull' })
  assert.deepEqual(pushPulls.map((s) => s.to.ip), ['127.0.0.3'], 'y, the one still failed')
  assert.equal(swim.stats.revivalReconnects, 1)
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 3000, out)
  assert.equal(swim.stats.revivalReconnects, 1, 'y was tried once since the revival')
  const off = newNode('me', 1, { calmHealing: false })
  deliver(off.swim, off.out, 0, alive('x', 1, 2), alive('y', 1, 3), { type: 'dead', incarnation: 1, node: 'x', from: 'q' }, { type: 'dead', incarnation: 1, node: 'y', from: 'q' })
  deliver(off.swim, off.out, 1500, alive('x', 2, 2))
  off.swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 2000, off.out)
  assert.equal(off.swim.stats.revivalReconnects, 0)
})
