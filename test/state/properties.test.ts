// Properties: random interleavings of sets, deletes, GC, restarts and (lossy, duplicated, replayed)
// exchanges keep the invariant after every application and converge once exchanges run to quiescence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import { assertReplica } from '../../src/state/invariant.js'
import { encodeStateMessage } from '../../src/state/messages.js'
import { StateReconciler } from '../../src/state/reconcile.js'

const NAMES = ['a', 'b', 'c', 'd']
const config = { maxDeltaBytes: 256, maxKeyBytes: 8, maxValueBytes: 24, maxNodeNameBytes: 16, tombstoneGraceMs: 50, exchangeTimeoutMs: 1000, roundIntervalMs: 10 }

type Command =
  | { readonly op: 'set'; readonly node: number; readonly key: number; readonly value: string }
  | { readonly op: 'delete'; readonly node: number; readonly key: number }
  | { readonly op: 'exchange'; readonly from: number; readonly to: number; readonly lose: number }
  | { readonly op: 'replay'; readonly pick: number }
  | { readonly op: 'tick'; readonly ms: number }
  | { readonly op: 'restart'; readonly node: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), node: fc.nat(3), key: fc.nat(5), value: fc.string({ maxLength: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), node: fc.nat(3), key: fc.nat(5) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('exchange' as const), from: fc.nat(3), to: fc.nat(3), lose: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replay' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 80 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const), node: fc.nat(3) }) },
)

/** Resets and generation replacements seen across all runs (the properties must exercise them). */
let resets = 0

class World {
  nowMs = 0
  readonly engines: StateReconciler[]
  readonly sent: Array<{ from: string; to: string; bytes: Uint8Array }> = []
  private generation = 1

  constructor(seed: number) {
    this.engines = NAMES.map((self, i) => new StateReconciler({ self, generation: 1, rng: new SeededRng(seed + i), config }))
  }

  byName(name: string): StateReconciler {
    return this.engines[NAMES.indexOf(name)]
  }

  /** Delivers bytes and checks the invariant for every node the message changed. */
  deliver(from: string, to: string, bytes: Uint8Array): Uint8Array | undefined {
    this.sent.push({ from, to, bytes })
    const engine = this.byName(to)
    const r = engine.handleBytes(from, bytes, this.nowMs)
    assert.equal(r.error, undefined)
    resets += r.applied?.resets ?? 0
    for (const node of r.applied?.changed ?? []) {
      assertReplica(to, node, engine.state.node(node)!, this.byName(node).state.node(node)!)
    }
    return r.reply
  }

  /** One exchange; `lose` 1..3 drops the Syn, Ack or Ack2. Returns whether any delta moved. */
  exchange(a: StateReconciler, b: StateReconciler, lose = 0): boolean {
    if (a === b) return false
    const syn = encodeStateMessage(a.startRound(b.self, this.nowMs))
    if (lose === 1) return false
    const ack = this.deliver(a.self, b.self, syn)
    if (ack === undefined || lose === 2) return false
    const ack2 = this.deliver(b.self, a.self, ack)
    if (ack2 !== undefined && lose !== 3) this.deliver(a.self, b.self, ack2)
    return true
  }

  run(c: Command): void {
    switch (c.op) {
      case 'set':
        this.engines[c.node].state.set(`k${c.key}`, c.value)
        return
      case 'delete':
        this.engines[c.node].state.delete(`k${c.key}`, this.nowMs)
        return
      case 'exchange':
        this.exchange(this.engines[c.from], this.engines[c.to], c.lose)
        return
      case 'replay': {
        if (this.sent.length === 0) return
        const old = this.sent[c.pick % this.sent.length]
        this.deliver(old.from, old.to, old.bytes)
        return
      }
      case 'tick':
        this.nowMs += c.ms
        for (const e of this.engines) e.tick(this.nowMs)
        return
      case 'restart': {
        const self = NAMES[c.node]
        this.engines[c.node] = new StateReconciler({ self, generation: ++this.generation, rng: new SeededRng(this.generation), config })
        return
      }
    }
  }

  /** Whole rounds of every ordered pair until nobody has anything left to send. */
  quiesce(): number {
    for (let sweep = 1; sweep <= 200; sweep++) {
      let moved = false
      for (const a of this.engines) for (const b of this.engines) if (this.exchange(a, b)) moved = true
      this.nowMs += 1
      if (!moved) return sweep
    }
    throw new Error('no quiescence within 200 sweeps')
  }
}

test('random interleavings converge once exchanges run to quiescence, keeping the invariant throughout', () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 10, maxLength: 150, size: 'max' }), fc.nat(1000), (commands, seed) => {
      const w = new World(seed)
      for (const c of commands) w.run(c)
      w.quiesce()
      for (const e of w.engines) {
        for (const owner of w.engines) {
          const copy = e.state.node(owner.self)
          const own = owner.state.node(owner.self)!
          assert.ok(copy, `${e.self} never heard of ${owner.self}`)
          assert.equal(copy.generation, own.generation)
          assert.equal(copy.maxVersion, own.maxVersion)
          assert.deepEqual(e.state.entries(owner.self), owner.state.entries(owner.self))
          assertReplica(e.self, owner.self, copy, own)
        }
      }
    }),
    { seed: 42, numRuns: 250 },
  )
})

test('a deleted key never comes back, however stale the replayed messages', () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 10, maxLength: 100, size: 'max' }), fc.nat(1000), (commands, seed) => {
      const w = new World(seed)
      const a = w.engines[0]
      a.state.set('gone', 'x')
      for (const c of commands) {
        if ((c.op === 'set' || c.op === 'delete' || c.op === 'restart') && c.node === 0) continue
        w.run(c)
      }
      w.quiesce()
      a.state.delete('gone', w.nowMs)
      w.quiesce()
      w.run({ op: 'tick', ms: 100 })
      w.run({ op: 'tick', ms: 100 })
      // Replay everything ever sent, in reverse: old deltas still carrying 'gone' live.
      for (const m of [...w.sent].reverse()) w.deliver(m.from, m.to, m.bytes)
      w.quiesce()
      for (const e of w.engines) assert.equal(e.state.get('a', 'gone'), undefined, `${e.self} resurrected it`)
    }),
    { seed: 43, numRuns: 100 },
  )
})

test('the generated runs do exercise resets', () => {
  assert.ok(resets > 20, `only ${resets} resets`)
})

test('property: whatever a Syn names, the reply fits maxDeltaBytes and handling never throws (many nodes)', async () => {
  const { ApplyTally } = await import('../../src/state/cluster-state.js')
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
  const digest = fc.record({
    node: name,
    generation: fc.integer({ min: 0, max: 5 }),
    heartbeat: fc.integer({ min: 0, max: 1e6 }),
    maxVersion: fc.integer({ min: 0, max: 300 }),
    lastGcVersion: fc.integer({ min: 0, max: 3 }),
  })
  fc.assert(
    fc.property(
      fc.oneof(fc.constant([]), fc.uniqueArray(fc.tuple(name, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 6 })), { maxLength: 120, selector: ([n]) => n })),
      fc.array(digest, { maxLength: 200 }),
      fc.integer({ min: 256, max: 1400 }),
      fc.boolean(),
      fc.nat(),
      (known, digests, maxDeltaBytes, window, seed) => {
        // '~' sorts after every generated name, so a window of them leaves our own node out (nothing stale).
        const b = new StateReconciler({ self: '~self', generation: 1, rng: new SeededRng(seed), config: { maxDeltaBytes, maxKeyBytes: 8, maxValueBytes: 24, maxNodeNameBytes: 16 } })
        for (const [node, generation, keys] of known) {
          const entries = Array.from({ length: keys }, (_, i) => ({ key: `k${i}`, value: `v${i}`, version: i + 1 }))
          b.state.applyDelta({ node, generation, heartbeat: 1, lastGcVersion: 0, fromVersion: 0, toVersion: keys, entries }, 0, new ApplyTally())
        }
        const sorted = [...new Set(digests.map((d) => d.node))].sort()
        const syn = { kind: 'syn' as const, windowStart: window ? (sorted[0] ?? '') : '', windowEnd: window ? (sorted[sorted.length - 1] ?? '') : '', digests }
        const r = b.handle('peer', syn, 10)
        if (r.reply !== undefined) assert.ok(encodeStateMessage(r.reply).length <= maxDeltaBytes, `reply of ${encodeStateMessage(r.reply).length} bytes over ${maxDeltaBytes}`)
      },
    ),
    { numRuns: 600, seed: 20261123 },
  )
})

test('an Ack whose digests fill the budget exactly still fits it (regression: 1 byte over, an invariant error)', async () => {
  // We lack every node a Syn names and hold nothing it does not: no deltas, only digests we want. For
  // some budget in the range the digests land exactly on it; the empty deltas array must still fit.
  const digests = Array.from({ length: 300 }, (_, i) => ({ node: `n${String(i).padStart(3, '0')}`, generation: 1, heartbeat: 5, maxVersion: 3, lastGcVersion: 0 }))
  for (let maxDeltaBytes = 256; maxDeltaBytes <= 1400; maxDeltaBytes++) {
    const b = new StateReconciler({ self: '~self', generation: 1, rng: new SeededRng(maxDeltaBytes), config: { maxDeltaBytes, maxKeyBytes: 8, maxValueBytes: 24, maxNodeNameBytes: 16 } })
    const r = b.handle('peer', { kind: 'syn', windowStart: 'n000', windowEnd: 'n299', digests }, 10)
    assert.ok(r.reply !== undefined && r.reply.kind === 'ack')
    assert.ok(encodeStateMessage(r.reply).length <= maxDeltaBytes, `budget ${maxDeltaBytes}: ${encodeStateMessage(r.reply).length} bytes`)
  }
})
