// The delegate surface, the way Serf uses memberlist's: user broadcasts piggybacked on SWIM traffic,
// user state in push-pull, node metadata, ping completion.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Swim } from '../../src/swim/swim.js'
import { Simulation } from '../../src/runtime/sim/index.js'
import type { SwimDelegate } from '../../src/swim/delegate.js'

const text = new TextEncoder()
const read = new TextDecoder()

/** A tiny Serf-like layer: rebroadcasts each new message as often as Serf would, keeps what it has seen. */
class EchoLayer implements SwimDelegate {
  readonly seen = new Set<string>()
  readonly merged: string[] = []
  pings = 0
  private pending: Array<{ bytes: Uint8Array; left: number }> = []
  constructor(readonly name: string) {}
  say(msg: string): void {
    this.seen.add(msg)
    this.pending.push({ bytes: text.encode(msg), left: 8 }) // Serf: 4 × ceil(log10(n + 1))
  }
  nodeMeta(): Uint8Array {
    return text.encode(`role=${this.name}`)
  }
  notifyUserMessage(payload: Uint8Array): void {
    const msg = read.decode(payload)
    if (!this.seen.has(msg)) this.say(msg)
  }
  getBroadcasts(overheadBytes: number, limitBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let used = 0
    for (const p of this.pending) {
      if (p.left <= 0 || used + p.bytes.length + overheadBytes > limitBytes) continue
      used += p.bytes.length + overheadBytes
      out.push(p.bytes)
      p.left--
    }
    this.pending = this.pending.filter((p) => p.left > 0)
    return out
  }
  localState(join: boolean): Uint8Array {
    return text.encode(`${this.name}:${join ? 'join' : 'sync'}`)
  }
  mergeRemoteState(state: Uint8Array): void {
    this.merged.push(read.decode(state))
  }
  notifyPingComplete(): void {
    this.pings++
  }
}

test('user broadcasts ride on SWIM packets to every node; user state travels in push-pull; meta from the delegate', () => {
  const layers = new Map<string, EchoLayer>()
  // SWIM with a layer of this test's own as its delegate, in place of the composed node's stack.
  const sim = new Simulation({
    seed: 77,
    network: { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5 },
    createProtocol: (o) => {
      const layer = new EchoLayer(o.name)
      layers.set(o.name, layer)
      return new Swim({ name: o.name, address: o.address, config: o.config, rng: o.rng, seeds: o.seeds, delegate: layer })
    },
  })
  const nodes = sim.spawn(30)
  assert.ok(sim.runUntil((s) => s.convergence().converged, 60_000))
  layers.get(nodes[3].name)!.say('deploy v42')
  sim.runFor(10_000)
  const missing = nodes.filter((n) => !layers.get(n.name)!.seen.has("deploy v42")).map((n) => n.name)
  assert.deepEqual(missing, [], "every node got the broadcast")
  // Joins exchanged user state with the seed, and the seed received each joiner's.
  assert.ok(layers.get(nodes[5].name)!.merged.includes(`${nodes[0].name}:join`))
  assert.ok(layers.get(nodes[0].name)!.merged.includes(`${nodes[5].name}:join`))
  assert.equal(read.decode(nodes[9].members().find((m) => m.name === nodes[2].name)!.meta), `role=${nodes[2].name}`)
  assert.ok(layers.get(nodes[1].name)!.pings > 0, 'ping completions reported')
})
