// The agent's encryption: --encrypt and --keyring-file, `grapevine keys` against a running agent (no
// restart; the keyring file follows every change), `grapevine keygen`, and key material never shown.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { UsageError } from '../../src/core/errors.js'
import { fingerprint, parseKey } from '../../src/wire/keyring.js'
import { agentConfigWithFiles, gossipAddress, runCli, stopAll, url, waitFor } from './helpers.js'

const K1 = Buffer.alloc(32, 1).toString('base64')
const K2 = Buffer.alloc(16, 2).toString('base64')

const config = agentConfigWithFiles

test('an agent\'s keys rotate through the CLI and the keyring file follows', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-keys-'))
  const agents: Agent[] = []
  try {
    const ring = join(dir, 'keyring.json')
    const a1 = await Agent.start(config('k1', { encrypt: K1, keyringFile: ring }))
    agents.push(a1)
    assert.deepEqual(JSON.parse(readFileSync(ring, 'utf8')), [K1], 'the keyring file is written at start')
    const a2 = await Agent.start(config('k2', { encrypt: K1, join: [gossipAddress(a1)] }))
    agents.push(a2)
    await waitFor('k1 and k2 see each other', () => a1.node.members().filter((m) => m.state === 'alive').length === 2 && a2.node.members().filter((m) => m.state === 'alive').length === 2, 20_000)

    const http = ['--http', a1.httpAddress]
    const info = await runCli(['info', '--json', ...http])
    assert.equal(info.code, 0, info.stderr)
    const enc = (JSON.parse(info.stdout) as { encryption: { encrypting: boolean; primary: string } }).encryption
    assert.equal(enc.encrypting, true)
    assert.equal(enc.primary, fingerprint(parseKey(K1)))
    assert.ok(!info.stdout.includes(K1), 'info must not show the key')

    const metrics = await (await fetch(url(a1, '/metrics'))).text()
    assert.match(metrics, /grapevine_encryption_enabled\{node="k1"\} 1/)
    assert.match(metrics, /grapevine_keyring_keys\{node="k1"\} 1/)
    const gen = await runCli(['keygen'])
    assert.equal(gen.code, 0)
    assert.equal(parseKey(gen.stdout.trim()).length, 32)

    // Rotation on both agents, K1 → K2, through the CLI.
    for (const a of agents) {
      const r = await runCli(['keys', 'install', K2, '--http', a.httpAddress])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /installed/)
    }
    for (const a of agents) assert.equal((await runCli(['keys', 'use', K2, '--http', a.httpAddress])).code, 0)
    const removePrimary = await runCli(['keys', 'remove', K2, ...http])
    assert.equal(removePrimary.code, 1)
    assert.match(removePrimary.stderr, /409.*primary/)
    for (const a of agents) assert.equal((await runCli(['keys', 'remove', K1, '--http', a.httpAddress])).code, 0)
    assert.deepEqual(JSON.parse(readFileSync(ring, 'utf8')), [K2], 'the keyring file follows the rotation')
    const list = await runCli(['keys', 'list', ...http])
    assert.equal(list.code, 0)
    assert.ok(list.stdout.includes(fingerprint(parseKey(K2))) && !list.stdout.includes(K2), list.stdout)

    // The verify switches, through the CLI (the plaintext-to-encrypted switch), and their usage errors.
    const relax = await runCli(['keys', 'verify', '--incoming', 'false', '--json', ...http])
    assert.equal(relax.code, 0, relax.stderr)
    assert.equal((JSON.parse(relax.stdout) as { verifyIncoming: boolean }).verifyIncoming, false)
    assert.equal(a1.node.encryption().verifyIncoming, false)
    assert.equal((await runCli(['keys', 'verify', '--incoming', 'true', ...http])).code, 0)
    assert.equal(a1.node.encryption().verifyIncoming, true)
    assert.equal((await runCli(['keys', 'verify', ...http])).code, 2)
    assert.equal((await runCli(['keys', 'verify', '--outgoing', 'maybe', ...http])).code, 2)

    // Bad input: 4xx with the reason.
    const notInstalled = await fetch(url(a1, '/v1/keys/use'), { method: 'POST', body: JSON.stringify({ key: K1 }) })
    assert.equal(notInstalled.status, 400)
    assert.match(((await notInstalled.json()) as { error: string }).error, /not installed/)
    const bad = await fetch(url(a1, '/v1/keys/install'), { method: 'POST', body: JSON.stringify({ key: 'short' }) })
    assert.equal(bad.status, 400)

    // Still one cluster after the rotation, and a restart from the keyring file alone rejoins it. The
    // restart keeps its address: under the same name from another address while the cluster still
    // holds the old one alive, it would be refused as a name conflict.
    const port = a1.node.port
    await a1.stop({ leave: false })
    agents.shift()
    const again = await Agent.start(config('k1', { bind: `127.0.0.1:${port}`, keyringFile: ring, join: [gossipAddress(a2)] }))
    agents.push(again)
    await waitFor('k1 is back with K2 from its keyring file', () => again.node.members().filter((m) => m.state === 'alive').length === 2, 20_000)
  } finally {
    await stopAll(agents)
    rmSync(dir, { recursive: true, force: true })
  }
})

test('agent encryption config errors name the source and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-keys-'))
  try {
    assert.throws(() => config('x', { encrypt: 'nope' }), (e: unknown) => e instanceof UsageError && /--encrypt.*16, 24 or 32/.test(e.message))
    const badRing = join(dir, 'bad.json')
    writeFileSync(badRing, '{"not": "an array"}')
    assert.throws(() => config('x', { keyringFile: badRing }), (e: unknown) => e instanceof UsageError && /keyring file.*array/.test(e.message))
    assert.throws(() => config('x', { encryptVerifyIncoming: 'maybe' }), (e: unknown) => e instanceof UsageError && /--encrypt-verify-incoming.*true or false/.test(e.message))
    const missing = join(dir, 'new.json')
    const c = config('x', { keyringFile: missing, encrypt: K2 })
    assert.deepEqual(c.keys, [K2])
    assert.equal(existsSync(missing), false, 'resolving the config writes nothing')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('security drops are logged at most once per reason per interval, with the count in between', async () => {
  const { EventEmitter } = await import('node:events')
  const { createLogger } = await import('../../src/agent/agent.js')
  const { warnSecurityDrops } = await import('../../src/agent/keyring-file.js')
  const lines: string[] = []
  const log = createLogger('warn', 'json', { write: (l: string) => void lines.push(l) })
  const node = new EventEmitter()
  let now = 0
  warnSecurityDrops(node as never, log, () => now, 10_000)
  const drop = (reason: string): void => void node.emit('event', { type: 'dropped', reason, from: { ip: '127.0.0.9', port: 1 }, detail: 'x' })
  for (let i = 0; i < 100; i++) drop('decrypt-failed')
  drop('label-mismatch')
  drop('bad-msgpack')
  now = 10_000
  drop('decrypt-failed')
  const recs = lines.map((l) => JSON.parse(l) as { reason: string; suppressedSinceLast: number })
  assert.deepEqual(recs.map((r) => [r.reason, r.suppressedSinceLast]), [['decrypt-failed', 0], ['label-mismatch', 0], ['decrypt-failed', 99]])
})
