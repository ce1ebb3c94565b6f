// The simulator's mechanics, driven with a scripted stand-in protocol (helpers/stub-protocol.ts) so that
// what is tested is the simulator itself: ordering, pause, crash, restart, streams, partitions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Simulation, SimulationError } from '../../src/runtime/sim/simulation.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { ViewTracker } from '../../src/runtime/sim/checkers.js'
import type { SimOutbox } from '../../src/runtime/sim/protocol.js'
import { createStub, stubOf } from './helpers/stub-protocol.js'
import { fixedSim, openStream, send } from './helpers/stub-sim.js'

function schedule(sim: Simulation, node: SimNode, kind: 'probeTick' | 'gossipTick' | 'reapTick', epoch: number, afterMs: number): void {
  sim.invoke(node, (_p, _now, out) => out.schedule({ kind, epoch }, afterMs))
}

test('spawn names, addresses and starts nodes, which join through the first node', () => {
  const sim = fixedSim()
  const nodes = sim.spawn(3)
  assert.deepEqual(nodes.map((n) => n.name), ['node-000', 'node-001', 'node-002'])
  assert.deepEqual(nodes.map((n) => `${n.address.ip}:${n.address.port}`), ['127.1.0.1:7946', '127.1.0.2:7946', '127.1.0.3:7946'])
  assert.equal(sim.addressFor(250).ip, '127.1.1.1')
  assert.deepEqual(stubOf(nodes[0]).of('join'), [], 'the first node joins nobody')
  assert.deepEqual(stubOf(nodes[1]).of('join'), [{ kind: 'join', at: 0, seeds: ['127.1.0.1:7946'] }])
  assert.equal(stubOf(nodes[2]).of('start').length, 1)
  const later = sim.addNode()
  assert.equal(later.name, 'node-003')
  assert.deepEqual(stubOf(later).of('join')[0].seeds, ['127.1.0.1:7946'])
})

test('timers due at the same instant fire in scheduling order, and the clock jumps', () => {
  const sim = fixedSim()
  const [a] = sim.spawn(1)
  schedule(sim, a, 'reapTick', 1, 500)
  schedule(sim, a, 'probeTick', 2, 200)
  schedule(sim, a, 'gossipTick', 3, 500)
  sim.runFor(10_000)
  assert.deepEqual(stubOf(a).of('timer').map((t) => [t.at, t.timer.kind]), [[200, 'probeTick'], [500, 'reapTick'], [500, 'gossipTick']])
  assert.equal(sim.nowMs, 10_000)
})

test('pause holds timers and packets, then fires late timers first in due order, then deliveries in arrival order', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  schedule(sim, b, 'probeTick', 1, 500)
  schedule(sim, b, 'gossipTick', 1, 300)
  schedule(sim, b, 'reapTick', 1, 1500)
  sim.runFor(100)
  sim.pause(b, 1000) // 100 .. 1100
  assert.equal(b.status, 'paused')
  sim.at(200, () => send(sim, a, b.address, 1))
  sim.at(250, () => send(sim, a, b.address, 2))
  sim.at(1095, () => send(sim, a, b.address, 3)) // arrives 1105, after the resume
  sim.runFor(2000)
  const seen = stubOf(b).inputs.filter((i) => i.kind === 'timer' || i.kind === 'packet').map((i) => (i.kind === 'timer' ? `${i.at} timer ${i.timer.kind}` : `${i.at} packet ${i.kind === 'packet' ? i.bytes[0] : ''}`))
  assert.deepEqual(seen, [
    '1100 timer gossipTick',
    '1100 timer probeTick',
    '1100 packet 1',
    '1100 packet 2',
    '1105 packet 3',
    '1500 timer reapTick',
  ])
  assert.equal(b.status, 'running')
  assert.deepEqual(sim.faults.filter((f) => f.kind === 'resume').map((f) => [f.atMs, f.detail]), [[1100, '2 timers, 2 deliveries held']])
})

test('pausing a paused node extends the pause', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  sim.pause(b, 100)
  sim.runFor(50)
  sim.pause(b, 200) // until 250
  send(sim, a, b.address, 7)
  sim.runFor(1000)
  assert.deepEqual(stubOf(b).of('packet').map((p) => p.at), [250])
})

test('a stream to a paused node is served at resume and answered after', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  sim.pause(b, 500)
  openStream(sim, a, b.address, 9, true, 10_000)
  sim.runFor(1000)
  // The paused node's kernel does the handshake, and the request is in by 30 ms; only the process
  // waits. Had the handshake waited too, the reply would come at 540.
  assert.deepEqual(stubOf(b).of('streamRequest').map((r) => r.at), [500])
  assert.deepEqual(stubOf(a).of('streamReply').map((r) => [r.at, r.exchangeId, r.result]), [[510, 9, 'ok:3,2,1']])
})

test('a stream exchange takes a handshake, then one delay each way, and reports delivery without a reply', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  openStream(sim, a, b.address, 1, true)
  openStream(sim, a, b.address, 2, false)
  stubOf(b).replyTo = (bytes) => (bytes[0] === 9 ? null : Uint8Array.of(42))
  openStream(sim, a, b.address, 3, true, 1000, [9])
  sim.runFor(5000)
  // SYN at 0 arrives at 10, SYN-ACK back at 20 with the request sent at once: it arrives at 30.
  assert.deepEqual(stubOf(b).of('streamRequest').map((r) => r.at), [30, 30, 30])
  assert.deepEqual(stubOf(a).of('streamReply').map((r) => [r.at, r.exchangeId, r.result]), [
    [30, 2, 'ok:'],
    [40, 1, 'ok:42'],
    [40, 3, 'reset'],
  ])
  assert.equal(a.counters.streamsOpened, 3)
  assert.equal(b.counters.streamsAccepted, 3)
  assert.equal(a.counters.streamsFailed, 1)
})

test('streams across a partition time out, and need both directions', () => {
  const sim = fixedSim()
  const [a, b, c] = sim.spawn(3, { join: false })
  sim.partition([b], [a], { oneWay: true }) // b cannot reach a; a still reaches b
  openStream(sim, a, b.address, 1, true, 700)
  send(sim, a, b.address, 5)
  send(sim, b, a.address, 6)
  openStream(sim, a, c.address, 2, true, 700)
  sim.runFor(2000)
  assert.deepEqual(stubOf(a).of('streamReply').map((r) => [r.at, r.exchangeId, r.result]), [
    [40, 2, 'ok:3,2,1'],
    [700, 1, 'timeout'],
  ])
  assert.deepEqual(stubOf(b).of('streamRequest'), [], 'no handshake (b\'s SYN-ACKs vanish), no request')
  assert.deepEqual(stubOf(b).of('packet').map((p) => p.bytes), [[5]], 'a → b datagrams pass')
  assert.deepEqual(stubOf(a).of('packet'), [], 'b → a datagrams are blocked')
  sim.heal()
  openStream(sim, a, b.address, 3, true, 700)
  sim.runFor(100)
  assert.equal(stubOf(a).of('streamReply').at(-1)?.result, 'ok:3,2,1')
})

test('a crashed node drops packets, refuses streams after one round trip and loses its timers', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  schedule(sim, b, 'probeTick', 1, 100)
  sim.runFor(50)
  const old = stubOf(b)
  sim.crash(b)
  assert.equal(b.status, 'crashed')
  assert.ok(old.shutDown)
  send(sim, a, b.address, 1)
  openStream(sim, a, b.address, 4, true, 5000)
  sim.runFor(1000)
  assert.deepEqual(old.of('timer'), [], 'its timer never fires')
  assert.deepEqual(old.of('packet'), [])
  assert.equal(sim.stats.packetsVanished, 1)
  assert.deepEqual(stubOf(a).of('streamReply').map((r) => [r.at, r.result]), [[70, 'refused']])
  sim.crash(b) // no-op
  assert.equal(sim.faults.filter((f) => f.kind === 'crash').length, 1)
})

test('restart brings a fresh protocol with the same identity, which rejoins', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2)
  schedule(sim, b, 'probeTick', 1, 500)
  const first = stubOf(b)
  sim.runFor(100)
  sim.crash(b)
  sim.runFor(100)
  sim.restart(b)
  const second = stubOf(b)
  assert.notEqual(first, second)
  assert.equal(second.name, 'node-001')
  assert.deepEqual(second.address, b.address)
  assert.equal(b.status, 'running')
  assert.equal(b.restarts, 1)
  assert.deepEqual(second.of('join'), [{ kind: 'join', at: 200, seeds: ['127.1.0.1:7946'] }])
  assert.notEqual(second.options.rng.u32(), first.options.rng.u32(), 'a restart draws a different random stream')
  sim.runFor(1000)
  assert.deepEqual(second.of('timer'), [], 'the old instance’s timer is not delivered to the new one')
  send(sim, a, b.address, 8)
  sim.runFor(100)
  assert.deepEqual(second.of('packet').map((p) => p.bytes), [[8]])
  // The first node restarts without seeds of its own: it rejoins through another live node.
  sim.restart(a)
  assert.deepEqual(stubOf(a).of('join')[0].seeds, ['127.1.0.2:7946'])
})

test('a reply to an opener that crashed is dropped', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  openStream(sim, a, b.address, 1, true, 1000)
  sim.runFor(25) // the request left at 20, as the handshake completed; it arrives at 30
  sim.crash(a)
  sim.restart(a)
  sim.runFor(2000)
  assert.equal(stubOf(b).of('streamRequest').length, 1)
  assert.deepEqual(stubOf(a).of('streamReply'), [], 'neither the reply nor the timeout reaches the new instance')
})

test('leave stops the node when it reports leaveCompleted, and events are recorded with virtual time', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  sim.runFor(40)
  sim.leave(b)
  assert.equal(b.leaving, true)
  sim.runFor(200)
  assert.equal(b.status, 'left')
  assert.deepEqual(b.events, [{ atMs: 140, event: { type: 'leaveCompleted', timedOut: true } }])
  send(sim, a, b.address, 1)
  sim.runFor(100)
  assert.equal(sim.stats.packetsVanished, 1)
  assert.throws(() => sim.leave(b), SimulationError)
})

test('unknown addresses swallow packets, and streams to them time out', () => {
  const sim = fixedSim()
  const [a] = sim.spawn(1)
  const nowhere = { ip: '10.9.9.9', port: 7946 }
  send(sim, a, nowhere, 1)
  openStream(sim, a, nowhere, 5, true, 300)
  sim.runFor(1000)
  assert.equal(sim.stats.packetsToNowhere, 1)
  assert.deepEqual(stubOf(a).of('streamReply').map((r) => [r.at, r.result]), [[300, 'timeout']])
})

test('runUntil stops at the instant the predicate holds', () => {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  sim.at(123, () => send(sim, a, b.address, 1))
  assert.equal(sim.runUntil(() => stubOf(b).of('packet').length > 0, 10_000), true)
  assert.equal(sim.nowMs, 133)
  assert.equal(sim.runUntil(() => false, 500), false)
  assert.equal(sim.nowMs, 633)
  assert.equal(sim.runUntil(() => sim.nowMs >= 1000, 5000, { checkEveryMs: 100 }), true)
  assert.equal(sim.nowMs, 1033)
})

test('a throwing protocol is reported with node, seed and time', () => {
  const sim = fixedSim(77)
  const [a] = sim.spawn(1)
  stubOf(a).onTimer = () => {
    throw new Error('boom')
  }
  schedule(sim, a, 'probeTick', 1, 25)
  assert.throws(() => sim.runFor(100), (e: unknown) => e instanceof SimulationError && /node-000 threw: boom/.test(e.message) && /seed 77/.test(e.message) && e.atMs === 25)
})

/** A chatty stand-in: every tick it sends to a random peer and sometimes opens a stream, using its seeded rng. */
function chattyRun(seed: number): { hash: string; lines: number } {
  const lines: string[] = []
  const sim = new Simulation({
    seed,
    network: { latencyMs: [1, 20], packetLossProbability: 0.1, packetDuplicationProbability: 0.05, packetReorderProbability: 0.05 },
    createProtocol: createStub,
    trace: (l) => lines.push(l),
  })
  const nodes = sim.spawn(8)
  for (const n of nodes) {
    const stub = stubOf(n)
    const rng = stub.options.rng
    stub.onTimer = (_t, _now, out: SimOutbox) => {
      const peer = nodes[rng.int(nodes.length)]
      out.send(peer.address, Uint8Array.of(rng.int(256)))
      if (rng.float() < 0.1) out.openStream(peer.address, Uint8Array.of(1, 2), rng.u32(), 500, rng.float() < 0.5)
      out.schedule({ kind: 'probeTick', epoch: 0 }, 10 + rng.int(90))
    }
    schedule(sim, n, 'probeTick', 0, rng.int(100))
  }
  sim.at(2000, () => sim.crash(nodes[3]))
  sim.at(2500, () => sim.pause(nodes[4], 700))
  sim.at(3000, () => sim.partition(nodes.slice(0, 4), nodes.slice(4)))
  sim.at(4000, () => sim.heal())
  sim.at(4500, () => sim.restart(nodes[3]))
  sim.runFor(6000)
  return { hash: createHash('sha256').update(lines.join('\n')).digest('hex'), lines: lines.length }
}

test('the same seed gives an identical trace, and another seed a different one', () => {
  const first = chattyRun(2024)
  const again = chattyRun(2024)
  assert.ok(first.lines > 1000, `a busy trace (${first.lines} lines)`)
  assert.equal(again.hash, first.hash)
  assert.notEqual(chattyRun(2025).hash, first.hash)
})

test('the view tracker follows events, crashes and detection milestones', () => {
  const sim = fixedSim()
  const tracker = new ViewTracker()
  sim.observe(tracker)
  const nodes = sim.spawn(3, { join: false })
  const info = (n: SimNode, state: 'alive' | 'suspect' | 'dead') => ({ name: n.name, address: n.address, state, incarnation: 1, meta: new Uint8Array(0), vsn: new Uint8Array(6), stateChangeMs: 0 })
  assert.equal(tracker.converged, false)
  for (const o of nodes) {
    sim.invoke(o, (_p, _now, out) => {
      for (const t of nodes) if (t !== o) out.emit({ type: 'joined', member: info(t, 'alive') })
    })
  }
  assert.equal(tracker.converged, true)
  assert.equal(tracker.firstConvergedAtMs, 0)
  sim.runFor(1000)
  const [a, b, c] = nodes
  sim.crash(c)
  assert.equal(tracker.converged, false)
  assert.equal(tracker.mismatches, 2)
  sim.runFor(500)
  sim.invoke(a, (_p, _now, out) => out.emit({ type: 'suspected', member: info(c, 'suspect'), from: a.name, via: 'probe' }))
  sim.runFor(500)
  sim.invoke(a, (_p, _now, out) => out.emit({ type: 'failed', member: info(c, 'dead'), from: a.name, via: 'timeout' }))
  assert.equal(tracker.converged, false, 'b still sees c alive')
  sim.runFor(250)
  sim.invoke(b, (_p, _now, out) => out.emit({ type: 'failed', member: info(c, 'dead'), from: a.name, via: 'gossip' }))
  assert.equal(tracker.converged, true)
  assert.deepEqual(tracker.detectionRecords(), [{ node: 'node-002', crashedAtMs: 1000, firstSuspicionAtMs: 1500, firstDeadAtMs: 2000, deadEverywhereAtMs: 2250 }])
  assert.equal(tracker.viewOf(b, c), 'dead')
})

test('restarts and new nodes join through a live node when the first node is down', () => {
  const sim = fixedSim()
  const [first, b, c] = sim.spawn(3)
  sim.crash(first)
  sim.crash(c)
  sim.restart(c)
  assert.deepEqual(stubOf(c).of('join')[0].seeds, [`${b.address.ip}:7946`])
  const d = sim.addNode()
  assert.deepEqual(stubOf(d).of('join')[0].seeds, [`${b.address.ip}:7946`])
  sim.restart(first)
  const e = sim.addNode()
  assert.deepEqual(stubOf(e).of('join')[0].seeds, ['127.1.0.1:7946'], 'back to the first node once it is up')
})
