/**
 * The simulation's public vocabulary: options, observer hooks, fault records, counters and the error
 * it throws. Split from simulation.ts to keep that file about the event loop.
 */
import type { NodeEvent, NodeSettings, Profile, SwimConfig } from '../../node/index.js'
import type { Aead } from '../../wire/aead.js'
import type { Address } from '../../core/types.js'
import type { NetworkOptionsInput } from './network.js'
import type { SimNode } from './node.js'
import type { ProtocolFactory } from './protocol.js'
import type { TraceSink } from './trace.js'

export interface SimulationOptions {
  /** The run seed: the same seed and the same calls give the same run. */
  readonly seed: number
  /** Default link knobs (see Network). */
  readonly network?: NetworkOptionsInput
  /** SWIM configuration over the profile's defaults. */
  readonly config?: Partial<SwimConfig>
  /** memberlist profile: lan (default), wan or local. */
  readonly profile?: Profile
  /** One line per packet, stream step, event and fault (deterministic format, see trace.ts). */
  readonly trace?: TraceSink
  /** Keep every emitted event in `node.events` (default true; large runs turn it off and observe instead). */
  readonly recordEvents?: boolean
  /**
   * What every node runs, as a real node's settings (src/node/settings.ts): the whole stack by default
   * (SWIM, Serf's layer, broadcasts, cluster state, phi); `{ membershipOnly: true }` gives SWIM alone.
   * `config` and `profile` above are the SWIM settings.
   */
  readonly node?: NodeSettings
  /**
   * AES-GCM for nodes given keys (`node.encryption`): nodeAead from `grapevine/wire` in Node. The simulator
   * itself imports no Node built-in, so it also runs in a browser (the dashboard), without encryption.
   */
  readonly aead?: Aead
  /** Per-node settings over `node` (keys of one node, say); called at each spawn. */
  readonly nodeFor?: (index: number) => NodeSettings | undefined
  /** Builds each node's protocol; default the composed node (src/node/). Tests of the simulator's mechanics pass a stand-in. */
  readonly createProtocol?: ProtocolFactory
  /** Port of every virtual address (default 7946). */
  readonly port?: number
}

export interface SpawnOptions {
  /**
   * Whom the new nodes join through: `true` (default) the simulation's first node (the first live
   * one when it is down), `false` nobody,
   * or explicit nodes or addresses. A node never joins through itself.
   */
  readonly join?: boolean | ReadonlyArray<SimNode | Address>
  /** Spread the join calls uniformly over this many virtual ms (default 0: all at once). */
  readonly joinSpreadMs?: number
  /** Configuration overrides for these nodes only. */
  readonly config?: Partial<SwimConfig>
  /** Raw metadata for these nodes (instead of the settings' tags). */
  readonly meta?: Uint8Array
  /** Node settings for these nodes over the simulation's. */
  readonly node?: NodeSettings
  /** The name of the one node spawned (default node-NNN by index): a second pool's node, `node-003.dc1`. */
  readonly name?: string
}

/** Hooks for checkers and reports; every method optional, called synchronously. */
export interface SimObserver {
  onSpawn?(node: SimNode, atMs: number): void
  onEvent?(node: SimNode, event: NodeEvent, atMs: number): void
  onCrash?(node: SimNode, atMs: number): void
  onRestart?(node: SimNode, atMs: number): void
  onPause?(node: SimNode, atMs: number, untilMs: number): void
  onResume?(node: SimNode, atMs: number): void
  /** The node finished leaving and stopped. */
  onLeft?(node: SimNode, atMs: number): void
  /** A datagram left `from` for `to` (before the network decides its fate); the bytes must not be changed. */
  onPacket?(from: SimNode, to: Address, bytes: Uint8Array, atMs: number): void
}

export type FaultKind = 'spawn' | 'crash' | 'restart' | 'pause' | 'resume' | 'leave' | 'left' | 'partition' | 'unblock' | 'heal'

/** A fault or lifecycle step, as logged in `simulation.faults`. */
export interface FaultRecord {
  readonly atMs: number
  readonly kind: FaultKind
  readonly nodes: readonly string[]
  readonly detail?: string
}

export interface SimulationStats {
  /** Queue items processed (timers, deliveries, stream steps, faults). */
  eventsProcessed: number
  packetsSent: number
  bytesSent: number
  packetsDelivered: number
  /** Arrived at a crashed or departed node. */
  packetsVanished: number
  /** Addressed to an address no node owns. */
  packetsToNowhere: number
  streamsOpened: number
  streamsFailed: number
}

/** A protocol threw, or the simulation was misused; carries what is needed to replay. */
export class SimulationError extends Error {
  override readonly name = 'SimulationError'
  constructor(message: string, readonly seed: number, readonly atMs: number, options?: { cause?: unknown }) {
    super(`${message} (seed ${seed}, virtual time ${atMs.toFixed(3)} ms)`, options)
  }
}
