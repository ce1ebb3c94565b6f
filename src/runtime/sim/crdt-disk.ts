/**
 * A data directory per simulated node (`--crdt-durable`, scenario field `workload: { crdtDurable: true }`):
 * what the real runtime's LMDB store (runtime/node/crdt-store.ts) keeps, with the same timing, so that a
 * crash and restart in the simulator loses exactly what a real one would.
 *
 *   a write on node n ──▶ replicator's durable commit (the real hook, setDurableCommit) ──▶ n's disk,
 *        before the delta is queued: a crash right after the write keeps it
 *   a change from a peer ──▶ crdtChanged ──▶ n's disk PEER_CHANGES_FLUSH_MS later, if n is still the
 *        same process (a crash in between loses it; peers hold it and anti-entropy brings it back)
 *   restart of n ──▶ a fresh ComposedNode with crdtRestore: n's replica id and every key it had on disk
 *   a graceful leave's commit to an heir (replication/handoff.ts) ──▶ n's disk retired first, as the real
 *        store's retire(): keys gone, and the next start of n takes a fresh replica id
 *
 * The disk survives crashes; a node that never ran has none and starts a fresh replica id.
 */
import { ComposedNode, PEER_CHANGES_FLUSH_MS } from '../../node/index.js'
import type { KeyRecord, NodeEvent } from '../../node/index.js'
import type { SimNode } from './node.js'
import type { ProtocolFactory } from './protocol.js'
import type { SimObserver } from './types.js'

interface Disk {
  readonly replica: string
  readonly records: Map<string, KeyRecord>
  /** Handed to an heir: the next start ignores this disk. */
  retired: boolean
}

export class SimCrdtDisks implements SimObserver {
  private readonly disks = new Map<string, Disk>()
  /** Schedules a callback at a virtual time (the simulation's `at`, bound once it exists). */
  private at: ((atMs: number, fn: () => void) => void) | undefined
  /** Records written (commits of writes and flushes of peers' changes). */
  writes = 0

  /** The protocol factory: the composed node, restored from its disk when it has one, committing to it. */
  readonly factory: ProtocolFactory = (o) => {
    const disk = this.disks.get(o.name)?.retired === true ? undefined : this.disks.get(o.name)
    const node = new ComposedNode(
      {
        ...o.settings,
        name: o.name,
        address: o.address,
        config: o.config,
        generation: o.restart + 1,
        seeds: o.seeds,
        crdtRestore: disk === undefined ? undefined : { replica: disk.replica, keys: [...disk.records.values()] },
      },
      { rng: o.rng, aead: o.aead },
    )
    const r = node.crdt
    if (r !== undefined) {
      const mine: Disk = disk ?? { replica: r.replica, records: new Map<string, KeyRecord>(), retired: false }
      this.disks.set(o.name, mine)
      r.setDurableCommit(
        (rec) => {
          mine.records.set(rec.key, rec)
          this.writes++
        },
        () => {
          mine.records.clear()
          mine.retired = true
          this.writes++
        },
      )
    }
    return node
  }

  bind(at: (atMs: number, fn: () => void) => void): void {
    this.at = at
  }

  onEvent(node: SimNode, e: NodeEvent, atMs: number): void {
    if (e.type !== 'crdtChanged' || this.at === undefined) return
    const keys = e.changes.filter((c) => !c.local).map((c) => c.key)
    if (keys.length === 0) return
    const generation = node.generation
    this.at(atMs + PEER_CHANGES_FLUSH_MS, () => {
      if (node.status !== 'running' && node.status !== 'paused') return
      if (node.generation !== generation || !(node.protocol instanceof ComposedNode)) return
      const r = node.protocol.crdt
      const disk = this.disks.get(node.name)
      if (r === undefined || disk === undefined || disk.retired) return
      for (const key of keys) {
        const rec = r.record(key)
        if (rec !== undefined) disk.records.set(key, rec)
      }
      this.writes++
    })
  }

  /** Keys on a node's disk (tests). */
  keysOf(name: string): readonly string[] {
    return [...(this.disks.get(name)?.records.keys() ?? [])].sort()
  }
}
