/**
 * The agent's client subcommands: members, tags, join, leave, monitor, rtt, reachability, overlay, datacenters,
 * info, event, query, kv, broadcast, watch, keygen, keys and force-leave. Each asks a running agent over its HTTP
 * API (client.ts and the client-*.ts files); `grapevine agent` itself is in agent-command.ts.
 *
 *   grapevine <client command> [--http ADDR] [--http-token TOKEN] [--json] ──▶ HTTP ──▶ the agent ──▶ printed
 */
import type { Command } from 'commander'
import { eventCommand, queryCommand, forceLeaveCommand, infoCommand, joinCommand, leaveCommand, membersCommand, monitorCommand, MONITOR_TYPES, tagsCommand } from './client.js'
import type { ClientFlags } from './client.js'
import { keygenCommand, keysCommand } from './client-keys.js'
import { reachabilityCommand } from './client-reachability.js'
import { rttCommand } from './client-coordinates.js'
import { datacentersCommand } from './client-pools.js'
import { overlayCommand } from './client-overlay.js'
import { broadcastCommand, kvDelCommand, kvGetCommand, kvListCommand, kvSetCommand, watchCommand } from './client-data.js'
import { DEFAULT_HTTP } from '../agent/config.js'
import type { CommandIo } from '../output/io.js'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

export function clientOptions(cmd: Command, json = true): Command {
  cmd.option('--http <ADDR>', `address of the agent's HTTP API (default ${DEFAULT_HTTP}, or GRAPEVINE_HTTP_ADDR)`)
  cmd.option('--http-token <TOKEN>', 'bearer token of the agent (or GRAPEVINE_HTTP_TOKEN)')
  if (json) cmd.option('--json', 'print JSON')
  return cmd
}

/** Adds every client subcommand of a running agent to the program. */
export function addClientCommands(program: Command, io: CommandIo): void {
  clientOptions(program.command('members').description('list the members a running agent knows'))
    .option('--status <STATE>', 'only members in this state: alive, suspect, failed, left (Serf\'s words; dead is taken for failed; an expression like alive|suspect too)')
    .option('--name <REGEXP>', 'only members whose whole name matches, as serf members -name (web-.*)')
    .option('--tag <K=V>', 'only members with tag K matching V, a whole-value expression as serf members -tag (repeatable)', collect)
    .option('--wan', 'the WAN pool\'s members: the servers of every datacenter (ask a server)')
    .action(async (flags: ClientFlags & { status?: string; name?: string; tag?: string[]; wan?: boolean }) => {
      process.exitCode = await membersCommand(flags, io)
    })

  clientOptions(program.command('tags').description('change a running agent\'s tags (gossiped as an update, kept in its snapshot); without flags, list them'))
    .option('--set <K=V>', 'set a tag (repeatable)', collect)
    .option('--delete <K>', 'delete a tag (repeatable)', collect)
    .action(async (flags: ClientFlags & { set?: string[]; delete?: string[] }) => {
      process.exitCode = await tagsCommand(flags, io)
    })

  clientOptions(program.command('join').description('ask a running agent to join more members').argument('<ADDR...>', 'HOST[:PORT] of members to join'))
    .action(async (addresses: string[], flags: ClientFlags) => {
      process.exitCode = await joinCommand(addresses, flags, io)
    })

  clientOptions(program.command('leave').description('ask a running agent to leave gracefully and shut down'), false)
    .action(async (flags: ClientFlags) => {
      process.exitCode = await leaveCommand(flags, io)
    })

  clientOptions(program.command('monitor').description('stream membership events, user events and broadcasts from a running agent until interrupted'))
    .option('--types <LIST>', `event kinds, comma-separated, from member, user, message, state, gossip, suspicion, health, phi (default ${MONITOR_TYPES})`)
    .action(async (flags: ClientFlags & { types?: string }) => {
      const ac = new AbortController()
      process.once('SIGINT', () => ac.abort())
      process.exitCode = await monitorCommand(flags, io, process.env, ac.signal)
    })

  clientOptions(
    program.command('rtt').description('estimated round trip between two members, from a running agent\'s network coordinates')
      .argument('<A>', 'member name').argument('[B]', 'member name (default: the agent\'s node)'),
  )
    .action(async (a: string, b: string | undefined, flags: ClientFlags) => {
      process.exitCode = await rttCommand(a, b, flags, io)
    })

  clientOptions(program.command('reachability').description('test that every live member gets gossip and answers (as serf reachability); exit 1 naming those that did not'))
    .option('--verbose', 'list each ack and the timings')
    .option('--timeout <MS>', 'how long to wait for acks (default: Serf\'s query timeout)')
    .action(async (flags: ClientFlags & { verbose?: boolean; timeout?: string }) => {
      process.exitCode = await reachabilityCommand(flags, io)
    })
  clientOptions(program.command('overlay').description('a hyparview agent\'s partial view: active and passive views, broadcast tree, caches and counters')).action(async (flags: ClientFlags) => {
    process.exitCode = await overlayCommand(flags, io)
  })
  clientOptions(program.command('datacenters').description('list the datacenters and their servers a running agent knows (WAN-failed servers stay, marked soft-failed)')).action(async (flags: ClientFlags) => {
    process.exitCode = await datacentersCommand(flags, io)
  })

  clientOptions(program.command('info').description('show a running agent\'s node, configuration and counters'))
    .action(async (flags: ClientFlags) => {
      process.exitCode = await infoCommand(flags, io)
    })

  clientOptions(
    program
      .command('event')
      .description('send a Serf user event to every member (Serf agents run their event handlers)')
      .argument('<NAME>', 'event name')
      .argument('[PAYLOAD]', 'payload text (name and payload together at most about 470 bytes)'),
  )
    .option('--no-coalesce', 'ask agents (Serf and Grapevine) not to coalesce this event with others of its name for their handlers (serf event -coalesce=false)')
    .option('--datacenter <DC>', 'fire it in another datacenter, relayed by a server there')
    .action(async (name: string, payload: string | undefined, flags: ClientFlags & { coalesce?: boolean; datacenter?: string }) => {
      process.exitCode = await eventCommand(name, payload, flags, io)
    })

  clientOptions(
    program
      .command('query')
      .description('send a Serf query and print the acks and responses (Serf agents answer with their query handlers, Grapevine nodes with on("query"))')
      .argument('<NAME>', 'query name')
      .argument('[PAYLOAD]', 'payload text (the query at most 1024 bytes encoded)'),
  )
    .option('--timeout <TIME>', 'how long to collect answers, e.g. 3s (default: Serf\'s, from the cluster size)')
    .option('--node <NAME>', 'only this member answers (repeatable)', collect)
    .option('--tag <KEY=REGEXP>', 'only members whose tag matches answer (repeatable)', collect)
    .option('--no-ack', 'do not ask for acks')
    .option('--datacenter <DC>', 'run it in another datacenter, relayed by a server there (its answers come back in one relay response)')
    .action(async (name: string, payload: string | undefined, flags: ClientFlags & { timeout?: string; node?: string[]; tag?: string[]; ack?: boolean; datacenter?: string }) => {
      process.exitCode = await queryCommand(name, payload, flags, io)
    })

  const kv = program.command('kv').description("read and write the replicated cluster state (each node writes its own map, everyone reads all)")
  clientOptions(kv.command('set').description("set a key of the agent's node").argument('<KEY>').argument('<VALUE>')).action(
    async (key: string, value: string, flags: ClientFlags) => {
      process.exitCode = await kvSetCommand(key, value, flags, io)
    },
  )
  clientOptions(kv.command('get').description('print a key (of the agent\'s node, or --node)').argument('<KEY>'))
    .option('--node <NAME>', 'read this node\'s map')
    .action(async (key: string, flags: ClientFlags & { node?: string }) => {
      process.exitCode = await kvGetCommand(key, flags, io)
    })
  clientOptions(kv.command('del').description("delete a key of the agent's node (it stays deleted everywhere)").argument('<KEY>')).action(
    async (key: string, flags: ClientFlags) => {
      process.exitCode = await kvDelCommand(key, flags, io)
    },
  )
  clientOptions(kv.command('list').description('list keys of every node, or of --node'))
    .option('--node <NAME>', 'only this node\'s map')
    .option('--prefix <P>', 'only keys starting with P')
    .action(async (flags: ClientFlags & { node?: string; prefix?: string }) => {
      process.exitCode = await kvListCommand(flags, io)
    })

  clientOptions(program.command('broadcast').description('deliver a message once to every Grapevine node (their `message` handlers)').argument('<NAME>').argument('[PAYLOAD]', 'payload text (at most 1024 bytes)')).action(
    async (name: string, payload: string | undefined, flags: ClientFlags) => {
      process.exitCode = await broadcastCommand(name, payload, flags, io)
    },
  )

  clientOptions(program.command('watch').description('print changes of the replicated state, of keys starting with PREFIX, until interrupted').argument('[PREFIX]', 'key prefix', ''))
    .action(async (prefix: string, flags: ClientFlags) => {
      const ac = new AbortController()
      process.once('SIGINT', () => ac.abort())
      process.exitCode = await watchCommand(prefix, flags, io, process.env, ac.signal)
    })

  program
    .command('keygen')
    .description('print a new random 32-byte encryption key in base64 (for --encrypt and `keys install`)')
    .action(() => {
      process.exitCode = keygenCommand(io)
    })

  clientOptions(
    program
      .command('keys')
      .description("manage a running agent's encryption keys without a restart: list, install KEY, use KEY, remove KEY, verify --incoming B --outgoing B")
      .argument('<ACTION>', 'list, install, use, remove or verify')
      .argument('[KEY]', 'base64 key (install, use, remove)'),
  )
    .option('--incoming <BOOL>', 'verify: require encrypted input (true or false)')
    .option('--outgoing <BOOL>', 'verify: encrypt what is sent (true or false)')
    .option('--wan', "the WAN pool's keyring (a server of a datacenter), as Consul's keyring -wan")
    .action(async (action: string, key: string | undefined, flags: ClientFlags & { incoming?: string; outgoing?: string; wan?: boolean }) => {
      process.exitCode = await keysCommand(action, key, flags, io)
    })

  clientOptions(program.command('force-leave').description('mark a failed member as left, for members that will never come back').argument('<NAME>', 'member name'), false)
    .option('--prune', 'also forget the member at once')
    .action(async (name: string, flags: ClientFlags & { prune?: boolean }) => {
      process.exitCode = await forceLeaveCommand(name, flags, io)
    })
}
