/**
 * The simplest typed-array loops for two of the lab's models, as yardsticks for its model code: one byte
 * of state per site, double-buffered, every site scanned every cycle, partners from the lab's generator
 * (so the ratio measures the model code, not the generator). No options and no metrics beyond cycles,
 * messages and residue.
 */
import { LabRng } from '../src/lab/lab-rng.js'

/** A uniform partner among the other n - 1 sites, from the lab's own generator (same draws, same cost). */
function partners(n: number, seed: number): (i: number) => number {
  const rng = new LabRng(seed)
  return (i) => {
    const j = rng.below(n - 1)
    return j >= i ? j + 1 : j
  }
}

export interface ReferenceOutcome {
  cycles: number
  messages: number
  residue: number
}

/** Push-pull anti-entropy from site 0 until every site knows. */
export function referencePushPull(n: number, seed: number): ReferenceOutcome {
  const partner = partners(n, seed)
  let cur = new Uint8Array(n)
  let nxt = new Uint8Array(n)
  cur[0] = 1
  let known = 1
  let cycles = 0
  let messages = 0
  while (known < n) {
    cycles++
    nxt.set(cur)
    for (let i = 0; i < n; i++) {
      const j = partner(i)
      const ci = cur[i]
      if (ci !== cur[j]) {
        messages++
        const lacking = ci === 0 ? i : j
        if (nxt[lacking] === 0) {
          nxt[lacking] = 1
          known++
        }
      }
    }
    const t = cur
    cur = nxt
    nxt = t
  }
  return { cycles, messages, residue: 0 }
}

/** Push rumor mongering with feedback and a counter (reset by a needed contact), from site 0. */
export function referenceRumorPush(n: number, k: number, seed: number): ReferenceOutcome {
  const partner = partners(n, seed)
  let cur = new Uint8Array(n) // 0 susceptible, 1 infective, 2 removed
  let nxt = new Uint8Array(n)
  const counter = new Uint8Array(n)
  cur[0] = 1
  let infective = 1
  let cycles = 0
  let messages = 0
  while (infective > 0) {
    cycles++
    nxt.set(cur)
    for (let i = 0; i < n; i++) {
      if (cur[i] !== 1) continue
      const j = partner(i)
      messages++
      if (cur[j] === 0) {
        nxt[j] = 1
        counter[i] = 0
      } else if (++counter[i] >= k) {
        nxt[i] = 2
      }
    }
    const t = cur
    cur = nxt
    nxt = t
    infective = 0
    for (let i = 0; i < n; i++) if (cur[i] === 1) infective++
  }
  let susceptible = 0
  for (let i = 0; i < n; i++) if (cur[i] === 0) susceptible++
  return { cycles, messages, residue: susceptible / n }
}
