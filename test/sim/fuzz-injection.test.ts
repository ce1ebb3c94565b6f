// The node as a whole under hostile input: an outsider (not a member) keeps sending random and mutated
// copies of the cluster's own packets to its members while they run the whole stack (SWIM, Serf's
// layer, broadcasts, cluster state). No node may crash (the simulator would throw), no phantom member
// may appear, and every honest node's view must stay right: every member alive, everywhere, with the
// same cluster state. fast-check draws the seeds; each seed is one deterministic simulation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { StreamResult } from '../../src/core/effects.js'
import type { Rng } from '../../src/core/rng.js'
import { SeededRng } from '../../src/core/rng.js'
import type { Address } from '../../src/core/types.js'
import type { ProtocolOptions, SimOutbox, SimProtocol } from '../../src/runtime/sim/protocol.js'
import { stateDigest } from '../../src/runtime/sim/workload.js'
import type { MemberInfo } from '../../src/swim/events.js'
import { createNode } from '../../src/runtime/sim/protocol.js'
import type { ComposedNode } from '../../src/node/index.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import { stackCluster } from '../helpers/stack-cluster.js'

const HONEST = 8
const ATTACK_EVERY_MS = 20
const CAPTURED_MAX = 400

/** How the outsider damages a captured packet. */
type Mutation = 'bitflips' | 'byte' | 'truncate' | 'extend' | 'splice' | 'random' | 'header'
const MUTATIONS: readonly Mutation[] = ['bitflips', 'byte', 'truncate', 'extend', 'splice', 'random', 'header']

function mutate(kind: Mutation, rng: Rng, packet: Uint8Array, other: Uint8Array): Uint8Array {
  const out = Uint8Array.from(packet)
  switch (kind) {
    case 'bitflips': {
      const flips = 1 + rng.int(3)
      for (let i = 0; i < flips; i++) {
        const bit = rng.int(out.length * 8)
        out[bit >> 3] ^= 1 << (bit & 7)
      }
      return out
    }
    case 'byte': {
      const at = rng.int(out.length)
      out[at] = (out[at] + 1 + rng.int(255)) & 0xff
      return out
    }
    case 'truncate':
      return out.subarray(0, rng.int(out.length))
    case 'extend': {
      const tail = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256))
      return Uint8Array.from([...out, ...tail])
    }
    case 'splice': {
      const cut = rng.int(out.length)
      return Uint8Array.from([...out.subarray(0, cut), ...other.subarray(rng.int(Math.max(1, other.length)))])
    }
    case 'random':
      return Uint8Array.from({ length: 1 + rng.int(1400) }, () => rng.int(256))
    case 'header': {
      // A plausible first byte (a real message type) over random or real bytes.
      out[0] = rng.int(14)
      return out
    }
  }
}

/** The outsider: never joins, answers nothing, sends a damaged packet to a random member every ATTACK_EVERY_MS. */
class Attacker implements SimProtocol {
  readonly name: string
  readonly address: Address
  readonly healthScore = 0
  sent = 0

  constructor(
    options: ProtocolOptions,
    private readonly rng: Rng,
    private readonly captured: Uint8Array[],
    private readonly targets: () => readonly Address[],
    private readonly untilMs: number,
  ) {
    this.name = options.name
    this.address = options.address
  }

  start(_nowMs: number, out: SimOutbox): void {
    out.schedule(TICK, ATTACK_EVERY_MS)
  }

  handleTimer(_timer: SwimTimer, nowMs: number, out: SimOutbox): void {
    if (nowMs >= this.untilMs) return
    out.schedule(TICK, ATTACK_EVERY_MS)
    const targets = this.targets()
    if (this.captured.length < 2 || targets.length === 0) return
    const pick = (): Uint8Array => this.captured[this.rng.int(this.captured.length)]
    const packet = mutate(MUTATIONS[this.rng.int(MUTATIONS.length)], this.rng, pick(), pick())
    out.send(targets[this.rng.int(targets.length)], packet)
    this.sent++
  }

  join(): number {
    return 0
  }
  leave(): void {}
  handlePacket(): void {}
  handleStreamRequest(): Uint8Array | null {
    return null
  }
  handleStreamReply(_exchangeId: number, _result: StreamResult): void {}
  members(): MemberInfo[] {
    return []
  }
}

const TICK: SwimTimer = { kind: 'gossipTick', epoch: -1 }

function run(seed: number): void {
  const captured: Uint8Array[] = []
  let attacker: Attacker | undefined
  const attackUntilMs = 70_000
  const c = stackCluster(seed, HONEST, {
    createProtocol: (options, index) => {
      if (index < HONEST) return createNode(options, index)
      attacker = new Attacker(options, new SeededRng(seed ^ 0x5eed), captured, () => c.nodes.map((n) => n.address), attackUntilMs)
      return attacker
    },
  })
  c.sim.observe({
    onPacket: (from, _to, bytes) => {
      if (from.index >= HONEST) return
      if (captured.length < CAPTURED_MAX) captured.push(bytes)
      else captured[(c.sim.nowMs | 0) % CAPTURED_MAX] = bytes
    },
  })
  c.sim.spawn(1, { join: false })
  // Keep the stack busy while under attack: writes and broadcasts, so their messages are captured too.
  for (let i = 0; i < 40; i++) {
    const node = c.nodes[i % HONEST]
    c.sim.at(5_000 + i * 1_000, () => {
      c.set(node, `k${i % 7}`, `v${i}`)
      c.broadcast(node, 'tick', Uint8Array.of(i))
    })
  }
  c.sim.runFor(attackUntilMs)
  assert.ok(attacker !== undefined && attacker.sent > 3000, `the outsider sent ${attacker?.sent} packets`)
  c.sim.runFor(40_000) // the attack is over: let any damage heal

  const honest = new Set(c.nodes.map((n) => n.name))
  for (const n of c.nodes) {
    const members = n.protocol.members()
    const phantoms = members.filter((m) => !honest.has(m.name)).map((m) => `${m.name}@${m.address.ip}:${m.address.port}`)
    assert.deepEqual(phantoms, [], `seed ${seed}: ${n.name} holds phantom members`)
    const notAlive = members.filter((m) => m.state !== 'alive').map((m) => `${m.name}:${m.state}`)
    assert.deepEqual(notAlive, [], `seed ${seed}: ${n.name} sees honest members as not alive`)
    assert.equal(members.length, HONEST, `seed ${seed}: ${n.name} sees ${members.length} members`)
    const stateNodes = c.stacks.get(n.name)!.state.reconciler.state.nodeNames()
    assert.deepEqual([...stateNodes].filter((x) => !honest.has(x)), [], `seed ${seed}: ${n.name} holds state of a phantom node`)
  }
  const digests = new Set(c.nodes.map((n) => stateDigest(c.stacks.get(n.name)!.state.reconciler.state)))
  assert.equal(digests.size, 1, `seed ${seed}: every honest node holds the same cluster state`)
  for (const n of c.nodes) {
    assert.deepEqual([...(c.deliveries.get(n.name) ?? [])].length, 40, `seed ${seed}: ${n.name} delivered each broadcast once`)
  }
  const dropped = c.nodes.reduce((sum, n) => sum + [...(n.protocol as ComposedNode).stats.decodeErrors.values()].reduce((a, b) => a + b, 0), 0)
  assert.ok(dropped > 1000, `seed ${seed}: damaged packets were counted as decode errors (${dropped})`)
}

test('random and mutated packets from an outsider crash nothing, add no phantom member and leave every honest view intact', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
      run(seed)
    }),
    { numRuns: 4, seed: 20261122 },
  )
})
