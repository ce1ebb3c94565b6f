// The library a service embeds installs only what a running node needs. The agent's, CLI's, lab's and plots'
// packages are optional peers of `grapevine` and dependencies of `grapevine-agent`; a library-only install that
// runs the command runs it from grapevine-agent through `npm exec` (npm's cache, not the project), or, with fetching
// turned off, gets a message naming what to install. Checked on the built files: the import graph of each public
// entry (with a resolve hook), the two manifests, the CLI in a copy with only the library's dependencies (offline:
// the agent package is a local directory), and the list of files `npm pack` would ship.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
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

/** A copy of the built library with only its own dependencies, as `npm install grapevine` leaves a project. */
function libraryOnlyCopy(dir: string): string {
  const lib = join(dir, 'lib')
  cpSync(DIST_SRC, join(lib, 'dist', 'src'), { recursive: true })
  writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'grapevine', version: library.version, type: 'module' }))
  for (const name of Object.keys(library.dependencies ?? {})) {
    mkdirSync(join(lib, 'node_modules', name, '..'), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules', name), join(lib, 'node_modules', name), 'dir')
  }
  return lib
}

/** The agent package as a local directory npm exec can run offline: its manifest and bin, the library it runs. */
function agentDirectory(dir: string): string {
  const agentDir = join(dir, 'agent')
  cpSync(join(ROOT, 'packages', 'agent'), agentDir, { recursive: true })
  mkdirSync(join(agentDir, 'node_modules'))
  symlinkSync(ROOT, join(agentDir, 'node_modules', 'grapevine'), 'dir')
  return agentDir
}

test('the command in a library-only install, with fetching off, names the missing packages and the agent package, exit 2, without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-lean-'))
  try {
    const lib = libraryOnlyCopy(dir)
    const run = spawnSync(process.execPath, [join(lib, 'dist', 'src', 'cli', 'cli.js'), 'members'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, GRAPEVINE_AGENT_FETCH: '0' },
    })
    assert.equal(run.status, 2, run.stderr)
    assert.match(run.stderr, /needs the packages commander, prom-client, yaml/)
    assert.match(run.stderr, /npm install grapevine-agent/)
    assert.match(run.stderr, /GRAPEVINE_AGENT_FETCH=0 turns fetching off/)
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    // The library itself still works there: a node starts and stops.
    const started = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const { startNode } = await import(${JSON.stringify(join(lib, 'dist', 'src', 'index.js'))}); const n = await startNode({ name: 'lean', bind: '127.0.0.1:0' }); await n.shutdown(); console.log('ok')`],
      { encoding: 'utf8', timeout: 60_000 },
    )
    assert.equal(started.status, 0, started.stderr)
    assert.match(started.stdout, /ok/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('npx grapevine in a project that installed only the library runs the command from the agent package through npm exec, exit code and all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-npx-'))
  try {
    const lib = libraryOnlyCopy(dir)
    const agentDir = agentDirectory(dir)
    // A project with `grapevine` in node_modules and its bin linked, as `npm install grapevine` leaves it.
    const project = join(dir, 'project')
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'service', version: '1.0.0', dependencies: { grapevine: library.version } }))
    symlinkSync(lib, join(project, 'node_modules', 'grapevine'), 'dir')
    symlinkSync(join('..', 'grapevine', 'dist', 'src', 'cli', 'cli.js'), join(project, 'node_modules', '.bin', 'grapevine'))
    chmodSync(join(lib, 'dist', 'src', 'cli', 'cli.js'), 0o755) // as npm install makes a bin executable
    const env: NodeJS.ProcessEnv = { ...process.env, GRAPEVINE_AGENT_SPEC: agentDir, npm_config_cache: join(dir, 'npm-cache'), npm_config_update_notifier: 'false' }
    delete env['GRAPEVINE_AGENT_FETCH']
    delete env['GRAPEVINE_AGENT_FETCHED']
    const version = spawnSync('npx', ['--no-install', 'grapevine', '--version'], { cwd: project, encoding: 'utf8', timeout: 120_000, env })
    assert.equal(version.status, 0, version.stderr)
    assert.equal(version.stdout.trim(), library.version)
    assert.match(version.stderr, /running the command from .* through npm exec/)
    // The command's own failure comes back as its exit code: no agent listens on port 1.
    const members = spawnSync('npx', ['--no-install', 'grapevine', 'members', '--http', '127.0.0.1:1'], { cwd: project, encoding: 'utf8', timeout: 120_000, env })
    assert.equal(members.status, 1, members.stderr)
    assert.match(members.stderr, /cannot reach the agent at http:\/\/127\.0\.0\.1:1/)
    // Nothing was installed into the project.
    assert.deepEqual(readdirSync(join(project, 'node_modules')).sort(), ['.bin', 'grapevine'])
    // An agent package that still lacks the command's packages cannot send it round in a loop.
    const loop = spawnSync(process.execPath, [join(lib, 'dist', 'src', 'cli', 'cli.js'), '--version'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...env, GRAPEVINE_AGENT_FETCHED: '1' },
    })
    assert.equal(loop.status, 2, loop.stderr)
    assert.match(loop.stderr, /that npm exec installed still lacks them/)
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
