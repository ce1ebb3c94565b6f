// Ten `grapevine agent` processes on loopback: they converge, one SIGKILLed is declared failed by all
// the others, and the rest leave gracefully (the first leaver is seen as left) and exit 0. Every wait
// is bounded; every process started here is stopped by PID in the `finally`.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { freePort, stopAll, waitUntil } from '../interop/serf-harness.js'

const CLI = fileURLToPath(new URL('../../src/cli/cli.js', import.meta.url))
const COUNT = 10
const LOG_CHARS = 20_000

interface Proc {
  readonly name: string
  readonly gossip: string
  readonly http: string
  readonly proc: ChildProcess
  /** The last LOG_CHARS characters of stdout and stderr, for failure messages. */
  log: string
  /** Resolves with the exit code, or the signal name. */
  readonly exited: Promise<number | string>
}

function spawnAgent(name: string, port: number, httpPort: number, join: string | undefined): Proc {
  const gossip = `127.0.0.1:${port}`
  const http = `127.0.0.1:${httpPort}`
  const args = [CLI, 'agent', '--name', name, '--bind', gossip, '--http', http, '--profile', 'local', '--join-retry-interval', '200']
  if (join !== undefined) args.push('--join', join)
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const p: Proc = { name, gossip, http, proc, log: '', exited }
  const keep = (d: Buffer): void => {
    p.log = (p.log + d.toString()).slice(-LOG_CHARS)
  }
  proc.stdout!.on('data', keep)
  proc.stderr!.on('data', keep)
  return p
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting until ${what}`)), ms)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** name → state as `p` sees the cluster; undefined when the agent does not answer. */
async function membersOf(p: Proc): Promise<Map<string, string> | undefined> {
  try {
    const res = await fetch(`http://${p.http}/v1/members`, { signal: AbortSignal.timeout(2000) })
    if (!res.ok) return undefined
    const list = (await res.json()) as Array<{ name: string; state: string }>
    return new Map(list.map((m) => [m.name, m.state]))
  } catch {
    return undefined
  }
}

async function views(procs: readonly Proc[]): Promise<string> {
  const lines = await Promise.all(
    procs.map(async (p) => {
      const v = await membersOf(p)
      return `${p.name}: ${v === undefined ? 'no answer' : [...v].map(([n, s]) => `${n}=${s}`).join(' ')}`
    }),
  )
  return lines.join('\n')
}

/** True when every agent in `observers` sees `member` in `state`. */
async function allSee(observers: readonly Proc[], member: string, state: string): Promise<boolean> {
  const seen = await Promise.all(observers.map((p) => membersOf(p)))
  return seen.every((v) => v?.get(member) === state)
}

test('10 agent processes converge, detect a SIGKILLed one as failed, then leave gracefully and exit 0', { timeout: 120_000 }, async () => {
  const procs: Proc[] = []
  const logs = async (): Promise<string> => `${await views(procs)}\n${procs.map((p) => `--- ${p.name}\n${p.log.slice(-1500)}`).join('\n')}`
  try {
    for (let i = 1; i <= COUNT; i++) {
      const seed = procs[0]?.gossip
      procs.push(spawnAgent(`mp-${i}`, await freePort(), await freePort(), seed))
    }

    await waitUntil(
      `every agent lists ${COUNT} alive members`,
      async () => {
        const seen = await Promise.all(procs.map((p) => membersOf(p)))
        return seen.every((v) => v !== undefined && v.size === COUNT && [...v.values()].every((s) => s === 'alive'))
      },
      45_000,
      logs,
    )

    const victim = procs[4]
    const rest = procs.filter((p) => p !== victim)
    victim.proc.kill('SIGKILL')
    assert.equal(await within(5000, `${victim.name} exits`, victim.exited), 'SIGKILL')
    await waitUntil(`the other ${rest.length} agents see ${victim.name} failed`, () => allSee(rest, victim.name, 'failed'), 40_000, logs)

    // The first leaver goes alone, so the others are all still running to see it leave.
    const [first, ...others] = rest
    first.proc.kill('SIGTERM')
    assert.equal(await within(15_000, `${first.name} exits`, first.exited), 0, `${first.name} exit\n${first.log}`)
    assert.match(first.log, /leaving the cluster/)
    await waitUntil(`the other ${others.length} agents see ${first.name} left`, () => allSee(others, first.name, 'left'), 20_000, logs)

    for (const p of others) p.proc.kill('SIGTERM')
    const codes = await within(20_000, 'the last agents exit', Promise.all(others.map((p) => p.exited)))
    assert.deepEqual(codes, others.map(() => 0), await logs())
    for (const p of others) assert.match(p.log, /leaving the cluster/, p.name)
  } finally {
    await stopAll(procs.map((p) => p.proc))
  }
})
