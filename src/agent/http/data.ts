/**
 * The agent's routes for replicated state and broadcasts (the rest of the API is in api.ts):
 *
 *   GET    /v1/kv?node=N&prefix=P   { node: { key: value } } for every node, or only N; keys with prefix P
 *   GET    /v1/kv/KEY?node=N        { node, key, value }, 404 when absent (this agent's node by default)
 *   PUT    /v1/kv/KEY               { "value": "0.42" } → { key, version }: set in this node's map
 *   DELETE /v1/kv/KEY               → { key, deleted }: a tombstone, so it stays deleted everywhere
 *   POST   /v1/broadcast            { "name": "deploy", "payload": "v42" [, "via": "serf"] } → { id }: once to every node
 *
 * and, on the event stream (GET /v1/events), `event: message` for each broadcast received and
 * `event: state` for each change of any node's state. Bad keys, values and payloads get 400 with the
 * reason the node gave.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode, BroadcastMessage } from '../../runtime/node/start-node.js'
import type { StateEvent } from '../../state/cluster-state.js'
import { StateInputError } from '../../state/cluster-state.js'
import { BroadcastError } from '../../gossip/rumor-types.js'
import { UserEventError } from '../../serf/serf-layer.js'
import { ConfigError, NodeStoppedError } from '../../core/errors.js'
import { HttpError, readJson, requireMethod, send } from './respond.js'

/** Handles the request when it is one of these routes; false otherwise. */
export async function handleDataRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode): Promise<boolean> {
  const path = url.pathname
  if (path === '/v1/kv') {
    requireMethod(req, 'GET')
    const only = url.searchParams.get('node')
    const prefix = url.searchParams.get('prefix') ?? ''
    const names = only === null ? node.state.nodes() : [only]
    if (only !== null && !node.state.nodes().includes(only)) throw new HttpError(404, `no state known for node ${JSON.stringify(only)}; GET /v1/kv lists the nodes`)
    const out: Record<string, Record<string, string>> = {}
    for (const n of names) out[n] = Object.fromEntries(node.state.entries(n).filter(([k]) => k.startsWith(prefix)))
    send(res, 200, out)
    return true
  }
  if (path.startsWith('/v1/kv/')) {
    const key = decodeKey(path.slice('/v1/kv/'.length))
    if (key === '') throw new HttpError(400, 'key: expected /v1/kv/KEY with a non-empty key')
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        const owner = url.searchParams.get('node') ?? node.name
        const value = node.state.get(owner, key)
        if (value === undefined) throw new HttpError(404, `no key ${JSON.stringify(key)} in ${owner}'s state`)
        send(res, 200, { node: owner, key, value })
        return true
      }
      case 'PUT': {
        const body = (await readJson(req)) as { value?: unknown }
        if (typeof body?.value !== 'string') throw new HttpError(400, `value: expected {"value": "some text"}, got ${JSON.stringify(body?.value)?.slice(0, 100)}`)
        send(res, 200, { key, version: guard(() => node.state.set(key, body.value as string)) })
        return true
      }
      case 'DELETE':
        send(res, 200, { key, deleted: guard(() => node.state.delete(key)) })
        return true
      default:
        throw new HttpError(405, `${req.method} is not allowed on /v1/kv/KEY; use GET, PUT or DELETE`, { allow: 'GET, PUT, DELETE' })
    }
  }
  if (path === '/v1/broadcast') {
    requireMethod(req, 'POST')
    const body = (await readJson(req)) as { name?: unknown; payload?: unknown; via?: unknown }
    if (typeof body?.name !== 'string' || body.name.length === 0) throw new HttpError(400, `name: expected the broadcast's name, got ${JSON.stringify(body?.name)}`)
    if (body.payload !== undefined && typeof body.payload !== 'string') throw new HttpError(400, `payload: expected a string (sent as UTF-8), got ${JSON.stringify(body.payload)?.slice(0, 100)}`)
    if (body.via !== undefined && body.via !== 'grapevine' && body.via !== 'serf') {
      throw new HttpError(400, `via: expected "grapevine" (default) or "serf" (a Serf user event), got ${JSON.stringify(body.via)?.slice(0, 100)}`)
    }
    const via = body.via as 'grapevine' | 'serf' | undefined
    send(res, 200, { id: guard(() => node.broadcast(body.name as string, (body.payload as string | undefined) ?? '', { via })) })
    return true
  }
  return false
}

/** Writes broadcasts (`message`) and state changes (`state`), those of them in `types`, to an event stream; returns the unsubscribe. */
export function streamData(res: ServerResponse, node: GrapevineNode, types: ReadonlySet<string>): () => void {
  const onMessage = (m: BroadcastMessage): void => {
    res.write(`event: message\ndata: ${JSON.stringify({ id: m.id, name: m.name, payload: Buffer.from(m.payload).toString('utf8'), origin: m.origin, hops: m.hops, via: m.via, ...(m.lTime === undefined ? {} : { lTime: m.lTime, coalesce: m.coalesce }) })}\n\n`)
  }
  const onState = (e: StateEvent): void => {
    res.write(`event: state\ndata: ${JSON.stringify(e)}\n\n`)
  }
  if (types.has('message')) node.on('message', onMessage)
  if (types.has('state')) node.on('state', onState)
  return () => {
    node.off('message', onMessage)
    node.off('state', onState)
  }
}

/** The key of /v1/kv/KEY, percent-decoded; malformed escapes are the client's mistake (400). */
function decodeKey(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new HttpError(400, `key: ${JSON.stringify(raw.slice(0, 100))} is not valid percent-encoding; escape "%" as %25`)
  }
}

/** Runs a node operation; its input errors (bad key, too large) become 400 with the node's reason. */
function guard<T>(op: () => T): T {
  try {
    return op()
  } catch (e) {
    if (e instanceof StateInputError || e instanceof BroadcastError || e instanceof ConfigError || e instanceof NodeStoppedError || e instanceof UserEventError) throw new HttpError(400, e.message)
    throw e
  }
}
