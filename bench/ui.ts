/**
 * The live dashboard at a large cluster (`npm run bench:ui [-- --members 1000]`): one agent with its
 * HTTP API and N − 1 more real nodes (startNode; state rounds and broadcast repair off) in two worker
 * threads on loopback, joining in waves; then Debian's chromium (playwright-core) opens the agent's /ui and we measure how long the
 * page takes to list every member, how smooth scrolling the member table is (frame times while it
 * scrolls), how many rows the table keeps in the page, and that the console stays free of errors.
 * Prints a table and writes JSON to bench/results/ui-<timestamp>.json. Needs /usr/bin/chromium (or
 * CHROMIUM_PATH).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { chromium } from 'playwright-core'
import { Agent } from '../src/agent/agent.js'
import { resolveAgentConfig } from '../src/agent/config.js'
import { startNode } from '../src/index.js'
import type { GrapevineNode } from '../src/index.js'
import { table } from './sim.js'

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const MEMBERS = Number(arg('--members') ?? 1000)
/** Nodes joining at once. All share 127.0.0.1, and the agent admits 64 stream connections at once per source IP, then 32 a second. */
const WAVE = 25
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Runs in a worker thread: starts `count` nodes from `first`, joining `seed` in waves; reports progress. */
async function filler(first: number, count: number, seed: string): Promise<void> {
  const nodes: GrapevineNode[] = []
  for (let i = first; i < first + count; i += WAVE) {
    const wave = Array.from({ length: Math.min(WAVE, first + count - i) }, async (_, k) => {
      // Members only need to be alive and gossip: state rounds and broadcast repair off, to fit 1,000 nodes on two cores.
      const node = await startNode({
        name: `m-${String(i + k).padStart(4, '0')}`, bind: '127.0.0.1:0', profile: 'lan', tags: { role: (i + k) % 3 === 0 ? 'db' : 'web' },
        state: { roundIntervalMs: 0 }, broadcast: { repairIntervalMs: 0 },
      })
      for (let attempt = 1; ; attempt++) {
        try {
          await node.join([seed])
          return node
        } catch (e) {
          if (attempt === 20) throw e
          await new Promise((r) => setTimeout(r, 500 * attempt))
        }
      }
    })
    nodes.push(...(await Promise.all(wave)))
    parentPort?.postMessage({ started: nodes.length })
    await new Promise((r) => setTimeout(r, 1000))
  }
  parentPort?.postMessage({ done: true })
  await new Promise<void>((resolve) => parentPort?.on('message', () => resolve()))
  await Promise.all(nodes.map((n) => n.shutdown()))
  parentPort?.postMessage({ stopped: true })
}

async function main(): Promise<void> {
  const t0 = performance.now()
  const config = resolveAgentConfig({ name: 'ui-agent', bind: '127.0.0.1:0', http: '127.0.0.1:0', profile: 'lan', logLevel: 'silent' }, {}, () => '{}')
  const agent = await Agent.start(config)
  const seed = `127.0.0.1:${agent.node.port}`
  // Two worker threads host the other members, one event loop each (two cores).
  const half = Math.ceil((MEMBERS - 1) / 2)
  const parts = [[1, half], [1 + half, MEMBERS - 1 - half]] as const
  const started = [0, 0]
  const workers = parts.map(([first, count], w) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { first, count, seed } })
    worker.on('message', (m: { started?: number }) => {
      if (m.started !== undefined) started[w] = m.started
      process.stderr.write(`\rui bench: ${started[0] + started[1] + 1}/${MEMBERS} nodes started`)
    })
    return worker
  })
  const stopWorkers = async (): Promise<void> => {
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      w.on('message', (m: { stopped?: boolean }) => m.stopped === true && resolve())
      w.on('exit', () => resolve())
      w.postMessage('stop')
    })))
    await Promise.all(workers.map((w) => w.terminate()))
  }
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.on('message', (m: { done?: boolean }) => m.done === true && resolve())
      w.on('error', reject)
    })))
    const startedMs = performance.now() - t0
    process.stderr.write('\n')
    const deadline = Date.now() + 180_000
    while (agent.node.members().filter((m) => m.state === 'alive').length < MEMBERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500))
    const aliveAtAgent = agent.node.members().filter((m) => m.state === 'alive').length
    const convergedMs = performance.now() - t0
    process.stderr.write(`ui bench: ${aliveAtAgent} of ${MEMBERS} alive at the agent after ${(convergedMs / 1000).toFixed(0)} s\n`)

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
    const errors: string[] = []
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text())
      })
      page.on('pageerror', (e) => errors.push(e.message))
      const load0 = performance.now()
      await page.goto(`http://${agent.httpAddress}/ui/`)
      // The summary cards count members (the table itself is virtualized): wait until the page's alive
      // count is the agent's own.
      const pageAlive = async (): Promise<number> =>
        Number(await page.evaluate(`(/(^|\\n)(\\d+)\\s*\\n\\s*alive/.exec(document.body.innerText) ?? [])[2] ?? -1`))
      let shown = -1
      const limit = Date.now() + 90_000
      while (Date.now() < limit) {
        shown = await pageAlive()
        if (shown === agent.node.members().filter((m) => m.state === 'alive').length) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const listedMs = performance.now() - load0
      process.stderr.write(`ui bench: the page lists ${shown} alive, the agent ${agent.node.members().filter((m) => m.state === 'alive').length}\n`)
      const rowsInDom = await page.$$eval('.vbody .vrow', (r) => r.length)
      // Scroll the member table from top to bottom and measure frame times in the page.
      const frames = (await page.evaluate(`(async () => {
        const scroller = document.querySelector('.vbody')
        if (scroller === null) return { frames: [], scrolled: 0 }
        const times = []
        let last = performance.now()
        for (let i = 0; i <= 120; i++) {
          scroller.scrollTop = (scroller.scrollHeight * i) / 120
          await new Promise((r) => requestAnimationFrame(() => r(undefined)))
          const now = performance.now()
          times.push(now - last)
          last = now
        }
        return { frames: times, scrolled: scroller.scrollHeight }
      })()`)) as { frames: number[]; scrolled: number }
      // Let gossip dots and events stream for a few seconds, and measure frame times meanwhile.
      const idle = (await page.evaluate(`(async () => {
        const times = []
        let last = performance.now()
        const end = last + 3000
        while (performance.now() < end) {
          await new Promise((r) => requestAnimationFrame(() => r(undefined)))
          const now = performance.now()
          times.push(now - last)
          last = now
        }
        return times
      })()`)) as number[]
      const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)
      const p = (xs: number[], q: number): number => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN
      const result = {
        members: MEMBERS,
        aliveAtAgent,
        startedS: startedMs / 1000,
        convergedS: convergedMs / 1000,
        pageListedAllMs: listedMs,
        rowsInDom,
        scrollHeightPx: frames.scrolled,
        scrollFrameMsP50: p(frames.frames, 0.5),
        scrollFrameMsP95: p(frames.frames, 0.95),
        liveFrameMsP50: p(idle, 0.5),
        liveFrameMsP95: p(idle, 0.95),
        liveFps: idle.length / 3,
        consoleErrors: errors,
      }
      await page.screenshot({ path: 'bench/results/ui-1000.png' })
      console.log(`\nlive dashboard at ${MEMBERS} members (one agent, ${MEMBERS - 1} nodes in this process, chromium)`)
      console.log(
        table(
          ['measure', 'value'],
          [
            ['members alive at the agent', `${aliveAtAgent} / ${MEMBERS}`],
            ['nodes started / all alive at the agent', `${result.startedS.toFixed(1)} s / ${result.convergedS.toFixed(1)} s`],
            ['page load to every member listed', `${listedMs.toFixed(0)} ms (${shown} alive shown)`],
            ['table rows in the page (virtualized)', String(rowsInDom)],
            ['scrolling the table: frame p50 / p95', `${result.scrollFrameMsP50.toFixed(1)} / ${result.scrollFrameMsP95.toFixed(1)} ms`],
            ['live (events streaming): frame p50 / p95, fps', `${result.liveFrameMsP50.toFixed(1)} / ${result.liveFrameMsP95.toFixed(1)} ms, ${result.liveFps.toFixed(0)}`],
            ['console errors', String(errors.length)],
          ],
        ),
      )
      mkdirSync('bench/results', { recursive: true })
      const file = `bench/results/ui-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
      writeFileSync(file, JSON.stringify(result, null, 2))
      console.log(`results written to ${file}`)
    } finally {
      await browser.close()
    }
  } finally {
    await stopWorkers()
    await agent.stop({ leave: false })
  }
}

if (isMainThread) {
  await main()
  process.exit(0)
} else {
  const d = workerData as { first: number; count: number; seed: string }
  await filler(d.first, d.count, d.seed)
}
