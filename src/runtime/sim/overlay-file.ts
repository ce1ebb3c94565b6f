/**
 * Scenario files of `membership: hyparview` clusters (`grapevine sim examples/hyparview-failure.yaml`): a
 * file whose top-level `membership` is `hyparview` is read here and run by overlay-scenario.ts; the
 * others by scenario-file.ts (SWIM) or datacenters-file.ts. Same YAML, same problem messages (file,
 * line, field, fix, "did you mean" for unknown fields). Pure, like scenario-file.ts.
 *
 *   name: hyparview-failure
 *   seed: 7
 *   membership: hyparview
 *   nodes: 300                          # join one by one, each through a random earlier live node
 *   joinSpacing: 10ms                   # gap between two joins (default 10ms)
 *   warmup: 60s                         # broadcasts start here (default: the last join + 5 shuffle periods)
 *   duration: 2m                        # broadcasts and failures run until here (default warm-up + 60s)
 *   network: { latency: 1ms..10ms, loss: 0 }
 *   overlay:                            # HyParView and Plumtree settings (defaults: the papers')
 *     activeView: 5                     # monitored neighbours
 *     passiveView: 30                   # backup peers
 *     activeWalk: 6                     # ARWL: FORWARD_JOIN walk length
 *     passiveWalk: 3                    # PRWL: the joiner enters passive views at this hop
 *     shuffleInterval: 10s              # SHUFFLE period
 *     shuffleActive: 3                  # active entries in a SHUFFLE (ka)
 *     shufflePassive: 4                 # passive entries in a SHUFFLE (kp)
 *     keepAliveInterval: 1s             # pings to neighbours (0s: none, as the papers; repair once a minute)
 *     keepAliveTimeout: 5s              # a silent neighbour is down after this long (default 5 × the interval)
 *     broadcast: plumtree               # plumtree (a tree, lazy IHAVE repair) or flood (push to every neighbour)
 *     maxPayloadBytes: 1024
 *   stateRounds: 1s                     # cluster state rounds to sampled peers (default off at scale)
 *   workload: { broadcasts: 2 }         # per second of virtual time, from random live nodes
 *   groups: { east: node-000..node-149 } # optional names for the steps, as in single-pool files
 *   timeline:                           # the single-pool files' steps (scenario-file.ts readStep), plus broadcast
 *     - { at: 90s, do: crash, fraction: 0.5 }          # that fraction of the live nodes vanish at once
 *     - { at: 95s, do: restart, count: 10, down: 5s }  # fresh processes rejoin (through a live seed)
 *     - { at: 100s, do: partition, isolate: east, id: cut }   # or between: [a, b], or fraction
 *     - { at: 110s, do: heal, step: cut }
 *     - { at: 100s, do: network, loss: 0.05, for: 10s }       # loss, latency, duplication, reorder
 *     - { at: 120s, do: join, count: 20 }              # each batch through a random live node
 *     - { at: 121s, do: broadcast, count: 3, from: node-007 } # measured like the workload's
 *   (also leave and pause; crash and restart take nodes/group/step/count/fraction, every/times)
 */
import { isMap, isScalar, isSeq, parseDocument } from 'yaml'
import type { Node as YamlNode } from 'yaml'
import { resolveOverlaySettings, type OverlaySettings } from '../../node/index.js'
import type { OverlayScenarioOptions } from './overlay-scenario.js'
import { Reader, describe, didYouMean, quote } from './scenario-reader.js'
import { ScenarioFileError, countJoins, openScenarioText, readGroups, readStep, type FileKind } from './scenario-file.js'
import { Names } from './scenario-reader.js'
import { formatDurationMs, type ScenarioStep } from './steps.js'
import { parseLatency, parseRate, parseSeed } from './scenario-values.js'

const TOP = ['name', 'description', 'seed', 'membership', 'nodes', 'joinSpacing', 'warmup', 'duration', 'network', 'overlay', 'stateRounds', 'workload', 'groups', 'timeline']
/** File name, HyParView setting, kind of value. */
const HYPARVIEW: ReadonlyArray<readonly [string, string, 'count' | 'duration']> = [
  ['activeView', 'activeViewSize', 'count'],
  ['passiveView', 'passiveViewSize', 'count'],
  ['activeWalk', 'activeRandomWalkLength', 'count'],
  ['passiveWalk', 'passiveRandomWalkLength', 'count'],
  ['shuffleInterval', 'shuffleIntervalMs', 'duration'],
  ['shuffleActive', 'shuffleActiveCount', 'count'],
  ['shufflePassive', 'shufflePassiveCount', 'count'],
  ['keepAliveInterval', 'keepAliveIntervalMs', 'duration'],
  ['keepAliveTimeout', 'keepAliveTimeoutMs', 'duration'],
]
const OVERLAY = [...HYPARVIEW.map(([name]) => name), 'broadcast', 'maxPayloadBytes']
const NETWORK = ['latency', 'loss']
/** What the SWIM language has that this one does not, with what to use instead. */
const SWIM_ONLY: Readonly<Record<string, string>> = {
  profile: 'a SWIM profile; HyParView takes its settings under overlay:',
  swim: 'SWIM settings; with membership: hyparview there is no SWIM (use overlay:)',
  lifeguard: 'a SWIM option; with membership: hyparview there is no SWIM',
  membershipOnly: 'SWIM alone; a hyparview node always runs the overlay',
  latencyMatrix: 'not supported in hyparview files yet; use network: { latency: … }',
}

/** Whether scenario text is a hyparview file (top-level `membership: hyparview`). */
export function isOverlayScenario(text: string): boolean {
  const doc = parseDocument(text, { prettyErrors: false })
  const v: unknown = isMap(doc.contents) ? doc.contents.get('membership', true) : undefined
  return isScalar(v) && v.value === 'hyparview'
}

export interface OverlayFile {
  readonly name: string | undefined
  readonly description: string | undefined
  readonly seed: number | undefined
  readonly scenario: Omit<OverlayScenarioOptions, 'seed'>
}

export function parseOverlayScenario(text: string, file = 'scenario.yaml'): OverlayFile {
  const { r, root } = openScenarioText(text, file)
  const top = readTop(r, root)
  if (top === undefined) throw new ScenarioFileError(file, r.problems)
  const opt = <T>(k: string, read: (n: YamlNode | null, p: string) => T | undefined): T | undefined => (top.has(k) ? read(top.get(k) ?? null, k) : undefined)
  const name = opt('name', (n, p) => r.string(n, p))
  const description = opt('description', (n, p) => r.string(n, p))
  const seed = opt('seed', (n, p) => r.parse(n, p, (t, f) => parseSeed(t, f)))
  opt('membership', (n, p) => (r.string(n, p) === 'hyparview' ? true : r.problem(n, p, `expected hyparview in this kind of file, got ${describe(n)}`)))
  if (!top.has('nodes')) r.problem(root, 'nodes', 'missing; how many nodes join, like 300')
  let nodes = opt('nodes', (n, p) => r.count(n, p))
  if (nodes !== undefined && nodes < 2) nodes = r.problem(top.get('nodes'), 'nodes', `expected at least 2 nodes, got ${nodes}`)
  const joinSpacingMs = opt('joinSpacing', (n, p) => r.duration(n, p, true)) ?? 10
  const overlay = opt('overlay', (n, p) => readOverlay(r, n, p))
  const shuffleMs = overlay?.hyparview?.shuffleIntervalMs ?? 10_000
  const warmupMs = opt('warmup', (n, p) => r.duration(n, p)) ?? ((nodes ?? 2) - 1) * joinSpacingMs + 5 * shuffleMs
  const durationMs = opt('duration', (n, p) => r.duration(n, p, true)) ?? warmupMs + 60_000
  const network = opt('network', (n, p) => {
    const f = r.fields(n, p, NETWORK)
    if (f === undefined) return undefined
    const latencyMs = f.has('latency') ? r.parse(f.get('latency') ?? null, `${p}.latency`, (t, flag) => parseLatency(t, flag)) : undefined
    const loss = f.has('loss') ? r.probability(f.get('loss') ?? null, `${p}.loss`) : undefined
    return { ...(latencyMs !== undefined ? { latencyMs } : {}), ...(loss !== undefined ? { packetLossProbability: loss } : {}) }
  })
  const stateRoundMs = opt('stateRounds', (n, p) => r.duration(n, p, true))
  const broadcastsPerSec = opt('workload', (n, p) => {
    const f = r.fields(n, p, ['broadcasts'])
    if (f === undefined) return undefined
    if (!f.has('broadcasts')) return r.problem(n, p, 'needs broadcasts (per second of virtual time), or remove it')
    return r.parse(f.get('broadcasts') ?? null, `${p}.broadcasts`, (t, flag) => parseRate(t, flag))
  })
  if (broadcastsPerSec !== undefined && broadcastsPerSec > 0 && durationMs <= warmupMs) {
    r.problem(top.get('duration') ?? top.get('workload'), 'duration', `broadcasts start after the warm-up (${formatDurationMs(warmupMs)}); raise duration above it or lower warmup`)
  }
  const timelineNode = top.get('timeline') ?? null
  const items = !top.has('timeline') ? [] : isSeq(timelineNode) ? (timelineNode.items as YamlNode[]) : (r.problem(timelineNode, 'timeline', `expected a list of steps like - { at: 90s, do: crash, fraction: 0.5 }, got ${describe(timelineNode)}`) ?? [])
  // Join steps add nodes: counted first, so that groups and steps may name the nodes to come.
  const names = new Names(Math.max(1, (nodes ?? 0) + countJoins(items, durationMs)), new Map())
  if (top.has('groups')) readGroups(r, top.get('groups')!, names)
  const { steps, broadcasts } = readTimeline(r, items, names, durationMs)
  if (r.problems.length > 0) throw new ScenarioFileError(file, r.problems.sort((a, b) => a.line - b.line))
  const scenario: Omit<OverlayScenarioOptions, 'seed'> = {
    nodes: nodes!,
    durationMs,
    joinSpacingMs,
    warmupMs,
    broadcastsPerSec: broadcastsPerSec ?? 0,
    steps,
    broadcastSteps: broadcasts,
    ...(network !== undefined ? { network } : {}),
    ...(overlay !== undefined ? { overlay } : {}),
    ...(stateRoundMs !== undefined ? { stateRoundMs } : {}),
  }
  return { name, description, seed, scenario }
}

function readTop(r: Reader, root: YamlNode | null): Map<string, YamlNode | null> | undefined {
  const all = r.fields(root, '', [...TOP, ...Object.keys(SWIM_ONLY)], 'a scenario: a map with membership: hyparview, nodes and timeline')
  if (all === undefined) return undefined
  for (const [k, why] of Object.entries(SWIM_ONLY)) if (all.has(k)) r.problem(all.get(k), k, `${why}; remove it`)
  return all
}

function readOverlay(r: Reader, node: YamlNode | null, path: string): OverlaySettings | undefined {
  const f = r.fields(node, path, OVERLAY)
  if (f === undefined) return undefined
  const hyparview: Record<string, number> = {}
  for (const [name, key, kind] of HYPARVIEW) {
    if (!f.has(name)) continue
    const at = `${path}.${name}`
    const v = kind === 'duration' ? r.duration(f.get(name) ?? null, at, key !== 'keepAliveIntervalMs' && key !== 'keepAliveTimeoutMs') : r.count(f.get(name) ?? null, at, key === 'passiveRandomWalkLength' || key.startsWith('shuffle'))
    if (v !== undefined) hyparview[key] = v
  }
  // keepAliveInterval 0s: no pings (the papers' model); the repair check still runs once a minute.
  if (hyparview.keepAliveIntervalMs === 0) Object.assign(hyparview, { keepAliveIntervalMs: 60_000, keepAliveTimeoutMs: 0 })
  else if (hyparview.keepAliveIntervalMs !== undefined && hyparview.keepAliveTimeoutMs === undefined) hyparview.keepAliveTimeoutMs = 5 * hyparview.keepAliveIntervalMs
  const plumtree: Record<string, unknown> = {}
  if (f.has('broadcast')) {
    const mode = r.string(f.get('broadcast') ?? null, `${path}.broadcast`)
    if (mode === 'plumtree' || mode === 'flood') plumtree.mode = mode
    else if (mode !== undefined) r.problem(f.get('broadcast'), `${path}.broadcast`, `expected plumtree or flood, got ${JSON.stringify(mode)}${didYouMean(mode, ['plumtree', 'flood'])}`)
  }
  if (f.has('maxPayloadBytes')) plumtree.maxPayloadBytes = r.count(f.get('maxPayloadBytes') ?? null, `${path}.maxPayloadBytes`)
  const settings: OverlaySettings = { ...(Object.keys(hyparview).length > 0 ? { hyparview } : {}), ...(Object.keys(plumtree).length > 0 ? { plumtree } : {}) }
  // The protocols' own rules (PRWL ≤ ARWL, a timeout above two intervals, bounds), named in this file's words.
  const problems: string[] = []
  resolveOverlaySettings({ membership: 'hyparview', overlay: settings }, problems)
  const fileName = new Map<string, string>([...HYPARVIEW.map(([name, key]) => [key, name] as [string, string]), ['mode', 'broadcast']])
  for (const p of problems) {
    const m = /^overlay\.(hyparview|plumtree)\.(\w+): (.*)$/s.exec(p)
    const field = m === null ? undefined : fileName.get(m[2]) ?? m[2]
    r.problem(field === undefined ? node : f.get(field) ?? node, field === undefined ? path : `${path}.${field}`, m === null ? p : m[3])
  }
  return settings
}

/** The step kinds of a hyparview file: the single-pool ones and broadcast. */
const KINDS = ['crash', 'restart', 'pause', 'leave', 'partition', 'heal', 'join', 'network', 'broadcast']

function readTimeline(r: Reader, items: readonly YamlNode[], names: Names, durationMs: number): { steps: ScenarioStep[]; broadcasts: Array<{ atMs: number; count: number; from?: string }> } {
  const steps: ScenarioStep[] = []
  const broadcasts: Array<{ atMs: number; count: number; from?: string }> = []
  const ids = new Map<string, FileKind>()
  items.forEach((item, i) => {
    const at = `timeline[${i}]`
    const doNode = isMap(item) ? (item.get('do', true) as YamlNode | undefined) : undefined
    const kind: unknown = isScalar(doNode) ? doNode.value : undefined
    if (typeof kind === 'string' && !KINDS.includes(kind)) {
      r.problem(doNode ?? null, `${at}.do`, `unknown step ${JSON.stringify(kind)}${didYouMean(kind, KINDS)}; with membership: hyparview the steps are ${KINDS.join(', ')}`)
      return
    }
    if (kind !== 'broadcast') {
      const step = readStep(r, item, at, names, ids, durationMs)
      if (step !== undefined) steps.push(step)
      return
    }
    const f = r.fields(item, at, ['at', 'do', 'count', 'from'], 'a step like { at: 90s, do: broadcast, count: 3 }')
    if (f === undefined) return
    if (!f.has('at')) r.problem(item, `${at}.at`, 'missing; when the broadcasts are sent, like 90s')
    const atMs = f.has('at') ? r.duration(f.get('at') ?? null, `${at}.at`) : undefined
    if (atMs !== undefined && atMs >= durationMs) r.problem(f.get('at'), `${at}.at`, `${formatDurationMs(atMs)} is not within duration ${formatDurationMs(durationMs)}; raise duration`)
    let count = f.has('count') ? r.count(f.get('count') ?? null, `${at}.count`) : 1
    if (count !== undefined && count > 10_000) count = r.problem(f.get('count'), `${at}.count`, `expected at most 10000 broadcasts in one step, got ${count}`)
    let from: string | undefined
    if (f.has('from')) {
      const word = r.string(f.get('from') ?? null, `${at}.from`)
      const list = word === undefined ? undefined : names.resolve(r, word, f.get('from') as YamlNode, `${at}.from`, false)
      if (list !== undefined && list.length !== 1) r.problem(f.get('from'), `${at}.from`, `${quote(word!)} names ${list.length} nodes; from names one node (leave it out for a random live node)`)
      else from = list?.[0]
    }
    if (atMs !== undefined && count !== undefined) broadcasts.push({ atMs, count, ...(from !== undefined ? { from } : {}) })
  })
  return { steps, broadcasts }
}
