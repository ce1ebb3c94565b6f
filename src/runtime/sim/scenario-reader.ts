/**
 * The reading half of the scenario language (scenario-file.ts holds the grammar): typed values from
 * YAML nodes, each problem recorded with its line and field path; node names and ranges
 * (`node-003..node-009`) and group names; "did you mean" suggestions for unknown words. Pure.
 */
import type { LineCounter, Node as YamlNode, Scalar } from 'yaml'
import { isMap, isScalar, isSeq } from 'yaml'
import { UsageError } from '../../core/errors.js'
import { didYouMean } from '../../core/suggest.js'
import { nodeIndexOf, nodeName } from './steps.js'
import { parseCount, parseDurationMs, parseProbability } from './scenario-values.js'

/** One problem in a scenario file. */
export { didYouMean }

export interface ScenarioProblem {
  readonly line: number
  /** The field, as a path: `timeline[3].count`; `` for the whole file. */
  readonly path: string
  readonly message: string
}

export const quote = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v))

/** Reads typed values from yaml nodes, recording each problem with its line. */
export class Reader {
  readonly problems: ScenarioProblem[] = []
  constructor(private readonly lines: LineCounter) {}

  lineOf(node: YamlNode | null | undefined): number {
    const at = node?.range?.[0]
    return at === undefined ? 1 : this.lines.linePos(at).line
  }

  problem(node: YamlNode | null | undefined, path: string, message: string): undefined {
    this.problems.push({ line: this.lineOf(node), path, message })
    return undefined
  }

  /** A map's fields by name; unknown names are problems (with a suggestion). */
  fields(node: YamlNode | null | undefined, path: string, known: readonly string[], what = 'a map of fields'): Map<string, YamlNode | null> | undefined {
    if (!isMap(node)) return this.problem(node, path, `expected ${what}, got ${describe(node)}`)
    const out = new Map<string, YamlNode | null>()
    for (const pair of node.items) {
      const key = pair.key as YamlNode | null
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.problem(key, path, `field names must be words, got ${describe(key)}`)
        continue
      }
      const name = key.value
      const at = path === '' ? name : `${path}.${name}`
      if (!known.includes(name)) {
        this.problem(key, at, `unknown field${didYouMean(name, known)}; known fields: ${known.join(', ')}`)
        continue
      }
      out.set(name, (pair.value as YamlNode | null) ?? null)
    }
    return out
  }

  /** Runs a sim-command parser on a scalar's text; its UsageError becomes this field's problem. */
  parse<T>(node: YamlNode | null, path: string, parser: (text: string, flag: string) => T): T | undefined {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') return this.problem(node, path, `expected a value, got ${describe(node)}`)
    try {
      return parser(String(node.value), path)
    } catch (err) {
      if (err instanceof UsageError) return this.problem(node, path, err.message.slice(path.length + 2))
      throw err
    }
  }

  duration(node: YamlNode | null, path: string, positive = false): number | undefined {
    const ms = this.parse(node, path, (t, f) => parseDurationMs(t, f))
    if (ms !== undefined && positive && ms <= 0) return this.problem(node, path, `must be above 0 (got ${quote((node as Scalar).value)})`)
    return ms
  }

  count(node: YamlNode | null, path: string, allowZero = false): number | undefined {
    const expected = allowZero ? 'an integer ≥ 0 like 3' : 'a positive integer like 3'
    if (!isScalar(node) || typeof node.value !== 'number') return this.parse(node, path, (t, f) => parseCount(t, f, expected, allowZero))
    if (!Number.isSafeInteger(node.value) || node.value < (allowZero ? 0 : 1)) return this.problem(node, path, `expected ${expected}, got ${node.value}`)
    return node.value
  }

  probability(node: YamlNode | null, path: string): number | undefined {
    return this.parse(node, path, (t, f) => parseProbability(t, f))
  }

  /** A fraction strictly between 0 and 1. */
  fraction(node: YamlNode | null, path: string): number | undefined {
    const p = this.probability(node, path)
    if (p !== undefined && (p <= 0 || p >= 1)) return this.problem(node, path, `must lie strictly between 0 and 1, like 0.3 or 30% (got ${quote((node as Scalar).value)})`)
    return p
  }

  bool(node: YamlNode | null, path: string): boolean | undefined {
    if (!isScalar(node) || typeof node.value !== 'boolean') return this.problem(node, path, `expected true or false, got ${describe(node)}`)
    return node.value
  }

  string(node: YamlNode | null, path: string): string | undefined {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') return this.problem(node, path, `expected a text, got ${describe(node)}`)
    return node.value
  }

  /** One word or a list of them. */
  words(node: YamlNode | null, path: string): Array<{ word: string; node: YamlNode; path: string }> | undefined {
    if (isScalar(node) && typeof node.value === 'string') return [{ word: node.value, node, path }]
    if (!isSeq(node) || node.items.length === 0) return this.problem(node, path, `expected a name or a list of names, got ${describe(node)}`)
    const out: Array<{ word: string; node: YamlNode; path: string }> = []
    node.items.forEach((item, i) => {
      const n = item as YamlNode
      if (isScalar(n) && typeof n.value === 'string') out.push({ word: n.value, node: n, path: `${path}[${i}]` })
      else this.problem(n, `${path}[${i}]`, `expected a name, got ${describe(n)}`)
    })
    return out
  }
}

export function describe(node: YamlNode | null | undefined): string {
  if (node === null || node === undefined) return 'nothing'
  if (isMap(node)) return 'a map'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) return node.value === null ? 'nothing' : quote(node.value)
  return 'something else'
}

/** The node names a file may mention: node-000 … for every node the run will have. */
export class Names {
  constructor(
    readonly total: number,
    readonly groups: Map<string, string[]>,
  ) {}

  private index(word: string): number {
    const i = nodeIndexOf(word)
    return i < this.total ? i : -1
  }

  /** A node name, a range `node-010..node-019`, or (with groups) a group name → names; a problem otherwise. */
  resolve(r: Reader, word: string, node: YamlNode, path: string, withGroups: boolean): string[] | undefined {
    if (withGroups && this.groups.has(word)) return this.groups.get(word)!
    const range = word.split('..')
    if (range.length === 2) {
      const [a, b] = range.map((w) => this.index(w.trim()))
      if (a < 0 || b < 0 || a > b) return r.problem(node, path, `${quote(word)} is not a range of nodes; write FIRST..LAST like node-000..node-009, with both among ${this.span()}`)
      return Array.from({ length: b - a + 1 }, (_, k) => nodeName(a + k))
    }
    if (this.index(word) >= 0) return [word]
    const known = withGroups ? [...this.groups.keys()] : []
    const hint = didYouMean(word, known)
    const groups = withGroups && this.groups.size > 0 ? `, or a group (${[...this.groups.keys()].join(', ')})` : ''
    return r.problem(node, path, `${quote(word)} is not a node${withGroups ? ' or group' : ''}${hint}; nodes are ${this.span()}${groups}`)
  }

  span(): string {
    return `${nodeName(0)}..${nodeName(this.total - 1)}`
  }

  /** Words → unique names in index order. */
  list(r: Reader, node: YamlNode | null, path: string, withGroups = true): string[] | undefined {
    const words = r.words(node, path)
    if (words === undefined) return undefined
    const out = new Set<string>()
    let ok = true
    for (const w of words) {
      const names = this.resolve(r, w.word, w.node, w.path, withGroups)
      if (names === undefined) ok = false
      else for (const n of names) out.add(n)
    }
    return ok ? [...out].sort() : undefined
  }
}
