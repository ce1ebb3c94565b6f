import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode as oracleEncode } from '@msgpack/msgpack'
import { decodeStream, encodeStream, streamFrameLength, type StreamFrame } from '../../src/wire/codec.js'
import { encodeMsgpack } from '../../src/wire/msgpack-writer.js'
import { lzwCompress } from '../../src/wire/lzw.js'
import { maxPushPullNodes, maxPushStateBytes, maxUserStateBytes } from '../../src/wire/limits.js'
import type { PushPullMsg, StreamMessage } from '../../src/wire/messages.js'
import { GO_HEX } from './golden.js'
import {
  LOCALHOST,
  VSN_SERF,
  bytes,
  compressWrapper,
  concat,
  hex,
  plain,
  sampleNodeState,
  sampleStreams,
  streamMessageArb,
} from './helpers.js'

function decodeOk(b: Uint8Array): StreamMessage {
  const r = decodeStream(b)
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  return r.value
}

function decodeReason(b: Uint8Array): string {
  const r = decodeStream(b)
  assert.ok(!r.ok, 'expected an error')
  assert.notEqual(r.error.reason, 'internal', r.error.message)
  return r.error.reason
}

function frame(b: Uint8Array): StreamFrame {
  return streamFrameLength(b)
}

const SERF_META = bytes('ff 81 a3 "env" a4 "test"')
const SERF_NODE = {
  name: 'serf1',
  addr: LOCALHOST,
  port: 7946,
  meta: SERF_META,
  incarnation: 1,
  state: 0 as const,
  vsn: VSN_SERF,
}

// ---------------------------------------------------------------------------------------------------
// Layouts

test('spec 3.9: a pushNodeState from serf, byte for byte, inside a push/pull stream', () => {
  const pns = bytes(
    '87 a4"Addr" a4 7f000001 ab"Incarnation" 01 a4"Meta" ab ff81a3"env"a4"test" a4"Name" a5"serf1" a4"Port" cd1f0a a5"State" 00 a3"Vsn" a6 010502020505',
  )
  const msg: PushPullMsg = { type: 'pushPull', join: true, nodes: [SERF_NODE], userState: new Uint8Array(0) }
  const header = bytes('83 a4"Join" c3 a5"Nodes" 01 ac"UserStateLen" 00')
  const want = concat(new Uint8Array([6]), header, pns)
  assert.equal(hex(encodeStream(msg, { compress: false })), hex(want))
  assert.deepEqual(plain(decodeOk(want)), plain(msg))
})

test('Go push/pull stream (sendLocalState layout) is byte-identical, plain and compressed', () => {
  const plainGo = bytes(GO_HEX['stream-pushpull'])
  const m = decodeOk(plainGo)
  assert.ok(m.type === 'pushPull')
  assert.equal(m.join, true)
  assert.deepEqual(m.nodes.map((n) => [n.name, n.state]), [['serf1', 0], ['gone', 3]])
  assert.equal(hex(m.userState), '010203')
  assert.equal(m.nodes[1].meta, null)
  assert.equal(hex(encodeStream(m, { compress: false })), GO_HEX['stream-pushpull'])
  const compressedGo = bytes(GO_HEX['stream-pushpull-compressed'])
  assert.deepEqual(plain(decodeOk(compressedGo)), plain(m))
  assert.equal(hex(encodeStream(m, { compress: true, leadingClear: true })), GO_HEX['stream-pushpull-compressed'])
  // Go's header and node state encodings on their own.
  assert.equal(GO_HEX['stream-pushpull'].slice(2, 2 + GO_HEX['pushpull-header'].length), GO_HEX['pushpull-header'])
})

test('user stream message: [8][{UserMsgLen}][raw bytes], header as Go writes it', () => {
  const payload = new Uint8Array(1000).map((_, i) => i & 0xff)
  const out = encodeStream({ type: 'userStream', payload }, { compress: false })
  assert.equal(hex(out.subarray(0, 1 + GO_HEX['usermsg-header'].length / 2)), '08' + GO_HEX['usermsg-header'])
  assert.deepEqual(plain(decodeOk(out)), { type: 'userStream', payload })
})

test('ping, ack and error streams are [type][body] like packets; err matches Go', () => {
  const err = { type: 'err' as const, error: 'Remote state is encrypted and encryption is not configured' }
  assert.equal(hex(encodeStream(err, { compress: false })), GO_HEX['err'])
  assert.equal(hex(encodeStream({ type: 'ack', seqNo: 6, payload: null }, { compress: false })), GO_HEX['ack-nil'])
  const ping = { type: 'ping' as const, seqNo: 1, node: 'ts1', sourceAddr: LOCALHOST, sourcePort: 7946, sourceNode: 'serf1' }
  assert.equal(hex(encodeStream(ping, { compress: false })), GO_HEX['ping-serf'])
})

test('compressed streams are [9][compress] of the whole plain stream', () => {
  for (const m of sampleStreams()) {
    const plainBytes = encodeStream(m, { compress: false })
    const c = encodeStream(m, { compress: true })
    assert.equal(c[0], 9)
    assert.equal(hex(c), hex(compressWrapper(plainBytes)))
  }
})

// ---------------------------------------------------------------------------------------------------
// Round trips

test('every stream message type round-trips, plain and compressed', () => {
  for (const m of sampleStreams()) {
    for (const compress of [false, true]) {
      const b = encodeStream(m, { compress })
      assert.deepEqual(plain(decodeOk(b)), plain(m), `${m.type} compress=${compress}`)
      assert.deepEqual(frame(concat(b, bytes('00 01 02'))), { status: 'complete', length: b.length })
    }
  }
})

test('a push/pull of 1000 node states over 4 KB round-trips compressed (LZW table resets)', () => {
  const msg: PushPullMsg = {
    type: 'pushPull',
    join: false,
    nodes: Array.from({ length: 1000 }, (_, i) => sampleNodeState(i)),
    userState: new Uint8Array(5000).map((_, i) => i % 7),
  }
  for (const compress of [false, true]) {
    const b = encodeStream(msg, { compress })
    assert.ok(b.length > 4096)
    assert.deepEqual(plain(decodeOk(b)), plain(msg))
    assert.deepEqual(frame(b), { status: 'complete', length: b.length })
  }
})

test('property: random stream messages round-trip and frame exactly, plain and compressed', () => {
  fc.assert(
    fc.property(streamMessageArb, fc.boolean(), fc.uint8Array({ maxLength: 4 }), (m, compress, junk) => {
      const b = encodeStream(m, { compress })
      const back = decodeOk(b)
      assert.deepEqual(plain(back), plain(m))
      assert.equal(hex(encodeStream(back, { compress })), hex(b))
      assert.deepEqual(frame(concat(b, junk)), { status: 'complete', length: b.length })
    }),
    { numRuns: 300 },
  )
})

// ---------------------------------------------------------------------------------------------------
// Framing

function checkPrefixes(b: Uint8Array, label: string): void {
  for (let cut = 0; cut < b.length; cut++) {
    assert.deepEqual(frame(b.subarray(0, cut)), { status: 'incomplete' }, `${label}: prefix ${cut}/${b.length}`)
  }
  assert.deepEqual(frame(b), { status: 'complete', length: b.length }, label)
  assert.deepEqual(frame(concat(b, new Uint8Array(17).fill(6))), { status: 'complete', length: b.length }, label)
}

test('streamFrameLength: incomplete for every strict prefix, complete (ignoring extra bytes) for the whole', () => {
  for (const m of sampleStreams()) {
    checkPrefixes(encodeStream(m, { compress: false }), m.type)
    checkPrefixes(encodeStream(m, { compress: true }), `${m.type} compressed`)
  }
  checkPrefixes(bytes(GO_HEX['stream-pushpull']), 'go push/pull')
  checkPrefixes(bytes(GO_HEX['stream-pushpull-compressed']), 'go push/pull compressed')
})

test('streamFrameLength: encrypted envelope [10][u32 len] is 5 + len; too large is an error at once', () => {
  const env = concat(bytes('0a 00000020'), new Uint8Array(0x20))
  checkPrefixes(env, 'encrypted')
  const huge = frame(bytes('0a 7fffffff'))
  assert.equal(huge.status, 'error')
  assert.equal(huge.status === 'error' && huge.error.reason, 'too-large')
  const max = concat(bytes('0a'), new Uint8Array([maxPushStateBytes >>> 24, (maxPushStateBytes >>> 16) & 0xff, 0, 0]))
  assert.deepEqual(frame(max), { status: 'incomplete' })
})

test('streamFrameLength: a label header (newer memberlist) is 2 + n + the message after it', () => {
  const inner = encodeStream(sampleStreams()[0], { compress: true })
  const labelled = concat(bytes('f4 05 "hello"'), inner)
  checkPrefixes(labelled, 'labelled')
  const encrypted = concat(bytes('f4 01 "x" 0a 00000003 010203'))
  checkPrefixes(encrypted, 'labelled encrypted')
  assert.equal(frame(bytes('f4 00 00')).status, 'error')
  assert.equal(frame(bytes('f4 01 "x" f4 01 "y"')).status, 'error')
})

test('streamFrameLength: bad types and over-limit headers are errors as soon as they are visible', () => {
  const errs: Array<[Uint8Array, string]> = [
    [bytes('03 80'), 'not-supported'],
    [bytes('63'), 'unknown-type'],
    [bytes('0c 00'), 'not-supported'],
    [concat(bytes('06'), encodeMsgpack({ Join: false, Nodes: maxPushPullNodes + 1, UserStateLen: 0 })), 'too-many-nodes'],
    [concat(bytes('06'), encodeMsgpack({ Join: false, Nodes: 0, UserStateLen: maxUserStateBytes + 1 })), 'too-large'],
    [concat(bytes('08'), encodeMsgpack({ UserMsgLen: 2 ** 40 })), 'too-large'],
    [bytes('06 93 01 02 03'), 'bad-field'],
    [bytes('00 81 c1'), 'bad-msgpack'],
  ]
  for (const [b, reason] of errs) {
    const f = frame(b)
    assert.equal(f.status, 'error', hex(b))
    assert.equal(f.status === 'error' && f.error.reason, reason, hex(b))
  }
})

test('streamFrameLength: a push/pull waits for its user state bytes without decoding node states', () => {
  const b = concat(bytes('06'), encodeMsgpack({ Join: true, Nodes: 1, UserStateLen: 1000 }), encodeMsgpack({ Name: 'x' }))
  assert.deepEqual(frame(b), { status: 'incomplete' })
  assert.deepEqual(frame(concat(b, new Uint8Array(1000))), { status: 'complete', length: b.length + 1000 })
})

// ---------------------------------------------------------------------------------------------------
// Strict decoding

test('decodeStream: bytes after the message are trailing-bytes, plain and compressed', () => {
  for (const m of sampleStreams()) {
    assert.equal(decodeReason(concat(encodeStream(m, { compress: false }), bytes('00'))), 'trailing-bytes', m.type)
    assert.equal(decodeReason(concat(encodeStream(m, { compress: true }), bytes('00'))), 'trailing-bytes', m.type)
  }
  // Inside the compressed data too.
  const inner = concat(encodeStream(sampleStreams()[2], { compress: false }), bytes('00'))
  assert.equal(decodeReason(compressWrapper(inner)), 'trailing-bytes')
})

test('decodeStream: every strict prefix of a valid stream is a typed error', () => {
  for (const m of sampleStreams()) {
    for (const compress of [false, true]) {
      const b = encodeStream(m, { compress })
      for (let cut = 0; cut < b.length; cut++) {
        const reason = decodeReason(b.subarray(0, cut))
        assert.ok(['empty', 'truncated', 'bad-compression'].includes(reason), `${m.type} ${compress} ${cut}: ${reason}`)
      }
    }
  }
})

test('decodeStream: node count and lengths are bounded before anything is allocated', () => {
  const header = (h: object): Uint8Array => concat(bytes('06'), encodeMsgpack(h as Record<string, number>))
  assert.equal(decodeReason(header({ Join: false, Nodes: maxPushPullNodes + 1, UserStateLen: 0 })), 'too-many-nodes')
  assert.equal(decodeReason(header({ Join: false, Nodes: 1_000_000, UserStateLen: 0 })), 'truncated')
  assert.equal(decodeReason(header({ Join: false, Nodes: 0, UserStateLen: maxUserStateBytes + 1 })), 'too-large')
  assert.equal(decodeReason(header({ Join: false, Nodes: 0, UserStateLen: 10 })), 'truncated')
  assert.equal(decodeReason(header({ Join: false, Nodes: -1, UserStateLen: 0 })), 'bad-field')
  assert.equal(decodeReason(concat(bytes('08'), encodeMsgpack({ UserMsgLen: 2 ** 40 }))), 'too-large')
  assert.equal(decodeReason(concat(bytes('08'), encodeMsgpack({ UserMsgLen: 3 }), bytes('01'))), 'truncated')
})

test('decodeStream: node states are checked like alive messages (Vsn, Addr, State)', () => {
  const withNode = (n: Record<string, unknown>): Uint8Array =>
    concat(bytes('06'), encodeMsgpack({ Join: false, Nodes: 1, UserStateLen: 0 }), oracleEncode(n))
  const good = { Name: 'a', Addr: LOCALHOST, Port: 1, Meta: null, Incarnation: 1, State: 3, Vsn: [1, 5, 2, 2, 5, 5] }
  const m = decodeOk(withNode(good))
  assert.ok(m.type === 'pushPull' && m.nodes[0].state === 3 && hex(m.nodes[0].vsn) === '010502020505')
  assert.equal(decodeReason(withNode({ ...good, Vsn: new Uint8Array(3) })), 'bad-field')
  assert.equal(decodeReason(withNode({ ...good, Addr: new Uint8Array(7) })), 'bad-field')
  assert.equal(decodeReason(withNode({ ...good, State: 4 })), 'bad-field')
  assert.equal(decodeReason(withNode({ ...good, Incarnation: 1.5 })), 'bad-field')
})

test('decodeStream refuses types that are not stream messages and wrappers that belong to other layers', () => {
  assert.equal(decodeReason(new Uint8Array(0)), 'empty')
  assert.equal(decodeReason(bytes('0a 00000001 00')), 'not-supported')
  assert.equal(decodeReason(bytes('f4 01 "x" 00')), 'not-supported')
  assert.equal(decodeReason(bytes('04 80')), 'not-supported')
  assert.equal(decodeReason(bytes('07 00')), 'not-supported')
  assert.equal(decodeReason(bytes('63 80')), 'unknown-type')
  const twice = encodeStream({ type: 'ack', seqNo: 1, payload: null }, { compress: true })
  assert.equal(decodeReason(compressWrapper(twice)), 'not-supported')
  const empty = lzwCompress(new Uint8Array(0))
  assert.equal(decodeReason(concat(bytes('09 82 a4"Algo" 00 a3"Buf" a2'), empty)), 'empty')
})

// ---------------------------------------------------------------------------------------------------
// Never throws

const VALID_STREAMS: Uint8Array[] = [
  ...sampleStreams().flatMap((m) => [encodeStream(m, { compress: false }), encodeStream(m, { compress: true })]),
  bytes(GO_HEX['stream-pushpull']),
]

function checkNoThrow(b: Uint8Array): void {
  const d = decodeStream(b)
  if (!d.ok) assert.notEqual(d.error.reason, 'internal', d.error.message)
  const f = streamFrameLength(b)
  if (f.status === 'error') assert.notEqual(f.error.reason, 'internal', f.error.message)
  if (f.status === 'complete') assert.ok(f.length >= 1 && f.length <= b.length)
}

test('property: arbitrary bytes into decodeStream and streamFrameLength never throw', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.constantFrom(0, 2, 6, 8, 9, 10, 13, 244), fc.uint8Array({ maxLength: 300 })).map(([t, b]) =>
          concat(new Uint8Array([t]), b),
        ),
      ),
      checkNoThrow,
    ),
    { numRuns: 5000 },
  )
})

test('property: mutated valid streams never make decodeStream or streamFrameLength throw', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VALID_STREAMS),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (base, edits, cut) => {
        const b = base.slice(0, 1 + (cut % base.length))
        for (const [i, v] of edits) b[i % b.length] = v
        checkNoThrow(b)
      },
    ),
    { numRuns: 5000 },
  )
})
