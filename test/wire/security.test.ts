// Encryption (AES-GCM, memberlist's layouts), cluster labels and the CRC layer: round trips, keyring
// rules, and that every single-bit flip of real packets is rejected.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import { decodePacket, decodeStream, encodeMessage, encodeStream } from '../../src/wire/codec.js'
import { Keyring, KeyringError, fingerprint, formatKey, parseKey } from '../../src/wire/keyring.js'
import { WireSecurity, decryptPayload, encryptPayload, encryptOverheadBytes, sealedLength } from '../../src/wire/security.js'
import { CollectingOutbox } from '../../src/core/effects.js'
import { nodeAead } from '../../src/wire/aead-node.js'
import { resolveConfig } from '../../src/swim/config.js'
import { Swim } from '../../src/swim/swim.js'
import { addr, alive, type Out } from '../helpers/swim-harness.js'
import { hex } from './helpers.js'

const rng = new SeededRng(7)
const key16 = rng.bytes(16)
const key24 = rng.bytes(24)
const key32 = rng.bytes(32)
const random = (n: number): Uint8Array => rng.bytes(n)
const secure = (keys: Uint8Array[], extra: { label?: string; verifyIncoming?: boolean; verifyOutgoing?: boolean; encryptionVersion?: 0 | 1 } = {}): WireSecurity =>
  new WireSecurity({ keyring: new Keyring(keys), aead: nodeAead, ...extra }, random)

test('encryptPayload layout: [vsn][nonce 12][ciphertext][tag 16]; v0 pads to a block; decryptPayload inverts both', () => {
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => i)
  const plain = new TextEncoder().encode('hello, memberlist')
  for (const key of [key16, key24, key32]) {
    for (const vsn of [0, 1] as const) {
      const sealed = encryptPayload(nodeAead, vsn, key, nonce, plain)
      assert.equal(sealed.length, sealedLength(vsn, plain.length))
      assert.equal(sealed[0], vsn)
      assert.equal(hex(sealed.subarray(1, 13)), hex(nonce))
      assert.equal(sealed.length, vsn === 1 ? plain.length + encryptOverheadBytes[1] : 1 + 12 + 32 + 16)
      const opened = decryptPayload(nodeAead, [key], sealed)
      assert.ok(opened.ok, `${key.length}-byte key, v${vsn}`)
      assert.equal(hex(opened.value), hex(plain))
    }
  }
})

test('decryption tries every installed key in order; a wrong key, a short input or an unknown version is decrypt-failed', () => {
  const sealed = encryptPayload(nodeAead, 1, key32, rng.bytes(12), Uint8Array.of(1, 2, 3))
  const ok = decryptPayload(nodeAead, [key16, key24, key32], sealed)
  assert.ok(ok.ok)
  assert.equal(hex(ok.value), '010203')
  for (const [keys, bytes] of [[[key16], sealed], [[key32], sealed.subarray(0, 28)], [[key32], Uint8Array.of(2, ...sealed.subarray(1))]] as const) {
    const r = decryptPayload(nodeAead, keys, bytes)
    assert.ok(!r.ok)
    assert.equal(r.error.reason, 'decrypt-failed')
  }
})

test('keys are base64 of 16, 24 or 32 bytes as serf keygen prints them; anything else names the problem without echoing the key', () => {
  assert.equal(hex(parseKey(formatKey(key32))), hex(key32))
  assert.equal(parseKey('AAAAAAAAAAAAAAAAAAAAAA==').length, 16)
  for (const bad of ['', 'not base64!', 'AAAA', Buffer.alloc(20).toString('base64')]) {
    assert.throws(() => parseKey(bad), (e: unknown) => e instanceof KeyringError && /16, 24 or 32/.test(e.message))
  }
  const secretish = Buffer.alloc(20, 7).toString('base64')
  assert.throws(() => parseKey(secretish + '!'), (e: Error) => !e.message.includes(secretish))
  assert.match(fingerprint(key32), /^sha256:[0-9a-f]{16}$/)
})

test('keyring rules: install appends, use makes primary (only installed keys), the primary cannot be removed', () => {
  const ring = new Keyring([key16])
  ring.install(key32)
  ring.install(key32)
  assert.deepEqual(ring.info().keys, [fingerprint(key16), fingerprint(key32)])
  assert.throws(() => ring.use(key24), /not installed/)
  ring.use(key32)
  assert.equal(ring.info().primary, fingerprint(key32))
  assert.throws(() => ring.remove(key32), /primary/)
  ring.remove(key16)
  assert.deepEqual(ring.info().keys, [fingerprint(key32)])
  const empty = new Keyring()
  assert.equal(empty.enabled, false)
  empty.install(key24)
  assert.equal(empty.info().primary, fingerprint(key24))
})

test('packets sealed with the primary key and a label are opened by a node holding that key among others', () => {
  const a = secure([key32], { label: 'prod' })
  const b = secure([key16, key32], { label: 'prod' })
  const plain = Uint8Array.of(0, 1, 2, 3, 4)
  const sealed = a.sealPacket(plain)
  assert.equal(hex(sealed.subarray(0, 6)), 'f404' + hex(new TextEncoder().encode('prod')))
  assert.equal(sealed.length, plain.length + a.packetOverheadBytes)
  const opened = b.openPacket(sealed)
  assert.ok(opened.ok)
  assert.equal(hex(opened.value), hex(plain))
  const other = secure([key32], { label: 'staging' }).openPacket(sealed)
  assert.ok(!other.ok)
  assert.equal(other.error.reason, 'label-mismatch')
  const unlabelled = secure([key32]).openPacket(sealed)
  assert.ok(!unlabelled.ok && unlabelled.error.reason === 'label-mismatch')
  // The label is the AES-GCM additional data: moving a sealed packet under another label fails.
  const relabelled = Uint8Array.of(0xf4, 4, ...new TextEncoder().encode('test'), ...sealed.subarray(6))
  const moved = secure([key32], { label: 'test' }).openPacket(relabelled)
  assert.ok(!moved.ok && moved.error.reason === 'decrypt-failed')
})

test('a node with neither label nor keys passes packets through as they are, and still refuses a labelled one', () => {
  const open = secure([])
  for (const plain of [Uint8Array.of(0, 1, 2), new Uint8Array(0)]) {
    assert.equal(open.sealPacket(plain), plain)
    const opened = open.openPacket(plain)
    assert.ok(opened.ok && opened.value === plain)
  }
  const labelled = secure([], { label: 'prod' }).sealPacket(Uint8Array.of(0, 1, 2))
  const refused = open.openPacket(labelled)
  assert.ok(!refused.ok && refused.error.reason === 'label-mismatch')
  const truncated = open.openPacket(Uint8Array.of(0xf4))
  assert.ok(!truncated.ok && truncated.error.reason === 'label-mismatch')
})

test('the switch to encryption: verify-incoming off accepts plaintext and ciphertext, verify-outgoing off sends plaintext', () => {
  const plain = Uint8Array.of(0, 0x80)
  const accepting = secure([key32], { verifyIncoming: false, verifyOutgoing: false })
  assert.equal(hex(accepting.sealPacket(plain)), hex(plain))
  const fromPlain = accepting.openPacket(plain)
  assert.ok(fromPlain.ok && hex(fromPlain.value) === hex(plain))
  const fromEncrypted = accepting.openPacket(secure([key32]).sealPacket(plain))
  assert.ok(fromEncrypted.ok && hex(fromEncrypted.value) === hex(plain))
  const strict = secure([key32]).openPacket(plain)
  assert.ok(!strict.ok && strict.error.reason === 'decrypt-failed')
  // A node without keys cannot read ciphertext: what it gets does not decode as memberlist messages.
  const { messages, errors } = decodePacket(secure([key32]).sealPacket(plain))
  assert.equal(messages.length, 0)
  assert.ok(errors.length > 0)
})

test('sealed streams are [10][u32 L][payload] with the header (and label) as additional data; only the dialer sends the label header', () => {
  const msg = encodeStream({ type: 'ping', seqNo: 9, node: 'b' }, { compress: true })
  for (const vsn of [0, 1] as const) {
    const a = secure([key24], { label: 'blue', encryptionVersion: vsn })
    const request = a.sealStream(msg, true)
    assert.equal(request[0], 0xf4)
    const body = request.subarray(6)
    assert.equal(body[0], 10)
    assert.equal(new DataView(body.buffer, body.byteOffset).getUint32(1), body.length - 5)
    const opened = secure([key16, key24], { label: 'blue' }).openStream(request, true)
    assert.ok(opened.ok)
    const decoded = decodeStream(opened.value)
    assert.ok(decoded.ok && decoded.value.type === 'ping' && decoded.value.seqNo === 9)
    const reply = a.sealStream(msg, false)
    assert.equal(reply[0], 10)
    assert.ok(a.openStream(reply, false).ok)
    const tampered = reply.slice()
    tampered[3] ^= 1
    assert.ok(!a.openStream(tampered, false).ok)
  }
  const noKey = secure([]).openStream(secure([key32]).sealStream(msg, false), false)
  assert.ok(!noKey.ok && noKey.error.reason === 'unexpected-encryption')
  const plainIn = secure([key32]).openStream(msg, true)
  assert.ok(!plainIn.ok && plainIn.error.reason === 'not-encrypted')
  const allowed = secure([key32], { verifyIncoming: false }).openStream(msg, true)
  assert.ok(allowed.ok && hex(allowed.value) === hex(msg))
})

/** Real packets a node sends: pings, acks with piggybacked gossip, gossip compounds, CRC-wrapped to protocol-5 peers. */
function realPackets(): Uint8Array[] {
  const swim = new Swim({ name: 'me', address: addr(1), config: resolveConfig({ probeIntervalMs: 1000, gossipIntervalMs: 200 }), rng: new SeededRng(3) })
  const out: Out = new CollectingOutbox()
  swim.start(0, out)
  for (let i = 2; i <= 5; i++) swim.handlePacket({ ip: `127.0.0.${i}`, port: 7946 }, encodeAlive(`peer-${i}`, i), 0, out)
  const packets: Uint8Array[] = []
  const queue: Array<{ at: number; timer: SwimTimer }> = []
  let now = 0
  for (let step = 0; step < 200; step++) {
    for (const p of out.packets) packets.push(p.bytes.slice())
    for (const t of out.timers) queue.push({ at: now + t.afterMs, timer: t.timer })
    out.clear()
    queue.sort((x, y) => x.at - y.at)
    const next = queue.shift()
    if (next === undefined) break
    now = next.at
    swim.handleTimer(next.timer, now, out)
  }
  return packets
}

function encodeAlive(name: string, i: number): Uint8Array {
  return encodeMessage(alive(name, 1, i)).slice()
}

test('CRC: every single-bit flip after the type byte of real CRC-wrapped packets is dropped as bad-crc', () => {
  const packets = realPackets().filter((p) => p[0] === 12)
  assert.ok(packets.length >= 5, `expected CRC-wrapped packets, got ${packets.length}`)
  let flips = 0
  for (const p of packets) {
    assert.deepEqual(decodePacket(p).errors, [])
    for (let bit = 8; bit < p.length * 8; bit++) {
      const f = p.slice()
      f[bit >> 3] ^= 1 << (bit & 7)
      const { messages, errors } = decodePacket(f)
      assert.equal(messages.length, 0)
      assert.deepEqual(errors.map((e) => e.reason), ['bad-crc'])
      flips++
    }
  }
  assert.ok(flips > 1000)
})

test('encrypted: every single-bit flip of real sealed packets (with and without a label, v0 and v1) is rejected', () => {
  const packets = realPackets().filter((p) => p[0] === 12).slice(0, 12)
  assert.equal(packets.length, 12)
  for (const opts of [{}, { label: 'prod' }, { encryptionVersion: 0 as const }]) {
    const sec = secure([key32], opts)
    for (const p of packets) {
      const sealed = sec.sealPacket(p)
      assert.ok(sec.openPacket(sealed).ok)
      for (let bit = 0; bit < sealed.length * 8; bit++) {
        const f = sealed.slice()
        f[bit >> 3] ^= 1 << (bit & 7)
        const r = sec.openPacket(f)
        if (r.ok) {
          // Only the version byte is outside GCM's tag: v0 read as v1 keeps its padding, which the CRC then catches.
          assert.equal(bit, opts.label === undefined ? 0 : 48, `bit ${bit} of a ${sealed.length}-byte packet (${JSON.stringify(opts)}) was accepted`)
          const { messages, errors } = decodePacket(r.value)
          assert.equal(messages.length, 0)
          assert.deepEqual(errors.map((e) => e.reason), ['bad-crc'])
          continue
        }
        assert.ok(['decrypt-failed', 'label-mismatch'].includes(r.error.reason), r.error.message)
      }
    }
  }
})

test('CRC: flips of the type byte itself (outside the checksum, as in memberlist) never yield a memberlist message', () => {
  const packets = realPackets().filter((p) => p[0] === 12)
  const outcomes = new Map<string, number>()
  for (const p of packets) {
    for (let bit = 0; bit < 8; bit++) {
      const f = p.slice()
      f[0] ^= 1 << bit
      const { messages, errors } = decodePacket(f)
      // 12 ^ 4 = 8 is a user message: its payload (starting with the checksum) goes to the user delegate,
      // which must reject it on its own; every other flip is a decode error.
      if (f[0] === 8) {
        assert.deepEqual(messages.map((m) => m.type), ['user'])
        continue
      }
      assert.equal(messages.length, 0, `type ${f[0]} decoded to ${messages.map((m) => m.type).join()}`)
      for (const e of errors) outcomes.set(e.reason, (outcomes.get(e.reason) ?? 0) + 1)
    }
  }
  assert.ok([...outcomes.values()].reduce((a, b) => a + b, 0) >= packets.length * 7)
})
