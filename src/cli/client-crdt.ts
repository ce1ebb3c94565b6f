/**
 * `grapevine crdt …`: the replicated data types of a running agent, over its HTTP API (/v1/crdt).
 *
 *   grapevine crdt list                                 every key and its value
 *   grapevine crdt counter incr|decr NAME [N]           grapevine crdt counter get NAME
 *   grapevine crdt set add|remove NAME ELEMENT          grapevine crdt set get NAME
 *   grapevine crdt register set NAME VALUE              grapevine crdt register get NAME
 *   grapevine crdt flag enable|disable NAME             grapevine crdt flag get NAME
 *   grapevine crdt map incr NAME FIELD [N] | set NAME FIELD VALUE | enable|disable NAME FIELD |
 *                      add|remove NAME FIELD ELEMENT | get NAME
 *
 * Writes and gets take --consistency local|majority|all and --timeout MS; every command takes --json.
 */
import type { Command } from 'commander'
import { UsageError } from '../core/errors.js'
import type { CommandIo } from '../output/io.js'
import { table } from '../output/table.js'
import { clientOptions } from './client-commands.js'
import { call, target, type ClientFlags } from './client.js'

interface CrdtFlags extends ClientFlags {
  consistency?: string
  timeout?: string
}

interface Answer {
  key: string
  kind: string
  name: string
  value: unknown
}

function levelOf(flags: CrdtFlags): { consistency?: string; timeoutMs?: number } {
  const c = flags.consistency
  if (c !== undefined && c !== 'local' && c !== 'majority' && c !== 'all') throw new UsageError(`--consistency ${JSON.stringify(c)}: expected local, majority or all`)
  const t = flags.timeout === undefined ? undefined : Number(flags.timeout)
  if (t !== undefined && !(Number.isInteger(t) && t > 0)) throw new UsageError(`--timeout ${JSON.stringify(flags.timeout)}: expected milliseconds, like 3000`)
  return { consistency: c, timeoutMs: t }
}

function count(text: string | undefined): number {
  if (text === undefined) return 1
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`N ${JSON.stringify(text)}: expected a non-negative whole number, like 5`)
  return n
}

function show(a: Answer, flags: CrdtFlags, io: CommandIo): number {
  if (flags.json === true) io.out(JSON.stringify(a) + '\n')
  else if (Array.isArray(a.value)) io.out(a.value.map((v) => `${String(v)}\n`).join(''))
  else if (a.value !== null && typeof a.value === 'object') io.out(JSON.stringify(a.value, null, 2) + '\n')
  else io.out(`${a.value === null ? '' : String(a.value)}\n`)
  return 0
}

async function write(kind: string, name: string, body: Record<string, unknown>, flags: CrdtFlags, io: CommandIo): Promise<number> {
  const res = await call(target(flags, process.env), 'POST', `/v1/crdt/${kind}/${encodeURIComponent(name)}`, { ...body, ...levelOf(flags) })
  return show((await res.json()) as Answer, flags, io)
}

async function get(kind: string, name: string, flags: CrdtFlags, io: CommandIo): Promise<number> {
  const { consistency, timeoutMs } = levelOf(flags)
  const q = new URLSearchParams()
  if (consistency !== undefined) q.set('consistency', consistency)
  if (timeoutMs !== undefined) q.set('timeoutMs', String(timeoutMs))
  const res = await call(target(flags, process.env), 'GET', `/v1/crdt/${kind}/${encodeURIComponent(name)}${q.size > 0 ? `?${q}` : ''}`)
  return show((await res.json()) as Answer, flags, io)
}

/** Adds `grapevine crdt …` to the program. */
export function addCrdtCommands(program: Command, io: CommandIo): void {
  const crdt = program.command('crdt').description('read and write the replicated data types (counters, sets, registers, flags, maps) of a running agent')
  const cmd = (parent: Command, name: string, description: string): Command =>
    clientOptions(parent.command(name).description(description))
      .option('--consistency <LEVEL>', 'local (default), majority or all: how many members must hold it before the command returns')
      .option('--timeout <MS>', 'how long majority / all wait (default 5000)')
  const run = (fn: (...a: never[]) => Promise<number>) => async (...args: unknown[]): Promise<void> => {
    process.exitCode = await (fn as (...a: unknown[]) => Promise<number>)(...args)
  }

  clientOptions(crdt.command('list').description('every key this agent holds, with its value')).action(
    run(async (flags: CrdtFlags) => {
      const res = await call(target(flags, process.env), 'GET', '/v1/crdt')
      const body = (await res.json()) as Record<string, unknown>
      if (flags.json === true) io.out(JSON.stringify(body, null, 2) + '\n')
      else io.out(table(['KEY', 'VALUE'], Object.entries(body).map(([k, v]) => [k, JSON.stringify(v)])))
      return 0
    }),
  )

  const counter = crdt.command('counter').description('a PN-counter: increments and decrements from every node, summed')
  cmd(counter, 'incr', 'add N (default 1)').argument('<NAME>').argument('[N]').action(run((name: string, n: string | undefined, f: CrdtFlags) => write('counter', name, { op: 'increment', by: count(n) }, f, io)))
  cmd(counter, 'decr', 'subtract N (default 1)').argument('<NAME>').argument('[N]').action(run((name: string, n: string | undefined, f: CrdtFlags) => write('counter', name, { op: 'decrement', by: count(n) }, f, io)))
  cmd(counter, 'get', 'print the value').argument('<NAME>').action(run((name: string, f: CrdtFlags) => get('counter', name, f, io)))

  const set = crdt.command('set').description('an OR-set (add wins over a concurrent remove)')
  cmd(set, 'add', 'add an element').argument('<NAME>').argument('<ELEMENT>').action(run((name: string, x: string, f: CrdtFlags) => write('set', name, { op: 'add', value: x }, f, io)))
  cmd(set, 'remove', 'remove an element').argument('<NAME>').argument('<ELEMENT>').action(run((name: string, x: string, f: CrdtFlags) => write('set', name, { op: 'remove', value: x }, f, io)))
  cmd(set, 'get', 'print the elements, one a line').argument('<NAME>').action(run((name: string, f: CrdtFlags) => get('set', name, f, io)))

  const register = crdt.command('register').description('a last-writer-wins register (hybrid logical clock)')
  cmd(register, 'set', 'write a value').argument('<NAME>').argument('<VALUE>').action(run((name: string, v: string, f: CrdtFlags) => write('register', name, { op: 'set', value: v }, f, io)))
  cmd(register, 'get', 'print the value').argument('<NAME>').action(run((name: string, f: CrdtFlags) => get('register', name, f, io)))

  const flag = crdt.command('flag').description('an enable-wins flag')
  cmd(flag, 'enable', 'turn it on').argument('<NAME>').action(run((name: string, f: CrdtFlags) => write('flag', name, { op: 'enable' }, f, io)))
  cmd(flag, 'disable', 'turn it off').argument('<NAME>').action(run((name: string, f: CrdtFlags) => write('flag', name, { op: 'disable' }, f, io)))
  cmd(flag, 'get', 'print true or false').argument('<NAME>').action(run((name: string, f: CrdtFlags) => get('flag', name, f, io)))

  const map = crdt.command('map').description('an OR-map of counters, flags, sets and registers by field')
  cmd(map, 'incr', 'add N (default 1) to a counter field').argument('<NAME>').argument('<FIELD>').argument('[N]').action(run((name: string, field: string, n: string | undefined, f: CrdtFlags) => write('map', name, { op: 'increment', field, by: count(n) }, f, io)))
  cmd(map, 'set', 'write a register field').argument('<NAME>').argument('<FIELD>').argument('<VALUE>').action(run((name: string, field: string, v: string, f: CrdtFlags) => write('map', name, { op: 'set', field, value: v }, f, io)))
  for (const op of ['enable', 'disable'] as const) {
    cmd(map, op, `${op} a flag field`).argument('<NAME>').argument('<FIELD>').action(run((name: string, field: string, f: CrdtFlags) => write('map', name, { op, field }, f, io)))
  }
  for (const op of ['add', 'remove'] as const) {
    cmd(map, op, `${op} an element of a set field`).argument('<NAME>').argument('<FIELD>').argument('<ELEMENT>').action(run((name: string, field: string, x: string, f: CrdtFlags) => write('map', name, { op, field, value: x }, f, io)))
  }
  cmd(map, 'get', 'print the fields as JSON').argument('<NAME>').action(run((name: string, f: CrdtFlags) => get('map', name, f, io)))
}
