/**
 * `npm run bench:security`: what encryption costs, side by side with plaintext in one run.
 *
 *   node dist/bench/security.js [--nodes 32] [--window 20] [--warmup 5]
 *
 * 1. Packets per second, one core: sealing (AES-GCM with the primary key, a fresh nonce from the
 *    system's CSPRNG) and opening (decrypting with the installed keys) a small gossip packet and a
 *    full one, with 16- and 32-byte keys, next to decoding the same packet in plaintext.
 * 2. Bytes per second per node in a cluster of --nodes real nodes on loopback (one process, memberlist's
 *    LAN timings), first without a key, then with one: UDP and TCP bytes on the wire (memberlist
 *    framing, no IP/UDP headers; the envelope of encrypted packets included), measured over --window s
 *    after convergence and --warmup s.
 * 3. The same in the simulator (deterministic: SWIM alone, LAN timings, 1 % loss, 60 virtual s after
 *    30 s), plaintext and encrypted, the encrypted nodes packing 29 bytes less per packet as the real
 *    runtime does.
 *
 * Prints tables and writes bench/results/security-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { startNode, type GrapevineNode } from '../src/index.js'
import { cryptoRandom } from '../src/runtime/node/crypto-random.js'
import { SeededRng } from '../src/core/rng.js'
import { decodePacket, encodeCompound, encodeMessage } from '../src/wire/codec.js'
import type { AliveMsg } from '../src/wire/messages.js'
import { addCrc } from '../src/wire/crc32.js'
import { Keyring, formatKey } from '../src/wire/keyring.js'
import { WireSecurity, encryptOverheadBytes } from '../src/wire/security.js'
import { nodeAead } from '../src/wire/aead-node.js'
import { Simulation } from '../src/runtime/sim/simulation.js'
import type { SimNode } from '../src/runtime/sim/node.js'
import { measure } from './codec.js'
import { table } from './sim.js'

const RUN_MS = 400
const WARMUP_MS = 80

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i < 0 ? fallback : Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${process.argv[i + 1]}`)
  return v
}

function alive(i: number): Uint8Array {
  const m: AliveMsg = {
    type: 'alive',
    incarnation: 3,
    node: `node-${i}.grapevine.local`,
    addr: Uint8Array.of(10, 0, 0, i & 0xff),
    port: 7946,
    meta: new TextEncoder().encode(`role\x00web\x00zone\x00a`),
    vsn: Uint8Array.of(1, 5, 2, 2, 5, 4),
  }
  return encodeMessage(m).slice()
}

/** A CRC-wrapped compound of alive messages of about `bytes` bytes, as gossip sends to protocol-5 peers. */
function gossipPacket(bytes: number): Uint8Array {
  const parts: Uint8Array[] = []
  let size = 7
  for (let i = 0; size < bytes; i++) {
    const p = alive(i)
    parts.push(p)
    size += p.length + 2
  }
  return addCrc(encodeCompound(parts)).slice()
}

interface CipherRow {
  packet: string
  bytes: number
  case: string
  packetsPerSec: number
  mbPerSec: number
}

function cipherBench(): CipherRow[] {
  const rng = new SeededRng(5)
  const rows: CipherRow[] = []
  const rate = (op: () => unknown): number => {
    measure(op, WARMUP_MS)
    return measure(op, RUN_MS)
  }
  for (const [name, packet] of [['small gossip', gossipPacket(200)], ['full packet', gossipPacket(1371)]] as const) {
    const add = (c: string, perSec: number): void => {
      rows.push({ packet: name, bytes: packet.length, case: c, packetsPerSec: Math.round(perSec), mbPerSec: Math.round((perSec * packet.length) / 1e4) / 100 })
    }
    add('plaintext decode', rate(() => decodePacket(packet)))
    for (const keyBytes of [16, 32]) {
      const sec = new WireSecurity({ keyring: new Keyring([rng.bytes(keyBytes)]), aead: nodeAead }, cryptoRandom())
      const sealed = sec.sealPacket(packet)
      add(`seal, ${keyBytes}-byte key`, rate(() => sec.sealPacket(packet)))
      add(`open, ${keyBytes}-byte key`, rate(() => sec.openPacket(sealed)))
      // Rotation: the key that sealed it is the second one tried.
      const rotating = new WireSecurity({ keyring: new Keyring([rng.bytes(keyBytes), sec.keyring.keys[0]]), aead: nodeAead }, cryptoRandom())
      add(`open, ${keyBytes}-byte key second of 2`, rate(() => rotating.openPacket(sealed)))
      add(`open + decode, ${keyBytes}-byte key`, rate(() => {
        const o = sec.openPacket(sealed)
        return o.ok ? decodePacket(o.value) : o
      }))
    }
  }
  return rows
}

interface ClusterRow {
  mode: string
  nodes: number
  windowS: number
  udpBytesPerSecPerNode: number
  tcpBytesPerSecPerNode: number
  packetsPerSecPerNode: number
  bytesPerPacket: number
  alive: number
  decryptFailures: number
}

async function clusterBench(nodes: number, windowS: number, warmupS: number, key: string | undefined): Promise<ClusterRow> {
  const all: GrapevineNode[] = []
  const opts = { bind: '127.0.0.1:0', profile: 'lan' as const, ...(key === undefined ? {} : { encryption: { keys: [key] } }) }
  try {
    all.push(await startNode({ name: 'b-0', ...opts }))
    const seed = `127.0.0.1:${all[0].port}`
    for (let i = 1; i < nodes; i++) all.push(await startNode({ name: `b-${i}`, join: [seed], ...opts }))
    const deadline = performance.now() + 60_000
    while (!all.every((n) => n.members().filter((m) => m.state === 'alive').length === nodes)) {
      if (performance.now() > deadline) throw new Error('the bench cluster did not converge within 60 s')
      await new Promise((r) => setTimeout(r, 200))
    }
    await new Promise((r) => setTimeout(r, warmupS * 1000))
    const snap = (): { udp: number; tcp: number; packets: number } => {
      let udp = 0
      let tcp = 0
      let packets = 0
      for (const n of all) {
        const s = n.stats()
        udp += s.bytesOut
        tcp += s.streamBytesOut
        packets += s.packetsOut
      }
      return { udp, tcp, packets }
    }
    const a = snap()
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, windowS * 1000))
    const b = snap()
    const secs = (performance.now() - t0) / 1000
    const per = (x: number): number => Math.round(x / secs / nodes)
    return {
      mode: key === undefined ? 'plaintext' : 'encrypted (32-byte key)',
      nodes,
      windowS: Math.round(secs * 10) / 10,
      udpBytesPerSecPerNode: per(b.udp - a.udp),
      tcpBytesPerSecPerNode: per(b.tcp - a.tcp),
      packetsPerSecPerNode: Math.round(((b.packets - a.packets) / secs / nodes) * 10) / 10,
      bytesPerPacket: Math.round((b.udp - a.udp) / Math.max(1, b.packets - a.packets)),
      alive: Math.min(...all.map((n) => n.members().filter((m) => m.state === 'alive').length)),
      decryptFailures: all.reduce((s, n) => s + (n.stats().dropped.get('decrypt-failed') ?? 0), 0),
    }
  } finally {
    await Promise.all(all.map((n) => n.shutdown()))
  }
}

interface SimRow {
  mode: string
  nodes: number
  udpBytesPerSecPerNode: number
  tcpBytesPerSecPerNode: number
  packetsPerSecPerNode: number
  converged: boolean
}

function simBench(nodes: number, keyed: boolean): SimRow {
  const key = new SeededRng(9).bytes(32)
  const sim = new Simulation({
    seed: 7,
    recordEvents: false,
    network: { latencyMs: [1, 5], packetLossProbability: 0.01 },
    // SWIM alone, so the figures are the envelope's cost on membership traffic; the node leaves room for it in each packet.
    node: { membershipOnly: true, ...(keyed ? { encryption: { keys: [key] } } : {}) },
    aead: nodeAead,
  })
  sim.spawn(nodes)
  sim.runFor(30_000)
  const sum = (f: (c: SimNode['counters']) => number): number => sim.nodes.reduce((s, n) => s + f(n.counters), 0)
  const before = { udp: sum((c) => c.bytesSent), tcp: sum((c) => c.streamBytesSent), packets: sum((c) => c.packetsSent) }
  const windowS = 60
  sim.runFor(windowS * 1000)
  const per = (x: number): number => Math.round(x / windowS / nodes)
  return {
    mode: keyed ? 'encrypted (32-byte key)' : 'plaintext',
    nodes,
    udpBytesPerSecPerNode: per(sum((c) => c.bytesSent) - before.udp),
    tcpBytesPerSecPerNode: per(sum((c) => c.streamBytesSent) - before.tcp),
    packetsPerSecPerNode: Math.round(((sum((c) => c.packetsSent) - before.packets) / windowS / nodes) * 10) / 10,
    converged: sim.convergence().converged,
  }
}

async function main(): Promise<void> {
  const nodes = arg('nodes', 32)
  const windowS = arg('window', 20)
  const warmupS = arg('warmup', 5)
  const began = performance.now()

  const cipher = cipherBench()
  console.log('AES-GCM per packet, one core (packets/s; ratio to plaintext decode of the same packet)\n')
  const base = new Map(cipher.filter((r) => r.case === 'plaintext decode').map((r) => [r.packet, r.packetsPerSec]))
  console.log(table(['packet', 'bytes', 'case', 'packets/s', 'MB/s', 'vs decode'], cipher.map((r) => [
    r.packet, String(r.bytes), r.case, r.packetsPerSec.toLocaleString('en'), r.mbPerSec.toFixed(1), (r.packetsPerSec / (base.get(r.packet) ?? 1)).toFixed(2),
  ])))

  const key = formatKey(new SeededRng(9).bytes(32))
  const plain = await clusterBench(nodes, windowS, warmupS, undefined)
  const encrypted = await clusterBench(nodes, windowS, warmupS, key)
  const rows = [plain, encrypted]
  console.log(`\n${nodes} nodes on loopback, LAN timings, ${windowS} s window: wire bytes per node (memberlist framing, no IP headers)\n`)
  console.log(table(['mode', 'UDP B/s/node', 'TCP B/s/node', 'packets/s/node', 'B/packet', 'min alive', 'decrypt fails'], rows.map((r) => [
    r.mode, String(r.udpBytesPerSecPerNode), String(r.tcpBytesPerSecPerNode), r.packetsPerSecPerNode.toFixed(1), String(r.bytesPerPacket), String(r.alive), String(r.decryptFailures),
  ])))
  const simRows = [simBench(nodes, false), simBench(nodes, true)]
  console.log(`\nsimulator, ${nodes} nodes, SWIM alone, 60 virtual s: wire bytes per node\n`)
  console.log(table(['mode', 'UDP B/s/node', 'TCP B/s/node', 'packets/s/node', 'converged'], simRows.map((r) => [
    r.mode, String(r.udpBytesPerSecPerNode), String(r.tcpBytesPerSecPerNode), r.packetsPerSecPerNode.toFixed(1), String(r.converged),
  ])))
  const ratio = (encrypted.udpBytesPerSecPerNode + encrypted.tcpBytesPerSecPerNode) / Math.max(1, plain.udpBytesPerSecPerNode + plain.tcpBytesPerSecPerNode)
  console.log(`\nencrypted / plaintext bytes per node: ${ratio.toFixed(3)}`)

  const dir = new URL('../../bench/results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const body = JSON.stringify({ date: new Date().toISOString(), node: process.version, settings: { nodes, windowS, warmupS, runMs: RUN_MS }, cipher, cluster: rows, simulator: simRows, bytesRatio: ratio, wallMs: performance.now() - began }, null, 2)
  writeFileSync(new URL(`security-${stamp}.json`, dir), body + '\n')
  console.log(`\nresults written to bench/results/security-${stamp}.json`)
}

await main()
