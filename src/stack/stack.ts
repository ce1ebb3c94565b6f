/**
 * The protocol stack of one node: SWIM below and, as its one delegate, Serf's layer and Grapevine's
 * own protocols (broadcasts, cluster state) above it, the way Serf rides on memberlist.
 *
 *   user message ──▶ first byte 'G' ? envelope ──▶ protocol[id].onMessage(sender, payload, now, send)
 *                                    : Serf's layer
 *   piggyback to X ──▶ Serf's broadcasts, then (X marked Grapevine) each protocol's, in envelopes;
 *                      on a packet that goes anyway (ping, ack: `riding`) a protocol may also hand its
 *                      periodic pull (a state Syn, a repair pull), which then costs no packet of its own
 *   gossip round ──▶ each protocol's onMembership(members, now) if SWIM's list changed, then
 *                    each protocol's onRound(now, Grapevine peers, send); SWIM arms a round only
 *                    for the earliest time Serf's queues or a protocol want one (nextRoundMs), so
 *                    an idle node does not wake every gossipIntervalMs
 *   push-pull ──▶ Serf's state, then each protocol's section (envelope.ts); merged the same way
 *   suspicion expired / probe tick ──▶ the second opinion (phi accrual), if any: confirmDead, accused
 *
 * Grapevine peers are the live members whose metadata carries the mark (envelope.ts); the list is
 * rebuilt only when the membership changed. A protocol only ever talks to Grapevine peers.
 *
 * Pure: everything happens inside the delegate calls SWIM makes, with the time and the send function
 * SWIM passes in. Malformed envelopes and states are counted and dropped.
 */
import type { MembershipView, SwimDelegate } from '../swim/delegate.js'
import type { DropReason, MemberInfo } from '../swim/events.js'
import type { SerfLayer } from '../serf/serf-layer.js'
import { decodeEnvelope, encodeEnvelope, encodeState, envelopeOverhead, markedVersion, splitState } from './envelope.js'

/** Sends a payload of the calling protocol to one peer by name; false when there is no such live peer. */
export type PeerSend = (to: string, payload: Uint8Array) => boolean

/** A protocol riding on SWIM through the stack. Every method is synchronous and pure. */
export interface StackProtocol {
  /** Envelope id, unique in the stack (1 broadcasts, 2 cluster state). */
  readonly id: number
  /** A message from a Grapevine peer. */
  onMessage(sender: string, payload: Uint8Array, nowMs: number, send: PeerSend): void
  /** One gossip round (every gossipIntervalMs); `peers` are the live Grapevine members but us. */
  onRound?(nowMs: number, peers: readonly string[], send: PeerSend): void
  /**
   * When this protocol next needs onRound (undefined: not until something changes). A protocol with
   * onRound and without this method gets every round.
   */
  nextRoundMs?(nowMs: number): number | undefined
  /**
   * Payloads to piggyback on a packet to `to`, at most `limitBytes` in all, each costing its length +
   * `overheadBytes`. `riding`: the packet goes out anyway (a SWIM ping or ack), so what is returned costs
   * bytes but no packet; false for a gossip round's packet, which is sent only if something is returned.
   */
  piggyback?(to: string, overheadBytes: number, limitBytes: number, nowMs: number, riding: boolean): Uint8Array[]
  /** This protocol's part of our push-pull state (undefined: none). */
  localState?(join: boolean): Uint8Array | undefined
  /** A peer's part of its push-pull state. */
  mergeRemoteState?(state: Uint8Array, join: boolean, nowMs: number): void
  /** SWIM's member list changed (seen at the next gossip round): every member, us included, with its state. */
  onMembership?(members: readonly MemberInfo[], nowMs: number): void
}

/** Where the stack reads the membership: SWIM itself, which binds itself at construction. */
export type MembershipSource = MembershipView

export interface StackOptions {
  readonly name: string
  /** Serf's layer, when the node takes part in Serf's protocol. */
  readonly serf?: SerfLayer
  readonly protocols: readonly StackProtocol[]
  /** Called for each dropped input, with the reason. */
  readonly onDrop?: (reason: DropReason) => void
  /** A second opinion on SWIM's verdicts (phi accrual; state/phi.ts PhiSecondOpinion). */
  readonly opinion?: Pick<SwimDelegate, 'confirmDead' | 'accused'>
}

export class ProtocolStack implements SwimDelegate {
  private membership: MembershipSource | undefined
  private peersVersion = -1
  /** The membership version protocols were last told about (onMembership). */
  private notifiedVersion = -1
  /** SWIM's member list at `snapshotVersion`, copied once per change for the peer list and onMembership. */
  private snapshot: readonly MemberInfo[] = []
  private snapshotVersion = -1
  private peerList: string[] = []
  private peerSet = new Set<string>()
  private readonly protocols = new Map<number, StackProtocol>()
  private readonly overhead: number
  /** The time SWIM last handed in; piggyback requests carry none of their own. */
  private lastNowMs = 0
  readonly counts = { messages: 0, dropped: 0 }

  constructor(private readonly opts: StackOptions) {
    for (const p of opts.protocols) {
      if (this.protocols.has(p.id)) throw new RangeError(`two protocols with envelope id ${p.id}`)
      this.protocols.set(p.id, p)
    }
    this.overhead = envelopeOverhead(opts.name)
  }

  /**
   * The time of the input being handled, before SWIM runs it: what it piggybacks on a ping or an ack
   * (getBroadcasts carries no time) is then judged at that time, not at the last round's.
   */
  setTime(nowMs: number): void {
    this.lastNowMs = nowMs
  }

  /** Connects the membership: SWIM calls this when constructed with the stack as its delegate. */
  bind(membership: MembershipSource): void {
    this.membership = membership
  }

  /** SWIM's members (us included) at the current membership version. */
  private members(m: MembershipSource): readonly MemberInfo[] {
    if (m.membershipVersion !== this.snapshotVersion) {
      this.snapshotVersion = m.membershipVersion
      this.snapshot = m.members()
    }
    return this.snapshot
  }

  /** Live members other than us that speak Grapevine's own protocols. */
  peers(): readonly string[] {
    const m = this.membership
    if (m === undefined) return this.peerList
    if (m.membershipVersion !== this.peersVersion) {
      this.peersVersion = m.membershipVersion
      this.peerList = this.members(m)
        .filter((x) => x.name !== m.name && x.state === 'alive' && markedVersion(x.meta) !== undefined)
        .map((x) => x.name)
      this.peerSet = new Set(this.peerList)
    }
    return this.peerList
  }

  isPeer(name: string): boolean {
    const m = this.membership
    if (m?.member !== undefined && m.membershipVersion !== this.peersVersion) {
      // The list is stale (the membership changed since the last round): answer for this one name
      // instead of rebuilding it. Every packet asks, and during a 1,000-node join the membership
      // changes between most packets, so rebuilding here was O(N) per packet.
      const x = m.member(name)
      return x !== undefined && x.name !== m.name && x.state === 'alive' && markedVersion(x.meta) !== undefined
    }
    this.peers()
    return this.peerSet.has(name)
  }

  // ------------------------------------------------------------------ SwimDelegate

  notifyUserMessage(payload: Uint8Array, fromName: string | undefined, nowMs: number, send: (to: string, p: Uint8Array) => boolean): void {
    this.lastNowMs = nowMs
    if (payload.length === 0 || payload[0] !== 0x47) {
      this.opts.serf?.notifyUserMessage(payload, fromName, nowMs, send)
      return
    }
    const env = decodeEnvelope(payload)
    if (typeof env === 'string') return this.drop('bad-envelope')
    const protocol = this.protocols.get(env.protocol)
    if (protocol === undefined) return this.drop('unknown-protocol')
    this.counts.messages++
    protocol.onMessage(env.sender, env.payload, nowMs, this.sender(protocol.id, send))
  }

  getBroadcasts(overheadBytes: number, limitBytes: number, toName?: string, riding = false): Uint8Array[] {
    const out = this.opts.serf?.getBroadcasts(overheadBytes, limitBytes, toName) ?? []
    if (toName === undefined || this.protocols.size === 0 || !this.isPeer(toName)) return out
    let left = limitBytes
    for (const b of out) left -= b.length + overheadBytes
    for (const p of this.protocols.values()) {
      if (p.piggyback === undefined || left <= overheadBytes + this.overhead) continue
      for (const payload of p.piggyback(toName, overheadBytes + this.overhead, left, this.lastNowMs, riding)) {
        out.push(encodeEnvelope(p.id, this.opts.name, payload))
        left -= payload.length + overheadBytes + this.overhead
      }
    }
    return out
  }

  onGossipRound(nowMs: number, send: (to: string, p: Uint8Array) => boolean): void {
    this.lastNowMs = nowMs
    const m = this.membership
    if (m !== undefined && m.membershipVersion !== this.notifiedVersion) {
      this.notifiedVersion = m.membershipVersion
      const members = this.members(m)
      for (const p of this.protocols.values()) p.onMembership?.(members, nowMs)
    }
    const peers = this.peers()
    for (const p of this.protocols.values()) p.onRound?.(nowMs, peers, this.sender(p.id, send))
  }

  nextRoundMs(nowMs: number): number | undefined {
    if ((this.opts.serf?.pendingBroadcasts ?? 0) > 0) return nowMs
    const m = this.membership
    if (m !== undefined && m.membershipVersion !== this.notifiedVersion) return nowMs
    let at: number | undefined
    for (const p of this.protocols.values()) {
      if (p.onRound === undefined && p.piggyback === undefined) continue
      // A protocol that cannot say, or piggybacks without rounds of its own, gets every round.
      const due = p.nextRoundMs === undefined ? nowMs : p.nextRoundMs(nowMs)
      if (due !== undefined && (at === undefined || due < at)) at = due
    }
    return at
  }

  localState(join: boolean): Uint8Array {
    const sections: Array<[number, Uint8Array]> = []
    for (const p of this.protocols.values()) {
      const s = p.localState?.(join)
      if (s !== undefined) sections.push([p.id, s])
    }
    return encodeState(this.opts.serf?.localState() ?? new Uint8Array(0), sections)
  }

  mergeRemoteState(state: Uint8Array, join: boolean, nowMs: number): void {
    this.lastNowMs = nowMs
    const split = splitState(state)
    if (typeof split === 'string') {
      this.drop('bad-state')
      // Serf's part may still be fine: let Serf's layer judge the whole thing, as Serf would.
      this.opts.serf?.mergeRemoteState(state, join)
      return
    }
    if (split.serf.length > 0) this.opts.serf?.mergeRemoteState(split.serf, join)
    for (const [id, bytes] of split.sections) this.protocols.get(id)?.mergeRemoteState?.(bytes, join, nowMs)
  }

  confirmDead(name: string, suspectedForMs: number, nowMs: number): boolean {
    return this.opts.opinion?.confirmDead?.(name, suspectedForMs, nowMs) ?? true
  }

  accused(nowMs: number): readonly string[] {
    return this.opts.opinion?.accused?.(nowMs) ?? []
  }

  isLeaving(name: string): boolean {
    return this.opts.serf?.isLeaving(name) ?? false
  }

  // ------------------------------------------------------------------ helpers

  private sender(id: number, send: (to: string, p: Uint8Array) => boolean): PeerSend {
    return (to, payload) => this.isPeer(to) && send(to, encodeEnvelope(id, this.opts.name, payload))
  }

  private drop(reason: DropReason): void {
    this.counts.dropped++
    this.opts.onDrop?.(reason)
  }
}
