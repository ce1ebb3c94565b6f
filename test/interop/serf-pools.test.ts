// Datacenter pools with real Serf 0.9.4 agents in the LAN pools: a Serf agent in each datacenter's LAN
// pool beside a Grapevine server; the servers' WAN pool holds only the servers; an event and a query
// addressed to the other datacenter are relayed by its Grapevine server and reach its Serf agent
// (the user event handler runs once with the payload; the query handler's output comes back).
// Without serf on PATH the test fails under CI and is skipped elsewhere, saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDatacenterNode } from '../../src/index.js'
import type { DatacenterNode } from '../../src/index.js'
import type { Agent } from './serf-harness.js'
import { logsOf, requireSerf, serfMembers, startAgent, stopAll, waitUntil } from './serf-harness.js'

test('Serf agents in the LAN pools of two datacenters: they see the Grapevine server with its pool tags, and events and queries relayed from the other datacenter reach them', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-pools-'))
  const agents: Agent[] = []
  const nodes: DatacenterNode[] = []
  try {
    const out = join(dir, 'handled.txt')
    const handler = join(dir, 'handler.sh')
    // User events append NAME:PAYLOAD; queries answer "serf-dc2 saw PAYLOAD".
    writeFileSync(handler, `#!/bin/sh\nif [ "$SERF_EVENT" = query ]; then printf 'serf-dc2 saw %s' "$(cat)"; else { printf '%s:' "$SERF_USER_EVENT"; cat; echo; } >> '${out}'; fi\n`)
    chmodSync(handler, 0o755)
    writeFileSync(out, '')
    const serf1 = await startAgent('serf-dc1', agents)
    const serf2 = await startAgent('serf-dc2', agents, [`-event-handler=user,query=${handler}`])
    const s1 = await startDatacenterNode({ datacenter: 'dc1', lan: { name: 's1', bind: '127.0.0.1:0', profile: 'local', join: [serf1.bind] }, wan: { bind: '127.0.0.1:0', profile: 'local' } })
    nodes.push(s1)
    const wanSeed = `127.0.0.1:${s1.wan!.port}`
    const t1 = await startDatacenterNode({ datacenter: 'dc2', lan: { name: 't1', bind: '127.0.0.1:0', profile: 'local', join: [serf2.bind] }, wan: { bind: '127.0.0.1:0', profile: 'local', join: [wanSeed] } })
    nodes.push(t1)
    const detail = async (): Promise<string> =>
      `serf-dc1: ${JSON.stringify(await serfMembers(serf1.rpc))}\nserf-dc2: ${JSON.stringify(await serfMembers(serf2.rpc))}\nhandled: ${JSON.stringify(readFileSync(out, 'utf8'))}\n${logsOf(agents)}`
    await waitUntil('serf-dc1 lists s1 alive with its pool tags', async () => (await serfMembers(serf1.rpc)).some((m) => m.name === 's1' && m.status === 'alive' && m.tags.dc === 'dc1' && m.tags.role === 'server'), 20_000, detail)
    // The Serf agent's pool is the LAN pool alone: no WAN member, no member of dc2.
    assert.deepEqual((await serfMembers(serf1.rpc)).map((m) => m.name).sort(), ['s1', 'serf-dc1'])
    assert.equal((await serfMembers(serf1.rpc)).find((m) => m.name === 's1')?.tags.wan_addr, `127.0.0.1:${s1.wan!.port}`)
    await waitUntil('the WAN pool holds s1.dc1 and t1.dc2', () => s1.wan!.members().some((m) => m.name === 't1.dc2' && m.state === 'alive'), 15_000, detail)
    assert.deepEqual(t1.lan.members().map((m) => m.name).sort(), ['serf-dc2', 't1'])

    const ev = await s1.userEvent('deploy', 'v9', { datacenter: 'dc2' })
    assert.equal(ev.ok, true, ev.error)
    assert.equal(ev.servedBy, 't1')
    await waitUntil('serf-dc2 ran its handler for the relayed event', () => readFileSync(out, 'utf8').includes('deploy:v9'), 15_000, detail)
    const q = await s1.query('who', 'hello', { datacenter: 'dc2', timeoutMs: 2000 })
    assert.equal(q.ok, true, q.error)
    assert.ok(q.acks.includes('serf-dc2'), JSON.stringify(q))
    assert.deepEqual(q.responses.filter((r) => r.from === 'serf-dc2').map((r) => Buffer.from(r.payload).toString()), ['serf-dc2 saw hello'])
    // Once, and never in dc1.
    await new Promise((r) => setTimeout(r, 1000))
    // (Serf ends a payload on the handler's stdin with a newline of its own: blank lines are dropped.)
    assert.deepEqual(readFileSync(out, 'utf8').split('\n').filter((l) => l !== ''), ['deploy:v9'])
  } finally {
    await Promise.all(nodes.map((n) => n.shutdown()))
    await stopAll(agents.map((a) => a.proc))
    rmSync(dir, { recursive: true, force: true })
  }
})
