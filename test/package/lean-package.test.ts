// The library a service embeds installs only what a running node needs. The agent's, CLI's, lab's and plots'
// packages are optional peers of `grapevine` and dependencies of `grapevine-agent`; a library-only install that
// runs the command gets a message naming what to install. Checked on the built files: the import graph of each
// public entry (with a resolve hook), the two manifests, the CLI in a copy with only the library's dependencies,
// and the list of files `npm pack` would ship.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const DIST_SRC = join(ROOT, 'dist', 'src')
type Manifest = {
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  devDependencies?: Record<string, string>
  exports?: Record<string, string>
  version: string
}
const manifest = (path: string): Manifest => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as Manifest
const library = manifest('package.json')
const agent = manifest('packages/agent/package.json')

/** The packages (by name) that importing `entry` loads from node_modules. */
function packagesLoadedBy(entry: string): string[] {
  const hooks = `export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); const i = r.url.lastIndexOf('/node_modules/'); if (i >= 0) { const p = r.url.slice(i + 14).split('/'); process.stderr.write('PKG ' + (p[0].startsWith('@') ? p[0] + '/' + p[1] : p[0]) + '\\n') } return r }`
  const register = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(hooks))})`
  const run = spawnSync(process.execPath, ['--import', 'data:text/javascript,' + encodeURIComponent(register), '--input-type=module', '-e', `await import(${JSON.stringify(entry)})`], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(run.status, 0, run.stderr)
  return [...new Set(run.stderr.split('\n').filter((l) => l.startsWith('PKG ')).map((l) => l.slice(4)))].sort()
}

test('importing the library, grapevine/sim or grapevine/wire loads no package beyond the library dependencies', () => {
  const allowed = Object.keys(library.dependencies ?? {})
  for (const entry of ['index.js', 'runtime/sim/index.js', 'wire/index.js']) {
    const loaded = packagesLoadedBy(join(DIST_SRC, entry))
    assert.deepEqual(loaded.filter((p) => !allowed.includes(p)), [], `${entry} loads packages that a library install does not have`)
  }
})

test('the library depends on at most a handful of packages; every optional one is an optional peer, and the agent package brings them all', () => {
  assert.ok(Object.keys(library.dependencies ?? {}).length <= 3, `library dependencies: ${Object.keys(library.dependencies ?? {}).join(', ')}`)
  for (const [name, range] of Object.entries(library.peerDependencies ?? {})) {
    assert.equal(library.peerDependenciesMeta?.[name]?.optional, true, `${name} is a peer dependency but not marked optional`)
    assert.equal(library.devDependencies?.[name], range, `${name}: a clone must install the same range as a development dependency`)
    assert.equal(agent.dependencies?.[name], range, `${name}: grapevine-agent must depend on the same range`)
  }
  assert.equal(agent.dependencies?.['grapevine'], library.version, 'grapevine-agent depends on exactly this version of the library')
  const extra = Object.keys(agent.dependencies ?? {}).filter((n) => n !== 'grapevine' && library.peerDependencies?.[n] === undefined)
  assert.deepEqual(extra, [], 'grapevine-agent depends on packages the library does not know as optional peers')
  assert.equal(library.exports?.['./package.json'], './package.json')
  assert.equal(library.exports?.['./cli'], './dist/src/cli/cli.js')
})

test('the command in a library-only install names the missing packages and the agent package, exit 2, without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-lean-'))
  try {
    cpSync(DIST_SRC, join(dir, 'dist', 'src'), { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'grapevine', version: library.version, type: 'module' }))
    mkdirSync(join(dir, 'node_modules'))
    for (const name of Object.keys(library.dependencies ?? {})) {
      const target = join(ROOT, 'node_modules', name)
      mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true })
      symlinkSync(target, join(dir, 'node_modules', name), 'dir')
    }
    const run = spawnSync(process.execPath, [join(dir, 'dist', 'src', 'cli', 'cli.js'), 'members'], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(run.status, 2, run.stderr)
    assert.match(run.stderr, /needs the packages commander, pino, prom-client, yaml/)
    assert.match(run.stderr, /npm install grapevine-agent/)
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    // The library itself still works there: a node starts and stops.
    const lib = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const { startNode } = await import(${JSON.stringify(join(dir, 'dist', 'src', 'index.js'))}); const n = await startNode({ name: 'lean', bind: '127.0.0.1:0' }); await n.shutdown(); console.log('ok')`],
      { encoding: 'utf8', timeout: 60_000 },
    )
    assert.equal(lib.status, 0, lib.stderr)
    assert.match(lib.stdout, /ok/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the packed library ships its LICENSE and no source maps', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path)
  assert.ok(files.includes('LICENSE'), 'LICENSE is shipped')
  assert.ok(files.includes('package.json'))
  assert.ok(files.includes('dist/src/index.js'))
  assert.ok(files.includes('dist/web/index.html'), 'the dashboard is shipped')
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps')
  assert.deepEqual(files.filter((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.startsWith('src/')), [])
})
