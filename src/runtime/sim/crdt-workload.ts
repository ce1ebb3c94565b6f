/**
 * The replicated data types under a workload, in a scenario (`--crdt-ops RATE`, scenario field
 * `workload: { crdtOps: RATE }`): every node is the composed node a real node runs, and the workload
 * writes through the node's own input (ComposedNode.crdtWrite) while the scenario's faults apply.
 *
 *   ops          `crdtOpsPerSec` per virtual second during the window, each on a random running node,
 *                every type: 4 in 10 increments of counter/ops (PN-Counter, by 1..5), 1 in 10 of
 *                gcounter/hits, 2 in 10 adds and removes of set/members (16 elements), 1 in 10 writes of
 *                register/leader (LWW) or mvregister/owner, 1 in 10 flag/maintenance, 1 in 10
 *                map/config counter fields
 *   durable      with simulated data directories (crdt-disk.ts), a crashed node restarts with its state
 *   convergence  after the last op, checked every CHECK_EVERY_MS: every live node (running or paused)
 *                holds the same keys with the same canonical states; the digest hashes them
 *   exactness    the converged counter/ops, gcounter/hits and every map/config counter equal the
 *                increments performed on them (a write a node made and crashed before sending is lost
 *                without a data directory: crdtExact says false then, and `lost` how much)
 *   bytes        CRDT envelopes (protocol 3) in every packet sent, per op and per node
 *
 * Deterministic: the workload draws from its own generator derived from the run seed.
 */
import { SeededRng, deriveSeed } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import { ComposedNode, CRDT_PROTOCOL, ENVELOPE_MAGIC } from '../../node/index.js'
import { decodePacket } from '../../wire/codec.js'
import type { SimNode } from './node.js'
import type { SimObserver, Simulation } from './simulation.js'
import { CHECK_EVERY_MS, Hash64 } from './workload.js'

/** Reserved child-seed index of this workload's generator. */
export const CRDT_WORKLOAD_SEED_INDEX = 0x7ff0_0005

export interface CrdtWorkloadReport {
  readonly crdtOpsPerSec: number
  readonly ops: number
  /** Increments made to counter/ops (the sum of their amounts). */
  readonly increments: number
  readonly lastOpAtMs: number | null
  /** From the last op until every live node held identical states of every key; null when never. */
  readonly crdtConvergenceMs: number | null
  /** 16 hex chars: a hash of that common state; null unless converged. */
  readonly crdtDigest: string | null
  /** The converged counter/ops, gcounter/hits and map/config counters equal the increments made to them; null unless converged. */
  readonly crdtExact: boolean | null
  /** Increments performed on the three counters and missing from their converged values (negative: counted twice); null unless converged. */
  readonly lost: number | null
  /** The keys every live node held at convergence (null unless converged). */
  readonly keys: readonly string[] | null
  /** Nodes kept their state in simulated data directories (crashed nodes restarted with it). */
  readonly durable: boolean
  /** counter/ops as every live node holds it at convergence (or the first live node's, when not converged). */
  readonly counterValue: number | null
  /** CRDT envelope bytes in packets sent over the whole run (chaos and settle). */
  readonly crdtBytes: number
  /** crdtBytes / (ops × nodes): what one op cost each node, anti-entropy included; null without ops. */
  readonly bytesPerOp: number | null
  readonly note: string | null
}

export class CrdtWorkload implements SimObserver {
  private readonly rng: SeededRng
  private windowMs = 0
  private ops = 0
  private increments = 0
  /** Every increment, counter/ops included: gcounter/hits and map/config fields too. */
  private allIncrements = 0
  private allAtConvergence: number | null = null
  private keysAtConvergence: readonly string[] | null = null
  private lastOpAtMs: number | null = null
  private convergedAtMs: number | null = null
  private digest: string | null = null
  private counterAtConvergence: number | null = null
  private bytes = 0

  constructor(
    private readonly sim: Simulation,
    private readonly nodes: number,
    private readonly rate: number,
    private readonly durable = false,
  ) {
    this.rng = new SeededRng(deriveSeed(sim.seed, CRDT_WORKLOAD_SEED_INDEX))
  }

  /** Ops from `startMs` (virtual, from now) for `windowMs`, within `durationMs`. */
  start(durationMs: number, windowMs: number | undefined, startMs = 0): void {
    if (startMs >= durationMs) throw new RangeError(`crdtStartMs: ${startMs} ms leaves no time for ops within the run's ${durationMs} ms; start earlier or run longer`)
    const t0 = this.sim.nowMs + startMs
    this.windowMs = Math.min(windowMs ?? durationMs - startMs, durationMs - startMs)
    const every = 1000 / this.rate
    let last = t0
    for (let i = 0; i * every < this.windowMs; i++) {
      last = t0 + i * every
      this.sim.at(last, () => this.op(i))
    }
    this.sim.at(last, () => this.watch())
  }

  settled(): boolean {
    return this.lastOpAtMs === null || this.convergedAtMs !== null
  }

  onPacket(_from: SimNode, _to: Address, bytes: Uint8Array): void {
    if (bytes.indexOf(ENVELOPE_MAGIC) < 0) return
    for (const m of decodePacket(bytes).messages) {
      if (m.type === 'user' && m.payload.length > 1 && m.payload[0] === ENVELOPE_MAGIC && m.payload[1] === CRDT_PROTOCOL) this.bytes += m.payload.length
    }
  }

  report(): CrdtWorkloadReport {
    const converged = this.convergedAtMs !== null && this.lastOpAtMs !== null
    const live = this.sim.liveNodes()
    return {
      crdtOpsPerSec: this.rate,
      ops: this.ops,
      increments: this.increments,
      lastOpAtMs: this.lastOpAtMs,
      crdtConvergenceMs: converged ? Math.round((this.convergedAtMs! - this.lastOpAtMs!) * 1000) / 1000 : null,
      crdtDigest: converged ? this.digest : null,
      crdtExact: converged ? this.counterAtConvergence === this.increments && this.allAtConvergence === this.allIncrements : null,
      lost: converged ? this.allIncrements - this.allAtConvergence! : null,
      keys: converged ? this.keysAtConvergence : null,
      durable: this.durable,
      counterValue: converged ? this.counterAtConvergence : live.length > 0 ? counterOf(live[0]) : null,
      crdtBytes: this.bytes,
      bytesPerOp: this.ops > 0 ? this.bytes / (this.ops * this.nodes) : null,
      note: this.lastOpAtMs === null ? 'no ops were made' : converged ? null : `not converged by the end of the run: ${this.views()} distinct states among ${live.length} live nodes`,
    }
  }

  private op(i: number): void {
    const nodes = this.sim.nodes.filter((n) => n.status === 'running' && !n.leaving)
    if (nodes.length === 0) return
    const node = nodes[this.rng.int(nodes.length)]
    const pick = this.rng.int(10)
    const by = 1 + this.rng.int(5)
    const element = `m${this.rng.int(16)}`
    this.sim.invoke(node, (p, now, out) =>
      (p as ComposedNode).crdtWrite((r) => {
        if (pick < 4) r.write('counter', 'ops', (s, id) => s.increment(id, by))
        else if (pick === 4) r.write('gcounter', 'hits', (s, id) => s.increment(id, by))
        else if (pick < 7) r.write('set', 'members', (s, id) => (this.rng.int(3) === 0 ? s.remove(element) : s.add(id, element)))
        else if (pick === 7 && i % 2 === 0) r.write('register', 'leader', (s, id, clock) => s.assign(id, `${node.name}/${i}`, clock, now))
        else if (pick === 7) r.write('mvregister', 'owner', (s, id) => s.assign(id, `${node.name}/${i}`))
        else if (pick === 8) r.write('flag', 'maintenance', (s, id) => (this.rng.int(2) === 0 ? s.enable(id) : s.disable()))
        else r.write('map', 'config', (s, id) => s.increment(id, `c${by}`, 1))
      }, now, out),
    )
    if (pick < 4) this.increments += by
    if (pick <= 4) this.allIncrements += by
    else if (pick === 9) this.allIncrements += 1
    this.ops++
    this.lastOpAtMs = this.sim.nowMs
  }

  private watch(): void {
    const check = (): void => {
      const digest = this.commonDigest()
      if (digest !== null) {
        this.convergedAtMs = this.sim.nowMs
        this.digest = digest
        this.counterAtConvergence = counterOf(this.sim.liveNodes()[0])
        this.allAtConvergence = allCountersOf(this.sim.liveNodes()[0])
        this.keysAtConvergence = replicator(this.sim.liveNodes()[0]).keys()
        return
      }
      this.sim.at(this.sim.nowMs + CHECK_EVERY_MS, check)
    }
    check()
  }

  private commonDigest(): string | null {
    const live = this.sim.liveNodes()
    if (live.length === 0) return null
    const first = signature(live[0])
    for (let i = 1; i < live.length; i++) if (signature(live[i]) !== first) return null
    return new Hash64().update(first).hex()
  }

  private views(): number {
    return new Set(this.sim.liveNodes().map(signature)).size
  }
}

function replicator(node: SimNode): NonNullable<ComposedNode['crdt']> {
  const r = node.protocol instanceof ComposedNode ? node.protocol.crdt : undefined
  if (r === undefined) throw new Error(`${node.name} runs no CRDT replication: the workload needs the whole stack on every node`)
  return r
}

/** Every key with the hash of its canonical state. */
function signature(node: SimNode): string {
  const r = replicator(node)
  return r.keys().map((k) => `${k}=${r.hashOf(k)}`).join(';')
}

function counterOf(node: SimNode): number {
  return replicator(node).get('counter', 'ops')?.value() ?? 0
}

/** counter/ops + gcounter/hits + every counter field of map/config. */
function allCountersOf(node: SimNode): number {
  const r = replicator(node)
  const map = r.get('map', 'config')
  let fields = 0
  for (const f of map?.keys() ?? []) if (f.kind === 'counter') fields += map!.counter(f.name)
  return counterOf(node) + (r.get('gcounter', 'hits')?.value() ?? 0) + fields
}
