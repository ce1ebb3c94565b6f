/**
 * The pieces every HTTP handler of the agent (and the demo's chaos server) shares: JSON answers, a
 * bounded JSON body reader, method checks, and HttpError, which a handler throws to answer with a status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Member } from '../../runtime/node/start-node.js'
import { userState } from '../member-words.js'

export { parseUserState, userState } from '../member-words.js'

export const BODY_LIMIT_BYTES = 64 * 1024

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
  }
}

/** A member as JSON: address as HOST:PORT text, no raw bytes, the state in Serf's words. */
export function memberJson(m: Member): Record<string, unknown> {
  const ip = m.address.ip.includes(':') ? `[${m.address.ip}]` : m.address.ip
  return { name: m.name, address: `${ip}:${m.address.port}`, state: userState(m.state), incarnation: m.incarnation, tags: m.tags }
}

/** φ for JSON: 3 decimals, null when no heartbeat was heard (JSON has no Infinity, but φ is always finite). */
export function phiJson(phi: number | undefined): number | null {
  return phi === undefined ? null : Math.round(phi * 1000) / 1000
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n'
  // A body we did not read (an error answered before it) is drained, so the client's kept-alive
  // connection stays usable instead of being reset under its next request.
  if (!res.req.readableEnded) res.req.resume()
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > BODY_LIMIT_BYTES) {
      reject(new HttpError(413, `body of ${declared} bytes is over the 64 KiB limit (${BODY_LIMIT_BYTES} bytes)`))
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    req.on('data', (c: Buffer) => {
      if (failed) return
      size += c.length
      if (size > BODY_LIMIT_BYTES) {
        failed = true
        reject(new HttpError(413, `body is over the 64 KiB limit (${BODY_LIMIT_BYTES} bytes)`))
        return
      }
      chunks.push(c)
    })
    req.on('error', (e) => reject(new HttpError(400, `reading the body failed: ${e.message}`)))
    req.on('end', () => {
      if (failed) return
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.trim() === '') return resolve({})
      try {
        resolve(JSON.parse(text))
      } catch (e) {
        reject(new HttpError(400, `body is not valid JSON (${(e as Error).message})`))
      }
    })
  })
}

export function requireMethod(req: IncomingMessage, allowed: string): void {
  if (req.method !== allowed && !(allowed === 'GET' && req.method === 'HEAD')) {
    throw new HttpError(405, `${req.method} is not allowed on this path; use ${allowed}`, { allow: allowed })
  }
}
