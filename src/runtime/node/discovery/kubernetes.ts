/**
 * k8s:// seeds: the Kubernetes API's EndpointSlices (discovery.k8s.io/v1) matching a label selector,
 * read with the pod's service account, as an in-cluster client does:
 *
 *   token  /var/run/secrets/kubernetes.io/serviceaccount/token    (re-read on every call: bound tokens rotate)
 *   CA     /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
 *   API    https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
 *
 *   resolve ──GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices?labelSelector=SEL──▶ API
 *           ◀── { items: [{ ports: [{ name, port }], endpoints: [{ addresses, conditions }] }] }
 *           → every address of every endpoint not terminating, at the slice's gossip port
 *
 * Endpoints that are not ready are kept: a gossip seed need not be ready (that is what the headless
 * Service's publishNotReadyAddresses says too), and a new cluster's pods become ready only by joining
 * each other. Terminating ones are left out: they are leaving.
 *
 * Written on node:https rather than @kubernetes/client-node: one GET with a bearer token needs no
 * client library, and a library user must not install one for a seed URL it may never use.
 */
import { readFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Address } from '../../../core/types.js'
import { normalizeIp } from '../address.js'

export interface KubernetesOptions {
  /** The API server's URL. Default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
  readonly apiUrl?: string
  /** Service account token file. Default /var/run/secrets/kubernetes.io/serviceaccount/token. */
  readonly tokenFile?: string
  /** CA bundle for the API's certificate. Default /var/run/secrets/kubernetes.io/serviceaccount/ca.crt. */
  readonly caFile?: string
  /** The pod's namespace file, for k8s:// with no namespace. Default /var/run/secrets/kubernetes.io/serviceaccount/namespace. */
  readonly namespaceFile?: string
  /** Give up on the API after this long. Default 5000. */
  readonly timeoutMs?: number
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'
const RESPONSE_BYTES_MAX = 16 * 1024 * 1024
const DEFAULT_PORT_NAME = 'gossip'

interface Slice {
  ports?: Array<{ name?: string; port?: number; protocol?: string }> | null
  endpoints?: Array<{ addresses?: string[]; conditions?: { terminating?: boolean } }> | null
}

/** The addresses of the EndpointSlices in `namespace` matching `labelSelector`; throws an Error naming the cause and fix. */
export async function resolveKubernetes(
  namespace: string | undefined,
  labelSelector: string,
  port: string | number | undefined,
  opts: KubernetesOptions = {},
): Promise<Address[]> {
  const apiUrl = opts.apiUrl ?? defaultApiUrl()
  const ns = namespace ?? (await readSecretFile(opts.namespaceFile ?? `${SA_DIR}/namespace`, 'namespace')).trim()
  const token = (await readSecretFile(opts.tokenFile ?? `${SA_DIR}/token`, 'service account token')).trim()
  const url = new URL(`/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices`, apiUrl)
  url.searchParams.set('labelSelector', labelSelector)
  const ca = url.protocol === 'https:' ? await readSecretFile(opts.caFile ?? `${SA_DIR}/ca.crt`, 'CA certificate') : undefined
  const body = await getJson(url, token, ca, opts.timeoutMs ?? 5000)
  const items = (body as { items?: unknown }).items
  if (!Array.isArray(items)) throw new Error(`the Kubernetes API at ${url.origin} answered without an items list (not an EndpointSliceList)`)
  const out: Address[] = []
  for (const slice of items as Slice[]) {
    const p = slicePort(slice, port)
    if (p === undefined) continue
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.terminating === true) continue
      for (const a of ep.addresses ?? []) {
        const ip = normalizeIp(a)
        if (ip !== undefined) out.push({ ip, port: p })
      }
    }
  }
  return out
}

/** The slice's gossip port: `port` by number or by name; without it, the one named gossip, else its only port. */
function slicePort(slice: Slice, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port
  const ports = (slice.ports ?? []).filter((p) => typeof p.port === 'number')
  const named = ports.find((p) => p.name === (port ?? DEFAULT_PORT_NAME))
  if (named !== undefined) return named.port
  if (port === undefined && ports.length > 0 && new Set(ports.map((p) => p.port)).size === 1) return ports[0].port
  return undefined
}

function defaultApiUrl(): string {
  const host = process.env.KUBERNETES_SERVICE_HOST
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443'
  if (host === undefined || host === '') {
    throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a Kubernetes pod? (outside a pod, give discovery.kubernetes.apiUrl)')
  }
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new Error(`cannot read the ${what} at ${path} (${code ?? (e as Error).message}); in a pod, keep automountServiceAccountToken on; elsewhere give its path in discovery.kubernetes`)
  }
}

function getJson(url: URL, token: string, ca: string | undefined, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }
    const req = url.protocol === 'https:' ? httpsRequest(url, { headers, ca, timeout: timeoutMs }) : httpRequest(url, { headers, timeout: timeoutMs })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message
      if (/CERT|SIGNATURE|ERR_TLS|SSL/.test(code)) reject(new Error(`the Kubernetes API at ${url.origin} has a certificate this node does not trust (${code}); check the CA file (discovery.kubernetes.caFile)`))
      else reject(new Error(`the Kubernetes API at ${url.origin} is unreachable: ${code}`))
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > RESPONSE_BYTES_MAX) req.destroy(new Error(`answer over ${RESPONSE_BYTES_MAX} bytes`))
        else chunks.push(c)
      })
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = undefined
        }
        const status = res.statusCode ?? 0
        if (status === 200 && body !== undefined) return resolve(body)
        const message = (body as { message?: unknown } | undefined)?.message
        const why = typeof message === 'string' ? message : text.slice(0, 200)
        const fix =
          status === 401 ? '; the service account token was refused'
          : status === 403 ? '; give the service account get and list on endpointslices (discovery.k8s.io) in that namespace (a Role and RoleBinding)'
          : status === 404 ? '; no EndpointSlice API (discovery.k8s.io/v1 needs Kubernetes 1.21 or later) or no such namespace'
          : ''
        reject(new Error(`the Kubernetes API at ${url.origin} answered ${status}: ${why}${fix}`))
      })
    })
    req.end()
  })
}
