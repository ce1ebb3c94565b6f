// Encryption against real Serf 0.9.4 agents on loopback: Grapevine nodes and `serf agent -encrypt` on the
// same key form one cluster; `serf keys` rotates keys across the running mixed cluster (install, use,
// remove; Grapevine answers Serf's key queries) without losing a member; nodes with a wrong key cannot
// join, either way.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { GrapevineNode } from '../../src/index.js'
import { JoinError, startNode } from '../../src/index.js'
import { fingerprint, parseKey } from '../../src/wire/keyring.js'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { agentConfigWithFiles } from '../agent/helpers.js'
import type { Agent as SerfAgent } from './serf-harness.js'
import { logsOf, requireSerf, serfCommand, serfMembers, startAgent, stopAll, waitUntil } from './serf-harness.js'

const FAST = { probeIntervalMs: 500, probeTimeoutMs: 200, reconnectIntervalMs: 0 }

test('Grapevine nodes and Serf agents share an encrypted cluster and rotate keys without losing a member', { timeout: 240_000 }, async (t) => {
  if (!requireSerf(t)) return
  const keygen = (): string => execFileSync('serf', ['keygen'], { encoding: 'utf8' }).trim()
  const k1 = keygen()
  // The new key is an AES-128 one (16 bytes): Serf accepts 16, 24 and 32.
  const k2 = randomBytes(16).toString('base64')
  const agents: SerfAgent[] = []
  const nodes: GrapevineNode[] = []
  const outsiders: GrapevineNode[] = []
  const failed: string[] = []
  const grapevineAgents: Agent[] = []
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-serf-keys-'))
  const ring = join(dir, 'gv1.keyring.json')
  try {
    for (let i = 0; i < 2; i++) await startAgent(`serf${i}`, agents, [`-encrypt=${k1}`])
    const j = await serfCommand(['join', `-rpc-addr=${agents[1].rpc}`, agents[0].bind])
    assert.equal(j.code, 0, j.output)
    // gv0 is a bare node, gv1 a whole agent with a keyring file (which must follow `serf keys`).
    nodes.push(await startNode({ name: 'gv0', bind: '127.0.0.1:0', profile: 'local', config: FAST, encryption: { keys: [k1] } }))
    const agent = await Agent.start(agentConfigWithFiles('gv1', { encrypt: k1, keyringFile: ring }))
    grapevineAgents.push(agent)
    nodes.push(agent.node)
    for (const n of nodes) n.on('member', (e) => void (e.type === 'failed' ? failed.push(`${n.name}: ${e.member.name}`) : undefined))
    assert.equal(await nodes[0].join([agents[0].bind]), 1)
    assert.equal(await nodes[1].join([`127.0.0.1:${nodes[0].port}`]), 1)
    const names = ['serf0', 'serf1', 'gv0', 'gv1']
    const views = async (): Promise<string> =>
      (await Promise.all(agents.map(async (a) => `${a.name}: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status]))}`))).join('\n') +
      '\n' + nodes.map((n) => `${n.name}: ${JSON.stringify(n.members().map((m) => [m.name, m.state]))}`).join('\n')
    const everyoneAlive = async (): Promise<boolean> => {
      const serfSide = await Promise.all(agents.map((a) => serfMembers(a.rpc)))
      return (
        serfSide.every((ms) => names.every((nm) => ms.some((m) => m.name === nm && m.status === 'alive'))) &&
        nodes.every((n) => names.every((nm) => n.members().some((m) => m.name === nm && m.state === 'alive')))
      )
    }
    await waitUntil('all four alive everywhere, encrypted', everyoneAlive, 60_000, async () => `${await views()}\n${logsOf(agents)}`, 500)

    /** Lets the cluster run: every Grapevine node receives `n` more packets, then everyone is still alive. */
    const settle = async (step: string, n = 20): Promise<void> => {
      const start = nodes.map((x) => x.stats().packetsIn)
      await waitUntil(`${step}: ${n} more packets at each grapevine node`, () => nodes.every((x, i) => x.stats().packetsIn >= start[i] + n), 30_000, views)
      await waitUntil(`${step}: all four still alive everywhere`, everyoneAlive, 30_000, async () => `${await views()}\n${logsOf(agents)}`, 500)
    }

    // Serf's keys commands reach every member through internal queries, the Grapevine nodes included:
    // they answer, so each command reports 4 of 4 and `keys -list` shows the keys on all four.
    const serfKeys = async (flag: string, key: string): Promise<string> => {
      const r = await serfCommand(['keys', `-rpc-addr=${agents[0].rpc}`, flag, key])
      assert.equal(r.code, 0, r.output)
      return r.output
    }
    await serfKeys('-install', k2)
    for (const n of nodes) assert.equal(n.encryption().keys.length, 2, `${n.name} did not install k2`)
    await settle('k2 installed')
    await serfKeys('-use', k2)
    for (const n of nodes) assert.equal(n.encryption().primary, fingerprint(parseKey(k2)), `${n.name} did not switch to k2`)
    await settle('k2 primary')
    const refused = await serfCommand(['keys', `-rpc-addr=${agents[0].rpc}`, '-remove', k2])
    assert.notEqual(refused.code, 0, 'removing the primary must fail')
    assert.match(refused.output, /4\/4 nodes reported failure|primary/i, refused.output)
    await serfKeys('-remove', k1)
    await settle('k1 removed')
    const list = await serfCommand(['keys', `-rpc-addr=${agents[1].rpc}`, '-list'])
    assert.equal(list.code, 0, list.output)
    assert.match(list.output, new RegExp(`${k2.replace(/[+/=]/g, (c) => `\\${c}`)}\\s+\\[4/4\\]`), list.output)
    assert.ok(!list.output.includes(k1), list.output)
    assert.deepEqual(failed, [], await views())
    await waitUntil('gv1\'s keyring file holds only k2', () => JSON.stringify(JSON.parse(readFileSync(ring, 'utf8'))) === JSON.stringify([k2]), 10_000, () => readFileSync(ring, 'utf8'))
    for (const n of nodes) {
      assert.deepEqual(n.exportKeys(), [k2])
      assert.equal(n.stats().dropped.get('decrypt-failed') ?? 0, 0, `${n.name} could not decrypt some packets`)
    }

    // Only k2 works now: a Grapevine node holding k1 alone cannot join a Serf agent, and a Serf agent
    // holding k1 cannot join a Grapevine node.
    const old = await startNode({ name: 'old-key', bind: '127.0.0.1:0', profile: 'local', config: FAST, encryption: { keys: [k1] } })
    outsiders.push(old)
    await assert.rejects(old.join([agents[1].bind]), (e: unknown) => e instanceof JoinError, 'a k1 node joined')
    const stranger = await startAgent('stranger', agents, [`-encrypt=${k1}`])
    const sj = await serfCommand(['join', `-rpc-addr=${stranger.rpc}`, `127.0.0.1:${nodes[0].port}`])
    assert.notEqual(sj.code, 0, `a serf agent with the old key joined grapevine: ${sj.output}`)
    const sj2 = await serfCommand(['join', `-rpc-addr=${stranger.rpc}`, agents[1].bind])
    assert.notEqual(sj2.code, 0, `serf1 still accepts the old key: ${sj2.output}`)
    assert.ok((nodes[0].stats().dropped.get('decrypt-failed') ?? 0) > 0, 'the stranger\'s stream was not counted')
    // And a fresh Grapevine node with k2 joins through a Serf agent.
    const fresh = await startNode({ name: 'fresh', bind: '127.0.0.1:0', profile: 'local', config: FAST, encryption: { keys: [k2] } })
    outsiders.push(fresh)
    assert.equal(await fresh.join([agents[1].bind]), 1)
    await waitUntil('fresh is alive at serf0', async () => (await serfMembers(agents[0].rpc)).some((m) => m.name === 'fresh' && m.status === 'alive'), 30_000, views, 500)
    for (const n of nodes) assert.ok(!n.members().some((m) => m.name === 'old-key' || m.name === 'stranger'), await views())
  } finally {
    await Promise.all([...outsiders, ...nodes.slice(0, 1)].map((n) => n.shutdown()))
    await Promise.all(grapevineAgents.map((a) => a.stop({ leave: false })))
    rmSync(dir, { recursive: true, force: true })
    await stopAll(agents.map((a) => a.proc))
  }
})
