/**
 * Codec throughput: encode and decode per second of the messages the simulator sends most, a 1000-node
 * push/pull, and LZW on a UDP-sized packet. Each case is warmed up, then run for about 300 ms.
 */
import {
  decodeMessage,
  decodePacket,
  decodeStream,
  encodeCompound,
  encodeMessage,
  encodeStream,
  lzwCompress,
  lzwDecompress,
  type AliveMsg,
  type PingMsg,
  type PushNodeState,
  type PushPullMsg,
} from '../src/wire/index.js'

export interface CodecBenchResult {
  readonly name: string
  readonly opsPerSec: number
  readonly mbPerSec?: number
}

const RUN_MS = 300
const WARMUP_MS = 60

/** Runs `op` in batches until `ms` have passed; returns operations per second. */
export function measure(op: () => unknown, ms: number): number {
  let sink: unknown
  let batch = 1
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) sink = op()
    ops += batch
    now = performance.now()
    if (now - start < ms / 20) batch *= 2
  }
  if (sink === Symbol.for('never')) console.log(sink)
  return ops / ((now - start) / 1000)
}

function bench(name: string, op: () => unknown, bytesPerOp?: number): CodecBenchResult {
  measure(op, WARMUP_MS)
  const opsPerSec = measure(op, RUN_MS)
  const result: CodecBenchResult = { name, opsPerSec: Math.round(opsPerSec) }
  return bytesPerOp === undefined ? result : { ...result, mbPerSec: Math.round((opsPerSec * bytesPerOp) / 1e4) / 100 }
}

const VSN = new Uint8Array([1, 5, 2, 2, 5, 4])

function alive(i: number): AliveMsg {
  return {
    type: 'alive',
    incarnation: 1 + (i % 7),
    node: `node-${i}.grapevine.local`,
    addr: new Uint8Array([10, 0, (i >> 8) & 0xff, i & 0xff]),
    port: 7946,
    meta: new Uint8Array([0x81, 0xa4, 0x72, 0x6f, 0x6c, 0x65, 0xa3, 0x77, 0x65, 0x62]),
    vsn: VSN,
  }
}

function nodeState(i: number): PushNodeState {
  return {
    name: `node-${i}.grapevine.local`,
    addr: new Uint8Array([10, 0, (i >> 8) & 0xff, i & 0xff]),
    port: 7946,
    meta: new Uint8Array([0x81, 0xa4, 0x72, 0x6f, 0x6c, 0x65, 0xa3, 0x77, 0x65, 0x62]),
    incarnation: 1 + (i % 7),
    state: (i % 4) as 0 | 1 | 2 | 3,
    vsn: VSN,
  }
}

/** A deterministic 1400-byte packet: a compound of alives, padded with a user message. */
function packet1400(): Uint8Array {
  const parts: Uint8Array[] = []
  let size = 2
  for (let i = 0; size < 1200; i++) {
    const p = encodeMessage(alive(i))
    parts.push(p)
    size += 2 + p.length
  }
  const pad = 1400 - size - 2
  const user = new Uint8Array(pad)
  user[0] = 8
  for (let i = 1; i < pad; i++) user[i] = (i * 31) & 0x7f
  parts.push(user)
  return encodeCompound(parts)
}

export async function runCodecBench(): Promise<Array<{ name: string; opsPerSec: number; mbPerSec?: number }>> {
  const results: CodecBenchResult[] = []

  const ping: PingMsg = {
    type: 'ping',
    seqNo: 123456,
    node: 'node-17.grapevine.local',
    sourceAddr: new Uint8Array([10, 0, 0, 1]),
    sourcePort: 7946,
    sourceNode: 'node-1.grapevine.local',
  }
  const pingBytes = encodeMessage(ping)
  results.push(bench('ping encode', () => encodeMessage(ping), pingBytes.length))
  results.push(bench('ping decode', () => decodeMessage(pingBytes), pingBytes.length))

  const a = alive(42)
  const aliveBytes = encodeMessage(a)
  results.push(bench('alive encode', () => encodeMessage(a), aliveBytes.length))
  results.push(bench('alive decode', () => decodeMessage(aliveBytes), aliveBytes.length))

  const compoundParts = [pingBytes, encodeMessage(alive(1)), encodeMessage(alive(2))]
  const compound = encodeCompound(compoundParts)
  results.push(
    bench(
      'compound(ping+2 alive) encode',
      () => encodeCompound([encodeMessage(ping), encodeMessage(alive(1)), encodeMessage(alive(2))]),
      compound.length,
    ),
  )
  results.push(bench('compound(ping+2 alive) decodePacket', () => decodePacket(compound), compound.length))

  const pushPull: PushPullMsg = {
    type: 'pushPull',
    join: false,
    nodes: Array.from({ length: 1000 }, (_, i) => nodeState(i)),
    userState: new Uint8Array(0),
  }
  const ppBytes = encodeStream(pushPull, { compress: false })
  results.push(bench('pushPull 1000 nodes encode', () => encodeStream(pushPull, { compress: false }), ppBytes.length))
  results.push(bench('pushPull 1000 nodes decode', () => decodeStream(ppBytes), ppBytes.length))
  const ppCompressed = encodeStream(pushPull, { compress: true })
  const compressed = { compress: true }
  results.push(bench('pushPull 1000 nodes encode+compress', () => encodeStream(pushPull, compressed), ppBytes.length))
  results.push(bench('pushPull 1000 nodes decompress+decode', () => decodeStream(ppCompressed), ppBytes.length))

  const pkt = packet1400()
  const lzw = lzwCompress(pkt)
  results.push(bench('lzw compress 1400 B', () => lzwCompress(pkt), pkt.length))
  results.push(bench('lzw decompress 1400 B', () => lzwDecompress(lzw, 65536), pkt.length))

  return results
}
