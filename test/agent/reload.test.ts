// SIGHUP, as Serf's agent has it: the agent reads its configuration again for the log level and the
// event handlers, keeps running (Node's default would end it without a leave), and a bad file keeps
// the running configuration. A real agent process on loopback.
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli, spawnAgent, waitFor } from './helpers.js'

test('SIGHUP reloads the event handlers and the log level; the agent keeps running', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-reload-'))
  const config = join(dir, 'agent.json')
  const out = join(dir, 'user.out')
  const script = join(dir, 'user.sh')
  writeFileSync(script, `#!/bin/sh\n{ echo "$SERF_USER_EVENT"; cat; } >> '${out}'\n`)
  chmodSync(script, 0o755)
  writeFileSync(config, JSON.stringify({ name: 'reload-1', bind: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'info' }))
  const agent = spawnAgent(config)
  const { child, records } = agent
  try {
    await waitFor('the agent started', () => records().some((r) => r.msg === 'agent started'), 20_000)
    const http = String(records().find((r) => r.msg === 'agent started')!.http)

    // A broken file first: the agent says so and keeps what it runs.
    writeFileSync(config, '{ "name": ')
    child.kill('SIGHUP')
    await waitFor('the failed reload is logged', () => records().some((r) => /reload \(SIGHUP\) failed/.test(String(r.msg))), 10_000)
    assert.equal(agent.exitCode(), undefined, 'still running')

    writeFileSync(config, JSON.stringify({ name: 'reload-1', bind: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'debug', eventHandlers: [`user:deploy=${script}`], eventHandlerCoalesceMs: 0 }))
    child.kill('SIGHUP')
    await waitFor('the reload is logged', () => records().some((r) => /configuration reloaded/.test(String(r.msg))), 10_000)
    assert.equal(agent.exitCode(), undefined, 'still running')
    const reloaded = records().find((r) => /configuration reloaded/.test(String(r.msg)))!
    assert.equal(reloaded.logLevel, 'debug')
    assert.deepEqual(reloaded.eventHandlers, [`user:deploy=${script}`])

    const sent = await runCli(['event', 'deploy', 'v7', '--http', http])
    assert.equal(sent.code, 0, sent.stderr)
    await waitFor('the handler added by the reload ran', () => existsSync(out) && readFileSync(out, 'utf8') === 'deploy\nv7\n', 10_000)
    assert.ok(records().some((r) => r.level === 20), 'debug records once the level is debug')
  } finally {
    child.kill('SIGTERM')
    await waitFor('the agent exited', () => agent.exitCode() !== undefined, 20_000).catch(() => child.kill('SIGKILL'))
  }
  assert.equal(agent.exitCode(), 0, 'SIGTERM still leaves and exits 0')
})
