// Force-leave end to end: a crashed agent is failed everywhere; `grapevine force-leave` on one agent
// makes it left on every agent (the Serf leave intent is gossiped), and --prune forgets it everywhere.
// Also: a restarted agent starts one incarnation past the one its snapshot recorded.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, runCli, startTestAgent, stopAll, waitFor } from './helpers.js'

const stateOf = (a: Agent, name: string): string | undefined => a.node.members().find((m) => m.name === name)?.state

describe('force-leave', () => {
  const agents: Agent[] = []
  after(() => stopAll(agents))

  it('turns a failed member left everywhere, then prune forgets it', async () => {
    const f1 = await startTestAgent('f1')
    agents.push(f1)
    const f2 = await startTestAgent('f2', { join: [gossipAddress(f1)] })
    agents.push(f2)
    const f3 = await startTestAgent('f3', { join: [gossipAddress(f1)] })
    await waitFor('all see three alive', () => [f1, f2].every((a) => a.node.members().filter((m) => m.state === 'alive').length === 3), 10_000)

    await f3.stop({ leave: false }) // a crash: no goodbye
    await waitFor('f1 and f2 mark f3 failed', () => stateOf(f1, 'f3') === 'dead' && stateOf(f2, 'f3') === 'dead', 30_000)

    let leftEvents = 0
    const onMember = (e: { type: string; member: { name: string } }): void => {
      if (e.type === 'left' && e.member.name === 'f3') leftEvents++
    }
    f2.node.on('member', onMember)
    const run = await runCli(['force-leave', 'f3', '--http', f1.httpAddress])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /f3: failed → left/)
    assert.equal(stateOf(f1, 'f3'), 'left')
    // f2 hears it through the gossiped intent, and says so with a `left` event.
    await waitFor('f2 marks f3 left', () => stateOf(f2, 'f3') === 'left', 20_000)
    assert.equal(leftEvents, 1)
    f2.node.off('member', onMember)

    const pruned = await runCli(['force-leave', 'f3', '--prune', '--http', f1.httpAddress])
    assert.equal(pruned.code, 0, pruned.stderr)
    assert.match(pruned.stdout, /f3: left → pruned \(pruned\)/)
    await waitFor('f2 forgets f3', () => stateOf(f2, 'f3') === undefined, 20_000)
    assert.equal(stateOf(f1, 'f3'), undefined)

    const again = await runCli(['force-leave', 'f3', '--http', f1.httpAddress])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /404: no member named "f3"/)
  })

  it('a restarted agent starts one incarnation past its snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grapevine-inc-'))
    try {
      const snapshot = join(dir, 'snap.json')
      const s1 = await startTestAgent('s1')
      agents.push(s1)
      const s2 = await startTestAgent('s2', { join: [gossipAddress(s1)], snapshot })
      await waitFor('s1 sees s2', () => stateOf(s1, 's2') === 'alive', 10_000)
      s2.node.setTags({ v: '2' }) // a new incarnation: 2
      await waitFor('s1 sees the update', () => s1.node.members().find((m) => m.name === 's2')?.tags.v === '2', 10_000)
      const was = s2.node.localMember().incarnation
      await s2.stop({ leave: false })
      assert.equal((JSON.parse(readFileSync(snapshot, 'utf8')) as { incarnation: number }).incarnation, was)

      const again = await startTestAgent('s2', { snapshot, bind: `127.0.0.1:${s2.node.port}` })
      agents.push(again)
      assert.equal(again.node.localMember().incarnation, was + 1)
      // It rejoins from the snapshot's members, no seeds given, and s1 takes it back alive.
      await waitFor('s1 sees s2 alive at the new incarnation', () => {
        const m = s1.node.members().find((x) => x.name === 's2')
        return m?.state === 'alive' && m.incarnation >= was + 1
      }, 15_000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
