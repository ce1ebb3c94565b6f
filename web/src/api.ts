/** Talking to an agent (or, under the demo, to every agent through the demo's proxy). */

export type State = 'alive' | 'suspect' | 'dead' | 'left'

export interface MemberRow {
  name: string
  address: string
  state: State
  incarnation: number
  tags: Record<string, string>
  phi: number | null
  /** Estimated round trip from the observing node (network coordinates); null when not known yet, absent when off. */
  rttMs?: number | null
  changedAt: number
}

/** The observing node's network coordinate in brief (null: coordinates off). */
export interface CoordinateBrief {
  error: number
  heightMs: number
  updates: number
}

/** The datacenter pools of the observing agent (null: it runs without a datacenter). */
export interface PoolsView {
  datacenter: string
  server: boolean
  /** The WAN pool's members (servers only; null on a client). */
  wan: Array<{ name: string; state: string; address: string }> | null
  datacenters: Array<{ datacenter: string; servers: Array<{ name: string; state: string; failed: boolean; address: string; rttMs: number | null }> }>
}

export interface Suspicion {
  type: 'suspected' | 'failed' | 'alive' | 'refuted'
  member: string
  from: string | null
  via: string | null
  incarnation: number
  at: number
}

export interface Gossip {
  at: number
  direction: 'in' | 'out'
  kind: 'packet' | 'stream'
  peer: string
  types: string
  bytes: number
}

export interface KvRow {
  node: string
  key: string
  value: string
  version: number | null
}

export interface NodeView {
  self: string
  now: number
  health: number
  members: MemberRow[]
  suspicions: Suspicion[]
  kv: KvRow[]
  gossip: Gossip[]
  counters: Record<string, number>
  coordinate?: CoordinateBrief | null
  pools?: PoolsView | null
}

export interface DemoNode {
  index: number
  name: string
  state: 'starting' | 'up' | 'paused' | 'stopping' | 'down'
  pid: number | null
  gossip: string
  http: string
}

export interface DemoCluster {
  nodes: DemoNode[]
  partition: string[]
  loss: number
}

export const STATE_LABEL: Record<State, string> = { alive: 'alive', suspect: 'suspect', dead: 'failed', left: 'left' }

let token = new URLSearchParams(location.search).get('token') ?? sessionStorage.getItem('grapevine-token') ?? ''

export function setToken(t: string): void {
  token = t
  sessionStorage.setItem('grapevine-token', t)
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

function headers(): Record<string, string> {
  return token === '' ? {} : { authorization: `Bearer ${token}` }
}

export async function getJson<T>(path: string, timeoutMs = 4000): Promise<T> {
  const res = await fetch(path, { headers: headers(), signal: AbortSignal.timeout(timeoutMs) })
  const body = (await res.json().catch(() => ({}))) as { error?: string }
  if (!res.ok) throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`)
  return body as T
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: { ...headers(), 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) })
  const answer = (await res.json().catch(() => ({}))) as { error?: string }
  if (!res.ok) throw new ApiError(res.status, answer.error ?? `HTTP ${res.status}`)
  return answer as T
}

/**
 * Reads a Server-Sent Events stream with fetch (so the bearer token can go along, which EventSource
 * cannot send), reconnecting after a second when it ends. Returns the stop function.
 */
export function subscribe(path: string, onEvent: (type: string, data: unknown) => void, onOpen: () => void): () => void {
  let stopped = false
  let controller: AbortController | undefined
  const run = async (): Promise<void> => {
    while (!stopped) {
      controller = new AbortController()
      try {
        const res = await fetch(path, { headers: headers(), signal: controller.signal })
        if (res.ok && res.body !== null) {
          onOpen()
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
          let buffer = ''
          for (;;) {
            const { value, done } = await reader.read()
            if (done) break
            buffer += value
            let end: number
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end)
              buffer = buffer.slice(end + 2)
              let type = 'message'
              let data = ''
              for (const line of block.split('\n')) {
                if (line.startsWith('event: ')) type = line.slice(7)
                else if (line.startsWith('data: ')) data += line.slice(6)
              }
              if (data !== '') {
                try {
                  onEvent(type, JSON.parse(data))
                } catch (e) {
                  console.warn('bad event', type, e)
                }
              }
            }
          }
        }
      } catch {
        // closed or refused: retry below
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 1000))
    }
  }
  void run()
  return () => {
    stopped = true
    controller?.abort()
  }
}
