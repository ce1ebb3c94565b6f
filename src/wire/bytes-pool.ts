/**
 * Byte array allocation: fast pooled arrays for short-lived encoder output (packets and streams about
 * to be sent), and plain copies for decoded data.
 *
 * V8 allocates typed arrays above 64 bytes with an off-heap backing store, which costs about a
 * microsecond each: more than encoding a whole ping. Like Node's Buffer.allocUnsafe pool, arrays under
 * 4 KiB are cut from a shared 8 KiB slab instead (a view on an existing ArrayBuffer is cheap). The price
 * is Buffer's too: a retained array keeps its whole slab alive. So this is used only for output that is
 * normally sent and dropped (compounds, compress and CRC wrappers, streams), never for encodeMessage
 * output (which the swim layer keeps in its broadcast queue) nor for decoded fields.
 *
 * Arrays from here are plain Uint8Array views with `byteOffset` possibly non-zero; their `buffer` is
 * shared with other arrays, so never hand `.buffer` to anything that assumes ownership.
 */

const SLAB_BYTES = 8 * 1024
/** Arrays of this size or more are allocated on their own. */
const POOLED_MAX_BYTES = 4 * 1024 - 1
/** V8 keeps typed arrays up to this size on the heap, where allocation is cheap already. */
const ON_HEAP_MAX_BYTES = 64

let slab = new ArrayBuffer(SLAB_BYTES)
let slabUsed = 0

/** A new Uint8Array of `n` zero bytes, possibly a view into a shared slab. */
export function allocBytes(n: number): Uint8Array {
  if (n <= ON_HEAP_MAX_BYTES || n > POOLED_MAX_BYTES) return new Uint8Array(n)
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    slabUsed = 0
  }
  const out = new Uint8Array(slab, slabUsed, n)
  slabUsed = (slabUsed + n + 7) & ~7
  return out
}

/** A copy of `src[start, end)` in a new array from allocBytes. */
export function copyBytes(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start
  const out = allocBytes(n)
  if (n <= 32) {
    for (let i = 0; i < n; i++) out[i] = src[start + i]
  } else {
    out.set(src.subarray(start, end))
  }
  return out
}

/**
 * A copy of `src[start, end)` in its own plain Uint8Array (never pooled, safe to keep). Unlike
 * `src.slice()`, this copies even when `src` is a Node Buffer, whose slice() returns a view.
 */
export function copyOut(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start
  const out = new Uint8Array(n)
  if (n <= 32) {
    for (let i = 0; i < n; i++) out[i] = src[start + i]
  } else {
    out.set(src.subarray(start, end))
  }
  return out
}
