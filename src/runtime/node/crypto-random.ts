/** Unpredictable bytes for the real runtime (AES-GCM nonces): the system's CSPRNG, drawn 4 KiB at a time. */
import { randomBytes, randomFillSync } from 'node:crypto'

/** Nonces from the system's cryptographic generator, drawn 4 KiB at a time. */
export function cryptoRandom(): (n: number) => Uint8Array {
  const pool = new Uint8Array(4096)
  let at = pool.length
  return (n) => {
    if (n > pool.length) return new Uint8Array(randomBytes(n))
    if (at + n > pool.length) {
      randomFillSync(pool)
      at = 0
    }
    const out = pool.slice(at, at + n)
    at += n
    return out
  }

}
