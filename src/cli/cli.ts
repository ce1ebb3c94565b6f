#!/usr/bin/env node
/**
 * The `grapevine` command's entry: the package's `bin`, `npm start`'s target, and what `grapevine-agent`'s bin runs.
 *
 *   argv ──▶ missingPackages(CLI_PACKAGES) ──none missing──▶ program(name): main(argv) ──▶ exit code
 *                    │                                          name: agent-program for `grapevine agent …` (only that
 *                    │                                          command), else program (every command); bundle/NAME.js
 *                    │                                          when built and not older than NAME.js, else NAME.js
 *                    │ some missing (a library-only install)
 *                    ▼
 *   agent-fetch.ts: the same command from grapevine-agent through `npm exec` (npm's cache, not the project),
 *                   or, with GRAPEVINE_AGENT_FETCH=0, one message naming them and `npm install grapevine-agent`, exit 2
 *
 * The program statically imports commander and prom-client (through the agent), so it is loaded only after
 * the check: a library install without them gets the message, never a module-resolution stack trace. Packages only
 * one command uses (the plots' vega, the lab's progress bar) are checked where they load (core/optional-package.ts).
 * The bundle (scripts/build-cli-bundle.mjs) is the same program in a few files instead of ~200 modules: an agent
 * starts on about a third less CPU. It is skipped when older than program.js (a bare `tsc` since the last build).
 */
import { realpathSync, statSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { missingPackages } from '../core/optional-package.js'

/** What every command of the CLI needs beyond the library: its argument parser, the agent's logs, metrics and config files. */
export const CLI_PACKAGES = ['commander', 'prom-client', 'yaml'] as const

/** Runs the command line `argv` (without node and the script) and returns the process's exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const missing = missingPackages(CLI_PACKAGES)
  if (missing.length > 0) {
    const { runThroughAgentPackage } = await import('./agent-fetch.js')
    return runThroughAgentPackage(argv, missing)
  }
  // V8's lite mode (the agent's --v8-lite-mode) saves memory only when set before the program loads (measured:
  // set after, it saved nothing); the agent's config validates the flag and the variable as any other switch.
  if (argv[0] === 'agent' && (argv.includes('--v8-lite-mode') || ['true', '1'].includes(process.env.GRAPEVINE_V8_LITE_MODE ?? ''))) setFlagsFromString('--lite-mode')
  const { main } = await program(argv[0] === 'agent' ? 'agent-program' : 'program')
  return main(argv)
}

/** `program` builds every command; `agent-program` only `grapevine agent` (what a daemon runs, loaded on less CPU). */
type ProgramName = 'program' | 'agent-program'
type Program = { main(argv: readonly string[]): Promise<number> }

/** The bundled program when it is at least as new as the modules it was built from; otherwise the modules. */
async function program(name: ProgramName): Promise<Program> {
  const bundle = new URL(`./bundle/${name}.js`, import.meta.url)
  const bundledMs = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs
  const builtMs = statSync(new URL(`./${name}.js`, import.meta.url), { throwIfNoEntry: false })?.mtimeMs
  if (bundledMs !== undefined && builtMs !== undefined && bundledMs >= builtMs) return (await import(bundle.href)) as Program
  return name === 'agent-program' ? import('./agent-program.js') : import('./program.js')
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
