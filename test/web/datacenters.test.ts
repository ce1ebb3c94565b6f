// The dashboard's Datacenters panel and RTT column in a real browser (playwright-core driving Debian's
// chromium): agents of two datacenters on loopback (a1, server of dc1; b1, server of dc2; b2, client
// of dc2). On a1's page the panel lists each datacenter's servers as its WAN pool sees them, alive,
// with an estimated round trip to the other datacenter's server; on b2's page (a client) it lists its
// own datacenter's server; the members table's RTT column shows the estimate to a LAN member. Then b1
// crashes: a1's panel keeps it, marked "failed (soft)" (kept for routing), as soft fail promises.
// Skipped, with the reason, where no chromium is installed (a failure under CI). Any console error
// fails the test. Screenshots go to test-artifacts/datacenters/ (gitignored).
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { collectProblems, launchForTest } from './browser.js'
import type { Agent } from '../../src/agent/agent.js'
import { formatAddress } from '../../src/pools/names.js'
import { gossipAddress, startTestAgent, stopAll, waitFor } from '../agent/helpers.js'
import { waitUntil } from '../interop/serf-harness.js'

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/datacenters/', import.meta.url))
/** WAN timings fast enough for a test: a crashed server is declared failed within seconds. */
const WAN_FAST = { probeIntervalMs: 500, probeTimeoutMs: 200, gossipIntervalMs: 100, pushPullIntervalMs: 5000 }

/** The panel's rows: server name → [datacenter cell, state shown, data-state, RTT cell]. */
async function panelRows(page: Page): Promise<Record<string, { state: string; dataState: string; rtt: string }>> {
  return page.$$eval('table.pools tbody tr[data-server]', (trs) =>
    Object.fromEntries(trs.map((tr) => {
      const td = [...tr.querySelectorAll('td')].map((c) => c.textContent?.trim() ?? '')
      return [tr.getAttribute('data-server'), { state: td[2], dataState: tr.getAttribute('data-state') ?? '', rtt: td[4] }]
    })))
}

test('the Datacenters panel lists each datacenter\'s servers with estimated round trips, keeps a crashed one as failed (soft), and the members table shows RTT', { timeout: 90_000 }, async (t) => {
  const browser = await launchForTest(t, ARTIFACTS)
  if (browser === undefined) return
  const agents: Agent[] = []
  const problems: string[] = []
  try {
    const a1 = await startTestAgent('a1', { datacenter: 'dc1', server: true, wanBind: '127.0.0.1:0' }, { wanSwim: WAN_FAST })
    agents.push(a1)
    const b1 = await startTestAgent('b1', { datacenter: 'dc2', server: true, wanBind: '127.0.0.1:0', joinWan: [formatAddress(a1.pools!.wan!.address)] }, { wanSwim: WAN_FAST })
    agents.push(b1)
    const b2 = await startTestAgent('b2', { datacenter: 'dc2', join: [gossipAddress(b1)] })
    agents.push(b2)
    await waitFor('a1 sees b1.dc2 alive in the WAN pool', () => a1.pools!.wan!.members().some((m) => m.name === 'b1.dc2' && m.state === 'alive'), 15_000)
    await waitFor('b2 joined dc2', () => b1.node.members().some((m) => m.name === 'b2' && m.state === 'alive'), 15_000)

    // a1, a server: both datacenters, each server alive, a round trip estimated to the other's.
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
    collectProblems(page, problems)
    await page.goto(`http://${a1.httpAddress}/ui/`)
    // b2's page opens now too, so that its round-trip estimates arrive while a1's page is checked.
    const client = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
    collectProblems(client, problems)
    await client.goto(`http://${b2.httpAddress}/ui/`)
    const panel = page.getByRole('region', { name: 'Datacenters' })
    await panel.waitFor({ timeout: 15_000 })
    assert.match(await panel.locator('.panel-head').innerText(), /dc1, server \(WAN pool: 2 members\)/)
    await waitUntil('a1\'s panel shows b1.dc2 alive with an estimated round trip', async () => {
      const rows = await panelRows(page)
      return rows['b1.dc2']?.dataState === 'alive' && /^\d+(\.\d)? ms$/.test(rows['b1.dc2'].rtt)
    }, 20_000, async () => JSON.stringify(await panelRows(page)))
    const rows = await panelRows(page)
    assert.deepEqual(Object.keys(rows), ['a1.dc1', 'b1.dc2'])
    assert.deepEqual([rows['a1.dc1'].state, rows['b1.dc2'].state], ['alive', 'alive'])
    const datacenterCells = await page.$$eval('table.pools tbody tr td:first-child strong', (s) => s.map((e) => e.textContent))
    assert.deepEqual(datacenterCells, ['dc1 (this)', 'dc2'])
    assert.ok(Number.parseFloat(rows['b1.dc2'].rtt) < 100, `a loopback round trip, estimated: ${rows['b1.dc2'].rtt}`)
    await page.screenshot({ path: path.join(ARTIFACTS, '1-server.png') })

    // b2, a client: its own datacenter's server, and the RTT column of its members table.
    const clientPanel = client.getByRole('region', { name: 'Datacenters' })
    await clientPanel.waitFor({ timeout: 15_000 })
    assert.match(await clientPanel.locator('.panel-head').innerText(), /dc2, client \(servers of this datacenter\)/)
    await waitUntil('b2\'s panel lists its server b1 (by its WAN name)', async () => Object.keys(await panelRows(client)).includes('b1.dc2'), 15_000, async () => JSON.stringify(await panelRows(client)))
    const rttHeader = await client.$$eval('.vhead [role=columnheader]', (h) => h.map((e) => e.textContent))
    const rttColumn = rttHeader.indexOf('RTT')
    assert.ok(rttColumn >= 0, `an RTT column among ${rttHeader.join(', ')}`)
    await waitUntil('b2\'s members table shows an estimated round trip to b1', async () => {
      const cell = await client.textContent(`.vbody .vrow[data-key="b1"] [role=gridcell]:nth-child(${rttColumn + 1})`)
      return /^\d+(\.\d+)? ms$/.test(cell?.trim() ?? '')
    }, 20_000, async () => (await client.textContent('.vbody')) ?? '')
    assert.equal((await client.textContent(`.vbody .vrow[data-key="b2"] [role=gridcell]:nth-child(${rttColumn + 1})`))?.trim(), '–', 'no round trip to itself')
    await client.screenshot({ path: path.join(ARTIFACTS, '2-client.png') })

    // b1 crashes (no leave): a1's WAN pool declares it failed; the panel keeps it, soft-failed.
    await b1.stop({ leave: false })
    await waitUntil('a1\'s panel shows b1.dc2 failed (soft), still listed', async () => {
      const r = await panelRows(page)
      return r['b1.dc2']?.dataState === 'failed' && r['b1.dc2'].state === 'failed (soft)'
    }, 30_000, async () => JSON.stringify(await panelRows(page)))
    assert.equal((await panelRows(page))['a1.dc1'].dataState, 'alive')
    await page.screenshot({ path: path.join(ARTIFACTS, '3-soft-failed.png') })
    assert.deepEqual(problems, [])
  } finally {
    await browser.close()
    await stopAll(agents)
  }
})
