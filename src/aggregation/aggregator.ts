/**
 * Push-pull averaging (Jelasity, Montresor, Babaoglu 2005) and push-sum (Kempe, Dobra, Gehrke 2003) as
 * pure state machines, one node each, restarted in epochs (common.ts).
 *
 *   push-pull                                    push-sum
 *   tick:  i ──request(e, id, x_i, w_i)──► j     tick:  i keeps (x_i/2, w_i/2)
 *          j: reply(e, id, x_j, w_j), x_j := avg        i ──push(e, id, x_i/2, w_i/2)──► j
 *   i ◄──reply── j: x_i += (x_j - x_i_sent) / 2         j: x_j += x, w_j += w; ──ack(id)──► i
 *   no answer by the next tick: the same request or push again (EXCHANGE_TRIES in all); a repeated id
 *   gets the first answer again and is not mixed twice
 *
 * Epochs: a message from a later epoch moves the receiver into it (fresh local value, the sender's
 * cycle); a message from an earlier epoch is not mixed in (push-pull still replies, so the late sender
 * catches up). Every `epochCycles` ticks a node publishes its estimate of the epoch and starts the next.
 *
 * What the network does to this (the reason for epochs): push-pull's two halves are not atomic. The
 * initiator applies a reply against the value its request carried (x += (x_peer - x_sent) / 2), so an
 * exchange overlapping another one still conserves the total; a lost reply does not (the responder
 * mixed, the initiator did not); push-sum loses the
 * whole half a lost push carries. Either skews that epoch's result only. Inputs: the caller hands in the
 * member list (without this node), the local value and the Rng; outputs are returned (the bytes to send
 * and to whom) for the driver to send.
 */
import type { Rng } from '../core/rng.js'
import type { DecodeError } from '../wire/decode-error.js'
import type { AggregateEstimate, AggregationConfig, AggregationMessage } from './common.js'
import { checkAggregationConfig, decodeAggregationMessage, encodeAggregationMessage, epochLeader, estimateOf, initialMass } from './common.js'

export interface AggregationInput {
  /** This node's name. */
  readonly self: string
  /** The other live members. */
  readonly peers: readonly string[]
  /** This node's current value (read at each epoch start). */
  readonly localValue: number
}

export interface Outgoing {
  readonly to: string
  readonly bytes: Uint8Array
}

/** What handling a message did: a reply to send, nothing, or a drop with its reason. */
export type HandleResult =
  | { readonly kind: 'mixed'; readonly reply?: Outgoing }
  | { readonly kind: 'stale'; readonly reply?: Outgoing }
  | { readonly kind: 'acked'; readonly reply?: undefined }
  | { readonly kind: 'dropped'; readonly error: DecodeError | string }

/**
 * Sends of one exchange (a push-pull request, a push-sum push) before it is given up: the first and two
 * retransmissions, one a cycle, each with the same id and values. At 10 % loss an exchange (two messages)
 * fails 19 % of the time once and 0.7 % of the time three times in a row.
 */
export const EXCHANGE_TRIES = 3

interface OpenExchange {
  readonly to: string
  readonly bytes: Uint8Array
  readonly x: number
  readonly w: number
  readonly sentCycle: number
  tries: number
}

abstract class EpochAggregator {
  readonly config: AggregationConfig
  protected epoch = 0
  protected cycle = 0
  protected x = 0
  protected w = 0
  protected spread = Infinity
  private started = false
  private published: AggregateEstimate | undefined
  protected abstract readonly pushSum: boolean
  private nextId = 1
  /** Our exchanges of this epoch not answered yet, by id. */
  protected readonly open = new Map<number, OpenExchange>()
  /** What we answered to each (sender, id) of this epoch: a retransmission gets the same answer, unmixed. */
  private readonly answered = new Map<string, Uint8Array>()
  private resends: Outgoing[] = []

  constructor(config: AggregationConfig) {
    this.config = checkAggregationConfig(config)
  }

  /** The estimate of the last completed epoch (undefined until one completed). */
  estimate(): AggregateEstimate | undefined {
    return this.published
  }

  /** The running estimate within the current epoch. */
  current(): { epoch: number; cycle: number; value: number | undefined } {
    return { epoch: this.epoch, cycle: this.cycle, value: estimateOf(this.config.fn, this.x, this.w, this.pushSum) }
  }

  /** One gossip cycle: may end the epoch, then returns the message to send, if there is a peer. */
  tick(input: AggregationInput, rng: Rng): Outgoing | undefined {
    // Exchanges still unanswered from an earlier cycle go again (until EXCHANGE_TRIES), or are given up.
    for (const [id, e] of this.open) {
      if (this.cycle < e.sentCycle + e.tries - 1) continue
      if (e.tries >= EXCHANGE_TRIES) this.open.delete(id)
      else {
        e.tries++
        this.resends.push({ to: e.to, bytes: e.bytes })
      }
    }
    if (!this.started) this.enter(0, 0, input)
    else if (this.cycle >= this.config.epochCycles) {
      this.publish()
      this.enter(this.epoch + 1, 0, input)
    }
    this.cycle++
    if (input.peers.length === 0) return undefined
    return this.gossip(input.peers[rng.int(input.peers.length)])
  }

  /** The retransmissions the last tick() decided (a driver sends them with tick()'s message). */
  takeResends(): Outgoing[] {
    const r = this.resends
    this.resends = []
    return r
  }

  /** Handles a message from `from`; never throws on bad bytes. */
  handle(from: string, bytes: Uint8Array, input: AggregationInput): HandleResult {
    const decoded = decodeAggregationMessage(bytes)
    if (!decoded.ok) return { kind: 'dropped', error: decoded.error }
    const m = decoded.value
    if (m.protocol !== (this.pushSum ? 'push-sum' : 'push-pull')) return { kind: 'dropped', error: `a ${m.protocol} message to a ${this.pushSum ? 'push-sum' : 'push-pull'} aggregator` }
    if (!this.started || m.epoch > this.epoch) {
      // A peer that moved on to the next epoch ended ours a little earlier than our own count: publish.
      // A jump over several epochs (this node was away) publishes nothing: its epoch did not run here.
      if (this.started && m.epoch === this.epoch + 1) this.publish()
      // The sender counted its tick before sending: take its count less that tick, so that our own tick
      // in the same round lands on the sender's count instead of one ahead (a lead that would compound).
      this.enter(m.epoch, Math.max(0, m.cycle - 1), input)
      // A reply from an epoch we just entered answers a request of an older one: the peer did not mix it.
      if (m.kind === 'reply' || m.kind === 'ack') return { kind: 'stale' }
    }
    return this.receive(from, m)
  }

  protected abstract gossip(to: string): Outgoing
  protected abstract receive(from: string, m: AggregationMessage): HandleResult

  protected message(kind: AggregationMessage['kind'], x: number, w: number, id?: number): Uint8Array {
    return encodeAggregationMessage({ protocol: this.pushSum ? 'push-sum' : 'push-pull', kind, epoch: this.epoch, cycle: this.cycle, x, w, id })
  }

  /** Opens an exchange carrying (x, w) to `to`: the message, remembered for retransmission and the answer. */
  protected opening(kind: 'request' | 'push', to: string, x: number, w: number): Outgoing {
    const id = this.nextId++
    const bytes = this.message(kind, x, w, id)
    this.open.set(id, { to, bytes, x, w, sentCycle: this.cycle, tries: 1 })
    return { to, bytes }
  }

  /** The open exchange `m` answers (and closes), if it is ours with `from`. */
  protected closing(from: string, m: AggregationMessage): OpenExchange | undefined {
    const e = m.id === undefined ? undefined : this.open.get(m.id)
    if (e === undefined || e.to !== from) return undefined
    this.open.delete(m.id!)
    return e
  }

  /**
   * Answers an exchange from `from`: a retransmission of one answered already gets the same answer and
   * is not mixed again (`fresh` false); otherwise `answer` is remembered (bounded per epoch) and sent.
   */
  protected answering(from: string, m: AggregationMessage, answer: () => Uint8Array): { reply: Outgoing; fresh: boolean } {
    if (m.id === undefined) return { reply: { to: from, bytes: answer() }, fresh: true }
    const key = `${from}\u0000${m.id}`
    const before = this.answered.get(key)
    if (before !== undefined) return { reply: { to: from, bytes: before }, fresh: false }
    const bytes = answer()
    // Bounded: a peer cannot make this grow without limit by inventing ids; the oldest go first.
    if (this.answered.size >= 4 * this.config.epochCycles + 64) this.answered.delete(this.answered.keys().next().value!)
    this.answered.set(key, bytes)
    return { reply: { to: from, bytes }, fresh: true }
  }

  /** Combines the peer's (x, w) into ours: the average (push-pull) or the sum (push-sum), min/max as such. */
  protected combine(x: number, w: number): void {
    const fn = this.config.fn
    this.spreadOf(this.x, x, this.w, w)
    if (fn === 'min') this.x = Math.min(this.x, x)
    else if (fn === 'max') this.x = Math.max(this.x, x)
    else if (this.pushSum) {
      this.x += x
      this.w += w
    } else {
      this.x = (this.x + x) / 2
      this.w = (this.w + w) / 2
    }
  }

  /** Records how far apart this exchange's two sides were (relative), as the published `spread`. */
  protected spreadOf(x: number, xPeer: number, w: number, wPeer: number): void {
    const count = this.config.fn === 'count' && !this.pushSum
    const mine = count ? w : x
    const theirs = count ? wPeer : xPeer
    this.spread = Math.abs(mine - theirs) / Math.max(Math.abs(mine), Math.abs(theirs), Number.MIN_VALUE)
  }

  private publish(): void {
    this.published = { value: estimateOf(this.config.fn, this.x, this.w, this.pushSum), epoch: this.epoch, spread: this.spread }
  }

  private enter(epoch: number, cycle: number, input: AggregationInput): void {
    this.started = true
    this.epoch = epoch
    this.cycle = cycle
    this.spread = Infinity
    const leader = epochLeader(epoch, [input.self, ...input.peers]) === input.self
    const { x, w } = initialMass(this.config.fn, input.localValue, leader, this.pushSum)
    this.x = x
    this.w = w
    this.open.clear()
    this.answered.clear()
    this.resends = []
  }
}

export class PushPullAggregator extends EpochAggregator {
  protected readonly pushSum = false

  protected gossip(to: string): Outgoing {
    return this.opening('request', to, this.x, this.w)
  }

  protected receive(from: string, m: AggregationMessage): HandleResult {
    if (m.kind === 'push') return { kind: 'dropped', error: 'a push message in push-pull' }
    if (m.epoch < this.epoch) {
      // Answer a late requester with our epoch so it moves on; nothing is mixed.
      return { kind: 'stale', reply: m.kind === 'request' ? { to: from, bytes: this.message('reply', this.x, this.w, m.id) } : undefined }
    }
    if (m.kind === 'ack') return { kind: 'dropped', error: 'an ack message in push-pull' }
    if (m.kind === 'reply') {
      const sent = this.closing(from, m)
      // A reply we did not ask for in this epoch (a duplicate, or one to a request of an older epoch).
      if (sent === undefined) return { kind: 'stale' }
      const fn = this.config.fn
      if (fn === 'min' || fn === 'max') this.combine(m.x, m.w)
      else {
        // The responder moved by half the difference to what we sent; we move by the opposite half,
        // so the exchange conserves the total even when another exchange changed our value meanwhile
        // (overlapping exchanges on a real network). Atomic exchanges give the paper's average exactly.
        this.spreadOf(this.x, m.x, this.w, m.w)
        this.x += (m.x - sent.x) / 2
        this.w += (m.w - sent.w) / 2
      }
      return { kind: 'mixed' }
    }
    const { reply, fresh } = this.answering(from, m, () => this.message('reply', this.x, this.w, m.id))
    if (!fresh) return { kind: 'stale', reply }
    this.combine(m.x, m.w)
    return { kind: 'mixed', reply }
  }
}

export class PushSumAggregator extends EpochAggregator {
  protected readonly pushSum = true

  protected gossip(to: string): Outgoing {
    // Min and max lose nothing with a lost push: no id, no ack, no retransmission.
    if (this.config.fn === 'min' || this.config.fn === 'max') return { to, bytes: this.message('push', this.x, this.w) }
    this.x /= 2
    this.w /= 2
    // The half sent is acknowledged; unacknowledged, the same push goes again (EXCHANGE_TRIES).
    return this.opening('push', to, this.x, this.w)
  }

  protected receive(from: string, m: AggregationMessage): HandleResult {
    if (m.kind === 'ack') return this.closing(from, m) === undefined ? { kind: 'stale' } : { kind: 'acked' }
    if (m.kind !== 'push') return { kind: 'dropped', error: `a ${m.kind} message in push-sum` }
    // A push of an older epoch is not mixed; the ack tells the sender our epoch, which pulls it forward.
    if (m.epoch < this.epoch) return { kind: 'stale', reply: m.id === undefined ? undefined : { to: from, bytes: this.message('ack', 0, 0, m.id) } }
    if (m.id === undefined) {
      this.combine(m.x, m.w)
      return { kind: 'mixed' }
    }
    const { reply, fresh } = this.answering(from, m, () => this.message('ack', 0, 0, m.id))
    if (!fresh) return { kind: 'stale', reply }
    this.combine(m.x, m.w)
    return { kind: 'mixed', reply }
  }
}
