/**
 * Scenario files of several datacenters (`grapevine sim examples/three-datacenters.yaml`): a file with
 * a top-level `datacenters:` field is read here, the others by scenario-file.ts. Same YAML, same
 * problem messages (file, line, field, fix). Pure, like scenario-file.ts.
 *
 *   name: three-datacenters
 *   seed: 18
 *   duration: 5m
 *   datacenters:                       # each: nodes (servers included) and servers (the first ones)
 *     dc1: { nodes: 30, servers: 3 }
 *   lanLatency: 0.5ms..2ms             # one way inside each datacenter
 *   wanLatency:                        # one way between two datacenters, each pair once
 *     dc1: { dc2: 20ms..30ms }
 *   floodInterval: 60s                 # servers' flood join (default 60s)
 *   wanSwim: { probeInterval: 2s }     # the WAN pool's SWIM settings over the wan profile (the swim: fields)
 *   workload: { events: 0.5, queries: 0.2, window: 30s..4m }   # relayed per second, random datacenters
 *   timeline:
 *     - { at: 60s, do: wan-partition, datacenter: dc3, for: 60s }
 *     - { at: 3m, do: crash, datacenter: dc2, role: server }     # or client
 *     - { at: 4m, do: event, from: dc1, to: dc3 }                # or query
 */
import { isMap, isSeq } from 'yaml'
import type { Node as YamlNode } from 'yaml'
import { datacenterProblem } from '../../pools/names.js'
import type { DatacentersScenarioOptions, DatacenterStep } from './datacenters-scenario.js'
import type { DatacenterSpec } from './datacenters.js'
import { describe } from './scenario-reader.js'
import { ScenarioFileError, openScenarioText, readSwim } from './scenario-file.js'
import type { RelayWorkloadOptions } from './datacenters-workload.js'
import { parseDurationMs, parseLatency, parseRate, parseSeed } from './scenario-values.js'
import { formatDurationMs } from './steps.js'
import { UsageError } from '../../core/errors.js'

const TOP = ['name', 'description', 'seed', 'duration', 'datacenters', 'lanLatency', 'wanLatency', 'floodInterval', 'wanSwim', 'workload', 'timeline']
const STEP_FIELDS: Readonly<Record<DatacenterStep['kind'], readonly string[]>> = {
  'wan-partition': ['at', 'do', 'datacenter', 'for'], crash: ['at', 'do', 'datacenter', 'role'], event: ['at', 'do', 'from', 'to'], query: ['at', 'do', 'from', 'to'],
}
const STEP_KINDS = Object.keys(STEP_FIELDS)

export interface DatacentersFile {
  readonly name: string | undefined
  readonly description: string | undefined
  readonly seed: number | undefined
  readonly scenario: Omit<DatacentersScenarioOptions, 'seed'>
}

/** Whether scenario text is a datacenters file (has a top-level `datacenters:` field). */
export function isDatacentersScenario(text: string): boolean {
  return /^datacenters\s*:/m.test(text)
}

export function parseDatacentersScenario(text: string, file = 'scenario.yaml'): DatacentersFile {
  const { r, root } = openScenarioText(text, file)
  const top = r.fields(root, '', TOP, 'a scenario: a map with datacenters, duration and timeline')
  if (top === undefined) throw new ScenarioFileError(file, r.problems)
  const opt = <T>(k: string, read: (n: YamlNode | null, p: string) => T | undefined): T | undefined => (top.has(k) ? read(top.get(k) ?? null, k) : undefined)
  const name = opt('name', (n, p) => r.string(n, p))
  const description = opt('description', (n, p) => r.string(n, p))
  const seed = opt('seed', (n, p) => r.parse(n, p, (t, f) => parseSeed(t, f)))
  if (!top.has('duration')) r.problem(root, 'duration', 'missing; it is required, like 5m')
  const durationMs = opt('duration', (n, p) => r.duration(n, p, true))
  const lanLatencyMs = opt('lanLatency', (n, p) => r.parse(n, p, (t, f) => parseLatency(t, f)))
  const floodIntervalMs = opt('floodInterval', (n, p) => {
    const ms = r.duration(n, p, true)
    return ms !== undefined && ms < 1000 ? r.problem(n, p, 'at least 1s') : ms
  })
  const wanConfig = opt('wanSwim', (n, p) => readSwim(r, n, p))

  const datacenters: DatacenterSpec[] = []
  const dcNode = top.get('datacenters') ?? null
  if (!isMap(dcNode) || dcNode.items.length < 2) r.problem(dcNode, 'datacenters', `expected a map of at least two datacenters like { dc1: { nodes: 30, servers: 3 }, dc2: … }, got ${describe(dcNode)}`)
  else {
    for (const pair of dcNode.items) {
      const key = String((pair.key as { value?: unknown } | null)?.value ?? '')
      const path = `datacenters.${key}`
      const bad = datacenterProblem(key, path)
      if (bad !== undefined) r.problem(pair.key as YamlNode, path, bad.slice(path.length + 2))
      const f = r.fields((pair.value as YamlNode | null) ?? null, path, ['nodes', 'servers'], 'a map like { nodes: 30, servers: 3 }')
      const nodes = f?.has('nodes') ? r.count(f.get('nodes') ?? null, `${path}.nodes`) : r.problem(pair.value as YamlNode, `${path}.nodes`, 'missing; how many nodes, servers included')
      const servers = f?.has('servers') ? r.count(f.get('servers') ?? null, `${path}.servers`) : r.problem(pair.value as YamlNode, `${path}.servers`, 'missing; how many of the nodes are servers (at least 1)')
      if (nodes !== undefined && servers !== undefined && servers > nodes) r.problem(pair.value as YamlNode, `${path}.servers`, `${servers} servers in a datacenter of ${nodes} nodes; servers are some of its nodes`)
      if (nodes !== undefined && servers !== undefined) datacenters.push({ name: key, nodes, servers })
    }
  }
  const known = datacenters.map((d) => d.name)
  const dcName = (n: YamlNode | null, path: string): string | undefined => {
    const s = r.string(n, path)
    if (s !== undefined && !known.includes(s)) return r.problem(n, path, `no datacenter ${JSON.stringify(s)}; the file has ${known.join(', ')}`)
    return s
  }

  const wanLatencyMs: Record<string, readonly [number, number]> = {}
  const wanNode = top.get('wanLatency')
  if (top.has('wanLatency')) {
    if (!isMap(wanNode)) r.problem(wanNode ?? null, 'wanLatency', `expected a map like { dc1: { dc2: 20ms..30ms } }, got ${describe(wanNode ?? null)}`)
    else {
      for (const pair of wanNode.items) {
        const a = dcName(pair.key as YamlNode, 'wanLatency')
        const row = pair.value as YamlNode | null
        if (!isMap(row)) {
          r.problem(row, `wanLatency.${a}`, `expected a map like { dc2: 20ms..30ms }, got ${describe(row)}`)
          continue
        }
        for (const cell of row.items) {
          const b = dcName(cell.key as YamlNode, `wanLatency.${a}`)
          const lat = r.parse((cell.value as YamlNode | null) ?? null, `wanLatency.${a}.${b}`, (t, f) => parseLatency(t, f))
          if (a !== undefined && b !== undefined && a === b) r.problem(cell.key as YamlNode, `wanLatency.${a}.${b}`, 'a datacenter with itself: that is lanLatency')
          else if (a !== undefined && b !== undefined && lat !== undefined) wanLatencyMs[a < b ? `${a}|${b}` : `${b}|${a}`] = lat
        }
      }
    }
  }

  const steps: DatacenterStep[] = []
  const tl = top.get('timeline')
  if (top.has('timeline') && !isSeq(tl)) r.problem(tl ?? null, 'timeline', `expected a list of steps, got ${describe(tl ?? null)}`)
  if (isSeq(tl)) {
    tl.items.forEach((item, i) => {
      const path = `timeline[${i}]`
      const kindNode = isMap(item) ? (item.items.find((p) => (p.key as { value?: unknown }).value === 'do')?.value as YamlNode | null) : null
      const kind = r.string(kindNode ?? (item as YamlNode), `${path}.do`)
      if (kind === undefined) return
      if (!STEP_KINDS.includes(kind)) return void r.problem(kindNode, `${path}.do`, `unknown step ${JSON.stringify(kind)}; a datacenters file has ${STEP_KINDS.join(', ')}`)
      const f = r.fields(item as YamlNode, path, STEP_FIELDS[kind as DatacenterStep['kind']])
      if (f === undefined) return
      const atMs = f.has('at') ? r.duration(f.get('at') ?? null, `${path}.at`) : r.problem(item as YamlNode, `${path}.at`, 'missing; when, like 60s')
      if (kind === 'wan-partition') {
        const datacenter = dcName(f.get('datacenter') ?? null, `${path}.datacenter`)
        const forMs = f.has('for') ? r.duration(f.get('for') ?? null, `${path}.for`, true) : r.problem(item as YamlNode, `${path}.for`, 'missing; how long the cut lasts, like 60s')
        if (atMs !== undefined && datacenter !== undefined && forMs !== undefined) steps.push({ atMs, kind, datacenter, forMs })
      } else if (kind === 'crash') {
        const datacenter = dcName(f.get('datacenter') ?? null, `${path}.datacenter`)
        const role = f.has('role') ? r.string(f.get('role') ?? null, `${path}.role`) : r.problem(item as YamlNode, `${path}.role`, 'missing; server or client')
        if (role !== undefined && role !== 'server' && role !== 'client') return void r.problem(f.get('role') ?? null, `${path}.role`, `expected server or client, got ${JSON.stringify(role)}`)
        const spec = datacenters.find((d) => d.name === datacenter)
        if (role === 'client' && spec !== undefined && spec.nodes === spec.servers) return void r.problem(f.get('role') ?? null, `${path}.role`, `${datacenter} has no client (its ${spec.nodes} nodes are all servers)`)
        if (atMs !== undefined && datacenter !== undefined && role !== undefined) steps.push({ atMs, kind, datacenter, role })
      } else if (kind === 'event' || kind === 'query') {
        const from = dcName(f.get('from') ?? null, `${path}.from`)
        const to = dcName(f.get('to') ?? null, `${path}.to`)
        if (from !== undefined && to !== undefined && from === to) r.problem(f.get('to') ?? null, `${path}.to`, 'the same datacenter as from; a relayed event goes to another one')
        else if (atMs !== undefined && from !== undefined && to !== undefined) steps.push({ atMs, kind, from, to })
      }
    })
  }
  const workload = opt('workload', (n, p) => readRelayWorkload(r, n, p, durationMs))
  if (r.problems.length > 0 || durationMs === undefined) throw new ScenarioFileError(file, r.problems)
  for (const s of steps) if (s.atMs >= durationMs) throw new ScenarioFileError(file, [{ line: 1, path: 'timeline', message: `a step at ${s.atMs} ms is not before the end (duration ${durationMs} ms)` }])
  return { name, description, seed, scenario: { name, durationMs, datacenters, lanLatencyMs, wanLatencyMs, floodIntervalMs, steps, ...(wanConfig === undefined ? {} : { wanConfig }), ...(workload === undefined ? {} : { workload }) } }
}

/** `workload: { events: 0.5, queries: 0.2, window: 30s..4m }`: relayed events and queries per virtual second. */
function readRelayWorkload(r: ReturnType<typeof openScenarioText>['r'], node: YamlNode | null, path: string, durationMs: number | undefined): RelayWorkloadOptions | undefined {
  const f = r.fields(node, path, ['events', 'queries', 'window'], 'a map like { events: 0.5, queries: 0.2, window: 30s..4m }')
  if (f === undefined) return undefined
  const rate = (k: string): number | undefined => (f.has(k) ? r.parse(f.get(k) ?? null, `${path}.${k}`, (t, flag) => parseRate(t, flag)) : undefined)
  const eventsPerSec = rate('events')
  const queriesPerSec = rate('queries')
  if (!f.has('events') && !f.has('queries')) r.problem(node, path, 'needs events or queries (relayed per second of virtual time, like 0.5)')
  let window: [number, number] | undefined
  if (f.has('window')) {
    window = r.parse(f.get('window') ?? null, `${path}.window`, (t, flag) => {
      const expected = 'START..END like 30s..4m'
      const parts = t.split('..')
      if (parts.length !== 2) throw new UsageError(`${flag}: expected ${expected}, got ${JSON.stringify(t)}`)
      const [a, b] = parts.map((x) => parseDurationMs(x, flag, expected))
      if (a >= b) throw new UsageError(`${flag}: expected ${expected} with START before END, got ${JSON.stringify(t)}`)
      return [a, b] as [number, number]
    })
    if (window !== undefined && durationMs !== undefined && window[1] > durationMs) r.problem(f.get('window') ?? null, `${path}.window`, `ends at ${formatDurationMs(window[1])}, after the duration ${formatDurationMs(durationMs)}`)
  }
  return { eventsPerSec: eventsPerSec ?? 0, queriesPerSec: queriesPerSec ?? 0, ...(window === undefined ? {} : { startMs: window[0], endMs: window[1] }) }
}
