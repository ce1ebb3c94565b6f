/**
 * What the simulator drives: the composed node (src/node/), exactly as the real runtime drives it. The
 * surface is named here so the simulator's own mechanics can also be tested with a scripted stand-in
 * (test/sim/); the default factory builds a ComposedNode from the node's resolved settings.
 *
 *   Simulation ──ProtocolOptions (name, address, settings, rng, seeds, restart)──▶ createNode ──▶ ComposedNode
 */
import type { Outbox, StreamResult } from '../../core/effects.js'
import type { Rng } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import type { Aead } from '../../wire/aead.js'
import { ComposedNode } from '../../node/index.js'
import type { Coordinate, MemberInfo, NodeEvent, NodeTimer, ResolvedSettings, SwimConfig } from '../../node/index.js'

export type SimOutbox = Outbox<NodeTimer, NodeEvent>

/** The options the simulator hands to each protocol instance. */
export interface ProtocolOptions {
  readonly name: string
  readonly address: Address
  /** The node's SWIM settings (the simulation's, with the spawn call's overrides). */
  readonly config: SwimConfig
  /** Everything else the node runs with (the same settings a real node resolves), its config included. */
  readonly settings: ResolvedSettings
  readonly rng: Rng
  /** Addresses the node joined through; the reconnect loop retries them. */
  readonly seeds?: readonly Address[]
  /** 0 for the first start, r for the r-th restart (the node's state generation is r + 1). */
  readonly restart: number
  /** AES-GCM for nodes with keys (the simulation's `aead` option). */
  readonly aead?: Aead
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
  handleTimer(timer: NodeTimer, nowMs: number, out: SimOutbox): void
  /** False when `timer` would do nothing if it fired (the real runtime then drops it unwoken); optional. */
  timerIsLive?(timer: NodeTimer): boolean
  members(): MemberInfo[]
  readonly healthScore: number
  /** Replaces the local node's metadata (memberlist UpdateNode); optional. */
  setMeta?(meta: Uint8Array, nowMs: number, out: SimOutbox): void
  /** The node's network coordinate, when it keeps one; optional. */
  coordinate?(): Coordinate | undefined
  /** Stops the instance for good (called when the node crashes or finishes leaving); optional. */
  shutdown?(): void
}

/** Builds the protocol of a node (spawned or restarted). `index` is the node's simulation index. */
export type ProtocolFactory = (options: ProtocolOptions, index: number) => SimProtocol

/** The default: the composed node a real node runs, with nonces from the node's seeded generator. */
export const createNode: ProtocolFactory = (o) =>
  new ComposedNode(
    { ...o.settings, name: o.name, address: o.address, config: o.config, generation: o.restart + 1, seeds: o.seeds },
    { rng: o.rng, aead: o.aead },
  )
