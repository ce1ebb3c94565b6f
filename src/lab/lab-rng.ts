/**
 * The same generator as core's SeededRng (sfc32 seeded through splitmix32, identical output for a
 * seed), with its 128 bits of state in an Int32Array: V8 keeps object fields holding full 32-bit values
 * as boxed doubles, which made each draw about three times slower than it needs to be, and the
 * million-site runs draw tens of millions of partners. Also a bias-free partner draw (Lemire's
 * multiply-and-shift) without the two float modulos of SeededRng.int.
 */
import { splitmix32 } from '../core/rng.js'

const TWO32 = 4294967296
const INV_TWO32 = 1 / TWO32
/** Below this range, u32 × range is exact in a double, so multiply-and-shift applies. */
const LEMIRE_MAX_RANGE = 1 << 21

export class LabRng {
  private readonly s = new Int32Array(4)
  /** The last range below() saw and its rejection threshold 2^32 mod range (partners: always n - 1). */
  private range = 0
  private reject = 0

  constructor(seed: number) {
    const mix = splitmix32(seed)
    this.s[0] = mix()
    this.s[1] = mix()
    this.s[2] = mix()
    this.s[3] = mix() | 1
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32(): number {
    const s = this.s
    const a = s[0]
    const b = s[1]
    const c = s[2]
    const d = s[3]
    const t = (((a + b) | 0) + d) | 0
    s[3] = (d + 1) | 0
    s[0] = b ^ (b >>> 9)
    s[1] = (c + (c << 3)) | 0
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0
    return t >>> 0
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() * INV_TWO32
  }

  /** A uniform integer in [0, range), range in [1, 2^32), without modulo bias. */
  below(range: number): number {
    if (range < LEMIRE_MAX_RANGE) {
      if (range !== this.range) {
        this.range = range
        this.reject = TWO32 % range
      }
      const reject = this.reject
      for (;;) {
        const m = this.u32() * range
        const hi = Math.floor(m * INV_TWO32)
        if (m - hi * TWO32 >= reject) return hi
      }
    }
    const limit = TWO32 - (TWO32 % range)
    for (;;) {
      const x = this.u32()
      if (x < limit) return x % range
    }
  }
}
