// One behaviour suite, two runtimes: the same scenarios run against the simulator (virtual time, fixed
// seed) and against real sockets on 127.0.0.1, through one small harness per runtime. Both build the
// same composed node (src/node/), so both must show the same behaviour: a join of five, a broadcast
// delivered once everywhere, a key set on one node read on all, a Serf user event, a query answered, a
// graceful leave seen as `left` and a crash seen as `failed`.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/runtime/sim/index.js'
import type { SimNode } from '../../src/runtime/sim/index.js'
import { ComposedNode } from '../../src/node/index.js'
import type { NodeEvent, QueryResult } from '../../src/node/index.js'
import { startNode } from '../../src/runtime/node/start-node.js'
import type { GrapevineNode } from '../../src/runtime/node/start-node.js'

const N = 5
/**
 * Serf's user events and queries spread as memberlist broadcasts, each node putting one in at most
 * retransmitMult × ceil(log10(N + 1)) packets: 2 with the local profile. Under memberlist's rule a query
 * missed one of five nodes about one time in five (both packets could go to the same member). With
 * distinct broadcast peers (the default) the querier sends it to each of the four itself, so "every
 * node" is a claim that holds with the profile's own settings.
 */
const SWIM_CONFIG = {}

/** What a scenario needs of a cluster, whichever runtime runs it. Nodes by index. */
interface Harness {
  readonly runtime: string
  start(): Promise<void>
  /** Waits until `pred` holds: virtual time in the simulator, bounded polling on real sockets. */
  until(what: string, pred: () => boolean, maxMs: number): Promise<void>
  /** Lets `ms` pass (virtual or real). */
  pass(ms: number): Promise<void>
  name(i: number): string
  /** The state node i holds each member in, by name. */
  view(i: number): Map<string, string>
  broadcast(i: number, name: string, payload: string): string
  /** Grapevine broadcast ids node i delivered, in order. */
  delivered(i: number): string[]
  setKey(i: number, key: string, value: string): void
  getKey(i: number, owner: number, key: string): string | undefined
  userEvent(i: number, name: string, payload: string): void
  /** Names of the Serf user events node i saw. */
  userEvents(i: number): string[]
  /** Node i answers every query with `answer(name, payload)`. */
  answerQueries(i: number, answer: (name: string, payload: string) => string): void
  /** Sends a query; the result arrives by its deadline. */
  query(i: number, name: string, payload: string, timeoutMs: number): { done(): boolean; result(): QueryResult }
  leave(i: number): Promise<void>
  crash(i: number): Promise<void>
  close(): Promise<void>
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

class SimHarness implements Harness {
  readonly runtime = 'the simulator'
  private readonly sim = new Simulation({ seed: 2026, profile: 'local', config: SWIM_CONFIG, network: { latencyMs: [0.2, 2] } })
  private nodes: SimNode[] = []
  private readonly deliveries = new Map<string, string[]>()
  private readonly events = new Map<string, string[]>()
  private readonly answers = new Map<string, (name: string, payload: string) => string>()
  private readonly results = new Map<number, QueryResult>()

  async start(): Promise<void> {
    this.sim.observe({ onEvent: (node, e) => this.onEvent(node, e) })
    this.nodes = this.sim.spawn(N)
  }

  private onEvent(node: SimNode, e: NodeEvent): void {
    if (e.type === 'message') {
      const list = e.message.via === 'grapevine' ? this.deliveries : this.events
      const seen = list.get(node.name) ?? []
      seen.push(e.message.via === 'grapevine' ? e.message.id : e.message.name)
      list.set(node.name, seen)
    } else if (e.type === 'serf' && e.event.type === 'query') {
      const q = e.event.query
      const answer = this.answers.get(node.name)
      if (answer === undefined) return
      // Answered as a listener would: right after the event, as an input of its own.
      this.sim.at(this.sim.nowMs, () => {
        if (node.status === 'running') this.sim.invoke(node, (p, now, out) => (p as ComposedNode).respondToQuery(q, new TextEncoder().encode(answer(q.name, text(q.payload))), now, out))
      })
    } else if (e.type === 'queryCompleted') {
      this.results.set(e.id, e.result)
    }
  }

  private node(i: number): ComposedNode {
    return this.nodes[i].protocol as ComposedNode
  }

  async until(what: string, pred: () => boolean, maxMs: number): Promise<void> {
    assert.ok(this.sim.runUntil(() => pred(), maxMs), `${what} within ${maxMs} virtual ms`)
  }
  async pass(ms: number): Promise<void> {
    this.sim.runFor(ms)
  }
  name(i: number): string {
    return this.nodes[i].name
  }
  view(i: number): Map<string, string> {
    return new Map(this.node(i).members().map((m) => [m.name, m.state]))
  }
  broadcast(i: number, name: string, payload: string): string {
    return this.sim.invoke(this.nodes[i], (p, now, out) => (p as ComposedNode).broadcast(name, new TextEncoder().encode(payload), now, out))
  }
  delivered(i: number): string[] {
    return this.deliveries.get(this.name(i)) ?? []
  }
  setKey(i: number, key: string, value: string): void {
    this.sim.invoke(this.nodes[i], (p, now, out) => (p as ComposedNode).setKey(key, value, now, out))
  }
  getKey(i: number, owner: number, key: string): string | undefined {
    return this.node(i).clusterState?.get(this.name(owner), key)
  }
  userEvent(i: number, name: string, payload: string): void {
    this.sim.invoke(this.nodes[i], (p, now, out) => (p as ComposedNode).userEvent(name, new TextEncoder().encode(payload), false, now, out))
  }
  userEvents(i: number): string[] {
    return this.events.get(this.name(i)) ?? []
  }
  answerQueries(i: number, answer: (name: string, payload: string) => string): void {
    this.answers.set(this.name(i), answer)
  }
  query(i: number, name: string, payload: string, timeoutMs: number): { done(): boolean; result(): QueryResult } {
    const { id } = this.sim.invoke(this.nodes[i], (p, now, out) => (p as ComposedNode).query(name, new TextEncoder().encode(payload), { timeoutMs }, now, out))
    return { done: () => this.results.has(id), result: () => this.results.get(id)! }
  }
  async leave(i: number): Promise<void> {
    this.sim.leave(this.nodes[i])
    await this.until(`${this.name(i)} finished leaving`, () => this.nodes[i].status === 'left', 30_000)
  }
  async crash(i: number): Promise<void> {
    this.sim.crash(this.nodes[i])
  }
  async close(): Promise<void> {}
}

class LoopbackHarness implements Harness {
  readonly runtime = 'real sockets on 127.0.0.1'
  private nodes: GrapevineNode[] = []
  private readonly deliveries = new Map<string, string[]>()
  private readonly events = new Map<string, string[]>()
  private readonly stopped = new Set<number>()

  async start(): Promise<void> {
    for (let i = 0; i < N; i++) {
      const name = `real-${i}`
      const join = i === 0 ? [] : [`127.0.0.1:${this.nodes[0].port}`]
      const node = await startNode({ name, bind: '127.0.0.1:0', profile: 'local', config: SWIM_CONFIG, join })
      node.on('message', (m) => {
        const list = m.via === 'grapevine' ? this.deliveries : this.events
        const seen = list.get(name) ?? []
        seen.push(m.via === 'grapevine' ? m.id : m.name)
        list.set(name, seen)
      })
      this.nodes.push(node)
    }
  }

  async until(what: string, pred: () => boolean, maxMs: number): Promise<void> {
    // Generous real-time bound; the claim is that it happens, not how fast.
    const deadline = Date.now() + maxMs * 3
    while (!pred()) {
      assert.ok(Date.now() < deadline, `${what} within ${maxMs * 3} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  async pass(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms))
  }
  name(i: number): string {
    return this.nodes[i].name
  }
  view(i: number): Map<string, string> {
    return new Map(this.nodes[i].members().map((m) => [m.name, m.state]))
  }
  broadcast(i: number, name: string, payload: string): string {
    return this.nodes[i].broadcast(name, payload)
  }
  delivered(i: number): string[] {
    return this.deliveries.get(this.name(i)) ?? []
  }
  setKey(i: number, key: string, value: string): void {
    this.nodes[i].state.set(key, value)
  }
  getKey(i: number, owner: number, key: string): string | undefined {
    return this.nodes[i].state.get(this.name(owner), key)
  }
  userEvent(i: number, name: string, payload: string): void {
    this.nodes[i].userEvent(name, payload)
  }
  userEvents(i: number): string[] {
    return this.events.get(this.name(i)) ?? []
  }
  answerQueries(i: number, answer: (name: string, payload: string) => string): void {
    this.nodes[i].on('query', (q) => void q.respond(answer(q.name, text(q.payload))))
  }
  query(i: number, name: string, payload: string, timeoutMs: number): { done(): boolean; result(): QueryResult } {
    let result: QueryResult | undefined
    // Real time on a shared machine: the same generous factor as until(), for a gossiped query and its acks.
    void this.nodes[i].query(name, payload, { timeoutMs: timeoutMs * 3 }).then((r) => (result = r))
    return { done: () => result !== undefined, result: () => result! }
  }
  async leave(i: number): Promise<void> {
    await this.nodes[i].leave()
    await this.nodes[i].shutdown()
    this.stopped.add(i)
  }
  async crash(i: number): Promise<void> {
    // No leave: the others hear nothing and must detect it.
    await this.nodes[i].shutdown()
    this.stopped.add(i)
  }
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.shutdown()))
  }
}

for (const make of [() => new SimHarness(), () => new LoopbackHarness()]) {
  const h = make()
  const all = [...Array(N).keys()]
  const seesAll = (i: number, state: string, names: readonly string[]): boolean => names.every((n) => h.view(i).get(n) === state)

  describe(`the composed node on ${h.runtime}`, () => {
    before(() => h.start())
    after(() => h.close())

    it('five nodes joining one seed all see each other alive', async () => {
      const names = all.map((i) => h.name(i))
      await h.until('every node sees five alive', () => all.every((i) => seesAll(i, 'alive', names)), 20_000)
    })

    it('a broadcast is delivered exactly once on every node', async () => {
      // The mark travels in every alive: give each node a moment to know its peers as Grapevine nodes.
      await h.pass(2_000)
      const id = h.broadcast(2, 'deploy', 'v42')
      await h.until('every node delivered the broadcast', () => all.every((i) => h.delivered(i).includes(id)), 20_000)
      await h.pass(1_000) // for any duplicate to show
      for (const i of all) assert.equal(h.delivered(i).filter((x) => x === id).length, 1, `${h.name(i)} delivered it once`)
    })

    it('a key set on one node is read on all', async () => {
      h.setKey(1, 'color', 'blue')
      await h.until('every node reads the key', () => all.every((i) => h.getKey(i, 1, 'color') === 'blue'), 20_000)
    })

    it('a Serf user event reaches every node', async () => {
      h.userEvent(3, 'restart-web', 'now')
      await h.until('every node saw the user event', () => all.every((i) => h.userEvents(i).includes('restart-web')), 20_000)
    })

    it('a query is acked by every node, the querier too as in Serf, and answered by every other node', async () => {
      for (const i of all.slice(1)) h.answerQueries(i, (name, payload) => `${name}:${payload}:ok`)
      const q = h.query(0, 'health', 'ping', 3_000)
      await h.until('the query reached its deadline', () => q.done(), 10_000)
      const r = q.result()
      const others = all.slice(1).map((i) => h.name(i)).sort()
      assert.deepEqual([...r.acks].sort(), [...others, h.name(0)].sort())
      assert.deepEqual(r.responses.map((x) => x.from).sort(), others, 'the querier has no query listener, so no response of its own')
      for (const x of r.responses) assert.equal(text(x.payload), 'health:ping:ok')
    })

    it('a graceful leave is seen as left by every other node', async () => {
      const leaver = h.name(4)
      await h.leave(4)
      await h.until('every other node sees it left', () => all.slice(0, 4).every((i) => h.view(i).get(leaver) === 'left'), 20_000)
    })

    it('a crash is declared failed by every live node (the member state dead)', async () => {
      const victim = h.name(3)
      await h.crash(3)
      await h.until('every live node sees it failed', () => [0, 1, 2].every((i) => h.view(i).get(victim) === 'dead'), 30_000)
    })
  })
}
