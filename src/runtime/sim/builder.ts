/**
 * How the simulation builds each node's protocol: the settings every node resolves (the simulation's,
 * then `nodeFor(index)`'s, then the spawn call's, checked as a real node's are), its SWIM config, and a
 * seeded generator per node and restart.
 *
 *   spawn(index) ──setupFor──▶ NodeSetup (config, settings) ──build(restart, seeds)──▶ ProtocolFactory ──▶ SimProtocol
 *
 * Node n's protocol gets SeededRng(deriveSeed(seed, n)); its restart r deriveSeed(deriveSeed(seed, n), r).
 */
import { SeededRng, deriveSeed } from '../../core/rng.js'
import type { Address } from '../../core/types.js'
import { resolveConfig, resolveNodeSettingsOrThrow } from '../../node/index.js'
import type { NodeSettings, Profile, ResolvedSettings, SwimConfig } from '../../node/index.js'
import { Keyring } from '../../wire/keyring.js'
import { nodeName } from './names.js'
import { createNode } from './protocol.js'
import type { ProtocolFactory, SimProtocol } from './protocol.js'
import type { SimulationOptions, SpawnOptions } from './types.js'

/** What a node was spawned with; a restart builds from the same. */
export interface NodeSetup {
  /** The node's name: node-NNN, or the spawn call's (a WAN pool's `node-003.dc1`). */
  readonly name: string
  readonly config: SwimConfig
  readonly settings: ResolvedSettings
}

export class NodeBuilder {
  /** The SWIM configuration every node gets unless spawned with overrides. */
  readonly config: SwimConfig
  private readonly configPartial: Partial<SwimConfig>
  private readonly profile: Profile | undefined
  private readonly factory: ProtocolFactory

  constructor(private readonly seed: number, private readonly opts: SimulationOptions) {
    this.configPartial = opts.config ?? {}
    this.profile = opts.profile
    this.config = resolveConfig(this.configPartial, opts.profile ?? this.configPartial.profile ?? 'lan')
    this.factory = opts.createProtocol ?? createNode
    // Checked once here, so a bad setting fails the construction, not the first spawn.
    this.settingsFor(0, {})
  }

  /** The setup of node `index` spawned with `spawn`'s options. */
  setupFor(index: number, spawn: SpawnOptions): NodeSetup {
    const config = spawn.config === undefined ? this.config : resolveConfig({ ...this.configPartial, ...spawn.config }, spawn.config?.profile ?? this.profile ?? this.config.profile)
    const settings = this.settingsFor(index, spawn)
    return { name: spawn.name ?? nodeName(index), config, settings: spawn.meta === undefined ? settings : { ...settings, meta: spawn.meta } }
  }

  /** A fresh protocol for node `index` (restart 0 when spawned), joining through `seeds`. */
  build(index: number, address: Address, setup: NodeSetup, restart: number, seeds: readonly Address[]): SimProtocol {
    const nodeSeed = deriveSeed(this.seed, index)
    const options = {
      name: setup.name,
      address,
      config: setup.config,
      settings: setup.settings,
      rng: new SeededRng(restart === 0 ? nodeSeed : deriveSeed(nodeSeed, restart)),
      seeds,
      restart,
      aead: this.opts.aead,
    }
    return this.factory(options, index)
  }

  /**
   * Settings of a node with no per-node overrides (no `nodeFor`, no spawn `node`, no keys): resolved
   * once, each node gets them under its own name with a keyring of its own (a keyring changes at run
   * time: key installs). Resolving them for every spawn was 3 % of a 2,000-node run.
   */
  private shared: ResolvedSettings | undefined

  private settingsFor(index: number, spawn: SpawnOptions): ResolvedSettings {
    if (this.opts.nodeFor === undefined && spawn.node === undefined && this.opts.node?.name === undefined && this.opts.node?.encryption === undefined) {
      this.shared ??= this.resolve(0, spawn)
      return { ...this.shared, name: nodeName(index), keyring: new Keyring() }
    }
    return this.resolve(index, spawn)
  }

  private resolve(index: number, spawn: SpawnOptions): ResolvedSettings {
    const merged: NodeSettings = { ...this.opts.node, ...this.opts.nodeFor?.(index), ...spawn.node }
    return resolveNodeSettingsOrThrow({ ...merged, config: { ...this.configPartial, ...merged.config }, profile: this.profile ?? merged.profile }, { name: nodeName(index), generation: 1 })
  }
}
