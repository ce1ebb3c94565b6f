/**
 * The grapevine package's version, read from its package.json: what `grapevine --version` prints and which
 * grapevine-agent a library-only install runs (agent-fetch.ts).
 */
import { readFileSync } from 'node:fs'

/** This library's version; throws when its package.json cannot be read or has none. */
export function libraryVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  if (typeof pkg.version !== 'string') throw new Error('the grapevine package.json has no version')
  return pkg.version
}
