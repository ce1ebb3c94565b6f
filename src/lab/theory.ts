/**
 * What the analysis in Demers et al. 1987 predicts, printed beside the measurements.
 *
 * - Rumor mongering, deterministic model (push, feedback, coin): the residue s solves
 *   s = e^{-(k+1)(1-s)}; it describes the counter variants only approximately.
 * - Push rumor mongering: residue and traffic m are related by s = e^{-m}.
 * - Anti-entropy: push completes in about log2 N + ln N cycles (Pittel), push-pull in about log3 N.
 */
import type { LabMode, LabModel, Removal } from './model.js'

/** The root in (0, 1) of s = e^{-(k+1)(1-s)} (for k > 0; the other root, s = 1, is the trivial one). */
export function deterministicResidue(k: number): number {
  // f(s) = s - e^{-(k+1)(1-s)} is negative at 0 and positive just below 1: bisection is safe.
  let lo = 0
  let hi = 1 - 1e-12
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (mid - Math.exp(-(k + 1) * (1 - mid)) > 0) hi = mid
    else lo = mid
  }
  return (lo + hi) / 2
}

/** The residue that push rumor mongering's relation s = e^{-m} predicts from the traffic m. */
export function residueFromTraffic(m: number): number {
  return Math.exp(-m)
}

/** Cycles until every site knows, as the paper gives them for anti-entropy; undefined for pull. */
export function antiEntropyRounds(mode: LabMode, n: number): number | undefined {
  if (mode === 'push') return Math.log2(n) + Math.log(n)
  if (mode === 'push-pull') return Math.log(n) / Math.log(3)
  return undefined
}

/** Theory values that apply to a configuration (fanout 1, no connection limit, no mode switch). */
export interface Theory {
  /** s = e^{-(k+1)(1-s)}: exact in the deterministic limit for push with feedback and coin. */
  residueDeterministic?: number
  /** e^{-m} from the measured traffic (push rumor mongering). */
  residueFromTraffic?: number
  rounds?: number
}

export function theoryFor(
  model: LabModel,
  mode: LabMode,
  removal: Removal,
  k: number,
  n: number,
  traffic: number,
  plain: boolean,
): Theory {
  if (!plain) return {}
  if (model === 'anti-entropy') {
    const rounds = antiEntropyRounds(mode, n)
    return rounds === undefined ? {} : { rounds }
  }
  if (mode !== 'push') return {}
  const out: Theory = { residueFromTraffic: residueFromTraffic(traffic) }
  if (removal.startsWith('feedback')) out.residueDeterministic = deterministicResidue(k)
  return out
}
