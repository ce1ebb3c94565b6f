// Aggregates from the agent's config file: every bad entry is named with its field and a "did you mean",
// the file's aggregates start at boot, and a reload (Agent.reload, and SIGHUP on a real agent process)
// starts the new ones, stops the removed ones, restarts the changed ones, keeps the unchanged ones
// running with their epochs, and never touches one started through the API. Agents on loopback with
// short epochs (cycle 200 ms × 5); the bounds are generous.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { UsageError } from '../../src/core/errors.js'
import type { Agent } from '../../src/agent/agent.js'
import { agentConfig, gossipAddress, spawnAgent, startTestAgent, stopAll, url, waitFor } from './helpers.js'
import { waitUntil } from '../interop/serf-harness.js'

const FAST = { cycleMs: 200, epochCycles: 5 }

function problemsOf(file: Record<string, unknown>, flags = {}): string {
  try {
    agentConfig('c1', flags, file)
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e))
    return e.message
  }
  assert.fail('expected the configuration to be refused')
}

test('a config file\'s aggregates are checked entry by entry, naming the field and the fix with "did you mean"', () => {
  const ok = agentConfig('c1', {}, { aggregates: [{ name: 'load', function: 'avg', value: { metric: 'load1' } }, { name: 'nodes', function: 'count', mode: 'push-sum', cycleMs: 500 }] })
  assert.deepEqual(ok.aggregates.map((a) => [a.spec.name, a.spec.fn, a.spec.mode, a.spec.cycleMs, a.spec.epochCycles, a.source]), [
    ['load', 'avg', 'push-pull', 1000, 20, { metric: 'load1' }],
    ['nodes', 'count', 'push-sum', 500, 20, { constant: 1 }],
  ])
  const m = problemsOf({
    aggregates: [
      { name: 'a', fucntion: 'avg', value: 1 },
      { name: 'b', function: 'avgg', value: 1 },
      { name: 'c', function: 'avg', mode: 'push-pul', value: { metric: 'load' } },
      { name: 'd', function: 'max' },
      { name: 'e', function: 'sum', value: { comand: 'echo 1' } },
      { name: 'bad name', function: 'avg', value: 1, cycleMs: 10 },
      { name: 'f', function: 'min', value: 2 },
      { name: 'f', function: 'max', value: 3 },
    ],
  })
  const lines = m.split('\n').slice(1).map((l) => l.replace(/^\s+- /, ''))
  const at = (i: number, field?: string): string => `config file agent.json field "aggregates[${i}]${field === undefined ? '' : `.${field}`}"`
  assert.deepEqual(lines, [
    `${at(0)}: unknown field "fucntion" (did you mean "function"?); fields are name, function, mode, cycleMs, epochCycles, value`,
    `${at(0)}: needs "function": one of avg, sum, count, min, max`,
    `${at(1, 'function')} "avgg": expected one of avg, sum, count, min, max (did you mean "avg"?)`,
    `${at(2, 'mode')} "push-pul": expected push-pull or push-sum (did you mean "push-pull"?)`,
    `${at(2, 'value')}.metric "load": expected one of load1, load5, load15, members, rss, freemem, cpus (did you mean "load1"?)`,
    `${at(3, 'value')}: needed for max; expected { "metric": "load1" }, { "constant": 4 } or { "command": "SHELL TEXT" } (only count needs none)`,
    `${at(4, 'value')}: unknown source "comand" (did you mean "command"?); expected { "metric": "load1" }, { "constant": 4 } or { "command": "SHELL TEXT" }`,
    `${at(5, 'name')}: expected 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit) like "load", got "bad name"`,
    `${at(5, 'cycleMs')}: expected an integer from 50 to 3600000 like 1000, got 10`,
    `${at(7, 'name')} "f": aggregates[6] has this name already; names are unique on a node`,
  ])
  assert.match(problemsOf({ aggregates: { name: 'x' } }), /field "aggregates" \{"name":"x"\}: expected an array like/)
  assert.match(problemsOf({ aggregats: [] }), /unknown field "aggregats" \(did you mean "aggregates"\?\)/)
  assert.match(problemsOf({ aggregates: [{ name: 'n', function: 'count' }] }, { membership: 'hyparview' }), /aggregates ride on SWIM's full membership; remove aggregates or use --membership swim/)
})

test('configured aggregates start at boot, and a reload starts, stops, restarts and keeps them as the file says, leaving API ones alone', { timeout: 60_000 }, async () => {
  const weight = (value: number) => ({ name: 'weight', function: 'avg', value: { constant: value }, ...FAST })
  const nodes = { name: 'nodes', function: 'count', mode: 'push-sum', ...FAST }
  const a1 = await startTestAgent('ca1', {}, { aggregates: [weight(10), nodes] })
  let a2: Agent | undefined
  try {
    a2 = await startTestAgent('ca2', { join: [gossipAddress(a1)] }, { aggregates: [weight(30), nodes] })
    assert.deepEqual(a1.node.aggregate.list().map((s) => s.name), ['nodes', 'weight'], 'running as soon as the agent started')
    const near = (a: Agent, name: string, v: number, tol = 1e-6): boolean => Math.abs((a.node.aggregate.get(name)?.estimate?.value ?? NaN) - v) < tol
    await waitFor('both estimate a weight of 20 and 2 nodes', () => near(a1, 'weight', 20) && near(a2!, 'weight', 20) && near(a1, 'nodes', 2, 0.05), 20_000)
    const listed = (await (await fetch(url(a1, '/v1/aggregate'))).json()) as { aggregates: Array<{ name: string; source: unknown }> }
    assert.deepEqual(listed.aggregates.map((a) => [a.name, a.source]), [['nodes', { kind: 'constant', value: 1 }], ['weight', { kind: 'constant', value: 10 }]])

    // One started through the API: the file knows nothing of it.
    const res = await fetch(url(a1, '/v1/aggregate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'manual', function: 'max', value: 5, ...FAST }) })
    assert.equal(res.status, 201)
    const epochBefore = a1.node.aggregate.get('nodes')!.running.epoch

    // The file now: weight changed (50), nodes unchanged, top added; reload twice (the second changes nothing).
    const next = agentConfig('ca1', {}, { aggregates: [weight(50), nodes, { name: 'top', function: 'max', value: { command: 'echo 41' }, ...FAST }] })
    const applied = await a1.reload(next)
    assert.deepEqual(applied, { started: ['weight', 'top'], stopped: ['weight'], kept: ['nodes'], failed: [] })
    assert.deepEqual(await a1.reload(next), { started: [], stopped: [], kept: ['nodes', 'top', 'weight'], failed: [] })
    assert.ok(a1.node.aggregate.get('nodes')!.running.epoch >= epochBefore, 'the unchanged aggregate kept running (its epochs go on)')
    await waitFor('the changed weight averages 50 and 30 to 40; top is 41', () => near(a1, 'weight', 40) && near(a2!, 'weight', 40) && a1.node.aggregate.get('top')?.estimate?.value === 41, 20_000)
    const top = (await (await fetch(url(a1, '/v1/aggregate/top'))).json()) as { source: { kind: string; command: string } }
    assert.deepEqual([top.source.kind, top.source.command], ['command', 'echo 41'])

    // Removed from the file: stopped; the API's aggregate stays; a failing command is reported, not fatal.
    const last = await a1.reload(agentConfig('ca1', {}, { aggregates: [{ name: 'broken', function: 'max', value: { command: 'exit 3' } }] }))
    assert.deepEqual([last.started, last.stopped.sort(), last.kept], [[], ['nodes', 'top', 'weight'], []])
    assert.equal(last.failed.length, 1)
    assert.match(last.failed[0].error, /command "exit 3" failed/)
    assert.deepEqual(a1.node.aggregate.list().map((s) => s.name), ['manual'])
    assert.equal((await fetch(url(a1, '/v1/aggregate/weight'))).status, 404)
  } finally {
    await stopAll([a1, a2])
  }
})

test('a real agent process starts the aggregates of its file, and SIGHUP applies the rewritten file', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-aggregates-'))
  const config = join(dir, 'agent.json')
  const base = { name: 'agg-1', bind: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'info', bootstrap: true }
  writeFileSync(config, JSON.stringify({ ...base, aggregates: [{ name: 'nodes', function: 'count', ...FAST }] }))
  const agent = spawnAgent(config)
  const { child, records } = agent
  const names = async (http: string): Promise<string[]> => ((await (await fetch(`http://${http}/v1/aggregate`)).json()) as { aggregates: Array<{ name: string }> }).aggregates.map((a) => a.name)
  try {
    await waitFor('the agent started', () => records().some((r) => r.msg === 'agent started'), 20_000)
    const http = String(records().find((r) => r.msg === 'agent started')!.http)
    assert.deepEqual(await names(http), ['nodes'])
    await waitUntil('the count of one node is 1', async () => ((await (await fetch(`http://${http}/v1/aggregate/nodes`)).json()) as { estimate: { value: number } | null }).estimate?.value === 1, 15_000, () => agent.text().slice(-2000), 200)

    writeFileSync(config, JSON.stringify({ ...base, aggregates: [{ name: 'cpus', function: 'max', value: { metric: 'cpus' }, ...FAST }] }))
    child.kill('SIGHUP')
    await waitFor('the reload is logged', () => records().some((r) => /configuration reloaded/.test(String(r.msg))), 10_000)
    const reloaded = records().find((r) => /configuration reloaded/.test(String(r.msg)))!
    assert.deepEqual(reloaded.aggregates, { started: ['cpus'], stopped: ['nodes'], kept: [], failed: [] })
    assert.deepEqual(await names(http), ['cpus'])
    assert.equal(agent.exitCode(), undefined, 'still running')
  } finally {
    child.kill('SIGTERM')
    await waitFor('the agent exited', () => agent.exitCode() !== undefined, 20_000).catch(() => child.kill('SIGKILL'))
    rmSync(dir, { recursive: true, force: true })
  }
  assert.equal(agent.exitCode(), 0)
})
