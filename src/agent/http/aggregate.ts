/**
 * The agent's routes for gossip aggregation (node.aggregate; the rest of the API is in api.ts):
 *
 *   GET    /v1/aggregate        { aggregates: [ AGGREGATE… ] }: every aggregate running on this agent
 *   GET    /v1/aggregate/NAME   AGGREGATE; 404 when none of that name runs here
 *   POST   /v1/aggregate        { "name": "load", "function": "avg", "mode"?: "push-pull" | "push-sum",
 *                                "cycleMs"?: 1000, "epochCycles"?: 20,
 *                                "value": { "metric": "load1" } | { "constant": 4 } | { "command": "…" } }
 *                                → 201 AGGREGATE ("value" may be left out for count)
 *   DELETE /v1/aggregate/NAME   → { name, stopped: true }; 404 when none of that name runs here
 *
 *   AGGREGATE = { name, function, mode, cycleMs, epochCycles, epochMs, estimate: { value, epoch, spread } |
 *                 null, running: { epoch, cycle, value }, participants, localValue, lastValueError,
 *                 counters, source }   (numbers that are not finite, and unknown values, are null)
 *
 * 400 names the bad field and the fix; 409 when the name runs already; 403 for a command source when
 * the API has no token and listens beyond loopback (a command runs with the agent's rights). Value
 * sources: aggregate-sources.ts.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { ConfigError } from '../../core/errors.js'
import { resolveAggregateSpec, type AggregateStatus } from '../../node/index.js'
import { METRICS, SourceError, openSource, sourcesOf, type MetricName, type SourceInfo, type SourceSpec, type ValueSource } from '../aggregate-sources.js'
import { HttpError, readJson, send } from './respond.js'

const finite = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v)

/** An aggregate as JSON, with where its value comes from (`library`: started by code, not this API). */
export function aggregateJson(s: AggregateStatus, source: SourceInfo | { kind: 'library' }): Record<string, unknown> {
  const e = s.estimate
  return {
    name: s.name, function: s.fn, mode: s.mode, cycleMs: s.cycleMs, epochCycles: s.epochCycles, epochMs: s.cycleMs * s.epochCycles,
    estimate: e === undefined ? null : { value: finite(e.value), epoch: e.epoch, spread: finite(e.spread) },
    running: { epoch: s.running.epoch, cycle: s.running.cycle, value: finite(s.running.value) },
    participants: s.participants, localValue: s.localValue, lastValueError: s.lastValueError ?? null, counters: s.counters, source,
  }
}

/** True when the server listens on a loopback address only (127.0.0.0/8 or ::1). */
export function listensOnLoopback(server: Server): boolean {
  const a = server.address()
  return typeof a === 'object' && a !== null && (a.address.startsWith('127.') || a.address === '::1')
}

function readSource(v: unknown, fn: string): SourceSpec {
  if (v === undefined || v === null) {
    if (fn === 'count') return { constant: 1 }
    throw new HttpError(400, 'value: expected {"metric": "load1"}, {"constant": 4} or {"command": "…"}; only count needs none')
  }
  if (typeof v === 'number' && Number.isFinite(v)) return { constant: v }
  const o = v as Record<string, unknown>
  const keys = typeof v === 'object' ? Object.keys(o) : []
  if (keys.length === 1 && typeof o.constant === 'number' && Number.isFinite(o.constant)) return { constant: o.constant }
  if (keys.length === 1 && typeof o.metric === 'string' && (METRICS as readonly string[]).includes(o.metric)) return { metric: o.metric as MetricName }
  if (keys.length === 1 && typeof o.command === 'string' && o.command.trim() !== '' && o.command.length <= 4096) return { command: o.command }
  if (keys.length === 1 && 'metric' in o) throw new HttpError(400, `value.metric: expected one of ${METRICS.join(', ')}, got ${JSON.stringify(o.metric)?.slice(0, 60)}`)
  throw new HttpError(400, `value: expected exactly one of {"metric": ${METRICS.map((m) => JSON.stringify(m)).join('|')}}, {"constant": NUMBER} or {"command": "SHELL TEXT"}, got ${JSON.stringify(v)?.slice(0, 120)}`)
}

/** Handles the request when it is one of these routes; false otherwise. `commandsAllowed`: see the header. */
export async function handleAggregateRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode, commandsAllowed: boolean): Promise<boolean> {
  const path = url.pathname
  if (path !== '/v1/aggregate' && !path.startsWith('/v1/aggregate/')) return false
  const known = sourcesOf(node)
  const json = (s: AggregateStatus): Record<string, unknown> => aggregateJson(s, known.get(s.name)?.info() ?? { kind: 'library' })
  if (path === '/v1/aggregate') {
    if (req.method === 'GET' || req.method === 'HEAD') return send(res, 200, { aggregates: node.aggregate.list().map(json) }), true
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} is not allowed on /v1/aggregate; use GET or POST`, { allow: 'GET, POST' })
    const body = (await readJson(req)) as Record<string, unknown> | null
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object like {"name": "load", "function": "avg", "value": {"metric": "load1"}}')
    const { name, function: fn, mode, cycleMs, epochCycles } = body
    if (typeof name === 'string' && node.aggregate.get(name) !== undefined) throw new HttpError(409, `an aggregate named ${JSON.stringify(name)} runs already; DELETE /v1/aggregate/${encodeURIComponent(name)} first or choose another name`)
    const spec = readSource(body.value, String(fn))
    if ('command' in spec && !commandsAllowed) throw new HttpError(403, 'value.command: command sources need an API token (--http-token) or an API on a loopback address, since the command runs with the agent\'s rights')
    const options = { mode: mode as never, cycleMs: cycleMs as number | undefined, epochCycles: epochCycles as number | undefined }
    let source: ValueSource | undefined
    try {
      // Settings first (nothing runs when they are bad), then the source (a command runs once), then the start.
      const resolved = resolveAggregateSpec(name as string, fn as string, options)
      source = await openSource(node, spec, resolved.cycleMs * resolved.epochCycles)
      const s = source
      const handle = node.aggregate.start(resolved.name, resolved.fn, () => s.value(), options)
      known.set(resolved.name, s)
      return send(res, 201, json(handle.status()!)), true
    } catch (e) {
      source?.close()
      if (e instanceof ConfigError) throw new HttpError(400, e.problems.join('; '))
      if (e instanceof SourceError) throw new HttpError(400, `value: ${e.message}`)
      throw e
    }
  }
  let name: string
  try {
    name = decodeURIComponent(path.slice('/v1/aggregate/'.length))
  } catch {
    throw new HttpError(400, 'name: not valid percent-encoding; escape "%" as %25')
  }
  if (name === '' || name.includes('/')) throw new HttpError(400, 'name: expected /v1/aggregate/NAME with one non-empty name')
  const status = node.aggregate.get(name)
  if (status === undefined) throw new HttpError(404, `no aggregate named ${JSON.stringify(name.slice(0, 64))} runs here; GET /v1/aggregate lists them`)
  if (req.method === 'GET' || req.method === 'HEAD') return send(res, 200, json(status)), true
  if (req.method !== 'DELETE') throw new HttpError(405, `${req.method} is not allowed on /v1/aggregate/NAME; use GET or DELETE`, { allow: 'GET, DELETE' })
  node.aggregate.stop(name)
  known.get(name)?.close()
  known.delete(name)
  return send(res, 200, { name, stopped: true }), true
}
