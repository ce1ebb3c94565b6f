// The dashboard in a real browser (playwright-core driving Debian's chromium): `grapevine demo` with 4
// real agents, the page at the demo's dashboard address sees every member alive in every node's view,
// pauses and resumes node-2 (suspected, then alive at a higher incarnation), kills node-3 with its chaos control and sees it failed in every other node's view and on an
// agent's own page with the keyboard, partitions node-4 and heals it, sets packet loss, then opens a
// replay of a `grapevine sim --trace` file and scrubs to the end, runs a scenario from the page's form
// and from a scenario file.
// Any console error fails the test.
// Screenshots go to test-artifacts/dashboard/ (gitignored).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { chromium } from 'playwright-core'
import { CHROMIUM, requireChromium } from './browser.js'
import type { Page } from 'playwright-core'
import { waitUntil } from '../interop/serf-harness.js'

const CLI = fileURLToPath(new URL('../../src/cli/cli.js', import.meta.url))
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/dashboard/', import.meta.url))
const NODES = ['node-1', 'node-2', 'node-3', 'node-4']

/** Each observer's view of `member` as the views matrix shows it. */
function cells(page: Page, member: string): Promise<Record<string, string>> {
  return page.$$eval(`table.matrix tr[data-observer] td[data-member="${member}"]`, (tds) =>
    Object.fromEntries(tds.map((td) => [td.parentElement?.getAttribute('data-observer'), td.getAttribute('data-state')])))
}

test('the dashboard shows a real cluster in chromium, kills a node from the chaos controls and replays a trace', { timeout: 90_000 }, async (t) => {
  if (!requireChromium(t)) return
  mkdirSync(ARTIFACTS, { recursive: true })
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'grapevine-dashboard-'))
  const trace = path.join(tmp, 'crash.trace')
  const sim = spawnSync(process.execPath, [CLI, 'sim', '--nodes', '30', '--seed', '11', '--duration', '20s', '--crash', '1@5s', '--trace', trace], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(sim.status, 0, sim.stderr)

  const demo = spawn(process.execPath, [CLI, 'demo', '--nodes', String(NODES.length), '--base-port', '0'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()))
  demo.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const detail = (): string => out.slice(-3000)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
  const problems: string[] = []
  try {
    await waitUntil('the demo prints the dashboard address', () => /Dashboard .*: (http:\S+)/.test(out), 40_000, detail, 100)
    const url = /Dashboard .*: (http:\S+)/.exec(out)![1]
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    await page.goto(url)

    // Every member appears, alive, in every node's view, and in the member table.
    const allAlive = async (): Promise<boolean> => {
      for (const m of NODES) {
        const c = await cells(page, m)
        if (NODES.some((o) => c[o] !== 'alive')) return false
      }
      return true
    }
    await waitUntil('every node sees every member alive', allAlive, 30_000, detail, 200)
    const rows = await page.$$eval('.vbody .vrow', (r) => r.map((e) => e.getAttribute('data-key')))
    assert.deepEqual(rows, NODES)
    await page.getByRole('tab', { name: 'Gossip rounds' }).click()
    await page.waitForSelector('.drill table.list tbody tr', { timeout: 10_000 })
    await page.screenshot({ path: path.join(ARTIFACTS, '1-live.png') })

    // Pause node-2: node-1 suspects it; resume it: it refutes (or, if declared failed by then, rejoins)
    // with a higher incarnation, alive again everywhere.
    await page.getByRole('button', { name: 'pause node-2' }).click()
    await waitUntil('node-1 suspects node-2', async () => ['suspect', 'dead'].includes((await cells(page, 'node-2'))['node-1']), 20_000, detail, 100)
    await page.getByRole('button', { name: 'resume node-2' }).click()
    const observer = page.getByRole('combobox', { name: 'observer node' })
    const incarnationOfNode2 = async (): Promise<number> => Number(await page.textContent('.vbody .vrow[data-key="node-2"] [role=gridcell]:nth-child(3)'))
    await waitUntil('node-2 is alive again in every view, at a higher incarnation', async () => {
      const c = await cells(page, 'node-2')
      return NODES.every((o) => c[o] === 'alive') && (await incarnationOfNode2()) >= 2
    }, 30_000, detail, 200)
    await observer.selectOption('node-2')
    assert.ok((await incarnationOfNode2()) >= 2, 'node-2 knows its own new incarnation')
    await observer.selectOption('node-1')

    // Kill node-3 from the chaos controls: every other view turns it failed.
    await page.getByRole('button', { name: 'kill node-3' }).click()
    await waitUntil('node-3 is failed in every other node\'s view', async () => {
      const c = await cells(page, 'node-3')
      return NODES.filter((o) => o !== 'node-3').every((o) => c[o] === 'dead') && c['node-3'] === 'offline'
    }, 40_000, detail, 200)
    await page.getByRole('tab', { name: 'Suspicions' }).click()
    await observer.selectOption('node-2')
    await page.waitForSelector('.vbody .vrow[data-key="node-3"].member-dead', { timeout: 10_000 })
    await page.waitForSelector('.drill table.list td:has-text("node-3")', { timeout: 10_000 })
    await page.screenshot({ path: path.join(ARTIFACTS, '2-killed.png') })

    // The same from an agent's own page (no demo around it): node-1's /ui shows node-3 failed.
    const cluster = (await (await fetch(new URL('/demo/api/cluster', url))).json()) as { nodes: Array<{ name: string; http: string }> }
    const agentPage = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    agentPage.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console (agent page): ${m.text()}`)
    })
    agentPage.on('pageerror', (e) => problems.push(`page error (agent page): ${e.message}`))
    await agentPage.goto(`http://${cluster.nodes[0].http}/ui/`)
    await agentPage.waitForSelector('.vbody .vrow[data-key="node-3"].member-dead', { timeout: 10_000 })
    // Keyboard: focus the table, move down to node-2, select it with Enter.
    await agentPage.focus('.vbody .vrow[data-index="0"]')
    await agentPage.keyboard.press('ArrowDown')
    await agentPage.keyboard.press('Enter')
    await agentPage.waitForSelector('.vbody .vrow[data-key="node-2"][aria-selected="true"]', { timeout: 5_000 })
    await agentPage.screenshot({ path: path.join(ARTIFACTS, '3-agent.png') })
    await agentPage.close()

    // Partition node-4 from the chaos controls: node-1 and node-2 see it failed; heal: alive again.
    await page.getByRole('checkbox', { name: 'put node-4 in the partitioned group' }).check()
    await page.getByRole('button', { name: 'Partition checked nodes' }).click()
    await waitUntil('node-1 and node-2 see node-4 failed', async () => {
      const c = await cells(page, 'node-4')
      return c['node-1'] === 'dead' && c['node-2'] === 'dead'
    }, 30_000, detail, 200)
    await page.screenshot({ path: path.join(ARTIFACTS, '4-partition.png') })
    await page.getByRole('button', { name: 'Heal partition' }).click()
    await waitUntil('node-1, node-2 and node-4 see each other alive again', async () => {
      for (const m of ['node-1', 'node-2', 'node-4']) {
        const c = await cells(page, m)
        if (['node-1', 'node-2', 'node-4'].some((o) => c[o] !== 'alive')) return false
      }
      return true
    }, 30_000, detail, 200)
    await page.getByRole('slider', { name: 'packet loss percent' }).fill('20')
    await page.getByRole('button', { name: 'Apply loss' }).click()
    await page.waitForSelector('.chaos .status .badge:has-text("20% loss")', { timeout: 5_000 })

    // Replay: open the trace, scrub to the end: the crashed node is failed in the consensus view.
    await page.getByRole('tab', { name: 'Replay' }).click()
    await page.setInputFiles('input[type=file]', trace)
    await page.waitForSelector('.charts .uplot', { timeout: 10_000 })
    const timeline = page.getByRole('slider', { name: 'virtual time' })
    await timeline.fill(String(await timeline.getAttribute('max')))
    await page.waitForSelector('.replay-meta .c-text-dead:has-text("1 failed")', { timeout: 10_000 })
    assert.match(await page.textContent('[data-testid=replay-clock]') ?? '', /20\.\d s \/ 2\d\.\d s/)
    await page.screenshot({ path: path.join(ARTIFACTS, '5-replay.png') })

    // A scenario run in the page (the simulator in a Web Worker): 20 nodes, one crash at 5 s.
    for (const [label, value] of [['nodes', '20'], ['seed', '3'], ['seconds', '15'], ['loss %', '0'], ['crash N@s', '1@5']]) {
      await page.getByRole('textbox', { name: label, exact: true }).fill(value)
    }
    await page.getByRole('button', { name: 'Run scenario' }).click()
    await page.waitForSelector('.scenario-status:has-text("ran in")', { timeout: 30_000 })
    assert.match(await page.textContent('.replay-meta') ?? '', /grapevine sim --nodes 20 --seed 3 --duration 15s --crash 1@5s --trace FILE: 20 nodes/)
    await timeline.fill(String(await timeline.getAttribute('max')))
    await page.waitForSelector('.replay-meta .c-text-dead:has-text("1 failed")', { timeout: 10_000 })
    await page.screenshot({ path: path.join(ARTIFACTS, '6-scenario.png') })

    // A scenario file opened in the page runs there, as `grapevine sim FILE` would.
    const file = path.join(tmp, 'two-crashes.yaml')
    writeFileSync(file, 'name: two-crashes\nseed: 9\nnodes: 16\nduration: 12s\ntimeline:\n  - { at: 4s, do: crash, count: 2 }\n')
    await page.setInputFiles('input[type=file]', file)
    await page.waitForSelector('.replay-meta:has-text("grapevine sim two-crashes.yaml --seed 9 --trace FILE")', { timeout: 30_000 })
    await timeline.fill(String(await timeline.getAttribute('max')))
    await page.waitForSelector('.replay-meta .c-text-dead:has-text("2 failed")', { timeout: 10_000 })
    assert.deepEqual(problems, [], 'no errors in the browser console')
  } finally {
    await browser.close()
    demo.stdin.write('q\n')
    await waitUntil('the demo exits', () => demo.exitCode !== null || demo.signalCode !== null, 20_000, detail, 100).catch(() => demo.kill('SIGKILL'))
    const logs = /logs in (\S+grapevine-demo-\w+)/.exec(out)?.[1]
    if (logs !== undefined) rmSync(logs, { recursive: true, force: true })
    rmSync(tmp, { recursive: true, force: true })
  }
})
