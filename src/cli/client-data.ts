/**
 * CLI clients for replicated state and broadcasts: `grapevine kv set|get|del|list`, `grapevine
 * broadcast NAME [PAYLOAD]`, `grapevine watch [PREFIX]`. Each talks to a running agent's HTTP API.
 */
import type { ClientFlags } from './client.js'
import { call, readEvents, target } from './client.js'
import { table } from '../output/table.js'
import type { CommandIo } from '../output/io.js'

export async function kvSetCommand(key: string, value: string, flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'PUT', `/v1/kv/${encodeURIComponent(key)}`, { value })
  const body = (await res.json()) as { key: string; version: number }
  io.out(flags.json === true ? JSON.stringify(body) + '\n' : `${key} set (version ${body.version})\n`)
  return 0
}

export async function kvGetCommand(key: string, flags: ClientFlags & { node?: string }, io: CommandIo, env = process.env): Promise<number> {
  const q = flags.node === undefined ? '' : `?node=${encodeURIComponent(flags.node)}`
  const res = await call(target(flags, env), 'GET', `/v1/kv/${encodeURIComponent(key)}${q}`)
  const body = (await res.json()) as { node: string; key: string; value: string }
  io.out(flags.json === true ? JSON.stringify(body) + '\n' : `${body.value}\n`)
  return 0
}

export async function kvDelCommand(key: string, flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'DELETE', `/v1/kv/${encodeURIComponent(key)}`)
  const body = (await res.json()) as { key: string; deleted: boolean }
  io.out(flags.json === true ? JSON.stringify(body) + '\n' : body.deleted ? `${key} deleted\n` : `${key} was not set\n`)
  return 0
}

export async function kvListCommand(flags: ClientFlags & { node?: string; prefix?: string }, io: CommandIo, env = process.env): Promise<number> {
  const q = new URLSearchParams()
  if (flags.node !== undefined) q.set('node', flags.node)
  if (flags.prefix !== undefined) q.set('prefix', flags.prefix)
  const res = await call(target(flags, env), 'GET', `/v1/kv${q.size > 0 ? `?${q}` : ''}`)
  const body = (await res.json()) as Record<string, Record<string, string>>
  if (flags.json === true) {
    io.out(JSON.stringify(body, null, 2) + '\n')
    return 0
  }
  const rows: string[][] = []
  for (const node of Object.keys(body).sort()) for (const [k, v] of Object.entries(body[node])) rows.push([node, k, v])
  io.out(table(['NODE', 'KEY', 'VALUE'], rows))
  return 0
}

export async function broadcastCommand(name: string, payload: string | undefined, flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const res = await call(target(flags, env), 'POST', '/v1/broadcast', { name, payload: payload ?? '' })
  const body = (await res.json()) as { id: string }
  io.out(flags.json === true ? JSON.stringify(body) + '\n' : `Broadcast ${name} sent (id ${body.id}).\n`)
  return 0
}

/** Prints every state change of any node whose key starts with `prefix`, until interrupted. */
export function watchCommand(prefix: string, flags: ClientFlags, io: CommandIo, env = process.env, signal?: AbortSignal): Promise<number> {
  return readEvents(flags, env, signal, 'state', (kind, data) => {
    if (kind !== 'state') return
    const e = data as { type: string; node: string; key?: string; value?: string; generation?: number }
    if (e.key !== undefined && !e.key.startsWith(prefix)) return
    if (flags.json === true) return io.out(JSON.stringify(e) + '\n')
    const now = new Date().toISOString()
    if (e.type === 'keySet') io.out(`${now} ${e.node} ${e.key} = ${e.value}\n`)
    else if (e.type === 'keyDeleted') io.out(`${now} ${e.node} ${e.key} deleted\n`)
    else if (e.type === 'nodeForgotten') io.out(`${now} ${e.node} departed; its state was forgotten\n`)
    else io.out(`${now} ${e.node} restarted (generation ${e.generation}); its old keys are gone\n`)
  })
}
