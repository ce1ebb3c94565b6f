#!/usr/bin/env node
/**
 * The `grapevine` command's entry: the package's `bin`, `npm start`'s target, and what `grapevine-agent`'s bin runs.
 *
 *   argv ──▶ missingPackages(CLI_PACKAGES) ──none missing──▶ import('./program.js').main(argv) ──▶ exit code
 *                    │ some missing (a library-only install)
 *                    ▼
 *   agent-fetch.ts: the same command from grapevine-agent through `npm exec` (npm's cache, not the project),
 *                   or, with GRAPEVINE_AGENT_FETCH=0, one message naming them and `npm install grapevine-agent`, exit 2
 *
 * The program statically imports commander, pino and prom-client (through the agent), so it is loaded only after
 * the check: a library install without them gets the message, never a module-resolution stack trace. Packages only
 * one command uses (the plots' vega, the lab's progress bar) are checked where they load (core/optional-package.ts).
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { missingPackages } from '../core/optional-package.js'

/** What every command of the CLI needs beyond the library: its argument parser, the agent's logs, metrics and config files. */
export const CLI_PACKAGES = ['commander', 'pino', 'prom-client', 'yaml'] as const

/** Runs the command line `argv` (without node and the script) and returns the process's exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const missing = missingPackages(CLI_PACKAGES)
  if (missing.length > 0) {
    const { runThroughAgentPackage } = await import('./agent-fetch.js')
    return runThroughAgentPackage(argv, missing)
  }
  const { main } = await import('./program.js')
  return main(argv)
}

/** True when this file is the process's entry point (directly or through the npm bin link). */
function isEntryPoint(): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return pathToFileURL(realpathSync(entry)).href === import.meta.url
  } catch {
    return false
  }
}

if (isEntryPoint()) process.exitCode = await run(process.argv.slice(2))
