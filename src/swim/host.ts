/**
 * SwimHost: the node as its parts (probe-cycle.ts, state-changes.ts, push-pull.ts) see it. Swim builds
 * one such view over its own fields; each part declares what more it needs in its own host interface.
 * Nothing here is public API.
 */
import type { Address } from '../core/types.js'
import type { DecodeError } from '../wire/decode-error.js'
import type { Awareness } from './awareness.js'
import type { SwimConfig } from './config.js'
import type { SwimDelegate } from './delegate.js'
import type { DropReason } from './events.js'
import type { Member } from './member.js'
import type { MemberTable } from './member-table.js'
import type { SwimStats } from './stats.js'
import type { SwimOutbox } from './outbox.js'

export interface SwimHost {
  readonly name: string
  /** The address we advertise; its port stands in for a port 0 on the wire. */
  readonly address: Address
  readonly config: SwimConfig
  readonly stats: SwimStats
  readonly delegate: SwimDelegate | undefined
  readonly members: MemberTable
  /** Our own entry in the member table. */
  readonly self: Member
  /** Local health (Lifeguard), shared by the parts that read or change it. */
  readonly awareness: Awareness
  /** Rejected input: counted by reason and emitted as `dropped`. */
  dropped(reason: DropReason, from: Address, out: SwimOutbox, detail?: string): void
  /** Input that could not be decoded: counted by reason, then dropped. */
  undecodable(err: DecodeError, from: Address, out: SwimOutbox): void
}

/**
 * Base of the node's parts: the host's fields held directly on the part, so that the hot paths
 * (a ping in, an ack out) reach one object less per access; in a 1000-node simulation every such
 * hop is a likely cache miss.
 */
export abstract class SwimPart<H extends SwimHost> {
  protected readonly name: string
  protected readonly address: Address
  protected readonly config: SwimConfig
  protected readonly stats: SwimStats
  protected readonly delegate: SwimDelegate | undefined
  protected readonly members: MemberTable
  protected readonly self: Member
  protected readonly awareness: Awareness

  constructor(protected readonly host: H) {
    this.name = host.name
    this.address = host.address
    this.config = host.config
    this.stats = host.stats
    this.delegate = host.delegate
    this.members = host.members
    this.self = host.self
    this.awareness = host.awareness
  }

  /** An interval or timeout scaled by local health (Lifeguard); unscaled without Lifeguard. */
  protected scaled(ms: number): number {
    return this.config.lifeguard ? this.awareness.scale(ms) : ms
  }

  /** Changes local health by `delta` (Lifeguard only), emitting `health` when the score moved. */
  protected applyHealth(delta: number, out: SwimOutbox): void {
    if (!this.config.lifeguard || delta === 0) return
    if (this.awareness.applyDelta(delta)) out.emit({ type: 'health', score: this.awareness.score })
  }
}
