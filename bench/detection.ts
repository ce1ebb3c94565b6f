// Failure-detection times per profile and cluster size, from the simulator (the README's table).
// Run: npm run build && node dist/bench/detection.js [--quick]
import { mkdirSync, writeFileSync } from 'node:fs'
import { runScenario } from '../src/runtime/sim/index.js'
import type { Profile } from '../src/swim/config.js'
import { resolveConfig } from '../src/swim/config.js'
import { suspicionTimeoutMs } from '../src/swim/formulas.js'

const quick = process.argv.includes('--quick')
const sizes = quick ? [10, 50] : [10, 50, 200]
const seeds = quick ? [1] : [1, 2, 3]
const rows: Array<Record<string, string | number>> = []
for (const profile of ['lan', 'local', 'wan'] as Profile[]) {
  const c = resolveConfig({}, profile)
  for (const n of sizes) {
    const crashAt = profile === 'wan' ? 120_000 : 40_000
    const ds = seeds.map((seed) => runScenario({ seed, nodes: n, profile, durationMs: crashAt + (profile === 'wan' ? 240_000 : 60_000), steps: [{ kind: 'crash', count: 1, atMs: crashAt }] }).detection[0])
    const mean = (k: 'firstSuspicionMs' | 'firstDeadMs' | 'deadEverywhereMs'): number => ds.reduce((a, d) => a + (d[k] ?? Number.NaN), 0) / ds.length / 1000
    const min = suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs) / 1000
    rows.push({
      profile,
      nodes: n,
      firstSuspicionS: +mean('firstSuspicionMs').toFixed(1),
      firstDeadS: +mean('firstDeadMs').toFixed(1),
      deadEverywhereS: +mean('deadEverywhereMs').toFixed(1),
      suspicionMinS: +min.toFixed(1),
      suspicionMaxS: +(min * c.suspicionMaxTimeoutMult).toFixed(1),
    })
  }
}
console.table(rows)
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/detection.json', JSON.stringify({ seeds, rows }, null, 2))
