/**
 * `npm run bench` (node --expose-gc dist/bench/run.js [--quick]): the codec bench, the simulator
 * bench, the epidemic lab bench and the composed node's hyparview mode at scale (overlay-node.ts), printed as tables and written as JSON under bench/results/ (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { runCodecBench } from './codec.js'
import { formatSimBench, runSimBench, table } from './sim.js'
import { formatLabBench, runLabBench } from './lab.js'
import { OVERLAY_NODE_HEADER, overlayNodeRows, runOverlayNodeBench } from './overlay-node.js'

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick')
  const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function'
  console.log(`Grapevine bench${quick ? ' (quick)' : ''} — node ${process.version}${gcExposed ? '' : ' — heap figures need --expose-gc'}\n`)

  console.log('codec')
  const codec = await runCodecBench()
  console.log(
    table(
      ['case', 'ops/s', 'MB/s'],
      codec.map((r) => [r.name, Math.round(r.opsPerSec).toLocaleString('en-US'), r.mbPerSec === undefined ? '' : r.mbPerSec.toFixed(1)]),
    ),
  )

  console.log('\nsimulator (LAN profile, 0.5–5 ms one way, no faults; × = virtual seconds per wall second)')
  const sim = runSimBench({ quick, progress: (line) => process.stderr.write(`${line}\n`) })
  console.log(formatSimBench(sim))

  console.log('\nepidemic lab (grapevine lab) next to the simplest typed-array loop for the same model')
  const lab = await runLabBench({ quick, progress: (line) => process.stderr.write(`${line}\n`) })
  console.log(formatLabBench(lab))

  console.log("\nthe composed node with membership: 'hyparview' (grapevine sim --membership hyparview; × = virtual seconds per wall / CPU second; targets 10,000 nodes at ≥ 20×, ≤ 20 kB per node)")
  const overlayNode = runOverlayNodeBench({ quick, progress: (line) => process.stderr.write(`${line}\n`) })
  console.log(table(OVERLAY_NODE_HEADER, overlayNodeRows(overlayNode)))

  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = new URL(`bench-${stamp}.json`, dir)
  const body = JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, gcExposed, codec, sim, lab, overlayNode }, null, 2) + '\n'
  writeFileSync(file, body)
  writeFileSync(new URL('latest.json', dir), body)
  console.log(`\nresults written to bench/results/bench-${stamp}.json`)
}

await main()
