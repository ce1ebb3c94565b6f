// Golden fixtures captured from real serf 0.9.4 agents (test/interop/fixtures/serf-0.9.4-capture.hex,
// recorded by capture-serf-fixtures.ts): every datagram, stream request and stream reply decodes without
// error, and re-encodes to identical bytes, layer by layer (CRC, compress with Go 1.19's leading-clear
// LZW, compound, memberlist messages, Serf messages inside user messages and push-pull state). The one
// place Go is not deterministic, map[string]uint64 StatusLTimes in push-pull user state, is compared
// by value when its keys did not happen to arrive sorted. Needs no serf.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { crc32, decodeMessage, decodePacket, decodeStream, encodeCompound, encodeCompress, encodeMessage, encodeStream, lzwDecompress } from '../../src/wire/index.js'
import { decodeSerfMessage, encodeSerfMessage } from '../../src/serf/messages.js'
import type { SerfMessage } from '../../src/serf/messages.js'

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'interop', 'fixtures', 'serf-0.9.4-capture.hex')
const LEADING_CLEAR = { leadingClear: true } as const

interface Fixture {
  readonly kind: string
  readonly source: string
  readonly bytes: Uint8Array
}

function fixtures(): Fixture[] {
  return readFileSync(FILE, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const [kind, source, hex] = l.split(' ')
      return { kind, source, bytes: new Uint8Array(Buffer.from(hex, 'hex')) }
    })
}

/** What the fixtures contained, so the test proves it covered each layer. */
const seen = new Map<string, number>()
const count = (what: string): void => {
  seen.set(what, (seen.get(what) ?? 0) + 1)
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A Serf message re-encoded; byte-identical except for a Go map order, checked by value instead. */
function checkSerf(payload: Uint8Array, where: string): void {
  const d = decodeSerfMessage(payload)
  assert.ok(d.ok, `${where}: ${d.ok ? '' : d.error.message}`)
  const msg: SerfMessage = d.value
  count(`serf:${msg.type}${msg.type === 'userEvent' ? `:${msg.name}` : ''}`)
  if (msg.type === 'other') return
  const again = encodeSerfMessage(msg)
  if (msg.type === 'pushPull') {
    const keys = [...msg.statusLTimes.keys()]
    const sorted = keys.every((k, i) => i === 0 || keys[i - 1] < k)
    if (!sorted) {
      assert.equal(again.length, payload.length, where)
      assert.deepEqual(decodeSerfMessage(again), d, where)
      return
    }
  }
  assert.equal(hex(again), hex(payload), where)
}

/** Re-encodes one packet layer by layer (memberlist's handleCommand structure). */
function reencodePacket(buf: Uint8Array, where: string): Uint8Array {
  switch (buf[0]) {
    case 12: {
      count('crc')
      const inner = reencodePacket(buf.subarray(5), where)
      const out = new Uint8Array(5 + inner.length)
      out[0] = 12
      new DataView(out.buffer).setUint32(1, crc32(inner))
      out.set(inner, 5)
      return out
    }
    case 9: {
      count('compress')
      // [9] 82 a4"Algo" 00 a3"Buf" <str header> <lzw>
      assert.equal(hex(buf.subarray(0, 12)), `0982a4${hex(Buffer.from('Algo'))}00a3${hex(Buffer.from('Buf'))}`, where)
      let p = 12
      let len: number
      const h = buf[p++]
      if (h >= 0xa0 && h <= 0xbf) len = h & 0x1f
      else if (h === 0xda) {
        len = (buf[p] << 8) | buf[p + 1]
        p += 2
      } else throw new Error(`${where}: unexpected Buf header ${h}`)
      const plain = lzwDecompress(buf.subarray(p, p + len), 1 << 20)
      assert.ok(plain.ok, where)
      return encodeCompress(reencodePacket(plain.value, where), LEADING_CLEAR)
    }
    case 7: {
      count('compound')
      const n = buf[1]
      const parts: Uint8Array[] = []
      let p = 2 + 2 * n
      for (let i = 0; i < n; i++) {
        const len = (buf[2 + 2 * i] << 8) | buf[3 + 2 * i]
        parts.push(reencodePacket(buf.subarray(p, p + len), `${where} part ${i}`))
        p += len
      }
      assert.equal(p, buf.length, where)
      return encodeCompound(parts)
    }
    default: {
      const d = decodeMessage(buf)
      assert.ok(d.ok, `${where}: ${d.ok ? '' : d.error.message}`)
      count(`msg:${d.value.type}`)
      if (d.value.type === 'user') checkSerf(d.value.payload, where)
      return encodeMessage(d.value)
    }
  }
}

test('every packet and stream captured from Serf decodes and re-encodes to identical bytes', (t) => {
  const all = fixtures()
  assert.ok(all.length >= 20, `expected captured fixtures, found ${all.length}`)
  for (const [i, f] of all.entries()) {
    const where = `fixture ${i + 2} (${f.kind} from ${f.source})`
    if (f.kind === 'packet') {
      const decoded = decodePacket(f.bytes)
      assert.deepEqual(decoded.errors, [], where)
      assert.ok(decoded.messages.length > 0, where)
      assert.equal(hex(reencodePacket(f.bytes, where)), hex(f.bytes), where)
      continue
    }
    const d = decodeStream(f.bytes)
    assert.ok(d.ok, `${where}: ${d.ok ? '' : d.error.message}`)
    const compressed = f.bytes[0] === 9
    count(`stream:${d.value.type}${compressed ? ':compressed' : ''}`)
    assert.equal(hex(encodeStream(d.value, { compress: compressed, ...LEADING_CLEAR })), hex(f.bytes), where)
    if (d.value.type === 'pushPull') {
      assert.ok(d.value.userState.length > 0, `${where}: serf sends its user state`)
      checkSerf(d.value.userState, `${where} user state`)
    }
  }
  t.diagnostic(`covered: ${JSON.stringify([...seen])}`)
  // The capture covered every layer the interop relies on.
  for (const what of ['crc', 'compress', 'compound', 'msg:ping', 'msg:ack', 'msg:alive', 'msg:user', 'stream:pushPull', 'stream:pushPull:compressed', 'serf:join', 'serf:leave', 'serf:userEvent:deploy', 'serf:pushPull']) {
    assert.ok((seen.get(what) ?? 0) > 0, `no ${what} in the fixtures: ${JSON.stringify([...seen])}`)
  }
})
