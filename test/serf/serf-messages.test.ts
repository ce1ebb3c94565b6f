// Serf's messages: exact bytes as serf 0.9.4 writes them (spec B.2), round trips, and bounded decoding.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeSerfMessage, encodeSerfMessage } from '../../src/serf/messages.js'
import type { SerfPushPull } from '../../src/serf/messages.js'
import { LamportClock } from '../../src/serf/lamport.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const str = (s: string): string => (0xa0 | s.length).toString(16) + Buffer.from(s).toString('hex')

test('a user event encodes byte for byte as Serf wrote it', () => {
  // Spec B.2 [verified]: 03 84 a2"CC" c3 a5"LTime" 04 a4"Name" a7"myevent" a7"Payload" aa"payload123"
  const bytes = encodeSerfMessage({ type: 'userEvent', coalesce: true, lTime: 4, name: 'myevent', payload: Buffer.from('payload123') })
  assert.equal(hex(bytes), `0384${str('CC')}c3${str('LTime')}04${str('Name')}${str('myevent')}${str('Payload')}${str('payload123')}`)
  const back = decodeSerfMessage(bytes)
  assert.ok(back.ok)
  assert.deepEqual(back.value, { type: 'userEvent', coalesce: true, lTime: 4, name: 'myevent', payload: new Uint8Array(Buffer.from('payload123')) })
})

test('leave and join intents have Go field names, in sorted order', () => {
  const leave = encodeSerfMessage({ type: 'leave', lTime: 300, node: 'gv', prune: false })
  assert.equal(hex(leave), `0083${str('LTime')}cd012c${str('Node')}${str('gv')}${str('Prune')}c2`)
  const join = encodeSerfMessage({ type: 'join', lTime: 1, node: 'gv' })
  assert.equal(hex(join), `0182${str('LTime')}01${str('Node')}${str('gv')}`)
  assert.deepEqual(decodeSerfMessage(leave), { ok: true, value: { type: 'leave', lTime: 300, node: 'gv', prune: false } })
  assert.deepEqual(decodeSerfMessage(join), { ok: true, value: { type: 'join', lTime: 1, node: 'gv' } })
})

test('push-pull state round-trips with nil event slots', () => {
  const events: SerfPushPull['events'] = new Array(512).fill(null)
  const withEvent = [...events]
  withEvent[7] = { lTime: 7, events: [{ name: 'deploy', payload: new Uint8Array([1, 2]) }] }
  const pp: SerfPushPull = {
    type: 'pushPull',
    lTime: 5,
    statusLTimes: new Map([['b', 2], ['a', 3]]),
    leftMembers: ['c'],
    eventLTime: 8,
    events: withEvent,
    queryLTime: 1,
  }
  const bytes = encodeSerfMessage(pp)
  assert.equal(bytes[0], 2)
  const back = decodeSerfMessage(bytes)
  assert.ok(back.ok && back.value.type === 'pushPull')
  assert.equal(back.value.lTime, 5)
  assert.deepEqual([...back.value.statusLTimes], [['a', 3], ['b', 2]])
  assert.deepEqual(back.value.leftMembers, ['c'])
  assert.equal(back.value.events.length, 512)
  assert.deepEqual(back.value.events[7], { lTime: 7, events: [{ name: 'deploy', payload: new Uint8Array([1, 2]) }] })
  assert.equal(hex(encodeSerfMessage(back.value)), hex(bytes))
})

test('a query decodes exactly as serf wrote it (spec B.2), and unknown types decode as other, not as errors', () => {
  // [verified] 04 8b a4"Addr" a4 7f000001 a7"Filters" c0 a5"Flags" 01 a2"ID" ce76749368 a5"LTime" 01 a4"Name" a7"myquery"
  //            a7"Payload" a8"qpayload" a4"Port" cd1f36 ab"RelayFactor" 00 aa"SourceNode" a5"serfQ" a7"Timeout" ce77359400
  const wire =
    `048b${str('Addr')}a47f000001${str('Filters')}c0${str('Flags')}01${str('ID')}ce76749368${str('LTime')}01${str('Name')}${str('myquery')}` +
    `${str('Payload')}${str('qpayload')}${str('Port')}cd1f36${str('RelayFactor')}00${str('SourceNode')}${str('serfQ')}${str('Timeout')}ce77359400`
  const q = decodeSerfMessage(new Uint8Array(Buffer.from(wire, 'hex')))
  assert.ok(q.ok && q.value.type === 'query', JSON.stringify(q))
  assert.deepEqual(q.value, {
    type: 'query',
    addr: new Uint8Array([127, 0, 0, 1]),
    filters: [],
    flags: 1,
    id: 0x76749368,
    lTime: 1,
    name: 'myquery',
    payload: new Uint8Array(Buffer.from('qpayload')),
    port: 0x1f36,
    relayFactor: 0,
    sourceNode: 'serfQ',
    timeoutNs: 2e9,
  })
  assert.equal(hex(encodeSerfMessage(q.value)), wire)
  const ack = encodeSerfMessage({ type: 'queryResponse', flags: 1, from: 'gv', id: 7, lTime: 1, payload: new Uint8Array(0) })
  assert.equal(hex(ack), `0585${str('Flags')}01${str('From')}${str('gv')}${str('ID')}07${str('LTime')}01${str('Payload')}c0`)
  assert.deepEqual(decodeSerfMessage(new Uint8Array([9, 0x80])), { ok: true, value: { type: 'other', messageType: 9 } })
  assert.deepEqual(decodeSerfMessage(new Uint8Array([200])), { ok: true, value: { type: 'other', messageType: 200 } })
})

test('junk Serf messages return typed errors and never throw', () => {
  const cases: Array<[number[], string]> = [
    [[], 'empty'],
    [[0], 'truncated'],
    [[0, 0x81, 0xa5, 0x4c, 0x54], 'truncated'],
    [[1, 0x91, 0x00], 'bad-field'],
    [[2, 0x81, 0xa6, ...Buffer.from('Events'), 0xdd, 0xff, 0xff, 0xff, 0xff], 'too-large'],
    [[2, 0x81, 0xac, ...Buffer.from('StatusLTimes'), 0xde, 0x00, 0x40], 'truncated'],
    [[1, 0x80, 0x00], 'trailing-bytes'],
    [[0, 0x81, 0xa5, ...Buffer.from('LTime'), 0xcb, 0, 0, 0, 0, 0, 0, 0, 0], 'bad-field'],
  ]
  for (const [bytes, reason] of cases) {
    const r = decodeSerfMessage(new Uint8Array(bytes))
    assert.equal(r.ok, false, hex(new Uint8Array(bytes)))
    if (!r.ok) assert.equal(r.error.reason, reason, `${hex(new Uint8Array(bytes))}: ${r.error.message}`)
  }
  // Random bytes after each type byte: never a throw.
  let seed = 7
  for (let i = 0; i < 3000; i++) {
    const len = 1 + (i % 40)
    const b = new Uint8Array(len)
    for (let j = 0; j < len; j++) b[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
    b[0] = i % 4
    const r = decodeSerfMessage(b)
    if (!r.ok) assert.notEqual(r.error.reason, 'internal', r.error.message)
  }
})

test('the Lamport clock starts at one, and witness moves it past what it saw', () => {
  const c = new LamportClock()
  assert.equal(c.time(), 1)
  c.witness(0)
  assert.equal(c.time(), 1)
  c.witness(1)
  assert.equal(c.time(), 2)
  c.witness(10)
  assert.equal(c.time(), 11)
  assert.equal(c.increment(), 12)
  c.witness(-1)
  c.witness(Number.NaN)
  assert.equal(c.time(), 12)
})

// ------------------------------------------------------------------ properties (fast-check)

const lTime = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const name = fc.string({ maxLength: 40 })
const payload = fc.uint8Array({ maxLength: 200 })
const serfMessage = fc.oneof(
  fc.record({ type: fc.constant('leave' as const), lTime, node: name, prune: fc.boolean() }),
  fc.record({ type: fc.constant('join' as const), lTime, node: name }),
  fc.record({ type: fc.constant('userEvent' as const), lTime, name, payload, coalesce: fc.boolean() }),
  fc.record({
    type: fc.constant('query' as const),
    lTime,
    id: fc.integer({ min: 0, max: 0xffffffff }),
    addr: fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    port: fc.integer({ min: 0, max: 0xffff }),
    filters: fc.array(fc.uint8Array({ minLength: 1, maxLength: 30 }), { maxLength: 3 }),
    flags: fc.integer({ min: 0, max: 3 }),
    relayFactor: fc.integer({ min: 0, max: 255 }),
    sourceNode: name,
    name,
    payload,
    timeoutNs: fc.integer({ min: 0, max: 60e9 }),
  }),
  fc.record({ type: fc.constant('queryResponse' as const), lTime, id: fc.integer({ min: 0, max: 0xffffffff }), from: name, flags: fc.integer({ min: 0, max: 1 }), payload }),
  fc
    .record({
      lTime,
      statusLTimes: fc.uniqueArray(fc.tuple(name, lTime), { maxLength: 8, selector: ([k]) => k }),
      leftMembers: fc.array(name, { maxLength: 4 }),
      eventLTime: lTime,
      slots: fc.array(fc.option(fc.record({ lTime, events: fc.array(fc.record({ name, payload }), { maxLength: 3 }) }), { nil: null }), { maxLength: 12 }),
      queryLTime: lTime,
    })
    .map(
      (r): SerfPushPull => ({
        type: 'pushPull',
        lTime: r.lTime,
        statusLTimes: new Map(r.statusLTimes),
        leftMembers: r.leftMembers,
        eventLTime: r.eventLTime,
        events: r.slots,
        queryLTime: r.queryLTime,
      }),
    ),
)

test('property: every Serf message round-trips to the same bytes', () => {
  fc.assert(
    fc.property(serfMessage, (msg) => {
      const bytes = encodeSerfMessage(msg)
      const back = decodeSerfMessage(bytes)
      assert.ok(back.ok, back.ok ? '' : back.error.message)
      assert.equal(back.value.type, msg.type)
      assert.equal(hex(encodeSerfMessage(back.value)), hex(bytes))
    }),
    { numRuns: 400, seed: 4 },
  )
})

test('property: random bytes and damaged Serf messages decode or fail with a typed reason, never throw', () => {
  const check = (bytes: Uint8Array): void => {
    const r = decodeSerfMessage(bytes)
    if (!r.ok) {
      assert.equal(typeof r.error.reason, 'string')
      assert.notEqual(r.error.reason, 'internal', r.error.message)
    }
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 2000, seed: 5 })
  fc.assert(
    fc.property(serfMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (msg, edits, cut) => {
      const bytes = Uint8Array.from(encodeSerfMessage(msg))
      for (const [at, v] of edits) bytes[at % bytes.length] = v
      check(bytes)
      check(bytes.subarray(0, cut % (bytes.length + 1)))
    }),
    { numRuns: 1500, seed: 6 },
  )
})
