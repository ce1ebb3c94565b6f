// Writes the package.json of the agent's container image to the path given: the library's own dependencies plus
// the packages every command of the CLI needs (CLI_PACKAGES of the built cli.js), at the ranges the library
// declares for them as optional peers, so `npm install --omit=dev` with the repository's lockfile installs exactly
// the locked versions. LMDB comes too, for the agent's --data-dir (the replicated data types' store). The plots' and
// the lab's packages stay out: the image runs the agent.
import { readFileSync, writeFileSync } from 'node:fs'

const out = process.argv[2]
if (out === undefined) {
  process.stderr.write('usage: node scripts/image-manifest.mjs OUT/package.json (after npm run build)\n')
  process.exit(2)
}
const { CLI_PACKAGES } = await import(new URL('../dist/src/cli/cli.js', import.meta.url).href)
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const dependencies = { ...pkg.dependencies }
for (const name of [...CLI_PACKAGES, 'lmdb']) {
  const range = pkg.peerDependencies?.[name]
  if (range === undefined) throw new Error(`${name} is a CLI package but not an optional peer of the library`)
  dependencies[name] = range
}
const { devDependencies, peerDependencies, peerDependenciesMeta, scripts, ...rest } = pkg
void devDependencies, peerDependencies, peerDependenciesMeta, scripts
writeFileSync(out, JSON.stringify({ ...rest, dependencies }, null, 2) + '\n')
