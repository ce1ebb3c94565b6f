/**
 * What the simulator drives: the input surface of `Swim` (src/swim/swim.ts), named here so the
 * simulator's mechanics can also be tested with a scripted stand-in (test/sim/) and so that a later
 * composite node (SWIM + gossip + state) with the same surface can run under the simulator unchanged.
 */
import type { Outbox, StreamResult } from '../../core/effects.js'
import type { Rng } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import type { SwimConfig } from '../../swim/config.js'
import type { SwimDelegate } from '../../swim/delegate.js'
import type { MemberInfo, SwimEvent } from '../../swim/events.js'
import type { SwimTimer } from '../../swim/timers.js'
import { Swim } from '../../swim/swim.js'

export type SimOutbox = Outbox<SwimTimer, SwimEvent>

/** The options the simulator hands to each protocol instance (the shape of SwimOptions). */
export interface ProtocolOptions {
  readonly name: string
  readonly address: Address
  readonly config: SwimConfig
  readonly rng: Rng
  readonly delegate?: SwimDelegate
  readonly meta?: Uint8Array
  /** Addresses the node joined through; Swim's reconnect loop retries them. */
  readonly seeds?: readonly Address[]
}

/** The protocol object of one simulated node. Every input carries `nowMs` (virtual) and an outbox. */
export interface SimProtocol {
  readonly name: string
  readonly address: Address
  start(nowMs: number, out: SimOutbox): void
  join(seeds: Address[], nowMs: number, out: SimOutbox): number
  leave(nowMs: number, out: SimOutbox): void
  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: SimOutbox): void
  handleStreamRequest(from: Address, bytes: Uint8Array, nowMs: number, out: SimOutbox): Uint8Array | null
  handleStreamReply(exchangeId: number, result: StreamResult, nowMs: number, out: SimOutbox): void
  handleTimer(timer: SwimTimer, nowMs: number, out: SimOutbox): void
  members(): MemberInfo[]
  readonly healthScore: number
  /** Replaces the local node's metadata (memberlist UpdateNode); optional. */
  setMeta?(meta: Uint8Array, nowMs: number, out: SimOutbox): void
  /** Stops the instance for good (called when the node crashes or finishes leaving); optional. */
  shutdown?(): void
}

/** Builds the protocol of a node (spawned or restarted). `index` is the node's simulation index. */
export type ProtocolFactory = (options: ProtocolOptions, index: number) => SimProtocol

/** The default: a real `Swim`. */
export const createSwim: ProtocolFactory = (options) => new Swim(options)
