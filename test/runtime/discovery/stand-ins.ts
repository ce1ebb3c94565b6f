// Stand-ins the discovery tests start on loopback: a DNS server (UDP, dns-packet) whose records the
// test changes while nodes run, and a Kubernetes API answering EndpointSlice lists with a bearer token.
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dnsPacket from 'dns-packet'

export interface Records {
  a?: string[]
  aaaa?: string[]
  srv?: Array<{ target: string; port: number }>
}

/** A DNS server on 127.0.0.1: names in `zone` answer their records; others NXDOMAIN. */
export class TestDns {
  readonly zone = new Map<string, Records>()
  /** Queries seen, as 'TYPE name'. */
  readonly queries: string[] = []
  private constructor(private readonly socket: Socket, readonly port: number) {
    socket.on('message', (msg, rinfo) => this.answer(msg, rinfo.address, rinfo.port))
  }

  static async start(): Promise<TestDns> {
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    return new TestDns(socket, socket.address().port)
  }

  get server(): string {
    return `127.0.0.1:${this.port}`
  }

  private answer(msg: Buffer, host: string, port: number): void {
    let q: dnsPacket.Packet
    try {
      q = dnsPacket.decode(msg)
    } catch {
      return
    }
    const question = q.questions?.[0]
    if (question === undefined) return
    this.queries.push(`${question.type} ${question.name}`)
    const records = this.zone.get(question.name.toLowerCase())
    const answers: dnsPacket.Answer[] = []
    if (records !== undefined) {
      if (question.type === 'A') for (const ip of records.a ?? []) answers.push({ type: 'A', name: question.name, ttl: 5, data: ip })
      if (question.type === 'AAAA') for (const ip of records.aaaa ?? []) answers.push({ type: 'AAAA', name: question.name, ttl: 5, data: ip })
      if (question.type === 'SRV') for (const s of records.srv ?? []) answers.push({ type: 'SRV', name: question.name, ttl: 5, data: { priority: 10, weight: 10, port: s.port, target: s.target } })
    }
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id,
      // Authoritative, recursion desired and available; RCODE 3 (NXDOMAIN) for an unknown name.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (records === undefined ? 3 : 0),
      questions: [question],
      answers,
    })
    this.socket.send(reply, port, host)
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }
}

export interface Endpoint {
  ip: string
  port: number
  ready?: boolean
  terminating?: boolean
}

/**
 * A self-signed certificate for 127.0.0.1 made with openssl (key.pem, cert.pem in `dir`); undefined
 * when openssl is not installed.
 */
export function selfSignedCert(dir: string): { key: string; cert: string; certFile: string } | undefined {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=kubernetes',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 10_000 })
  } catch {
    return undefined
  }
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), certFile: join(dir, 'cert.pem') }
}

/** A Kubernetes API on 127.0.0.1 (HTTP, or HTTPS with a self-signed certificate) serving EndpointSlices per namespace; checks the bearer token and the selector. */
export class TestKubernetesApi {
  /** namespace → selector → endpoints (one slice per endpoint, each with a port named gossip). */
  readonly slices = new Map<string, Map<string, Endpoint[]>>()
  readonly requests: string[] = []
  readonly tokenFile: string
  readonly namespaceFile: string
  status = 200
  private constructor(private readonly server: Server, readonly port: number, readonly token: string, readonly dir: string, readonly caFile: string | undefined) {
    this.tokenFile = join(dir, 'token')
    this.namespaceFile = join(dir, 'namespace')
    writeFileSync(this.tokenFile, `${token}\n`)
    writeFileSync(this.namespaceFile, 'gossip-ns')
  }

  /** With `tls`, HTTPS with a fresh self-signed certificate (caFile); undefined when openssl is missing. */
  static async start(opts: { tls?: boolean } = {}): Promise<TestKubernetesApi> {
    const dir = mkdtempSync(join(tmpdir(), 'grapevine-k8s-'))
    let api: TestKubernetesApi | undefined
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => api!.handle(req.url ?? '/', req.headers.authorization, res)
    const tls = opts.tls === true ? selfSignedCert(dir) : undefined
    if (opts.tls === true && tls === undefined) throw new Error('openssl is not installed: cannot make a certificate for the HTTPS stand-in')
    const server: Server = tls === undefined ? createServer(handler) : createTlsServer({ key: tls.key, cert: tls.cert }, handler)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const a = server.address()
    api = new TestKubernetesApi(server, typeof a === 'object' && a !== null ? a.port : 0, 'sa-token-123', dir, tls?.certFile)
    return api
  }

  get url(): string {
    return `${this.caFile === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`
  }

  set(namespace: string, selector: string, endpoints: Endpoint[]): void {
    const ns = this.slices.get(namespace) ?? new Map<string, Endpoint[]>()
    ns.set(selector, endpoints)
    this.slices.set(namespace, ns)
  }

  private handle(path: string, auth: string | undefined, res: import('node:http').ServerResponse): void {
    this.requests.push(path)
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (auth !== `Bearer ${this.token}`) return send(401, { kind: 'Status', status: 'Failure', message: 'Unauthorized', code: 401 })
    if (this.status !== 200) return send(this.status, { kind: 'Status', status: 'Failure', message: 'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:gossip-ns:default" cannot list resource "endpointslices"', code: this.status })
    const u = new URL(path, 'http://api')
    const m = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(u.pathname)
    if (m === null) return send(404, { kind: 'Status', message: 'the server could not find the requested resource', code: 404 })
    const endpoints = this.slices.get(m[1])?.get(u.searchParams.get('labelSelector') ?? '') ?? []
    send(200, {
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      items: endpoints.map((e, i) => ({
        kind: 'EndpointSlice',
        metadata: { name: `grapevine-${i}` },
        addressType: e.ip.includes(':') ? 'IPv6' : 'IPv4',
        ports: [{ name: 'gossip', port: e.port, protocol: 'UDP' }, { name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false } }],
      })),
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}
