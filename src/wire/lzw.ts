/**
 * LZW as Go's `compress/lzw` does it with `lzw.LSB` and literal width 8, which is what memberlist uses
 * for compressMsg (spec section 6). GIF-style, LSB-first bit packing, no "early change":
 *
 *   codes 0..255 literals, 256 clear, 257 end of data, 258.. dictionary; width 9 growing to 12.
 *
 * Writer, as spec section 6 describes it: no leading clear code; after every emitted code `hi` grows,
 * the width grows when `hi` reaches 1 << width, and when `hi` reaches 4095 a clear code is emitted and
 * the table starts over. At the end: the pending code, one more `hi` step, EOF, flush. Empty input gives
 * `01 01`; "a" gives `61 02 02`.
 *
 * The Go that Debian builds serf 0.9.4 with (1.19) writes one more thing: a clear code first (so ""
 * gives `00 03 02` and "a" `00 c3 04 04`); everything after it is the same. `leadingClear: true`
 * reproduces that byte for byte (checked against Go 1.19 output in test/wire/golden.ts). Every Go reader
 * accepts both forms, and so does lzwDecompress.
 *
 * Reader: mirrors the writer. At width 12 with a full table it stops adding entries until a clear code,
 * and it handles the KwKwK case (a code equal to the next free one). Output is bounded by the caller's
 * `maxOutputBytes` before it is written, so a decompression bomb costs at most that much memory.
 */
import { copyBytes } from './bytes-pool.js'
import { DecodeError, decodeFail, decodeOk, type DecodeResult } from './decode-error.js'

const LIT_WIDTH = 8
const CLEAR = 1 << LIT_WIDTH // 256
const EOF = CLEAR + 1 // 257
const MAX_WIDTH = 12
const MAX_CODE = (1 << MAX_WIDTH) - 1 // 4095

// ---------------------------------------------------------------------------------------------------
// Writer

/** Open-addressing hash table from (prefix code << 8 | byte) to code, as in Go's writer. */
const TABLE_SIZE = 4 << MAX_WIDTH // 16384
const TABLE_MASK = TABLE_SIZE - 1
const tableEntries = new Uint32Array(TABLE_SIZE) // key << 12 | code
const tableStamps = new Uint32Array(TABLE_SIZE) // entry valid iff stamp === tableEpoch
let tableEpoch = 0

/** Forgets every entry in O(1) by moving to a new epoch. */
function clearTable(): void {
  tableEpoch = (tableEpoch + 1) >>> 0
  if (tableEpoch === 0) {
    tableStamps.fill(0)
    tableEpoch = 1
  }
}

let outScratch = new Uint8Array(4096)

/** Options of lzwCompress. */
export interface LzwCompressOptions {
  /**
   * Start with a clear code, as newer Go writers do (Go 1.19, which Debian builds serf 0.9.4 with, does).
   * Default false: the writer the spec describes (`""` gives `01 01`). Every Go reader accepts both.
   */
  readonly leadingClear?: boolean
}

/**
 * Compresses `input` as Go's `lzw.NewWriter(w, lzw.LSB, 8)` does: byte-identical to the writer the spec
 * describes by default, and to Go 1.19's with `leadingClear`. Output under 4 KiB may share a pooled slab
 * (bytes-pool.ts); copy it before keeping it long.
 */
export function lzwCompress(input: Uint8Array, options?: LzwCompressOptions): Uint8Array {
  const n = input.length
  // Every input byte yields at most one code, plus the clears (one per 3837 codes), the last code and EOF;
  // each code is at most 12 bits.
  const bound = Math.ceil(((n + Math.ceil(n / 3000) + 4) * MAX_WIDTH) / 8) + 4
  if (outScratch.length < bound) outScratch = new Uint8Array(Math.max(bound, outScratch.length * 2))
  const out = outScratch
  let o = 0
  let bits = 0
  let nBits = 0
  let width = LIT_WIDTH + 1
  let hi = EOF
  let overflow = 1 << width

  if (options?.leadingClear === true) {
    bits = CLEAR
    nBits = width
  }
  if (n === 0) {
    bits |= EOF << nBits
    nBits += width
    while (nBits >= 8) {
      out[o++] = bits & 0xff
      bits >>>= 8
      nBits -= 8
    }
    if (nBits > 0) out[o++] = bits & 0xff
    return copyBytes(out, 0, o)
  }

  clearTable()
  let epoch = tableEpoch
  let code = input[0]
  outer: for (let i = 1; i < n; i++) {
    const literal = input[i]
    const key = (code << 8) | literal
    let h = ((key >>> 12) ^ key) & TABLE_MASK
    while (tableStamps[h] === epoch) {
      const t = tableEntries[h]
      if (t >>> 12 === key) {
        code = t & MAX_CODE
        continue outer
      }
      h = (h + 1) & TABLE_MASK
    }
    // No longer match: emit the current code; the literal starts the next one.
    bits |= code << nBits
    nBits += width
    while (nBits >= 8) {
      out[o++] = bits & 0xff
      bits >>>= 8
      nBits -= 8
    }
    code = literal
    hi++
    if (hi === overflow) {
      width++
      overflow <<= 1
    }
    if (hi === MAX_CODE) {
      bits |= CLEAR << nBits
      nBits += width
      while (nBits >= 8) {
        out[o++] = bits & 0xff
        bits >>>= 8
        nBits -= 8
      }
      width = LIT_WIDTH + 1
      hi = EOF
      overflow = 1 << width
      clearTable()
      epoch = tableEpoch
      continue
    }
    // h is the first free slot on the probe path of key.
    tableStamps[h] = epoch
    tableEntries[h] = ((key << 12) | hi) >>> 0
  }

  // Close: the pending code, one more hi step (which may widen or clear), then EOF.
  bits |= code << nBits
  nBits += width
  while (nBits >= 8) {
    out[o++] = bits & 0xff
    bits >>>= 8
    nBits -= 8
  }
  hi++
  if (hi === overflow) {
    width++
    overflow <<= 1
  }
  if (hi === MAX_CODE) {
    bits |= CLEAR << nBits
    nBits += width
    while (nBits >= 8) {
      out[o++] = bits & 0xff
      bits >>>= 8
      nBits -= 8
    }
    width = LIT_WIDTH + 1
  }
  bits |= EOF << nBits
  nBits += width
  while (nBits >= 8) {
    out[o++] = bits & 0xff
    bits >>>= 8
    nBits -= 8
  }
  if (nBits > 0) out[o++] = bits & 0xff
  return copyBytes(out, 0, o)
}

// ---------------------------------------------------------------------------------------------------
// Reader

const decodeScratch = new Uint8Array(64 * 1024)
/**
 * Every dictionary entry is a run of earlier output: the entry made after code `last` is last's
 * expansion plus the next byte, and that is exactly the output from where `last` was written, one
 * byte longer. So an entry is kept as (start in the output, length) and expanding a code is a copy.
 */
const entryStart = new Int32Array(1 << MAX_WIDTH)
const entryLength = new Uint16Array(1 << MAX_WIDTH)

/**
 * Decompresses a Go `compress/lzw` (LSB, literal width 8) stream. The stream must end with the EOF code;
 * bytes after it are ignored (as Go does). Fails with 'bad-compression' on an invalid code or a missing
 * EOF, and with 'too-large' as soon as the output would exceed `maxOutputBytes`. Output under 4 KiB may
 * share a pooled slab (bytes-pool.ts); copy it before keeping it long.
 */
export function lzwDecompress(input: Uint8Array, maxOutputBytes: number): DecodeResult<Uint8Array> {
  const n = input.length
  // Decode into a shared scratch buffer while the output is small, then copy the result out.
  let out = decodeScratch
  /** Bytes that may be written to `out`: its length, or less when the caller's bound is lower. */
  let room = Math.min(out.length, maxOutputBytes)
  let o = 0
  let pos = 0
  let bits = 0
  let nBits = 0
  let width = LIT_WIDTH + 1
  let mask = (1 << width) - 1
  let hi = EOF
  let overflow = 1 << width
  /** The previous code (-1 after a clear code or with a full table), where its output began, its length. */
  let last = -1
  let lastStart = 0
  let lastLength = 0

  for (;;) {
    while (nBits < width) {
      if (pos >= n) return decodeFail(new DecodeError('bad-compression', 'LZW data ends before the EOF code', pos))
      bits |= input[pos++] << nBits
      nBits += 8
    }
    const code = bits & mask
    bits >>>= width
    nBits -= width

    let from: number
    let len: number
    if (code < CLEAR) {
      from = -1
      len = 1
    } else if (code === CLEAR) {
      width = LIT_WIDTH + 1
      mask = (1 << width) - 1
      hi = EOF
      overflow = 1 << width
      last = -1
      continue
    } else if (code === EOF) {
      return decodeOk(out === decodeScratch ? copyBytes(out, 0, o) : out.subarray(0, o))
    } else if (code < hi || (code === hi && last === -1 && hi === MAX_CODE)) {
      from = entryStart[code]
      len = entryLength[code]
    } else if (code === hi && last !== -1) {
      // KwKwK: the entry being defined right now, last's expansion plus its own first byte. Copying
      // forward from where last began reads that first byte just after writing it.
      from = lastStart
      len = lastLength + 1
    } else {
      return decodeFail(new DecodeError('bad-compression', `invalid LZW code ${code} (next free ${hi})`, pos))
    }

    if (o + len > room) {
      if (o + len > maxOutputBytes) {
        return decodeFail(new DecodeError('too-large', `decompressed size exceeds ${maxOutputBytes} bytes`, pos))
      }
      const grown = new Uint8Array(Math.min(maxOutputBytes, Math.max(o + len, out.length * 2)))
      grown.set(out.subarray(0, o))
      out = grown
      room = out.length
    }

    if (from < 0) {
      out[o] = code
    } else {
      for (let k = 0; k < len; k++) out[o + k] = out[from + k]
    }

    if (last !== -1) {
      // The entry the writer made when it emitted `last`: last's output plus this code's first byte.
      entryStart[hi] = lastStart
      entryLength[hi] = lastLength + 1
    }
    last = code
    lastStart = o
    lastLength = len
    o += len
    hi++
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        // Table full: keep hi at 4095 and add nothing until a clear code.
        last = -1
        hi--
      } else {
        width++
        mask = (1 << width) - 1
        overflow <<= 1
      }
    }
  }
}
