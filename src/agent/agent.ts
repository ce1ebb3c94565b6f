/**
 * The Grapevine agent: one node, its HTTP API and metrics, structured logs, join retries and a
 * snapshot file. `startAgent(config)` is what `grapevine agent` runs; tests start it in-process.
 *
 *   start → bind the node (no seeds yet) → HTTP API listens → seeds: --join, else the snapshot's
 *   members → join in the background, retried with exponential backoff (names re-resolved on each
 *   attempt) until one seed answers or joinRetryMax attempts failed (then `joinFailed`); a name
 *   conflict (a live member holds our name at another address) fails it at once (`joinFailed`, 'nameConflict').
 *   stop  → leave (gossip our departure) → final snapshot (marked left) → shutdown → HTTP closes.
 *
 * Errors: startAgent rejects with a ConfigError or a socket error (EADDRINUSE, …) and leaves nothing
 * bound behind.
 */
import { EventEmitter } from 'node:events'
import { jsonLogger, type Logger } from './log.js'
import { NameConflictError } from '../runtime/node/start-node.js'
import type { DatacenterNode } from '../runtime/node/pools.js'
import { poolsInfo, runAgentPools, saveWanKeyring, startAgentNode } from './pools.js'
import type { BroadcastMessage, GrapevineNode, MemberEvent } from '../runtime/node/start-node.js'
import type { SwimEvent } from '../node/index.js'
import { parseHostPort } from '../runtime/node/address.js'
import type { AgentConfig, LogFormat, LogLevel } from './config.js'
import { HttpApi } from './http/api.js'
import { memberJson } from './http/respond.js'
import { userState } from './member-words.js'
import { AgentMetrics } from './metrics.js'
import { SnapshotWriter, readSnapshot } from './snapshot.js'
import { configureHandlers } from './event-handlers.js'
import type { EventHandlers } from './event-handlers.js'
import { warnSecurityDrops, writeKeyringFile } from './keyring-file.js'
import { logDiscovery, readiness } from './readiness.js'
import { logOverlay, overlayInfo } from './overlay-agent.js'
import type { SnapshotData } from './snapshot.js'
import { ConfiguredAggregates, type AppliedAggregates } from './configured-aggregates.js'

const JOIN_BACKOFF_MAX_MS = 30_000

export interface AgentOptions {
  /** Where log lines go (default stdout). */
  readonly logDestination?: { write(line: string): unknown }
  /** Export Node.js process metrics too (the CLI does; tests running several agents do not). */
  readonly processMetrics?: boolean
  /** Snapshot writes coalesce changes for this long (default 200 ms). */
  readonly snapshotDebounceMs?: number
}

/** One line per record, for people: `12:00:01.234 INFO  member joined name=web-2 address=…`. */
export function prettyDestination(out: { write(line: string): unknown }): { write(line: string): void } {
  const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
  return {
    write(line: string): void {
      let rec: Record<string, unknown>
      try {
        rec = JSON.parse(line) as Record<string, unknown>
      } catch {
        out.write(line)
        return
      }
      const { level, time, msg, pid: _pid, hostname: _host, ...rest } = rec
      const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : ''
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      out.write(`${when} ${LEVELS[level as number] ?? String(level)} ${String(msg ?? '')}${fields ? ' ' + fields : ''}\n`)
    },
  }
}

export function createLogger(level: LogLevel, format: LogFormat, destination: { write(line: string): unknown } = process.stdout): Logger {
  const dest = format === 'pretty' ? prettyDestination(destination) : destination
  return jsonLogger(level, dest)
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): doubling from the first interval, capped. */
export function joinBackoffMs(attempt: number, firstMs: number): number {
  return Math.min(JOIN_BACKOFF_MAX_MS, firstMs * 2 ** Math.max(0, attempt - 1))
}

export class Agent extends EventEmitter {
  private stopping: Promise<void> | undefined
  private joinTimer: ReturnType<typeof setTimeout> | undefined
  private joinAbandoned = false
  private httpPort = 0
  private snapshotWriter: SnapshotWriter | undefined
  private handlers: EventHandlers | undefined
  private stopPools: (() => void) | undefined
  private readonly aggregates: ConfiguredAggregates
  /** Seeds the background join is working on, and how it went. */
  private joinState: { seeds: readonly string[]; attempts: number; done: boolean; contacted: number; lastError?: string } = { seeds: [], attempts: 0, done: true, contacted: 0 }
  readonly metrics: AgentMetrics
  readonly api: HttpApi

  private constructor(
    readonly config: AgentConfig,
    readonly node: GrapevineNode,
    readonly log: Logger,
    opts: AgentOptions,
    /** The datacenter pools (LAN and, on a server, WAN) when started with --datacenter. */
    readonly pools?: DatacenterNode,
  ) {
    super()
    this.aggregates = new ConfiguredAggregates(node, log)
    this.metrics = new AgentMetrics(node, { processMetrics: opts.processMetrics === true, pools })
    this.api = new HttpApi({
      node,
      pools,
      metrics: this.metrics,
      token: config.httpToken,
      metricsPublic: config.metricsPublic,
      info: () => this.info(),
      join: (a) => this.node.join(a),
      leave: () => this.leaveFromApi(),
      keysChanged: () => this.saveKeyring(),
      wanKeysChanged: () => saveWanKeyring(pools, config),
      tagsChanged: () => {
        log.info({ tags: node.localMember().tags }, 'tags changed')
        this.snapshotWriter?.soon()
      },
      readiness: () => readiness(node, { bootstrap: config.bootstrap, seeds: this.joinState.seeds.length > 0 ? this.joinState.seeds : config.join, stopping: this.stopping !== undefined, join: this.joinState }),
    })
    node.on('discovery', (e) => logDiscovery(log, e))
    logOverlay(node, log)
    warnSecurityDrops(node, log)
    this.handlers = configureHandlers(undefined, node, config, log, false)
    // Serf's `keys` commands change the keyring from the network: keep the keyring file in step.
    node.on('keyring', () => {
      this.saveKeyring().catch((e: Error) => log.warn({ keyringFile: config.keyringFile, err: e.message }, 'keyring file write failed'))
    })
    node.on('member', (e: MemberEvent) => {
      // Suspicions are logged below, with their accuser.
      if (e.type === 'suspected') return
      const m = memberJson(e.member)
      log.info({ event: e.type, member: m.name, address: m.address, incarnation: m.incarnation }, `member ${e.type}`)
    })
    node.on('event', (e: SwimEvent) => {
      if (e.type !== 'suspected') return
      // `by` is the accuser: this node's own name when its probe failed, another's when the suspicion arrived by gossip.
      log.info({ event: e.type, member: e.member.name, address: `${e.member.address.ip}:${e.member.address.port}`, incarnation: e.member.incarnation, by: e.from, via: e.via }, 'member suspected')
    })
    // As Serf's agent logs "Received event: user-event: NAME".
    node.on('message', (m: BroadcastMessage) => {
      if (m.via === 'serf') log.info({ event: 'user', name: m.name, lTime: m.lTime }, 'user event received')
    })
  }

  /** Address of the HTTP API as HOST:PORT (the real port when configured with port 0). */
  get httpAddress(): string {
    const h = parseHostPort(this.config.http)
    const ip = h === undefined ? '127.0.0.1' : h.ip.includes(':') ? `[${h.ip}]` : h.ip
    return `${ip}:${this.httpPort}`
  }

  static async start(config: AgentConfig, opts: AgentOptions = {}): Promise<Agent> {
    const log = createLogger(config.logLevel, config.logFormat, opts.logDestination)
    // The snapshot is read first: its incarnation decides the one we start at.
    let snap: SnapshotData | undefined
    if (config.snapshot !== undefined) {
      try {
        snap = await readSnapshot(config.snapshot)
      } catch (e) {
        log.warn({ snapshot: config.snapshot, err: (e as Error).message }, 'snapshot unreadable; starting without it')
      }
      if (snap !== undefined && snap.name !== '' && snap.name !== config.name) {
        log.warn({ snapshot: config.snapshot, snapshotName: snap.name, name: config.name }, 'snapshot belongs to another node name; ignoring it')
        snap = undefined
      }
    }
    // One past the last incarnation we used, so members that hold us failed take us back at once.
    const incarnation = snap !== undefined && snap.incarnation >= 1 && snap.incarnation < 0xffffffff ? snap.incarnation + 1 : 1
    // Tags set at runtime (`grapevine tags`) were kept in the snapshot; they are this node's tags now.
    let tags = config.tags
    if (snap?.tags !== undefined && JSON.stringify(snap.tags) !== JSON.stringify(config.tags)) {
      log.info({ snapshot: config.snapshot, tags: snap.tags, configured: config.tags }, 'tags from the snapshot (last set at runtime) replace the configured ones')
      tags = snap.tags
    }
    const { node, pools } = await startAgentNode(config, {
      name: config.name,
      bind: config.bind,
      advertise: config.advertise,
      profile: config.profile,
      config: config.swim,
      tags,
      incarnation,
      broadcast: config.broadcast,
      state: config.state,
      phi: config.phi,
      encryption: { keys: config.keys, verifyIncoming: config.encryptVerifyIncoming, verifyOutgoing: config.encryptVerifyOutgoing },
      label: config.label,
      discovery: config.discovery,
      dataDir: config.dataDir,
      ...(config.membership === 'hyparview' ? { membership: config.membership, overlay: config.overlay } : {}),
    })
    const agent = new Agent(config, node, log, opts, pools)
    try {
      await agent.saveKeyring()
      const h = parseHostPort(config.http)
      if (h === undefined) throw new Error(`--http ${JSON.stringify(config.http)}: expected HOST:PORT`)
      agent.httpPort = await agent.api.listen(h.ip, h.port)
    } catch (e) {
      agent.metrics.close()
      await (pools ?? node).shutdown()
      throw e
    }
    const enc = node.encryption()
    log.info({ name: node.name, address: `${node.address.ip}:${node.port}`, http: agent.httpAddress, profile: config.profile, tags, encryption: enc.encrypting ? enc.primary : 'off', label: enc.label || undefined }, 'agent started')

    let seeds = config.join
    if (config.snapshot !== undefined) {
      if (snap !== undefined && seeds.length === 0) {
        if (snap.left && !config.rejoinAfterLeave) {
          log.info({ snapshot: config.snapshot }, 'snapshot says this node left; not rejoining its members (use --rejoin-after-leave)')
        } else {
          seeds = snap.members.map((m) => m.address)
          log.info({ snapshot: config.snapshot, members: seeds.length, incarnation }, 'rejoining members from the snapshot')
        }
      }
      agent.snapshotWriter = new SnapshotWriter(node, config.snapshot, (e) => log.warn({ err: e.message }, 'snapshot write failed'), opts.snapshotDebounceMs)
      void agent.snapshotWriter.write(false)
    }
    if (seeds.length > 0) agent.joinInBackground(seeds)
    if (pools !== undefined) agent.stopPools = runAgentPools(pools, config, log)
    await agent.aggregates.apply(config.aggregates)
    return agent
  }

  /** Joins `seeds`, retrying with backoff; emits `joined` (contacted count) or `joinFailed` (reason, and 'nameConflict' when refused for the name). */
  private joinInBackground(seeds: readonly string[]): void {
    this.joinState = { seeds, attempts: 0, done: false, contacted: 0 }
    const attempt = async (): Promise<void> => {
      this.joinTimer = undefined
      if (this.stopping !== undefined || this.joinAbandoned) return
      const n = ++this.joinState.attempts
      try {
        // The node resolves DNS names on every join call, so each retry sees the current records.
        const contacted = await this.node.join(seeds)
        this.joinState = { ...this.joinState, done: true, contacted }
        this.log.info({ seeds, contacted, attempt: n }, 'joined the cluster')
        this.emit('joined', contacted)
      } catch (e) {
        if (this.stopping !== undefined) return
        const reason = (e as Error).message
        this.joinState.lastError = reason
        if (e instanceof NameConflictError) {
          // Retrying cannot help while the other node holds the name: give up at once.
          this.joinState.done = true
          this.log.error({ seeds, attempt: n, err: reason, kept: `${e.kept.ip}:${e.kept.port}` }, 'join refused: node name conflict')
          this.emit('joinFailed', reason, 'nameConflict')
          return
        }
        const max = this.config.joinRetryMax
        if (max > 0 && n >= max) {
          this.joinState.done = true
          this.log.error({ seeds, attempts: n, err: reason }, 'join failed; giving up')
          this.emit('joinFailed', reason)
          return
        }
        const delay = joinBackoffMs(n, this.config.joinRetryIntervalMs)
        this.log.warn({ seeds, attempt: n, retryInMs: delay, err: reason }, 'join failed; retrying')
        this.joinTimer = setTimeout(() => void attempt(), delay)
      }
    }
    void attempt()
  }

  /** Writes the keyring file (when configured and the keyring is not empty): Serf's format, primary first. */
  async saveKeyring(): Promise<void> {
    const path = this.config.keyringFile
    const keys = this.node.exportKeys()
    if (path === undefined || keys.length === 0) return
    await writeKeyringFile(path, keys)
  }

  info(): Record<string, unknown> {
    const counts: Record<string, number> = { alive: 0, suspect: 0, failed: 0, left: 0 }
    for (const m of this.node.members()) counts[userState(m.state)]++
    const s = this.node.stats()
    return {
      agent: { http: this.httpAddress, profile: this.config.profile, snapshot: this.config.snapshot ?? null, port: this.node.port },
      join: { seeds: this.joinState.seeds, attempts: this.joinState.attempts, done: this.joinState.done, lastError: this.joinState.lastError ?? null },
      members: counts,
      ...(overlayInfo(this.node) === undefined ? {} : { overlay: overlayInfo(this.node) }),
      encryption: this.node.encryption(),
      ...poolsInfo(this.pools),
      stats: {
        probes: s.probes, probeFailures: s.probeFailures, suspicionsRaised: s.suspicionsRaised, refutations: s.refutations,
        packetsIn: s.packetsIn, packetsOut: s.packetsOut, bytesIn: s.bytesIn, bytesOut: s.bytesOut,
      },
    }
  }

  /** POST /v1/leave: answer once the leave went out, then shut down (the `stopped` event follows). */
  private async leaveFromApi(): Promise<void> {
    let left!: () => void
    const wentOut = new Promise<void>((r) => (left = r))
    void this.stop({ leave: true, onLeft: left })
    await wentOut
  }

  /**
   * Leaves (unless `leave: false`, which simulates a crash for tests), writes the final snapshot, shuts
   * the node and the HTTP API down; idempotent. Emits `stopped` at the end.
   */
  /** SIGHUP, as Serf's agent: the log level and the event handlers from the configuration read again; and the configured aggregates. */
  reload(next: AgentConfig): Promise<AppliedAggregates> {
    this.log.level = next.logLevel
    this.handlers = configureHandlers(this.handlers, this.node, next, this.log, true)
    return this.aggregates.apply(next.aggregates)
  }

  stop(opts: { leave?: boolean; onLeft?: () => void } = {}): Promise<void> {
    if (this.stopping === undefined) {
      this.stopping = (async () => {
        if (this.joinTimer !== undefined) clearTimeout(this.joinTimer)
        this.stopPools?.()
        const leave = opts.leave !== false
        if (leave) {
          this.log.info('leaving the cluster')
          await (this.pools ?? this.node).leave()
        }
        opts.onLeft?.()
        await this.handlers?.close()
        this.aggregates.close()
        await this.snapshotWriter?.stop(leave)
        await (this.pools ?? this.node).shutdown()
        // Let a response written just now go out before connections are closed.
        await new Promise((r) => setImmediate(r))
        await this.api.close()
        this.metrics.close()
        this.log.info({ left: leave }, 'agent stopped')
        this.emit('stopped')
      })()
    } else opts.onLeft?.()
    return this.stopping
  }
}

export function startAgent(config: AgentConfig, opts: AgentOptions = {}): Promise<Agent> {
  return Agent.start(config, opts)
}
