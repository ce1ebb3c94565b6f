/**
 * CLI clients of a running agent, in the spirit of Serf's: `members`, `join`, `leave`, `monitor`,
 * `info`, `force-leave`. Each talks to the agent's HTTP API (`--http ADDR`, default 127.0.0.1:7980,
 * or GRAPEVINE_HTTP_ADDR; token from `--http-token` or GRAPEVINE_HTTP_TOKEN) and prints a table by
 * default, JSON with `--json`.
 *
 * Exit codes: 0 done, 1 the agent refused or is not running, 2 usage mistakes.
 */
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import { parseDurationMs } from '../runtime/sim/scenario-values.js'
import { DEFAULT_HTTP } from '../agent/config.js'
import { table } from '../output/table.js'
import { isPartialView, printPartialView } from './partial-view.js'

export interface ClientFlags {
  http?: string
  httpToken?: string
  json?: boolean
}

/** The agent answered with an error, or is not there; the message says what to do. */
export class ClientError extends Error {
  override readonly name = 'ClientError'
}

interface Target {
  readonly base: string
  readonly headers: Record<string, string>
}

export function target(flags: ClientFlags, env: NodeJS.ProcessEnv): Target {
  const addr = flags.http ?? env.GRAPEVINE_HTTP_ADDR ?? DEFAULT_HTTP
  const from = flags.http !== undefined ? '--http' : 'GRAPEVINE_HTTP_ADDR'
  const isUrl = /^https?:\/\//.test(addr)
  const base = isUrl ? addr.replace(/\/+$/, '') : `http://${addr}`
  // HOST:PORT (a name is fine here: we connect, not bind); a URL may leave the port to its scheme.
  const m = /^(\[[^\]]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(addr)
  if (!isUrl && m === null) {
    const why = /:\d+$/.test(addr) ? 'not a host name or IP' : 'no port'
    throw new UsageError(`${from} ${JSON.stringify(addr)}: ${why}; expected HOST:PORT of a running agent, like 127.0.0.1:7980`)
  }
  if (m !== null && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535)) throw new UsageError(`${from} ${JSON.stringify(addr)}: port ${m[2]} is out of range 1..65535`)
  try {
    new URL(base)
  } catch {
    throw new UsageError(`${from} ${JSON.stringify(addr)}: expected HOST:PORT of a running agent, like 127.0.0.1:7980, or an http:// URL`)
  }
  const token = flags.httpToken ?? env.GRAPEVINE_HTTP_TOKEN
  return { base, headers: token ? { authorization: `Bearer ${token}` } : {} }
}

export async function call(t: Target, method: string, path: string, body?: unknown): Promise<Response> {
  let res: Response
  try {
    res = await fetch(`${t.base}${path}`, {
      method,
      headers: { ...t.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (e) {
    const code = ((e as { cause?: { code?: string } }).cause?.code) ?? ''
    // fetch refuses the WHATWG "bad ports" (6000, 6665-6669, 5060, …) before connecting: say so, not "fetch failed".
    if ((e as { cause?: { message?: string } }).cause?.message === 'bad port') {
      throw new ClientError(`cannot reach the agent at ${t.base}: Node's fetch refuses port ${new URL(t.base).port || '80'} (a port browsers block); give the agent's HTTP API another port with \`grapevine agent --http HOST:PORT\``)
    }
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
      throw new ClientError(`no agent at ${t.base} — start one with \`grapevine agent --bind 127.0.0.1:7946\``)
    }
    throw new ClientError(`cannot reach the agent at ${t.base}: ${code || (e as Error).message}`)
  }
  if (!res.ok) {
    let reason = res.statusText
    try {
      reason = ((await res.json()) as { error?: string }).error ?? reason
    } catch {
      // not JSON; keep the status text
    }
    const hint = res.status === 401 ? ' (give the agent\'s token with --http-token or GRAPEVINE_HTTP_TOKEN)' : ''
    throw new ClientError(`agent at ${t.base} answered ${res.status}: ${reason}${hint}`)
  }
  return res
}

interface MemberJson {
  name: string
  address: string
  state: string
  incarnation: number
  tags: Record<string, string>
}

const tagText = (tags: Record<string, string>): string => Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(',')

/** `?dc=DC` for a command addressed to another datacenter. */
function dcQuery(dc: string | undefined): string {
  if (dc === undefined) return ''
  if (!/^[a-z0-9_-]{1,64}$/.test(dc)) throw new UsageError(`--datacenter ${JSON.stringify(dc)}: expected a datacenter name like dc2 (a-z, 0-9, '-', '_')`)
  return `?dc=${dc}`
}

export async function membersCommand(flags: ClientFlags & { status?: string; name?: string; tag?: string[]; wan?: boolean }, io: CommandIo, env = process.env): Promise<number> {
  const q = new URLSearchParams()
  if (flags.wan === true) q.set('wan', '1')
  if (flags.status !== undefined) q.set('status', flags.status)
  if (flags.name !== undefined) q.set('name', flags.name)
  for (const t of flags.tag ?? []) q.append('tag', t)
  const qs = q.toString()
  const res = await call(target(flags, env), 'GET', `/v1/members${qs ? `?${qs}` : ''}`)
  const members = (await res.json()) as MemberJson[]
  if (isPartialView(members)) return printPartialView(members, io, flags.json === true), 0
  if (flags.json === true) io.out(JSON.stringify(members, null, 2) + '\n')
  else io.out(table(['NAME', 'ADDRESS', 'STATUS', 'TAGS'], members.map((m) => [m.name, m.address, m.state, tagText(m.tags)])))
  return 0
}

/** `grapevine tags --set k=v --delete k` (as `serf tags`); without flags, prints this agent's tags. */
export async function tagsCommand(flags: ClientFlags & { set?: string[]; delete?: string[] }, io: CommandIo, env = process.env): Promise<number> {
  const t = target(flags, env)
  let body: { tags: Record<string, string> }
  if ((flags.set ?? []).length === 0 && (flags.delete ?? []).length === 0) {
    body = (await (await call(t, 'GET', '/v1/tags')).json()) as typeof body
  } else {
    const set: Record<string, string> = {}
    for (const pair of flags.set ?? []) {
      const eq = pair.indexOf('=')
      if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(pair)}: expected KEY=VALUE, like role=web`)
      set[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
    body = (await (await call(t, 'POST', '/v1/tags', { set, delete: flags.delete ?? [] })).json()) as typeof body
    if (flags.json !== true) io.out('Successfully updated agent tags\n')
  }
  if (flags.json === true) io.out(JSON.stringify(body) + '\n')
  else for (const [k, v] of Object.entries(body.tags)) io.out(`${k}=${v}\n`)
  return 0
}

export async function joinCommand(addresses: readonly string[], flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'POST', '/v1/join', { addresses })
  const body = (await res.json()) as { contacted: number }
  io.out(flags.json === true ? JSON.stringify(body) + '\n' : `Successfully joined cluster by contacting ${body.contacted} node${body.contacted === 1 ? '' : 's'}.\n`)
  return 0
}

export async function leaveCommand(flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  await call(target(flags, env), 'POST', '/v1/leave', {})
  io.out(flags.json === true ? '{"left":true}\n' : 'Graceful leave complete; the agent is shutting down.\n')
  return 0
}

export async function forceLeaveCommand(name: string, flags: ClientFlags & { prune?: boolean }, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'POST', '/v1/force-leave', { name, prune: flags.prune === true })
  const body = (await res.json()) as { previous: string | null; state: string }
  io.out(`${name}: ${body.previous ?? 'unknown'} → ${body.state}${flags.prune === true ? ' (pruned)' : ''}; the cluster was told.\n`)
  return 0
}

export async function eventCommand(name: string, payload: string | undefined, flags: ClientFlags & { coalesce?: boolean; datacenter?: string }, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'POST', `/v1/event${dcQuery(flags.datacenter)}`, { name, payload: payload ?? '', coalesce: flags.coalesce !== false })
  const body = (await res.json()) as { name: string; lTime: number; datacenter?: string; servedBy?: string }
  const where = body.datacenter === undefined ? '' : ` in ${body.datacenter} by ${body.servedBy ?? '?'}`
  io.out(flags.json === true ? JSON.stringify(body) + '\n' : `Event '${body.name}' dispatched${where} (Lamport time ${body.lTime}).\n`)
  return 0
}

export async function queryCommand(
  name: string,
  payload: string | undefined,
  flags: ClientFlags & { timeout?: string; node?: string[]; tag?: string[]; ack?: boolean; datacenter?: string },
  io: CommandIo,
  env = process.env,
): Promise<number> {
  const tags: Record<string, string> = {}
  for (const t of flags.tag ?? []) {
    const eq = t.indexOf('=')
    if (eq <= 0) throw new UsageError(`--tag ${JSON.stringify(t)}: expected KEY=REGEXP, like role=^web$`)
    tags[t.slice(0, eq)] = t.slice(eq + 1)
  }
  const timeoutMs = flags.timeout === undefined ? undefined : parseDurationMs(flags.timeout, '--timeout')
  const relayed = flags.datacenter !== undefined
  if (relayed && ((flags.node ?? []).length > 0 || (flags.tag ?? []).length > 0 || flags.ack === false)) {
    throw new UsageError('--datacenter: --node, --tag and --no-ack are not relayed to another datacenter; the query goes to every member there')
  }
  const res = await call(target(flags, env), 'POST', `/v1/query${dcQuery(flags.datacenter)}`, relayed ? { name, payload: payload ?? '', timeoutMs } : { name, payload: payload ?? '', timeoutMs, nodes: flags.node, tags, ack: flags.ack !== false })
  const body = (await res.json()) as { name: string; lTime: number; acks: string[]; ackCount?: number; omitted?: number; servedBy?: string; datacenter?: string; responses: Array<{ from: string; payload: string }> }
  if (flags.json === true) {
    io.out(JSON.stringify(body) + '\n')
    return 0
  }
  const where = body.datacenter === undefined ? '' : ` in ${body.datacenter} by ${body.servedBy ?? '?'}`
  io.out(`Query '${body.name}' dispatched${where} (Lamport time ${body.lTime})\n`)
  for (const a of body.acks) io.out(`Ack from '${a}'\n`)
  // As `serf query`: one trailing newline of a response is dropped (a handler script's output usually ends with one).
  for (const r of body.responses) io.out(`Response from '${r.from}': ${r.payload.endsWith('\n') ? r.payload.slice(0, -1) : r.payload}\n`)
  io.out(`Total acks: ${body.ackCount ?? body.acks.length}\nTotal responses: ${body.responses.length + (body.omitted ?? 0)}\n`)
  if ((body.omitted ?? 0) > 0) io.out(`(${body.omitted} responses did not fit into the relay's answer)\n`)
  return 0
}

export async function infoCommand(flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'GET', '/v1/self')
  const body = (await res.json()) as Record<string, unknown>
  if (flags.json === true) {
    io.out(JSON.stringify(body, null, 2) + '\n')
    return 0
  }
  for (const [section, value] of Object.entries(body)) {
    io.out(`${section}:\n`)
    const entries = value !== null && typeof value === 'object' ? Object.entries(value) : [['value', value]]
    for (const [k, v] of entries) io.out(`\t${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}\n`)
  }
  return 0
}

/** What `monitor` asks for without --types: membership changes, Serf user events and broadcasts. */
export const MONITOR_TYPES = 'member,user,message'

/**
 * Streams the agent's events until the connection closes or the signal aborts. A Serf user event reaches
 * the node both as `user` and as a `message` via serf (so `on('message')` handlers get it); when both
 * kinds are asked for, the event is printed once, as `user`.
 */
export async function monitorCommand(flags: ClientFlags & { types?: string }, io: CommandIo, env = process.env, signal?: AbortSignal): Promise<number> {
  const types = flags.types ?? MONITOR_TYPES
  const userAskedFor = types.split(',').map((t) => t.trim()).includes('user')
  return readEvents(flags, env, signal, types, (kind, data) => {
    if (kind === 'message' && userAskedFor && (data as { via?: string }).via === 'serf') return
    if (flags.json === true) return io.out(JSON.stringify({ event: kind, ...(data as object) }) + '\n')
    const now = new Date().toISOString()
    if (kind === 'user') {
      const u = data as { name: string; payload: string }
      return io.out(`${now} user event ${u.name}: ${u.payload}\n`)
    }
    if (kind === 'message') {
      const m = data as { name: string; payload: string; origin: string | null; hops: number; via?: string }
      const from = m.origin === null ? (m.via === 'serf' ? 'a Serf user event (no sender on the wire)' : 'unknown') : m.origin
      return io.out(`${now} broadcast ${m.name} from ${from} (${m.hops} hops): ${m.payload}\n`)
    }
    if (kind === 'member') {
      const e = data as { type: string; member: MemberJson }
      return io.out(`${now} member ${e.type}: ${e.member.name} ${e.member.address} ${e.member.state} ${tagText(e.member.tags)}\n`)
    }
    // Kinds asked for with --types that have no line of their own (state, gossip, suspicion, …).
    io.out(`${now} ${kind} ${JSON.stringify(data)}\n`)
  })
}

/** Reads the agent's event stream (the kinds in `types`, comma-separated) until it ends or `signal` aborts, handing each event to `onEvent`. */
export async function readEvents(flags: ClientFlags, env: NodeJS.ProcessEnv, signal: AbortSignal | undefined, types: string, onEvent: (kind: string, data: unknown) => void): Promise<number> {
  const t = target(flags, env)
  const res = await call(t, 'GET', `/v1/events?types=${encodeURIComponent(types)}`)
  if (res.body === null) throw new ClientError(`agent at ${t.base} sent no event stream`)
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = res.body.getReader()
  signal?.addEventListener('abort', () => void reader.cancel())
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const kind = /^event: (\w+)/m.exec(block)?.[1] ?? 'message'
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')
        if (data !== '') onEvent(kind, JSON.parse(data))
      }
    }
  } catch (e) {
    if (signal?.aborted !== true) throw new ClientError(`event stream from ${t.base} broke: ${(e as Error).message}`)
  }
  return 0
}
