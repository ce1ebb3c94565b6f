/**
 * What every build of the `grapevine` program shares: the root command (name, description, version, how
 * usage mistakes print), the process's stdout/stderr as the commands' io, and how a parse ends in an exit code.
 *
 *   program.ts        root + every subcommand   (grapevine, grapevine --help, sim, lab, clients, …)
 *   agent-program.ts  root + `agent` only       (grapevine agent …: the daemon loads no other command's code)
 *        │
 *        ▼
 *   runProgram(program, argv) ──▶ commander parses and runs the action ──▶ exit code
 *        usage mistakes (CommanderError, UsageError) ──▶ 2; MissingPackageError, ClientError ──▶ 1, one message each
 */
import { Command, CommanderError } from 'commander'
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import { MissingPackageError } from '../core/optional-package.js'
import { ClientError } from './client.js'
import { libraryVersion } from './package-version.js'

export const io: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

function version(): string {
  try {
    return libraryVersion()
  } catch {
    return '0.0.0'
  }
}

/** The `grapevine` command with no subcommands yet. */
export function rootCommand(): Command {
  return new Command('grapevine')
    .description('Gossip toolkit: SWIM + Lifeguard membership on memberlist\'s wire, and a deterministic simulator')
    .version(version())
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
}

/** Parses `argv` (without node and the script), runs the chosen command and returns the process's exit code. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync(argv as string[], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (unknown option, missing value, …) or the help.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2
    }
    if (err instanceof UsageError || err instanceof MissingPackageError || err instanceof ClientError) {
      io.err(`grapevine: ${err.message}\n`)
      return err instanceof UsageError ? 2 : 1
    }
    throw err
  }
}
