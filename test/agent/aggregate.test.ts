// Aggregates through the agent: the /v1/aggregate routes with constant, metric and command value sources,
// their 4xx answers, and `grapevine aggregate start|get|list|stop`. Two agents on loopback compute
// together; short epochs (cycle 200 ms × 5) keep the waits short, and the bounds are generous.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, runCli, startTestAgent, stopAll, url, waitFor } from './helpers.js'

const post = (a: Agent, body: unknown): Promise<Response> => fetch(url(a, '/v1/aggregate'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const FAST = { cycleMs: 200, epochCycles: 5 }

describe('agent: aggregates', () => {
  let a1: Agent
  let a2: Agent | undefined
  before(async () => {
    a1 = await startTestAgent('g1')
    a2 = await startTestAgent('g2', { join: [gossipAddress(a1)] })
    await waitFor('g1 sees g2', () => a1.node.members().filter((m) => m.state === 'alive').length === 2, 10_000)
  })
  after(() => stopAll([a1, a2]))

  it('an average of constants started on both agents over HTTP converges to their mean; GET shows estimate, epoch and participants', async () => {
    assert.equal((await post(a1, { name: 'weight', function: 'avg', value: { constant: 10 }, ...FAST })).status, 201)
    const res = await post(a2!, { name: 'weight', function: 'avg', value: 30, ...FAST })
    assert.equal(res.status, 201)
    const started = (await res.json()) as { source: unknown; epochMs: number }
    assert.deepEqual(started.source, { kind: 'constant', value: 30 })
    assert.equal(started.epochMs, 1000)
    const near20 = (a: Agent): boolean => Math.abs((a.node.aggregate.get('weight')?.estimate?.value ?? 0) - 20) < 1e-6
    await waitFor('both estimate 20', () => near20(a1) && near20(a2!), 20_000)
    const got = (await (await fetch(url(a1, '/v1/aggregate/weight'))).json()) as { estimate: { value: number; epoch: number }; participants: number; function: string; mode: string }
    assert.equal(got.function, 'avg')
    assert.equal(got.mode, 'push-pull')
    assert.equal(got.participants, 2)
    assert.ok(Math.abs(got.estimate.value - 20) < 1e-6, `g1 estimates ${got.estimate.value}`)
  })

  it('the CLI starts a count with push-sum and a max over a command, lists them, gets the estimate and stops them', async () => {
    const count = await runCli(['aggregate', 'start', 'nodes', 'count', '--mode', 'push-sum', '--cycle', '200', '--epoch-cycles', '5', '--http', a1.httpAddress])
    assert.equal(count.code, 0, count.stderr)
    assert.match(count.stdout, /started nodes: count by push-sum, an estimate every 1000 ms/)
    assert.equal((await post(a2!, { name: 'nodes', function: 'count', mode: 'push-sum', ...FAST })).status, 201)
    const cmd = await runCli(['aggregate', 'start', 'top', 'max', '--command', 'echo 41', '--cycle', '200', '--epoch-cycles', '5', '--http', a1.httpAddress])
    assert.equal(cmd.code, 0, cmd.stderr)
    assert.equal((await post(a2!, { name: 'top', function: 'max', value: { command: 'echo 7' }, ...FAST })).status, 201)
    await waitFor('g2 counts 2 and sees max 41', () => Math.abs((a2!.node.aggregate.get('nodes')?.estimate?.value ?? 0) - 2) < 0.05 && a2!.node.aggregate.get('top')?.estimate?.value === 41, 20_000)
    assert.equal((await runCli(['aggregate', 'get', 'top', '--http', a2!.httpAddress])).stdout, '41\n')
    const list = await runCli(['aggregate', 'list', '--http', a1.httpAddress])
    assert.match(list.stdout, /NAME\s+FUNCTION\s+MODE\s+ESTIMATE/)
    assert.match(list.stdout, /top\s+max\s+push-pull\s+41\s+\d+\s+2\s+command/)
    const json = (await (await fetch(url(a1, '/v1/aggregate'))).json()) as { aggregates: Array<{ name: string; source: { kind: string; runs?: number } }> }
    assert.deepEqual(json.aggregates.map((a) => a.name), ['nodes', 'top', 'weight'])
    assert.equal((await runCli(['aggregate', 'stop', 'top', '--http', a1.httpAddress])).stdout, 'stopped top\n')
    assert.equal((await fetch(url(a1, '/v1/aggregate/top'))).status, 404)
  })

  it('bad input gets 4xx with the reason and starts nothing', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ name: 'x', function: 'median', value: 1 }, 400, /function: expected one of avg, sum, count, min, max/],
      [{ name: 'bad name', function: 'avg', value: 1 }, 400, /name: expected 1-64 letters/],
      [{ name: 'x', function: 'avg' }, 400, /value: expected .* only count needs none/],
      [{ name: 'x', function: 'avg', value: { metric: 'temperature' } }, 400, /value.metric: expected one of load1/],
      [{ name: 'x', function: 'avg', value: 1, mode: 'gossip' }, 400, /mode: expected push-pull or push-sum/],
      [{ name: 'x', function: 'avg', value: 1, cycleMs: 5 }, 400, /cycleMs: expected an integer from 50/],
      [{ name: 'x', function: 'avg', value: { command: 'echo not-a-number' } }, 400, /expected a number as its first word/],
      [{ name: 'x', function: 'avg', value: { command: 'exit 3' } }, 400, /failed/],
      [{ name: 'weight', function: 'avg', value: 1 }, 409, /runs already/],
      [[1, 2], 400, /body: expected a JSON object/],
    ]
    for (const [body, status, reason] of cases) {
      const res = await post(a1, body)
      assert.equal(res.status, status, JSON.stringify(body))
      assert.match(((await res.json()) as { error: string }).error, reason)
    }
    assert.equal(a1.node.aggregate.get('x'), undefined, 'nothing started')
    assert.equal((await fetch(url(a1, '/v1/aggregate/nope'))).status, 404)
    assert.equal((await fetch(url(a1, '/v1/aggregate/weight'), { method: 'PUT' })).status, 405)
    const cli = await runCli(['aggregate', 'start', 'y', 'avg', '--http', a1.httpAddress])
    assert.notEqual(cli.code, 0)
    assert.match(cli.stderr, /the value is missing: give --metric/)
  })

  it('a metric source reads the agent itself: members counts the alive members this agent sees', async () => {
    const res = await post(a1, { name: 'seen', function: 'min', value: { metric: 'members' }, ...FAST })
    assert.equal(res.status, 201)
    assert.equal(a1.node.aggregate.get('seen')?.localValue, 2)
    assert.equal((await fetch(url(a1, '/v1/aggregate/seen'), { method: 'DELETE' })).status, 200)
    assert.equal(a1.node.aggregate.get('seen'), undefined)
  })
})
