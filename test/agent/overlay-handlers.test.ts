// Event handler scripts with --membership hyparview: neighbours coming and going reach the scripts as
// Serf's member events (a partial view: member-join, member-leave, member-failed, the neighbour's
// `ip:port` as its name, GRAPEVINE_MEMBERSHIP=hyparview), and a handler that could never run in this
// mode (user events and queries only) is refused at start, naming the mode and the fix. Real /bin/sh
// scripts and two agents on loopback for the end-to-end part.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveAgentConfig } from '../../src/agent/config.js'
import type { Agent } from '../../src/agent/agent.js'
import { memberLine, parseEventHandler } from '../../src/agent/event-handlers.js'
import { hyparviewHandlerProblems, neighborAsMember, neighborMemberEvent } from '../../src/agent/overlay-handlers.js'
import type { NeighborDownCause } from '../../src/overlay/types.js'
import { gossipAddress, startTestAgent, stopAll, waitFor } from './helpers.js'

const address = { ip: '10.0.0.7', port: 7946 }

test('neighbour up is member-join; down is member-failed when it vanished (timeout, unreachable) and member-leave when it left or only left our view', () => {
  assert.equal(neighborMemberEvent({ type: 'neighborUp', peer: '10.0.0.7:7946', address }), 'member-join')
  const down = (cause: NeighborDownCause) => neighborMemberEvent({ type: 'neighborDown', peer: '10.0.0.7:7946', address, cause })
  assert.equal(down('timeout'), 'member-failed')
  assert.equal(down('unreachable'), 'member-failed')
  assert.equal(down('shutdown'), 'member-leave')
  assert.equal(down('disconnect'), 'member-leave')
  assert.equal(down('evicted'), 'member-leave')
  assert.equal(neighborMemberEvent({ type: 'isolated' }), undefined)
  // Serf's stdin line: the overlay id as NAME, the IP as ADDRESS, no role, no tags.
  assert.equal(memberLine(neighborAsMember({ type: 'neighborUp', peer: '10.0.0.7:7946', address })), '10.0.0.7:7946\t10.0.0.7\t\t\n')
  assert.equal(neighborAsMember({ type: 'neighborDown', peer: '10.0.0.7:7946', address, cause: 'shutdown' }).state, 'left')
  assert.equal(neighborAsMember({ type: 'neighborDown', peer: '10.0.0.7:7946', address, cause: 'timeout' }).state, 'dead')
})

test('a handler that only user events or queries could run is refused with --membership hyparview, naming the mode and the fix; one with any member filter is kept', () => {
  assert.deepEqual(hyparviewHandlerProblems([parseEventHandler('member-join=./j.sh'), parseEventHandler('./all.sh'), parseEventHandler('member-failed,user:deploy=./x.sh')]), [])
  const problems = hyparviewHandlerProblems([parseEventHandler('user:deploy=./deploy.sh'), parseEventHandler('query,user=./q.sh')])
  assert.equal(problems.length, 2)
  assert.match(problems[0], /--event-handler "user:deploy=\.\/deploy\.sh": with --membership hyparview no user event or query ever arrives .* member-join .* or run --membership swim/)
  const resolve = (membership: string) => () =>
    resolveAgentConfig({ name: 'a', bind: '127.0.0.1:0', http: '127.0.0.1:0', membership, eventHandler: ['query:load=./load.sh'] }, {}, () => '{}')
  assert.throws(resolve('hyparview'), /query:load=\.\/load\.sh.*--membership hyparview/)
  assert.doesNotThrow(resolve('swim'))
})

test('two hyparview agents on loopback: the handler runs member-join for the new neighbour and member-leave when it leaves, with GRAPEVINE_MEMBERSHIP=hyparview', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-overlay-handlers-'))
  const out = join(dir, 'runs.out')
  const script = join(dir, 'dump.sh')
  writeFileSync(script, `#!/bin/sh\n{ echo "--- $SERF_EVENT $GRAPEVINE_MEMBERSHIP $SERF_SELF_NAME"; cat; echo "--- end"; } >> '${out}'\n`)
  chmodSync(script, 0o755)
  const runs = (): Array<{ head: string; stdin: string }> =>
    existsSync(out)
      ? readFileSync(out, 'utf8')
          .split('--- ')
          .filter((r) => r !== '' && r !== 'end\n')
          .map((r) => {
            const [head, ...rest] = r.split('\n')
            return { head, stdin: rest.join('\n') }
          })
      : []
  const overlay = { membership: 'hyparview', overlay: { hyparview: { keepAliveIntervalMs: 200, keepAliveTimeoutMs: 5000, shuffleIntervalMs: 1000, neighborRequestTimeoutMs: 2000 } } }
  const agents: Agent[] = []
  try {
    agents.push(await startTestAgent('oh-0', { eventHandler: [`member-join,member-leave,member-failed=${script}`], eventHandlerCoalesce: '0' }, overlay))
    agents.push(await startTestAgent('oh-1', { join: [gossipAddress(agents[0])] }, overlay))
    const peer = gossipAddress(agents[1])
    const linesFor = (event: string) => runs().filter((r) => r.head.startsWith(`${event} `) && r.stdin.split('\n').some((l) => l.startsWith(`${peer}\t`)))
    await waitFor('member-join for the new neighbour', () => linesFor('member-join').length >= 1, 20_000)
    const joined = linesFor('member-join')[0]
    assert.equal(joined.head, 'member-join hyparview oh-0')
    assert.ok(joined.stdin.startsWith(`${peer}\t127.0.0.1\t\t\n`), JSON.stringify(joined.stdin))
    await agents[1].stop()
    await waitFor('member-leave when it left', () => linesFor('member-leave').length >= 1, 20_000)
    assert.equal(linesFor('member-failed').length, 0, 'a graceful leave is not a failure')
  } finally {
    await stopAll(agents)
  }
})
