import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveAgentConfig } from '../../src/agent/config.js'
import { createLogger } from '../../src/agent/agent.js'
import type { RawAgentFlags } from '../../src/agent/config.js'
import { UsageError } from '../../src/core/errors.js'

const files = (content: Record<string, string>) => (path: string): string => {
  const text = content[path]
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
  return text
}

function problemOf(flags: RawAgentFlags, env: Record<string, string> = {}, file: Record<string, unknown> | string = {}): string {
  try {
    resolveAgentConfig({ config: 'a.json', ...flags }, env, files({ 'a.json': typeof file === 'string' ? file : JSON.stringify(file) }))
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`)
    return e.message
  }
  assert.fail('expected a UsageError')
}

describe('agent config', () => {
  it('the defaults are Serf\'s, with HTTP on loopback', () => {
    const c = resolveAgentConfig({ name: 'n1' }, {}, files({}))
    assert.equal(c.bind, '0.0.0.0:7946')
    assert.equal(c.http, '127.0.0.1:7980')
    assert.equal(c.profile, 'lan')
    assert.equal(c.logFormat, 'json')
    assert.deepEqual(c.join, [])
    assert.equal(c.httpToken, undefined)
  })

  it('flags beat the environment, which beats the file', () => {
    const file = { name: 'from-file', bind: '127.0.0.3:7000', advertise: '127.0.0.9:7000', profile: 'wan', join: ['10.0.0.1:7946'], logLevel: 'debug' }
    const env = { GRAPEVINE_BIND: '127.0.0.2:7000', GRAPEVINE_PROFILE: 'local', GRAPEVINE_JOIN: '10.0.0.2:7946, seeds.example.com' }
    const c = resolveAgentConfig({ config: 'a.json', bind: '127.0.0.1:7000' }, env, files({ 'a.json': JSON.stringify(file) }))
    assert.equal(c.name, 'from-file')
    assert.equal(c.bind, '127.0.0.1:7000')
    assert.equal(c.advertise, '127.0.0.9:7000')
    assert.equal(c.profile, 'local')
    assert.deepEqual(c.join, ['10.0.0.2:7946', 'seeds.example.com'])
    assert.equal(c.logLevel, 'debug')
    const f = resolveAgentConfig({ config: 'a.json', join: ['10.0.0.3'] }, env, files({ 'a.json': JSON.stringify(file) }))
    assert.deepEqual(f.join, ['10.0.0.3'])
  })

  it('the config path can come from the environment', () => {
    const c = resolveAgentConfig({}, { GRAPEVINE_CONFIG: 'b.json' }, files({ 'b.json': '{"name":"env-file"}' }))
    assert.equal(c.name, 'env-file')
  })

  it('tags merge key by key, flags winning', () => {
    const c = resolveAgentConfig(
      { config: 'a.json', tag: ['role=api', 'dc=eu=1'] },
      { GRAPEVINE_TAGS: 'role=db,zone=b' },
      files({ 'a.json': '{"tags":{"role":"web","rack":"r1"}}' }),
    )
    assert.deepEqual(c.tags, { role: 'api', rack: 'r1', zone: 'b', dc: 'eu=1' })
  })

  it('errors name the source, the value and the fix', () => {
    assert.match(problemOf({ bind: 'localhost' }), /--bind "localhost": expected HOST:PORT with an IP literal/)
    assert.match(problemOf({}, { GRAPEVINE_BIND: 'nope' }), /GRAPEVINE_BIND "nope": expected HOST:PORT/)
    assert.match(problemOf({}, {}, { bind: 7946 }), /config file a\.json field "bind" 7946: expected HOST:PORT/)
    assert.match(problemOf({ profile: 'fast' }), /--profile "fast": expected one of lan, wan, local/)
    assert.match(problemOf({ tag: ['role'] }), /--tag "role": expected KEY=VALUE/)
    assert.match(problemOf({ logFormat: 'xml' }), /--log-format "xml": expected one of json, pretty/)
    assert.match(problemOf({ joinRetryMax: '-1' }), /--join-retry-max "-1": expected a whole number/)
    assert.match(problemOf({}, {}, { colour: 'red' }), /unknown field "colour"/)
    assert.match(problemOf({}, {}, '{not json'), /--config "a\.json": not valid JSON/)
    assert.match(problemOf({ config: 'missing.json' }), /--config "missing\.json": cannot read the file \(ENOENT\)/)
    assert.match(problemOf({}, {}, { swim: { probeIntervalMs: -5 } }), /field "swim": probeIntervalMs/)
  })

  it('every problem is listed at once', () => {
    const msg = problemOf({ bind: 'x', profile: 'y' })
    assert.match(msg, /--bind/)
    assert.match(msg, /--profile/)
  })

  it('HTTP off loopback requires a token', () => {
    assert.match(problemOf({ http: '0.0.0.0:7980' }), /--http "0\.0\.0\.0:7980": the HTTP API is off loopback, so it needs a token; add --http-token/)
    const c = resolveAgentConfig({ http: '0.0.0.0:7980', httpToken: 's3cret' }, {}, files({}))
    assert.equal(c.httpToken, 's3cret')
    assert.equal(resolveAgentConfig({ http: '[::1]:7980' }, {}, files({})).httpToken, undefined)
  })
})

describe("the agent's V8 lite mode", () => {
  it('is off by default, and on from the flag or the environment', () => {
    assert.equal(resolveAgentConfig({ name: 'n1' }, {}, files({})).v8LiteMode, false)
    assert.equal(resolveAgentConfig({ name: 'n1', v8LiteMode: true }, {}, files({})).v8LiteMode, true)
    assert.equal(resolveAgentConfig({ name: 'n1' }, { GRAPEVINE_V8_LITE_MODE: 'true' }, files({})).v8LiteMode, true)
  })

  it('refuses a value that is not true or false, naming the variable; the file cannot set it', () => {
    assert.match(problemOf({ name: 'n1' }, { GRAPEVINE_V8_LITE_MODE: 'yes' }), /GRAPEVINE_V8_LITE_MODE "yes": expected true or false/)
    assert.match(problemOf({}, {}, { name: 'n1', v8LiteMode: true }), /v8LiteMode/)
  })
})

describe('agent logs', () => {
  it('JSON logs are one object per line and pretty logs are readable', () => {
    const lines: string[] = []
    const sink = { write: (l: string) => lines.push(l) }
    createLogger('info', 'json', sink).info({ member: 'web-2' }, 'member joined')
    createLogger('info', 'pretty', sink).warn({ member: 'web-3', attempt: 2 }, 'join failed')
    createLogger('warn', 'json', sink).info('filtered out')
    assert.equal(lines.length, 2)
    const rec = JSON.parse(lines[0]) as { level: number; msg: string; member: string }
    assert.deepEqual([rec.level, rec.msg, rec.member], [30, 'member joined', 'web-2'])
    assert.match(lines[1], /^\d\d:\d\d:\d\d\.\d{3} WARN  join failed member=web-3 attempt=2\n$/)
  })
})
