/**
 * A schema-directed msgpack reader for memberlist bodies: reads fields straight into typed values with
 * go-msgpack v0.5.5's acceptance rules (spec 1.3), liberal where that is harmless:
 *
 * | read as  | accepted                                              | rejected ('bad-field')            |
 * |----------|-------------------------------------------------------|-----------------------------------|
 * | integer  | every int form, nil (= 0)                             | floats, out of range, negative    |
 * | bool     | c2 / c3, fixint 0 / 1, nil (= false)                  | anything else                     |
 * | string   | str family (incl. str8), bin family, nil (= '')       | anything else                     |
 * | bytes    | str family, bin family, array of ints 0..255, nil     | anything else                     |
 * | map key  | str family, bin family                                | anything else                     |
 *
 * Bad input is signalled by throwing a DecodeError, caught by the codec at its public boundary; nothing
 * here allocates more than the bytes actually present (every length is checked against what remains and
 * a field bound before anything is copied). Byte values are copies, never views of the input.
 */
import { copyOut } from './bytes-pool.js'
import { DecodeError } from './decode-error.js'
import { msgpackObjectLength } from './msgpack-scan.js'

const EMPTY = new Uint8Array(0)
const TWO_32 = 4294967296

/** Known map keys of a schema, matched without allocating a string. Ids are indexes into `names`. */
export class KeyTable {
  /** Open addressing by hash of the key bytes: id + 1, or 0 for an empty slot. */
  private readonly slots = new Int16Array(256)
  private readonly keyBytes: Uint8Array[] = []

  constructor(readonly names: readonly string[]) {
    names.forEach((name, id) => {
      const bytes = new Uint8Array(name.length)
      for (let i = 0; i < name.length; i++) bytes[i] = name.charCodeAt(i)
      this.keyBytes.push(bytes)
      let h = keyHash(bytes, 0, bytes.length)
      while (this.slots[h] !== 0) h = (h + 1) & 255
      this.slots[h] = id + 1
    })
  }

  /** Whether `buf[start, start + len)` is the key with this id. */
  is(id: number, buf: Uint8Array, start: number, len: number): boolean {
    const want = this.keyBytes[id]
    if (want.length !== len) return false
    for (let i = 0; i < len; i++) if (buf[start + i] !== want[i]) return false
    return true
  }

  /** The id of the key in `buf[start, start + len)`, or -1 when it is not one of ours. */
  match(buf: Uint8Array, start: number, len: number): number {
    if (len === 0) return -1
    let h = keyHash(buf, start, len)
    for (;;) {
      const slot = this.slots[h]
      if (slot === 0) return -1
      const want = this.keyBytes[slot - 1]
      if (want.length === len) {
        let i = 0
        while (i < len && buf[start + i] === want[i]) i++
        if (i === len) return slot - 1
      }
      h = (h + 1) & 255
    }
  }
}

function keyHash(buf: Uint8Array, start: number, len: number): number {
  return (len * 37 + buf[start] * 7 + buf[start + len - 1] * 3 + buf[start + (len >> 1)]) & 255
}

let textDecoder: InstanceType<typeof TextDecoder> | undefined

/**
 * Decoded short strings, direct-mapped by a hash of their bytes. Node names repeat in nearly every
 * message, so most decodes become a hash and a compare, and equal names share one JS string.
 * Deterministic: a colliding entry simply replaces the old one.
 *
 * A slot's bytes live in one arena (STRING_CACHE_MAX_BYTES per slot) beside its full hash and length
 * in typed arrays, so a lookup reads three flat arrays and no per-slot object: with one Uint8Array per
 * slot, each lookup chased two pointers to scattered memory, a cache miss each at 10,000 peers.
 *
 * The table starts at 16,384 slots and doubles (up to 262,144) when more than one lookup in eight
 * missed over the last 4 × size lookups: a process that meets more distinct names than the table holds
 * well (the simulator's 10,000 overlay peers: a third of the lookups missed at 5,000) gets room for
 * them, one that does not (an agent) never pays for it. A miss costs a copy and a new string.
 */
const STRING_CACHE_INITIAL = 16384
const STRING_CACHE_LARGEST = 262144
const STRING_CACHE_MAX_BYTES = 64
let cacheMask = STRING_CACHE_INITIAL - 1
/** Per slot: the full hash of its bytes, their length (0: empty slot), and the bytes at slot × MAX_BYTES. */
let cacheHash = new Int32Array(STRING_CACHE_INITIAL)
let cacheLen = new Uint8Array(STRING_CACHE_INITIAL)
let cacheArena = new Uint8Array(STRING_CACHE_INITIAL * STRING_CACHE_MAX_BYTES)
let cacheStrings: string[] = new Array<string>(STRING_CACHE_INITIAL).fill('')
let cacheLookups = 0
let cacheMisses = 0

function growStringCache(): void {
  const size = 2 * (cacheMask + 1)
  const hash = new Int32Array(size)
  const lens = new Uint8Array(size)
  const arena = new Uint8Array(size * STRING_CACHE_MAX_BYTES)
  const strings = new Array<string>(size).fill('')
  // Re-file what the table holds, so growing loses nothing.
  for (let slot = 0; slot <= cacheMask; slot++) {
    const len = cacheLen[slot]
    if (len === 0) continue
    const h = cacheHash[slot]
    const at = h & (size - 1)
    hash[at] = h
    lens[at] = len
    arena.set(cacheArena.subarray(slot * STRING_CACHE_MAX_BYTES, slot * STRING_CACHE_MAX_BYTES + len), at * STRING_CACHE_MAX_BYTES)
    strings[at] = cacheStrings[slot]
  }
  cacheHash = hash
  cacheLen = lens
  cacheArena = arena
  cacheStrings = strings
  cacheMask = size - 1
}

/** Slots in the decoded-string table now (for tests and diagnostics). */
export function stringCacheSlots(): number {
  return cacheMask + 1
}

function stringHash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193)
  return h ^ (h >>> 15)
}

/** UTF-8 bytes to a JS string (invalid sequences become U+FFFD). */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start
  if (len === 0) return ''
  if (len > STRING_CACHE_MAX_BYTES) return slowUtf8(buf, start, end)
  if (++cacheLookups > 4 * (cacheMask + 1)) {
    if (8 * cacheMisses > cacheLookups && cacheMask + 1 < STRING_CACHE_LARGEST) growStringCache()
    cacheLookups = 0
    cacheMisses = 0
  }
  const h = stringHash(buf, start, end)
  const slot = h & cacheMask
  const base = slot * STRING_CACHE_MAX_BYTES
  if (cacheHash[slot] === h && cacheLen[slot] === len) {
    const arena = cacheArena
    let i = 0
    while (i < len && arena[base + i] === buf[start + i]) i++
    if (i === len) return cacheStrings[slot]
  }
  cacheMisses++
  let ascii = true
  for (let i = start; i < end; i++) {
    if (buf[i] >= 0x80) {
      ascii = false
      break
    }
  }
  // One call builds a flat string; one grown by += is a rope of pieces, flattened again at its first
  // use as a Map key (peer ids of the overlay are looked up in maps at every message).
  const s = ascii ? String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]) : slowUtf8(buf, start, end)
  cacheHash[slot] = h
  cacheLen[slot] = len
  cacheArena.set(buf.subarray(start, end), base)
  cacheStrings[slot] = s
  return s
}

function slowUtf8(buf: Uint8Array, start: number, end: number): string {
  textDecoder ??= new TextDecoder('utf-8', { ignoreBOM: true })
  return textDecoder.decode(buf.subarray(start, end))
}

export class MsgpackReader {
  buf: Uint8Array = EMPTY
  pos = 0
  end = 0
  /** Container depth budget for skipped values. */
  maxDepth: number

  constructor(maxDepth: number) {
    this.maxDepth = maxDepth
  }

  reset(buf: Uint8Array, pos: number, end: number = buf.length): this {
    this.buf = buf
    this.pos = pos
    this.end = end
    return this
  }

  fail(reason: DecodeError['reason'], message: string, at: number = this.pos): never {
    throw new DecodeError(reason, message, at)
  }

  /** A value of the wrong msgpack type: 'bad-field', or 'bad-msgpack' for the reserved byte 0xc1. */
  private typeError(b: number, message: string, at: number): never {
    if (b === 0xc1) this.fail('bad-msgpack', 'reserved byte 0xc1', at)
    return this.fail('bad-field', `${message} (0x${b.toString(16)})`, at)
  }

  private byte(): number {
    if (this.pos >= this.end) this.fail('truncated', 'msgpack data ends early')
    return this.buf[this.pos++]
  }

  private need(n: number): void {
    if (this.end - this.pos < n) this.fail('truncated', 'msgpack data ends early')
  }

  private u16(): number {
    this.need(2)
    const b = this.buf
    const p = this.pos
    this.pos = p + 2
    return (b[p] << 8) | b[p + 1]
  }

  private u32(): number {
    this.need(4)
    const b = this.buf
    const p = this.pos
    this.pos = p + 4
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0
  }

  /** Header of a map; `what` names the value for the error. */
  mapHeader(what: string): number {
    const at = this.pos
    const b = this.byte()
    if (b >= 0x80 && b <= 0x8f) return b & 0x0f
    if (b === 0xde) return this.u16()
    if (b === 0xdf) return this.u32()
    return this.typeError(b, `${what} is not a map`, at)
  }

  /** Header of an array; `what` names the value for the error. */
  arrayHeader(what: string): number {
    const at = this.pos
    const b = this.byte()
    if (b >= 0x90 && b <= 0x9f) return b & 0x0f
    if (b === 0xdc) return this.u16()
    if (b === 0xdd) return this.u32()
    return this.typeError(b, `${what} is not an array`, at)
  }

  /**
   * Reads a map key; returns its id in `keys`, or -1 for a key we do not know (its value must be
   * skipped). `expected` is the id the sender most likely wrote here, checked first.
   */
  key(keys: KeyTable, expected = -1): number {
    const at = this.pos
    const b = this.byte()
    let len: number
    if (b >= 0xa0 && b <= 0xbf) len = b & 0x1f
    else if (b === 0xd9 || b === 0xc4) len = this.byte()
    else if (b === 0xda || b === 0xc5) len = this.u16()
    else if (b === 0xdb || b === 0xc6) len = this.u32()
    else return this.typeError(b, 'map key is not a string', at)
    this.need(len)
    const start = this.pos
    this.pos = start + len
    // Go writes keys in a known order: try the expected one before hashing.
    if (expected >= 0 && keys.is(expected, this.buf, start, len)) return expected
    return keys.match(this.buf, start, len)
  }

  /** Skips one value of any type (an unknown field). */
  skip(): void {
    const n = msgpackObjectLength(this.buf.subarray(0, this.end), this.pos, this.maxDepth)
    if (n === 'incomplete') this.fail('truncated', 'msgpack data ends early')
    if (typeof n !== 'number') throw n
    this.pos += n
  }

  /** An integer in [0, max]; nil is 0. */
  uint(max: number, field: string): number {
    const at = this.pos
    const b = this.byte()
    if (b < 0x80) {
      if (b > max) this.fail('bad-field', `${field} out of range: ${b}`, at)
      return b
    }
    let v: number
    switch (b) {
      case 0xc0:
        return 0
      case 0xcc:
        v = this.byte()
        break
      case 0xcd:
        v = this.u16()
        break
      case 0xce:
        v = this.u32()
        break
      case 0xcf: {
        const hi = this.u32()
        v = hi * TWO_32 + this.u32()
        break
      }
      case 0xd0: {
        v = (this.byte() << 24) >> 24
        break
      }
      case 0xd1:
        v = (this.u16() << 16) >> 16
        break
      case 0xd2:
        v = this.u32() | 0
        break
      case 0xd3: {
        const hi = this.u32() | 0
        v = hi * TWO_32 + this.u32()
        break
      }
      default:
        if (b >= 0xe0) {
          v = b - 0x100
          break
        }
        return this.typeError(b, `${field} is not an integer`, at)
    }
    if (v < 0 || v > max) this.fail('bad-field', `${field} out of range: ${v}`, at)
    return v
  }

  /** A bool; nil is false. */
  bool(field: string): boolean {
    const at = this.pos
    const b = this.byte()
    if (b === 0xc3 || b === 0x01) return true
    if (b === 0xc2 || b === 0x00 || b === 0xc0) return false
    return this.typeError(b, `${field} is not a bool`, at)
  }

  /** Length of a str or bin item whose header byte was just read, or -1 if `b` is not one. */
  private rawLength(b: number): number {
    if (b >= 0xa0 && b <= 0xbf) return b & 0x1f
    switch (b) {
      case 0xd9:
      case 0xc4:
        return this.byte()
      case 0xda:
      case 0xc5:
        return this.u16()
      case 0xdb:
      case 0xc6:
        return this.u32()
    }
    return -1
  }

  /** A Go string: str or bin; nil is ''. */
  str(maxBytes: number, field: string): string {
    const at = this.pos
    const b = this.byte()
    if (b === 0xc0) return ''
    const len = this.rawLength(b)
    if (len < 0) return this.typeError(b, `${field} is not a string`, at)
    if (len > maxBytes) this.fail('too-large', `${field} longer than ${maxBytes} bytes`, at)
    this.need(len)
    const start = this.pos
    this.pos = start + len
    return decodeUtf8(this.buf, start, start + len)
  }

  /** A Go []byte: str, bin or an array of small ints; nil is null. The result is a copy. */
  bytesOrNull(maxBytes: number, field: string): Uint8Array | null {
    const at = this.pos
    const b = this.byte()
    if (b === 0xc0) return null
    let len = this.rawLength(b)
    if (len >= 0) {
      if (len > maxBytes) this.fail('too-large', `${field} longer than ${maxBytes} bytes`, at)
      this.need(len)
      const start = this.pos
      this.pos = start + len
      return copyOut(this.buf, start, start + len)
    }
    if (b >= 0x90 && b <= 0x9f) len = b & 0x0f
    else if (b === 0xdc) len = this.u16()
    else if (b === 0xdd) len = this.u32()
    else return this.typeError(b, `${field} is not bytes`, at)
    if (len > maxBytes) this.fail('too-large', `${field} longer than ${maxBytes} bytes`, at)
    this.need(len) // each element is at least one byte
    const out = new Uint8Array(len)
    for (let i = 0; i < len; i++) out[i] = this.uint(255, field)
    return out
  }

  /**
   * A str or bin item as a view into the input (no copy): for data that is consumed at once, such as a
   * compress buffer about to be decompressed. nil gives an empty view.
   */
  rawView(maxBytes: number, field: string): Uint8Array {
    const at = this.pos
    const b = this.byte()
    if (b === 0xc0) return EMPTY
    const len = this.rawLength(b)
    if (len < 0) return this.typeError(b, `${field} is not bytes`, at)
    if (len > maxBytes) this.fail('too-large', `${field} longer than ${maxBytes} bytes`, at)
    this.need(len)
    const start = this.pos
    this.pos = start + len
    return this.buf.subarray(start, start + len)
  }

  /** A Go []byte where nil and empty mean the same: nil gives an empty array. */
  bytes(maxBytes: number, field: string): Uint8Array {
    return this.bytesOrNull(maxBytes, field) ?? new Uint8Array(0)
  }
}
