/**
 * The simplest typed-array loop for push-pull anti-entropy, as a yardstick for the lab's model code:
 * one byte per site, double-buffered, a generator inlined into the loop (sfc32 seeded by splitmix32) and
 * partners drawn by multiply-and-shift with rejection. No options, no metrics beyond cycles and messages.
 */
import { splitmix32 } from '../src/core/rng.js'

export function referencePushPull(n: number, seed: number): { cycles: number; messages: number } {
  const mix = splitmix32(seed)
  let a = mix()
  let b = mix()
  let c = mix()
  let d = mix() | 1
  let cur = new Uint8Array(n)
  let nxt = new Uint8Array(n)
  const range = n - 1
  const reject = 4294967296 % range
  const draw = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  cur[draw() % n] = 1
  let known = 1
  let cycles = 0
  let messages = 0
  while (known < n) {
    cycles++
    nxt.set(cur)
    for (let i = 0; i < n; i++) {
      let m: number
      let lo: number
      do {
        m = draw() * range
        lo = m % 4294967296
      } while (lo < reject)
      let j = (m - lo) / 4294967296
      if (j >= i) j++
      const ci = cur[i]
      if (ci !== cur[j]) {
        messages++
        if (ci === 0) {
          if (nxt[i] === 0) { nxt[i] = 1; known++ }
        } else if (nxt[j] === 0) {
          nxt[j] = 1
          known++
        }
      }
    }
    const t = cur
    cur = nxt
    nxt = t
  }
  return { cycles, messages }
}
