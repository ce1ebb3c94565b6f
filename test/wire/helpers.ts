// Shared helpers for the wire tests: hex conversion, a deterministic input generator, fast-check
// arbitraries for every message type, and builders for spec byte examples.
import fc from 'fast-check'
import { lzwCompress } from '../../src/wire/lzw.js'
import { encodeMsgpack } from '../../src/wire/msgpack-writer.js'
import type {
  AckMsg,
  AliveMsg,
  DeadMsg,
  ErrMsg,
  IndirectPingMsg,
  NackMsg,
  PacketMessage,
  PingMsg,
  PushNodeState,
  PushPullMsg,
  StreamMessage,
  SuspectMsg,
  UserMsg,
  UserStreamMsg,
  WireStateNumber,
} from '../../src/wire/messages.js'

export function hex(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

/** Hex to bytes; spaces are ignored, `"text"` pieces are taken as ASCII. */
export function bytes(spec: string): Uint8Array {
  const out: number[] = []
  const re = /"([^"]*)"|([0-9a-fA-F]{2})|(\s+)/gy
  let m: RegExpExecArray | null
  let last = 0
  while ((m = re.exec(spec)) !== null) {
    if (m[1] !== undefined) for (const ch of m[1]) out.push(ch.charCodeAt(0))
    else if (m[2] !== undefined) out.push(parseInt(m[2], 16))
    last = re.lastIndex
  }
  if (last !== spec.length) throw new Error(`bad byte spec at ${last}: ${spec.slice(last, last + 20)}`)
  return new Uint8Array(out)
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** `[9][{Algo: 0, Buf: LZW(inner)}]` built by hand, for inner data the codec would refuse to send. */
export function compressWrapper(inner: Uint8Array): Uint8Array {
  return concat(bytes('09 82 a4"Algo" 00 a3"Buf"'), encodeMsgpack(lzwCompress(inner)))
}

/** `n` bytes from xorshift32(seed), each `next() % alphabet` (the Go golden generator does the same). */
export function xorshiftBytes(seed: number, n: number, alphabet: number): Uint8Array {
  let s = seed >>> 0
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    s = (s ^ (s << 13)) >>> 0
    s = (s ^ (s >>> 17)) >>> 0
    s = (s ^ (s << 5)) >>> 0
    out[i] = s % alphabet
  }
  return out
}

/** Plain Uint8Array copies, so deepStrictEqual compares values whatever the array's origin. */
export function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return new Uint8Array(v) as T
  if (Array.isArray(v)) return v.map(plain) as T
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = plain(x)
    return o as T
  }
  return v
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

export const u32 = fc.integer({ min: 0, max: 0xffffffff })
export const u16 = fc.integer({ min: 0, max: 0xffff })
export const name = fc.string({ unit: 'binary', maxLength: 40 })
export const addr = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))
export const vsn = fc.uint8Array({ minLength: 6, maxLength: 6 })
export const meta = fc.option(fc.uint8Array({ maxLength: 512 }), { nil: null })

function withSource<T extends object>(base: T, src: { a?: Uint8Array; p?: number; n?: string }): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) }
  if (src.a !== undefined) out.sourceAddr = src.a
  if (src.p !== undefined) out.sourcePort = src.p
  if (src.n !== undefined) out.sourceNode = src.n
  return out as T
}

const source = fc.record(
  {
    a: addr,
    p: fc.integer({ min: 1, max: 0xffff }),
    n: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  },
  { requiredKeys: [] },
)

export const pingArb: fc.Arbitrary<PingMsg> = fc
  .tuple(u32, name, source)
  .map(([seqNo, node, src]) => withSource<PingMsg>({ type: 'ping', seqNo, node }, src))

export const indirectPingArb: fc.Arbitrary<IndirectPingMsg> = fc
  .tuple(u32, addr, u16, name, fc.boolean(), source)
  .map(([seqNo, target, port, node, nack, src]) =>
    withSource<IndirectPingMsg>({ type: 'indirectPing', seqNo, target, port, node, nack }, src),
  )

export const ackArb: fc.Arbitrary<AckMsg> = fc
  .tuple(u32, fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }))
  .map(([seqNo, payload]) => ({ type: 'ack', seqNo, payload }))

export const nackArb: fc.Arbitrary<NackMsg> = u32.map((seqNo) => ({ type: 'nack', seqNo }))

export const suspectArb: fc.Arbitrary<SuspectMsg> = fc
  .tuple(u32, name, name)
  .map(([incarnation, node, from]) => ({ type: 'suspect', incarnation, node, from }))

export const deadArb: fc.Arbitrary<DeadMsg> = fc
  .tuple(u32, name, name)
  .map(([incarnation, node, from]) => ({ type: 'dead', incarnation, node, from }))

export const aliveArb: fc.Arbitrary<AliveMsg> = fc
  .tuple(u32, name, addr, u16, meta, vsn)
  .map(([incarnation, node, addr, port, meta, vsn]) => ({ type: 'alive', incarnation, node, addr, port, meta, vsn }))

export const userArb: fc.Arbitrary<UserMsg> = fc
  .uint8Array({ maxLength: 600 })
  .map((payload) => ({ type: 'user', payload }))

export const errArb: fc.Arbitrary<ErrMsg> = name.map((error) => ({ type: 'err', error }))

export const packetMessageArb: fc.Arbitrary<PacketMessage> = fc.oneof(
  pingArb,
  indirectPingArb,
  ackArb,
  nackArb,
  suspectArb,
  deadArb,
  aliveArb,
  userArb,
)

export const nodeStateArb: fc.Arbitrary<PushNodeState> = fc
  .tuple(name, addr, u16, meta, u32, fc.constantFrom<WireStateNumber>(0, 1, 2, 3), vsn)
  .map(([name, addr, port, meta, incarnation, state, vsn]) => ({ name, addr, port, meta, incarnation, state, vsn }))

export const pushPullArb: fc.Arbitrary<PushPullMsg> = fc
  .tuple(fc.boolean(), fc.array(nodeStateArb, { maxLength: 40 }), fc.uint8Array({ maxLength: 2000 }))
  .map(([join, nodes, userState]) => ({ type: 'pushPull', join, nodes, userState }))

export const userStreamArb: fc.Arbitrary<UserStreamMsg> = fc
  .uint8Array({ maxLength: 3000 })
  .map((payload) => ({ type: 'userStream', payload }))

export const streamMessageArb: fc.Arbitrary<StreamMessage> = fc.oneof(pushPullArb, pingArb, ackArb, errArb, userStreamArb)

// ---------------------------------------------------------------------------------------------------
// Typical values

export const VSN_SERF = new Uint8Array([1, 5, 2, 2, 5, 5])
export const LOCALHOST = new Uint8Array([127, 0, 0, 1])

export function sampleNodeState(i: number): PushNodeState {
  return {
    name: `node-${i}`,
    addr: new Uint8Array([10, 0, (i >> 8) & 0xff, i & 0xff]),
    port: 7946,
    meta: i % 3 === 0 ? null : new Uint8Array([0x81, 0xa1, 0x6b, 0xa1, 0x76]),
    incarnation: i + 1,
    state: (i % 4) as WireStateNumber,
    vsn: new Uint8Array([1, 5, 2, 2, 5, 4]),
  }
}

/** One of every stream message, small. */
export function sampleStreams(): StreamMessage[] {
  return [
    { type: 'pushPull', join: true, nodes: [0, 1, 2, 3].map(sampleNodeState), userState: new Uint8Array([1, 2, 3]) },
    { type: 'pushPull', join: false, nodes: [], userState: new Uint8Array(0) },
    { type: 'ping', seqNo: 9, node: 'b', sourceAddr: LOCALHOST, sourcePort: 7946, sourceNode: 'a' },
    { type: 'ack', seqNo: 9, payload: null },
    { type: 'err', error: 'Remote state is encrypted and encryption is not configured' },
    { type: 'userStream', payload: new Uint8Array([8, 3, 0x80]) },
  ]
}

/** One of every packet message, small. */
export function samplePackets(): PacketMessage[] {
  return [
    { type: 'ping', seqNo: 1, node: 'ts1', sourceAddr: LOCALHOST, sourcePort: 7946, sourceNode: 'serf1' },
    { type: 'ping', seqNo: 2, node: '' },
    {
      type: 'indirectPing',
      seqNo: 3,
      target: LOCALHOST,
      port: 7946,
      node: 't',
      nack: true,
      sourceAddr: LOCALHOST,
      sourcePort: 1,
      sourceNode: 's',
    },
    { type: 'ack', seqNo: 4, payload: new Uint8Array([1, 2]) },
    { type: 'ack', seqNo: 5, payload: null },
    { type: 'nack', seqNo: 6 },
    { type: 'suspect', incarnation: 7, node: 'x', from: 'y' },
    { type: 'alive', incarnation: 8, node: 'serf1', addr: LOCALHOST, port: 7946, meta: new Uint8Array([0xff]), vsn: VSN_SERF },
    { type: 'dead', incarnation: 9, node: 'x', from: 'x' },
    { type: 'user', payload: new Uint8Array([3, 0x80]) },
  ]
}
