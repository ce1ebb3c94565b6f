// Shared helpers for the Serf interop tests: free loopback ports, serf agents started and stopped by
// PID, asynchronous `serf members`, bounded polling, and a Grapevine node in a child process (so it can
// be SIGKILLed or SIGSTOPped). Every wait is bounded; every process started here is stopped by PID.
import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

export const MISSING = "serf is not on PATH: install Debian's serf package (apt-get install serf) to run the Serf interop tests"

/** True when serf runs here; otherwise fails the test under CI and skips it elsewhere, saying why. */
export function requireSerf(t: TestContext): boolean {
  const r = spawnSync('serf', ['version'], { encoding: 'utf8' })
  if (r.status === 0) return true
  if (process.env.CI) assert.fail(`${MISSING} (CI is set, so this is a failure, not a skip)`)
  t.skip(MISSING)
  return false
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Ports this process handed out: a child may not have bound one yet, and the kernel may offer it again. */
const handedOut = new Set<number>()

/** A port free for both TCP and UDP on 127.0.0.1, never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4')
      u.once('error', () => resolve(false))
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
    })
    if (udpFree && !handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error('no free port found')
}

export interface SerfMember {
  name: string
  addr: string
  port: number
  tags: Record<string, string>
  status: string
}

export interface Agent {
  readonly name: string
  readonly bind: string
  readonly rpc: string
  readonly proc: ChildProcess
  log: string
}

/** Polls an asynchronous check until true; throws naming `what` after `limitMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, limitMs: number, detail: () => Promise<string> | string, everyMs = 250): Promise<void> {
  const deadline = Date.now() + limitMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting until ${what}\n${await detail()}`)
    await sleep(everyMs)
  }
}

/** `serf members -format=json`; asynchronous, so an in-process Grapevine node keeps answering meanwhile. [] on error. */
export function serfMembers(rpc: string): Promise<SerfMember[]> {
  return new Promise((resolve) => {
    execFile('serf', ['members', `-rpc-addr=${rpc}`, '-format=json'], { encoding: 'utf8', timeout: 5000 }, (err, stdout) => {
      if (err) return resolve([])
      try {
        resolve((JSON.parse(stdout) as { members: SerfMember[] }).members)
      } catch {
        resolve([])
      }
    })
  })
}

export async function statusIn(agent: Agent, name: string): Promise<string | undefined> {
  return (await serfMembers(agent.rpc)).find((m) => m.name === name)?.status
}

/** Runs a serf CLI command against an agent, asynchronously and bounded. */
export function serfCommand(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('serf', [...args], { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` })
    })
  })
}

/** Starts a serf agent on loopback and waits (bounded) until its RPC answers. */
export async function startAgent(name: string, agents: Agent[], extra: readonly string[] = []): Promise<Agent> {
  const port = await freePort()
  const rpcPort = await freePort()
  const bind = `127.0.0.1:${port}`
  const rpc = `127.0.0.1:${rpcPort}`
  const proc = spawn('serf', ['agent', `-node=${name}`, `-bind=${bind}`, `-rpc-addr=${rpc}`, '-tag', 'env=test', '-log-level=debug', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const agent: Agent = { name, bind, rpc, proc, log: '' }
  proc.stdout!.on('data', (d: Buffer) => (agent.log += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (agent.log += d.toString()))
  agents.push(agent)
  await waitUntil(`serf agent ${name} answers RPC`, async () => (await serfMembers(rpc)).length >= 1, 20_000, () => agent.log.slice(-2000))
  return agent
}

/** Kills every process given (by PID) that is still running and waits for each exit, bounded. */
export async function stopAll(procs: readonly (ChildProcess | undefined)[]): Promise<void> {
  const running = procs.filter((p): p is ChildProcess => p !== undefined && p.exitCode === null && p.signalCode === null)
  await Promise.all(
    running.map(
      (p) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000)
          p.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          try {
            process.kill(p.pid!, 'SIGCONT')
            process.kill(p.pid!, 'SIGKILL')
          } catch {
            clearTimeout(timer)
            resolve()
          }
        }),
    ),
  )
}

export function logsOf(agents: readonly Agent[], chars = 3000): string {
  return agents.map((a) => `--- ${a.name} log (last ${chars} chars)\n${a.log.slice(-chars)}`).join('\n')
}

/** Serf log lines that mean our bytes were not understood. */
export function serfComplaints(agent: Agent): string[] {
  return agent.log.split('\n').filter((l) => /Failed to decode|Failed push\/pull merge|Remote state|not supported|Failed to (handle|receive)|Unsupported/i.test(l))
}

// ------------------------------------------------------------------ a Grapevine node in a child process

export interface ChildNode {
  readonly proc: ChildProcess
  readonly port: number
  /** Lines of JSON the child printed, parsed. */
  readonly lines: Array<Record<string, unknown>>
  stderr: string
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'grapevine-child.js')

/** Starts test/interop/grapevine-child.ts with startNode options; resolves once it printed `ready`. */
export async function startChild(options: Record<string, unknown>, children: ChildProcess[]): Promise<ChildNode> {
  const proc = spawn(process.execPath, [CHILD, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] })
  children.push(proc)
  const node: ChildNode = { proc, port: 0, lines: [], stderr: '' }
  let buf = ''
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      try {
        node.lines.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        node.stderr += `(stdout) ${line}\n`
      }
    }
  })
  proc.stderr!.on('data', (d: Buffer) => (node.stderr += d.toString()))
  await waitUntil('the grapevine child is ready', () => node.lines.some((l) => l.type === 'ready'), 15_000, () => node.stderr)
  ;(node as { port: number }).port = node.lines.find((l) => l.type === 'ready')!.port as number
  return node
}

/** Two Serf agents (serf-b joined to serf-a) and a Grapevine node (local profile) joined to serf-a; every one is pushed to `agents` or returned. */
export async function serfPairAndGrapevine(agents: Agent[]): Promise<{ a: Agent; b: Agent; node: import('../../src/index.js').GrapevineNode }> {
  const { startNode } = await import('../../src/index.js')
  const a = await startAgent('serf-a', agents)
  const b = await startAgent('serf-b', agents, [`-join=${a.bind}`])
  const node = await startNode({ name: 'grapevine', bind: '127.0.0.1:0', profile: 'local', join: [a.bind] })
  return { a, b, node }
}
