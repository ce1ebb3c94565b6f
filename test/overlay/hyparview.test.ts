// HyParView, one message at a time: what each input does to the views and what it sends.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { ConfigError } from '../../src/core/errors.js'
import { HyParView } from '../../src/overlay/hyparview.js'
import { decodeOverlayMessage, encodeOverlayMessage, type HyParViewMessage, type OverlayMessage } from '../../src/overlay/messages.js'
import { CollectingOverlayOutbox, type HyParViewEvent, type HyParViewTimer } from '../../src/overlay/types.js'

type Out = CollectingOverlayOutbox<HyParViewTimer, HyParViewEvent>

function node(self = 'x', seeds: string[] = [], seed = 1): { hv: HyParView; out: Out } {
  const hv = new HyParView({ self, rng: new SeededRng(seed), seeds, config: { activeViewSize: 3, passiveViewSize: 5, activeRandomWalkLength: 4, passiveRandomWalkLength: 2 } })
  const out: Out = new CollectingOverlayOutbox()
  hv.start(0, out)
  out.clear()
  return { hv, out }
}

function sent(out: Out): Array<{ to: string; m: OverlayMessage }> {
  return out.sent.map((s) => {
    const r = decodeOverlayMessage(s.bytes)
    assert.ok(r.ok)
    return { to: s.to, m: r.value }
  })
}

function give(hv: HyParView, out: Out, m: HyParViewMessage, nowMs = 0): void {
  hv.handleMessage(encodeOverlayMessage(m), nowMs, out)
}

/** Fills the active view with `peers` (each tells x it accepted x) and clears the outbox. */
function withActive(hv: HyParView, out: Out, peers: string[]): void {
  for (const p of peers) give(hv, out, { kind: 'neighborReply', from: p, accepted: true })
  out.clear()
}

function withPassive(hv: HyParView, out: Out, peers: string[]): void {
  give(hv, out, { kind: 'shuffleReply', from: 'zz', peers })
  out.clear()
}

test('JOIN: the contact takes the new node, tells it, and starts an ARWL walk through each other neighbour', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  give(hv, out, { kind: 'join', from: 'n' })
  assert.deepEqual(hv.activeView().sort(), ['a', 'b', 'n'])
  const s = sent(out)
  assert.deepEqual(s.find((x) => x.to === 'n')?.m, { kind: 'neighborReply', from: 'x', accepted: true })
  const walks = s.filter((x) => x.m.kind === 'forwardJoin')
  assert.deepEqual(walks.map((w) => w.to).sort(), ['a', 'b'])
  for (const w of walks) assert.deepEqual(w.m, { kind: 'forwardJoin', from: 'x', newPeer: 'n', ttl: 4 })
  assert.deepEqual(out.events, [{ type: 'neighbor-up', peer: 'n' }])
})

test('JOIN at a full contact evicts a random neighbour with DISCONNECT and keeps it as a backup', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b', 'c'])
  give(hv, out, { kind: 'join', from: 'n' })
  assert.equal(hv.activeSize, 3)
  const down = out.events.find((e) => e.type === 'neighbor-down')
  assert.ok(down && down.type === 'neighbor-down' && down.cause === 'evicted')
  assert.ok(hv.passiveView().includes(down.peer))
  assert.ok(sent(out).some((x) => x.to === down.peer && x.m.kind === 'disconnect' && !x.m.leaving))
  assert.deepEqual(hv.checkInvariants(), [])
})

test('FORWARD_JOIN: the walk ends at ttl 0 with a new symmetric link; at PRWL the node keeps a passive copy and forwards', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  give(hv, out, { kind: 'forwardJoin', from: 'a', newPeer: 'n', ttl: 2 })
  assert.ok(hv.passiveView().includes('n'))
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'forwardJoin', from: 'x', newPeer: 'n', ttl: 1 } }])
  out.clear()
  give(hv, out, { kind: 'forwardJoin', from: 'a', newPeer: 'm', ttl: 0 })
  assert.ok(hv.isActive('m'))
  assert.deepEqual(sent(out), [{ to: 'm', m: { kind: 'neighborReply', from: 'x', accepted: true } }])
})

test('FORWARD_JOIN at a node with a single neighbour ends the walk there', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a'])
  give(hv, out, { kind: 'forwardJoin', from: 'a', newPeer: 'n', ttl: 3 })
  assert.ok(hv.isActive('n'))
})

test('NEIGHBOR: low priority is refused by a full view, high priority always accepted', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b', 'c'])
  give(hv, out, { kind: 'neighbor', from: 'p', highPriority: false })
  assert.deepEqual(sent(out), [{ to: 'p', m: { kind: 'neighborReply', from: 'x', accepted: false } }])
  assert.ok(!hv.isActive('p'))
  out.clear()
  give(hv, out, { kind: 'neighbor', from: 'q', highPriority: true })
  assert.ok(hv.isActive('q'))
  assert.ok(sent(out).some((x) => x.to === 'q' && x.m.kind === 'neighborReply' && x.m.accepted))
  assert.equal(hv.activeSize, 3)
})

test('NEIGHBOR with room is accepted at low priority', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a'])
  give(hv, out, { kind: 'neighbor', from: 'p', highPriority: false })
  assert.ok(hv.isActive('p'))
})

test('DISCONNECT: a peer that dropped the link goes to the passive view and a backup is asked to replace it', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b', 'c'])
  withPassive(hv, out, ['p'])
  give(hv, out, { kind: 'disconnect', from: 'a', leaving: false })
  assert.deepEqual(out.events, [{ type: 'neighbor-down', peer: 'a', cause: 'disconnect' }])
  assert.ok(hv.passiveView().includes('a'))
  const asks = sent(out).filter((x) => x.m.kind === 'neighbor')
  assert.equal(asks.length, 1)
  assert.ok(['a', 'p'].includes(asks[0].to))
})

test('DISCONNECT with leaving: the peer is forgotten and the cause is shutdown', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  give(hv, out, { kind: 'disconnect', from: 'a', leaving: true })
  assert.deepEqual(out.events, [{ type: 'neighbor-down', peer: 'a', cause: 'shutdown' }])
  assert.ok(!hv.passiveView().includes('a') && !hv.isActive('a'))
})

test('a refused NEIGHBOR request moves on to another passive peer; a silent one is dropped at its timeout', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a'])
  withPassive(hv, out, ['p', 'q'])
  hv.handleTimer({ kind: 'keepAlive', epoch: 1 }, 1, out)
  const first = sent(out).find((x) => x.m.kind === 'neighbor')
  assert.ok(first)
  const timer = out.timers.find((t) => t.timer.kind === 'neighborTimeout')
  assert.ok(timer && timer.afterMs === 500)
  out.clear()
  give(hv, out, { kind: 'neighborReply', from: first.to, accepted: false }, 2)
  const second = sent(out).find((x) => x.m.kind === 'neighbor')
  assert.ok(second && second.to !== first.to)
  assert.ok(!out.timers.some((t) => t.timer.kind === 'neighborTimeout'), 'the armed timer covers the second request too')
  out.clear()
  hv.handleTimer(timer.timer, 501, out)
  assert.deepEqual(out.timers.map((t) => [t.timer.kind, t.afterMs]), [['neighborTimeout', 1]], 'the second request is 499 ms old: re-armed for the rest')
  assert.ok(hv.passiveView().includes(second.to))
  out.clear()
  hv.handleTimer(timer.timer, 502, out)
  assert.ok(!hv.passiveView().includes(second.to), 'a silent backup is dropped')
  assert.ok(hv.passiveView().includes(first.to), 'a refusing backup is alive and kept')
})

test('SHUFFLE: forwarded while ttl lasts, then answered to the origin with passive peers and merged', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  withPassive(hv, out, ['p', 'q', 'r'])
  give(hv, out, { kind: 'shuffle', from: 'a', origin: 'o', ttl: 3, peers: ['o', 's'] })
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'shuffle', from: 'x', origin: 'o', ttl: 2, peers: ['o', 's'] } }])
  out.clear()
  give(hv, out, { kind: 'shuffle', from: 'a', origin: 'o', ttl: 1, peers: ['o', 's'] })
  const [reply] = sent(out)
  assert.equal(reply.to, 'o')
  assert.ok(reply.m.kind === 'shuffleReply' && reply.m.peers.length === 2)
  assert.ok(hv.passiveView().includes('o') && hv.passiveView().includes('s'))
  assert.deepEqual(hv.checkInvariants(), [])
})

test('SHUFFLE: the periodic shuffle sends self, ka active and kp passive peers to one neighbour', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b', 'c'])
  withPassive(hv, out, ['p', 'q', 'r', 's', 't'])
  hv.handleTimer({ kind: 'shuffle', epoch: 1 }, 10, out)
  const [s] = sent(out)
  assert.ok(s.m.kind === 'shuffle')
  assert.equal(s.m.peers[0], 'x')
  assert.equal(s.m.peers.length, 1 + 2 + 4) // 2 other active peers (ka = 3 capped), 4 passive
  assert.equal(s.m.ttl, 4)
  assert.ok(out.timers.some((t) => t.timer.kind === 'shuffle'))
})

test('SHUFFLE_REPLY: entries we sent are evicted first to make room', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  withPassive(hv, out, ['p', 'q', 'r', 's', 't'])
  hv.handleTimer({ kind: 'shuffle', epoch: 1 }, 10, out)
  const [s] = sent(out)
  assert.ok(s.m.kind === 'shuffle')
  const sentPassive = s.m.peers.filter((p) => ['p', 'q', 'r', 's', 't'].includes(p))
  give(hv, out, { kind: 'shuffleReply', from: 'z', peers: ['u', 'v'] })
  const passive = hv.passiveView()
  assert.ok(passive.includes('u') && passive.includes('v'))
  const evicted = ['p', 'q', 'r', 's', 't'].filter((p) => !passive.includes(p))
  for (const e of evicted) assert.ok(sentPassive.includes(e), `${e} was not sent but was evicted`)
})

test('PING from a node that is not a neighbour is answered with DISCONNECT (a one-sided link is closed)', () => {
  const { hv, out } = node()
  give(hv, out, { kind: 'ping', from: 'stranger' })
  assert.deepEqual(sent(out), [{ to: 'stranger', m: { kind: 'disconnect', from: 'x', leaving: false } }])
})

test('a tree message over a link we do not hold is answered with DISCONNECT; from a neighbour or from the peer we are asking, it is not', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a'])
  assert.equal(hv.linkUsedBy('a', 500, out), true)
  assert.equal(out.sent.length, 0)
  // A one-sided link: b holds x as a neighbour (its DISCONNECT from x was lost or overtaken), x does not.
  assert.equal(hv.linkUsedBy('b', 500, out), false)
  assert.deepEqual(sent(out), [{ to: 'b', m: { kind: 'disconnect', from: 'x', leaving: false } }])
  assert.equal(hv.counters.oneSidedLinksRefused, 1)
  assert.deepEqual(hv.activeView(), ['a'])
  out.clear()
  // The peer a NEIGHBOR request is out to may push before its acceptance arrives: not refused.
  withPassive(hv, out, ['p'])
  give(hv, out, { kind: 'disconnect', from: 'a', leaving: false })
  const asked = sent(out).find((s) => s.m.kind === 'neighbor')?.to
  assert.ok(asked !== undefined)
  out.clear()
  assert.equal(hv.linkUsedBy(asked, 600, out), false)
  assert.equal(out.sent.length, 0)
})

test('a one-sided link ends at its first tree message: the holder drops it on the DISCONNECT and asks a backup instead', () => {
  const x = node('x')
  const y = node('y', [], 2)
  withActive(y.hv, y.out, ['x', 'c'])
  withPassive(y.hv, y.out, ['d'])
  // x never took y; y pushes to x, x refuses, y drops the link with cause disconnect and repairs.
  assert.equal(x.hv.linkUsedBy('y', 100, x.out), false)
  for (const s of x.out.sent) y.hv.handleMessage(s.bytes, 110, y.out)
  assert.deepEqual(y.hv.activeView(), ['c'])
  assert.deepEqual(y.out.events, [{ type: 'neighbor-down', peer: 'x', cause: 'disconnect' }])
  assert.ok(sent(y.out).some((s) => s.m.kind === 'neighbor'))
})

test('keep-alive: a silent neighbour times out, the cause is timeout, and an empty view asks a backup at high priority', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a'])
  hv.handleTimer({ kind: 'keepAlive', epoch: 1 }, 1000, out)
  assert.ok(sent(out).some((x) => x.to === 'a' && x.m.kind === 'ping'))
  out.clear()
  withPassive(hv, out, ['p'])
  hv.handleTimer({ kind: 'keepAlive', epoch: 1 }, 6000, out)
  assert.deepEqual(out.events.slice(0, 2), [{ type: 'neighbor-down', peer: 'a', cause: 'timeout' }, { type: 'isolated' }])
  const ask = sent(out).find((x) => x.m.kind === 'neighbor')
  assert.deepEqual(ask, { to: 'p', m: { kind: 'neighbor', from: 'x', highPriority: true } })
})

test('isolation: with no backups left the node rejoins through a seed', () => {
  const { hv, out } = node('x', ['seed1'])
  withActive(hv, out, ['a'])
  hv.sendFailed('a', 5, out)
  assert.deepEqual(out.events, [{ type: 'neighbor-down', peer: 'a', cause: 'unreachable' }, { type: 'isolated' }])
  assert.deepEqual(sent(out), [{ to: 'seed1', m: { kind: 'join', from: 'x' } }])
  assert.equal(hv.counters.rejoins, 1)
})

test('leave tells every neighbour it is shutting down and empties the views', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  hv.leave(out)
  assert.deepEqual(sent(out).map((x) => [x.to, x.m.kind === 'disconnect' && x.m.leaving]).sort(), [['a', true], ['b', true]])
  assert.equal(hv.activeSize, 0)
})

test('messages from self and undecodable bytes change nothing; the drop is counted by reason', () => {
  const { hv, out } = node()
  give(hv, out, { kind: 'join', from: 'x' })
  hv.handleMessage(Uint8Array.of(0xc1), 0, out)
  hv.handleMessage(encodeOverlayMessage({ kind: 'prune', from: 'a' }), 0, out)
  assert.equal(hv.activeSize, 0)
  assert.equal(out.sent.length, 0)
  assert.equal(hv.counters.decodeErrors['bad-msgpack'], 1)
  assert.equal(hv.counters.decodeErrors['not-supported'], 1)
})

test('a bad configuration names every bad field', () => {
  assert.throws(
    () => new HyParView({ self: 'x', rng: new SeededRng(1), config: { activeViewSize: 0, keepAliveIntervalMs: -1 } }),
    (e: unknown) => e instanceof ConfigError && e.problems.length === 2 && e.message.includes('activeViewSize'),
  )
  assert.throws(() => new HyParView({ self: '', rng: new SeededRng(1) }), ConfigError)
})

test('samplePeers gives active neighbours first, then passive backups, never more than asked', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  withPassive(hv, out, ['p', 'q', 'r'])
  const s = hv.samplePeers(4)
  assert.equal(s.length, 4)
  assert.deepEqual(s.slice(0, 2).sort(), ['a', 'b'])
  assert.equal(new Set(s).size, 4)
  assert.equal(hv.samplePeers(100).length, 5)
})

test('heal: a neighbour lost to timeout is probed with a direct SHUFFLE each shuffle period; its reply remakes the link with a high-priority NEIGHBOR', () => {
  const { hv, out } = node()
  withActive(hv, out, ['a', 'b'])
  // Only b keeps talking: a times out.
  const timeout = hv.config.keepAliveTimeoutMs
  hv.heardFrom('b', timeout + 1)
  hv.handleTimer({ kind: 'keepAlive', epoch: 1 }, timeout + 1, out)
  assert.ok(out.events.some((e) => e.type === 'neighbor-down' && e.peer === 'a' && e.cause === 'timeout'))
  out.clear()
  hv.handleTimer({ kind: 'shuffle', epoch: 1 }, timeout + 2, out)
  const probe = sent(out).find((s) => s.to === 'a')
  assert.ok(probe !== undefined && probe.m.kind === 'shuffle', 'the lost neighbour is probed')
  assert.equal(probe.m.kind === 'shuffle' && probe.m.ttl, 0)
  out.clear()
  // The path is back: a answers. The active view is not full, so the link is made again at once.
  give(hv, out, { kind: 'shuffleReply', from: 'a', peers: [] }, timeout + 3)
  assert.deepEqual(sent(out).filter((s) => s.to === 'a').map((s) => s.m), [{ kind: 'neighbor', from: 'x', highPriority: true }])
  assert.equal(hv.counters.reconnects, 1)
  give(hv, out, { kind: 'neighborReply', from: 'a', accepted: true }, timeout + 4)
  assert.ok(hv.isActive('a'))
  out.clear()
  // Answered once: no longer probed.
  hv.handleTimer({ kind: 'shuffle', epoch: 1 }, timeout + 5, out)
  assert.ok(!sent(out).some((s) => s.to === 'a' && s.m.kind === 'shuffle' && s.m.ttl === 0))
})

test('heal is off with reconnectWindowMs 0, and a lost neighbour is forgotten after the window', () => {
  const off = new HyParView({ self: 'x', rng: new SeededRng(1), config: { reconnectWindowMs: 0 } })
  const out: Out = new CollectingOverlayOutbox()
  off.start(0, out)
  withActive(off, out, ['a'])
  off.handleTimer({ kind: 'keepAlive', epoch: 1 }, 10_000, out)
  out.clear()
  off.handleTimer({ kind: 'shuffle', epoch: 1 }, 10_001, out)
  assert.ok(!sent(out).some((s) => s.to === 'a'))
  const { hv, out: o2 } = node()
  withActive(hv, o2, ['a'])
  hv.handleTimer({ kind: 'keepAlive', epoch: 1 }, 10_000, o2)
  o2.clear()
  hv.handleTimer({ kind: 'shuffle', epoch: 1 }, 10_000 + hv.config.reconnectWindowMs + 1, o2)
  assert.ok(!sent(o2).some((s) => s.to === 'a' && s.m.kind === 'shuffle' && s.m.ttl === 0))
})
