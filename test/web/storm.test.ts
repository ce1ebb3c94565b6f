// The dashboard's storm flag in a real browser (playwright-core driving Debian's chromium): six agents
// on loopback, one crashes without leaving; on a survivor's own page (/ui) the accusations line names
// the crashed member as accused by three or more at once, with its accusers (all survivors), and the
// member table flags it with the count. Suspicion multiplier 6 (Lifeguard waits for 4 confirmations),
// so the survivors' own probes accuse it before it is declared failed. Skipped, with the reason, where
// no chromium is installed (a failure under CI). Any console error fails the test.
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { chromium } from 'playwright-core'
import { CHROMIUM, collectProblems, requireChromium } from './browser.js'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, startTestAgent, stopAll, waitFor } from '../agent/helpers.js'
import { FAST } from '../runtime/helpers.js'

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/dashboard/', import.meta.url))
const NAMES = ['s1', 's2', 's3', 's4', 's5', 's6']

test('a crashed member accused by three or more survivors is flagged as accused by many, with its accusers', { timeout: 90_000 }, async (t) => {
  if (!requireChromium(t)) return
  mkdirSync(ARTIFACTS, { recursive: true })
  const agents: Agent[] = []
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
  const problems: string[] = []
  try {
    for (const name of NAMES) agents.push(await startTestAgent(name, agents.length === 0 ? {} : { join: [gossipAddress(agents[0])] }, { swim: { ...FAST, suspicionMult: 6 } }))
    await waitFor('six alive everywhere', () => agents.every((a) => a.node.members().filter((m) => m.state === 'alive').length === NAMES.length), 20_000)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    collectProblems(page, problems)
    await page.goto(`http://${agents[0].httpAddress}/ui/`)
    await page.waitForSelector('.vbody .vrow[data-key="s6"]', { timeout: 15_000 })
    const storm = page.getByRole('status', { name: 'accusations' })
    await storm.waitFor({ timeout: 10_000 })
    assert.equal(await storm.locator('.storm-many').count(), 0, 'nobody is accused by many in a calm cluster')

    await agents[5].stop({ leave: false })
    const flag = storm.locator('.badge.storm-many', { hasText: /^s6 accused by/ })
    await flag.waitFor({ timeout: 30_000 }).catch(async (e: unknown) => {
      throw new Error(`no "accused by many" flag for s6; the accusations line reads ${JSON.stringify(await storm.innerText())}`, { cause: e })
    })
    const text = (await flag.innerText()).trim()
    const m = /^s6 accused by (\d+) \(≥ 3 at once\): (.+)$/.exec(text)
    assert.ok(m !== null, `the flag reads "s6 accused by N (≥ 3 at once): accusers", got ${JSON.stringify(text)}`)
    const accusers = m[2].split(',').map((s) => s.trim())
    assert.ok(Number(m[1]) >= 3 && accusers.length === Number(m[1]), text)
    assert.ok(accusers.every((a) => ['s1', 's2', 's3', 's4', 's5'].includes(a)), `every accuser is a survivor: ${text}`)
    // The member table carries the same flag on s6's row, with the count.
    const rowFlag = page.locator('.vbody .vrow[data-key="s6"] .storm-many')
    await rowFlag.waitFor({ timeout: 10_000 })
    assert.match((await rowFlag.innerText()).trim(), /^×[3-9]$/)
    // …and it is in sight: the cell clips what overflows it, so the flag must end inside the cell.
    const boxes = await page.$eval('.vbody .vrow[data-key="s6"] .storm-many', (flagEl) => {
      const cell = flagEl.closest('[role=gridcell]')!.getBoundingClientRect()
      const flagRect = flagEl.getBoundingClientRect()
      return { cellLeft: cell.left, cellRight: cell.right, flagLeft: flagRect.left, flagRight: flagRect.right }
    })
    assert.ok(boxes.flagRight <= boxes.cellRight + 0.5, `the flag ends inside its cell: ${JSON.stringify(boxes)}`)
    await page.screenshot({ path: path.join(ARTIFACTS, 'storm.png') })
    assert.deepEqual(problems, [])
  } finally {
    await browser.close()
    await stopAll(agents)
  }
})
