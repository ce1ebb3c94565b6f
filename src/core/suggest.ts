/**
 * "Did you mean …?" for mistyped names (config fields, flags' values): the known name nearest to
 * what was typed by edit distance, when it is near enough to be a typo. Hand-written: a dozen lines
 * of edit distance over short names do not justify a dependency.
 *
 *   suggest('bnid', ['bind', 'name']) → 'bind'      suggest('zzzz', ['bind']) → undefined
 */

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[s.length][t.length]
}

/** The candidate nearest to `typed`, when within a third of the candidate's length (and short of all of it). */
export function suggest(typed: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(typed, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.min(Math.ceil(best.length / 3), best.length - 1) ? best : undefined
}

/** ` (did you mean "bind"?)` or '' — for the end of an error message. */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  const s = suggest(typed, candidates)
  return s === undefined ? '' : ` (did you mean ${JSON.stringify(s)}?)`
}

/** `probeIntervlMs is not a configuration field; … (fields: a, b)` gains `(did you mean "probeIntervalMs"?)`. */
export function withSuggestion(problem: string): string {
  const m = /^(\S+) is not a configuration field(.*)\(fields: ([^)]*)\)$/s.exec(problem)
  if (m === null) return problem
  return `${m[1]} is not a configuration field${didYouMean(m[1], m[3].split(', '))}${m[2]}(fields: ${m[3]})`
}
