/**
 * CRDT replication (replication/replicator.ts) as a stack protocol (stack.ts), envelope id 3.
 *
 *   writes ──▶ replicator queue ──▶ piggyback(to, …): deltas on SWIM's pings, acks and gossip packets
 *   gossip round (every gossipIntervalMs while deltas or fragments are in flight, else only when
 *                 anti-entropy is due and there are keys: nextRoundMs) ──▶ replicator.round: large deltas
 *                 in fragments; a digest to one peer every antiEntropyIntervalMs
 *   message from a peer ──▶ replicator.handleMessage (replies through the same send)
 *   push-pull ──▶ every key's full state (a joiner gets everything)
 *   SWIM's members ──▶ a member that left or was reaped ──▶ replicator.departed(name)
 *                  ──▶ the alive Grapevine members and their incarnations ──▶ replicator.liveMembers (folds)
 *   the node's graceful leave ──▶ handOff: this node's state to one heir first (replication/handoff.ts)
 *   after each of these ──▶ changed keys ──▶ onChange (the node's `crdtChanged` events; persistence)
 *
 * Pure, like everything in the stack.
 */
import type { HandoffOutcome } from '../replication/handoff.js'
import type { CrdtReplicator, KeyChange } from '../replication/replicator.js'
import type { MemberInfo } from '../swim/events.js'
import { markedVersion } from './envelope.js'
import { Cadence } from './protocols.js'
import type { PeerSend, StackProtocol } from './stack.js'

export const CRDT_PROTOCOL = 3

export class CrdtProtocol implements StackProtocol {
  readonly id = CRDT_PROTOCOL
  private readonly antiEntropy: Cadence | undefined
  /** Members in SWIM's list at the last change, and which of them had left. */
  private members = new Set<string>()
  private readonly left = new Set<string>()

  constructor(
    readonly replicator: CrdtReplicator,
    private readonly onChange: (changes: readonly KeyChange[]) => void,
  ) {
    const every = replicator.config.antiEntropyIntervalMs
    this.antiEntropy = every === 0 ? undefined : new Cadence(every)
  }

  onMessage(sender: string, payload: Uint8Array, nowMs: number, send: PeerSend): void {
    this.replicator.handleMessage(sender, payload, nowMs, send)
    this.flush()
  }

  onRound(nowMs: number, peers: readonly string[], send: PeerSend): void {
    this.replicator.round(nowMs, peers, this.antiEntropy?.due(nowMs) ?? false, send)
    this.flush()
  }

  /** Every round while deltas or fragments are in flight, else only for anti-entropy (keys to compare). */
  nextRoundMs(nowMs: number): number | undefined {
    return this.replicator.nextRoundMs(nowMs, this.antiEntropy?.nextDueMs(nowMs))
  }

  piggyback(_to: string, overheadBytes: number, limitBytes: number): Uint8Array[] {
    return this.replicator.piggyback(overheadBytes, limitBytes)
  }

  localState(): Uint8Array | undefined {
    return this.replicator.keys().length === 0 ? undefined : this.replicator.localState()
  }

  mergeRemoteState(state: Uint8Array): void {
    this.replicator.mergeRemoteState(state)
    this.flush()
  }

  onMembership(members: readonly MemberInfo[]): void {
    this.replicator.liveMembers(members.filter((m) => m.state === 'alive' && markedVersion(m.meta) !== undefined))
    const present = new Set<string>()
    for (const m of members) {
      present.add(m.name)
      if (m.state !== 'left') {
        this.left.delete(m.name)
        this.replicator.returned(m.name)
        continue
      }
      if (this.left.has(m.name)) continue
      this.left.add(m.name)
      this.replicator.departed(m.name)
    }
    for (const name of this.members) {
      if (present.has(name)) continue
      this.left.delete(name)
      this.replicator.departed(name)
    }
    this.members = present
  }

  /** Starts a graceful leave's handoff; `onEnd` once it ended. False when there is nothing to hand over. */
  handOff(onEnd: (outcome: HandoffOutcome) => void): boolean {
    return this.replicator.handoff.begin(onEnd)
  }

  /** Hands out the keys that changed (writes call it too, through the node). */
  flush(): void {
    const changes = this.replicator.takeChanges()
    if (changes.length > 0) this.onChange(changes)
  }
}
