import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, runCli, startTestAgent, stopAll, waitFor } from './helpers.js'

const CLI = new URL('../../src/cli/cli.js', import.meta.url).pathname

const cli = runCli

/** A loopback port nobody listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

describe('grapevine CLI clients', () => {
  let a1: Agent
  let a2: Agent
  const extra: Agent[] = []
  before(async () => {
    a1 = await startTestAgent('c1', { tag: ['role=web'] })
    a2 = await startTestAgent('c2', { join: [gossipAddress(a1)] })
    await waitFor('c1 sees c2', () => a1.node.members().length === 2, 10_000)
  })
  after(() => stopAll([a1, a2, ...extra]))

  it('members --json lists the cluster with tags', async () => {
    const r = await cli(['members', '--json', '--http', a1.httpAddress])
    assert.equal(r.code, 0, r.stderr)
    const members = JSON.parse(r.stdout) as Array<{ name: string; state: string; tags: Record<string, string> }>
    assert.deepEqual(members.map((m) => m.name).sort(), ['c1', 'c2'])
    assert.deepEqual(members.find((m) => m.name === 'c1')?.tags, { role: 'web' })
  })

  it('members prints a table and filters by tag', async () => {
    const r = await cli(['members', '--tag', 'role=web'], { GRAPEVINE_HTTP_ADDR: a2.httpAddress })
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.match(lines[0], /^NAME\s+ADDRESS\s+STATUS\s+TAGS$/)
    assert.equal(lines.length, 2)
    assert.match(lines[1], /^c1\s+127\.0\.0\.1:\d+\s+alive\s+role=web$/)
  })

  it('info --json shows the agent it asked', async () => {
    const r = await cli(['info', '--json', '--http', a2.httpAddress])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((JSON.parse(r.stdout) as { member: { name: string } }).member.name, 'c2')
  })

  it('join reports how many nodes answered', async () => {
    const r = await cli(['join', gossipAddress(a1), '--http', a2.httpAddress])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /contacting 1 node/)
  })

  it('monitor streams member events', async () => {
    const child = execFile(process.execPath, [CLI, 'monitor', '--json', '--http', a1.httpAddress])
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise((r) => child.on('exit', r))
    try {
      // Keep starting members until one event arrived (the monitor may connect after the first join).
      for (let i = 0; i < 20 && !/"event":"member"/.test(out); i++) {
        const m = await startTestAgent(`watched${i}`, { join: [gossipAddress(a1)] })
        extra.push(m)
        await waitFor('monitor prints', () => /"event":"member"/.test(out), 1_000).catch(() => undefined)
      }
      assert.match(out, /\{"event":"member","type":"joined","member":\{"name":"watched\d+"/)
    } finally {
      child.kill('SIGINT')
      await exited
    }
  })

  it('a missing agent is named, with how to start one', async () => {
    const port = await closedPort()
    const r = await cli(['members', '--http', `127.0.0.1:${port}`])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `grapevine: no agent at http://127.0.0.1:${port} — start one with \`grapevine agent --bind 127.0.0.1:7946\`\n`)
  })

  it('agent usage errors exit 2 without a stack trace', async () => {
    const r = await cli(['agent', '--bind', 'nowhere', '--http', '127.0.0.1:0'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^grapevine: --bind "nowhere": expected HOST:PORT/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  })

  it('an agent process leaves on SIGTERM and exits 0', async () => {
    const child = execFile(process.execPath, [CLI, 'agent', '--name', 'proc', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--profile', 'local', '--join', gossipAddress(a1)])
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    await waitFor('the process agent joined', () => a1.node.members().some((m) => m.name === 'proc' && m.state === 'alive'), 15_000)
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
    assert.match(out, /"msg":"agent stopped"/)
    await waitFor('c1 sees proc left', () => a1.node.members().find((m) => m.name === 'proc')?.state === 'left', 10_000)
  })
})
