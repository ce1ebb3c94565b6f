/**
 * The bodies of POST /v1/event and POST /v1/query, read and checked once for both their routes: the
 * local ones (api.ts) and the ones addressed to another datacenter (pools.ts). 400 names the field.
 */
import type { IncomingMessage } from 'node:http'
import { HttpError, readJson } from './respond.js'

export interface EventBody {
  readonly name: string
  readonly payload: string
  readonly coalesce: boolean
}

export interface QueryBody {
  readonly name: string
  readonly payload: string
  readonly timeoutMs: number | undefined
  readonly nodes: string[] | undefined
  readonly tags: Record<string, string> | undefined
  readonly ack: boolean | undefined
}

export async function readEventBody(req: IncomingMessage): Promise<EventBody> {
  const body = (await readJson(req)) as { name?: unknown; payload?: unknown; coalesce?: unknown }
  if (typeof body?.name !== 'string' || body.name.length === 0) throw new HttpError(400, `name: expected the event name, got ${JSON.stringify(body?.name)}`)
  if (body.payload !== undefined && typeof body.payload !== 'string') throw new HttpError(400, `payload: expected a string (sent as UTF-8), got ${JSON.stringify(body.payload)}`)
  if (body.coalesce !== undefined && typeof body.coalesce !== 'boolean') throw new HttpError(400, `coalesce: expected true or false, got ${JSON.stringify(body.coalesce)}`)
  return { name: body.name, payload: body.payload ?? '', coalesce: body.coalesce !== false }
}

export async function readQueryBody(req: IncomingMessage): Promise<QueryBody> {
  const body = (await readJson(req)) as { name?: unknown; payload?: unknown; timeoutMs?: unknown; nodes?: unknown; tags?: unknown; ack?: unknown }
  if (typeof body?.name !== 'string' || body.name.length === 0) throw new HttpError(400, `name: expected the query name, got ${JSON.stringify(body?.name)?.slice(0, 100)}`)
  if (body.payload !== undefined && typeof body.payload !== 'string') throw new HttpError(400, `payload: expected a string (sent as UTF-8), got ${JSON.stringify(body.payload)?.slice(0, 100)}`)
  const timeoutMs = body.timeoutMs
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 300_000)) {
    throw new HttpError(400, `timeoutMs: expected milliseconds in (0, 300000], got ${JSON.stringify(timeoutMs)?.slice(0, 100)}`)
  }
  const nodes = body.nodes
  if (nodes !== undefined && !(Array.isArray(nodes) && nodes.length <= 256 && nodes.every((n) => typeof n === 'string'))) {
    throw new HttpError(400, `nodes: expected an array of member names, got ${JSON.stringify(nodes)?.slice(0, 100)}`)
  }
  const tags = body.tags
  if (tags !== undefined && !(tags !== null && typeof tags === 'object' && !Array.isArray(tags) && Object.values(tags).every((v) => typeof v === 'string'))) {
    throw new HttpError(400, `tags: expected an object of tag → regular expression, like {"role": "^web$"}, got ${JSON.stringify(tags)?.slice(0, 100)}`)
  }
  if (body.ack !== undefined && typeof body.ack !== 'boolean') throw new HttpError(400, `ack: expected true or false, got ${JSON.stringify(body.ack)}`)
  return {
    name: body.name, payload: body.payload ?? '', timeoutMs: timeoutMs as number | undefined, nodes: nodes as string[] | undefined,
    tags: tags as Record<string, string> | undefined, ack: body.ack as boolean | undefined,
  }
}
