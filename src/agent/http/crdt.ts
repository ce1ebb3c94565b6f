/**
 * The agent's routes for the replicated data types (node.crdt; the rest of the API is in api.ts):
 *
 *   GET  /v1/crdt                       { "counter/hits": 12, "set/features": ["a"], … }: every key held here
 *   GET  /v1/crdt/KIND/NAME             { key, kind, name, value }; 404 when nobody wrote it yet.
 *                                       ?consistency=majority|all&timeoutMs=N merges what members answer first
 *   POST /v1/crdt/KIND/NAME             { "op": …, … , "consistency"?, "timeoutMs"? } → { key, kind, name, value }
 *        counter   op increment | decrement, by (default 1)
 *        set       op add | remove, value
 *        register  op set, value
 *        flag      op enable | disable
 *        map       op increment (field, by) | enable | disable (field) | add | remove (field, value) |
 *                  set (field, value) | delete (field, fieldKind: counter | flag | set | lww)
 *
 * KIND is counter, set, register, flag or map. A bad kind, op, amount or value, or a write past the
 * size limit, is 400 with the reason; a consistency level not reached in time is 504 (the write is
 * applied here and still spreads).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { CrdtConsistencyError, type CrdtOptions } from '../../runtime/node/crdt.js'
import { ConfigError, NodeStoppedError } from '../../core/errors.js'
import { CrdtLeavingError, CrdtLimitError } from '../../replication/types.js'
import { HttpError, readJson, send } from './respond.js'

const KINDS = ['counter', 'set', 'register', 'flag', 'map'] as const
type Kind = (typeof KINDS)[number]

interface Body {
  op?: unknown
  by?: unknown
  value?: unknown
  field?: unknown
  fieldKind?: unknown
  consistency?: unknown
  timeoutMs?: unknown
}

/** Handles the request when it is one of these routes; false otherwise. */
export async function handleCrdtRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode): Promise<boolean> {
  const path = url.pathname
  if (path === '/v1/crdt') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on /v1/crdt; use GET`, { allow: 'GET' })
    send(res, 200, Object.fromEntries(node.crdt.keys().map((k) => [k, node.crdt.read(k)])))
    return true
  }
  if (!path.startsWith('/v1/crdt/')) return false
  const rest = path.slice('/v1/crdt/'.length)
  const slash = rest.indexOf('/')
  const kind = (slash < 0 ? rest : rest.slice(0, slash)) as Kind
  if (!KINDS.includes(kind)) throw new HttpError(400, `kind: expected /v1/crdt/KIND/NAME with KIND one of ${KINDS.join(', ')}, got ${JSON.stringify(kind.slice(0, 50))}`)
  let name: string
  try {
    name = decodeURIComponent(slash < 0 ? '' : rest.slice(slash + 1))
  } catch {
    throw new HttpError(400, `name: not valid percent-encoding; escape "%" as %25`)
  }
  if (name === '') throw new HttpError(400, `name: expected /v1/crdt/${kind}/NAME with a non-empty name`)
  const key = `${kind}/${name}`
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const consistency = url.searchParams.get('consistency')
      const timeout = url.searchParams.get('timeoutMs')
      if (consistency !== null && consistency !== 'local') await guard(() => readWith(node, kind, name, { consistency: consistency as CrdtOptions['consistency'], timeoutMs: timeout === null ? undefined : Number(timeout) }))
      const value = node.crdt.read(key)
      if (value === undefined) throw new HttpError(404, `no ${kind} named ${JSON.stringify(name)} here yet (nobody wrote it, or it has not arrived); GET /v1/crdt lists the keys`)
      send(res, 200, { key, kind, name, value })
      return true
    }
    case 'POST': {
      const body = ((await readJson(req)) ?? {}) as Body
      if (typeof body !== 'object') throw new HttpError(400, 'body: expected a JSON object like {"op": "increment", "by": 2}')
      const o: CrdtOptions = { consistency: body.consistency as CrdtOptions['consistency'], timeoutMs: body.timeoutMs as number | undefined }
      await guard(() => apply(node, kind, name, body, o))
      send(res, 200, { key, kind, name, value: node.crdt.read(key) ?? null })
      return true
    }
    default:
      throw new HttpError(405, `${req.method} is not allowed on /v1/crdt/KIND/NAME; use GET or POST`, { allow: 'GET, POST' })
  }
}

async function readWith(node: GrapevineNode, kind: Kind, name: string, o: CrdtOptions): Promise<void> {
  const c = node.crdt
  if (kind === 'counter') await c.counter(name).value(o)
  else if (kind === 'set') await c.set(name).values(o)
  else if (kind === 'register') await c.register(name).value(o)
  else if (kind === 'flag') await c.flag(name).value(o)
  else await c.map(name).value(o)
}

function text(v: unknown, field: string, example: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new HttpError(400, `${field}: expected a non-empty string like ${example}, got ${JSON.stringify(v)?.slice(0, 100)}`)
  return v
}

function amount(v: unknown): number {
  if (v === undefined) return 1
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new HttpError(400, `by: expected a non-negative integer (default 1), got ${JSON.stringify(v)?.slice(0, 100)}`)
  return v
}

function apply(node: GrapevineNode, kind: Kind, name: string, b: Body, o: CrdtOptions): Promise<void> {
  const c = node.crdt
  const bad = (ops: string): never => {
    throw new HttpError(400, `op: a ${kind} takes op ${ops}, got ${JSON.stringify(b.op)?.slice(0, 50)}`)
  }
  switch (kind) {
    case 'counter':
      if (b.op === 'increment') return c.counter(name).increment(amount(b.by), o)
      if (b.op === 'decrement') return c.counter(name).decrement(amount(b.by), o)
      return bad('increment or decrement (with by)')
    case 'set':
      if (b.op === 'add') return c.set(name).add(text(b.value, 'value', '"search"'), o)
      if (b.op === 'remove') return c.set(name).remove(text(b.value, 'value', '"search"'), o)
      return bad('add or remove (with value)')
    case 'register':
      if (b.op === 'set') return c.register(name).set(text(b.value, 'value', '"api-2"'), o)
      return bad('set (with value)')
    case 'flag':
      if (b.op === 'enable') return c.flag(name).enable(o)
      if (b.op === 'disable') return c.flag(name).disable(o)
      return bad('enable or disable')
    case 'map': {
      const m = c.map(name)
      const field = (): string => text(b.field, 'field', '"retries"')
      if (b.op === 'increment') return m.increment(field(), amount(b.by), o)
      if (b.op === 'enable') return m.enable(field(), o)
      if (b.op === 'disable') return m.disable(field(), o)
      if (b.op === 'add') return m.add(field(), text(b.value, 'value', '"x"'), o)
      if (b.op === 'remove') return m.removeElement(field(), text(b.value, 'value', '"x"'), o)
      if (b.op === 'set') return m.set(field(), text(b.value, 'value', '"eu"'), o)
      if (b.op === 'delete') {
        const fk = b.fieldKind
        if (fk !== 'counter' && fk !== 'flag' && fk !== 'set' && fk !== 'lww') throw new HttpError(400, `fieldKind: expected counter, flag, set or lww, got ${JSON.stringify(fk)?.slice(0, 50)}`)
        return m.delete(fk, field(), o)
      }
      return bad('increment, enable, disable, add, remove, set or delete (with field)')
    }
  }
}

/** Runs a node operation; bad input becomes 400 with the node's reason, a missed consistency level 504. */
async function guard(op: () => Promise<unknown>): Promise<void> {
  try {
    await op()
  } catch (e) {
    if (e instanceof CrdtConsistencyError) throw new HttpError(504, e.message)
    // The agent is leaving: its state went to an heir; write through another member.
    if (e instanceof CrdtLeavingError) throw new HttpError(503, e.message)
    if (e instanceof ConfigError || e instanceof CrdtLimitError || e instanceof RangeError || e instanceof NodeStoppedError) throw new HttpError(400, e.message)
    throw e
  }
}
