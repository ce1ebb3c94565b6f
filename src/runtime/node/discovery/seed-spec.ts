/**
 * Seed texts, as `--join` and `startNode({ join })` take them, parsed into what to resolve:
 *
 *   '10.0.0.4:7946', '[::1]:7946'                         an address (port 7946 when omitted)
 *   'gossip.example.com:7946'                             a host name, the system resolver (getaddrinfo)
 *   'dns://NAME[:PORT]'                                   every A and AAAA record of NAME, at PORT (7946)
 *   'srv://_SERVICE._PROTO.NAME'                          every SRV record: its target's A/AAAA at its port
 *   'k8s://NAMESPACE?labelSelector=SEL[&port=P]'          the Kubernetes API's EndpointSlices matching SEL
 *   'k8s://NAMESPACE?service=NAME[&port=P]'               the EndpointSlices of Service NAME
 *                                                         (NAMESPACE empty: the pod's own namespace)
 *
 * Parsing is pure and happens once, when the options are checked: a bad scheme, name, port or label
 * selector is a ConfigError before anything is bound. Resolving is seed-resolver.ts's.
 */
import type { Address } from '../../../core/types.js'
import { parseHostPort } from '../address.js'

export type SeedSpec =
  | { readonly kind: 'address'; readonly text: string; readonly address: Address }
  | { readonly kind: 'host'; readonly text: string; readonly host: string; readonly port: number }
  | { readonly kind: 'dns'; readonly text: string; readonly name: string; readonly port: number }
  | { readonly kind: 'srv'; readonly text: string; readonly name: string }
  | { readonly kind: 'k8s'; readonly text: string; readonly namespace: string | undefined; readonly labelSelector: string; readonly port: string | number | undefined }

export const SEED_SCHEMES = ['dns', 'srv', 'k8s'] as const

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/

const EXAMPLES = `'10.0.0.4:7946', 'dns://grapevine.default.svc.cluster.local:7946', 'srv://_gossip._tcp.grapevine.default.svc.cluster.local' or 'k8s://default?labelSelector=app%3Dgrapevine'`

/** One seed text → its spec; throws an Error whose message names the text, the problem and the fix. */
export function parseSeed(text: string, defaultPort: number): SeedSpec {
  const t = text.trim()
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(t)?.[1]
  if (scheme === undefined) {
    const address = parseHostPort(t, defaultPort)
    if (address !== undefined) return { kind: 'address', text: t, address }
    const m = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(t)
    const port = m?.[2] === undefined ? defaultPort : Number(m[2])
    if (m !== null && (port < 1 || port > 65535)) throw new Error(`${JSON.stringify(text)}: port ${port} is out of range 1..65535`)
    if (m === null || !HOST_NAME.test(m[1])) throw new Error(`${JSON.stringify(text)}: expected HOST:PORT like 10.0.0.4:7946, or a URL like ${EXAMPLES}`)
    return { kind: 'host', text: t, host: m[1], port }
  }
  const rest = t.slice(scheme.length + 3)
  switch (scheme.toLowerCase()) {
    case 'dns': {
      const m = /^([^:/?#]+)(?::(\d{1,5}))?$/.exec(rest)
      const port = m?.[2] === undefined ? defaultPort : Number(m[2])
      if (m !== null && (port < 1 || port > 65535)) throw new Error(`${JSON.stringify(text)}: port ${port} is out of range 1..65535`)
      if (m === null || !HOST_NAME.test(m[1])) throw new Error(`${JSON.stringify(text)}: expected dns://NAME[:PORT] like dns://grapevine.default.svc.cluster.local:7946`)
      return { kind: 'dns', text: t, name: m[1], port }
    }
    case 'srv': {
      if (!HOST_NAME.test(rest) || !/^_[^.]+\._(tcp|udp)\./i.test(rest)) {
        throw new Error(`${JSON.stringify(text)}: expected srv://_SERVICE._PROTO.NAME like srv://_gossip._tcp.grapevine.default.svc.cluster.local (the port comes from the SRV records)`)
      }
      return { kind: 'srv', text: t, name: rest }
    }
    case 'k8s':
      return parseKubernetesSeed(t, rest, text)
    default:
      throw new Error(`${JSON.stringify(text)}: unknown scheme ${JSON.stringify(scheme + '://')}; use HOST:PORT, dns://, srv:// or k8s://, like ${EXAMPLES}`)
  }
}

function parseKubernetesSeed(t: string, rest: string, text: string): SeedSpec {
  const q = rest.indexOf('?')
  const ns = q < 0 ? rest : rest.slice(0, q)
  const usage = `expected k8s://NAMESPACE?labelSelector=SELECTOR (or ?service=NAME), optionally &port=NAME|NUMBER, like k8s://default?labelSelector=app%3Dgrapevine`
  if (ns !== '' && !NAMESPACE.test(ns)) throw new Error(`${JSON.stringify(text)}: namespace ${JSON.stringify(ns)} is not a Kubernetes namespace name (lowercase letters, digits and '-'); ${usage}`)
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1))
  for (const k of params.keys()) {
    if (!['labelSelector', 'service', 'port'].includes(k)) throw new Error(`${JSON.stringify(text)}: unknown parameter ${JSON.stringify(k)}; ${usage}`)
  }
  const selector = params.get('labelSelector')
  const service = params.get('service')
  if ((selector === null) === (service === null)) throw new Error(`${JSON.stringify(text)}: give exactly one of labelSelector= and service=; ${usage}`)
  if (service !== null && !NAMESPACE.test(service)) throw new Error(`${JSON.stringify(text)}: service ${JSON.stringify(service)} is not a Service name; ${usage}`)
  const labelSelector = selector ?? `kubernetes.io/service-name=${service}`
  const problem = labelSelectorProblem(labelSelector)
  if (problem !== undefined) throw new Error(`${JSON.stringify(text)}: label selector ${JSON.stringify(labelSelector)}: ${problem}; write it as Kubernetes does, like app=grapevine,tier!=test or env in (prod,staging), URL-encoded (= is %3D)`)
  const p = params.get('port')
  let port: string | number | undefined
  if (p !== null) {
    if (/^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535) port = Number(p)
    else if (PORT_NAME.test(p)) port = p
    else throw new Error(`${JSON.stringify(text)}: port ${JSON.stringify(p)}: expected a port name of the EndpointSlice (like gossip) or a number 1-65535`)
  }
  return { kind: 'k8s', text: t, namespace: ns === '' ? undefined : ns, labelSelector, port }
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/

/**
 * Checks a label selector against Kubernetes' grammar (key, !key, key=v, key==v, key!=v, key in (a,b),
 * key notin (a,b), comma-separated); undefined when it is well formed, else what is wrong.
 */
export function labelSelectorProblem(selector: string): string | undefined {
  if (selector.trim() === '') return 'empty'
  // Split on commas outside parentheses.
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i))
      start = i + 1
    }
    if (depth < 0 || depth > 1) return 'unbalanced parentheses'
  }
  if (depth !== 0) return 'unbalanced parentheses'
  parts.push(selector.slice(start))
  for (const raw of parts) {
    const r = raw.trim()
    let m: RegExpExecArray | null
    if ((m = /^!\s*(\S+)$/.exec(r)) !== null) {
      if (!LABEL_KEY.test(m[1])) return `${JSON.stringify(m[1])} is not a label key`
    } else if ((m = /^([^\s=!]+)\s*(==|=|!=)\s*(\S*)$/.exec(r)) !== null) {
      if (!LABEL_KEY.test(m[1])) return `${JSON.stringify(m[1])} is not a label key`
      if (!LABEL_VALUE.test(m[3])) return `${JSON.stringify(m[3])} is not a label value`
    } else if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(r)) !== null) {
      if (!LABEL_KEY.test(m[1])) return `${JSON.stringify(m[1])} is not a label key`
      const values = m[3].split(',').map((v) => v.trim())
      const bad = values.find((v) => !LABEL_VALUE.test(v))
      if (bad !== undefined) return `${JSON.stringify(bad)} is not a label value`
    } else if (LABEL_KEY.test(r)) {
      // key: the label exists
    } else {
      return `${JSON.stringify(r)} is not a requirement (key, !key, key=value, key!=value, key in (…), key notin (…))`
    }
  }
  return undefined
}

/** True when the spec names something to look up (so re-resolving it can find new members). */
export function needsResolving(spec: SeedSpec): boolean {
  return spec.kind !== 'address'
}
