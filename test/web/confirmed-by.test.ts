// The dashboard's "Confirmed by" column in a real browser (playwright-core driving Debian's chromium):
// four agents on loopback, one crashes without leaving; on a survivor's own page (/ui) the suspicion
// of the crashed member names the survivor that accused it and, under "Confirmed by", the other
// survivors whose independent suspicions confirmed it (Lifeguard), before it ends failed. Skipped, with
// the reason, where no chromium is installed (a failure under CI). Any console error fails the test.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { chromium } from 'playwright-core'
import { CHROMIUM, collectProblems, requireChromium } from './browser.js'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, startTestAgent, stopAll, waitFor } from '../agent/helpers.js'
import { FAST } from '../runtime/helpers.js'

/**
 * A longer suspicion than the local profile's: with 4 members its shortest timeout was 0.6 s, and on a
 * loaded machine the crashed member could be declared dead before the other survivors' own suspicions
 * (the confirmations) reached c1. suspicionMult 4 gives 0.8 s to 4.8 s, and Lifeguard still counts
 * confirmations (it expects suspicionMult − 2 = 2 of them, which 4 members can give; at 5 or more it
 * would expect more than the 2 other survivors and count none, as memberlist).
 */
const SLOW_SUSPICION = { swim: { ...FAST, suspicionMult: 4 } }

test('a crashed member\'s suspicion shows who confirmed it in the Confirmed by column', { timeout: 60_000 }, async (t) => {
  if (!requireChromium(t)) return
  const agents: Agent[] = []
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
  const problems: string[] = []
  try {
    for (const name of ['c1', 'c2', 'c3', 'c4']) agents.push(await startTestAgent(name, agents.length === 0 ? {} : { join: [gossipAddress(agents[0])] }, SLOW_SUSPICION))
    await waitFor('four alive everywhere', () => agents.every((a) => a.node.members().filter((m) => m.state === 'alive').length === 4), 15_000)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    collectProblems(page, problems)
    await page.goto(`http://${agents[0].httpAddress}/ui/`)
    await page.waitForSelector('.vbody .vrow[data-key="c4"]', { timeout: 15_000 })

    await agents[3].stop({ leave: false })
    await page.getByRole('tab', { name: 'Suspicions' }).click()
    const row = page.locator('.drill table.list tbody tr', { has: page.locator('td:first-child', { hasText: 'c4' }) }).first()
    await row.waitFor({ timeout: 15_000 })
    // Columns: Member, Inc., Accused by, Confirmed by, Outcome, When.
    const confirmedBy = row.locator('td').nth(3)
    await confirmedBy.filter({ hasText: /c[123]/ }).waitFor({ timeout: 15_000 })
    const accuser = (await row.locator('td').nth(2).innerText()).trim().split(/\s+/)[0]
    const confirmers = (await confirmedBy.innerText()).split(',').map((s) => s.trim())
    assert.ok(['c1', 'c2', 'c3'].includes(accuser), `accused by a survivor: ${accuser}`)
    assert.ok(confirmers.length >= 1 && confirmers.every((n) => ['c1', 'c2', 'c3'].includes(n) && n !== accuser), `confirmed by other survivors: ${confirmers.join(', ')}`)
    assert.deepEqual(problems, [])
  } finally {
    await browser.close()
    await stopAll(agents)
  }
})
