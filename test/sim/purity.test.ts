// The simulator must be deterministic: no wall clock, no Math.random, no real timers or I/O inside
// src/runtime/sim, except the wall-clock measurement of a scenario's `wallMs` in scenario.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const SIM_DIR = join(root, 'src', 'runtime', 'sim')
const WALL_CLOCK_ALLOWED = new Set(['scenario.ts'])

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\s*\.\s*now\b|\bnew\s+Date\b|\bDate\s*\(/, 'the clock (Date)'],
  [/\bMath\s*\.\s*random\b/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'real timers'],
  [/\bprocess\s*\.|\bqueueMicrotask\s*\(/, 'the process'],
  [/\bfrom\s+['"]node:[^'"]+['"]|\brequire\s*\(|\bimport\s*\(/, 'I/O modules'],
]

function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``')
}

test('the simulator reads no wall clock and draws no unseeded randomness', () => {
  const files = readdirSync(SIM_DIR).filter((f) => f.endsWith('.ts'))
  assert.ok(files.includes('simulation.ts') && files.includes('network.ts'))
  const problems: string[] = []
  for (const file of files) {
    const lines = codeOnly(readFileSync(join(SIM_DIR, file), 'utf8')).split('\n')
    lines.forEach((line, i) => {
      for (const [re, what] of FORBIDDEN) if (re.test(line)) problems.push(`${file}:${i + 1} reaches for ${what}: ${line.trim()}`)
      if (/\bperformance\s*\./.test(line) && !WALL_CLOCK_ALLOWED.has(file)) problems.push(`${file}:${i + 1} reads the wall clock: ${line.trim()}`)
    })
  }
  assert.deepEqual(problems, [])
})
