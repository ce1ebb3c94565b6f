/**
 * A node's network coordinates, as Serf keeps them: our own Vivaldi coordinate, updated from every
 * direct probe, and a cache of the coordinates our probes' targets sent back.
 *
 *   we ──ping──▶ peer                                   peer ──ping──▶ we
 *   we ◀──ack(0x01 + peer's coordinate)── peer          peer ◀──ack(0x01 + our coordinate)── we
 *     └▶ notifyPingComplete(peer, rtt, payload)             (ackPayload: our coordinate, re-encoded
 *          ├ decode (bad: counted, dropped)                   only when it changed)
 *          ├ Vivaldi update (refused: counted, dropped)
 *          └ cache[peer] = peer's coordinate
 *
 * With the echo on (Grapevine's departure, echo.ts), an acked probe that updated us also goes back to
 * the probed peer when it carries Grapevine's mark and its coordinate is still settling (the error in
 * its ack at least ECHO_PEER_ERROR_MIN), and an echo that arrives updates us the same way:
 *
 *   we ──user(echo: rtt, our coordinate)──▶ peer        peer ──user(echo)──▶ we
 *                                                         └▶ handleEcho(sender, payload)
 *                                                              ├ decode (bad: counted, dropped)
 *                                                              ├ sender not a live member: counted, dropped
 *                                                              └ Vivaldi update, cache[sender]
 *
 * Estimates: rtt(a, b) is the distance between two known coordinates (ours or cached), so a node
 * estimates the round trip between two others it has probed without either measuring it. Like Serf,
 * only direct acks carry a coordinate (relayed ones carry none), and a peer's entry leaves the cache
 * when the peer leaves the membership (Serf drops it when the member is reaped).
 *
 * `coordinateDelegate` wraps the SWIM delegate a node already has with memberlist's PingDelegate
 * (ackPayload, notifyPingComplete), so this module stays outside `swim/`.
 */
import type { Rng } from '../core/rng.js'
import type { MemberInfo } from '../swim/events.js'
import type { MembershipView, SwimDelegate } from '../swim/delegate.js'
import type { DecodeErrorReason } from '../wire/decode-error.js'
import { ENVELOPE_MAGIC, decodeEnvelope, encodeEnvelope, markedVersion } from '../stack/envelope.js'
import { COORDINATE_ECHO_PROTOCOL, decodeEcho, encodeEchoPayload } from './echo.js'
import { decodeCoordinatePayload, encodeCoordinatePayload } from './payload.js'
import type { Coordinate, RejectReason, VivaldiConfig } from './vivaldi.js'
import { GRAPEVINE_VIVALDI, VivaldiClient, distanceMs } from './vivaldi.js'

/** Counters of what happened to coordinates that arrived. */
export interface CoordinateStats {
  /** Acks whose coordinate updated ours. */
  readonly updates: number
  /** Acks without a payload (relayed, TCP fallback, or a plain memberlist peer): nothing to learn. */
  readonly withoutPayload: number
  /** Payloads that could not be read, by reason. */
  readonly undecodable: Readonly<Partial<Record<DecodeErrorReason, number>>>
  /** Coordinates or RTTs refused by the update rule, by reason. */
  readonly rejected: Readonly<Record<RejectReason, number>>
  /** Times our coordinate became NaN or infinite and started over. */
  readonly resets: number
  /** Peers whose coordinate we hold. */
  readonly cached: number
  /** The coordinate echo (echo.ts): what we sent and what became of the ones that arrived. */
  readonly echoes: EchoStats
}

/** Why an arriving echo was dropped: unreadable, from a name that is no live member, or echoes are off here. */
export type EchoDropReason = DecodeErrorReason | 'unknown-sender' | 'off'

export interface EchoStats {
  /** Echoes sent, one per acked direct probe of a settling Grapevine peer that updated us. */
  readonly sent: number
  /** Their bytes as handed to SWIM (envelope and payload, before memberlist's type byte, CRC or sealing). */
  readonly bytesSent: number
  /** Echoes that updated our coordinate. */
  readonly applied: number
  /** Echoes dropped before the update rule, by reason (the rule's own refusals count in `rejected`). */
  readonly dropped: Readonly<Partial<Record<EchoDropReason, number>>>
}

/** One node's estimate of the round trip to another. */
export interface RttEstimate {
  readonly name: string
  readonly rttMs: number
}

/**
 * The echo goes to a peer only while the error estimate it sent in its ack is at least this (a fresh
 * coordinate's is 1.5; on the bench's three datacenters a settled node's is about 0.05–0.5, median 0.22).
 */
export const ECHO_PEER_ERROR_MIN = 0.35

/** Mixed into a node's SWIM seed to give its coordinates a random stream of their own (no extra draw). */
export const COORDINATES_SEED_MASK = 0x636f6f72

export class NetworkCoordinates {
  private readonly client: VivaldiClient
  private readonly cache = new Map<string, Coordinate>()
  private payload: Uint8Array | undefined
  private withoutPayload = 0
  private readonly undecodable: Partial<Record<DecodeErrorReason, number>> = {}
  private membership: MembershipView | undefined
  private seenVersion = -1
  /** Members neither dead nor left, as of `seenVersion`. */
  private present = new Set<string>()
  private echoesSent = 0
  private echoBytesSent = 0
  private echoesApplied = 0
  private readonly echoesDropped: Partial<Record<EchoDropReason, number>> = {}

  /** `echo`: send and apply coordinate echoes (echo.ts); false is Serf's behaviour. */
  constructor(readonly name: string, rng: Rng, config: VivaldiConfig = GRAPEVINE_VIVALDI, readonly echo = true) {
    this.client = new VivaldiClient(config, rng)
  }

  /** Our own coordinate. */
  coordinate(): Coordinate {
    return this.client.coordinate()
  }

  /** The coordinate of `name`: ours, or the last one it sent us; undefined when we never probed it. */
  coordinateOf(name: string): Coordinate | undefined {
    if (name === this.name) return this.client.coordinate()
    this.prune()
    return this.cache.get(name)
  }

  /** Every coordinate we know, ours first, then by name. */
  all(): Array<{ readonly name: string; readonly coordinate: Coordinate }> {
    this.prune()
    const others = [...this.cache.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return [{ name: this.name, coordinate: this.client.coordinate() }, ...others.map(([name, coordinate]) => ({ name, coordinate }))]
  }

  /**
   * Estimated round trip between `a` and `b` (default: us) in ms; undefined when either is unknown
   * (never probed, or gone from the membership since).
   */
  rtt(a: string, b: string = this.name): number | undefined {
    const ca = this.coordinateOf(a)
    const cb = this.coordinateOf(b)
    if (ca === undefined || cb === undefined || ca.vec.length !== cb.vec.length) return undefined
    return distanceMs(ca, cb)
  }

  /**
   * `names` sorted by estimated round trip from us, nearest first (ties and unknown ones by name,
   * unknown ones last), as Consul's "?near=" sorting.
   */
  sortByDistance(names: readonly string[]): RttEstimate[] {
    const known: RttEstimate[] = []
    const unknown: RttEstimate[] = []
    for (const name of names) {
      const rttMs = this.rtt(name)
      if (rttMs === undefined) unknown.push({ name, rttMs: Number.POSITIVE_INFINITY })
      else known.push({ name, rttMs })
    }
    const byName = (a: RttEstimate, b: RttEstimate): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    known.sort((a, b) => a.rttMs - b.rttMs || byName(a, b))
    unknown.sort(byName)
    return [...known, ...unknown]
  }

  stats(): CoordinateStats {
    const s = this.client.stats
    return {
      updates: s.updates,
      withoutPayload: this.withoutPayload,
      undecodable: { ...this.undecodable },
      rejected: { ...s.rejected },
      resets: s.resets,
      cached: this.cache.size,
      echoes: { sent: this.echoesSent, bytesSent: this.echoBytesSent, applied: this.echoesApplied, dropped: { ...this.echoesDropped } },
    }
  }

  // ------------------------------------------------------------------ memberlist's PingDelegate

  bind(membership: MembershipView): void {
    this.membership = membership
  }

  /** Our coordinate as Serf puts it in acks. */
  ackPayload(): Uint8Array {
    this.payload ??= encodeCoordinatePayload(this.client.coordinate())
    return this.payload
  }

  /**
   * A direct probe of `member` was acked after `rttMs`, with `payload` as the member sent it. With the
   * echo on, `send` (a user message by UDP to a member by name) carries the RTT and our coordinate back
   * to a member marked as Grapevine's when the ack updated us.
   */
  notifyPingComplete(member: MemberInfo, rttMs: number, payload: Uint8Array | null, send?: (toName: string, payload: Uint8Array) => boolean): void {
    if (payload === null || payload.length === 0) {
      this.withoutPayload++
      return
    }
    const decoded = decodeCoordinatePayload(payload)
    if (!decoded.ok) {
      const reason = decoded.error.reason
      this.undecodable[reason] = (this.undecodable[reason] ?? 0) + 1
      return
    }
    if (!this.learn(member.name, decoded.value, rttMs)) return
    if (!this.echo || send === undefined || markedVersion(member.meta) === undefined) return
    // A settled peer gains little from one more sample, and the same sample applied at both ends
    // doubles its noise in their distance: echo only while the peer's own error estimate is high.
    if (decoded.value.error < ECHO_PEER_ERROR_MIN) return
    const bytes = encodeEnvelope(COORDINATE_ECHO_PROTOCOL, this.name, encodeEchoPayload(rttMs, this.ackPayload()))
    if (!send(member.name, bytes)) return
    this.echoesSent++
    this.echoBytesSent += bytes.length
  }

  /**
   * A user message: true when it was a coordinate echo (then handled here: applied, or counted and
   * dropped), false when it is someone else's to read.
   */
  handleUserMessage(bytes: Uint8Array): boolean {
    if (bytes.length < 2 || bytes[0] !== ENVELOPE_MAGIC || bytes[1] !== COORDINATE_ECHO_PROTOCOL) return false
    const env = decodeEnvelope(bytes)
    if (typeof env === 'string') return this.dropEcho('bad-field'), true
    if (!this.echo) return this.dropEcho('off'), true
    const decoded = decodeEcho(env.payload)
    if (!decoded.ok) return this.dropEcho(decoded.error.reason), true
    if (env.sender === this.name || !this.isLiveMember(env.sender)) return this.dropEcho('unknown-sender'), true
    if (this.learn(env.sender, decoded.value.coordinate, decoded.value.rttMs)) this.echoesApplied++
    return true
  }

  /** One observation of `peer`; true when it updated us (a refusal is counted by the update rule). */
  private learn(peer: string, coordinate: Coordinate, rttMs: number): boolean {
    const result = this.client.update(peer, coordinate, rttMs)
    if (typeof result === 'string') return false
    this.payload = undefined
    this.cache.set(peer, coordinate)
    // Bounded by the membership: entries of members gone since the last change leave now.
    this.prune()
    return true
  }

  private dropEcho(reason: EchoDropReason): void {
    this.echoesDropped[reason] = (this.echoesDropped[reason] ?? 0) + 1
  }

  private isLiveMember(name: string): boolean {
    this.prune()
    return this.present.has(name)
  }

  /** Drops coordinates and latency samples of names no longer in the membership; refreshes `present`. */
  private prune(): void {
    const m = this.membership
    if (m === undefined || m.membershipVersion === this.seenVersion) return
    this.seenVersion = m.membershipVersion
    const present = new Set(m.members().filter((x) => x.state !== 'dead' && x.state !== 'left').map((x) => x.name))
    this.present = present
    for (const name of this.cache.keys()) {
      if (!present.has(name)) {
        this.cache.delete(name)
        this.client.forget(name)
      }
    }
  }
}

/**
 * `inner` with memberlist's PingDelegate added: acks carry our coordinate, and completed probes update
 * it. Every other delegate method is `inner`'s own, bound to it; an `inner` that has its own
 * ackPayload loses it (one payload per ack), one with its own notifyPingComplete still hears every probe,
 * and its notifyUserMessage hears every user message but the coordinate echoes.
 */
export function coordinateDelegate(inner: SwimDelegate | undefined, coords: NetworkCoordinates): SwimDelegate {
  const out: Record<string, unknown> = {}
  if (inner !== undefined) {
    for (let proto: object | null = inner; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        const value = (inner as Record<string, unknown>)[key]
        if (key !== 'constructor' && !(key in out) && typeof value === 'function') out[key] = (value as (...args: unknown[]) => unknown).bind(inner)
      }
    }
  }
  const delegate = out as SwimDelegate
  const innerBind = delegate.bind
  const innerPing = delegate.notifyPingComplete
  delegate.bind = (membership) => {
    coords.bind(membership)
    innerBind?.(membership)
  }
  const innerUser = delegate.notifyUserMessage
  delegate.ackPayload = () => coords.ackPayload()
  delegate.notifyPingComplete = (member, rttMs, payload, send) => {
    coords.notifyPingComplete(member, rttMs, payload, send)
    innerPing?.(member, rttMs, payload, send)
  }
  delegate.notifyUserMessage = (payload, fromName, nowMs, send) => {
    if (!coords.handleUserMessage(payload)) innerUser?.(payload, fromName, nowMs, send)
  }
  return delegate
}
