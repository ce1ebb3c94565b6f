/**
 * Agents of the cluster bench (bench/cluster.ts) as child processes: spawning Grapevine and Serf agents,
 * reading their membership log lines with the time each line arrived, tracking every started process by
 * PID so it can be killed at exit, and per-process CPU time and RSS from /proc.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { performance } from 'node:perf_hooks'

export type System = 'grapevine' | 'serf'
export const SYSTEMS: readonly System[] = ['grapevine', 'serf']

export type MemberEventKind = 'join' | 'suspect' | 'alive' | 'update' | 'failed' | 'left' | 'reap'

/** One membership log line of an agent; `at` is performance.now() when the line reached the bench. */
export interface MemberLogEvent {
  readonly at: number
  readonly kind: MemberEventKind
  readonly member: string
  /** For a suspicion: the accuser, when the agent logs it (Grapevine does; Serf logs only its own). */
  readonly by?: string
}

type Parsed = { started: true } | { joinRetry: true } | { user: string } | { kind: MemberEventKind; member: string; by?: string } | undefined

const GRAPEVINE_EVENTS: Record<string, MemberEventKind> = {
  joined: 'join',
  suspected: 'suspect',
  alive: 'alive',
  updated: 'update',
  failed: 'failed',
  left: 'left',
  reaped: 'reap',
}

/** A line of `grapevine agent --log-format json`. */
function parseGrapevine(line: string): Parsed {
  if (!line.startsWith('{')) return undefined
  let o: { msg?: unknown; event?: unknown; member?: unknown; name?: unknown; by?: unknown }
  try {
    o = JSON.parse(line) as typeof o
  } catch {
    return undefined
  }
  if (o.msg === 'agent started') return { started: true }
  if (o.msg === 'join failed; retrying') return { joinRetry: true }
  if (o.event === 'user' && typeof o.name === 'string') return { user: o.name }
  if (typeof o.event !== 'string' || typeof o.member !== 'string') return undefined
  const kind = GRAPEVINE_EVENTS[o.event]
  if (kind === undefined) return undefined
  return typeof o.by === 'string' ? { kind, member: o.member, by: o.by } : { kind, member: o.member }
}

const SERF_EVENTS: Record<string, MemberEventKind> = { Join: 'join', Update: 'update', Failed: 'failed', Leave: 'left', Reap: 'reap' }

/** A line of `serf agent -log-level info`. */
function parseSerf(line: string): Parsed {
  if (line.includes('==> Serf agent running!')) return { started: true }
  if (/agent: (Error joining|Join failed)/.test(line)) return { joinRetry: true }
  const user = /agent: Received event: user-event: (\S+)/.exec(line)
  if (user !== null) return { user: user[1] }
  const ev = /serf: EventMember(Join|Update|Failed|Leave|Reap): (\S+)/.exec(line)
  if (ev !== null) return { kind: SERF_EVENTS[ev[1]], member: ev[2] }
  // Serf logs a suspicion only where its own probe failed: the logging agent is the accuser.
  const suspect = /memberlist: Suspect (\S+) has failed/.exec(line)
  if (suspect !== null) return { kind: 'suspect', member: suspect[1], by: '' }
  return undefined
}

/** Every process the bench starts, by PID, so that all of them (and only them) are killed at exit. */
export class ProcessRegistry {
  private readonly procs = new Set<ChildProcess>()

  spawn(command: string, args: readonly string[]): ChildProcess {
    const proc = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.procs.add(proc)
    // A spawn failure (ENOENT) surfaces as 'error'; the agent's exit record says what happened.
    proc.on('error', () => undefined)
    return proc
  }

  /** SIGKILLs one process if it still runs. */
  static kill(proc: ChildProcess): void {
    if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    try {
      process.kill(proc.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }

  /** Synchronous, for 'exit' handlers: SIGKILL every process still running. */
  killAllNow(): void {
    for (const p of this.procs) ProcessRegistry.kill(p)
  }

  /** SIGKILLs every process still running and waits (bounded) until each has exited. */
  async killAll(limitMs = 5000): Promise<void> {
    const running = [...this.procs].filter((p) => p.pid !== undefined && p.exitCode === null && p.signalCode === null)
    await Promise.all(
      running.map(
        (p) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, limitMs)
            p.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            ProcessRegistry.kill(p)
          }),
      ),
    )
  }
}

/** One agent process and what it logged about membership. */
export class ClusterAgent {
  readonly events: MemberLogEvent[] = []
  /** Members this agent currently believes alive or suspect, itself included (from its log lines). */
  readonly view = new Set<string>()
  /** Names of the user events it logged receiving. */
  readonly userEvents = new Set<string>()
  started = false
  /** When the agent said it was up (Grapevine: "agent started"; Serf: "Serf agent running!"). */
  startedAt: number | undefined
  /** Join attempts that failed and were retried (Grapevine) or join errors logged (Serf). */
  joinRetries = 0
  exit: { code: number | null; signal: string | null; at: number } | undefined
  killedByBench = false
  private readonly tail: string[] = []

  constructor(
    readonly system: System,
    readonly index: number,
    readonly name: string,
    readonly port: number,
    /** Grapevine: HTTP API port; Serf: RPC port. */
    readonly controlPort: number,
    readonly proc: ChildProcess,
  ) {
    this.view.add(name)
    const parse = system === 'grapevine' ? parseGrapevine : parseSerf
    this.drain(proc.stdout, parse)
    this.drain(proc.stderr, parse)
    proc.once('exit', (code, signal) => (this.exit = { code, signal, at: performance.now() }))
  }

  get pid(): number | undefined {
    return this.proc.pid
  }

  get running(): boolean {
    return this.exit === undefined && this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** The last lines it printed, for error messages. */
  logTail(): string {
    return this.tail.join('\n')
  }

  /** The first event of `kind` about `member` that arrived at or after `since`. */
  firstEvent(kind: MemberEventKind, member: string, since: number): MemberLogEvent | undefined {
    return this.events.find((e) => e.kind === kind && e.member === member && e.at >= since)
  }

  private drain(stream: NodeJS.ReadableStream | null, parse: (line: string) => Parsed): void {
    if (stream === null) return
    let buf = ''
    stream.on('data', (chunk: Buffer) => {
      const at = performance.now()
      buf += chunk.toString('utf8')
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        this.onLine(line, at, parse)
      }
      if (buf.length > 65_536) buf = buf.slice(-65_536)
    })
  }

  private onLine(line: string, at: number, parse: (line: string) => Parsed): void {
    if (line.trim() !== '') {
      this.tail.push(line)
      if (this.tail.length > 30) this.tail.shift()
    }
    const p = parse(line)
    if (p === undefined) return
    if ('started' in p) {
      this.started = true
      this.startedAt = at
      return
    }
    if ('joinRetry' in p) {
      this.joinRetries++
      return
    }
    if ('user' in p) {
      this.userEvents.add(p.user)
      return
    }
    // Serf's suspicion lines are its own accusations: the accuser is the agent itself.
    this.events.push(p.by === undefined ? { at, kind: p.kind, member: p.member } : { at, kind: p.kind, member: p.member, by: p.by === '' ? this.name : p.by })
    if (p.kind === 'failed' || p.kind === 'left' || p.kind === 'reap') this.view.delete(p.member)
    else this.view.add(p.member)
  }
}

export interface AgentAddresses {
  readonly port: number
  /** Grapevine: HTTP API port; Serf: RPC port. */
  readonly controlPort: number
  /** The address both ports bind to (default 127.0.0.1). */
  readonly host?: string
  /** Network namespace to start the agent in (default: the bench's own). */
  readonly netns?: string
  /** The seed's address (default: host). */
  readonly seedHost?: string
}

/** Spawns `command` in the agent's namespace when it has one (`ip netns exec` keeps the PID). */
function spawnIn(reg: ProcessRegistry, a: AgentAddresses, command: string, args: readonly string[]): ChildProcess {
  return a.netns === undefined ? reg.spawn(command, args) : reg.spawn('ip', ['netns', 'exec', a.netns, command, ...args])
}

/** A Grapevine agent; `nodeFlags` go to node itself (e.g. --cpu-prof), before the CLI's path. */
export function startGrapevine(reg: ProcessRegistry, cliPath: string, index: number, name: string, a: AgentAddresses, seedPort: number | undefined, configFile?: string, extraArgs: readonly string[] = [], nodeFlags: readonly string[] = []): ClusterAgent {
  const host = a.host ?? '127.0.0.1'
  const args = [...nodeFlags, cliPath, 'agent', '--name', name, '--bind', `${host}:${a.port}`, '--http', `${host}:${a.controlPort}`, '--profile', 'lan', '--log-format', 'json', '--log-level', 'info']
  if (configFile !== undefined) args.push('--config', configFile)
  if (seedPort !== undefined) args.push('--join', `${a.seedHost ?? host}:${seedPort}`)
  args.push(...extraArgs)
  return new ClusterAgent('grapevine', index, name, a.port, a.controlPort, spawnIn(reg, a, process.execPath, args))
}

export function startSerf(reg: ProcessRegistry, index: number, name: string, a: AgentAddresses, seedPort: number | undefined): ClusterAgent {
  const host = a.host ?? '127.0.0.1'
  const args = ['agent', `-node=${name}`, `-bind=${host}:${a.port}`, `-rpc-addr=${host}:${a.controlPort}`, '-log-level=info']
  if (seedPort !== undefined) args.push(`-join=${a.seedHost ?? host}:${seedPort}`)
  return new ClusterAgent('serf', index, name, a.port, a.controlPort, spawnIn(reg, a, 'serf', args))
}

/**
 * Lifeguard's local health score of an agent (0 = healthy; higher stretches its probe interval and
 * timeouts): Grapevine's grapevine_health_score metric, Serf's `serf info` health_score. Bounded;
 * undefined when the agent does not answer.
 */
export async function healthScore(agent: ClusterAgent): Promise<number | undefined> {
  if (agent.system === 'grapevine') {
    try {
      const res = await fetch(`http://127.0.0.1:${agent.controlPort}/metrics`, { signal: AbortSignal.timeout(5000) })
      const m = /^grapevine_health_score(?:\{[^}]*\})? (\S+)$/m.exec(await res.text())
      return m === null ? undefined : Number(m[1])
    } catch {
      return undefined
    }
  }
  return new Promise((resolve) => {
    execFile('serf', ['info', `-rpc-addr=127.0.0.1:${agent.controlPort}`, '-format=json'], { encoding: 'utf8', timeout: 5000 }, (err, stdout) => {
      if (err !== null) return resolve(undefined)
      try {
        const score = Number((JSON.parse(stdout) as { serf?: { health_score?: string } }).serf?.health_score)
        resolve(Number.isFinite(score) ? score : undefined)
      } catch {
        resolve(undefined)
      }
    })
  })
}

// ------------------------------------------------------------------ ports

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const u = dgram.createSocket('udp4')
    u.once('error', () => resolve(false))
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
  })
}

/** `count` ports in [from, to] free for both TCP and UDP on 127.0.0.1, lowest first. */
export async function freePortsIn(from: number, to: number, count: number): Promise<number[]> {
  const out: number[] = []
  for (let p = from; p <= to && out.length < count; p++) {
    if ((await tcpFree(p)) && (await udpFree(p))) out.push(p)
  }
  if (out.length < count) throw new Error(`only ${out.length} of ${count} free ports in ${from}-${to}`)
  return out
}

// ------------------------------------------------------------------ /proc

let clockTicks: number | undefined

/** Clock ticks per second for /proc/PID/stat (getconf CLK_TCK, 100 when unknown). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
    const n = Number.parseInt(r.stdout ?? '', 10)
    clockTicks = r.status === 0 && n > 0 ? n : 100
  }
  return clockTicks
}

/** utime + stime of a process (all its threads), in clock ticks; undefined when it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return undefined
  }
}

/** VmRSS of a process in bytes; undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Polls `check` every `everyMs` until it is true or `limitMs` passed; returns whether it became true. */
export async function pollUntil(check: () => boolean, limitMs: number, everyMs = 100): Promise<boolean> {
  const deadline = performance.now() + limitMs
  for (;;) {
    if (check()) return true
    if (performance.now() >= deadline) return false
    await sleep(everyMs)
  }
}
