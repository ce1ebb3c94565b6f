// The TCP model of the simulator's streams (src/runtime/sim/streams.ts), driven with the stand-in
// protocol over a fixed 10 ms one-way delay: on a clean link the SYN arrives at 10 ms, the SYN-ACK at
// 20 ms (the request leaves with it), the request at 30 ms and the reply at 40 ms. Losses are set on
// one link for a window of virtual time, so every timing below is exact.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Network } from '../../src/runtime/sim/network.js'
import type { LinkOptions } from '../../src/runtime/sim/network.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import type { Simulation } from '../../src/runtime/sim/simulation.js'
import { MAX_RTO_MS, rtoAfterSampleMs, segmentsOf } from '../../src/runtime/sim/streams.js'
import { runScenario } from '../../src/runtime/sim/scenario.js'
import { formatReport, reportJson } from '../../src/runtime/sim/report.js'
import { stubOf } from './helpers/stub-protocol.js'
import { fixedSim, openStream } from './helpers/stub-sim.js'

const LOST: Partial<LinkOptions> = { packetLossProbability: 1 }

/** Everything from → to vanishes from now until `untilMs`. */
function lossUntil(sim: Simulation, from: SimNode, to: SimNode, untilMs: number): void {
  sim.network.setLink(from.index, to.index, LOST)
  sim.at(untilMs, () => sim.network.setLink(from.index, to.index, null))
}

/** Everything from → to vanishes from `fromMs` until `untilMs`. */
function lossBetween(sim: Simulation, from: SimNode, to: SimNode, fromMs: number, untilMs: number): void {
  sim.at(fromMs, () => lossUntil(sim, from, to, untilMs))
}

const requests = (n: SimNode): number[] => stubOf(n).of('streamRequest').map((r) => r.at)
const replies = (n: SimNode): Array<[number, string]> => stubOf(n).of('streamReply').map((r) => [r.at, r.result])

function pair(): { sim: Simulation; a: SimNode; b: SimNode } {
  const sim = fixedSim()
  const [a, b] = sim.spawn(2, { join: false })
  return { sim, a, b }
}

test('a lost syn is sent again after 1 s so the exchange ends 1 s later', () => {
  const { sim, a, b } = pair()
  lossUntil(sim, a, b, 5)
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(10_000)
  assert.deepEqual(requests(b), [1030])
  assert.deepEqual(replies(a), [[1040, 'ok:3,2,1']])
  const n = sim.network.stats
  assert.deepEqual([n.streamSegmentsLost, n.streamRetransmits, n.streamsTimedOut, n.streamHops], [1, 1, 0, 5], 'lost SYN, SYN, SYN-ACK, request, reply')
})

test('two lost syns delay the exchange by 3 s and fail a caller with less time', () => {
  const { sim, a, b } = pair()
  lossUntil(sim, a, b, 1500) // the SYNs of 0 and 1 s vanish; the one of 3 s (1 s, then 2 s later) gets through
  openStream(sim, a, b.address, 1, true, 5000)
  openStream(sim, a, b.address, 2, true, 2500)
  sim.runFor(10_000)
  assert.deepEqual(requests(b), [3030])
  assert.deepEqual(replies(a), [[2500, 'timeout'], [3040, 'ok:3,2,1']])
  assert.equal(sim.network.stats.streamsTimedOut, 1)
  assert.equal(sim.network.stats.streamSegmentsLost, 4)
})

test('a lost syn ack is sent again by the targets timer and for the resent syn', () => {
  const { sim, a, b } = pair()
  lossUntil(sim, b, a, 15) // the SYN-ACK of 10 ms vanishes
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(10_000)
  // The target's timer fires 1 s after the SYN arrived (1010) and the opener's resent SYN (1000) arrives
  // then too: two SYN-ACKs; the first arrives at 1020 and the request follows.
  assert.deepEqual(requests(b), [1030])
  assert.deepEqual(replies(a), [[1040, 'ok:3,2,1']])
  assert.equal(sim.network.stats.streamRetransmits, 3, 'one SYN, two SYN-ACKs')
})

test('a lost request segment is sent again after the rto of at least 200 ms which doubles', () => {
  const { sim, a, b } = pair()
  lossBetween(sim, a, b, 15, 25) // the request of 20 ms vanishes
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(10_000)
  // RTT 20 ms: RTO = 20 + max(2 × 20, 200) = 220 ms, so it is sent again at 240 and arrives at 250.
  assert.deepEqual(requests(b), [250])
  assert.deepEqual(replies(a), [[260, 'ok:3,2,1']])

  const twice = pair()
  lossBetween(twice.sim, twice.a, twice.b, 15, 245) // lost at 20 and at 240; sent again 440 ms later
  openStream(twice.sim, twice.a, twice.b.address, 1, true, 5000)
  twice.sim.runFor(10_000)
  assert.deepEqual(requests(twice.b), [690])
  assert.deepEqual(twice.sim.network.stats.streamRetransmits, 2)
})

test('a lost reply segment is sent again by the target after the rto', () => {
  const { sim, a, b } = pair()
  lossBetween(sim, b, a, 25, 35) // the reply of 30 ms vanishes
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(10_000)
  assert.deepEqual(requests(b), [30], 'read once')
  assert.deepEqual(replies(a), [[260, 'ok:3,2,1']])
})

test('the rto follows linux from the first sample and a message takes one segment per 1448 bytes', () => {
  assert.equal(rtoAfterSampleMs(5), 205)
  assert.equal(rtoAfterSampleMs(20), 220)
  assert.equal(rtoAfterSampleMs(150), 450, '3 × RTT once 2 × RTT exceeds the 200 ms floor')
  assert.equal(rtoAfterSampleMs(100_000), MAX_RTO_MS)
  assert.deepEqual([0, 1, 1448, 1449, 40_000].map(segmentsOf), [1, 1, 1, 2, 28])
})

test('a link losing everything fails the exchange with timeout at the callers deadline', () => {
  const { sim, a, b } = pair()
  sim.network.setLink(a.index, b.index, LOST)
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(20_000)
  assert.deepEqual(replies(a), [[5000, 'timeout']])
  assert.deepEqual(requests(b), [])
  const n = sim.network.stats
  // SYNs at 0, 1 and 3 s; the next (7 s) is past the deadline and never sent.
  assert.deepEqual([n.streamHops, n.streamSegmentsLost, n.streamRetransmits, n.streamsTimedOut], [3, 3, 2, 1])
  assert.equal(sim.stats.streamsFailed, 1)
})

test('a partition lifted before the deadline lets a resent syn through', () => {
  const { sim, a, b } = pair()
  const cut = sim.partition([a], [b])
  sim.at(500, () => sim.unblock(cut))
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(10_000)
  assert.deepEqual(replies(a), [[1040, 'ok:3,2,1']])
  assert.equal(sim.network.stats.streamSegmentsBlocked, 1)
  assert.equal(sim.network.stats.streamSegmentsLost, 0)
})

test('a lost rst from a crashed target is answered again when the syn is resent', () => {
  const { sim, a, b } = pair()
  sim.crash(b)
  lossUntil(sim, b, a, 15)
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(10_000)
  assert.deepEqual(replies(a), [[1020, 'refused']])
})

test('a target that dies or restarts after the handshake resets the request', () => {
  for (const fault of ['crash', 'restart'] as const) {
    const { sim, a, b } = pair()
    openStream(sim, a, b.address, 1, true, 5000)
    sim.at(15, () => (fault === 'crash' ? sim.crash(b) : sim.restart(b))) // after the SYN-ACK left, before the request arrives
    sim.runFor(10_000)
    assert.deepEqual(replies(a), [[40, 'reset']], fault)
    assert.deepEqual(requests(b), [], `${fault}: no process reads it`)
  }
})

test('a large reply over a lossy link takes longer than a small one', () => {
  const sim = fixedSim(5, { network: { latencyMs: [1, 5], streamLoss: 0.1 } })
  const [a, b] = sim.spawn(2, { join: false })
  stubOf(b).replyTo = (bytes) => new Uint8Array(bytes[0] === 1 ? 100 : 40_000)
  for (let i = 0; i < 200; i++) openStream(sim, a, b.address, i, true, 60_000, [i < 100 ? 1 : 2])
  sim.runFor(60_000)
  const done = stubOf(a).of('streamReply')
  assert.equal(done.filter((r) => r.result.startsWith('ok')).length, 200)
  const mean = (small: boolean): number => {
    const times = done.filter((r) => r.exchangeId < 100 === small).map((r) => r.at)
    return times.reduce((x, y) => x + y, 0) / times.length
  }
  // The handshake costs both alike (a lost SYN or SYN-ACK: a second); then most 28-segment replies lose
  // a segment and wait an RTO (about 205 ms), a one-segment reply one time in ten.
  assert.ok(mean(false) - mean(true) > 150, `large ${mean(false)} ms, small ${mean(true)} ms`)
})

test('stream loss overrides loss for segments only', () => {
  const route = (net: Network, n: number): { packets: number; segments: number } => {
    let packets = 0
    let segments = 0
    for (let i = 0; i < n; i++) {
      if (net.route(0, 1) === 0) packets++
      if (net.routeSegment(0, 1) < 0) segments++
    }
    return { packets, segments }
  }
  assert.deepEqual(route(new Network(3, { loss: 0.5, streamLoss: 0 }), 1000).segments, 0)
  assert.ok(route(new Network(3, { loss: 0.5, streamLoss: 0 }), 1000).packets > 400)
  assert.deepEqual(route(new Network(3, { loss: 0, streamLoss: 1 }), 1000), { packets: 0, segments: 1000 })
  const follows = route(new Network(3, { loss: 0.3 }), 10_000)
  assert.ok(Math.abs(follows.segments / 10_000 - 0.3) < 0.03, 'unset, segments follow loss')
  // Knobs merge layer by layer: a rule that raises only the loss leaves the defaults' stream loss in force.
  const net = new Network(3, { streamLoss: 0 })
  net.shape([0], null, { packetLossProbability: 1 })
  assert.deepEqual(route(net, 100), { packets: 100, segments: 0 })
  net.shape([0], null, { streamSegmentLossProbability: 1 })
  assert.deepEqual(route(net, 100).segments, 100)
  net.calm()
  assert.deepEqual(route(net, 100), { packets: 0, segments: 0 }, 'the settle phase turns both off')
  // In a simulation: every datagram lost, streams untouched.
  const sim = fixedSim(1, { network: { latencyMs: [10, 10], loss: 1, streamLoss: 0 } })
  const [a, b] = sim.spawn(2, { join: false })
  openStream(sim, a, b.address, 1, true, 5000)
  sim.runFor(1000)
  assert.deepEqual(replies(a), [[40, 'ok:3,2,1']])
})

function lossyTrace(seed: number): { hash: string; lines: string[] } {
  const lines: string[] = []
  const sim = fixedSim(seed, { network: { latencyMs: [1, 20], loss: 0.3, packetDuplicationProbability: 0.1, packetReorderProbability: 0.2 }, trace: (l) => lines.push(l) })
  const nodes = sim.spawn(6, { join: false })
  stubOf(nodes[2]).replyTo = (bytes) => new Uint8Array(bytes.length * 20)
  for (let i = 0; i < 60; i++) {
    const from = nodes[i % 6]
    const to = nodes[(i * 7 + 1) % 6]
    sim.at(i * 50, () => {
      if (from !== to && from.status === 'running') openStream(sim, from, to.address, i, i % 5 !== 0, 800 + (i % 4) * 1500, new Array(1 + i * 97).fill(i))
    })
  }
  sim.at(900, () => sim.partition(nodes.slice(0, 2), nodes.slice(2)))
  sim.at(1700, () => sim.heal())
  sim.at(1200, () => sim.crash(nodes[4]))
  sim.at(2000, () => sim.pause(nodes[5], 700))
  sim.runFor(20_000)
  return { hash: createHash('sha256').update(lines.join('\n')).digest('hex'), lines }
}

test('the same seed gives the same stream trace with losses and resends in it', () => {
  const first = lossyTrace(11)
  assert.equal(lossyTrace(11).hash, first.hash)
  assert.notEqual(lossyTrace(12).hash, first.hash)
  for (const what of [/ stream#\d+ lost syn /, / stream#\d+ resend request /, / stream#\d+ blocked /, / stream#\d+ refused /, / result \S+ error=timeout/]) {
    assert.ok(first.lines.some((l) => what.test(l)), `a line matching ${what}`)
  }
})

test('the report counts lost and resent segments and timed out exchanges in its network section', () => {
  const r = runScenario({ seed: 2, nodes: 12, durationMs: 30_000, network: { loss: 0.25 } })
  const n = r.network
  assert.ok(n.streamSegmentsLost > 0 && n.streamRetransmits > 0 && n.streamsTimedOut > 0, JSON.stringify(n))
  assert.ok(n.streamSegmentsLost <= n.streamHops && n.streamSegmentsBlocked === 0)
  const json = JSON.parse(reportJson(r)) as typeof r
  assert.deepEqual(json.network, n)
  const line = `${n.streamHops.toLocaleString('en-US')} stream segments sent, ${n.streamSegmentsLost.toLocaleString('en-US')} lost, 0 blocked, ${n.streamRetransmits.toLocaleString('en-US')} retransmitted; ${n.streamsTimedOut} exchanges timed out`
  assert.ok(formatReport(r).includes(line), formatReport(r))
})
