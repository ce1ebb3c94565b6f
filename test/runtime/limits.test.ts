// Resource limits on loopback: a node flooded with junk datagrams and half-open TCP connections keeps
// a correct membership view, answers its probes (nobody suspects it) and still serves a join; every
// refusal is counted. And the per-source rate limiter in isolation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import net from 'node:net'
import type { GrapevineNode, MemberEvent } from '../../src/index.js'
import { SeededRng } from '../../src/core/rng.js'
import { SourceRateLimiter, maxInboundStreams } from '../../src/runtime/node/tcp.js'
import { FAST, fastNode, seedOf, shutdownAll, stateOf, view, waitFor } from './helpers.js'

test('the source rate limiter allows a burst, then the rate, and forgets the oldest source', () => {
  const l = new SourceRateLimiter(4, 2, 3)
  for (let i = 0; i < 4; i++) assert.ok(l.take('10.0.0.1', 0))
  assert.equal(l.take('10.0.0.1', 0), false)
  assert.equal(l.take('10.0.0.1', 400), false, '0.8 tokens after 400 ms')
  assert.ok(l.take('10.0.0.1', 500), 'one token after 500 ms at 2/s')
  assert.ok(l.take('10.0.0.2', 500))
  assert.ok(l.take('10.0.0.3', 500))
  assert.ok(l.take('10.0.0.4', 500))
  assert.equal(l.trackedSources, 3)
  // 10.0.0.1 was forgotten (least recently seen): it starts with a full burst again.
  for (let i = 0; i < 4; i++) assert.ok(l.take('10.0.0.1', 500))
})

for (const encrypted of [false, true]) {
  test(`a node flooded with junk datagrams and half-open connections keeps its view and answers probes${encrypted ? ' (encrypted)' : ''}`, { timeout: 120_000 }, async () => {
    const nodes: GrapevineNode[] = []
    const sockets: net.Socket[] = []
    const udp = dgram.createSocket('udp4')
    const suspicions: string[] = []
    try {
      // memberlist's LAN probe timeout (500 ms) rather than the 80 ms of the other loopback tests: the
      // machine running the suite is shared, and this test asserts that nobody is suspected at all.
      const config = { ...FAST, probeIntervalMs: 1000, probeTimeoutMs: 400 }
      // Encrypted, every junk datagram costs a decryption attempt with each of two keys.
      const encryption = encrypted ? { keys: [Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(16, 2).toString('base64')] } : undefined
      for (let i = 0; i < 4; i++) nodes.push(await fastNode(`f-${i}`, { config, encryption, ...(i === 0 ? {} : { join: [seedOf(nodes[0])] }) }))
      await waitFor('the cluster forms', () => nodes.every((n) => nodes.every((m) => stateOf(n, m.name) === 'alive')), 30_000, 100, () => view(nodes))
      const target = nodes[0]
      const t0 = Date.now()
      const phases: string[] = []
      for (const n of nodes) n.on('member', (e: MemberEvent) => void (e.type === 'suspected' || e.type === 'failed' ? suspicions.push(`${n.name}: ${e.member.name} ${e.type} at ${Date.now() - t0} ms`) : undefined))

      // Half-open connections: connect and never send a byte, more than the node serves at once.
      const halfOpen = maxInboundStreams + 72
      await Promise.all(
        Array.from({ length: halfOpen }, () => new Promise<void>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port: target.port }, () => resolve())
          s.on('error', () => resolve())
          s.on('close', () => resolve())
          sockets.push(s)
        })),
      )
      phases.push(`half-open done at ${Date.now() - t0}`)
      // Junk datagrams: random bytes, truncated real-looking types, in bursts while the protocol runs.
      const rng = new SeededRng(3)
      const probesBefore = nodes.slice(1).map((n) => n.stats().probes)
      const junkRounds = 40
      for (let round = 0; round < junkRounds; round++) {
        for (let i = 0; i < 100; i++) {
          const junk = rng.bytes(1 + rng.int(1200))
          if (i % 3 === 0) junk[0] = [0, 2, 4, 7, 9, 12][rng.int(6)]
          udp.send(junk, target.port, '127.0.0.1')
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      phases.push(`junk done at ${Date.now() - t0}`)
      // During the flood a new node can still join through the flooded one (idle connections make room).
      const late = await fastNode('f-late', { config, encryption, join: [seedOf(target)] })
      nodes.push(late)
      await waitFor('every node sees all five alive', () => nodes.every((n) => nodes.every((m) => stateOf(n, m.name) === 'alive')), 30_000, 100, () => view(nodes))
      // The others kept probing; nobody suspected anyone, the flooded node included.
      await waitFor('the others probed on', () => nodes.slice(1, 4).every((n, i) => n.stats().probes >= probesBefore[i] + 5), 30_000)
      assert.deepEqual(suspicions, [], view(nodes) + phases.join('\n'))
      const dropped = target.stats().dropped
      const decodeErrors = [...target.stats().decodeErrors.values()].reduce((a, b) => a + b, 0)
      assert.ok(decodeErrors >= junkRounds * 50, `junk counted as decode errors: ${decodeErrors}`)
      const refusedStreams = (dropped.get('stream-evicted-idle') ?? 0) + (dropped.get('too-many-streams') ?? 0) + (dropped.get('stream-rate-limited') ?? 0) + (dropped.get('stream-timeout') ?? 0)
      assert.ok(refusedStreams >= halfOpen - maxInboundStreams, `half-open connections counted: ${JSON.stringify([...dropped])}`)
    } finally {
      for (const s of sockets) s.destroy()
      udp.close()
      await shutdownAll(nodes)
    }
  })
}
