// Properties, with fast-check generating the operation sequences and shrinking failures:
// - ViewTracker's incremental counts always equal a brute-force recount;
// - any fault schedule runs without error and replays to the identical trace.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { ViewTracker } from '../../src/runtime/sim/checkers.js'
import type { SimNode } from '../../src/runtime/sim/node.js'
import { Simulation } from '../../src/runtime/sim/simulation.js'
import type { SwimEvent } from '../../src/swim/events.js'
import { createStub, stubOf } from './helpers/stub-protocol.js'

type Op =
  | { op: 'spawn' }
  | { op: 'crash'; node: number }
  | { op: 'restart'; node: number }
  | { op: 'left'; node: number }
  | { op: 'event'; observer: number; target: number; type: 'joined' | 'suspected' | 'failed' | 'left' | 'reaped' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ op: 'spawn' as const }) },
  { weight: 1, arbitrary: fc.nat(7).map((node) => ({ op: 'crash' as const, node })) },
  { weight: 1, arbitrary: fc.nat(7).map((node) => ({ op: 'restart' as const, node })) },
  { weight: 1, arbitrary: fc.nat(7).map((node) => ({ op: 'left' as const, node })) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('event' as const),
      observer: fc.nat(7),
      target: fc.nat(7),
      type: fc.constantFrom('joined' as const, 'suspected' as const, 'failed' as const, 'left' as const, 'reaped' as const),
    }),
  },
)

const STATE: Record<string, string> = { joined: 'alive', suspected: 'suspect', failed: 'dead', left: 'left', reaped: 'absent' }

test('the view tracker\'s counts always match a brute-force recount', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const tracker = new ViewTracker()
      const nodes: Array<{ node: SimNode; live: boolean; view: Map<number, string> }> = []
      let now = 0
      for (const o of ops) {
        now += 10
        if (o.op === 'spawn') {
          const index = nodes.length
          const node = { index, name: `n${index}` } as SimNode
          nodes.push({ node, live: true, view: new Map([[index, 'alive']]) })
          tracker.onSpawn(node, now)
          continue
        }
        if (o.op === 'event') {
          const obs = nodes[o.observer]
          const tgt = nodes[o.target]
          if (obs === undefined || tgt === undefined || !obs.live || obs === tgt) continue
          const member = { name: tgt.node.name, address: { ip: '127.0.0.1', port: 1 }, state: 'alive' as const, incarnation: 1, meta: new Uint8Array(0), vsn: new Uint8Array(6), stateChangeMs: 0 }
          const event = (o.type === 'suspected' || o.type === 'failed' ? { type: o.type, member, from: 'x', via: 'gossip' } : { type: o.type, member }) as SwimEvent
          tracker.onEvent(obs.node, event, now)
          obs.view.set(o.target, STATE[o.type])
          continue
        }
        const entry = nodes[o.node]
        if (entry === undefined) continue
        if (o.op === 'restart') {
          if (entry.live) continue
          entry.live = true
          entry.view = new Map([[o.node, 'alive']])
          tracker.onRestart(entry.node, now)
        } else {
          if (!entry.live) continue
          entry.live = false
          if (o.op === 'crash') tracker.onCrash(entry.node, now)
          else tracker.onLeft(entry.node, now)
        }
      }
      let expected = 0
      for (const obs of nodes) {
        if (!obs.live) continue
        for (const tgt of nodes) {
          if (tgt === obs) continue
          const v = obs.view.get(tgt.node.index) ?? 'absent'
          const ok = tgt.live ? v === 'alive' : v !== 'alive' && v !== 'suspect'
          if (!ok) expected++
        }
      }
      assert.equal(tracker.mismatches, expected)
      assert.equal(tracker.converged, expected === 0)
    }),
    { numRuns: 300, seed: 4242 },
  )
})

type Fault =
  | { at: number; kind: 'crash' | 'restart'; node: number }
  | { at: number; kind: 'pause'; node: number; ms: number }
  | { at: number; kind: 'partition'; split: number; oneWay: boolean }
  | { at: number; kind: 'heal' }

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ at: fc.nat(3000), kind: fc.constantFrom('crash' as const, 'restart' as const), node: fc.nat(5) }),
  fc.record({ at: fc.nat(3000), kind: fc.constant('pause' as const), node: fc.nat(5), ms: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({ at: fc.nat(3000), kind: fc.constant('partition' as const), split: fc.integer({ min: 1, max: 5 }), oneWay: fc.boolean() }),
  fc.record({ at: fc.nat(3000), kind: fc.constant('heal' as const) }),
)

function runSchedule(seed: number, faults: readonly Fault[]): string {
  const hash = createHash('sha256')
  const sim = new Simulation({
    seed,
    network: { latencyMs: [1, 30], packetLossProbability: 0.1, packetDuplicationProbability: 0.1, packetReorderProbability: 0.1 },
    createProtocol: createStub,
    trace: (line) => hash.update(line + '\n'),
  })
  const nodes = sim.spawn(6)
  for (const n of nodes) {
    const stub = stubOf(n)
    const rng = stub.options.rng
    stub.onTimer = (_t, _now, out) => {
      const peer = nodes[rng.int(nodes.length)]
      out.send(peer.address, Uint8Array.of(rng.int(256)))
      if (rng.float() < 0.2) out.openStream(peer.address, Uint8Array.of(3), rng.u32(), 200, rng.float() < 0.7)
      out.schedule({ kind: 'probeTick', epoch: 0 }, 5 + rng.int(60))
    }
    sim.invoke(n, (_p, _now, out) => out.schedule({ kind: 'probeTick', epoch: 0 }, rng.int(60)))
  }
  for (const f of faults) {
    sim.at(f.at, () => {
      switch (f.kind) {
        case 'crash':
          sim.crash(nodes[f.node])
          break
        case 'restart':
          if (!nodes[f.node].live) {
            sim.restart(nodes[f.node])
            const stub = stubOf(nodes[f.node])
            stub.onTimer = (_t, _now, out) => out.send(nodes[0].address, Uint8Array.of(9))
            sim.invoke(nodes[f.node], (_p, _now, out) => out.schedule({ kind: 'probeTick', epoch: 1 }, 50))
          }
          break
        case 'pause':
          sim.pause(nodes[f.node], f.ms)
          break
        case 'partition':
          sim.partition(nodes.slice(0, f.split), nodes.slice(f.split), { oneWay: f.oneWay })
          break
        case 'heal':
          sim.heal()
          break
      }
    })
  }
  sim.runFor(4000)
  // Every node that is not paused has nothing held; paused ones hold only what arrived after their pause.
  for (const n of nodes) if (n.status !== 'paused') assert.equal(n.heldTimers.length + n.heldDeliveries.length, 0)
  return hash.digest('hex')
}

test('any fault schedule runs cleanly and replays to the identical trace', () => {
  fc.assert(
    fc.property(fc.nat(), fc.array(faultArb, { maxLength: 12 }), (seed, faults) => {
      assert.equal(runSchedule(seed, faults), runSchedule(seed, faults))
    }),
    { numRuns: 40, seed: 77 },
  )
})
