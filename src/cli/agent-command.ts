/**
 * Wires `grapevine agent` into the CLI (the agent's client subcommands: client-commands.ts).
 *
 * `grapevine agent` runs until SIGINT/SIGTERM (leave gracefully, shut down, exit 0; a second signal
 * exits at once with 1; SIGHUP reloads the log level and the event handlers, as Serf's agent, and the configured aggregates), until `grapevine leave` (exit 0), until the join retries run out (exit 1), or until a seed
 * refuses the join because a live member already holds the node's name at another address (exit 2).
 */
import type { Command } from 'commander'
import { Option } from 'commander'
import { ConfigError } from '../swim/config.js'
import { startAgent } from '../agent/agent.js'
import { addOverlayAgentFlags, OVERLAY_ENV_HELP } from './client-overlay.js'
import { DEFAULT_HTTP, resolveAgentConfig } from '../agent/config.js'
import type { RawAgentFlags } from '../agent/config.js'
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import { CONFIG_FILE_MAX_BYTES, readBoundedText } from '../agent/bounded-read.js'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

/** Runs the agent until it stops; resolves with the exit code. */
export async function runAgentCommand(flags: RawAgentFlags, io: CommandIo): Promise<number> {
  const config = resolveAgentConfig(flags, process.env, (p) => readBoundedText(p, CONFIG_FILE_MAX_BYTES, 'file'))
  let agent
  try {
    agent = await startAgent(config, { processMetrics: true })
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message)
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      io.err(`grapevine: cannot listen (${code}): ${(e as Error).message}; pick another --bind or --http address\n`)
      return 1
    }
    throw e
  }
  return new Promise<number>((resolve) => {
    let exitCode = 0
    let signals = 0
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++
      if (signals > 1) {
        agent.log.warn({ signal: sig }, 'second signal; exiting without finishing the leave')
        process.exit(1)
      }
      agent.log.info({ signal: sig }, 'signal received; leaving gracefully')
      void agent.stop({ leave: true })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // As Serf's agent: SIGHUP reads the configuration again for the log level and the event handlers
    // (Node's default would end the process without a leave).
    const onHangup = (): void => {
      try {
        const next = resolveAgentConfig(flags, process.env, (p) => readBoundedText(p, CONFIG_FILE_MAX_BYTES, 'file'))
        void agent.reload(next).then((a) => agent.log.info({ logLevel: next.logLevel, eventHandlers: next.eventHandlers.map((h) => h.spec), aggregates: a }, 'configuration reloaded (SIGHUP): log level, event handlers and aggregates; other settings need a restart'), (e: Error) => agent.log.error({ err: e.message }, 'configured aggregates not applied'))
      } catch (e) {
        agent.log.error({ err: (e as Error).message }, 'configuration reload (SIGHUP) failed; keeping the running configuration')
      }
    }
    process.on('SIGHUP', onHangup)
    agent.on('joinFailed', (reason: string, cause?: string) => {
      // A name conflict is an operator mistake, not a network failure: exit 2 with the reason.
      if (cause === 'nameConflict') {
        exitCode = 2
        io.err(`grapevine: ${reason}\n`)
      } else exitCode = 1
      void agent.stop({ leave: false })
    })
    agent.on('stopped', () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.off('SIGHUP', onHangup)
      resolve(exitCode)
    })
  })
}


/** `grapevine agent --help` ends with the environment variables (each is a flag's fallback). */
export const AGENT_ENV_HELP = `
Environment (a flag wins over its variable; the variable over --config's field):
  GRAPEVINE_CONFIG                   --config
  GRAPEVINE_NAME                     --name
  GRAPEVINE_BIND                     --bind
  GRAPEVINE_ADVERTISE                --advertise
  GRAPEVINE_JOIN                     --join (comma-separated list)
  GRAPEVINE_JOIN_RETRY_MAX           --join-retry-max
  GRAPEVINE_JOIN_RETRY_INTERVAL      --join-retry-interval
  GRAPEVINE_REDISCOVER_INTERVAL      --rediscover-interval
  GRAPEVINE_DNS_SERVERS              --dns-server (comma list)
  GRAPEVINE_BOOTSTRAP                --bootstrap (true or false)
  GRAPEVINE_METRICS_PUBLIC           --metrics-public (true or false)
  GRAPEVINE_HTTP                     --http
  GRAPEVINE_HTTP_TOKEN               --http-token
  GRAPEVINE_PROFILE                  --profile
  GRAPEVINE_TAGS                     --tag (k=v,k=v)
  GRAPEVINE_LOG_LEVEL                --log-level
  GRAPEVINE_LOG_FORMAT               --log-format
  GRAPEVINE_SNAPSHOT                 --snapshot
  GRAPEVINE_REJOIN_AFTER_LEAVE       --rejoin-after-leave (true or false)
  GRAPEVINE_V8_LITE_MODE             --v8-lite-mode (true or false)
  GRAPEVINE_DATA_DIR                 --data-dir
  GRAPEVINE_ENCRYPT                  --encrypt
  GRAPEVINE_KEYRING_FILE             --keyring-file
  GRAPEVINE_LABEL                    --label
  GRAPEVINE_ENCRYPT_VERIFY_INCOMING  --encrypt-verify-incoming
  GRAPEVINE_ENCRYPT_VERIFY_OUTGOING  --encrypt-verify-outgoing
  GRAPEVINE_EVENT_HANDLER            --event-handler (one handler)
  GRAPEVINE_EVENT_HANDLER_TIMEOUT    --event-handler-timeout
  GRAPEVINE_EVENT_HANDLER_COALESCE   --event-handler-coalesce
  GRAPEVINE_DATACENTER               --datacenter
  GRAPEVINE_SERVER                   --server (true or false)
  GRAPEVINE_WAN_BIND                 --wan-bind
  GRAPEVINE_WAN_ADVERTISE            --wan-advertise
  GRAPEVINE_JOIN_WAN                 --join-wan (comma-separated)
  GRAPEVINE_FLOOD_INTERVAL           --flood-interval
  GRAPEVINE_DISABLE_COORDINATES      --disable-coordinates (true or false)
  GRAPEVINE_DISABLE_COORDINATE_ECHO  --disable-coordinate-echo (true or false)
${OVERLAY_ENV_HELP}Clients (members, monitor, …) read GRAPEVINE_HTTP_ADDR and GRAPEVINE_HTTP_TOKEN.
`

/** `grapevine agent`; the agent's clients are in client-commands.ts. */
export function addAgentCommand(program: Command, io: CommandIo): void {
  addOverlayAgentFlags(program.command('agent').description('run a Grapevine node with an HTTP API, metrics and structured logs, until SIGINT/SIGTERM'))
    .addHelpText('after', AGENT_ENV_HELP)
    .option('--config <FILE>', 'JSON config file (flags override environment, environment overrides the file)')
    .option('--name <NAME>', 'node name, unique in the cluster (default: host name)')
    .option('--bind <HOST:PORT>', 'gossip address, UDP and TCP (default 0.0.0.0:7946)')
    .option('--advertise <HOST:PORT>', 'address other members use to reach this node')
    .option('--join <ADDR>', 'seed HOST[:PORT], dns://NAME[:PORT] (A/AAAA), srv://_SERVICE._PROTO.NAME or k8s://NAMESPACE?labelSelector=SEL, retried with backoff (repeatable)', collect)
    .option('--join-retry-max <N>', 'join attempts before giving up, 0 for no limit (default 10)')
    .option('--join-retry-interval <MS>', 'wait before the second join attempt, doubling each time (default 1000)')
    .option('--rediscover-interval <MS>', 'after the join, resolve the seed names again this often and join new addresses, so split halves merge; 0 for never (default 30000)')
    .option('--dns-server <IP[:PORT]>', 'DNS server for dns:// and srv:// seeds (repeatable; default: the system\'s)', collect)
    .option('--bootstrap', 'this is the cluster\'s first node: /health/ready answers 200 without a live peer')
    .option('--http <HOST:PORT>', `HTTP API address (default ${DEFAULT_HTTP})`)
    .option('--http-token <TOKEN>', 'bearer token every HTTP request must carry; required off loopback')
    .option('--metrics-public', 'serve GET /metrics without the token, for Prometheus scraping by annotation (the health routes never need it)')
    .addOption(new Option('--profile <PROFILE>', 'timing profile (default lan)').choices(['lan', 'wan', 'local']))
    .option('--tag <K=V>', 'Serf-style tag in node metadata (repeatable)', collect)
    .addOption(new Option('--log-level <LEVEL>', 'log level (default info)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .addOption(new Option('--log-format <FORMAT>', 'log format (default: pretty on a terminal, json otherwise)').choices(['json', 'pretty']))
    .option('--snapshot <FILE>', 'save known members here and rejoin them on restart')
    .option('--rejoin-after-leave', 'rejoin the snapshot\'s members even after a graceful leave')
    .option('--v8-lite-mode', 'run V8 without its optimising compiler and with a smaller heap: about 4 MB less memory per agent (off by default)')
    .option('--data-dir <DIR>', 'keep the replicated data (grapevine crdt …) in DIR/crdt.mdb across restarts')
    .option('--encrypt <KEY>', 'encrypt gossip with this base64 key (16, 24 or 32 bytes, as `grapevine keygen` or `serf keygen` print)')
    .option('--keyring-file <FILE>', 'keyring to load at start and to keep up to date on key changes (JSON array of base64 keys, primary first)')
    .option('--label <LABEL>', 'cluster label on every packet and stream (off by default; Serf 0.9.4 does not accept labels)')
    .option('--encrypt-verify-incoming <BOOL>', 'require encrypted input when keys are installed (default true; false while switching a cluster over)')
    .option('--encrypt-verify-outgoing <BOOL>', 'encrypt what we send when keys are installed (default true; false while switching a cluster over)')
    .option('--event-handler <[FILTER=]SCRIPT>', 'run SCRIPT for matching events, exactly as Serf does (filters: member-join, member-leave, member-failed, member-update, member-reap, user, user:NAME, query, query:NAME; comma-separated; repeatable)', collect)
    .option('--event-handler-timeout <MS>', 'kill a handler script running longer than this (default 30000)')
    .option('--event-handler-coalesce <MS>', 'batch member events (and user events sent with coalesce) for handlers up to MS, ended early by a second of quiet, as Serf\'s agent does (default 3000; 0 runs each at once)')
    .option('--datacenter <DC>', 'this agent\'s datacenter (a LAN tag dc=DC); with --server it also runs the WAN pool')
    .option('--server', 'a server of its datacenter: runs the WAN pool of all datacenters\' servers on --wan-bind')
    .option('--wan-bind <HOST:PORT>', 'the WAN pool\'s gossip address, servers only (default 0.0.0.0:8302)')
    .option('--wan-advertise <HOST:PORT>', 'the address other datacenters\' servers use to reach this server\'s WAN pool')
    .option('--join-wan <ADDR>', 'a server of another datacenter to join in the WAN pool, retried with backoff (repeatable)', collect)
    .option('--flood-interval <MS>', 'how often a server joins its datacenter\'s servers into the WAN pool (default 60000; also on each server join)')
    .option('--disable-coordinates', 'no network coordinates: empty acks, no rtt estimates (Serf\'s disable_coordinates)')
    .option('--disable-coordinate-echo', 'do not send a probed Grapevine peer the RTT we measured (Serf\'s coordinate updates; see README Departures)')
    .action(async (flags: RawAgentFlags) => {
      const code = await runAgentCommand(flags, io)
      // Everything is closed; exit now rather than wait for stray handles of dependencies.
      process.exit(code)
    })
}
