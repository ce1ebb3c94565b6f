/**
 * `grapevine agent …` alone: the root command with only the `agent` subcommand, so the daemon neither loads nor
 * builds the other commands (the clients, sim, lab, crdt, aggregate: about 280 options). cli.ts picks this program
 * when the first argument is `agent`; anything else (help, --version, other commands) gets program.ts. The agent's
 * help, its flags and its usage errors are the same in both, since both register it with addAgentCommand.
 *
 *   grapevine agent [flags] ──▶ cli.ts ──▶ main(argv) ──▶ rootCommand() + addAgentCommand ──▶ runProgram ──▶ exit code
 */
import { addAgentCommand } from './agent-command.js'
import { io, rootCommand, runProgram } from './program-root.js'

export async function main(argv: readonly string[]): Promise<number> {
  const program = rootCommand()
  addAgentCommand(program, io)
  return runProgram(program, argv)
}
