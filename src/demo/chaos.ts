/**
 * The demo supervisor's dashboard server (only `grapevine demo` runs it; agents never do), on 127.0.0.1:
 *
 *   GET  /ui/…                          the dashboard (the same files every agent serves)
 *   GET  /health                        { status: "ok", demo: true }: the page asks this first (an agent
 *                                       answers with its name), so it knows where it runs
 *   ANY  /node/NAME/…                   proxied to that agent's HTTP API (so the page reaches every node
 *                                       from one origin), e.g. /node/node-2/v1/events
 *   GET  /demo/api/events               every agent's event stream in one (browsers allow few connections per
 *                                       host): `event: TYPE` with { node, data }, plus `up` / `down` { node }
 *                                       when the demo's stream from an agent opens or ends
 *   GET  /demo/api/cluster              { nodes: [{ index, name, state, pid, gossip, http }], partition, loss }
 *   POST /demo/api/nodes/N/ACTION       ACTION: kill (SIGKILL), stop (graceful leave), pause (SIGSTOP),
 *                                       resume (SIGCONT), restart → { ok, message }
 *   POST /demo/api/faults               { "partition": ["node-3", "node-4"], "loss": 0.2 } → the faults now:
 *                                       the named nodes are cut off from the others; loss is the probability
 *                                       that each datagram is dropped (faults.ts does it in the agents)
 *
 * The page finds out it runs under the demo by asking for /demo/api/cluster (404 on an agent).
 */
import { createServer, request } from 'node:http'
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http'
import { HttpError, readJson, requireMethod, send } from '../agent/http/respond.js'
import { serveUi } from '../agent/http/ui.js'

export type ChaosAction = 'kill' | 'stop' | 'pause' | 'resume' | 'restart'
export const CHAOS_ACTIONS: readonly ChaosAction[] = ['kill', 'stop', 'pause', 'resume', 'restart']

export interface ChaosNode {
  readonly index: number
  readonly name: string
  readonly state: string
  readonly pid: number | null
  readonly gossip: string
  readonly http: string
  readonly httpPort: number
}

/** What the server needs from the demo supervisor. */
export interface ChaosTarget {
  nodeList(): ChaosNode[]
  act(index: number, action: ChaosAction): Promise<string>
  faults(): { partition: string[]; loss: number }
  setFaults(partition: readonly string[] | undefined, loss: number | undefined): void
}

const RECONNECT_MS = 500

export class ChaosServer {
  readonly server: Server
  private readonly clients = new Set<ServerResponse>()
  private readonly upstreams = new Map<string, ClientRequest>()
  private readonly pump: ReturnType<typeof setInterval>

  constructor(private readonly target: ChaosTarget) {
    this.pump = setInterval(() => this.connectUpstreams(), RECONNECT_MS)
    this.pump.unref()
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (res.headersSent) return void res.destroy()
        if (e instanceof HttpError) send(res, e.status, { error: e.message }, e.headers)
        else send(res, 500, { error: `internal error: ${(e as Error).message}` })
      })
    })
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        const a = this.server.address()
        resolve(typeof a === 'object' && a !== null ? a.port : port)
      })
    })
  }

  close(): Promise<void> {
    clearInterval(this.pump)
    for (const u of this.upstreams.values()) u.destroy()
    for (const c of this.clients) c.end()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demo')
    if (url.pathname === '/') {
      res.writeHead(302, { location: '/ui/' })
      return void res.end()
    }
    if (await serveUi(req, res, url)) return
    if (url.pathname === '/health') {
      requireMethod(req, 'GET')
      return send(res, 200, { status: 'ok', demo: true })
    }
    const proxied = /^\/node\/([^/]+)(\/.*)$/.exec(url.pathname)
    if (proxied !== null) return this.proxy(req, res, decodeURIComponent(proxied[1]), proxied[2] + url.search)
    if (url.pathname === '/demo/api/events') {
      requireMethod(req, 'GET')
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write(': connected\n\n')
      for (const name of this.upstreams.keys()) res.write(`event: up\ndata: ${JSON.stringify({ node: name })}\n\n`)
      this.clients.add(res)
      res.on('close', () => this.clients.delete(res))
      return
    }
    if (url.pathname === '/demo/api/cluster') {
      requireMethod(req, 'GET')
      return send(res, 200, { nodes: this.target.nodeList().map(({ httpPort: _, ...n }) => n), ...this.target.faults() })
    }
    const action = /^\/demo\/api\/nodes\/(\d+)\/([a-z]+)$/.exec(url.pathname)
    if (action !== null) {
      requireMethod(req, 'POST')
      await readJson(req)
      const index = Number(action[1])
      const verb = action[2] as ChaosAction
      if (!CHAOS_ACTIONS.includes(verb)) throw new HttpError(404, `no action ${JSON.stringify(verb)}; use ${CHAOS_ACTIONS.join(', ')}`)
      if (!this.target.nodeList().some((n) => n.index === index)) throw new HttpError(404, `no node ${index}; /demo/api/cluster lists them`)
      return send(res, 200, { ok: true, message: await this.target.act(index, verb) })
    }
    if (url.pathname === '/demo/api/faults') {
      requireMethod(req, 'POST')
      const body = (await readJson(req)) as { partition?: unknown; loss?: unknown }
      const names = new Set(this.target.nodeList().map((n) => n.name))
      const p = body?.partition
      if (p !== undefined && (!Array.isArray(p) || p.some((n) => typeof n !== 'string' || !names.has(n)))) {
        throw new HttpError(400, `partition: expected a list of node names to cut off from the others, like ["node-3"] ([] heals), got ${JSON.stringify(p)?.slice(0, 200)}`)
      }
      const loss = body?.loss
      if (loss !== undefined && (typeof loss !== 'number' || !(loss >= 0 && loss <= 1))) {
        throw new HttpError(400, `loss: expected a probability from 0 to 1, like 0.2, got ${JSON.stringify(loss)?.slice(0, 100)}`)
      }
      this.target.setFaults(p as string[] | undefined, loss as number | undefined)
      return send(res, 200, this.target.faults())
    }
    throw new HttpError(404, `no such path ${JSON.stringify(url.pathname)}; the dashboard is at /ui/`)
  }

  private fanOut(type: string, node: string, data?: string): void {
    const text = `event: ${type}\ndata: {"node":${JSON.stringify(node)}${data === undefined ? '' : `,"data":${data}`}}\n\n`
    for (const c of this.clients) c.write(text)
  }

  /** Opens the demo's own event stream from each running agent that has none. */
  private connectUpstreams(): void {
    for (const n of this.target.nodeList()) {
      if (n.state !== 'up' || this.upstreams.has(n.name) || n.httpPort === 0) continue
      const up = request({ host: '127.0.0.1', port: n.httpPort, path: '/v1/events?types=member,user,message,state,gossip,suspicion,health,phi' }, (answer) => {
        if (answer.statusCode !== 200) return void up.destroy()
        this.fanOut('up', n.name)
        let buffer = ''
        answer.setEncoding('utf8')
        answer.on('data', (chunk: string) => {
          buffer += chunk
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const type = /^event: (.+)$/m.exec(block)?.[1]
            const data = /^data: (.+)$/m.exec(block)?.[1]
            if (type !== undefined && data !== undefined) this.fanOut(type, n.name, data)
          }
        })
      })
      this.upstreams.set(n.name, up)
      const gone = (): void => {
        if (this.upstreams.get(n.name) !== up) return
        this.upstreams.delete(n.name)
        this.fanOut('down', n.name)
      }
      up.on('error', gone)
      up.on('close', gone)
      up.end()
    }
  }

  /** Pipes the request to the agent's HTTP API and its answer (an event stream too) back. */
  private proxy(req: IncomingMessage, res: ServerResponse, name: string, pathAndQuery: string): void {
    const node = this.target.nodeList().find((n) => n.name === name)
    if (node === undefined) throw new HttpError(404, `no node named ${JSON.stringify(name)}; /demo/api/cluster lists them`)
    const upstream = request({ host: '127.0.0.1', port: node.httpPort, method: req.method, path: pathAndQuery, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', (e) => {
      if (res.headersSent) return void res.destroy()
      send(res, 502, { error: `${name} did not answer on 127.0.0.1:${node.httpPort} (${node.state}): ${e.message}` })
    })
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  }
}
