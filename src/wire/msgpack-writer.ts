/**
 * A msgpack writer that produces exactly what hashicorp/go-msgpack v0.5.5 writes for memberlist and
 * serf structs (spec 1.2), so our bytes are identical to a Go peer's:
 *
 * - strings: fixstr (< 32 bytes), str16 `da` (< 65536), str32 `db`; never str8 `d9` (old spec);
 * - Go `[]byte` (addresses, Meta, Vsn, payloads): the same str family, not bin; nil is `c0`;
 * - integers in their smallest form whatever the Go width (port 7946 = `cd 1f 0a`, port 80 = `50`);
 * - float64 as `cb`, bool `c2`/`c3`, arrays `9x`/`dc`/`dd`, maps `8x`/`de`/`df`;
 * - struct fields as maps whose keys are sorted byte-wise (callers write known keys in that order;
 *   `value()` sorts plain objects itself).
 *
 * Hand-written because no npm encoder writes the old-spec str16-instead-of-str8 and bytes-as-str forms.
 * One growable buffer, reused: `reset()`, write, then `finish()` copies the bytes out.
 *
 * Encoding our own values cannot fail on remote input; a value Go could not have produced (a negative
 * or fractional number where an unsigned integer belongs) is a bug and throws InvariantError.
 */
import { InvariantError } from '../core/assert.js'
import { copyBytes } from './bytes-pool.js'

const TWO_32 = 4294967296

/** Marks a number to be written as float64 by `value()` even when it is integral. */
export class MsgpackFloat64 {
  constructor(readonly value: number) {}
}

/** What `value()` can write. Objects become maps with byte-wise sorted keys; undefined fields are omitted. */
export type MsgpackValue =
  | null
  | undefined
  | boolean
  | number
  | string
  | Uint8Array
  | MsgpackFloat64
  | readonly MsgpackValue[]
  | ReadonlyMap<string, MsgpackValue>
  | { readonly [key: string]: MsgpackValue }

export class MsgpackWriter {
  private buf: Uint8Array
  private view: DataView
  /** Bytes written since the last reset. */
  pos = 0

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(initialBytes)
    this.view = new DataView(this.buf.buffer)
  }

  /** Starts a new output, keeping the buffer. */
  reset(): this {
    this.pos = 0
    return this
  }

  /** A copy of everything written since reset(), in its own ArrayBuffer (safe to keep). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }

  /**
   * A copy of everything written since reset(), possibly cut from a shared slab (bytes-pool.ts): faster,
   * meant for output that is sent and dropped.
   */
  finishPooled(): Uint8Array {
    return copyBytes(this.buf, 0, this.pos)
  }

  /** A view of everything written since reset(); valid only until the next write or reset. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const grown = new Uint8Array(size)
    grown.set(this.buf.subarray(0, this.pos))
    this.buf = grown
    this.view = new DataView(grown.buffer)
  }

  /** One raw byte (a message type, a compound count). */
  u8(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  /** A raw big-endian u16 (compound part lengths). */
  u16be(v: number): void {
    this.ensure(2)
    this.buf[this.pos++] = v >>> 8
    this.buf[this.pos++] = v & 0xff
  }

  /** Raw bytes, no header. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length
    this.ensure(n)
    if (n < 32) {
      const buf = this.buf
      let p = this.pos
      for (let i = 0; i < n; i++) buf[p++] = bytes[i]
      this.pos = p
    } else {
      this.buf.set(bytes, this.pos)
      this.pos += n
    }
  }

  nil(): void {
    this.u8(0xc0)
  }

  bool(v: boolean): void {
    this.u8(v ? 0xc3 : 0xc2)
  }

  /** A non-negative integer in its smallest form (Go uint*, and int when >= 0). */
  uint(v: number): void {
    if (!(Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER)) {
      throw new InvariantError(`msgpack uint out of range: ${v}`)
    }
    this.ensure(9)
    const buf = this.buf
    let p = this.pos
    if (v < 0x80) {
      buf[p++] = v
    } else if (v < 0x100) {
      buf[p++] = 0xcc
      buf[p++] = v
    } else if (v < 0x10000) {
      buf[p++] = 0xcd
      buf[p++] = v >>> 8
      buf[p++] = v & 0xff
    } else if (v < TWO_32) {
      buf[p++] = 0xce
      buf[p++] = v >>> 24
      buf[p++] = (v >>> 16) & 0xff
      buf[p++] = (v >>> 8) & 0xff
      buf[p++] = v & 0xff
    } else {
      buf[p++] = 0xcf
      this.view.setUint32(p, Math.floor(v / TWO_32))
      this.view.setUint32(p + 4, v >>> 0)
      p += 8
    }
    this.pos = p
  }

  /** An unsigned integer of a Go field whose largest value is `max` (0xffffffff for uint32, …). */
  uintMax(v: number, max: number): void {
    if (v > max) {
      throw new InvariantError(`msgpack uint above ${max}: ${v}`)
    }
    this.uint(v)
  }

  /** Any safe integer in its smallest form (Go int*). */
  int(v: number): void {
    if (v >= 0) return this.uint(v)
    if (!(Number.isInteger(v) && v >= Number.MIN_SAFE_INTEGER)) {
      throw new InvariantError(`msgpack int out of range: ${v}`)
    }
    this.ensure(9)
    const p = this.pos
    if (v >= -32) {
      this.buf[p] = v & 0xff
      this.pos = p + 1
    } else if (v >= -128) {
      this.buf[p] = 0xd0
      this.view.setInt8(p + 1, v)
      this.pos = p + 2
    } else if (v >= -32768) {
      this.buf[p] = 0xd1
      this.view.setInt16(p + 1, v)
      this.pos = p + 3
    } else if (v >= -2147483648) {
      this.buf[p] = 0xd2
      this.view.setInt32(p + 1, v)
      this.pos = p + 5
    } else {
      this.buf[p] = 0xd3
      const hi = Math.floor(v / TWO_32)
      this.view.setInt32(p + 1, hi)
      this.view.setUint32(p + 5, v - hi * TWO_32)
      this.pos = p + 9
    }
  }

  /** float64 (`cb`), as Go writes every float64 field. */
  float64(v: number): void {
    this.ensure(9)
    this.buf[this.pos] = 0xcb
    this.view.setFloat64(this.pos + 1, v)
    this.pos += 9
  }

  /** Header of a str-family item of `len` bytes: fixstr, str16 or str32 (never str8). */
  strHeader(len: number): void {
    this.ensure(5)
    const buf = this.buf
    if (len < 32) {
      buf[this.pos++] = 0xa0 | len
    } else if (len < 0x10000) {
      buf[this.pos++] = 0xda
      buf[this.pos++] = len >>> 8
      buf[this.pos++] = len & 0xff
    } else {
      buf[this.pos++] = 0xdb
      this.view.setUint32(this.pos, len)
      this.pos += 4
    }
  }

  /** A Go string: UTF-8 in the str family. Lone surrogates become U+FFFD, as TextEncoder does. */
  str(s: string): void {
    const n = s.length
    if (n < 32) {
      // Optimistic single pass: a short ASCII string is a fixstr whose length is its character count.
      this.ensure(n + 1)
      const buf = this.buf
      const start = this.pos
      let p = start + 1
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[p++] = c
      }
      if (i === n) {
        buf[start] = 0xa0 | n
        this.pos = p
        return
      }
    } else {
      let i = 0
      while (i < n && s.charCodeAt(i) < 0x80) i++
      if (i === n) {
        this.strHeader(n)
        this.ensure(n)
        const buf = this.buf
        let p = this.pos
        for (let j = 0; j < n; j++) buf[p++] = s.charCodeAt(j)
        this.pos = p
        return
      }
    }
    const len = utf8Length(s)
    this.strHeader(len)
    this.ensure(len)
    this.pos = writeUtf8(s, this.buf, this.pos)
  }

  /** A Go `[]byte` (or net.IP): the str family, not bin. */
  bytes(b: Uint8Array): void {
    this.strHeader(b.length)
    this.raw(b)
  }

  /** A Go `[]byte` that may be nil: `c0` for null. */
  bytesOrNil(b: Uint8Array | null | undefined): void {
    if (b == null) this.nil()
    else this.bytes(b)
  }

  arrayHeader(n: number): void {
    this.ensure(5)
    if (n < 16) {
      this.buf[this.pos++] = 0x90 | n
    } else if (n < 0x10000) {
      this.buf[this.pos++] = 0xdc
      this.buf[this.pos++] = n >>> 8
      this.buf[this.pos++] = n & 0xff
    } else {
      this.buf[this.pos++] = 0xdd
      this.view.setUint32(this.pos, n)
      this.pos += 4
    }
  }

  mapHeader(n: number): void {
    this.ensure(5)
    if (n < 16) {
      this.buf[this.pos++] = 0x80 | n
    } else if (n < 0x10000) {
      this.buf[this.pos++] = 0xde
      this.buf[this.pos++] = n >>> 8
      this.buf[this.pos++] = n & 0xff
    } else {
      this.buf[this.pos++] = 0xdf
      this.view.setUint32(this.pos, n)
      this.pos += 4
    }
  }

  /** A pre-encoded item (for example a map key from `encodeKey`), copied verbatim. */
  encoded(item: Uint8Array): void {
    this.raw(item)
  }

  /**
   * Any supported value, the way go-msgpack writes the corresponding Go value. Integral numbers are
   * integers (wrap in MsgpackFloat64 for a float64 field), Uint8Array is a Go []byte, null and undefined
   * are nil, objects and Maps are maps with keys sorted byte-wise and undefined entries left out.
   */
  value(v: MsgpackValue): void {
    if (v === null || v === undefined) return this.nil()
    switch (typeof v) {
      case 'boolean':
        return this.bool(v)
      case 'number':
        return Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER ? this.int(v) : this.float64(v)
      case 'string':
        return this.str(v)
    }
    if (v instanceof Uint8Array) return this.bytes(v)
    if (v instanceof MsgpackFloat64) return this.float64(v.value)
    if (Array.isArray(v)) {
      const a = v as readonly MsgpackValue[]
      this.arrayHeader(a.length)
      for (let i = 0; i < a.length; i++) this.value(a[i])
      return
    }
    const entries: Array<[string, MsgpackValue]> = []
    if (v instanceof Map) {
      for (const [k, x] of v as ReadonlyMap<string, MsgpackValue>) if (x !== undefined) entries.push([k, x])
    } else {
      const o = v as { readonly [key: string]: MsgpackValue }
      for (const k of Object.keys(o)) if (o[k] !== undefined) entries.push([k, o[k]])
    }
    entries.sort((a, b) => compareUtf8(a[0], b[0]))
    this.mapHeader(entries.length)
    for (const [k, x] of entries) {
      this.str(k)
      this.value(x)
    }
  }
}

/** Encodes `v` on its own into fresh bytes (go-msgpack's output for the equivalent Go value). */
export function encodeMsgpack(v: MsgpackValue): Uint8Array {
  const w = new MsgpackWriter(256)
  w.value(v)
  return w.finish()
}

/** A map key (or any string) pre-encoded as its str item, for writing fixed keys fast. */
export function encodeKey(name: string): Uint8Array {
  const w = new MsgpackWriter(64)
  w.str(name)
  return w.finish()
}

/** UTF-8 byte length of a JS string (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let len = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) len += 1
    else if (c < 0x800) len += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 4
        i++
      } else len += 3
    } else len += 3
  }
  return len
}

/** Writes `s` as UTF-8 into `buf` at `pos` (room must exist); returns the new position. */
export function writeUtf8(s: string, buf: Uint8Array, pos: number): number {
  let p = pos
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      buf[p++] = c
      continue
    }
    if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6)
      buf[p++] = 0x80 | (c & 0x3f)
      continue
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        i++
        buf[p++] = 0xf0 | (cp >> 18)
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f)
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f)
        buf[p++] = 0x80 | (cp & 0x3f)
        continue
      }
      c = 0xfffd
    }
    buf[p++] = 0xe0 | (c >> 12)
    buf[p++] = 0x80 | ((c >> 6) & 0x3f)
    buf[p++] = 0x80 | (c & 0x3f)
  }
  return p
}

/** Compares two strings by their UTF-8 bytes (which is code point order), as Go sorts byte strings. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // Surrogates (0xd800-0xdfff) encode code points above 0xffff, which sort after 0xe000-0xffff.
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x - y
  }
  return a.length - b.length
}
