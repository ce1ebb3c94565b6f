/**
 * Randomness handed to the protocol. `SeededRng` is sfc32 (Chris Doty-Humphrey's small fast chaotic
 * generator): 128 bits of state, passes PractRand to many terabytes, and is cheap in JavaScript's 32-bit
 * integer arithmetic. Seeds are expanded with splitmix32 so that nearby seeds give unrelated streams.
 */
export interface Rng {
  /** An integer in [0, n). n must be a positive integer below 2^32. */
  int(n: number): number
  /** A float in [0, 1). */
  float(): number
  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[]
  /** Up to k distinct items chosen uniformly (order random). */
  sample<T>(items: readonly T[], k: number): T[]
  /** n random bytes (nonces in the simulator; the real runtime uses crypto). */
  bytes(n: number): Uint8Array
  /** A 32-bit unsigned integer. */
  u32(): number
}

export function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

export class SeededRng implements Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    const mix = splitmix32(seed)
    this.a = mix()
    this.b = mix()
    this.c = mix()
    this.d = mix() | 1
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  float(): number {
    return this.u32() / 4294967296
  }

  int(n: number): number {
    // Lemire-free simple rejection to avoid modulo bias.
    const limit = 4294967296 - (4294967296 % n)
    for (;;) {
      const x = this.u32()
      if (x < limit) return x % n
    }
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = items[i]
      items[i] = items[j]
      items[j] = t
    }
    return items
  }

  sample<T>(items: readonly T[], k: number): T[] {
    if (k >= items.length) return this.shuffle(items.slice())
    // Partial Fisher–Yates over an index copy: O(n) copy, O(k) swaps.
    const copy = items.slice()
    const out: T[] = []
    for (let i = 0; i < k; i++) {
      const j = i + this.int(copy.length - i)
      const t = copy[i]
      copy[i] = copy[j]
      copy[j] = t
      out.push(copy[i])
    }
    return out
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      let x = this.u32()
      for (let k = 0; k < 4 && i + k < n; k++) {
        out[i + k] = x & 0xff
        x >>>= 8
      }
    }
    return out
  }
}

/** Derives the seed of child `index` from a run seed, so adding a node does not perturb the others. */
export function deriveSeed(runSeed: number, index: number): number {
  const mix = splitmix32((runSeed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0)
  mix()
  return mix()
}
