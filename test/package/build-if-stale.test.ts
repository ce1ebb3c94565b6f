// `prepare` builds only when a source is newer than the last build, so the `npx grapevine` in a clone
// (npm exec installs the clone into its cache and runs prepare again) neither rebuilds the project
// nor removes dist/ under a running agent. Checked on a scratch project tree.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

const root = new URL('../../../', import.meta.url).pathname
const script = join(root, 'scripts', 'build-if-stale.mjs')
const check = (cwd: string): string => execFileSync(process.execPath, [script, '--check'], { cwd, encoding: 'utf8' }).trim()

test('a tree is stale until built, up to date after, and stale again when a source changes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-stale-'))
  mkdirSync(join(dir, 'src', 'agent'), { recursive: true })
  mkdirSync(join(dir, 'dist'))
  writeFileSync(join(dir, 'src', 'agent', 'a.ts'), 'export {}\n')
  writeFileSync(join(dir, 'package.json'), '{}\n')
  assert.equal(check(dir), 'stale: no build yet')
  execFileSync(process.execPath, [script, '--stamp'], { cwd: dir })
  const past = new Date(Date.now() - 60_000)
  utimesSync(join(dir, 'src', 'agent', 'a.ts'), past, past)
  utimesSync(join(dir, 'package.json'), past, past)
  assert.equal(check(dir), 'up to date')
  const later = new Date(Date.now() + 60_000)
  utimesSync(join(dir, 'src', 'agent', 'a.ts'), later, later)
  assert.equal(check(dir), `stale: ${join('src', 'agent', 'a.ts')}`)
})

test('prepare goes through the check and the build records its stamp', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  assert.equal(pkg.scripts.prepare, 'node scripts/build-if-stale.mjs')
  assert.match(pkg.scripts.build, /&& node scripts\/build-if-stale\.mjs --stamp$/)
  assert.equal(pkg.scripts.prepack, 'npm run build', 'a pack always builds')
})
