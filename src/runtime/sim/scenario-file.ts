/**
 * Scenario files for `grapevine sim FILE`: a cluster, named groups of nodes, network conditions and a
 * timeline of faults, joins and network changes, in YAML or JSON (JSON is read as YAML 1.2, which it
 * is, so both get line numbers). Every field is validated; each problem names the file, the line and
 * the field, e.g. `slow.yaml:14: timeline[3].count: expected a positive integer like 3, got -2`, and an
 * unknown field or value suggests the closest known one.
 *
 *   name: two-dc-partition            # optional, printed in the report
 *   seed: 7                           # optional; --seed overrides
 *   nodes: 60                         # cluster size at the start (nodes are node-000, node-001, …)
 *   profile: lan                      # lan | wan | local
 *   duration: 3m                      # the chaos phase; then partitions heal, loss stops, and it settles
 *   membershipOnly: false             # true: SWIM alone on every node (default: the whole stack)
 *   membership: swim                  # the default; hyparview files have their own fields (overlay-file.ts)
 *   network: { latency: 0.5ms..5ms, loss: 0, duplication: 0, reorder: 0 }   # streamLoss: TCP segments' own
 *   groups: { dc1: node-000..node-029, dc2: [node-030..node-059] }
 *   latencyMatrix:                    # one-way delay inside and between groups, each pair once, both ways
 *     dc1: { dc1: 0.25ms..1ms, dc2: 10ms..12ms }
 *     dc2: { dc2: 0.25ms..1ms }
 *   workload: { kvWrites: 5, broadcasts: 0.5, crdtOps: 10, window: 2m }    # runs the whole Grapevine stack
 *   workload: { crdtOps: 10, crdtDurable: true }     # crashed nodes restart with their CRDT state
 *             # aggregate: { functions: [avg, count], mode: push-sum, cycle: 1s, epochCycles: 20 } (or [avg, count], or all)
 *   timeline:
 *     - { at: 10s, do: network, between: [dc1, dc2], latency: 30ms..40ms }
 *     - { at: 30s, do: partition, between: [dc1, dc2], id: split }
 *     - { at: 90s, do: heal, step: split }
 *
 * The format is written out, field by field, in README.md ("Scenario files").
 *
 * This is the language alone: text in, a validated scenario out. It reads no file and imports no Node
 * built-in, so the dashboard runs it in the browser (web/src/sim-worker.ts); `grapevine sim FILE` reads
 * the file (cli/scenario-command.ts). Values are parsed by scenario-values.ts, YAML nodes read by
 * scenario-reader.ts.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml'
import type { Node as YamlNode } from 'yaml'
import type { Profile, SwimConfig } from '../../node/index.js'
import type { LatencyMatrixEntry, ScenarioOptions, ScenarioStep } from './scenario.js'
import type { LinkScope, NetworkChange, NodePick } from './steps.js'
import { formatDurationMs, nodeName } from './steps.js'
import type { WorkloadOptions } from './workload.js'
import type { ScenarioProblem } from './scenario-reader.js'
import { Names, Reader, describe, didYouMean, quote } from './scenario-reader.js'
import { parseAggregateCycleMs, parseAggregateFunctions, parseAggregationMode, parseDurationMs, parseEpochCycles, parseLatency, parseProfile, parseRate, parseSeed } from './scenario-values.js'
import type { AggregateWorkloadOptions } from './aggregate-workload.js'
import type { AggregateFunctionName } from '../../node/index.js'

/** A scenario file that does not validate; the message lists every problem, one per line. */
export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError'
  constructor(
    readonly file: string,
    readonly problems: readonly ScenarioProblem[],
  ) {
    super(problems.map((p) => `${file}:${p.line}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n'))
  }
}

/**
 * Reads scenario text (YAML or JSON) into its root node and a Reader for its problems; throws
 * ScenarioFileError naming the line when the text is not valid YAML or JSON. The other file languages
 * (datacenters-file.ts, overlay-file.ts) start here.
 */
export function openScenarioText(text: string, file: string): { readonly r: Reader; readonly root: YamlNode | null } {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const r = new Reader(lines)
  for (const e of doc.errors) r.problems.push({ line: lines.linePos(e.pos[0]).line, path: '', message: `not valid YAML or JSON: ${e.message.split('\n')[0]}` })
  if (r.problems.length > 0) throw new ScenarioFileError(file, r.problems)
  return { r, root: doc.contents as YamlNode | null }
}

/** A validated scenario file. */
export interface ScenarioFile {
  readonly name: string | undefined
  readonly description: string | undefined
  /** The file's seed, when it has one (the command line's --seed wins). */
  readonly seed: number | undefined
  /** Named groups, each as node names in index order. */
  readonly groups: Readonly<Record<string, readonly string[]>>
  /** Every node the run will have: the initial ones and those the join steps add. */
  readonly totalNodes: number
  /** Everything `runScenario` needs but the seed. */
  readonly scenario: Omit<ScenarioOptions, 'seed'>
}

const TOP = ['name', 'description', 'seed', 'membership', 'nodes', 'profile', 'lifeguard', 'swim', 'membershipOnly', 'duration', 'settleMax', 'joinSpread', 'network', 'groups', 'latencyMatrix', 'stack', 'workload', 'timeline']
/** SWIM settings a file may change: file name, configuration key, kind of value. */
const SWIM: ReadonlyArray<readonly [string, keyof SwimConfig, 'duration' | 'count' | 'bool']> = [
  ['probeInterval', 'probeIntervalMs', 'duration'],
  ['probeTimeout', 'probeTimeoutMs', 'duration'],
  ['indirectChecks', 'indirectChecks', 'count'],
  ['disableTcpPings', 'disableTcpPings', 'bool'],
  ['calmHealing', 'calmHealing', 'bool'],
  ['directRefutation', 'directRefutation', 'bool'],
  ['finalProbe', 'finalProbe', 'bool'],
  ['suspicionReminders', 'suspicionReminders', 'bool'],
  ['distinctBroadcastPeers', 'distinctBroadcastPeers', 'bool'],
  ['deadProbeWindow', 'deadProbeWindowMs', 'duration'],
  ['suspicionMult', 'suspicionMult', 'count'],
  ['suspicionMaxTimeoutMult', 'suspicionMaxTimeoutMult', 'count'],
  ['retransmitMult', 'retransmitMult', 'count'],
  ['awarenessMaxMultiplier', 'awarenessMaxMultiplier', 'count'],
  ['gossipInterval', 'gossipIntervalMs', 'duration'],
  ['gossipNodes', 'gossipNodes', 'count'],
  ['pushPullInterval', 'pushPullIntervalMs', 'duration'],
]
const NETWORK = ['latency', 'loss', 'streamLoss', 'duplication', 'reorder']
const WORKLOAD = ['kvWrites', 'broadcasts', 'crdtOps', 'crdtDurable', 'aggregate', 'window', 'keySpace', 'deleteFraction', 'payloadBytes']
const AGGREGATE = ['functions', 'mode', 'cycle', 'epochCycles']
const PICK = ['nodes', 'group', 'step', 'count', 'fraction', 'rolling']
const REPEAT = ['every', 'times']
const FIELDS: Readonly<Record<ScenarioStep['kind'], readonly string[]>> = {
  crash: [...PICK, ...REPEAT, 'down'],
  restart: [...PICK, ...REPEAT, 'down'],
  pause: [...PICK, ...REPEAT, 'for'],
  leave: PICK,
  partition: ['fraction', 'between', 'isolate', 'oneWay', 'for'],
  heal: ['step'],
  join: ['count', ...REPEAT],
  network: [...NETWORK, 'group', 'between', 'for'],
  loss: [],
  latency: [],
}
/** The step kinds a file may use (loss and latency are `network` steps in files). */
const KINDS = ['crash', 'restart', 'pause', 'leave', 'partition', 'heal', 'join', 'network'] as const
export type FileKind = (typeof KINDS)[number]

/** Parses and validates scenario text (YAML or JSON); `file` names it in problems. */
export function parseScenario(text: string, file = 'scenario.yaml'): ScenarioFile {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const r = new Reader(lines)
  for (const e of doc.errors) {
    const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
    r.problems.push({ line: lines.linePos(e.pos[0]).line, path: '', message: `not valid YAML or JSON: ${message}` })
  }
  if (r.problems.length > 0) throw new ScenarioFileError(file, r.problems)
  const root = doc.contents as YamlNode | null
  const top = r.fields(root, '', TOP, 'a scenario: a map with nodes, duration and timeline')
  if (top === undefined) throw new ScenarioFileError(file, r.problems)
  const get = (k: string): YamlNode | null | undefined => top.get(k)
  const required = (k: string): YamlNode | null => {
    if (!top.has(k)) r.problem(root, k, 'missing; it is required')
    return get(k) ?? null
  }

  const opt = <T>(k: string, read: (n: YamlNode | null, p: string) => T | undefined): T | undefined => (top.has(k) ? read(get(k)!, k) : undefined)
  const name = opt('name', (n, p) => r.string(n, p))
  const description = opt('description', (n, p) => r.string(n, p))
  const seed = opt('seed', (n, p) => r.parse(n, p, (t, f) => parseSeed(t, f)))
  // membership: hyparview files are read by overlay-file.ts; here only SWIM's.
  opt('membership', (n, p) => (r.string(n, p) === 'swim' ? true : r.problem(n, p, `expected swim (this file's default) or hyparview (partial views and Plumtree, the overlay's file language), got ${describe(n)}${didYouMean(String(isScalar(n) ? n.value : ''), ['swim', 'hyparview'])}`)))
  const nodesNode = required('nodes')
  let nodes = top.has('nodes') ? r.count(nodesNode, 'nodes') : undefined
  if (nodes !== undefined && nodes < 2) nodes = r.problem(nodesNode, 'nodes', `expected at least 2 nodes, got ${nodes}`)
  const profile: Profile | undefined = opt('profile', (n, p) => r.parse(n, p, (t, f) => parseProfile(t, f)))
  const lifeguard = opt('lifeguard', (n, p) => r.bool(n, p))
  const durationNode = required('duration')
  const durationMs = top.has('duration') ? r.duration(durationNode, 'duration', true) : undefined
  const settleMaxMs = opt('settleMax', (n, p) => r.duration(n, p, true))
  const joinSpreadMs = opt('joinSpread', (n, p) => r.duration(n, p))
  const stack = opt('stack', (n, p) => r.bool(n, p))
  const membershipOnlyNode = get('membershipOnly')
  const membershipOnly = opt('membershipOnly', (n, p) => r.bool(n, p))
  const config = opt('swim', (n, p) => readSwim(r, n, p))
  const network = opt('network', (n, p) => readChange(r, n, p, NETWORK))
  const workload = opt('workload', (n, p) => readWorkload(r, n, p, durationMs))
  if (membershipOnly === true && (workload !== undefined || stack === true)) {
    r.problem(membershipOnlyNode!, 'membershipOnly', 'a workload or stack: true needs the whole stack; remove membershipOnly or the workload')
  }

  // Join steps add nodes: count them first, so that groups and steps may name the nodes to come.
  const timelineNode = required('timeline')
  const items = isSeq(timelineNode) ? (timelineNode.items as YamlNode[]) : top.has('timeline') ? r.problem(timelineNode, 'timeline', `expected a list of steps, got ${describe(timelineNode)}`) : undefined
  const total = (nodes ?? 0) + countJoins(items ?? [], durationMs)
  const names = new Names(Math.max(total, 1), new Map())
  if (top.has('groups')) readGroups(r, get('groups')!, names)
  const latencyMatrix = top.has('latencyMatrix') ? readLatencyMatrix(r, get('latencyMatrix')!, names) : undefined

  const steps: ScenarioStep[] = []
  const ids = new Map<string, FileKind>()
  ;(items ?? []).forEach((item, i) => {
    const step = readStep(r, item, `timeline[${i}]`, names, ids, durationMs)
    if (step !== undefined) steps.push(step)
  })
  if (r.problems.length > 0) throw new ScenarioFileError(file, r.problems.sort((a, b) => a.line - b.line))
  const scenario: Omit<ScenarioOptions, 'seed'> = {
    nodes: nodes!,
    durationMs: durationMs!,
    ...(profile !== undefined ? { profile } : {}),
    ...(lifeguard !== undefined ? { lifeguard } : {}),
    ...(config !== undefined ? { config } : {}),
    ...(settleMaxMs !== undefined ? { settleMaxMs } : {}),
    ...(joinSpreadMs !== undefined ? { joinSpreadMs } : {}),
    ...(network !== undefined ? { network: networkOptions(network) } : {}),
    ...(latencyMatrix !== undefined ? { latencyMatrix } : {}),
    ...(stack !== undefined ? { stack } : {}),
    ...(membershipOnly !== undefined ? { membershipOnly } : {}),
    ...(workload !== undefined ? { workload } : {}),
    steps,
    sampleEveryMs: 1000,
  }
  return { name, description, seed, groups: Object.fromEntries(names.groups), totalNodes: total, scenario }
}

function networkOptions(c: NetworkChange): NonNullable<ScenarioOptions['network']> {
  return {
    ...(c.latencyMs !== undefined ? { latencyMs: c.latencyMs } : {}),
    ...(c.loss !== undefined ? { packetLossProbability: c.loss } : {}),
    ...(c.streamLoss !== undefined ? { streamSegmentLossProbability: c.streamLoss } : {}),
    ...(c.duplication !== undefined ? { packetDuplicationProbability: c.duplication } : {}),
    ...(c.reorder !== undefined ? { packetReorderProbability: c.reorder } : {}),
  }
}

/** Network knobs from a map (the top-level `network`, or a network step's own fields). */
function readChange(r: Reader, node: YamlNode | null, path: string, known: readonly string[], fields?: Map<string, YamlNode | null>): NetworkChange | undefined {
  const f = fields ?? r.fields(node, path, known)
  if (f === undefined) return undefined
  const at = (k: string): string => (path === '' ? k : `${path}.${k}`)
  const change: { -readonly [K in keyof NetworkChange]: NetworkChange[K] } = {}
  if (f.has('latency')) change.latencyMs = r.parse(f.get('latency')!, at('latency'), (t, flag) => parseLatency(t, flag))
  if (f.has('loss')) change.loss = r.probability(f.get('loss')!, at('loss'))
  if (f.has('streamLoss')) change.streamLoss = r.probability(f.get('streamLoss')!, at('streamLoss'))
  if (f.has('duplication')) change.duplication = r.probability(f.get('duplication')!, at('duplication'))
  if (f.has('reorder')) change.reorder = r.probability(f.get('reorder')!, at('reorder'))
  return change
}

/** A `swim:` section (also a datacenters file's `wanSwim:`): the settings a file may change, with units. */
export function readSwim(r: Reader, node: YamlNode | null, path: string): Partial<SwimConfig> | undefined {
  const f = r.fields(node, path, SWIM.map(([name]) => name))
  if (f === undefined) return undefined
  const config: Record<string, number | boolean | undefined> = {}
  for (const [name, key, kind] of SWIM) {
    if (!f.has(name)) continue
    const v = f.get(name)!
    const at = `${path}.${name}`
    config[key] = kind === 'duration' ? r.duration(v, at, key !== 'pushPullIntervalMs') : kind === 'count' ? r.count(v, at, key === 'indirectChecks') : r.bool(v, at)
  }
  return config as Partial<SwimConfig>
}

/** `aggregate: { functions: [avg, count] | all, mode: push-sum, cycle: 1s, epochCycles: 20 }` (or just the list). */
function readAggregate(r: Reader, node: YamlNode | null, path: string): AggregateWorkloadOptions | undefined {
  const list = (n: YamlNode | null, p: string): AggregateFunctionName[] | undefined => {
    const words = r.words(n, p)
    if (words === undefined) return undefined
    const out: AggregateFunctionName[] = []
    for (const w of words) {
      const fns = r.parse(w.node, w.path, (t, flag) => parseAggregateFunctions(t, flag))
      for (const fn of fns ?? []) if (!out.includes(fn)) out.push(fn)
    }
    return out
  }
  if (!isMap(node)) {
    const functions = list(node, path)
    return functions === undefined ? undefined : { functions }
  }
  const f = r.fields(node, path, AGGREGATE)
  if (f === undefined) return undefined
  if (!f.has('functions')) return r.problem(node, path, 'needs functions: a list of avg, sum, count, min, max (or all)')
  const functions = list(f.get('functions')!, `${path}.functions`)
  const mode = f.has('mode') ? r.parse(f.get('mode')!, `${path}.mode`, (t, flag) => parseAggregationMode(t, flag)) : undefined
  const cycleMs = f.has('cycle') ? r.parse(f.get('cycle')!, `${path}.cycle`, (t, flag) => parseAggregateCycleMs(t, flag)) : undefined
  const epochCycles = f.has('epochCycles') ? r.parse(f.get('epochCycles')!, `${path}.epochCycles`, (t, flag) => parseEpochCycles(t, flag)) : undefined
  if (functions === undefined) return undefined
  return { functions, ...(mode !== undefined ? { mode } : {}), ...(cycleMs !== undefined ? { cycleMs } : {}), ...(epochCycles !== undefined ? { epochCycles } : {}) }
}

function readWorkload(r: Reader, node: YamlNode | null, path: string, durationMs: number | undefined): WorkloadOptions | undefined {
  const f = r.fields(node, path, WORKLOAD)
  if (f === undefined) return undefined
  const w: { -readonly [K in keyof WorkloadOptions]: WorkloadOptions[K] } = {}
  const rate = (k: 'kvWrites' | 'broadcasts' | 'crdtOps'): number | undefined => (f.has(k) ? r.parse(f.get(k)!, `${path}.${k}`, (t, flag) => parseRate(t, flag)) : undefined)
  w.kvWritesPerSec = rate('kvWrites') ?? 0
  w.broadcastsPerSec = rate('broadcasts') ?? 0
  if (f.has('crdtOps')) w.crdtOpsPerSec = rate('crdtOps')
  if (f.has('crdtDurable')) {
    w.crdtDurable = r.bool(f.get('crdtDurable')!, `${path}.crdtDurable`)
    if (w.crdtDurable === true && !f.has('crdtOps')) r.problem(f.get('crdtDurable'), `${path}.crdtDurable`, 'keeps the CRDT workload on disk: add crdtOps')
  }
  if (f.has('aggregate')) w.aggregate = readAggregate(r, f.get('aggregate')!, `${path}.aggregate`)
  if (!f.has('kvWrites') && !f.has('broadcasts') && !f.has('crdtOps') && !f.has('aggregate')) r.problem(node, path, 'needs kvWrites, broadcasts or crdtOps (per second of virtual time) or aggregate, or remove it and set stack: true for the stack without a workload')
  if (f.has('window')) {
    const win = r.duration(f.get('window')!, `${path}.window`, true)
    if (win !== undefined && durationMs !== undefined && win > durationMs) r.problem(f.get('window'), `${path}.window`, `${formatDurationMs(win)} is longer than duration ${formatDurationMs(durationMs)}`)
    w.windowMs = win
  }
  if (f.has('keySpace')) w.keySpace = r.count(f.get('keySpace')!, `${path}.keySpace`)
  if (f.has('deleteFraction')) w.deleteFraction = r.probability(f.get('deleteFraction')!, `${path}.deleteFraction`)
  if (f.has('payloadBytes')) {
    w.payloadBytes = r.count(f.get('payloadBytes')!, `${path}.payloadBytes`)
    if (w.payloadBytes !== undefined && w.payloadBytes > 1024) r.problem(f.get('payloadBytes'), `${path}.payloadBytes`, `broadcast payloads are at most 1024 bytes (got ${w.payloadBytes})`)
  }
  return Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as WorkloadOptions
}

export function readGroups(r: Reader, node: YamlNode, names: Names): void {
  if (!isMap(node)) {
    r.problem(node, 'groups', `expected a map of group names to nodes, like dc1: node-000..node-049; got ${describe(node)}`)
    return
  }
  for (const pair of node.items) {
    const key = pair.key as YamlNode | null
    if (!isScalar(key) || typeof key.value !== 'string' || !/^[A-Za-z][\w.-]*$/.test(key.value)) {
      r.problem(key, 'groups', `group names are words starting with a letter, like dc1 or rack-3; got ${describe(key)}`)
      continue
    }
    const g = key.value
    if (/^node-\d+$/.test(g) || g === 'all') {
      r.problem(key, `groups.${g}`, 'a group may not take a node\'s name or "all"; pick another name')
      continue
    }
    const members = names.list(r, (pair.value as YamlNode | null) ?? null, `groups.${g}`, false)
    if (members !== undefined) names.groups.set(g, members)
  }
}

/** `latencyMatrix: { dc1: { dc1: 0.5ms..1ms, dc2: 20ms..25ms } }`: groups by name, each pair once. */
function readLatencyMatrix(r: Reader, node: YamlNode, names: Names): LatencyMatrixEntry[] {
  const path = 'latencyMatrix'
  const entries: LatencyMatrixEntry[] = []
  if (!isMap(node)) {
    r.problem(node, path, `expected a map of group to { group: latency }, like dc1: { dc1: 0.5ms..1ms, dc2: 20ms..25ms }; got ${describe(node)}`)
    return entries
  }
  const known = [...names.groups.keys()]
  const group = (key: YamlNode | null, at: string): string | undefined => {
    const g = isScalar(key) ? String(key.value) : ''
    if (names.groups.has(g)) return g
    return r.problem(key, at, known.length === 0 ? `a latency matrix is between groups; define them under groups: first` : `not a group${didYouMean(g, known)}; groups: ${known.join(', ')}`)
  }
  const seen = new Set<string>()
  for (const row of node.items) {
    const from = group(row.key as YamlNode | null, path)
    const cells = row.value as YamlNode | null
    const rowPath = `${path}.${from ?? String((row.key as { value?: unknown } | null)?.value)}`
    if (!isMap(cells)) {
      r.problem(cells, rowPath, `expected a map of group to one-way latency, like { dc2: 20ms..25ms }; got ${describe(cells)}`)
      continue
    }
    for (const cell of cells.items) {
      const to = group(cell.key as YamlNode | null, rowPath)
      if (from === undefined || to === undefined) continue
      const at = `${rowPath}.${to}`
      const latencyMs = r.parse((cell.value as YamlNode | null) ?? null, at, (t, flag) => parseLatency(t, flag))
      const pair = [from, to].sort().join(' ')
      if (seen.has(pair)) {
        r.problem(cell.key as YamlNode, at, `the latency between ${from} and ${to} is given twice; it applies both ways, so give it once`)
        continue
      }
      seen.add(pair)
      if (latencyMs !== undefined) entries.push({ from, to, fromNodes: names.groups.get(from)!, toNodes: names.groups.get(to)!, latencyMs })
    }
  }
  return entries
}

/** Nodes the join steps add over the chaos phase (read leniently: problems are reported by readStep). */
export function countJoins(items: readonly YamlNode[], durationMs: number | undefined): number {
  let total = 0
  for (const item of items) {
    if (!isMap(item) || item.get('do') !== 'join') continue
    const count = item.get('count')
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) continue
    const at = safeMs(item.get('at')) ?? 0
    const every = safeMs(item.get('every'))
    const times = item.get('times')
    let runs = 1
    if (every !== undefined && every > 0) {
      const fit = durationMs === undefined ? 1 : Math.max(0, Math.ceil((durationMs - at) / every))
      runs = typeof times === 'number' && Number.isSafeInteger(times) && times > 0 ? Math.min(times, fit) : fit
    }
    total += count * runs
  }
  return Math.min(total, 60_000)
}

function safeMs(v: unknown): number | undefined {
  try {
    return typeof v === 'string' ? parseDurationMs(v, '') : undefined
  } catch {
    return undefined
  }
}

/** One timeline step of a single-pool file; hyparview files (overlay-file.ts) read theirs with it too. */
export function readStep(r: Reader, node: YamlNode, path: string, names: Names, ids: Map<string, FileKind>, durationMs: number | undefined): ScenarioStep | undefined {
  if (!isMap(node)) return r.problem(node, path, `expected a step like { at: 30s, do: crash, count: 1 }, got ${describe(node)}`)
  const doNode = node.get('do', true) as YamlNode | undefined
  const kindWord = isScalar(doNode) ? doNode.value : undefined
  if (doNode === undefined) return r.problem(node, `${path}.do`, `missing; say what the step does: ${KINDS.join(', ')}`)
  if (typeof kindWord !== 'string' || !(KINDS as readonly string[]).includes(kindWord)) {
    return r.problem(doNode, `${path}.do`, `unknown step ${describe(doNode)}${didYouMean(String(kindWord), KINDS)}; steps are ${KINDS.join(', ')}`)
  }
  const kind = kindWord as FileKind
  const f = r.fields(node, path, ['at', 'do', 'id', ...FIELDS[kind]])
  if (f === undefined) return undefined
  const at = (k: string): string => `${path}.${k}`
  const has = (k: string): boolean => f.has(k)
  const get = (k: string): YamlNode | null => f.get(k) ?? null
  const problems = r.problems.length

  if (!has('at')) r.problem(node, at('at'), 'missing; when the step happens, like 30s')
  const atMs = has('at') ? r.duration(get('at'), at('at')) : undefined
  if (atMs !== undefined && durationMs !== undefined && atMs >= durationMs) {
    r.problem(get('at'), at('at'), `${formatDurationMs(atMs)} is not within duration ${formatDurationMs(durationMs)}; steps happen in the chaos phase (raise duration)`)
  }
  let id: string | undefined
  if (has('id')) {
    id = r.string(get('id'), at('id'))
    if (id !== undefined && ids.has(id)) r.problem(get('id'), at('id'), `another step is already called ${quote(id)}`)
    if (id !== undefined) ids.set(id, kind)
  }
  const stepRef = (wanted?: FileKind): string | undefined => {
    const ref = r.string(get('step'), at('step'))
    if (ref === undefined) return undefined
    const kindOf = ids.get(ref)
    if (kindOf === undefined) return r.problem(get('step'), at('step'), `no earlier step has id ${quote(ref)}${didYouMean(ref, [...ids.keys()])}; give that step an id: field`)
    if (wanted !== undefined && kindOf !== wanted) return r.problem(get('step'), at('step'), `step ${quote(ref)} is a ${kindOf} step; heal names a partition step`)
    return ref
  }
  const repeat = (): { everyMs?: number; times?: number } => {
    const everyMs = has('every') ? r.duration(get('every'), at('every'), true) : undefined
    const times = has('times') ? r.count(get('times'), at('times')) : undefined
    if (has('times') && !has('every')) r.problem(get('times'), at('times'), 'repeats need every: (the time between two executions)')
    return { ...(everyMs !== undefined ? { everyMs } : {}), ...(times !== undefined ? { times } : {}) }
  }
  const lengthOf = (k: string, required: boolean): number | undefined => {
    if (!has(k)) {
      if (required) r.problem(node, at(k), 'missing; how long, like 5s')
      return undefined
    }
    return r.duration(get(k), at(k), true)
  }
  const pick = (): NodePick | undefined => readPick(r, f, path, names, stepRef)
  const base = { atMs: atMs ?? 0, ...(id !== undefined ? { id } : {}) }

  let step: ScenarioStep | undefined
  switch (kind) {
    case 'crash':
    case 'restart': {
      const p = pick()
      const downMs = has('down') ? r.duration(get('down'), at('down')) : undefined
      step = { kind, ...base, ...p, ...repeat(), ...(downMs !== undefined ? { downMs } : {}) }
      break
    }
    case 'pause': {
      const p = pick()
      step = { kind, ...base, ...p, ...repeat(), lengthMs: lengthOf('for', true) ?? 0 }
      break
    }
    case 'leave':
      step = { kind, ...base, ...pick() }
      break
    case 'partition': {
      const ways = ['fraction', 'between', 'isolate'].filter(has)
      if (ways.length !== 1) r.problem(node, path, `a partition needs exactly one of fraction (random), between (groups) or isolate (a group from the rest)${ways.length > 1 ? `; got ${ways.join(' and ')}` : ''}`)
      let sides: string[][] | undefined
      if (has('between')) sides = readSides(r, get('between'), at('between'), names)
      if (has('isolate')) {
        const g = names.list(r, get('isolate'), at('isolate'))
        if (g !== undefined) {
          const rest = Array.from({ length: names.total }, (_, i) => nodeName(i)).filter((n) => !g.includes(n))
          if (rest.length === 0) r.problem(get('isolate'), at('isolate'), 'that is every node: nothing is left on the other side')
          sides = [g, rest]
        }
      }
      const fraction = has('fraction') ? r.fraction(get('fraction'), at('fraction')) : undefined
      const oneWay = has('oneWay') ? r.bool(get('oneWay'), at('oneWay')) : undefined
      if (oneWay && sides !== undefined && sides.length > 2) r.problem(get('oneWay'), at('oneWay'), 'a one-way cut needs two sides')
      const lengthMs = lengthOf('for', false)
      step = { kind, ...base, ...(sides !== undefined ? { sides } : { fraction }), ...(oneWay ? { oneWay } : {}), ...(lengthMs !== undefined ? { lengthMs } : {}) }
      break
    }
    case 'heal': {
      const ofStep = has('step') ? stepRef('partition') : undefined
      step = { kind, ...base, ...(ofStep !== undefined ? { ofStep } : {}) }
      break
    }
    case 'join': {
      if (!has('count')) r.problem(node, at('count'), 'missing; how many nodes join, like 5')
      const count = has('count') ? r.count(get('count'), at('count')) : undefined
      step = { kind, ...base, count: count ?? 0, ...repeat() }
      break
    }
    case 'network': {
      const change = readChange(r, node, path, NETWORK, f)
      if (![...NETWORK].some(has)) r.problem(node, path, `a network step changes at least one of ${NETWORK.join(', ')}`)
      if (has('group') && has('between')) r.problem(node, path, 'a network step applies to a group or between groups, not both')
      let scope: LinkScope | undefined
      if (has('group')) {
        const g = names.list(r, get('group'), at('group'))
        if (g !== undefined) scope = { group: g }
      } else if (has('between')) {
        const sides = readSides(r, get('between'), at('between'), names)
        if (sides !== undefined && sides.length !== 2) r.problem(get('between'), at('between'), `a network change applies between two groups (got ${sides.length})`)
        else if (sides !== undefined) scope = { between: [sides[0], sides[1]] }
      }
      const lengthMs = lengthOf('for', false)
      step = { kind, ...base, change: change ?? {}, ...(scope !== undefined ? { scope } : {}), ...(lengthMs !== undefined ? { lengthMs } : {}) }
      break
    }
  }
  return r.problems.length === problems ? step : undefined
}

/** `between: [dc1, dc2]`: two or more sides, each a group, a node, a range or a list of them; no node on two sides. */
function readSides(r: Reader, node: YamlNode | null, path: string, names: Names): string[][] | undefined {
  if (!isSeq(node) || node.items.length < 2) return r.problem(node, path, `expected two or more groups, like [dc1, dc2]; got ${describe(node)}`)
  const sides: string[][] = []
  const seen = new Map<string, number>()
  let ok = true
  node.items.forEach((item, i) => {
    const side = names.list(r, item as YamlNode, `${path}[${i}]`)
    if (side === undefined) {
      ok = false
      return
    }
    for (const n of side) {
      const other = seen.get(n)
      if (other !== undefined) {
        r.problem(item as YamlNode, `${path}[${i}]`, `${n} is on side ${other} too; the sides of a cut must not overlap`)
        ok = false
        return
      }
      seen.set(n, i)
    }
    sides.push(side)
  })
  return ok ? sides : undefined
}

/** The node pick of a crash, restart, pause or leave step. */
function readPick(r: Reader, f: Map<string, YamlNode | null>, path: string, names: Names, stepRef: () => string | undefined): NodePick | undefined {
  const at = (k: string): string => `${path}.${k}`
  const has = (k: string): boolean => f.has(k)
  const get = (k: string): YamlNode | null => f.get(k) ?? null
  const whole = get('do')
  const sources = ['nodes', 'group', 'step'].filter(has)
  if (sources.length > 1) return r.problem(whole, path, `pick nodes with one of nodes, group or step, not ${sources.join(' and ')}`)
  if (has('count') && has('fraction')) return r.problem(get('fraction'), at('fraction'), 'give count or fraction, not both')
  if (sources.length === 0 && !has('count') && !has('fraction')) {
    return r.problem(whole, path, 'which nodes? give nodes (names or groups), group (every node of it, or count/fraction of it), step (the nodes of an earlier step) or count/fraction (random nodes)')
  }
  if (has('nodes') && (has('count') || has('fraction'))) return r.problem(get('nodes'), at('nodes'), 'nodes names the nodes exactly; to draw some of them at random use group with count or fraction')
  const p: { -readonly [K in keyof NodePick]: NodePick[K] } = {}
  if (has('nodes')) p.nodes = names.list(r, get('nodes'), at('nodes'))
  if (has('group')) p.among = names.list(r, get('group'), at('group'))
  if (has('step')) p.ofStep = stepRef()
  if (has('count')) p.count = r.count(get('count'), at('count'))
  if (has('fraction')) p.fraction = r.fraction(get('fraction'), at('fraction'))
  if (has('rolling')) {
    p.rolling = r.bool(get('rolling'), at('rolling'))
    if (p.rolling && (!has('every') || has('nodes'))) r.problem(get('rolling'), at('rolling'), 'a rolling step goes through a group (or every node) count at a time: it needs every: and no nodes:')
    if (p.rolling && has('fraction')) r.problem(get('rolling'), at('rolling'), 'a rolling step takes count nodes at a time, not a fraction')
  }
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as NodePick
}
