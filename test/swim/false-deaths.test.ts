// The three departures from memberlist 0.2.2 that keep a live member from being declared dead under
// loss, driven by hand: the final probe before a death, the direct refutation (also of an accusation
// already refuted), and the suspicion reminders. Each is also shown off, where memberlist's rule holds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { SwimConfig } from '../../src/swim/config.js'
import { decodePacket } from '../../src/wire/codec.js'
import type { PingMsg, SuspectMsg } from '../../src/wire/messages.js'
import { addr, alive, deliver, expectEvent, expectTimer, newNode, rejectEvent, sentMessages } from '../helpers/swim-harness.js'

// Five carried members (me, x, a, b, c): min suspicion timeout 4 × log10(5)→1 × 1 s = 4 s, max 24 s.
const MIN_MS = 4000
const MAX_MS = 24_000

/** `me` holds x suspect from t = 1000 (accused by a); returns the node and the expiring timer. */
function suspectX(config: Partial<SwimConfig> = {}) {
  const node = newNode('me', 1, config)
  deliver(node.swim, node.out, 0, alive('x', 1, 2), alive('a', 1, 3), alive('b', 1, 4), alive('c', 1, 5))
  deliver(node.swim, node.out, 1000, { type: 'suspect', incarnation: 1, node: 'x', from: 'a' })
  const timer = expectTimer(node.out, 'suspicionTimeout')
  assert.equal(timer.afterMs, MAX_MS)
  node.out.clear()
  return { ...node, timer: timer.timer }
}

function sentTo(out: ReturnType<typeof newNode>['out'], ip: string) {
  return sentMessages(out).filter((s) => s.to.ip === ip).map((s) => s.msg)
}

test('an expired suspicion is probed once more, with the suspicion attached, instead of declaring death', () => {
  const { swim, out, timer } = suspectX()
  swim.handleTimer(timer, 1000 + MAX_MS, out)
  rejectEvent(out, 'failed')
  assert.equal(swim.member('x')?.state, 'suspect')
  assert.deepEqual(sentTo(out, '127.0.0.2').map((m) => m.type), ['ping', 'suspect'])
  assert.equal(swim.stats.finalProbes, 1)
})

test('a final probe that nobody answers within the probe interval declares the member dead', () => {
  const { swim, out, timer } = suspectX()
  swim.handleTimer(timer, 1000 + MAX_MS, out)
  const ping = sentTo(out, '127.0.0.2')[0] as PingMsg
  out.clear()
  swim.handleTimer({ kind: 'probeTimeout', seqNo: ping.seqNo }, 1500 + MAX_MS, out)
  assert.equal(sentMessages(out).filter((s) => s.msg.type === 'indirectPing').length, 3, 'helpers asked too')
  const deadline = expectTimer(out, 'probeDeadline')
  swim.handleTimer(deadline.timer, 2000 + MAX_MS, out)
  const failed = expectEvent(out, 'failed')
  assert.deepEqual([failed.member.name, failed.from, failed.via], ['x', 'me', 'timeout'])
  assert.equal(swim.member('x')?.state, 'dead')
})

test('an ack to the final probe postpones the death a probe interval; the refutation it provoked then ends the suspicion', () => {
  const { swim, out, timer } = suspectX()
  swim.handleTimer(timer, 1000 + MAX_MS, out)
  const ping = sentTo(out, '127.0.0.2')[0] as PingMsg
  out.clear()
  deliver(swim, out, 1010 + MAX_MS, { type: 'ack', seqNo: ping.seqNo, payload: null })
  rejectEvent(out, 'failed')
  assert.equal(swim.stats.finalProbeAcks, 1)
  const again = expectTimer(out, 'suspicionTimeout')
  assert.equal(again.afterMs, 1000, 'asked again a probe interval later')
  deliver(swim, out, 1020 + MAX_MS, alive('x', 2, 2))
  assert.equal(swim.member('x')?.state, 'alive')
  out.clear()
  swim.handleTimer(again.timer, 2010 + MAX_MS, out)
  assert.equal(out.packets.length, 0, 'the stale timer does nothing')
})

test('acks postpone a death only until the suspicion has lasted its longest timeout plus its shortest', () => {
  const { swim, out, timer } = suspectX()
  let t = 1000 + MAX_MS
  let next = timer
  let rounds = 0
  for (;;) {
    out.clear()
    swim.handleTimer(next, t, out)
    const ping = sentTo(out, '127.0.0.2').find((m) => m.type === 'ping') as PingMsg
    out.clear()
    deliver(swim, out, t + 5, { type: 'ack', seqNo: ping.seqNo, payload: null })
    if (swim.member('x')?.state === 'dead') break
    next = expectTimer(out, 'suspicionTimeout').timer
    t += 1000
    rounds++
    assert.ok(rounds < 100)
  }
  assert.equal(rounds, MIN_MS / 1000, 'one postponement per probe interval of the shortest timeout')
  assert.ok(t + 5 - 1000 >= MAX_MS + MIN_MS)
})

test('with finalProbe off the expired suspicion is a death at once (memberlist)', () => {
  const { swim, out, timer } = suspectX({ finalProbe: false })
  swim.handleTimer(timer, 1000 + MAX_MS, out)
  assert.equal(expectEvent(out, 'failed').member.name, 'x')
})

test('an accusation about us is refuted by gossip and also answered straight to the packet\'s sender and the accuser', () => {
  const { swim, out } = newNode('x', 2)
  deliver(swim, out, 0, alive('a', 1, 3))
  out.clear()
  const inc = swim.incarnation
  deliver(swim, out, 10, { type: 'suspect', incarnation: inc, node: 'x', from: 'a' })
  assert.equal(expectEvent(out, 'refuted').incarnation, inc + 1)
  for (const ip of ['127.0.0.99', '127.0.0.3']) {
    const sent = sentTo(out, ip)
    assert.equal(sent.length, 1, `one alive to ${ip}`)
    assert.equal(sent[0].type === 'alive' && sent[0].incarnation, inc + 1)
  }
  assert.equal(swim.stats.directRefutations, 2)
})

test('an accusation already refuted (an older incarnation) is answered with our current alive, once per probe interval', () => {
  const { swim, out } = newNode('x', 2)
  deliver(swim, out, 0, alive('a', 1, 3))
  deliver(swim, out, 10, { type: 'suspect', incarnation: swim.incarnation, node: 'x', from: 'a' })
  const inc = swim.incarnation
  out.clear()
  const stale: SuspectMsg = { type: 'suspect', incarnation: inc - 1, node: 'x', from: 'a' }
  deliver(swim, out, 2000, stale)
  rejectEvent(out, 'refuted')
  assert.equal(swim.incarnation, inc, 'no new incarnation for an old accusation')
  const answers = sentMessages(out).filter((s) => s.msg.type === 'alive')
  assert.deepEqual(answers.map((s) => s.to.ip).sort(), ['127.0.0.3', '127.0.0.99'])
  assert.ok(answers.every((s) => s.msg.type === 'alive' && s.msg.incarnation === inc))
  out.clear()
  deliver(swim, out, 2500, stale)
  assert.equal(out.packets.length, 0, 'not again within the probe interval')
  deliver(swim, out, 3000, { type: 'dead', incarnation: inc - 1, node: 'x', from: 'a' })
  assert.equal(sentMessages(out).filter((s) => s.msg.type === 'alive').length, 2, 'a stale dead notice is answered too')
})

test('with directRefutation off an accusation already refuted is ignored and a refutation only gossiped (memberlist)', () => {
  const { swim, out } = newNode('x', 2, { directRefutation: false })
  deliver(swim, out, 0, alive('a', 1, 3))
  out.clear()
  deliver(swim, out, 10, { type: 'suspect', incarnation: swim.incarnation, node: 'x', from: 'a' })
  expectEvent(out, 'refuted')
  assert.equal(out.packets.length, 0)
  deliver(swim, out, 2000, { type: 'suspect', incarnation: swim.incarnation - 1, node: 'x', from: 'a' })
  assert.equal(out.packets.length, 0)
})

test('a suspicion we hold is sent straight to the suspect every two probe intervals, and no longer once it is refuted', () => {
  const { swim, out } = suspectX()
  // A reminder is a packet to x holding our suspicion alone (a probe of x would carry a ping with it).
  const reminders = (): SuspectMsg[] =>
    out.packets
      .filter((p) => p.to.ip === '127.0.0.2')
      .map((p) => decodePacket(p.bytes).messages)
      .filter((msgs) => msgs.length === 1 && msgs[0].type === 'suspect')
      .map((msgs) => msgs[0] as SuspectMsg)
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 2500, out)
  assert.equal(reminders().length, 0, 'not within two probe intervals of the suspicion')
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 3000, out)
  const r = reminders()
  assert.equal(r.length, 1, 'reminded two probe intervals after the suspicion began')
  assert.deepEqual([r[0].node, r[0].incarnation, r[0].from], ['x', 1, 'me'])
  assert.equal(swim.stats.suspicionReminders, 1)
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 4000, out)
  assert.equal(reminders().length, 0, 'not again within two probe intervals')
  deliver(swim, out, 4100, alive('x', 2, 2))
  out.clear()
  swim.handleTimer({ kind: 'probeTick', epoch: 0 }, 6000, out)
  assert.equal(reminders().length, 0, 'none once refuted')
})

test('with suspicionReminders off only a probe tells the suspect (memberlist)', () => {
  const { swim, out } = suspectX({ suspicionReminders: false })
  for (const t of [3000, 5000, 7000]) swim.handleTimer({ kind: 'probeTick', epoch: 0 }, t, out)
  assert.equal(swim.stats.suspicionReminders, 0)
})
