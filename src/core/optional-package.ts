/**
 * Optional packages: the ones only the agent, the CLI, the lab or the plots use. A service that embeds the library
 * installs none of them; they are optional peer dependencies of `grapevine` and regular dependencies of
 * `grapevine-agent`. Code that needs one loads it on first use through here:
 *
 *   feature ── importOptional('vega', 'sim --plot', () => import('vega')) ──▶ the module
 *                      │ not installed
 *                      ▼
 *   MissingPackageError: "sim --plot needs the package vega, which ... npm install grapevine-agent (or: npm install vega)"
 *
 * `missingPackages` answers the same question without loading anything (the CLI's entry asks it before it loads the
 * program). Any other failure of a present package propagates unchanged.
 */

/** The one command that brings every optional package at once. */
export const AGENT_PACKAGE = 'grapevine-agent'

export class MissingPackageError extends Error {
  constructor(
    readonly feature: string,
    readonly packages: readonly string[],
  ) {
    const what = packages.length === 1 ? `the package ${packages[0]}` : `the packages ${packages.join(', ')}`
    super(
      `${feature} needs ${what}, which an install of the grapevine library alone leaves out; ` +
        `install the agent (npm install ${AGENT_PACKAGE}) or just ${packages.length === 1 ? 'that package' : 'those packages'} ` +
        `(npm install ${packages.join(' ')})`,
    )
    this.name = 'MissingPackageError'
  }
}

/** True when `err` says that the package `name` itself (not something inside it) cannot be found. */
export function isMissingPackage(err: unknown, name: string): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`))
}

/** Loads an optional package through `load` (a literal `import('name')`, so types follow), naming it when absent. */
export async function importOptional<T>(name: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load()
  } catch (err) {
    if (isMissingPackage(err, name)) throw new MissingPackageError(feature, [name])
    throw err
  }
}

/** The packages of `names` that cannot be resolved from this package's location; loads none of them. */
export function missingPackages(names: readonly string[]): string[] {
  return names.filter((name) => {
    try {
      import.meta.resolve(name)
      return false
    } catch {
      return true
    }
  })
}
