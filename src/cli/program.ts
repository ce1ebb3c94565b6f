/**
 * The `grapevine` command's program; its entry, cli.ts, first checks the optional packages. Each subcommand lives in its own
 * file of cli/; the demo's supervisor is in demo/, the daemon in agent/. Subcommands:
 *   sim    run a deterministic simulation and print its report (see sim-command.ts)
 *   demo   a local cluster of 5 real agents, printing membership changes (npm start; demo/cluster.ts);
 *          demo --sim: a simulated 50-node cluster through a crash, a pause and a partition (demo/simulated.ts)
 *   agent  run a real node with its HTTP API (see agent-command.ts)
 *   lab    the epidemic models of Demers et al. 1987 on N sites: tables, JSON, CSV, plots (lab-command.ts)
 *   members, join, leave, monitor, info, force-leave   clients of a running agent (client.ts; kv, broadcast
 *          and watch in client-data.ts, keys and keygen in client-keys.ts, rtt in client-coordinates.ts, reachability in client-reachability.ts)
 *
 * Usage mistakes print one message naming the flag and exit with code 2, without a stack trace (program-root.ts).
 * `grapevine agent …` runs agent-program.ts instead: the same agent command without the others.
 */
import { randomInt } from 'node:crypto'
import type { Command } from 'commander'
import { Option } from 'commander'
import { DEFAULT_BASE_PORT, HTTP_OFFSET } from '../demo/ports.js'
import type { DemoProfile } from '../demo/cluster.js'
import { addAgentCommand } from './agent-command.js'
import { addClientCommands } from './client-commands.js'
import { addLabCommand } from './lab-command.js'
import { addCrdtCommands } from './client-crdt.js'
import { addAggregateCommands } from './client-aggregate.js'
import type { RawSimFlags } from './sim-command.js'
import { UsageError } from '../core/errors.js'
import { io, rootCommand, runProgram } from './program-root.js'
import { parseCount, parseSeed } from '../runtime/sim/scenario-values.js'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

/** Builds the program; exported so the lead can add subcommands and tests can inspect it. */
export function buildProgram(): Command {
  const program = rootCommand()

  program
    .command('sim')
    .description('run a deterministic simulation of a cluster under faults and print its report; with a scenario file (YAML or JSON), run that')
    .argument('[scenario]', 'a scenario file (.yaml or .json; see examples/): it sets the cluster and the timeline, so only --seed, --duration, --json, --plot and --trace apply')
    .option('--nodes <N>', 'cluster size (default 50)')
    .option('--seed <S>', 'run seed, 0..4294967295 (default: random, printed with the replay command)')
    .option('--duration <TIME>', 'chaos phase length, e.g. 120s, 500ms, 2m (default 120s)')
    .option('--profile <PROFILE>', 'memberlist profile: lan, wan or local (default lan)')
    .option('--loss <P>', 'loss probability of datagrams and stream (TCP) segments, e.g. 0.05 or 5%')
    .option('--stream-loss <P>', 'loss probability of stream (TCP) segments only, over --loss')
    .option('--latency <MIN..MAX>', 'one-way delay bounds, e.g. 1ms..10ms (default per profile)')
    .option('--crash <COUNT@TIME>', 'crash COUNT random nodes at TIME, e.g. 3@30s (repeatable)', collect)
    .option('--pause <COUNT@TIME:LENGTH[/EVERY]>', 'pause COUNT nodes at TIME for LENGTH, optionally again every EVERY, e.g. 2@30s:5s/20s (repeatable)', collect)
    .option('--partition <FRACTION@TIME:LENGTH>', 'cut FRACTION of the nodes from the rest at TIME for LENGTH, e.g. 0.3@40s:20s (repeatable)', collect)
    .option('--no-lifeguard', 'classic SWIM: no local health, fixed suspicion timeout')
    .option('--trace <FILE>', 'write one line per packet, stream, event and fault to FILE')
    .option('--json', 'print the report as JSON')
    .option('--kv-writes <RATE>', 'RATE key writes per virtual second on random nodes (sets and some deletes)')
    .option('--broadcasts <RATE>', 'RATE broadcasts per virtual second from random nodes')
    .option('--crdt-durable', 'with --crdt-ops: every node keeps its CRDT state in a simulated data directory, so a crashed node restarts with it (as with --data-dir)')
    .option('--crdt-ops <RATE>', 'RATE writes of replicated data types (counters, sets, registers, flags, maps) per virtual second on random nodes')
    .option('--aggregate <FUNCTIONS>', 'every node computes these aggregates of its value, e.g. avg,count or all; report: error per epoch, time to 1 %').option('--aggregate-mode <MODE>', 'push-pull (default) or push-sum').option('--aggregate-cycle <TIME>', 'aggregate cycle (default 1s)').option('--aggregate-epoch-cycles <N>', 'cycles per epoch (default 20)')
    .option('--membership-only', 'SWIM alone on every node (default: the whole stack a real node runs: Serf, broadcasts, cluster state, phi)')
    .option('--workload-window <TIME>', 'writes and broadcasts only during the first TIME of the chaos phase (default: all of --duration)')
    .option('--plot <FILE>', 'draw the time series (members seen alive, suspicions, dead declarations, bytes/s) to FILE.svg or FILE.png')
    .option('--membership <MODE>', "swim (default) or hyparview: partial views and Plumtree broadcasts (default 1000 nodes; report: overlay, broadcast)")
    .option('--fail <FRACTION@TIME>', 'hyparview: FRACTION of the live nodes crash at once at TIME, e.g. 0.5@200s (repeatable)', collect)
    .option('--shuffle-interval <TIME>', 'hyparview: SHUFFLE period (default 10s)')
    .option('--keepalive-interval <TIME>', 'hyparview: keep-alive ping period, timeout 5× it (default 1s; 0s: no pings, as the papers)')
    .option('--state-rounds <TIME>', 'hyparview: cluster state rounds to sampled peers this often (default off at scale)')
    .action(async (scenario: string | undefined, flags: RawSimFlags) => {
      // The simulator loads with the command that uses it, not with the agent.
      process.exitCode =
        scenario === undefined && flags.membership !== undefined && flags.membership !== 'swim'
          ? await (await import('./overlay-sim-command.js')).runOverlaySimCommand(flags, io)
          : scenario === undefined
          ? await (await import('./sim-command.js')).runSimCommand(flags, io)
          : await (await import('./scenario-command.js')).runScenarioFileCommand(scenario, flags, io, () => randomInt(0, 0x1_0000_0000))
    })

  program
    .command('demo')
    .description('a local cluster of real agents (default 5) that prints membership changes as they happen; --sim for the simulated demo')
    .option('--nodes <N>', 'number of agents (default 5; with --sim, simulated nodes, default 50)')
    .option('--base-port <PORT>', `gossip ports PORT.., HTTP ports PORT+${HTTP_OFFSET}.. (default ${DEFAULT_BASE_PORT}, free ports if taken); 0 for any free ports`)
    .addOption(new Option('--profile <PROFILE>', 'timing profile of the agents (default local)').choices(['local', 'lan']))
    .option('--sim', 'the simulated demo instead: 50 nodes in virtual time through a crash, a pause and a partition')
    .option('--seed <S>', 'with --sim: run seed (default 1)')
    .action(async (flags: { nodes?: string; basePort?: string; profile?: DemoProfile; sim?: boolean; seed?: string }) => {
      if (flags.sim === true) {
        const seed = parseSeed(flags.seed ?? '1')
        const nodes = parseCount(flags.nodes ?? '50', '--nodes', 'a node count like 50')
        process.exitCode = (await import('../demo/simulated.js')).runDemo({ seed, nodes }, io)
        return
      }
      if (flags.seed !== undefined) throw new UsageError('--seed: only the simulated demo takes a seed; add --sim')
      const nodes = parseCount(flags.nodes ?? '5', '--nodes', 'an agent count like 5')
      const basePort = flags.basePort === undefined ? undefined : parseCount(flags.basePort, '--base-port', 'a port like 7946, or 0 for any free ports', true)
      const { runDemoCluster } = await import('../demo/cluster.js')
      const code = await runDemoCluster({ nodes, basePort, profile: flags.profile ?? 'local' }, io)
      // The agents are gone and stdin is closed; exit now rather than wait for stray handles.
      process.exit(code)
    })

  addAgentCommand(program, io)
  addClientCommands(program, io)
  addLabCommand(program, io)
  addCrdtCommands(program, io)
  addAggregateCommands(program, io)
  return program
}

export async function main(argv: readonly string[]): Promise<number> {
  return runProgram(buildProgram(), argv)
}
