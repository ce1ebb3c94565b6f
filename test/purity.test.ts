// The protocol core must stay a pure state machine: no clock, timers, randomness, process or I/O.
// This scans the protocol folders' sources and fails on any such reach, with named exceptions for pure
// computations (node:zlib for crc32, node:crypto ciphers and hashes).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PROTOCOL_DIRS = ['src/core', 'src/wire', 'src/swim', 'src/serf', 'src/coordinates', 'src/stack', 'src/gossip', 'src/state', 'src/node', 'src/overlay', 'src/aggregation', 'src/crdt', 'src/pools', 'src/replication']
const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\s*\.\s*now\b|\bnew\s+Date\b|\bDate\s*\(/, 'the clock (Date)'],
  [/\bperformance\s*\./, 'the clock (performance)'],
  [/\bMath\s*\.\s*random\b/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'timers'],
  [/\bqueueMicrotask\s*\(|\bprocess\s*\./, 'the process'],
  [/\bfrom\s+['"]node:(?!zlib['"]|crypto['"])[^'"]+['"]|\brequire\s*\(|\bimport\s*\(/, 'I/O modules'],
  [/\bfetch\s*\(/, 'the network'],
]

function sources(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sources(p))
    else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

/** Removes comments and string contents so prose about timers does not trip the scan. */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``')
}

export function findImpurities(files: readonly string[]): string[] {
  const problems: string[] = []
  for (const file of files) {
    const lines = codeOnly(readFileSync(file, 'utf8')).split('\n')
    lines.forEach((line, i) => {
      for (const [re, what] of FORBIDDEN) {
        if (re.test(line)) problems.push(`${file.slice(root.length + 1)}:${i + 1} reaches for ${what}: ${line.trim()}`)
      }
    })
  }
  return problems
}

test('protocol folders never touch the clock, timers, randomness, process or I/O', () => {
  const files = PROTOCOL_DIRS.flatMap((d) => sources(join(root, d)))
  assert.ok(files.length >= 10, `expected protocol sources, found ${files.length}`)
  assert.deepEqual(findImpurities(files), [])
})

test('the purity scan does catch each forbidden reach (so it cannot pass vacuously)', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'purity-'))
  try {
    const samples = [
      'const t = Date.now()',
      'const p = performance.now()',
      'const r = Math.random()',
      'setTimeout(() => 1, 5)',
      'const e = process.env.X',
      "import { createSocket } from 'node:dgram'",
    ]
    samples.forEach((s, i) => writeFileSync(join(dir, `s${i}.ts`), s + '\n'))
    writeFileSync(join(dir, 'ok.ts'), "import { crc32 } from 'node:zlib'\n// setTimeout in a comment\n")
    const found = findImpurities(sources(dir))
    assert.equal(found.length, samples.length, found.join('\n'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the runtimes drive the composed node only: they import src/node (and src/pools, which composes several nodes), src/core and src/wire, never a protocol directly', () => {
  const allowed = new Set(['node', 'pools', 'core', 'wire', 'runtime'])
  const offenders: string[] = []
  for (const file of sources(join(root, 'src/runtime'))) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\bfrom\s+['"](\.\.?\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), m[1])
      const rel = target.slice(join(root, 'src').length + 1)
      const top = rel.split(/[\\/]/)[0]
      if (!allowed.has(top)) offenders.push(`${file.slice(root.length + 1)} imports ${m[1]}`)
    }
  }
  assert.deepEqual(offenders, [])
})
