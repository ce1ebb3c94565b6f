/**
 * Replicated data types (stack/crdt-protocol.ts, replication/) over the overlay, for
 * `membership: 'hyparview'`: the transport seam that stands in for SWIM's packets, rounds and push-pull.
 *
 *   write here / delta or states from a peer ──▶ wake(): a CRDT round is armed when there is work
 *   CRDT round (every ROUND_MS while deltas are queued; every antiEntropyIntervalMs while keys are held)
 *     ├─▶ CrdtProtocol.onRound(samplePeers(FANOUT)): large deltas in fragments, a digest to one sampled peer
 *     └─▶ per sampled peer: the queued deltas (each sent retransmitMult·⌈log10(n+1)⌉ times in all, then
 *         dropped; a receiver relays what is new to it the same way) ──▶ APP(CRDT) messages
 *   APP(CRDT) from a peer ──▶ CrdtProtocol.onMessage (gaps ask the sender; digests answered with states)
 *
 * What SWIM mode has and this mode cannot: push-pull on join (a joiner catches up through the anti-entropy
 * digests its neighbours send it, a window of keys per interval), and departures (no membership: the
 * seqs of a replica that left stay, a few bytes per key and writer). Consistency levels other than
 * 'local' need a Serf query to every member and are refused in this mode (runtime/node/crdt.ts).
 *
 * Idle nodes arm no timer: a node that holds no key and queues no delta wakes for nothing, which keeps
 * the 10,000-node simulations as cheap as without replication. Pure; time and sends are handed in.
 */
import type { CrdtProtocol } from '../stack/crdt-protocol.js'
import type { PeerSend } from '../stack/stack.js'

/** Deltas go out this often while queued (memberlist's LAN gossip interval). */
export const CRDT_ROUND_MS = 200
/** Peers each round's deltas go to, as memberlist's gossipNodes. */
export const CRDT_FANOUT = 3

/** How the overlay mode schedules the CRDT round (a node timer with this epoch). */
export type ScheduleCrdtRound = (epoch: number, afterMs: number) => void

export class OverlayCrdt {
  private epoch = 0
  /** When the armed round fires; undefined: none armed. */
  private dueMs: number | undefined
  /** Rounds run and APP messages sent, for /v1/overlay. */
  readonly counters = { rounds: 0, messagesSent: 0, messagesReceived: 0 }

  constructor(private readonly crdt: CrdtProtocol) {}

  /** A message of the CRDT protocol from a peer. */
  onMessage(from: string, payload: Uint8Array, nowMs: number, send: PeerSend): void {
    this.counters.messagesReceived++
    this.crdt.onMessage(from, payload, nowMs, this.counting(send))
  }

  /** Arms a round when there is work sooner than the one armed (after every input of the node). */
  wake(nowMs: number, schedule: ScheduleCrdtRound): void {
    const r = this.crdt.replicator
    let want: number | undefined
    if (r.queuedDeltas > 0) want = nowMs + CRDT_ROUND_MS
    else if (r.keys().length > 0 && r.config.antiEntropyIntervalMs > 0) want = nowMs + r.config.antiEntropyIntervalMs
    if (want === undefined || (this.dueMs !== undefined && this.dueMs <= want)) return
    this.dueMs = want
    schedule(++this.epoch, want - nowMs)
  }

  /** The round timer fired: anti-entropy and large deltas, then the queued deltas to each sampled peer. */
  round(epoch: number, nowMs: number, samplePeers: (k: number) => string[], send: PeerSend): void {
    if (epoch !== this.epoch) return
    this.dueMs = undefined
    const peers = samplePeers(CRDT_FANOUT)
    if (peers.length === 0) return
    this.counters.rounds++
    const counted = this.counting(send)
    this.crdt.onRound(nowMs, peers, counted)
    const limit = this.crdt.replicator.config.maxMessageBytes * 4
    for (const peer of peers) {
      for (const bytes of this.crdt.piggyback(peer, 0, limit)) counted(peer, bytes)
    }
  }

  private counting(send: PeerSend): PeerSend {
    return (to, payload) => {
      this.counters.messagesSent++
      return send(to, payload)
    }
  }
}
