// What the CLI prints, as Serf's CLI prints it, checked against a stand-in agent on loopback (node:http
// answering the routes the commands call): `query` drops a response's trailing newline as `serf query`
// does, `monitor` prints a Serf user event once (it arrives as `user` and as a `message` via serf), and
// an agent address fetch will not connect to is named, not reported as "fetch failed"; and
// `agent --help` names every GRAPEVINE_* variable the configuration reads; the agent logs readable
// lines on a terminal (script(1) gives it one) and JSON lines into a pipe.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { call, membersCommand, monitorCommand, queryCommand, target } from '../../src/cli/client.js'
import { resolveAgentConfig } from '../../src/agent/config.js'
import { runCli } from './helpers.js'

/** Collects what a command writes. */
function collect(): { io: { out: (t: string) => void; err: (t: string) => void }; text: () => string } {
  let out = ''
  return { io: { out: (t) => void (out += t), err: (t) => void (out += t) }, text: () => out }
}

describe('the CLI against a stand-in agent', () => {
  let server: Server
  let http = ''
  const asked: string[] = []
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v1/query' && req.method === 'POST') {
        req.resume()
        res.writeHead(200, { 'content-type': 'application/json' })
        // A Serf handler's output ends with a newline; one written with printf does not.
        return void res.end(JSON.stringify({ name: 'load', lTime: 4, acks: ['a', 'b'], responses: [{ from: 'a', payload: 'busy\n' }, { from: 'b', payload: 'idle' }, { from: 'c', payload: 'two\nlines\n\n' }] }))
      }
      if (req.url?.startsWith('/v1/members') === true) {
        asked.push(req.url)
        res.writeHead(200, { 'content-type': 'application/json' })
        return void res.end('[]')
      }
      if (req.url?.startsWith('/v1/events') === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write(': connected\n\n')
        res.write(`event: user\ndata: ${JSON.stringify({ name: 'deploy', payload: 'v42', lTime: 3 })}\n\n`)
        res.write(`event: message\ndata: ${JSON.stringify({ id: 'x', name: 'deploy', payload: 'v42', origin: null, hops: 0, via: 'serf', lTime: 3, coalesce: true })}\n\n`)
        res.write(`event: message\ndata: ${JSON.stringify({ id: 'y', name: 'cache-flush', payload: 'all', origin: 'n2', hops: 1, via: 'grapevine' })}\n\n`)
        return void res.end()
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    http = `127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('query prints each response without its one trailing newline, as serf query does', async () => {
    const c = collect()
    assert.equal(await queryCommand('load', 'now', { http }, c.io, {}), 0)
    const lines = c.text().split('\n')
    assert.ok(lines.includes("Response from 'a': busy"), c.text())
    assert.ok(lines.includes("Response from 'b': idle"), c.text())
    assert.match(c.text(), /Response from 'c': two\nlines\n\nTotal acks: 2\n/)
    assert.doesNotMatch(c.text(), /busy\n\n/)
  })

  it('members passes --name, --status and --tag to the agent as serf members does', async () => {
    const c = collect()
    assert.equal(await membersCommand({ http, name: 'web-.*', status: 'alive|suspect', tag: ['role=web', 'zone=a'] }, c.io, {}), 0)
    const q = new URL(asked[asked.length - 1], 'http://x').searchParams
    assert.equal(q.get('name'), 'web-.*')
    assert.equal(q.get('status'), 'alive|suspect')
    assert.deepEqual(q.getAll('tag'), ['role=web', 'zone=a'])
  })

  it('monitor prints a Serf user event once, and a Grapevine broadcast as a broadcast', async () => {
    const c = collect()
    assert.equal(await monitorCommand({ http }, c.io, {}), 0)
    const lines = c.text().trim().split('\n')
    assert.equal(lines.filter((l) => /deploy/.test(l)).length, 1, c.text())
    assert.match(c.text(), /user event deploy: v42/)
    assert.match(c.text(), /broadcast cache-flush from n2 \(1 hops\): all/)
  })

  it('monitor --types message alone still prints the Serf user event, as a broadcast', async () => {
    const c = collect()
    assert.equal(await monitorCommand({ http, types: 'message' }, c.io, {}), 0)
    assert.match(c.text(), /broadcast deploy from a Serf user event \(no sender on the wire\)/)
  })
})

describe('addresses the CLI cannot use, named', () => {
  it('an agent on a port fetch refuses (6000) is named as such, not "fetch failed"', async () => {
    await assert.rejects(call(target({ http: '127.0.0.1:6000' }, {}), 'GET', '/v1/self'), /Node's fetch refuses port 6000 .*--http HOST:PORT/)
  })

  it('a --join seed with a port out of range says which port', () => {
    assert.throws(() => resolveAgentConfig({ join: ['127.0.0.1:99999'] }, {}, () => ''), /"127\.0\.0\.1:99999": port 99999 is out of range 1\.\.65535/)
  })
})

describe('agent --help', () => {
  it('names every GRAPEVINE_* variable the agent configuration reads, with its flag', async () => {
    const read = new Set<string>()
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_t, k) => {
        if (typeof k === 'string' && k.startsWith('GRAPEVINE_')) read.add(k)
        return undefined
      },
    })
    resolveAgentConfig({}, env, () => '')
    assert.ok(read.size >= 30, `read: ${[...read].join(' ')}`)
    const help = await runCli(['agent', '--help'])
    assert.equal(help.code, 0, help.stderr)
    const listed = new Set([...help.stdout.matchAll(/^ {2}(GRAPEVINE_[A-Z0-9_]+) +--/gm)].map((m) => m[1]))
    assert.deepEqual([...read].filter((v) => !listed.has(v)), [], 'read but not listed')
    assert.ok(listed.has('GRAPEVINE_EVENT_HANDLER_COALESCE'))
  })
})

/** Starts the agent, returns its first log line (the start record), then stops it. */
function firstLogLine(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const done = (err?: Error): void => {
      clearTimeout(limit)
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        // already gone
      }
      if (err !== undefined) reject(err)
      else resolve(out.split(/\r?\n/)[0])
    }
    const limit = setTimeout(() => done(new Error(`no start line within 15 s: ${out}`)), 15_000)
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8')
      if (/agent started[^\n]*\n/.test(out)) done()
    })
  })
}

describe('agent logs', () => {
  const cli = new URL('../../src/cli/cli.js', import.meta.url).pathname
  const agentArgs = ['agent', '--name', 'log-look', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-level', 'info']

  it('are readable lines on a terminal, without --log-format', async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) return t.skip('script(1) is not installed')
    const line = await firstLogLine('script', ['-q', '-e', '-c', [process.execPath, cli, ...agentArgs].join(' '), '/dev/null'])
    assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} INFO  agent started name=log-look /)
  })

  it('are JSON lines into a pipe', async () => {
    const line = await firstLogLine(process.execPath, [cli, ...agentArgs])
    const rec = JSON.parse(line) as { msg: string; name: string; level: number }
    assert.equal(rec.msg, 'agent started')
    assert.equal(rec.name, 'log-look')
  })
})
