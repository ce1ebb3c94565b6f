/**
 * POST /v1/reachability { "timeoutMs": 3000 }  (body optional) → the report of node.reachability():
 *   { members, live, acks: [{ name, atMs }], missing, unexpected, duplicates, queryMs, lastAckMs, ok }
 * answered at the query's deadline (`grapevine reachability` prints it as `serf reachability` does).
 * 400 for a bad timeout or a node without the Serf layer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ConfigError, NodeStoppedError } from '../../core/errors.js'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { HttpError, readJson, requireMethod, send } from './respond.js'

export async function handleReachabilityRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode): Promise<boolean> {
  if (url.pathname !== '/v1/reachability') return false
  requireMethod(req, 'POST')
  const body = (await readJson(req)) as { timeoutMs?: unknown } | null
  const timeoutMs = body?.timeoutMs
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 300_000)) {
    throw new HttpError(400, `timeoutMs: expected milliseconds in (0, 300000], got ${JSON.stringify(timeoutMs)?.slice(0, 100)}`)
  }
  try {
    send(res, 200, await node.reachability({ timeoutMs: timeoutMs as number | undefined }))
  } catch (e) {
    if (e instanceof ConfigError || e instanceof NodeStoppedError) throw new HttpError(400, e.message)
    throw e
  }
  return true
}
