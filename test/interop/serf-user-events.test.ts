// Serf user events sent by Grapevine run a real serf 0.9.4 agent's event handler, once each, with
// their payload; an event over Serf's 512-byte limit is refused before anything is sent. The other
// way, `serf event` reaches Grapevine's `message` handlers once, and `broadcast(…, { via: 'serf' })`
// is a Serf user event.
// Without serf on PATH the test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BroadcastMessage, GrapevineNode } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfMembers, startAgent, stopAll, waitUntil } from './serf-harness.js'

/** A serf `user` event handler that appends `NAME:PAYLOAD` lines to `out`. */
function recordingHandler(dir: string): { out: string; handler: string } {
  const out = join(dir, 'handled.txt')
  const handler = join(dir, 'handler.sh')
  // Serf runs the handler with the event name in SERF_USER_EVENT and the payload on stdin.
  writeFileSync(handler, `#!/bin/sh\n{ printf '%s:' "$SERF_USER_EVENT"; cat; echo; } >> '${out}'\n`)
  chmodSync(handler, 0o755)
  writeFileSync(out, '')
  return { out, handler }
}

test('Grapevine user events run Serf event handlers once, with their payload', { timeout: 60_000 }, async (t) => {
  if (!requireSerf(t)) return
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-events-'))
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    const { out, handler } = recordingHandler(dir)
    const a = await startAgent('serf-handler', agents, [`-event-handler=user=${handler}`])
    node = await startNode({ name: 'grapevine', bind: '127.0.0.1:0', profile: 'local', join: [a.bind] })
    const gv = node
    const detail = async (): Promise<string> =>
      `serf: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\nhandled: ${JSON.stringify(readFileSync(out, 'utf8'))}\n${logsOf(agents)}`
    await waitUntil('serf lists grapevine alive', async () => (await serfMembers(a.rpc)).some((m) => m.name === 'grapevine' && m.status === 'alive'), 15_000, detail)

    const local: string[] = []
    gv.on('serf', (e) => {
      if (e.type === 'userEvent') local.push(`${e.name}:${Buffer.from(e.payload).toString()}`)
    })
    const l1 = gv.userEvent('deploy', 'v42')
    const l2 = gv.userEvent('restart', new TextEncoder().encode('web'), { coalesce: true })
    assert.ok(l2 > l1)
    assert.deepEqual(local, ['deploy:v42', 'restart:web']) // delivered locally too, as Serf does
    await waitUntil(
      'serf ran its handler for both events',
      () => {
        const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '')
        return lines.includes('deploy:v42') && lines.includes('restart:web')
      },
      20_000,
      detail,
    )
    assert.throws(() => gv.userEvent('big', 'x'.repeat(600)), /Serf's limit is 512/)
    assert.throws(() => gv.userEvent('', 'x'), /non-empty/)
    await new Promise((r) => setTimeout(r, 1500)) // a duplicate would show up by now (serf re-gossips)
    const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '')
    assert.equal(lines.filter((l) => l === 'deploy:v42').length, 1, await detail())
    assert.ok(!lines.some((l) => l.startsWith('big:')))
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((x) => x.proc))
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a serf event reaches Grapevine message handlers once, and a broadcast via Serf reaches Serf', { timeout: 60_000 }, async (t) => {
  if (!requireSerf(t)) return
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-events-'))
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  try {
    const { out, handler } = recordingHandler(dir)
    const a = await startAgent('serf-sender', agents, [`-event-handler=user=${handler}`])
    node = await startNode({ name: 'grapevine', bind: '127.0.0.1:0', profile: 'local', join: [a.bind] })
    const gv = node
    const messages: BroadcastMessage[] = []
    gv.on('message', (m) => messages.push(m))
    const detail = async (): Promise<string> =>
      `serf: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}\nmessages: ${JSON.stringify(messages.map((m) => [m.id, m.name, Buffer.from(m.payload).toString(), m.via]))}\n${logsOf(agents)}`
    await waitUntil('serf lists grapevine alive', async () => (await serfMembers(a.rpc)).some((m) => m.name === 'grapevine' && m.status === 'alive'), 15_000, detail)

    // serf event deploy v42 (the CLI, as an operator types it) reaches Grapevine's message handler.
    const sent = await serfCommand(['event', `-rpc-addr=${a.rpc}`, 'deploy', 'v42'])
    assert.equal(sent.code, 0, sent.output)
    await waitUntil('grapevine got the serf event', () => messages.some((m) => m.name === 'deploy'), 15_000, detail)
    const got = messages.find((m) => m.name === 'deploy')
    assert.equal(got?.via, 'serf')
    assert.equal(Buffer.from(got?.payload ?? []).toString(), 'v42')
    assert.match(got?.id ?? '', /^serf:\d+:deploy$/)

    // The same broadcast API sends a Serf user event when asked to: serf's handler runs.
    const id = gv.broadcast('restart', 'web', { via: 'serf' })
    assert.match(id, /^serf:\d+:restart$/)
    assert.ok(messages.some((m) => m.id === id && m.origin === 'grapevine'), 'delivered here too, as Serf does')
    await waitUntil('serf ran its handler', () => readFileSync(out, 'utf8').split('\n').includes('restart:web'), 20_000, detail)

    await new Promise((r) => setTimeout(r, 1500)) // re-gossiped copies would arrive by now
    assert.equal(messages.filter((m) => m.name === 'deploy').length, 1, await detail())
  } finally {
    await node?.shutdown()
    await stopAll(agents.map((x) => x.proc))
    rmSync(dir, { recursive: true, force: true })
  }
})
