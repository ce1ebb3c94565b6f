// The dashboard's data panel in a real browser (playwright-core driving Debian's chromium): three agents
// on loopback with an average configured in their files and replicated data written through node.crdt;
// an agent's own page lists each key with its type, its value there and how many members hold the same
// state, and each aggregate with its estimate; a write on another agent shows up live, with the cluster
// agreeing again. Any console error fails the test. Screenshots go to test-artifacts/dashboard/.
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { collectProblems, launchChromium, requireChromium } from './browser.js'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, startTestAgent, stopAll } from '../agent/helpers.js'
import { waitUntil } from '../interop/serf-harness.js'

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/dashboard/', import.meta.url))
const weight = (value: number) => ({ aggregates: [{ name: 'weight', function: 'avg', value: { constant: value }, cycleMs: 200, epochCycles: 10 }] })

test('the data panel shows CRDT keys with type, value and agreement across members, and the configured aggregates with their estimate, live', { timeout: 90_000 }, async (t) => {
  if (!requireChromium(t)) return
  mkdirSync(ARTIFACTS, { recursive: true })
  const browser = await launchChromium()
  const agents: Agent[] = []
  const problems: string[] = []
  try {
    agents.push(await startTestAgent('d1', {}, weight(10)))
    agents.push(await startTestAgent('d2', { join: [gossipAddress(agents[0])] }, weight(20)))
    agents.push(await startTestAgent('d3', { join: [gossipAddress(agents[0])] }, weight(30)))
    const [a1, a2, a3] = agents
    await waitUntil('every agent sees 3 alive', () => agents.every((a) => a.node.members().filter((m) => m.state === 'alive').length === 3), 15_000, () => '', 100)
    await a1.node.crdt.counter('hits').increment(5)
    await a2.node.crdt.set('features').add('dark-mode')
    await a3.node.crdt.flag('maintenance').enable()

    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
    collectProblems(page, problems)
    await page.goto(`http://${a1.httpAddress}/ui/`)
    const row = (key: string): string => `.crdt-table tr[data-key="${key}"]`
    const text = async (selector: string): Promise<string> => (await page.textContent(selector).catch(() => null)) ?? ''
    const detail = async (): Promise<string> => `panel: ${await text('.data-panel')}`

    // Each key with its type and d1's value; every member holds d1's state once gossip has spread it.
    await waitUntil('the three keys are listed with their values', async () =>
      (await text(`${row('counter/hits')} .value`)) === '5' && (await text(`${row('set/features')} .value`)) === '["dark-mode"]' && (await text(`${row('flag/maintenance')} .value`)) === 'true', 20_000, detail, 200)
    assert.equal(await text(`${row('counter/hits')} td:nth-child(2)`), 'PN-counter')
    assert.equal(await text(`${row('set/features')} td:nth-child(2)`), 'OR-set')
    await waitUntil('all three members agree on every key', async () => {
      for (const k of ['counter/hits', 'set/features', 'flag/maintenance']) if ((await text(`${row(k)} .badge`)) !== '3 of 3 agree') return false
      return true
    }, 30_000, detail, 250)

    // The aggregate from the agents' config files: the average of 10, 20 and 30.
    const estimate = '.aggregate-table tr[data-aggregate="weight"] .estimate'
    await waitUntil('the weight estimate is 20 within 0.1 %', async () => Math.abs(Number(await text(estimate)) - 20) < 0.02, 20_000, detail, 200)
    assert.equal(await text('.aggregate-table tr[data-aggregate="weight"] td:nth-child(6)'), '3', 'three participants')
    assert.equal(await text('.aggregate-table tr[data-aggregate="weight"] td:nth-child(8)'), 'constant 10')
    await page.screenshot({ path: path.join(ARTIFACTS, 'data-panel-1.png') })

    // A write elsewhere shows up live on d1's page, and the members agree again.
    await a3.node.crdt.counter('hits').increment(2)
    await waitUntil('d1 shows the counter at 7, agreed by all', async () => (await text(`${row('counter/hits')} .value`)) === '7' && (await text(`${row('counter/hits')} .badge`)) === '3 of 3 agree', 30_000, detail, 250)
    await page.screenshot({ path: path.join(ARTIFACTS, 'data-panel-2.png') })
    assert.deepEqual(problems, [], 'no errors in the browser console')
  } finally {
    await browser.close()
    await stopAll(agents)
  }
})
