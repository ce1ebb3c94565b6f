/**
 * `npx grapevine …` after `npm install grapevine` (the library alone): the command's packages are not in the
 * project, so the command runs from the agent package through npm's own cache instead, and the project stays lean.
 *
 *   cli.ts: missing CLI packages ──▶ fetchPolicy(env)
 *        │ GRAPEVINE_AGENT_FETCH=0, or already inside a fetched run ──▶ the message naming the packages, exit 2
 *        ▼
 *   npm exec --yes --package=grapevine-agent@<this version> -- grapevine-agent …argv
 *        │ stdio inherited, SIGINT/SIGTERM/SIGHUP passed on, GRAPEVINE_AGENT_FETCHED=1 in its environment
 *        ▼
 *   the child's exit code (npm cannot start: the message, exit 2)
 *
 * npm installs grapevine-agent (and the matching library) into its exec cache, not into the project: a service that
 * embeds the library never gets the CLI's packages in its node_modules or its image. The first run needs the
 * registry; an air-gapped site points `GRAPEVINE_AGENT_SPEC` at a mirror's version, a tarball or a directory.
 * Hand-written because it is a dozen lines around child_process: no package does "run my sibling package via npx".
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { AGENT_PACKAGE, MissingPackageError } from '../core/optional-package.js'
import { libraryVersion } from './package-version.js'

/** Set (to anything but empty) in the environment of the fetched run, so a broken agent install cannot loop. */
export const FETCHED_ENV = 'GRAPEVINE_AGENT_FETCHED'
/** `0`/`false`/`no`/`off`: never fetch; print what to install and exit 2. */
export const FETCH_ENV = 'GRAPEVINE_AGENT_FETCH'
/** The npm package spec to run instead of `grapevine-agent@<this version>`. */
export const SPEC_ENV = 'GRAPEVINE_AGENT_SPEC'

export type FetchPolicy = { readonly fetch: true; readonly spec: string } | { readonly fetch: false; readonly reason: string }

/** Whether a library-only install runs the command through npm exec, and with which package spec. */
export function fetchPolicy(env: NodeJS.ProcessEnv, version: string): FetchPolicy {
  if ((env[FETCHED_ENV] ?? '') !== '') {
    return { fetch: false, reason: `the ${AGENT_PACKAGE} package that npm exec installed still lacks them` }
  }
  const choice = (env[FETCH_ENV] ?? '').trim().toLowerCase()
  if (['0', 'false', 'no', 'off'].includes(choice)) return { fetch: false, reason: `${FETCH_ENV}=${env[FETCH_ENV]} turns fetching off` }
  const spec = (env[SPEC_ENV] ?? '').trim()
  return { fetch: true, spec: spec !== '' ? spec : `${AGENT_PACKAGE}@${version}` }
}

/** How to start npm: the npm that started us (npx sets npm_execpath), else `npm` from the PATH. */
function npmCommand(env: NodeJS.ProcessEnv): { command: string; prefix: string[]; shell: boolean } {
  const execPath = env['npm_execpath']
  if (execPath !== undefined && /npm-cli\.js$|npx-cli\.js$/.test(execPath)) {
    return { command: process.execPath, prefix: [execPath.replace(/npx-cli\.js$/, 'npm-cli.js')], shell: false }
  }
  return { command: 'npm', prefix: [], shell: process.platform === 'win32' }
}

/**
 * Runs `argv` as the command of the agent package through `npm exec`, or explains why not. Resolves to the exit code
 * the grapevine command should end with.
 */
export async function runThroughAgentPackage(argv: readonly string[], missing: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const notInstalled = new MissingPackageError('the grapevine command', missing).message
  const policy = fetchPolicy(env, libraryVersion())
  if (!policy.fetch) {
    process.stderr.write(`grapevine: ${notInstalled} (${policy.reason})\n`)
    return 2
  }
  process.stderr.write(
    `grapevine: this project has the grapevine library only (no ${missing.join(', ')}); running the command from ` +
      `${policy.spec} through npm exec, which keeps it in npm's cache, not in this project. ` +
      `${FETCH_ENV}=0 turns this off; npm install ${AGENT_PACKAGE} makes it local.\n`,
  )
  const npm = npmCommand(env)
  const child = spawn(npm.command, [...npm.prefix, 'exec', '--yes', `--package=${policy.spec}`, '--', AGENT_PACKAGE, ...argv], {
    stdio: 'inherit',
    env: { ...env, [FETCHED_ENV]: '1' },
    shell: npm.shell,
  })
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal)
  }
  for (const s of signals) process.on(s, forward)
  try {
    return await new Promise<number>((resolve) => {
      child.once('error', (err) => {
        process.stderr.write(`grapevine: could not start npm to run ${policy.spec} (${err.message}); ${notInstalled}\n`)
        resolve(2)
      })
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal !== null ? constants.signals[signal] : 0)))
    })
  } finally {
    for (const s of signals) process.off(s, forward)
  }
}
