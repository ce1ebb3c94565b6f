/**
 * PushPull: anti-entropy, the whole member table exchanged over a stream (memberlist pushPullNode,
 * mergeRemoteState and mergeState), periodically with one random alive member, on join with each seed,
 * and by the reconnect loop.
 *
 *   us ══pushPull(join, our nodes, user state)══▶ peer    peer merges ours, replies with its own:
 *   us ◀══pushPull(its nodes, user state)═════════ peer    we merge it
 *
 * Merging checks protocol versions first (verifyProtocol), then lets the delegate veto a join, then
 * applies every node as an alive, suspect or dead message would (a remote dead is only a suspicion
 * here: we let the member refute before believing it; a remote left is believed). Our encoded state is
 * cached until the table changes, since a 1000-member state costs milliseconds to encode and compress.
 */
import type { StreamResult } from '../core/effects.js'
import type { Address } from '../core/types.js'
import { addressKey, sameAddress } from '../core/types.js'
import { decodeStream } from '../wire/codec.js'
import type { PushNodeState, PushPullMsg, WireStateNumber } from '../wire/messages.js'
import type { MemberInfo, MemberState } from './events.js'
import type { Member } from './member.js'
import { EMPTY, addressFromWire } from './member.js'
import type { SwimHost } from './host.js'
import { SwimPart } from './host.js'
import type { PacketSender } from './sender.js'
import type { StateChanges } from './state-changes.js'
import type { SwimOutbox } from './outbox.js'

/** A join refused because our name is held by a live member at `kept`. */
export interface NameRefusal {
  readonly kept: Address
  readonly reason: string
}

/** What push-pull needs from the node. */
export interface PushPullHost extends SwimHost {
  readonly states: StateChanges
  readonly send: PacketSender
}

interface CachedState {
  readonly version: number
  readonly bytes: Uint8Array
}

export class PushPull extends SwimPart<PushPullHost> {
  private encodedState: CachedState | undefined
  private encodedJoinState: CachedState | undefined
  private readonly states: StateChanges
  private readonly send: PacketSender

  constructor(host: PushPullHost) {
    super(host)
    this.states = host.states
    this.send = host.send
  }

  /** Our state as a pushPull stream message, from the cache while the table is unchanged. */
  localState(join: boolean): Uint8Array {
    // Never cached with delegate state, which may change without our knowing.
    const cacheable = this.delegate?.localState === undefined
    const version = this.members.version
    const cached = join ? this.encodedJoinState : this.encodedState
    if (cacheable && cached !== undefined && cached.version === version) return cached.bytes
    const bytes = this.encodeLocalState(join)
    if (cacheable) {
      const entry = { version, bytes: bytes.slice() }
      if (join) this.encodedJoinState = entry
      else this.encodedState = entry
      return entry.bytes
    }
    return bytes
  }

  /**
   * A pushPull reply (or the failure to get one) arrived. Returns undefined on success, or the error
   * text. With `newcomer` (a join by a node that knows no live member yet), a reply that holds our own
   * name alive at another address is refused whole: the name belongs to an established member.
   */
  handleReply(result: StreamResult, nowMs: number, out: SwimOutbox, peer: Address, newcomer = false): string | NameRefusal | undefined {
    const h = this.host
    if (!result.ok) return result.error
    const decoded = decodeStream(result.bytes)
    if (!decoded.ok) {
      h.undecodable(decoded.error, peer, out)
      return `bad reply: ${decoded.error.message}`
    }
    const msg = decoded.value
    this.stats.streamIn(msg.type, result.bytes.length)
    if (msg.type === 'err') return `remote error: ${msg.error}`
    if (msg.type !== 'pushPull') {
      h.dropped('unexpected-stream-message', peer, out, msg.type)
      return `unexpected reply ${msg.type}`
    }
    if (newcomer) {
      const kept = this.nameHeldElsewhere(msg)
      if (kept !== undefined) {
        this.stats.nameConflicts++
        this.stats.pushPullsRejected++
        out.emit({ type: 'nameConflict', name: this.name, kept, refused: this.address, role: 'newcomer' })
        return {
          kept,
          reason:
            `name conflict: the cluster already has a live member named ${JSON.stringify(this.name)} at ${addressKey(kept)} ` +
            `(this node is ${addressKey(this.address)}); node names must be unique: give this node another name, or stop the other one and wait until the cluster marks it failed or left`,
        }
      }
    }
    return this.merge(msg, nowMs, out, peer)
  }

  /** The address at which a remote state holds our name alive or suspect, when it is not ours. */
  private nameHeldElsewhere(msg: PushPullMsg): Address | undefined {
    for (const n of msg.nodes) {
      if (n.name !== this.name || (n.state !== 0 && n.state !== 1)) continue
      const address = addressFromWire(n.addr, n.port === 0 ? this.address.port : n.port)
      if (address !== undefined && !sameAddress(address, this.address)) return address
    }
    return undefined
  }

  /** memberlist mergeRemoteState + mergeState. Returns a rejection reason, or undefined. */
  merge(msg: PushPullMsg, nowMs: number, out: SwimOutbox, from: Address): string | undefined {
    const h = this.host
    const incompatible = verifyProtocol(msg.nodes, this.members.carriedMembers)
    if (incompatible !== undefined) {
      this.stats.pushPullsRejected++
      h.dropped('incompatible-version', from, out, incompatible)
      return incompatible
    }
    if (msg.join && this.delegate?.notifyMerge) {
      const peers: MemberInfo[] = []
      for (const n of msg.nodes) {
        const address = addressFromWire(n.addr, n.port)
        if (address === undefined) continue
        peers.push({ name: n.name, address, state: WIRE_STATES[n.state], incarnation: n.incarnation, meta: n.meta ?? EMPTY, vsn: n.vsn, stateChangeMs: nowMs })
      }
      const reason = this.delegate.notifyMerge(peers)
      if (reason !== undefined) {
        this.stats.pushPullsRejected++
        h.dropped('rejected-by-delegate', from, out, reason)
        return reason
      }
    }
    for (const n of msg.nodes) {
      switch (n.state) {
        case 0:
          // Calm healing: alive there at the incarnation we hold dead cannot revive it here; ask it to refute.
          this.states.askDeadToRefute(n.name, n.incarnation, nowMs, out)
          this.states.alive(
            { type: 'alive', incarnation: n.incarnation, node: n.name, addr: n.addr, port: n.port, meta: n.meta, vsn: n.vsn },
            nowMs,
            out,
            false,
            from,
          )
          break
        case 3:
          this.states.dead({ type: 'dead', incarnation: n.incarnation, node: n.name, from: n.name }, nowMs, out, 'pushPull')
          break
        case 1:
        case 2: {
          // Calm healing: no suspicion of a member we hear from ourselves; it is told, and refutes.
          const m = this.members.get(n.name)
          if (m !== undefined && n.incarnation >= m.incarnation && this.states.heardRecently(m, nowMs, 'max')) {
            this.stats.pushPullAccusationsIgnored++
            this.states.forwardAccusation(m, n.incarnation, out)
            break
          }
          // A remote dead is only a suspicion here: we let the member refute before believing it.
          this.states.suspect({ type: 'suspect', incarnation: n.incarnation, node: n.name, from: this.name }, nowMs, out, 'pushPull')
          break
        }
      }
    }
    if (msg.userState.length > 0) this.delegate?.mergeRemoteState?.(msg.userState, msg.join, nowMs)
    return undefined
  }

  private encodeLocalState(join: boolean): Uint8Array {
    const nodes: PushNodeState[] = []
    for (const m of this.members.carriedMembers) {
      nodes.push({
        name: m.name,
        addr: m.addr,
        port: m.address.port,
        meta: m.meta,
        incarnation: m.incarnation,
        state: STATE_NUMBERS[m.state],
        vsn: m.vsn,
      })
    }
    const userState = this.delegate?.localState?.(join) ?? EMPTY
    return this.send.encodeStream({ type: 'pushPull', join, nodes, userState })
  }
}

/**
 * memberlist verifyProtocol: every alive node, ours and theirs, must speak a protocol (and delegate
 * protocol) version within every other alive node's [min, max]. Returns the first violation, or undefined.
 */
export function verifyProtocol(remote: readonly PushNodeState[], local: readonly Member[]): string | undefined {
  let maxPMin = 0
  let minPMax = 255
  let maxDMin = 0
  let minDMax = 255
  const consider = (vsn: Uint8Array): void => {
    maxPMin = Math.max(maxPMin, vsn[0])
    minPMax = Math.min(minPMax, vsn[1])
    maxDMin = Math.max(maxDMin, vsn[3])
    minDMax = Math.min(minDMax, vsn[4])
  }
  for (const n of remote) if (n.state === 0 && n.vsn.length === 6) consider(n.vsn)
  for (const m of local) if (m.state === 'alive') consider(m.vsn)
  const check = (name: string, vsn: Uint8Array): string | undefined => {
    if (vsn.length !== 6) return `node ${name} sent no protocol versions`
    if (vsn[2] < maxPMin || vsn[2] > minPMax) return `node ${name} protocol version ${vsn[2]} is incompatible: [${maxPMin}, ${minPMax}]`
    if (vsn[5] < maxDMin || vsn[5] > minDMax) return `node ${name} delegate protocol version ${vsn[5]} is incompatible: [${maxDMin}, ${minDMax}]`
    return undefined
  }
  for (const n of remote) {
    const bad = check(n.name, n.vsn)
    if (bad !== undefined) return bad
  }
  for (const m of local) {
    if (m.state !== 'alive') continue
    const bad = check(m.name, m.vsn)
    if (bad !== undefined) return bad
  }
  return undefined
}

const STATE_NUMBERS: Readonly<Record<MemberState, WireStateNumber>> = { alive: 0, suspect: 1, dead: 2, left: 3 }
const WIRE_STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left']
