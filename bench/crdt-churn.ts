/**
 * State growth under churn (`npm run bench:crdt-churn`, or `node dist/bench/crdt-churn.js [--leaves 16]
 * [--seed 1601]`): members join under fresh names, write six keys (every CRDT type) and leave gracefully,
 * with the leaver's handoff to one heir on (replication/handoff.ts) and off (`handoffCandidates: 0`), in
 * the same run with the same seed, on the simulator's whole stack.
 *
 *   5 nodes ──▶ per leave: a fresh node joins, every member writes, the oldest (not the first) leaves,
 *               a survivor removes the leaver's element ──▶ the six keys' encoded bytes at one survivor,
 *               the replicas (counter entries) of counter/hits
 *
 * Prints a table and writes JSON to bench/results/crdt-churn-<timestamp>.json (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { replicasOf } from '../src/crdt/index.js'
import type { ComposedNode } from '../src/node/index.js'
import { Simulation } from '../src/runtime/sim/index.js'
import type { SimNode } from '../src/runtime/sim/node.js'
import type { CrdtReplicator } from '../src/replication/replicator.js'
import { table } from './sim.js'

const KEYS = ['counter/hits', 'gcounter/served', 'set/tags', 'map/stats', 'flag/on', 'mvregister/owner']

const crdtOf = (n: SimNode): CrdtReplicator => (n.protocol as ComposedNode).crdt!

/** One write of every type by `name` (its own element and value), `by` on the PN-Counter; the churn test uses it too. */
export function writeSixKeys(r: CrdtReplicator, name: string, by = 5): void {
  r.write('counter', 'hits', (s, id) => s.increment(id, by))
  r.write('gcounter', 'served', (s, id) => s.increment(id, 2))
  r.write('set', 'tags', (s, id) => s.add(id, `t-${name}`))
  r.write('map', 'stats', (s, id) => s.increment(id, 'n', 1))
  r.write('map', 'stats', (s, id) => s.addElement(id, 'who', name))
  r.write('flag', 'on', (s, id) => s.enable(id))
  r.write('mvregister', 'owner', (s, id) => s.assign(id, name))
}

function churn(seed: number, leaves: number, handoffCandidates: number): { bytes: number[]; replicas: number; folded: number } {
  const sim = new Simulation({
    seed,
    config: { reconnectTimeoutMs: 5_000, tombstoneTimeoutMs: 5_000, reapIntervalMs: 1_000 },
    network: { oneWayDelayMsMin: 0.5, oneWayDelayMsMax: 5, loss: 0.02 },
    node: { replication: { handoffCandidates } },
  })
  const pool = sim.spawn(5)
  sim.runUntil((s) => s.convergence().converged, 60_000)
  const write = (n: SimNode, fn: (r: CrdtReplicator) => unknown): void => void sim.invoke(n, (p, now, out) => (p as ComposedNode).crdtWrite((r) => fn(r), now, out))
  const writeAll = (): void => {
    for (const n of pool) write(n, (r) => writeSixKeys(r, n.name))
  }
  writeAll()
  sim.runFor(3_000)
  const bytes: number[] = []
  let folded = 0
  for (let i = 0; i < leaves; i++) {
    pool.push(sim.addNode())
    sim.runFor(2_000)
    writeAll()
    sim.runFor(1_500)
    const leaver = pool.splice(1, 1)[0]
    sim.leave(leaver)
    sim.runUntil(() => !leaver.live, 10_000)
    folded += crdtOf(leaver).counters.handoffsFolded
    write(pool[i % pool.length], (r) => r.write('set', 'tags', (s) => s.remove(`t-${leaver.name}`)))
    sim.runFor(2_000)
    const r = crdtOf(pool[0])
    bytes.push(KEYS.reduce((sum, k) => sum + (r.record(k)?.state.length ?? 0), 0))
  }
  sim.runFor(10_000)
  return { bytes, replicas: replicasOf(crdtOf(pool[0]).get('counter', 'hits')!).size, folded }
}

function main(): void {
  const { values } = parseArgs({ options: { leaves: { type: 'string', default: '16' }, seed: { type: 'string', default: '1601' } } })
  const leaves = Number(values.leaves)
  const seed = Number(values.seed)
  if (!Number.isInteger(leaves) || leaves < 4 || leaves > 1000) throw new Error(`--leaves: expected an integer in [4, 1000], got ${values.leaves}`)
  if (!Number.isInteger(seed)) throw new Error(`--seed: expected an integer, got ${values.seed}`)
  const runs = [3, 0].map((candidates) => ({ handoff: candidates > 0, ...churn(seed, leaves, candidates) }))
  const q = Math.floor(leaves / 4)
  const rows = runs.map((r) => [
    r.handoff ? 'handoff to one heir' : 'no handoff',
    String(r.folded),
    ...[q, 2 * q, 3 * q, leaves].map((n) => String(r.bytes[n - 1])),
    ((r.bytes[leaves - 1] - r.bytes[q - 1]) / (leaves - q)).toFixed(0),
    String(r.replicas),
  ])
  console.log(`six keys, 5 nodes, ${leaves} graceful leaves under fresh names (seed ${seed})`)
  console.log(table(['mode', 'folded', ...[q, 2 * q, 3 * q, leaves].map((n) => `bytes @${n}`), 'bytes/leave', 'counter replicas'], rows))
  mkdirSync('bench/results', { recursive: true })
  const file = `bench/results/crdt-churn-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
  writeFileSync(file, JSON.stringify({ seed, leaves, runs }, null, 2))
  console.log(`wrote ${file}`)
}

// Run as the bench; imported by the churn test for writeSixKeys only.
if (process.argv[1]?.endsWith('crdt-churn.js') === true) main()
