// Interop with a real Serf (Debian's serf 0.9.4 package, memberlist 0.2.2) on loopback: three serf
// agents and one Grapevine node form one cluster; each side lists the other alive with its tags, and
// Grapevine marks a SIGKILLed agent failed. Without serf on PATH the test fails under CI and is skipped
// elsewhere, saying so; it never passes silently.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import dgram from 'node:dgram'
import type { GrapevineNode } from '../../src/index.js'
import { startNode } from '../../src/index.js'
import { sleep, waitFor } from '../runtime/helpers.js'

const MISSING = 'serf is not on PATH: install Debian\'s serf package (apt-get install serf) to run the Serf interop test'

function serfAvailable(): boolean {
  const r = spawnSync('serf', ['version'], { encoding: 'utf8' })
  return r.status === 0
}

/** A port free for both TCP and UDP on 127.0.0.1 (bind port 0 over TCP, then check UDP). */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4')
      u.once('error', () => resolve(false))
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
    })
    if (udpFree) return port
  }
  throw new Error('no free port found')
}

interface Agent {
  readonly name: string
  readonly bind: string
  readonly rpc: string
  readonly proc: ChildProcess
  log: string
}

interface SerfMember {
  name: string
  addr: string
  port: number
  tags: Record<string, string>
  status: string
}

/** `serf members -format=json` of one agent; asynchronous, so the Grapevine node keeps answering probes meanwhile. */
function serfMembers(rpc: string): Promise<SerfMember[]> {
  return new Promise((resolve) => {
    execFile('serf', ['members', `-rpc-addr=${rpc}`, '-format=json'], { encoding: 'utf8', timeout: 5000 }, (err, stdout) => {
      if (err) return resolve([])
      try {
        resolve((JSON.parse(stdout) as { members: SerfMember[] }).members)
      } catch {
        resolve([])
      }
    })
  })
}

/** Polls an asynchronous check every `everyMs` until true; throws naming `what` after `limitMs`. */
async function waitForAsync(what: string, check: () => Promise<boolean>, limitMs: number, everyMs: number, detail: () => Promise<string> | string): Promise<void> {
  const deadline = Date.now() + limitMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting until ${what}\n${await detail()}`)
    await sleep(everyMs)
  }
}

test('grapevine_joins_a_three_agent_serf_cluster_and_detects_a_killed_agent', { timeout: 180_000 }, async (t) => {
  if (!serfAvailable()) {
    if (process.env.CI) assert.fail(`${MISSING} (CI is set, so this is a failure, not a skip)`)
    t.skip(MISSING)
    return
  }
  const agents: Agent[] = []
  let node: GrapevineNode | undefined
  const tail = (): string => agents.map((a) => `--- ${a.name} log (last 3000 chars)\n${a.log.slice(-3000)}`).join('\n')
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const rpcPort = await freePort()
      const name = `serf${i}`
      const bind = `127.0.0.1:${port}`
      const rpc = `127.0.0.1:${rpcPort}`
      const proc = spawn('serf', ['agent', `-node=${name}`, `-bind=${bind}`, `-rpc-addr=${rpc}`, '-tag', 'env=test', '-log-level=debug'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const agent: Agent = { name, bind, rpc, proc, log: '' }
      proc.stdout!.on('data', (d: Buffer) => (agent.log += d.toString()))
      proc.stderr!.on('data', (d: Buffer) => (agent.log += d.toString()))
      agents.push(agent)
    }
    await waitForAsync('every serf agent answers RPC', async () => (await Promise.all(agents.map((a) => serfMembers(a.rpc)))).every((ms) => ms.length >= 1), 30_000, 500, tail)
    for (const a of agents.slice(1)) {
      const r = spawnSync('serf', ['join', `-rpc-addr=${a.rpc}`, agents[0].bind], { encoding: 'utf8', timeout: 10_000 })
      assert.equal(r.status, 0, `serf join failed: ${r.stdout}${r.stderr}`)
    }
    node = await startNode({
      name: 'grapevine',
      bind: '127.0.0.1:0',
      profile: 'local',
      config: { probeIntervalMs: 500, probeTimeoutMs: 200, reconnectIntervalMs: 0 },
      tags: { role: 'grapevine' },
    })
    assert.equal(await node.join([agents[1].bind]), 1)
    const gv = node
    const serfView = async (): Promise<string> =>
      (await Promise.all(agents.map(async (a) => `${a.name}: ${JSON.stringify((await serfMembers(a.rpc)).map((m) => [m.name, m.status, m.tags]))}`))).join('\n')
    const gvView = (): string => JSON.stringify(gv.members().map((m) => [m.name, m.state, m.tags]))
    await waitForAsync(
      'serf lists grapevine alive with role=grapevine and grapevine lists the three agents alive with env=test',
      async () => {
        const views = await Promise.all(agents.map((a) => serfMembers(a.rpc)))
        const serfSide = views.every((ms) => ms.some((m) => m.name === 'grapevine' && m.status === 'alive' && m.tags.role === 'grapevine'))
        const gvSide = agents.every((a) => gv.members().some((m) => m.name === a.name && m.state === 'alive' && m.tags.env === 'test'))
        return serfSide && gvSide
      },
      60_000,
      500,
      async () => `serf:\n${await serfView()}\ngrapevine: ${gvView()}\n${tail()}`,
    )
    // Kill one agent outright; Grapevine must declare it failed.
    const victim = agents[2]
    process.kill(victim.proc.pid!, 'SIGKILL')
    await waitFor(`grapevine marks ${victim.name} failed`, () => gv.members().some((m) => m.name === victim.name && m.state === 'dead'), 60_000, 500, () => `grapevine: ${gvView()}\n${tail()}`)
    assert.ok(agents.slice(0, 2).every((a) => gv.members().some((m) => m.name === a.name && m.state === 'alive')), gvView())
  } finally {
    await node?.shutdown()
    for (const a of agents) {
      if (a.proc.exitCode === null && a.proc.signalCode === null) {
        try {
          process.kill(a.proc.pid!, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    await Promise.all(agents.map((a) => (a.proc.exitCode !== null || a.proc.signalCode !== null ? undefined : new Promise((r) => a.proc.once('exit', r)))))
    await sleep(0)
  }
})
