/**
 * `npm run bench:package`: what `npm install` costs for a service that embeds the library and for an operator who
 * installs the agent. Packs both packages of this checkout (`grapevine` and `packages/agent`'s `grapevine-agent`),
 * installs each into an empty project from the tarballs (their dependencies from the registry), and reports:
 *
 *   pack (npm pack) ──▶ install into a fresh dir ──▶ count packages (npm ls --all) and bytes on disk
 *                                                └──▶ load the entry point: time and RSS of a started node / the CLI
 *
 * Targets of the lean split: the library at most 15 packages and 10 MB installed. Writes
 * bench/results/package-<timestamp>.json (gitignored). Needs the npm registry.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, lstatSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { table } from './sim.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Bytes of every file under `dir` (symlinks counted as links, not followed). */
function diskBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += diskBytes(path)
    else total += lstatSync(path).size
  }
  return total
}

type Footprint = { label: string; installs: string; packages: number; bytes: number; loadMs: number; rssMb: number }

function measure(label: string, tarballs: string[], probe: string): Footprint {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-pkg-'))
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', private: true, type: 'module' }))
    npm(['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], dir)
    const listed = npm(['ls', '--all', '--parseable', '--omit=dev'], dir).split('\n').filter((l) => l.includes('node_modules'))
    const packages = new Set(listed).size
    const bytes = diskBytes(join(dir, 'node_modules'))
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    if (run.status !== 0) throw new Error(`${label}: the probe failed: ${run.stderr}`)
    const { loadMs, rssMb } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { loadMs: number; rssMb: number }
    return { label, installs: tarballs.map((t) => t.split('/').pop()).join(' + '), packages, bytes, loadMs, rssMb }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const packDir = mkdtempSync(join(tmpdir(), 'grapevine-packs-'))
try {
  const pack = (cwd: string): string => join(packDir, (JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], cwd)) as Array<{ filename: string }>)[0]!.filename)
  const lib = pack(ROOT)
  const agent = pack(join(ROOT, 'packages', 'agent'))
  const libProbe = `const t = performance.now(); const { startNode } = await import('grapevine'); const loadMs = performance.now() - t
const n = await startNode({ name: 'probe', bind: '127.0.0.1:0' }); await new Promise((r) => setTimeout(r, 500))
console.log(JSON.stringify({ loadMs, rssMb: process.memoryUsage().rss / 2 ** 20 })); await n.shutdown()`
  const agentProbe = `const t = performance.now(); const { run } = await import('grapevine/cli'); const code = await run(['--version']); const loadMs = performance.now() - t
if (code !== 0) process.exit(code)
console.log(JSON.stringify({ loadMs, rssMb: process.memoryUsage().rss / 2 ** 20 }))`
  const rows = [measure('library (grapevine)', [lib], libProbe), measure('agent (grapevine-agent)', [lib, agent], agentProbe)]
  console.log(
    table(
      ['install', 'packages', 'MB on disk', 'import ms', 'RSS MB'],
      rows.map((r) => [r.label, String(r.packages), (r.bytes / 1e6).toFixed(1), r.loadMs.toFixed(0), r.rssMb.toFixed(1)]),
    ),
  )
  const lean = rows[0]!
  console.log(`\nlibrary target (≤ 15 packages, ≤ 10 MB): ${lean.packages <= 15 && lean.bytes <= 10e6 ? 'met' : 'NOT met'}`)
  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(new URL(`package-${stamp}.json`, dir), JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2))
  console.log(`results written to bench/results/package-${stamp}.json`)
} finally {
  rmSync(packDir, { recursive: true, force: true })
}
