// `prepare`: build only when a source changed since the last build.
//
//   npm install (clone)          ─▶ prepare ─▶ stale? ─▶ npm run build ─▶ build stamps dist/.build-stamp
//   npx grapevine (in a clone)   ─▶ npm exec installs the clone into its cache ─▶ prepare again ─▶ up to date: nothing
//
// Without this, the first `npx grapevine …` in a clone rebuilt the whole project a second time
// (minutes on a busy machine) and removed dist/ under any agent running from it.
//
//   node scripts/build-if-stale.mjs            build when stale (the prepare hook)
//   node scripts/build-if-stale.mjs --stamp    record that dist/ was just built (end of `npm run build`)
//   node scripts/build-if-stale.mjs --check    print "up to date" or "stale: FILE", build nothing
//
// Stale means: no stamp, or a file under src/, web/, scripts/, test/ or bench/, or a tsconfig or
// package file, newer than the stamp. Works from the current directory (the project's root).
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const STAMP = join('dist', '.build-stamp')
const INPUTS = ['src', 'web', 'scripts', 'test', 'bench', 'tsconfig.json', 'package.json', 'package-lock.json']

/** The newest file under `path` (skipping dependencies and build output): [mtimeMs, path]. */
function newest(path) {
  if (!existsSync(path)) return [0, path]
  const st = statSync(path)
  if (!st.isDirectory()) return [st.mtimeMs, path]
  let best = [0, path]
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue
    const found = newest(join(path, entry))
    if (found[0] > best[0]) best = found
  }
  return best
}

function staleBecause() {
  if (!existsSync(STAMP)) return 'no build yet'
  const builtMs = statSync(STAMP).mtimeMs
  for (const input of INPUTS) {
    const [ms, file] = newest(input)
    if (ms > builtMs) return file
  }
  return undefined
}

const mode = process.argv[2]
if (mode === '--stamp') {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`)
} else {
  const why = staleBecause()
  if (mode === '--check') {
    console.log(why === undefined ? 'up to date' : `stale: ${why}`)
  } else if (why === undefined) {
    console.log('grapevine: dist/ is up to date with the sources; not rebuilding (npm run build forces it)')
  } else {
    const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { stdio: 'inherit' })
    process.exit(r.status ?? 1)
  }
}
