// One HyParView and one Plumtree instance driven by random input sequences (fast-check, fixed seeds):
// every message kind from a small pool of peers (self among them, as a forged or looped-back sender),
// timers fired in any order (stale ones too), sends failing, the runtime hearing from peers. After every
// input the machine's promises are checked, not the outcome of one scenario:
//
//   HyParView  neither view holds self or a duplicate; the views are disjoint; |active| ≤ activeViewSize,
//              |passive| ≤ passiveViewSize; nothing is ever sent to self; a DISCONNECT removes the link
//              (and a leaving one forgets the peer); neighbour-up/down events replayed give the active view
//   Plumtree   no payload is delivered twice; eager and lazy sets are disjoint and hold only neighbours;
//              nothing is sent to self, nor to a peer that is not a neighbour except the answers to
//              whoever asked (a GRAFT's cached GOSSIP, a GRAFT to a peer that announced a missing id)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import { HyParView } from '../../src/overlay/hyparview.js'
import { Plumtree, messageIdOf } from '../../src/overlay/plumtree.js'
import { decodeOverlayMessage, encodeOverlayMessage, type HyParViewMessage, type PlumtreeMessage } from '../../src/overlay/messages.js'
import { CollectingOverlayOutbox, type HyParViewEvent, type HyParViewTimer, type PlumtreeEvent, type PlumtreeTimer } from '../../src/overlay/types.js'

const SELF = 'x'
const PEERS = [SELF, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']
const peer = fc.constantFrom(...PEERS)
const peers = fc.array(peer, { maxLength: 8 })

const hyparviewMessage: fc.Arbitrary<HyParViewMessage> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), from: peer }),
  fc.record({ kind: fc.constant('forwardJoin' as const), from: peer, newPeer: peer, ttl: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('neighbor' as const), from: peer, highPriority: fc.boolean() }),
  fc.record({ kind: fc.constant('neighborReply' as const), from: peer, accepted: fc.boolean() }),
  fc.record({ kind: fc.constant('disconnect' as const), from: peer, leaving: fc.boolean() }),
  fc.record({ kind: fc.constant('shuffle' as const), from: peer, origin: peer, ttl: fc.integer({ min: 0, max: 7 }), peers }),
  fc.record({ kind: fc.constant('shuffleReply' as const), from: peer, peers }),
  fc.record({ kind: fc.constant('ping' as const), from: peer }),
)

type HvStep =
  | { readonly do: 'message'; readonly m: HyParViewMessage }
  | { readonly do: 'timer'; readonly pick: number }
  | { readonly do: 'sendFailed' | 'linkUsedBy' | 'join'; readonly peer: string }
  | { readonly do: 'wait'; readonly ms: number }

const hvStep: fc.Arbitrary<HvStep> = fc.oneof(
  { weight: 6, arbitrary: hyparviewMessage.map((m): HvStep => ({ do: 'message', m })) },
  { weight: 2, arbitrary: fc.nat().map((pick): HvStep => ({ do: 'timer', pick })) },
  { weight: 1, arbitrary: fc.record({ do: fc.constantFrom('sendFailed' as const, 'linkUsedBy' as const, 'join' as const), peer }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8000 }).map((ms): HvStep => ({ do: 'wait', ms })) },
)

test('property: whatever messages, timers and failures arrive, a HyParView node keeps self and duplicates out of disjoint bounded views, never sends to itself, drops a link on DISCONNECT, and its neighbour events describe its active view', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(hvStep, { minLength: 1, maxLength: 120 }), (seed, steps) => {
      const hv = new HyParView({
        self: SELF,
        rng: new SeededRng(seed),
        seeds: ['a', SELF],
        config: { activeViewSize: 3, passiveViewSize: 4, activeRandomWalkLength: 4, passiveRandomWalkLength: 2, keepAliveIntervalMs: 1000, keepAliveTimeoutMs: 3000 },
      })
      const out = new CollectingOverlayOutbox<HyParViewTimer, HyParViewEvent>()
      let now = 0
      hv.start(now, out)
      const timers: HyParViewTimer[] = out.timers.map((t) => t.timer)
      const fromEvents = new Set<string>()
      for (const step of steps) {
        out.clear()
        switch (step.do) {
          case 'message':
            hv.handleMessage(encodeOverlayMessage(step.m), now, out)
            break
          case 'timer':
            if (timers.length > 0) hv.handleTimer(timers.splice(step.pick % timers.length, 1)[0], now, out)
            break
          case 'sendFailed':
            hv.sendFailed(step.peer, now, out)
            break
          case 'linkUsedBy':
            hv.linkUsedBy(step.peer, now, out)
            break
          case 'join':
            hv.join(step.peer, out)
            break
          case 'wait':
            now += step.ms
            break
        }
        timers.push(...out.timers.map((t) => t.timer))
        assert.deepEqual(hv.checkInvariants(), [])
        const active = hv.activeView()
        assert.ok(active.length <= 3 && hv.passiveView().length <= 4)
        assert.ok(!active.includes(SELF) && !hv.passiveView().includes(SELF))
        for (const s of out.sent) {
          assert.notEqual(s.to, SELF, 'sent to self')
          assert.ok(decodeOverlayMessage(s.bytes).ok, 'sent bytes that do not decode')
        }
        if (step.do === 'message' && step.m.kind === 'disconnect' && step.m.from !== SELF) {
          assert.ok(!active.includes(step.m.from), `${step.m.from} still active after its DISCONNECT`)
          if (step.m.leaving) assert.ok(!hv.passiveView().includes(step.m.from), `${step.m.from} left but is kept as a backup`)
        }
        for (const e of out.events) {
          if (e.type === 'neighbor-up') {
            assert.ok(!fromEvents.has(e.peer), `neighbor-up twice for ${e.peer}`)
            fromEvents.add(e.peer)
          } else if (e.type === 'neighbor-down') {
            assert.ok(fromEvents.delete(e.peer), `neighbor-down for ${e.peer}, which was not up`)
          }
        }
        assert.deepEqual([...fromEvents].sort(), [...active].sort())
      }
    }),
    { numRuns: 300, seed: 1501 },
  )
})

const PAYLOADS = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3), Uint8Array.of(4, 4)]
const ID_POOL = [...PAYLOADS.map(messageIdOf), messageIdOf(Uint8Array.of(99))]
const payloadIndex = fc.integer({ min: 0, max: PAYLOADS.length - 1 })
const anyId = fc.constantFrom(...ID_POOL)

type PtStep =
  | { readonly do: 'message'; readonly m: PlumtreeMessage }
  | { readonly do: 'broadcast'; readonly payload: number }
  | { readonly do: 'up' | 'down'; readonly peer: string }
  | { readonly do: 'timer'; readonly pick: number }
  | { readonly do: 'wait'; readonly ms: number }

const plumtreeMessage: fc.Arbitrary<PlumtreeMessage> = fc.oneof(
  fc.record({ from: peer, p: payloadIndex, hops: fc.integer({ min: 0, max: 20 }) }).map(({ from, p, hops }): PlumtreeMessage => ({ kind: 'gossip', from, id: messageIdOf(PAYLOADS[p]), hops, payload: PAYLOADS[p] })),
  fc.record({ kind: fc.constant('ihave' as const), from: peer, entries: fc.array(fc.record({ id: anyId, hops: fc.integer({ min: 0, max: 20 }) }), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('graft' as const), from: peer, ids: fc.array(anyId, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('prune' as const), from: peer }),
)

const ptStep: fc.Arbitrary<PtStep> = fc.oneof(
  { weight: 6, arbitrary: plumtreeMessage.map((m): PtStep => ({ do: 'message', m })) },
  { weight: 1, arbitrary: payloadIndex.map((payload): PtStep => ({ do: 'broadcast', payload })) },
  { weight: 2, arbitrary: fc.record({ do: fc.constantFrom('up' as const, 'down' as const), peer }) },
  { weight: 2, arbitrary: fc.nat().map((pick): PtStep => ({ do: 'timer', pick })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 500 }).map((ms): PtStep => ({ do: 'wait', ms })) },
)

test('property: whatever messages, broadcasts, neighbour changes and timers arrive, Plumtree delivers each payload at most once and keeps its eager and lazy sets disjoint, made of neighbours, never sending to itself', () => {
  for (const mode of ['plumtree', 'flood'] as const) {
    fc.assert(
      fc.property(fc.array(ptStep, { minLength: 1, maxLength: 150 }), (steps) => {
        const pt = new Plumtree({ self: SELF, config: { mode, ihaveIntervalMs: 10, graftTimeoutMs: 50, graftRetryMs: 20 } })
        const out = new CollectingOverlayOutbox<PlumtreeTimer, PlumtreeEvent>()
        const neighbours = new Set<string>()
        const delivered = new Set<string>()
        const timers: PlumtreeTimer[] = []
        const announcers = new Set<string>()
        let now = 0
        for (const step of steps) {
          out.clear()
          let grafter: string | undefined
          switch (step.do) {
            case 'message':
              if (step.m.kind === 'graft') grafter = step.m.from
              pt.handleMessage(encodeOverlayMessage(step.m), now, out)
              break
            case 'broadcast':
              pt.broadcast(PAYLOADS[step.payload], now, out)
              break
            case 'up':
              if (step.peer === SELF) break // the composed node never reports itself as a neighbour
              neighbours.add(step.peer)
              pt.neighborUp(step.peer, now, out)
              break
            case 'down':
              neighbours.delete(step.peer)
              pt.neighborDown(step.peer)
              break
            case 'timer':
              if (timers.length > 0) pt.handleTimer(timers.splice(step.pick % timers.length, 1)[0], now, out)
              break
            case 'wait':
              now += step.ms
              break
          }
          timers.push(...out.timers.map((t) => t.timer))
          for (const e of out.events) {
            assert.ok(!delivered.has(e.id), `${e.id} delivered twice`)
            assert.equal(e.id, messageIdOf(e.payload))
            delivered.add(e.id)
          }
          const eager = pt.eagerPeers()
          const lazy = pt.lazyPeers()
          assert.ok(!eager.some((p) => lazy.includes(p)), `eager ${eager} and lazy ${lazy} overlap`)
          for (const p of [...eager, ...lazy]) assert.ok(neighbours.has(p), `${p} in a tree set but not a neighbour`)
          for (const s of out.sent) {
            assert.notEqual(s.to, SELF, 'sent to self')
            const r = decodeOverlayMessage(s.bytes)
            assert.ok(r.ok)
            // Tree traffic goes to neighbours; two answers go to whoever asked: a GRAFT's cached GOSSIP, and
            // a GRAFT to a peer that announced the message (IHAVE) while it was missing.
            const kind = r.value.kind
            const allowed = neighbours.has(s.to) || (kind === 'gossip' && s.to === grafter) || (kind === 'graft' && announcers.has(s.to))
            assert.ok(allowed, `${kind} sent to ${s.to}, not a neighbour`)
          }
          if (step.do === 'message' && step.m.kind === 'ihave') announcers.add(step.m.from)
          if (mode === 'flood') assert.equal(lazy.length, 0, 'flood mode keeps every link eager')
        }
      }),
      { numRuns: 300, seed: 1502 },
    )
  }
})
