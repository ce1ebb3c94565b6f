// A server's WAN pool keyring, apart from its LAN keyring: `grapevine keys … --wan` and /v1/keys?wan=1
// on loopback agents of two datacenters (rotation K1 → K2 across the WAN pool while the LAN pools keep
// K1, the WAN keyring file beside the agent's following it and read back at the next start), and the
// config file's wanSwim: the WAN pool's SWIM timings per field, checked with "did you mean".
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { resolveAgentConfig } from '../../src/agent/config.js'
import type { RawAgentFlags } from '../../src/agent/config.js'
import { wanKeyringPath } from '../../src/agent/pools-config.js'
import { UsageError } from '../../src/core/errors.js'
import { formatAddress } from '../../src/pools/names.js'
import { fingerprint, parseKey } from '../../src/wire/keyring.js'
import { FAST } from '../runtime/helpers.js'
import { gossipAddress, runCli, stopAll, url, waitFor } from './helpers.js'

const K1 = Buffer.alloc(32, 1).toString('base64')
const K2 = Buffer.alloc(32, 2).toString('base64')
const WAN_FAST = { probeIntervalMs: 500, probeTimeoutMs: 200, gossipIntervalMs: 100, pushPullIntervalMs: 5000 }

/** An agent config whose config file is `file` (with FAST SWIM timings) and whose other files are read from disk. */
function config(name: string, flags: RawAgentFlags, file: Record<string, unknown> = {}) {
  const read = (p: string): string => (p === 'agent.json' ? JSON.stringify({ swim: FAST, joinRetryIntervalMs: 50, ...file }) : readFileSync(p, 'utf8'))
  return resolveAgentConfig({ name, bind: '127.0.0.1:0', http: '127.0.0.1:0', profile: 'local', logLevel: 'silent', config: 'agent.json', ...flags }, {}, read)
}

const readKeys = (path: string): string[] => JSON.parse(readFileSync(path, 'utf8')) as string[]

test('the WAN keyring rotates apart from the LAN one through keys --wan, and its file follows and is read back', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-wan-keys-'))
  const agents: Agent[] = []
  try {
    const ringA = join(dir, 'a1-keyring.json')
    const ringB = join(dir, 'b1-keyring.json')
    const server = (dc: string, ring: string, joinWan: string[] = []): RawAgentFlags => ({ datacenter: dc, server: true, wanBind: '127.0.0.1:0', joinWan, encrypt: K1, keyringFile: ring })
    const a1 = await Agent.start(config('a1', server('dc1', ringA), { wanSwim: WAN_FAST }))
    agents.push(a1)
    const b1 = await Agent.start(config('b1', server('dc2', ringB, [formatAddress(a1.pools!.wan!.address)]), { wanSwim: WAN_FAST }))
    agents.push(b1)
    const b2 = await Agent.start(config('b2', { datacenter: 'dc2', join: [gossipAddress(b1)], encrypt: K1 }))
    agents.push(b2)
    await waitFor('the WAN pool holds a1.dc1 and b1.dc2', () => a1.pools!.wan!.members().filter((m) => m.state === 'alive').length === 2, 20_000)
    await waitFor('b2 joined dc2', () => b1.node.members().some((m) => m.name === 'b2' && m.state === 'alive'), 20_000)
    // The WAN keyring file is written at start, beside the agent's.
    await waitFor('a1 wrote its WAN keyring file', () => {
      try {
        return readKeys(wanKeyringPath(ringA)).length === 1
      } catch {
        return false
      }
    }, 5000)
    assert.equal(wanKeyringPath(ringA), join(dir, 'a1-keyring.wan.json'))

    // Rotation across the WAN pool, K1 → K2, on every server: install, use, remove (a1 by the CLI, b1 by HTTP).
    for (const [op, key] of [['install', K2], ['use', K2], ['remove', K1]]) {
      const r = await runCli(['keys', op, key, '--wan', '--http', a1.httpAddress])
      assert.equal(r.code, 0, `${op} on a1: ${r.stderr}`)
      assert.match(r.stdout, /^WAN pool: encryption: on/)
      const h = await fetch(url(b1, `/v1/keys/${op}?wan=1`), { method: 'POST', body: JSON.stringify({ key }) })
      assert.equal(h.status, 200, `${op} on b1: ${await h.text()}`)
    }
    for (const ring of [ringA, ringB]) {
      assert.deepEqual(readKeys(wanKeyringPath(ring)), [K2], 'the WAN keyring file follows the rotation')
      assert.deepEqual(readKeys(ring), [K1], 'the LAN keyring file is untouched')
    }
    const wanList = JSON.parse((await runCli(['keys', 'list', '--wan', '--json', '--http', a1.httpAddress])).stdout) as { primary: string; keys: string[] }
    assert.deepEqual([wanList.primary, wanList.keys], [fingerprint(parseKey(K2)), [fingerprint(parseKey(K2))]])
    const lanList = (await (await fetch(url(a1, '/v1/keys'))).json()) as { primary: string }
    assert.equal(lanList.primary, fingerprint(parseKey(K1)))

    // The WAN pool works under K2 alone: an event from dc1 is relayed by b1 and reaches b2 (LAN, K1).
    const got: string[] = []
    b2.node.on('message', (m) => {
      if (m.name === 'after-rotation') got.push(Buffer.from(m.payload).toString())
    })
    const ev = await a1.pools!.userEvent('after-rotation', 'k2', { datacenter: 'dc2' })
    assert.equal(ev.ok, true, ev.error)
    await waitFor('b2 received the event relayed over the rotated WAN pool', () => got.length === 1, 15_000)
    assert.ok(a1.pools!.wan!.members().every((m) => m.state === 'alive'), 'the WAN pool stayed whole through the rotation')

    // A client has no WAN keyring: a 400 that says where to ask.
    const fromClient = await runCli(['keys', 'list', '--wan', '--http', b2.httpAddress])
    assert.equal(fromClient.code, 1)
    assert.match(fromClient.stderr, /400.*only servers are in the WAN pool/)

    // At the next start the WAN keyring comes from its file: K2, while the LAN pool keeps K1.
    const again = config('a1', server('dc1', ringA))
    assert.deepEqual([again.pools?.wanKeys, again.keys], [[K2], [K1]])
  } finally {
    await stopAll(agents)
    rmSync(dir, { recursive: true, force: true })
  }
})

test('wanSwim in the config file: per-field WAN timings, checked with "did you mean", for servers only', () => {
  const problems = (flags: RawAgentFlags, file: Record<string, unknown>): string => {
    try {
      config('x', flags, file)
    } catch (e) {
      assert.ok(e instanceof UsageError)
      return e.message
    }
    return ''
  }
  const srv = { datacenter: 'dc1', server: true, wanBind: '127.0.0.1:0' }
  assert.deepEqual(config('x', srv, { wanSwim: { probeIntervalMs: 4000 } }).pools?.wanSwim, { probeIntervalMs: 4000 })
  assert.match(problems(srv, { wanSwim: { probeIntervlMs: 3000 } }), /field "wanSwim": probeIntervlMs is not a configuration field \(did you mean "probeIntervalMs"\?\)/)
  assert.match(problems(srv, { wanSwim: { probeTimeoutMs: -1 } }), /field "wanSwim": probeTimeoutMs must be an integer in \[1, .*the wan default is 3000/)
  assert.match(problems(srv, { wanSwim: [1] }), /field "wanSwim" \[1\]: expected an object of the WAN pool's SWIM settings/)
  assert.match(problems({ datacenter: 'dc1' }, { wanSwim: {} }), /field "wanSwim": only servers run the WAN pool; add --server/)
  assert.match(problems({}, { wanSwim: {} }), /field "wanSwim": only for a server of a datacenter/)
  assert.equal(wanKeyringPath('/etc/gv/keyring'), '/etc/gv/keyring.wan')
  assert.equal(wanKeyringPath('ring.v2.json'), 'ring.v2.wan.json')
})
