/**
 * When a restarted replica may fold its past lives (replicator.ts foldPredecessors): only once every
 * live Grapevine peer was seen holding the key's state equal to ours, since the last time a peer stopped
 * being live or restarted.
 *
 * ```
 *  SWIM's membership changed ──▶ liveMembers(alive Grapevine peers, name → incarnation)
 *        └─ a peer gone from it, or back as a new incarnation ──▶ epoch + 1 (every confirmation void)
 *  a peer's digest matched ours, or its full state left ours equal to it ──▶ confirm(key, peer) at the epoch
 *  every antiEntropyIntervalMs while a fold waits ──▶ unconfirmed: one live peer that has not confirmed
 *        ──▶ states [need: the keys] ◀── its states ──▶ merged; equal to ours after the merge: confirmed
 *  fold pass ──▶ foldable(key): every live peer (at least FOLD_CONFIRMATIONS) confirmed at this epoch
 * ```
 *
 * Why this is enough: a fold sums our copy of each predecessor's entry into ours and raises a floor that
 * drops every copy of it (crdt/floors.ts). A dead generation's entry only grows, so its true value is the
 * largest copy any replica holds, and ours must be it (likewise its dots, or a removed element comes
 * back and an added one goes). A live peer holding a larger copy than ours got it after its confirmation,
 * from a holder that had not confirmed since; that holder was live when it sent it (a dead generation's
 * own packets land within a network delay, long before foldAfterMs), so it is a peer that has since died
 * or restarted, and that voided the confirmations.
 *
 * What it replaced: two confirmations from any two peers. Two peers can hold the same lower copy as ours
 * while a third holds a higher one (a delta that reached it only, or an earlier successor's fold of it
 * that had not reached us); the floor then dropped the higher copy everywhere (fold-gate.test.ts builds
 * that case). The cost: no fold while a live peer is unreachable or the membership keeps changing; folds
 * wait for a quiet membership, then ask one unconfirmed peer per antiEntropyIntervalMs (a request and the
 * peer's state of the waiting keys). A member that is down (not live) when we fold and comes back with
 * its data directory still loses any copy larger than ours: nothing live can vouch for it.
 *
 * Pure; the replicator owns one.
 */

import type { Rng } from '../core/rng.js'

/** Fewest live peers a fold needs (every one of them seen holding the key's state equal to ours). */
export const FOLD_CONFIRMATIONS = 2

export class FoldGate {
  /** Per key, the peers whose state was seen equal to ours, each with the epoch it was seen in. */
  private readonly synced = new Map<string, Map<string, number>>()
  /** The live Grapevine peers (name → incarnation); undefined until told, and then nothing is foldable. */
  private live: Map<string, number> | undefined
  private epoch = 0

  /** The live peers after a membership change (`self` left out). */
  liveMembers(members: Iterable<{ readonly name: string; readonly incarnation: number }>, self: string): void {
    const next = new Map<string, number>()
    for (const m of members) if (m.name !== self) next.set(m.name, m.incarnation)
    if (this.live !== undefined) {
      for (const [name, incarnation] of this.live) {
        if (next.get(name) === incarnation) continue
        this.epoch++
        break
      }
    }
    this.live = next
  }

  /** `peer` was seen holding our state of `key`. */
  confirm(key: string, peer: string): void {
    let peers = this.synced.get(key)
    if (peers === undefined) this.synced.set(key, (peers = new Map()))
    peers.set(peer, this.epoch)
  }

  /** Whether every live peer (at least FOLD_CONFIRMATIONS) confirmed `key` since the last loss or restart. */
  foldable(key: string): boolean {
    const live = this.live
    const seen = this.synced.get(key)
    if (live === undefined || live.size < FOLD_CONFIRMATIONS || seen === undefined) return false
    for (const name of live.keys()) if (seen.get(name) !== this.epoch) return false
    return true
  }

  /**
   * A live peer (picked with `rng`) that has not confirmed some of `keys` at this epoch, and those keys;
   * undefined when every live peer confirmed them all. The replicator asks it for its state of them.
   */
  unconfirmed(keys: Iterable<string>, rng: Rng): { readonly peer: string; readonly keys: string[] } | undefined {
    if (this.live === undefined || this.live.size < FOLD_CONFIRMATIONS) return undefined
    const wanted = [...keys]
    const peers = [...this.live.keys()].filter((peer) => wanted.some((key) => this.synced.get(key)?.get(peer) !== this.epoch))
    if (peers.length === 0) return undefined
    const peer = peers[rng.int(peers.length)]
    return { peer, keys: wanted.filter((key) => this.synced.get(key)?.get(peer) !== this.epoch) }
  }

  /** The key was folded (or needs no fold): its confirmations go. */
  forget(key: string): void {
    this.synced.delete(key)
  }
}
