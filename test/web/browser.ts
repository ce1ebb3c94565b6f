// Shared by the browser tests: where Debian's chromium is, and skipping (or failing under CI) without it.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const MISSING = `no chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH to run the dashboard browser test`

/** True when chromium is there; otherwise skips the test with the reason (a failure when CI is set). */
export function requireChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI) assert.fail(`${MISSING} (CI is set, so this is a failure, not a skip)`)
  t.skip(MISSING)
  return false
}

/** Records the page's console errors and uncaught errors in `problems` (a test asserts it stays empty). */
export function collectProblems(page: Page, problems: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
}

/** Debian's chromium, headless, as every browser test starts it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
}

/** Chromium launched for a test, with its screenshots folder made; undefined when the test was skipped (no chromium). */
export async function launchForTest(t: TestContext, artifacts: string): Promise<Browser | undefined> {
  if (!requireChromium(t)) return undefined
  mkdirSync(artifacts, { recursive: true })
  return launchChromium()
}
