/**
 * Incremental checkers fed by the simulation's observer hooks, cheap enough to run on every event of
 * a 1000-node run.
 *
 * ViewTracker keeps, for every live observer node, what it believes about every target node, as the
 * observer's own events told it (joined/updated/alive → alive, suspected → suspect, failed → dead,
 * left → left, reaped → absent), in one n×n byte matrix. A pair (observer, target) is a mismatch when
 * the target's process is live (running or paused) and the observer does not see it alive, or when
 * the target crashed or left and the observer still sees it alive or suspect. Counts of mismatches per
 * row, per column and in total are maintained on every change, so that:
 *
 *   converged            ⇔ total mismatches = 0                          (O(1) per event)
 *   crashed t is "dead everywhere" ⇔ column t has no mismatch            (O(1) per event)
 *
 * Crashes, departures, restarts and spawns flip one row and one column (O(n)). `Simulation.convergence()`
 * is the authoritative O(n²) check against each node's members(); the scenario uses both.
 */
import type { NodeEvent } from '../../node/index.js'
import type { SimNode } from './node.js'
import type { SimObserver } from './types.js'

const ABSENT = 0
const ALIVE = 1
const SUSPECT = 2
const DEAD = 3
const LEFT = 4

/** Per crashed node: virtual ms (absolute) of the crash and of each detection milestone. */
export interface DetectionRecord {
  readonly node: string
  readonly crashedAtMs: number
  firstSuspicionAtMs: number | null
  firstDeadAtMs: number | null
  deadEverywhereAtMs: number | null
}

export class ViewTracker implements SimObserver {
  private cap = 0
  private views: Uint8Array = new Uint8Array(0)
  private exists: Uint8Array = new Uint8Array(0)
  private observing: Uint8Array = new Uint8Array(0)
  private expectAlive: Uint8Array = new Uint8Array(0)
  private rowBad: Int32Array = new Int32Array(0)
  private colBad: Int32Array = new Int32Array(0)
  private total = 0
  private now = 0
  private readonly names = new Map<string, number>()
  private readonly detections = new Map<number, DetectionRecord>()
  /** Virtual time the current converged stretch began, or null when not converged. */
  convergedSinceMs: number | null = null
  /** The first instant every node saw every node as expected (null until then). */
  firstConvergedAtMs: number | null = null

  /** True when no live node has a wrong view of any node. */
  get converged(): boolean {
    return this.total === 0
  }

  get mismatches(): number {
    return this.total
  }

  /** Detection milestones of every crashed node, in crash order. */
  detectionRecords(): DetectionRecord[] {
    return [...this.detections.values()]
  }

  onSpawn(node: SimNode, atMs: number): void {
    this.now = atMs
    this.ensure(node.index + 1)
    this.names.set(node.name, node.index)
    this.exists[node.index] = 1
    this.becomeLive(node.index)
  }

  onRestart(node: SimNode, atMs: number): void {
    this.now = atMs
    this.detections.delete(node.index)
    this.becomeLive(node.index)
  }

  onCrash(node: SimNode, atMs: number): void {
    this.now = atMs
    this.detections.set(node.index, { node: node.name, crashedAtMs: atMs, firstSuspicionAtMs: null, firstDeadAtMs: null, deadEverywhereAtMs: null })
    this.becomeGone(node.index)
  }

  onLeft(node: SimNode, atMs: number): void {
    this.now = atMs
    this.becomeGone(node.index)
  }

  onEvent(node: SimNode, event: NodeEvent, atMs: number): void {
    this.now = atMs
    let view: number
    switch (event.type) {
      case 'joined':
      case 'updated':
      case 'alive':
        view = ALIVE
        break
      case 'suspected':
        view = SUSPECT
        break
      case 'failed':
        view = DEAD
        break
      case 'left':
        view = LEFT
        break
      case 'reaped':
        view = ABSENT
        break
      default:
        return
    }
    const t = this.names.get(event.member.name)
    const o = node.index
    if (t === undefined || t === o || this.observing[o] === 0) return
    const d = this.detections.get(t)
    if (d !== undefined) {
      if (view === SUSPECT && d.firstSuspicionAtMs === null) d.firstSuspicionAtMs = atMs
      if (view === DEAD && d.firstDeadAtMs === null) d.firstDeadAtMs = atMs
    }
    this.setView(o, t, view)
  }

  /** How observer `o` currently sees target `t` (for tests): 'absent' | 'alive' | 'suspect' | 'dead' | 'left'. */
  viewOf(observer: SimNode, target: SimNode): string {
    if (observer.index >= this.cap || target.index >= this.cap) return 'absent'
    return ['absent', 'alive', 'suspect', 'dead', 'left'][this.views[observer.index * this.cap + target.index]]
  }

  /** How many nodes `observer` currently sees alive, itself included (0 when it is not live). */
  aliveSeenBy(observer: SimNode): number {
    const o = observer.index
    if (o >= this.cap || this.observing[o] === 0) return 0
    let alive = 0
    const base = o * this.cap
    for (let t = 0; t < this.cap; t++) if (this.views[base + t] === ALIVE) alive++
    return alive
  }

  // ------------------------------------------------------------------ internals

  private mismatch(o: number, t: number): number {
    if (o === t || this.observing[o] === 0 || this.exists[t] === 0) return 0
    const v = this.views[o * this.cap + t]
    return this.expectAlive[t] === 1 ? (v !== ALIVE ? 1 : 0) : v === ALIVE || v === SUSPECT ? 1 : 0
  }

  private adjust(o: number, t: number, delta: number): void {
    if (delta === 0) return
    this.rowBad[o] += delta
    this.colBad[t] += delta
    this.total += delta
  }

  private setView(o: number, t: number, view: number): void {
    const before = this.mismatch(o, t)
    this.views[o * this.cap + t] = view
    this.adjust(o, t, this.mismatch(o, t) - before)
    this.afterChange(t)
  }

  /** Node i's process now exists: others should see it alive; it starts seeing only itself. */
  private becomeLive(i: number): void {
    this.setExpectation(i, 1)
    // Reset its row: a fresh process knows nobody yet.
    this.dropRow(i)
    const base = i * this.cap
    this.views.fill(ABSENT, base, base + this.cap)
    this.views[base + i] = ALIVE
    this.observing[i] = 1
    for (let t = 0; t < this.cap; t++) this.adjust(i, t, this.mismatch(i, t))
    this.afterChange(i)
  }

  /** Node i's process is gone: its views stop counting; others should stop seeing it alive. */
  private becomeGone(i: number): void {
    this.dropRow(i)
    this.setExpectation(i, 0)
    this.afterChange(i)
  }

  private dropRow(i: number): void {
    if (this.observing[i] === 0) return
    for (let t = 0; t < this.cap; t++) this.adjust(i, t, -this.mismatch(i, t))
    this.observing[i] = 0
  }

  private setExpectation(t: number, alive: number): void {
    const old = this.expectAlive[t]
    if (old === alive) return
    for (let o = 0; o < this.cap; o++) {
      if (this.observing[o] === 0 || o === t) continue
      this.expectAlive[t] = old
      const before = this.mismatch(o, t)
      this.expectAlive[t] = alive
      this.adjust(o, t, this.mismatch(o, t) - before)
    }
    this.expectAlive[t] = alive
  }

  private afterChange(t: number): void {
    if (this.total === 0) {
      if (this.convergedSinceMs === null) this.convergedSinceMs = this.now
      if (this.firstConvergedAtMs === null) this.firstConvergedAtMs = this.now
    } else {
      this.convergedSinceMs = null
    }
    const d = this.detections.get(t)
    if (d !== undefined && d.deadEverywhereAtMs === null && this.colBad[t] === 0) d.deadEverywhereAtMs = this.now
  }

  /** Forgets `firstConvergedAtMs`, e.g. once a batch of nodes has been spawned, so that the next convergence counts. */
  restartConvergenceClock(): void {
    this.firstConvergedAtMs = this.total === 0 ? this.now : null
  }

  /** Pre-sizes the matrix for `nodes` nodes (optional; it grows on demand). */
  reserve(nodes: number): void {
    this.ensure(nodes)
  }

  private ensure(size: number): void {
    if (size <= this.cap) return
    const cap = Math.max(16, Math.ceil(this.cap * 1.5), size)
    const views = new Uint8Array(cap * cap)
    for (let o = 0; o < this.cap; o++) views.set(this.views.subarray(o * this.cap, (o + 1) * this.cap), o * cap)
    const grow8 = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(cap)
      b.set(a)
      return b
    }
    const grow32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap)
      b.set(a)
      return b
    }
    this.views = views
    this.exists = grow8(this.exists)
    this.observing = grow8(this.observing)
    this.expectAlive = grow8(this.expectAlive)
    this.rowBad = grow32(this.rowBad)
    this.colBad = grow32(this.colBad)
    this.cap = cap
  }
}

export interface ConvergenceCheck {
  readonly converged: boolean
  /** Wrong (observer, target) views. */
  readonly mismatches: number
  /** Up to five of them, readable. */
  readonly examples: string[]
}

/**
 * The authoritative check, from every live node's own members(): it sees every live node alive and
 * every crashed or departed node dead, left or not at all. O(n²); use at checkpoints, not per event.
 */
export function checkConvergence(nodes: readonly SimNode[]): ConvergenceCheck {
  let mismatches = 0
  const examples: string[] = []
  for (const observer of nodes) {
    if (!observer.live) continue
    const seen = new Map<string, string>()
    for (const m of observer.protocol.members()) seen.set(m.name, m.state)
    for (const target of nodes) {
      if (target === observer) continue
      const state = seen.get(target.name)
      const ok = target.live ? state === 'alive' : state === undefined || state === 'dead' || state === 'left'
      if (!ok) {
        mismatches++
        if (examples.length < 5) examples.push(`${observer.name} sees ${target.name} (${target.status}) as ${state ?? 'absent'}`)
      }
    }
  }
  return { converged: mismatches === 0, mismatches, examples }
}
