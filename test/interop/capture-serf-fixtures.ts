// Records what real serf 0.9.4 agents send a Grapevine node on loopback, for the golden fixtures in
// test/interop/fixtures/ (decoded and re-encoded by serf-fixtures.test.ts, which needs no serf).
//
//   npm run build && node dist/test/interop/capture-serf-fixtures.js --write
//
// Two agents (one compressing, one with -disable-compression) join the node by `serf join`; the node
// push-pulls with them every second; one agent fires a user event, the other leaves. A test-only tap
// on the node's Driver (and on Swim.handleStreamReply) records every datagram, stream request and
// stream reply it receives. Loopback only. Without `--write` (as when `node --test` finds this file)
// it does nothing.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Address } from '../../src/core/types.js'
import type { StreamResult } from '../../src/core/effects.js'
import { startNode } from '../../src/index.js'
import type { Driver } from '../../src/runtime/node/driver.js'
import type { Agent } from './serf-harness.js'
import { serfCommand, sleep, startAgent, stopAll, waitUntil } from './serf-harness.js'

export interface Capture {
  /** Which agent sent it (by its port), and how it arrived. */
  readonly source: string
  readonly kind: 'packet' | 'streamRequest' | 'streamReply'
  readonly hex: string
}

if (process.argv.includes('--write')) await capture()

async function capture(): Promise<void> {
  const agents: Agent[] = []
  const node = await startNode({
    name: 'grapevine',
    bind: '127.0.0.1:0',
    profile: 'local',
    config: { probeIntervalMs: 500, probeTimeoutMs: 200, pushPullIntervalMs: 1000, reconnectIntervalMs: 0 },
    tags: { role: 'grapevine' },
  })
  const records: Capture[] = []
  const seen = new Set<string>()
  const ports = new Map<number, string>()
  const record = (from: Address | undefined, kind: Capture['kind'], bytes: Uint8Array): void => {
    const hex = Buffer.from(bytes).toString('hex')
    if (seen.has(hex)) return
    seen.add(hex)
    records.push({ source: from === undefined ? 'serf' : (ports.get(from.port) ?? 'serf'), kind, hex })
  }
  const driver = (node as unknown as { driver: Driver }).driver
  const packet = driver.packet.bind(driver)
  const streamRequest = driver.streamRequest.bind(driver)
  driver.packet = (from, bytes) => {
    record(from, 'packet', bytes)
    packet(from, bytes)
  }
  driver.streamRequest = (from, bytes) => {
    record(undefined, 'streamRequest', bytes)
    return streamRequest(from, bytes)
  }
  const swim = driver.node.swim
  const reply = swim.handleStreamReply.bind(swim)
  swim.handleStreamReply = (id: number, result: StreamResult, now: number, out: Parameters<typeof reply>[3]) => {
    if (result.ok) record(undefined, 'streamReply', result.bytes)
    reply(id, result, now, out)
  }
  try {
    const zip = await startAgent('serf-zip', agents)
    const plain = await startAgent('serf-plain', agents, ['-disable-compression'])
    ports.set(Number(zip.bind.split(':')[1]), 'serf-zip')
    ports.set(Number(plain.bind.split(':')[1]), 'serf-plain')
    for (const a of agents) await serfCommand(['join', `-rpc-addr=${a.rpc}`, `127.0.0.1:${node.port}`])
    await waitUntil('both agents are members', () => node.members().filter((m) => m.state === 'alive').length === 3, 15_000, () => '')
    await sleep(3000)
    await serfCommand(['event', `-rpc-addr=${zip.rpc}`, 'deploy', 'v1.2.3'])
    await sleep(1500)
    await serfCommand(['leave', `-rpc-addr=${plain.rpc}`])
    await sleep(2000)
  } finally {
    await node.shutdown()
    await stopAll(agents.map((a) => a.proc))
  }
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'interop', 'fixtures')
  mkdirSync(dir, { recursive: true })
  const lines = records.map((r) => `${r.kind} ${r.source} ${r.hex}`)
  writeFileSync(join(dir, 'serf-0.9.4-capture.hex'), `# captured from serf 0.9.4 agents by test/interop/capture-serf-fixtures.ts: kind source hex\n${lines.join('\n')}\n`)
  process.stdout.write(`${records.length} captures written to ${dir}\n`)
}
