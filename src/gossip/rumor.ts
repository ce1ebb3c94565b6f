/**
 * RumorMonger: one node's broadcast engine, rumor mongering after Demers et al. 1987 (§1.4). Pure: time
 * comes in as `nowMs`, randomness from the injected Rng, effects go out as returned values.
 *
 * A rumor is "hot" at a node while the node still spreads it. Each gossip round (`tick`, every
 * gossipIntervalMs) the node contacts `fanout` peers; hot rumors also ride on protocol packets
 * (`piggyback`). The spreading policy:
 *
 * ```
 *  push       A ── rumors [ACK] ─────────▶ B   B delivers the new ones; with feedback it replies
 *             A ◀──────────── reply(had) ── B   with the ids it already had ("unnecessary contacts")
 *  pull       A ── rumors(PULL, digest) ──▶ B   every round, hot or not: "here is what I know"
 *             A ◀──── reply(rumors) ─────── B   B sends its hot rumors missing from A's digest; a hot
 *                                               rumor listed in the digest is an unnecessary contact
 *  push-pull  A ── rumors(PULL, digest, hot rumors, [ACK]) ──▶ B ── reply(had, rumors A lacks) ──▶ A
 * ```
 *
 * Loss of interest, per contact: `counter` retires a rumor after k unnecessary contacts, `coin` retires
 * it with probability 1/k at each; with `feedback` only contacts where the peer already had the rumor
 * count, `blind` counts every contact. A rumor also retires when no live peer is left that is not known
 * to have it, and when older than maxRumorAgeMs (`expired`).
 *
 * Peer choice: never the node a rumor came from (nor its origin); prefer peers not known to have it
 * (known: it came from them, they acked "had", their digest listed it) and not yet told, then peers told
 * but not confirmed (the copy may have been lost). Targets of a round are drawn from a random sample of
 * the live peers, ranked by how many hot rumors they are eligible for.
 *
 * Invariants: each rumor is delivered at most once per node while its id is remembered (SeenSet), and
 * memory is bounded: maxQueue hot rumors with at most PEER_SET_MAX names each, dedupeMaxEntries ids.
 */
import type { Rng } from '../core/rng.js'
import { NODE_NAME_MAX_BYTES, resolveRumorConfig, type RumorConfig } from './config.js'
import {
  EMPTY_MESSAGE_BYTES,
  decodeRumorMessage,
  encodeRumorMessage,
  idsBytes,
  rumorEntryBytes,
  rumorKey,
  type RumorId,
  type RumorMessage,
  type WireRumor,
} from './messages.js'
import { SeenSet } from './seen-set.js'
import { BroadcastError, newRumorCounters, type Delivery, type PeerView, type RumorCounters, type RumorOutput, type Send } from './rumor-types.js'
import { utf8Length } from '../wire/msgpack-writer.js'

/** Most peer names remembered per hot rumor in each of `told` and `have`; beyond, new names are not recorded. */
export const PEER_SET_MAX = 512

export { BroadcastError, type BroadcastErrorReason, type Delivery, type PeerView, type RumorCounters, type RumorOutput, type Send } from './rumor-types.js'

/** Peers sampled per round to choose the `fanout` targets from. */
const TARGET_SAMPLE_MIN = 16

interface HotRumor {
  readonly key: string
  readonly id: RumorId
  readonly name: string
  readonly payload: Uint8Array
  /** Hops from the origin to this node. */
  readonly hops: number
  /** The peer it came from; undefined for our own broadcasts. */
  readonly from: string | undefined
  /** Local time at which its age was 0. */
  readonly bornAtMs: number
  /** Local time at which it was delivered here. */
  readonly deliveredAtMs: number
  /** Contacts counted by the removal rule so far. */
  contacts: number
  /** Peers sent a copy (not confirmed). */
  readonly told: Set<string>
  /** Peers known to have it. */
  readonly have: Set<string>
}

export interface RumorMongerOptions {
  /** This node's name (the origin of its broadcasts). At most NODE_NAME_MAX_BYTES UTF-8 bytes. */
  readonly self: string
  readonly rng: Rng
  readonly config?: Partial<RumorConfig>
  /**
   * Repair pulls ride on packets that go anyway: a due pull waits up to one more repairIntervalMs for
   * `takeRepairPull` (called when such a packet leaves) before `tick` sends it in a packet of its own.
   * Default false: `tick` sends every pull itself.
   */
  readonly repairRides?: boolean
}

function addBounded(set: Set<string>, name: string): void {
  if (set.size < PEER_SET_MAX) set.add(name)
}

/**
 * Up to `k` distinct items of `items` other than `exclude`, in random order, without copying `items`
 * when k is small against its length (a round at 1000 nodes samples 16).
 */
export function sampleOthers(rng: Rng, items: readonly string[], k: number, exclude: string): string[] {
  if (4 * k >= items.length) return rng.shuffle(items.filter((x) => x !== exclude)).slice(0, k)
  const picked = new Set<number>()
  const out: string[] = []
  for (let tries = 0; out.length < k && tries < 8 * k; tries++) {
    const i = rng.int(items.length)
    if (picked.has(i) || items[i] === exclude) continue
    picked.add(i)
    out.push(items[i])
  }
  return out
}

export class RumorMonger {
  readonly config: RumorConfig
  readonly self: string
  readonly counters: RumorCounters = newRumorCounters()
  private readonly rng: Rng
  private readonly epoch: number
  private nextSeq = 1
  private readonly hot = new Map<string, HotRumor>()
  /** Recently delivered rumors (hot or not), oldest first, kept to answer repair pulls. */
  private readonly retained = new Map<string, HotRumor>()
  private nextRepairAtMs: number | undefined
  /** The time from one repair pull to the next: repairIntervalMs, doubling up to repairBackoffMaxMs while they bring nothing. */
  private repairEveryMs: number
  /** When we last pulled at once from a peer whose pull named a rumor we lack. */
  private missedPullAtMs = -Infinity
  private readonly repairRides: boolean
  private readonly seen: SeenSet

  /** Throws ConfigError for a bad config or a self name longer than NODE_NAME_MAX_BYTES. */
  constructor(options: RumorMongerOptions) {
    this.config = resolveRumorConfig(options.config)
    const selfBytes = utf8Length(options.self)
    if (selfBytes === 0 || selfBytes > NODE_NAME_MAX_BYTES) {
      throw new BroadcastError('name-too-long', `node name must be 1..${NODE_NAME_MAX_BYTES} UTF-8 bytes to originate rumors (got ${selfBytes})`)
    }
    this.self = options.self
    this.rng = options.rng
    this.repairRides = options.repairRides ?? false
    this.repairEveryMs = this.config.repairIntervalMs
    this.epoch = this.rng.u32()
    this.seen = new SeenSet(this.config.dedupeWindowMs, this.config.dedupeMaxEntries, this.config.digestMaxIds)
  }

  /** Rumors this node is still spreading. */
  get hotCount(): number {
    return this.hot.size
  }

  /** Ids remembered for duplicate suppression (bounded by dedupeMaxEntries). */
  get seenCount(): number {
    return this.seen.size
  }

  /**
   * Starts spreading a rumor. Returns its delivery for the local handler (the origin delivers its own
   * broadcast exactly once too). Throws BroadcastError, changing nothing, when the payload or the name is
   * over its limit.
   */
  broadcast(name: string, payload: Uint8Array, nowMs: number): Delivery {
    const { maxPayloadBytes, maxNameBytes } = this.config
    if (payload.length > maxPayloadBytes) {
      throw new BroadcastError(
        'payload-too-large',
        `broadcast payload is ${payload.length} bytes, over the limit of ${maxPayloadBytes} bytes (maxPayloadBytes); a rumor must fit in one UDP packet, so send less or carry large data out of band`,
      )
    }
    const nameBytes = utf8Length(name)
    if (nameBytes > maxNameBytes) {
      throw new BroadcastError('name-too-long', `broadcast name is ${nameBytes} bytes, over the limit of ${maxNameBytes} bytes (maxNameBytes)`)
    }
    const id: RumorId = { origin: this.self, epoch: this.epoch, seq: this.nextSeq++ }
    const key = rumorKey(id)
    this.seen.add(key, id, nowMs)
    this.addHot({ key, id, name, payload: payload.slice(), hops: 0, from: undefined, bornAtMs: nowMs, deliveredAtMs: nowMs, contacts: 0, told: new Set(), have: new Set() })
    this.counters.broadcasts++
    this.counters.delivered++
    this.wakeRepair(nowMs + this.config.repairIntervalMs)
    return { id: key, name, payload, origin: this.self, from: this.self, hops: 0 }
  }

  /** Handles one of our messages from `from`. Undecodable input is counted and dropped, never thrown. */
  handleMessage(from: string, bytes: Uint8Array, nowMs: number): RumorOutput {
    const out: RumorOutput = { sends: [], delivered: [], counters: this.counters }
    const decoded = decodeRumorMessage(bytes)
    if (!decoded.ok) {
      const reason = decoded.error.reason
      this.counters.decodeErrors[reason] = (this.counters.decodeErrors[reason] ?? 0) + 1
      return out
    }
    const m = decoded.value
    if (m.kind === 'reply') {
      if (this.config.feedback) {
        for (const id of m.had) {
          const r = this.hot.get(rumorKey(id))
          if (r === undefined) continue
          addBounded(r.have, from)
          this.noteContact(r, true)
        }
      }
      for (const wr of m.rumors) this.accept(wr, from, nowMs, out.delivered)
      return out
    }
    const had: RumorId[] = []
    for (const wr of m.rumors) {
      if (this.accept(wr, from, nowMs, out.delivered) === 'duplicate' && m.ackWanted) had.push(wr)
    }
    // A peer's repair pull names a rumor we never saw: rumor mongering missed us. Pull from that peer now
    // (it has it), at most once per repairIntervalMs, and pull every interval again.
    if (m.repair && this.config.repairIntervalMs > 0 && m.known.some((id) => !this.seen.has(rumorKey(id)))) {
      this.wakeRepair(nowMs + this.config.repairIntervalMs)
      if (nowMs >= this.missedPullAtMs + this.config.repairIntervalMs) {
        this.missedPullAtMs = nowMs
        this.emit(out.sends, from, this.repairPullBytes(this.config.messageBytesMax))
      }
    }
    const reserved = EMPTY_MESSAGE_BYTES + idsBytes(had)
    const pulled = !m.pull ? [] : m.repair ? this.answerRepair(from, m.known, nowMs, reserved) : this.answerPull(from, m.known, m.rumors, nowMs, reserved)
    if (had.length > 0 || pulled.length > 0) {
      const reply: RumorMessage = { kind: 'reply', had, rumors: pulled }
      if (had.length > 0) this.counters.acksSent++
      this.emit(out.sends, from, encodeRumorMessage(reply))
    }
    return out
  }

  /**
   * One gossip round: retires expired rumors and rumors nobody is left to tell, then contacts `fanout`
   * peers chosen per the policy. Call every gossipIntervalMs.
   */
  tick(nowMs: number, peers: PeerView): RumorOutput {
    const out: RumorOutput = { sends: [], delivered: [], counters: this.counters }
    this.seen.expire(nowMs)
    this.counters.seenEvictedEarly = this.seen.evictedEarly
    const live = peers
    for (const r of [...this.hot.values()]) {
      if (nowMs - r.bornAtMs > this.config.maxRumorAgeMs) {
        this.hot.delete(r.key)
        this.counters.expired++
      } else if (!live.some((p) => this.eligible(r, p))) {
        this.hot.delete(r.key)
        this.counters.lostInterest++
      }
    }
    for (const r of [...this.retained.values()]) {
      if (nowMs - r.deliveredAtMs > this.config.retainMs || nowMs - r.bornAtMs > this.config.maxRumorAgeMs) this.retained.delete(r.key)
    }
    this.repairPull(nowMs, peers, out.sends)
    const mode = this.config.mode
    if (mode === 'push' && this.hot.size === 0) return out
    for (const target of this.chooseTargets(live)) {
      const bytes = this.contactMessage(target, nowMs, mode !== 'push', this.config.messageBytesMax)
      if (bytes !== undefined) this.emit(out.sends, target, bytes)
    }
    return out
  }

  /**
   * When `tick` next has work: now while a rumor is hot (or the mode pulls every round); else when the
   * due repair pull must go in a packet of its own; undefined when neither (expiry of old entries waits
   * for the next tick, whenever it comes).
   */
  nextTickDueMs(nowMs: number): number | undefined {
    if (this.config.mode !== 'push' || this.hot.size > 0) return nowMs
    const interval = this.config.repairIntervalMs
    if (interval === 0) return undefined
    if (this.nextRepairAtMs === undefined) return nowMs
    return this.nextRepairAtMs + (this.repairRides ? interval : 0)
  }

  /**
   * Hot rumors to ride on a protocol packet to `to`, as at most one message of at most `limitBytes`
   * (the caller's remaining packet budget after its own overhead). Same policy as a round: never to the
   * node a rumor came from, only to a peer not known to have it, counted as a contact. Pull mode never
   * pushes, so it returns nothing.
   */
  piggyback(to: string, nowMs: number, limitBytes: number): Uint8Array[] {
    if (this.config.mode === 'pull' || to === this.self || this.hot.size === 0) return []
    const bytes = this.contactMessage(to, nowMs, false, Math.min(limitBytes, this.config.messageBytesMax))
    if (bytes === undefined) return []
    this.counters.messagesSent++
    this.counters.bytesSent += bytes.length
    return [bytes]
  }

  /**
   * Every repairIntervalMs (at a random phase), one repair pull to a random peer; with repairRides, only
   * one that found no ride for a whole extra interval.
   */
  private repairPull(nowMs: number, peers: PeerView, sends: Send[]): void {
    const interval = this.config.repairIntervalMs
    if (interval === 0) return
    if (this.nextRepairAtMs === undefined) this.nextRepairAtMs = nowMs + this.rng.float() * interval
    if (nowMs < this.nextRepairAtMs + (this.repairRides ? interval : 0)) return
    this.nextRepairAtMs = Math.max(this.nextRepairAtMs + this.backOffRepair(), nowMs)
    const [target] = sampleOthers(this.rng, peers, 1, this.self)
    if (target === undefined) return
    this.emit(sends, target, this.repairPullBytes(this.config.messageBytesMax))
  }

  /**
   * The repair pull to ride on a packet to `to` that goes anyway, when one is due and fits `limitBytes`;
   * undefined otherwise. The next one is due a repairIntervalMs later.
   */
  takeRepairPull(to: string, nowMs: number, limitBytes: number): Uint8Array | undefined {
    const interval = this.config.repairIntervalMs
    if (interval === 0 || to === this.self || this.nextRepairAtMs === undefined || nowMs < this.nextRepairAtMs) return undefined
    if (limitBytes < EMPTY_MESSAGE_BYTES) return undefined
    this.nextRepairAtMs = nowMs + this.backOffRepair()
    const bytes = this.repairPullBytes(Math.min(limitBytes, this.config.messageBytesMax))
    this.counters.messagesSent++
    this.counters.bytesSent += bytes.length
    return bytes
  }

  /**
   * The wait before the pull after the one going now: it doubles, up to repairBackoffMaxMs, until a
   * delivery wakes the repair (wakeRepair).
   */
  private backOffRepair(): number {
    const every = this.repairEveryMs
    this.repairEveryMs = Math.min(2 * every, this.config.repairBackoffMaxMs)
    return every
  }

  /**
   * Something was delivered, a peer has what we lack, or the membership changed (the stack calls it):
   * pulls every repairIntervalMs again, the next by `dueMs`.
   */
  wakeRepair(dueMs: number): void {
    if (this.config.repairIntervalMs === 0) return
    this.repairEveryMs = this.config.repairIntervalMs
    if (this.nextRepairAtMs !== undefined && this.nextRepairAtMs > dueMs) this.nextRepairAtMs = dueMs
  }

  /** A repair pull listing the ids we know, within `limitBytes`. */
  private repairPullBytes(limitBytes: number): Uint8Array {
    const known = this.digest(limitBytes - EMPTY_MESSAGE_BYTES, [], false)
    this.counters.repairPullsSent++
    return encodeRumorMessage({ kind: 'rumors', pull: true, ackWanted: false, repair: true, rumors: [], known })
  }

  /** Answers a repair pull from the retained rumors the asker lacks, newest first; no removal rule applies. */
  private answerRepair(from: string, known: readonly RumorId[], nowMs: number, reserved: number): WireRumor[] {
    const knownKeys = new Set(known.map(rumorKey))
    const out: WireRumor[] = []
    let used = reserved
    for (const r of [...this.retained.values()].reverse()) {
      if (knownKeys.has(r.key)) {
        if (this.hot.has(r.key)) addBounded(r.have, from)
        continue
      }
      if (from === r.from || from === r.id.origin || nowMs - r.bornAtMs > this.config.maxRumorAgeMs) continue
      const wr = this.toWire(r, nowMs)
      const size = rumorEntryBytes(wr)
      if (out.length === 255 || used + size > this.config.messageBytesMax) continue
      used += size
      out.push(wr)
      this.counters.rumorsSent++
      this.counters.repairSent++
    }
    return out
  }

  private emit(sends: Send[], to: string, bytes: Uint8Array): void {
    sends.push({ to, bytes })
    this.counters.messagesSent++
    this.counters.bytesSent += bytes.length
  }

  /** Whether `peer` may be sent rumor `r`: not us, not its origin or sender, not known to have it. */
  private eligible(r: HotRumor, peer: string): boolean {
    return peer !== this.self && peer !== r.from && peer !== r.id.origin && !r.have.has(peer)
  }

  /** 2: eligible and not yet told; 1: eligible, told but unconfirmed; 0: not eligible. */
  private preference(r: HotRumor, peer: string): number {
    if (!this.eligible(r, peer)) return 0
    return r.told.has(peer) ? 1 : 2
  }

  private chooseTargets(live: readonly string[]): string[] {
    const { fanout, mode } = this.config
    const sample = sampleOthers(this.rng, live, Math.max(TARGET_SAMPLE_MIN, 4 * fanout), this.self)
    if (mode === 'pull' || this.hot.size === 0) return sample.slice(0, fanout)
    const hot = [...this.hot.values()]
    const scored = sample.map((peer, index) => {
      let score = 0
      for (const r of hot) score += this.preference(r, peer)
      return { peer, score, index }
    })
    scored.sort((a, b) => b.score - a.score || a.index - b.index)
    const ranked = mode === 'push' ? scored.filter((s) => s.score > 0) : scored
    return ranked.slice(0, fanout).map((s) => s.peer)
  }

  /** The hot rumors `peer` may be sent, best first (fewest contacts, then not yet told, then newest). */
  private rumorsFor(peer: string): HotRumor[] {
    const list: Array<{ r: HotRumor; pref: number }> = []
    for (const r of this.hot.values()) {
      const pref = this.preference(r, peer)
      if (pref > 0) list.push({ r, pref })
    }
    list.sort((a, b) => a.r.contacts - b.r.contacts || b.pref - a.pref || b.r.bornAtMs - a.r.bornAtMs)
    return list.map((x) => x.r)
  }

  private toWire(r: HotRumor, nowMs: number): WireRumor {
    return { ...r.id, ageMs: Math.max(0, Math.round(nowMs - r.bornAtMs)), hops: r.hops, name: r.name, payload: r.payload }
  }

  /**
   * Builds one contact to `target` within `limitBytes`: the hot rumors it may be sent (unless pull
   * only), and with `pull` the digest of what we know. Undefined when there is nothing to say.
   */
  private contactMessage(target: string, nowMs: number, pull: boolean, limitBytes: number): Uint8Array | undefined {
    const pushing = this.config.mode !== 'pull'
    const rumors: WireRumor[] = []
    const sent: HotRumor[] = []
    let used = EMPTY_MESSAGE_BYTES
    if (pushing) {
      for (const r of this.rumorsFor(target)) {
        if (rumors.length === 255) break
        const wr = this.toWire(r, nowMs)
        const size = rumorEntryBytes(wr)
        if (used + size > limitBytes) continue
        used += size
        rumors.push(wr)
        sent.push(r)
      }
    }
    const known = pull ? this.digest(limitBytes - used, rumors, true) : []
    if (rumors.length === 0 && !pull) return undefined
    for (const r of sent) {
      addBounded(r.told, target)
      this.counters.rumorsSent++
      this.noteContact(r, false)
    }
    if (pull) this.counters.pullRequestsSent++
    return encodeRumorMessage({ kind: 'rumors', pull, ackWanted: this.config.feedback && rumors.length > 0, repair: false, rumors, known })
  }

  /** Ids for a pull digest within `budget` bytes: hot rumors (if `hotFirst`), then the most recently seen; pushed ones are implicit. */
  private digest(budget: number, pushed: readonly RumorId[], hotFirst: boolean): RumorId[] {
    const max = this.config.digestMaxIds
    const skip = new Set(pushed.map(rumorKey))
    const ids: RumorId[] = []
    const add = (id: RumorId): void => {
      const key = rumorKey(id)
      if (ids.length >= max || skip.has(key)) return
      skip.add(key)
      ids.push(id)
    }
    if (hotFirst) for (const r of this.hot.values()) add(r.id)
    for (const id of this.seen.newest(max)) add(id)
    while (ids.length > 0 && idsBytes(ids) - 1 > budget) ids.pop()
    return ids
  }

  /** Answers a pull: our hot rumors the asker lacks, within one message; every hot rumor counts a contact. */
  private answerPull(from: string, known: readonly RumorId[], pushed: readonly RumorId[], nowMs: number, reserved: number): WireRumor[] {
    const knownKeys = new Set<string>()
    for (const id of known) knownKeys.add(rumorKey(id))
    for (const id of pushed) knownKeys.add(rumorKey(id))
    // The asker is a rumor's sender or origin, or already confirmed: an unnecessary contact.
    const alreadyThere = [...this.hot.values()].filter((r) => !this.eligible(r, from))
    const out: WireRumor[] = []
    let used = reserved
    for (const r of this.rumorsFor(from)) {
      if (knownKeys.has(r.key)) {
        addBounded(r.have, from)
        this.noteContact(r, true)
        continue
      }
      const wr = this.toWire(r, nowMs)
      const size = rumorEntryBytes(wr)
      if (out.length === 255 || used + size > this.config.messageBytesMax) continue
      used += size
      out.push(wr)
      addBounded(r.told, from)
      this.counters.rumorsSent++
      this.noteContact(r, false)
    }
    for (const r of alreadyThere) this.noteContact(r, true)
    return out
  }

  /** Applies the removal rule to one contact; `unnecessary`: the peer already had the rumor. */
  private noteContact(r: HotRumor, unnecessary: boolean): void {
    if (this.config.feedback && !unnecessary) return
    if (!this.hot.has(r.key)) return
    const retire = this.config.removal === 'counter' ? ++r.contacts >= this.config.k : (r.contacts++, this.rng.float() * this.config.k < 1)
    if (retire) {
      this.hot.delete(r.key)
      this.counters.lostInterest++
    }
  }

  /** Takes in a received rumor: delivers it if new, records who has it. */
  private accept(wr: WireRumor, from: string, nowMs: number, delivered: Delivery[]): 'new' | 'duplicate' | 'refused' {
    const key = rumorKey(wr)
    const known = this.hot.get(key)
    if (known !== undefined) {
      addBounded(known.have, from)
      this.counters.duplicates++
      return 'duplicate'
    }
    if (this.seen.has(key)) {
      this.counters.duplicates++
      return 'duplicate'
    }
    if (wr.ageMs > this.config.maxRumorAgeMs) {
      this.counters.tooOld++
      return 'refused'
    }
    if (wr.payload.length > this.config.maxPayloadBytes || utf8Length(wr.name) > this.config.maxNameBytes) {
      this.counters.rejected++
      return 'refused'
    }
    const id: RumorId = { origin: wr.origin, epoch: wr.epoch, seq: wr.seq }
    this.seen.add(key, id, nowMs)
    this.counters.seenEvictedEarly = this.seen.evictedEarly
    const hops = Math.min(255, wr.hops + 1)
    const have = new Set<string>([from])
    this.addHot({ key, id, name: wr.name, payload: wr.payload, hops, from, bornAtMs: nowMs - wr.ageMs, deliveredAtMs: nowMs, contacts: 0, told: new Set(), have })
    this.counters.delivered++
    this.wakeRepair(nowMs + this.config.repairIntervalMs)
    delivered.push({ id: key, name: wr.name, payload: wr.payload, origin: wr.origin, from, hops })
    return 'new'
  }

  /**
   * Queues a hot rumor. When the queue is full, the rumor closest to losing interest (most contacts
   * counted, then oldest) is dropped and counted in `dropped`: it has been spread the most already.
   */
  private addHot(r: HotRumor): void {
    if (this.hot.size >= this.config.maxQueue) {
      let victim: HotRumor | undefined
      for (const h of this.hot.values()) {
        if (victim === undefined || h.contacts > victim.contacts || (h.contacts === victim.contacts && h.bornAtMs < victim.bornAtMs)) victim = h
      }
      if (victim !== undefined) {
        this.hot.delete(victim.key)
        this.counters.dropped++
      }
    }
    this.hot.set(r.key, r)
    if (this.config.retainMax > 0) {
      if (this.retained.size >= this.config.retainMax) this.retained.delete(this.retained.keys().next().value as string)
      this.retained.set(r.key, r)
    }
  }
}
