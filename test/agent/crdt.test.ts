// The replicated data types through the agent: `grapevine crdt …`, the /v1/crdt routes with their 4xx
// answers, and --data-dir keeping them across a restart of the agent.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

describe('agent: replicated data types', () => {
  let c1: Agent
  let c2: Agent | undefined
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-agent-crdt-'))
  before(async () => {
    c1 = await startTestAgent('c1')
    c2 = await startTestAgent('c2', { join: [gossipAddress(c1)], dataDir: join(dir, 'c2') })
    await waitFor('c1 sees c2', () => c1.node.members().filter((m) => m.state === 'alive').length === 2, 10_000)
  })
  after(async () => {
    await stopAll([c1, c2])
    rmSync(dir, { recursive: true, force: true })
  })

  it('a counter incremented through both agents reads the same through either, with --json', async () => {
    assert.equal((await runCli(['crdt', 'counter', 'incr', 'requests', '5', '--http', c1.httpAddress])).stdout, '5\n')
    const second = await runCli(['crdt', 'counter', 'incr', 'requests', '--consistency', 'all', '--timeout', '5000', '--http', c2!.httpAddress])
    assert.equal(second.code, 0, second.stderr)
    await waitFor('c1 has both', () => c1.node.crdt.counter('requests').value() === 6, 10_000)
    const get = await runCli(['crdt', 'counter', 'get', 'requests', '--json', '--http', c2!.httpAddress])
    assert.deepEqual(JSON.parse(get.stdout), { key: 'counter/requests', kind: 'counter', name: 'requests', value: 6 })
  })

  it('sets, registers, flags and maps through the HTTP API; the CLI reads them back, and list shows every key', async () => {
    const writes: Array<[string, unknown]> = [
      ['/v1/crdt/set/features', { op: 'add', value: 'search' }],
      ['/v1/crdt/register/leader', { op: 'set', value: 'c1' }],
      ['/v1/crdt/flag/maintenance', { op: 'enable' }],
      ['/v1/crdt/map/cfg', { op: 'increment', field: 'retries', by: 2 }],
      ['/v1/crdt/map/cfg', { op: 'set', field: 'region', value: 'eu' }],
    ]
    for (const [path, body] of writes) {
      const res = await fetch(url(c1, path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      assert.equal(res.status, 200, `${path}: ${await res.text()}`)
    }
    await waitFor('c2 has them', () => c2!.node.crdt.map('cfg').value().registers.region === 'eu' && c2!.node.crdt.flag('maintenance').value(), 10_000)
    assert.equal((await runCli(['crdt', 'set', 'get', 'features', '--http', c2!.httpAddress])).stdout, 'search\n')
    const map = await fetch(url(c2!, '/v1/crdt/map/cfg'))
    assert.deepEqual(await map.json(), { key: 'map/cfg', kind: 'map', name: 'cfg', value: { counters: { retries: 2 }, flags: {}, sets: {}, registers: { region: 'eu' } } })
    const list = await runCli(['crdt', 'list', '--http', c2!.httpAddress])
    assert.match(list.stdout, /counter\/requests\s+6/)
    assert.match(list.stdout, /register\/leader\s+"c1"/)
    assert.match(list.stdout, /flag\/maintenance\s+true/)
  })

  it('bad kinds, ops and amounts get 400 with the reason; an unknown key 404', async () => {
    const post = (path: string, body: unknown): Promise<Response> => fetch(url(c1, path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['/v1/crdt/bogus/x', {}, 400, /KIND one of counter/],
      ['/v1/crdt/set/x', { op: 'pop' }, 400, /add or remove/],
      ['/v1/crdt/counter/x', { op: 'increment', by: -2 }, 400, /non-negative integer/],
      ['/v1/crdt/counter/x', { op: 'increment', consistency: 'some' }, 400, /consistency: expected 'local', 'majority' or 'all'/],
      ['/v1/crdt/map/big', { op: 'set', field: 'a', value: 'v'.repeat(40_000) }, 200, /./],
      ['/v1/crdt/map/big', { op: 'set', field: 'b', value: 'w'.repeat(40_000) }, 400, /maxStateBytes/],
    ]
    for (const [path, body, status, reason] of cases) {
      const res = await post(path, body)
      assert.equal(res.status, status, path)
      if (status !== 200) assert.match(((await res.json()) as { error: string }).error, reason)
    }
    const missing = await fetch(url(c1, '/v1/crdt/counter/never-written'))
    assert.equal(missing.status, 404)
    const cli = await runCli(['crdt', 'counter', 'incr', 'x', 'lots', '--http', c1.httpAddress])
    assert.equal(cli.code, 2)
    assert.match(cli.stderr, /expected a non-negative whole number/)
  })

  it('an agent restarted with --data-dir has its data at once', async () => {
    await runCli(['crdt', 'counter', 'incr', 'durable', '3', '--http', c2!.httpAddress])
    const port = gossipAddress(c2!)
    await stopAll([c2])
    c2 = await startTestAgent('c2', { bind: port, dataDir: join(dir, 'c2') })
    assert.equal(c2.node.crdt.counter('durable').value(), 3)
    assert.equal(c2.node.crdt.counter('requests').value(), 6)
  })
})
