import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode as oracleEncode } from '@msgpack/msgpack'
import {
  decodeMessage,
  decodePacket,
  encodeCompound,
  encodeCompress,
  encodeMessage,
} from '../../src/wire/codec.js'
import { addCrc } from '../../src/wire/crc32.js'
import { lzwCompress } from '../../src/wire/lzw.js'
import { encodeMsgpack } from '../../src/wire/msgpack-writer.js'
import { maxDecompressedPacketBytes, maxPacketBytes, maxPacketParts } from '../../src/wire/limits.js'
import type { AckMsg, AliveMsg, PacketMessage } from '../../src/wire/messages.js'
import { InvariantError } from '../../src/core/assert.js'
import { GO_HEX } from './golden.js'
import { LOCALHOST, VSN_SERF, bytes, concat, hex, packetMessageArb, plain, samplePackets, xorshiftBytes } from './helpers.js'

function decodeOne(b: Uint8Array): PacketMessage {
  const r = decodeMessage(b)
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  return r.value
}

function reasons(b: Uint8Array): string[] {
  return decodePacket(b).errors.map((e) => e.reason)
}

const SERF_META = bytes('ff 81 a3 "env" a4 "test"')
const SERF_ALIVE: AliveMsg = {
  type: 'alive',
  incarnation: 1,
  node: 'serf1',
  addr: LOCALHOST,
  port: 7946,
  meta: SERF_META,
  vsn: VSN_SERF,
}
const SERF_ACK: AckMsg = { type: 'ack', seqNo: 5, payload: xorshiftBytes(1, 130, 256) }

// ---------------------------------------------------------------------------------------------------
// Spec byte examples ([verified] against serf 0.9.4)

test('spec 3.1: a ping encodes byte for byte as serf wrote it, and decodes back', () => {
  const want = bytes('00 85 a4"Node" a3"ts1" a5"SeqNo" 01 aa"SourceAddr" a4 7f000001 aa"SourceNode" a5"serf1" aa"SourcePort" cd1f0a')
  const ping: PacketMessage = {
    type: 'ping',
    seqNo: 1,
    node: 'ts1',
    sourceAddr: LOCALHOST,
    sourcePort: 7946,
    sourceNode: 'serf1',
  }
  assert.equal(hex(encodeMessage(ping)), hex(want))
  assert.deepEqual(plain(decodeOne(want)), plain(ping))
})

test('spec 3.3: an ack with a 130-byte payload encodes it as str16 (da 00 82), as serf did', () => {
  const want = concat(bytes('02 82 a7"Payload" da0082'), SERF_ACK.payload!, bytes('a5"SeqNo" 05'))
  assert.equal(hex(encodeMessage(SERF_ACK)), hex(want))
  assert.deepEqual(plain(decodeOne(want)), plain(SERF_ACK))
  assert.equal(want.length, 150)
})

test('spec 3.7: an alive encodes byte for byte as serf wrote it, and decodes back', () => {
  const want = bytes(
    '04 86 a4"Addr" a4 7f000001 ab"Incarnation" 01 a4"Meta" ab ff81a3"env"a4"test" a4"Node" a5"serf1" a4"Port" cd1f0a a3"Vsn" a6 010502020505',
  )
  assert.equal(hex(encodeMessage(SERF_ALIVE)), hex(want))
  assert.deepEqual(plain(decodeOne(want)), plain(SERF_ALIVE))
})

test('spec 3.11: compress is [9] {Algo: 0, Buf: str-family LZW bytes}; a 98-byte Buf gets da 00 62', () => {
  // Find an input whose LZW form is 98 bytes, like the verified example.
  let payload: Uint8Array | undefined
  for (let n = 1; n < 200 && payload === undefined; n++) {
    const p = concat(new Uint8Array([8]), xorshiftBytes(n, n, 256))
    if (lzwCompress(p).length === 98) payload = p
  }
  assert.ok(payload !== undefined)
  const out = encodeCompress(payload)
  assert.equal(hex(out.subarray(0, 15)), hex(bytes('09 82 a4"Algo" 00 a3"Buf" da0062')))
  assert.equal(out.length, 15 + 98)
  const r = decodePacket(out)
  assert.deepEqual(r.errors, [])
  assert.deepEqual(plain(r.messages), [{ type: 'user', payload: payload.slice(1) }])
})

test('spec 4.2: a compound of a 150-byte ack and a 63-byte alive has the header 07 02 0096 003f and decodes to both', () => {
  const alive63: AliveMsg = { ...SERF_ALIVE, node: 'serf123', meta: null }
  const parts = [encodeMessage(SERF_ACK), encodeMessage(alive63)]
  assert.deepEqual(parts.map((p) => p.length), [150, 63])
  const c = encodeCompound(parts)
  assert.equal(hex(c.subarray(0, 6)), '0702' + '0096' + '003f')
  assert.equal(hex(c), hex(concat(bytes('07 02 0096 003f'), ...parts)))
  const r = decodePacket(c)
  assert.deepEqual(r.errors, [])
  assert.deepEqual(plain(r.messages), plain([SERF_ACK, alive63]))
})

test('spec B.2: a serf user event travels as a user message payload, byte for byte', () => {
  const want = bytes('08 03 84 a2"CC" c3 a5"LTime" 04 a4"Name" a7"myevent" a7"Payload" aa"payload123"')
  const body = encodeMsgpack({ Payload: new TextEncoder().encode('payload123'), Name: 'myevent', LTime: 4, CC: true })
  const msg: PacketMessage = { type: 'user', payload: concat(new Uint8Array([3]), body) }
  assert.equal(hex(encodeMessage(msg)), hex(want))
  assert.deepEqual(plain(decodeOne(want)), plain(msg))
})

test('spec B.2: a serf query body written by value() matches the verified bytes', () => {
  const want = bytes(
    '8b a4"Addr" a4 7f000001 a7"Filters" c0 a5"Flags" 01 a2"ID" ce76749368 a5"LTime" 01 a4"Name" a7"myquery" a7"Payload" a8"qpayload" a4"Port" cd1f36 ab"RelayFactor" 00 aa"SourceNode" a5"serfQ" a7"Timeout" ce77359400',
  )
  const q = {
    Timeout: 2e9,
    SourceNode: 'serfQ',
    RelayFactor: 0,
    Port: 7990,
    Payload: new TextEncoder().encode('qpayload'),
    Name: 'myquery',
    LTime: 1,
    ID: 0x76749368,
    Flags: 1,
    Filters: null,
    Addr: LOCALHOST,
  }
  assert.equal(hex(encodeMsgpack(q)), hex(want))
})

// ---------------------------------------------------------------------------------------------------
// Golden bytes from memberlist 0.2.2 + go-msgpack 0.5.5 (Go 1.19)

test('every Go-encoded packet message decodes and re-encodes to identical bytes', () => {
  const names = ['ping-serf', 'ping-bare', 'ping-long', 'indirect', 'indirect-bare', 'ack-130', 'ack-nil', 'ack-empty']
  names.push('nack', 'suspect', 'dead', 'alive-serf', 'alive-16', 'alive-emptymeta')
  for (const name of names) {
    const b = bytes(GO_HEX[name])
    const m = decodeOne(b)
    assert.equal(hex(encodeMessage(m)), GO_HEX[name], name)
  }
  // Spot checks of what was decoded.
  assert.deepEqual(plain(decodeOne(bytes(GO_HEX['ack-empty']))), { type: 'ack', seqNo: 7, payload: new Uint8Array(0) })
  assert.deepEqual(plain(decodeOne(bytes(GO_HEX['ack-nil']))), { type: 'ack', seqNo: 6, payload: null })
  const a = decodeOne(bytes(GO_HEX['alive-emptymeta']))
  assert.ok(a.type === 'alive' && a.node === 'é-ü' && a.meta !== null && a.meta.length === 0 && a.port === 255)
  const p = decodeOne(bytes(GO_HEX['ping-bare']))
  assert.deepEqual(plain(p), { type: 'ping', seqNo: 0xffffffff, node: '' })
})

test('Go compound and compress-of-compound decode to their parts and re-encode identically', () => {
  const compound = bytes(GO_HEX['compound3'])
  const r = decodePacket(compound)
  assert.deepEqual(r.errors, [])
  assert.deepEqual(r.messages.map((m) => m.type), ['ping', 'alive', 'alive'])
  assert.equal(hex(encodeCompound(r.messages.map(encodeMessage))), GO_HEX['compound3'])
  const compressed = bytes(GO_HEX['compress-compound3'])
  const rc = decodePacket(compressed)
  assert.deepEqual(rc.errors, [])
  assert.deepEqual(plain(rc.messages), plain(r.messages))
  assert.equal(hex(encodeCompress(compound, { leadingClear: true })), GO_HEX['compress-compound3'])
  // And wrapped in a CRC, as serf gossips to PMax 5 peers.
  const crcd = decodePacket(addCrc(compressed))
  assert.deepEqual(crcd.errors, [])
  assert.equal(crcd.messages.length, 3)
})

test('the compress wrapper keys and Buf form match Go (Algo, Buf as str)', () => {
  const go = GO_HEX['compress-struct'] // {Algo: 0, Buf: "hello"}
  assert.equal(go.slice(0, 24), hex(encodeCompress(new Uint8Array([8]))).slice(0, 24))
  assert.equal(hex(encodeMsgpack({ Buf: new TextEncoder().encode('hello'), Algo: 0 })), go.slice(2))
  assert.deepEqual(reasons(bytes(go)), ['bad-compression'])
})

// ---------------------------------------------------------------------------------------------------
// Round trips

test('every packet message type round-trips through encodeMessage/decodeMessage and decodePacket', () => {
  for (const m of samplePackets()) {
    const b = encodeMessage(m)
    assert.deepEqual(plain(decodeOne(b)), plain(m), m.type)
    const r = decodePacket(b)
    assert.deepEqual(r.errors, [])
    assert.deepEqual(plain(r.messages), plain([m]))
  }
})

test('property: random field values round-trip, and re-encoding is byte-identical', () => {
  fc.assert(
    fc.property(packetMessageArb, (m) => {
      const b = encodeMessage(m)
      const back = decodeOne(b)
      assert.deepEqual(plain(back), plain(m))
      assert.equal(hex(encodeMessage(back)), hex(b))
    }),
    { numRuns: 1000 },
  )
})

test('property: random messages in compounds, compressed or not, CRC or not, decode to the same list', () => {
  fc.assert(
    fc.property(
      fc.array(packetMessageArb, { minLength: 1, maxLength: 12 }),
      fc.boolean(),
      fc.boolean(),
      (msgs, compress, crc) => {
        const parts = msgs.map(encodeMessage).filter((p) => p.length > 0)
        let packet = parts.length === 1 ? parts[0] : encodeCompound(parts)
        if (compress) packet = encodeCompress(packet)
        if (crc) packet = addCrc(packet)
        if (packet.length > maxPacketBytes) return
        const r = decodePacket(packet)
        assert.deepEqual(r.errors, [])
        assert.deepEqual(plain(r.messages), plain(msgs))
      },
    ),
    { numRuns: 300 },
  )
})

test('optional Source* fields: omitted when undefined or empty (omitempty), absent after decoding', () => {
  const empty = { sourceAddr: new Uint8Array(0), sourcePort: 0, sourceNode: '' }
  const bare = encodeMessage({ type: 'ping', seqNo: 1, node: 'n', ...empty })
  assert.equal(hex(bare), hex(bytes('00 82 a4"Node" a1"n" a5"SeqNo" 01')))
  assert.deepEqual(plain(decodeOne(bare)), { type: 'ping', seqNo: 1, node: 'n' })
})

// ---------------------------------------------------------------------------------------------------
// What Go (and newer peers) may send: accepted liberally

function body(type: number, obj: unknown): Uint8Array {
  return concat(new Uint8Array([type]), oracleEncode(obj))
}

test('decoding accepts str8 strings, bin strings, bin byte fields, Vsn as an int array and keys in any order', () => {
  const long = 'n'.repeat(40) // str8 from @msgpack/msgpack
  const m = decodeOne(
    body(4, {
      Vsn: [1, 5, 2, 2, 5, 5],
      Node: new TextEncoder().encode(long), // bin
      Port: 7946,
      Meta: new Uint8Array([0xff]), // bin
      Incarnation: 3,
      Addr: LOCALHOST, // bin
    }),
  )
  assert.deepEqual(plain(m), {
    type: 'alive',
    incarnation: 3,
    node: long,
    addr: LOCALHOST,
    port: 7946,
    meta: new Uint8Array([0xff]),
    vsn: VSN_SERF,
  })
})

test('decoding takes nil or a missing key as the zero value, and skips unknown keys', () => {
  const nils = { SeqNo: null, Node: null, Nack: null, Target: null, Port: null }
  const m = decodeOne(body(1, { ...nils, Future: { a: [1, { b: 2 }] } }))
  assert.deepEqual(plain(m), { type: 'indirectPing', seqNo: 0, target: new Uint8Array(0), port: 0, node: '', nack: false })
  const a = decodeOne(body(2, {}))
  assert.deepEqual(plain(a), { type: 'ack', seqNo: 0, payload: null })
  const s = decodeOne(body(3, { Incarnation: 2, Extra: 'x' }))
  assert.deepEqual(s, { type: 'suspect', incarnation: 2, node: '', from: '' })
})

test('decoding accepts every integer form (u8..u64, i8..i64 when non-negative) and bool as fixint 0/1', () => {
  const forms = ['05', 'cc05', 'cd0005', 'ce00000005', 'cf0000000000000005']
  forms.push('d005', 'd10005', 'd200000005', 'd30000000000000005')
  for (const f of forms) {
    assert.deepEqual(decodeOne(bytes(`0b 81 a5"SeqNo" ${f}`)), { type: 'nack', seqNo: 5 }, f)
  }
  const ip = decodeOne(concat(bytes('01 82 a4"Nack" 01 a6"Target"'), bytes('a4 0a000001')))
  assert.ok(ip.type === 'indirectPing' && ip.nack)
})

test('decoding accepts 16-byte (IPv4-mapped) addresses and empty legacy ones', () => {
  const mapped = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3])
  const m = decodeOne(encodeMessage({ ...SERF_ALIVE, addr: mapped }))
  assert.ok(m.type === 'alive' && m.addr.length === 16)
  const legacy = decodeOne(encodeMessage({ ...SERF_ALIVE, addr: new Uint8Array(0) }))
  assert.ok(legacy.type === 'alive' && legacy.addr.length === 0)
})

// ---------------------------------------------------------------------------------------------------
// Rejected with typed errors

function rejects(b: Uint8Array, reason: string): void {
  const r = decodeMessage(b)
  assert.ok(!r.ok, `expected ${reason}`)
  assert.equal(r.error.reason, reason, r.error.message)
  assert.equal(r.error.name, 'DecodeError')
}

test('decoding rejects floats for integer fields and negative or out-of-range integers (bad-field)', () => {
  rejects(bytes('0b 81 a5"SeqNo" cb3ff0000000000000'), 'bad-field') // 1.0
  rejects(bytes('0b 81 a5"SeqNo" ca3f800000'), 'bad-field') // float32 1.0
  rejects(bytes('0b 81 a5"SeqNo" ff'), 'bad-field') // -1
  rejects(bytes('0b 81 a5"SeqNo" cf0000000100000000'), 'bad-field') // 2^32
  rejects(body(4, { ...aliveFields(), Port: 70000 }), 'bad-field')
  rejects(bytes('0b 81 a5"SeqNo" c3'), 'bad-field') // bool
  rejects(bytes('0b 81 a5"SeqNo" a1"1"'), 'bad-field') // string
})

function aliveFields(): Record<string, unknown> {
  return { Addr: LOCALHOST, Incarnation: 1, Meta: null, Node: 'n', Port: 1, Vsn: VSN_SERF }
}

test('decoding rejects a Vsn that is not exactly 6 bytes, or missing (0.2.2 would panic)', () => {
  rejects(body(4, { ...aliveFields(), Vsn: new Uint8Array(5) }), 'bad-field')
  rejects(body(4, { ...aliveFields(), Vsn: [1, 2, 3, 4, 5, 6, 7] }), 'bad-field')
  rejects(body(4, { ...aliveFields(), Vsn: null }), 'bad-field')
  const { Vsn: _drop, ...noVsn } = aliveFields()
  rejects(body(4, noVsn), 'bad-field')
  rejects(body(4, { ...aliveFields(), Vsn: [1, 2, 3, 4, 5, 256] }), 'bad-field')
})

test('decoding rejects addresses that are not 4 or 16 bytes', () => {
  rejects(body(4, { ...aliveFields(), Addr: new Uint8Array(5) }), 'bad-field')
  rejects(body(1, { SeqNo: 1, Target: new Uint8Array(3) }), 'bad-field')
  rejects(body(0, { SeqNo: 1, Node: '', SourceAddr: new Uint8Array(6) }), 'bad-field')
})

test('decoding rejects a body that is not a map, a non-string key and a string field of the wrong type', () => {
  rejects(body(0, [1, 'x']), 'bad-field')
  rejects(bytes('00 c0'), 'bad-field')
  rejects(bytes('00 05'), 'bad-field')
  rejects(bytes('00 81 01 02'), 'bad-field')
  rejects(bytes('05 81 a4"Node" 05'), 'bad-field')
  rejects(bytes('00 81 a4"Node" c1'), 'bad-msgpack')
})

test('decoding a message rejects trailing bytes after a body, empty input, wrappers, stream types and unknown types', () => {
  rejects(concat(encodeMessage({ type: 'nack', seqNo: 1 }), new Uint8Array([0])), 'trailing-bytes')
  rejects(new Uint8Array(0), 'empty')
  rejects(bytes('07 00'), 'not-supported')
  rejects(bytes('09 80'), 'not-supported')
  rejects(bytes('0c 00000000'), 'not-supported')
  rejects(bytes('06 80'), 'not-supported')
  rejects(bytes('0d 80'), 'not-supported')
  rejects(bytes('0e 80'), 'unknown-type')
  rejects(bytes('f3 80'), 'unknown-type')
  rejects(bytes('f4 01 61'), 'not-supported')
})

test('truncated input at every prefix length of every valid message is a typed error, never a throw', () => {
  const msgs = samplePackets().filter((m) => m.type !== 'user')
  msgs.push(SERF_ACK, SERF_ALIVE)
  for (const m of msgs) {
    const b = encodeMessage(m)
    for (let cut = 0; cut < b.length; cut++) {
      const r = decodeMessage(b.subarray(0, cut))
      assert.ok(!r.ok, `${m.type} cut at ${cut}`)
      assert.ok(['empty', 'truncated'].includes(r.error.reason), `${m.type} cut at ${cut}: ${r.error.message}`)
      const p = decodePacket(b.subarray(0, cut))
      assert.equal(p.messages.length, 0)
      assert.equal(p.errors.length, 1)
    }
  }
})

// ---------------------------------------------------------------------------------------------------
// Packet unwrapping

const PING = encodeMessage({ type: 'ping', seqNo: 1, node: 'a' })
const ALIVE = encodeMessage(SERF_ALIVE)

test('a compound whose last part is truncated delivers the good parts and reports the rest', () => {
  const c = encodeCompound([PING, ALIVE, ALIVE])
  const cut = c.subarray(0, c.length - 10)
  const r = decodePacket(cut)
  assert.deepEqual(r.messages.map((m) => m.type), ['ping', 'alive'])
  assert.equal(r.errors.length, 1)
  assert.equal(r.errors[0].reason, 'truncated')
  assert.match(r.errors[0].message, /1 of 3 compound parts truncated/)
})

test('a bad part is reported and the other parts of the compound still decode', () => {
  const bad = bytes('04 81 a3"Vsn" a1 01') // alive with a 1-byte Vsn
  const r = decodePacket(encodeCompound([PING, bad, ALIVE]))
  assert.deepEqual(r.messages.map((m) => m.type), ['ping', 'alive'])
  assert.deepEqual(r.errors.map((e) => e.reason), ['bad-field'])
  assert.equal(r.errors[0].offset, 2 + 6 + PING.length + 2, 'offset of the Vsn key in the datagram')
})

test('compounds with zero parts, a zero-length part, a truncated length table or trailing bytes decode what they can and report the rest', () => {
  assert.deepEqual(decodePacket(bytes('07 00')), { messages: [], sizes: [], errors: [] })
  const zeroPart = concat(bytes('07 02 0000'), new Uint8Array([0, PING.length]), PING)
  const z = decodePacket(zeroPart)
  assert.deepEqual(z.messages.map((m) => m.type), ['ping'])
  assert.deepEqual(z.errors.map((e) => e.reason), ['empty'])
  assert.deepEqual(reasons(bytes('07 03 0001')), ['bad-compound'])
  assert.deepEqual(reasons(bytes('07')), ['bad-compound'])
  const trailing = decodePacket(concat(encodeCompound([PING]), new Uint8Array([1, 2])))
  assert.equal(trailing.messages.length, 1)
  assert.deepEqual(trailing.errors.map((e) => e.reason), ['trailing-bytes'])
})

test('nested wrappers decode: compress in a compound part, compound in compress, all under a CRC', () => {
  const compressInCompound = encodeCompound([encodeCompress(concat(PING)), ALIVE])
  assert.deepEqual(decodePacket(compressInCompound).messages.map((m) => m.type), ['ping', 'alive'])
  const compoundInCompress = encodeCompress(encodeCompound([PING, ALIVE]))
  assert.deepEqual(decodePacket(compoundInCompress).messages.map((m) => m.type), ['ping', 'alive'])
  const all = addCrc(encodeCompress(encodeCompound([encodeCompress(PING), ALIVE])))
  const r = decodePacket(all)
  assert.deepEqual(r.errors, [])
  assert.deepEqual(r.messages.map((m) => m.type), ['ping', 'alive'])
  // Each message's own encoded size, whatever wrapped it (what the per-type byte counters add up).
  assert.deepEqual(r.sizes, [PING.length, ALIVE.length])
})

test('wrappers nested deeper than the limit are rejected (too-deep); four levels are fine', () => {
  const wrap = (inner: Uint8Array, level: number): Uint8Array => {
    let p = inner
    for (let i = 0; i < level; i++) p = i % 2 === 0 ? encodeCompound([p]) : encodeCompress(p)
    return p
  }
  assert.deepEqual(decodePacket(wrap(PING, 4)).errors, [])
  assert.deepEqual(reasons(wrap(PING, 5)), ['too-deep'])
  assert.deepEqual(reasons(wrap(PING, 9)), ['too-deep'])
})

test('a CRC inside a compound or a compress is not-supported; only the outermost counts', () => {
  assert.deepEqual(reasons(encodeCompound([addCrc(PING)])), ['not-supported'])
  assert.deepEqual(reasons(encodeCompress(addCrc(PING))), ['not-supported'])
  assert.deepEqual(reasons(addCrc(addCrc(PING))), ['not-supported'])
  assert.deepEqual(reasons(bytes('0c 00 00')), ['truncated'])
})

test('empty and oversized datagrams are refused before anything is decoded; a maximum-size one is fine', () => {
  assert.deepEqual(reasons(new Uint8Array(0)), ['empty'])
  const big = new Uint8Array(maxPacketBytes + 1)
  big[0] = 8
  assert.deepEqual(reasons(big), ['too-large'])
  const max = new Uint8Array(maxPacketBytes)
  max[0] = 8
  assert.deepEqual(decodePacket(max).errors, [])
})

test('unknown and misplaced types inside a packet are typed errors', () => {
  assert.deepEqual(reasons(bytes('63 00')), ['unknown-type'])
  assert.deepEqual(reasons(bytes('06 80')), ['not-supported'])
  assert.deepEqual(reasons(bytes('0a 00 00 00 00')), ['not-supported'])
  assert.deepEqual(reasons(bytes('f4 01 61 00')), ['not-supported'])
  assert.deepEqual(reasons(encodeCompound([bytes('63'), PING])), ['unknown-type'])
})

test('a compress whose data decompresses to nothing, or uses another algorithm, is rejected', () => {
  const emptyLzw = concat(bytes('09 82 a4"Algo" 00 a3"Buf"'), bytes('a2'), lzwCompress(new Uint8Array(0)))
  assert.deepEqual(reasons(emptyLzw), ['empty'])
  const otherAlgo = concat(bytes('09 82 a4"Algo" 01 a3"Buf" a2 0101'))
  assert.deepEqual(reasons(otherAlgo), ['bad-compression'])
  assert.throws(() => encodeCompress(new Uint8Array(0)), InvariantError)
})

test('decompression is bounded per packet: total decompressed bytes beyond the budget are too-large', () => {
  const big = concat(new Uint8Array([8]), new Uint8Array(64 * 1024 - 1)) // a 64 KiB user message
  const part = encodeCompress(big)
  const n = Math.floor(maxDecompressedPacketBytes / big.length) + 3
  const packet = encodeCompound(Array.from({ length: n }, () => part))
  assert.ok(packet.length <= maxPacketBytes)
  const r = decodePacket(packet)
  assert.equal(r.messages.length, maxDecompressedPacketBytes / big.length)
  assert.ok(r.errors.length >= 1 && r.errors.every((e) => e.reason === 'too-large'))
})

test('one packet unwraps into at most maxPacketParts messages', () => {
  // 255 parts, each a compound of 5 empty user messages: 1275 messages before the limit.
  const inner = concat(bytes('07 05 0001 0001 0001 0001 0001'), bytes('08 08 08 08 08'))
  const head = new Uint8Array(2 + 2 * 255)
  head[0] = 7
  head[1] = 255
  for (let i = 0; i < 255; i++) head[3 + 2 * i] = inner.length
  const r = decodePacket(concat(head, ...Array.from({ length: 255 }, () => inner)))
  assert.equal(r.messages.length + r.errors.length, maxPacketParts + 1)
  assert.equal(r.errors.at(-1)?.reason, 'too-many-parts')
})

test('encodeCompound refuses what 0.2.2 cannot parse: no parts, more than 127, empty or oversized parts', () => {
  assert.throws(() => encodeCompound([]), InvariantError)
  assert.throws(() => encodeCompound(Array.from({ length: 128 }, () => PING)), InvariantError)
  assert.doesNotThrow(() => encodeCompound(Array.from({ length: 127 }, () => PING)))
  assert.throws(() => encodeCompound([PING, new Uint8Array(0)]), InvariantError)
  assert.throws(() => encodeCompound([new Uint8Array(65536)]), InvariantError)
})

test('encoding a message Go could not have sent is a programmer error (InvariantError)', () => {
  assert.throws(() => encodeMessage({ ...SERF_ALIVE, vsn: new Uint8Array(5) }), InvariantError)
  assert.throws(() => encodeMessage({ ...SERF_ALIVE, addr: new Uint8Array(5) }), InvariantError)
  assert.throws(() => encodeMessage({ ...SERF_ALIVE, port: 65536 }), InvariantError)
  assert.throws(() => encodeMessage({ type: 'nack', seqNo: 2 ** 32 }), InvariantError)
  assert.throws(() => encodeMessage({ type: 'nack', seqNo: -1 }), InvariantError)
})

// ---------------------------------------------------------------------------------------------------
// Never throws

const VALID_PACKETS: Uint8Array[] = [
  PING,
  ALIVE,
  encodeCompound([PING, ALIVE, encodeMessage(SERF_ACK)]),
  encodeCompress(encodeCompound([PING, ALIVE])),
  addCrc(encodeCompress(encodeCompound([encodeCompress(PING), ALIVE]))),
  bytes(GO_HEX['indirect']),
]

function checkPacketResult(b: Uint8Array): void {
  const r = decodePacket(b)
  assert.ok(Array.isArray(r.messages) && Array.isArray(r.errors))
  for (const e of r.errors) assert.notEqual(e.reason, 'internal', e.message)
  assert.ok(r.messages.length + r.errors.length <= maxPacketParts + 1)
}

test('property: arbitrary bytes into decodePacket and decodeMessage never throw', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12), fc.uint8Array({ maxLength: 300 })).map(([t, b]) =>
          concat(new Uint8Array([t]), b),
        ),
      ),
      (b) => {
        checkPacketResult(b)
        const m = decodeMessage(b)
        if (!m.ok) assert.notEqual(m.error.reason, 'internal', m.error.message)
      },
    ),
    { numRuns: 5000 },
  )
})

test('property: mutated valid packets never make decodePacket throw', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VALID_PACKETS),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (base, edits, cut) => {
        const b = base.slice(0, 1 + (cut % base.length))
        for (const [i, v] of edits) b[i % b.length] = v
        checkPacketResult(b)
        // A valid CRC over the mutation, so the layers below it are exercised too.
        checkPacketResult(addCrc(b))
      },
    ),
    { numRuns: 5000 },
  )
})

test('decoded values never alias the input, even when it is a Node Buffer (whose slice is a view)', () => {
  const input = Buffer.from(encodeMessage({ ...SERF_ALIVE, node: 'abc' }))
  const first = decodeOne(input)
  assert.ok(first.type === 'alive')
  assert.equal(Object.getPrototypeOf(first.addr), Uint8Array.prototype)
  assert.equal(Object.getPrototypeOf(first.meta), Uint8Array.prototype)
  const at = input.indexOf('abc')
  input.write('xyz', at)
  input.fill(9, input.indexOf(Buffer.from([127, 0, 0, 1])), input.indexOf(Buffer.from([127, 0, 0, 1])) + 4)
  assert.equal(hex(first.addr), '7f000001')
  assert.equal(first.node, 'abc')
  const second = decodeOne(input)
  assert.ok(second.type === 'alive')
  assert.equal(second.node, 'xyz', 'the string cache must not keep a view of the old input')
  const user = Buffer.from([8, 1, 2, 3])
  const u = decodeOne(user)
  user[1] = 99
  assert.ok(u.type === 'user' && hex(u.payload) === '010203')
})

test('names keep every character: a leading BOM, astral characters, long non-ASCII names', () => {
  for (const node of ['\ufeffbom', '😀-node', 'ü'.repeat(40), 'x'.repeat(70) + 'é', '']) {
    const m = decodeOne(encodeMessage({ type: 'suspect', incarnation: 1, node, from: node }))
    assert.ok(m.type === 'suspect' && m.node === node && m.from === node, JSON.stringify(node))
  }
})
