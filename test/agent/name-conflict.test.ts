// An operator starts a second agent under a name the cluster already has: the newcomer's join is
// refused, `grapevine agent` exits 2 naming the conflict, the established agent keeps its name, a
// metric counts the claim, and nobody marks the established node left.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gossipAddress, runCli, sleep, startTestAgent, stopAll, url, waitFor } from './helpers.js'
import type { Agent } from '../../src/agent/agent.js'

test('a second agent under a taken name exits 2 with the conflict; the established one stays alive and the metric counts it', { timeout: 60_000 }, async () => {
  let a: Agent | undefined
  let b: Agent | undefined
  try {
    a = await startTestAgent('web-1')
    b = await startTestAgent('web-2', { join: [gossipAddress(a)] })
    const [ra, rb] = [a, b]
    await waitFor('both agents see each other', () => ra.node.members().length === 2 && rb.node.members().length === 2)

    const run = await runCli(['agent', '--name', 'web-1', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--profile', 'local', '--log-level', 'silent', '--join', gossipAddress(a)])
    assert.equal(run.code, 2, `exit code; stderr: ${run.stderr}`)
    assert.match(run.stderr, new RegExp(`name conflict: a live member named "web-1" already exists at 127\\.0\\.0\\.1:${a.node.port}`))
    assert.match(run.stderr, /give this node another name/)

    const metrics = await (await fetch(url(a, '/metrics'))).text()
    assert.match(metrics, /grapevine_name_conflicts_total\{role="established",node="web-1"\} [1-9]/)
    // Time for a wrong leave or death of web-1 to reach web-2, if one went out.
    await sleep(1500)
    const seen = b.node.members().find((m) => m.name === 'web-1')
    assert.deepEqual([seen?.state, seen?.address.port], ['alive', a.node.port])
  } finally {
    await stopAll([a, b])
  }
})
