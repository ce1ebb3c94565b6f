/**
 * `grapevine demo` (what `npm start` runs): the supervisor of a local cluster of real agents, each a `grapevine agent`
 * child process on 127.0.0.1. Nodes 2..N join node 1. The demo prints a banner (PIDs, addresses, what
 * to try), then every membership change as the agents log it, coalesced across observers
 * (cluster-events.ts). Lines on stdin drive it: `k 3` kill -9, `s 3` graceful stop, `p 3` pause,
 * `c 3` continue, `r 3` restart, `m [N]` member table, `h` help, `q` quit.
 *
 * Ports: gossip BASE+i-1, HTTP BASE+34+i-1 (BASE 7946 by default, so node 1 answers on 127.0.0.1:7980,
 * the clients' default). When a default port is taken the demo uses free ports instead; a taken port of
 * an explicit --base-port is an error. `--base-port 0` always uses free ports.
 *
 * Stopping (Ctrl-C, SIGTERM, `q`): paused agents get SIGCONT, every agent SIGTERM (it leaves and exits
 * 0), stragglers SIGKILL after 10 s; the demo then says how each exited and exits 0. The agents read
 * the demo's pipe on their stdin (watchdog.ts) and leave when it closes, so none outlives
 * the demo even if it is killed.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync } from 'node:fs'
import type { WriteStream } from 'node:fs'
import dgram from 'node:dgram'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import { ChangeCoalescer, ClusterViews, byNodeNumber, clock, parseChange } from './cluster-events.js'
import { ChaosServer } from './chaos.js'
import type { ChaosAction, ChaosNode, ChaosTarget } from './chaos.js'
import { DEFAULT_BASE_PORT, HTTP_OFFSET } from './ports.js'

export { DEFAULT_BASE_PORT, HTTP_OFFSET }
export const MAX_NODES = HTTP_OFFSET
const START_LIMIT_MS = 20_000
const STOP_LIMIT_MS = 10_000
const KILL_LIMIT_MS = 3_000
const TABLE_LIMIT_MS = 2_000

const CLI = fileURLToPath(new URL('../cli/cli.js', import.meta.url))
const WATCHDOG = new URL('./watchdog.js', import.meta.url).href
const FAULTS = new URL('./faults.js', import.meta.url).href
const ACTION_COMMANDS: Record<ChaosAction, string> = { kill: 'k', stop: 's', pause: 'p', resume: 'c', restart: 'r' }

export type DemoProfile = 'local' | 'lan'

export interface DemoClusterOptions {
  readonly nodes: number
  /** undefined: the default ports, free ports if they are taken; 0: free ports; else these ports or an error. */
  readonly basePort: number | undefined
  readonly profile: DemoProfile
}

type NodeState = 'starting' | 'up' | 'paused' | 'stopping' | 'down'

interface DemoNode {
  readonly index: number
  readonly name: string
  gossipPort: number
  httpPort: number
  proc: ChildProcess | undefined
  state: NodeState
  /** How the last process exited, for the final summary. */
  lastExit: string
  exited: Promise<void>
  /** Resolves once the agent logged its addresses. */
  started: Promise<void>
  readonly log: WriteStream
  readonly snapshot: string
}

/** True when `port` is free on 127.0.0.1 for TCP (and UDP when `udp`). */
async function canBind(port: number, udp: boolean): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
  if (!tcp || !udp) return tcp
  return new Promise<boolean>((resolve) => {
    const u = dgram.createSocket('udp4')
    u.once('error', () => resolve(false))
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
  })
}

/** The first port of the range that is taken, with what it is for; undefined when all are free. */
async function takenPort(base: number, nodes: number): Promise<string | undefined> {
  for (let i = 0; i < nodes; i++) {
    if (!(await canBind(base + i, true))) return `${base + i} (gossip of node-${i + 1})`
    if (!(await canBind(base + HTTP_OFFSET + i, false))) return `${base + HTTP_OFFSET + i} (HTTP of node-${i + 1})`
  }
  return undefined
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `killed by ${signal}`
  return code === 0 ? 'exited 0 (left gracefully)' : `exited ${code ?? '?'}`
}

function within<T>(ms: number, promise: Promise<T>): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

export class DemoCluster implements ChaosTarget {
  private readonly nodes: DemoNode[] = []
  /** The dashboard's address, once its server listens. */
  dashboard: string | undefined
  /** Nodes cut off from the others by the chaos controls, and the datagram loss probability. */
  private partition = new Set<string>()
  private loss = 0
  private readonly views = new ClusterViews()
  private readonly coalescer: ChangeCoalescer
  private converged = false
  /** Membership lines from before the banner. */
  private held: string[] | undefined = []
  private stopping: Promise<number> | undefined
  private finish!: (code: number) => void
  /** Resolves with the exit code once `stop` (Ctrl-C, SIGTERM, `q`) is done. */
  readonly stopped = new Promise<number>((resolve) => (this.finish = resolve))
  private readonly logDir: string
  private readonly cliShown: string

  constructor(private readonly opts: DemoClusterOptions, private readonly io: CommandIo) {
    this.logDir = mkdtempSync(path.join(os.tmpdir(), 'grapevine-demo-'))
    const width = `node-${opts.nodes}`.length
    const observers = (member: string): number => this.nodes.filter((n) => n.name !== member && (n.state === 'up' || n.state === 'stopping')).length
    this.coalescer = new ChangeCoalescer((line) => this.event(line), observers, 1000, width)
    const rel = path.relative(process.cwd(), CLI)
    this.cliShown = `node ${rel.startsWith('..') ? CLI : rel}`
    for (let i = 1; i <= opts.nodes; i++) {
      const name = `node-${i}`
      this.nodes.push({
        index: i, name, gossipPort: 0, httpPort: 0, proc: undefined, state: 'down', lastExit: 'never started',
        exited: Promise.resolve(), started: Promise.resolve(),
        log: createWriteStream(path.join(this.logDir, `${name}.log`), { flags: 'a' }),
        snapshot: path.join(this.logDir, `${name}.snapshot.json`),
      })
    }
  }

  private say(line: string): void {
    this.io.out(line + '\n')
  }

  /** A membership line; held back until the banner is out. */
  private event(line: string): void {
    if (this.held === undefined) this.say(line)
    else this.held.push(line)
  }

  /** Names of the nodes running and not paused. */
  private up(): string[] {
    return this.nodes.filter((n) => n.state === 'up').map((n) => n.name)
  }

  /** Starts node 1 on `base` (0: free ports), then the others joining it. Resolves false when a node did not start. */
  async start(base: number): Promise<boolean> {
    for (const n of this.nodes) {
      n.gossipPort = base === 0 ? 0 : base + n.index - 1
      n.httpPort = base === 0 ? 0 : base + HTTP_OFFSET + n.index - 1
    }
    this.say(`Starting ${this.opts.nodes} agents (logs in ${this.logDir}) …`)
    const [first, ...rest] = this.nodes
    this.spawnNode(first, [])
    if (!(await this.waitStarted(first))) return false
    for (const n of rest) this.spawnNode(n, [`127.0.0.1:${first.gossipPort}`])
    const ok = await Promise.all(rest.map((n) => this.waitStarted(n)))
    return ok.every(Boolean)
  }

  private async waitStarted(n: DemoNode): Promise<boolean> {
    const r = await within(START_LIMIT_MS, Promise.race([n.started.then(() => 'started' as const), n.exited.then(() => 'exited' as const)]))
    if (r === 'started') return true
    this.say(`${n.name} did not start (${r === 'timeout' ? `no word within ${START_LIMIT_MS / 1000} s` : n.lastExit}); see ${n.log.path as string}`)
    return false
  }

  private spawnNode(n: DemoNode, join: readonly string[]): void {
    const args = [
      '--import', WATCHDOG, '--import', FAULTS, CLI, 'agent',
      '--name', n.name,
      '--bind', `127.0.0.1:${n.gossipPort}`,
      '--http', `127.0.0.1:${n.httpPort}`,
      '--profile', this.opts.profile,
      '--log-format', 'json',
      '--snapshot', n.snapshot,
      '--rejoin-after-leave',
      '--join-retry-interval', '500',
      ...join.flatMap((a) => ['--join', a]),
    ]
    // Own process group: a Ctrl-C in the terminal reaches only the demo, which stops the agents in order.
    const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    n.proc = proc
    n.state = 'starting'
    let markStarted!: () => void
    n.started = new Promise<void>((resolve) => (markStarted = resolve))
    n.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        n.lastExit = describeExit(code, signal)
        const was = n.state
        n.state = 'down'
        n.proc = undefined
        if (this.stopping === undefined && was !== 'stopping') {
          this.say(`${clock(Date.now())}  ! ${n.name} (pid ${proc.pid}) ${n.lastExit}; the others will suspect it, then declare it failed`)
        }
        this.checkConverged()
        resolve()
      })
    })
    proc.once('error', (e) => n.log.write(`demo: cannot start the agent: ${e.message}\n`))
    proc.stdin!.on('error', () => {})
    proc.stderr!.on('data', (d: Buffer) => n.log.write(d))
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      n.log.write(line + '\n')
      let rec: Record<string, unknown>
      try {
        rec = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      if (rec.msg === 'agent started') {
        n.gossipPort = Number(String(rec.address).split(':').pop())
        n.httpPort = Number(String(rec.http).split(':').pop())
        if (n.state === 'starting') n.state = 'up'
        this.sendFaults()
        this.views.started(n.name)
        markStarted()
        this.checkConverged()
        return
      }
      const change = parseChange(n.name, rec)
      if (change === undefined) return
      this.views.apply(change)
      this.coalescer.add(change)
      this.checkConverged()
    })
  }

  /** Prints a line each time the running nodes come to agree that they are all alive. */
  private checkConverged(): void {
    const up = this.up()
    const now = this.held === undefined && this.stopping === undefined && this.views.agree(up)
    if (now && !this.converged) {
      this.coalescer.flushAll()
      this.event(`${clock(Date.now())}  == converged: ${up.length === 1 ? `${up[0]} runs alone` : `${up.sort(byNodeNumber).join(' ')} all see each other alive`}`)
    }
    this.converged = now
  }

  banner(): void {
    const p = this.opts.profile
    const timing = p === 'local'
      ? 'memberlist\'s loopback timings: probe every 1 s, 200 ms ack timeout, suspicion 3 s and up'
      : 'memberlist\'s LAN timings: probe every 1 s, 500 ms ack timeout, suspicion 4 s and up'
    const lines = [
      '',
      `Grapevine demo cluster: ${this.opts.nodes} real agents (\`grapevine agent\` processes) on 127.0.0.1, profile ${p}`,
      `(${timing})`,
      '',
      '  node      pid      gossip              HTTP API',
      ...this.nodes.map((n) => `  ${n.name.padEnd(9)} ${String(n.proc?.pid ?? '-').padEnd(8)} ${`127.0.0.1:${n.gossipPort}`.padEnd(19)} 127.0.0.1:${n.httpPort}`),
      '',
      `Agent logs (JSON lines, one file per node): ${this.logDir}`,
      ...(this.dashboard === undefined ? [] : ['', `Dashboard (members, gossip, chaos controls, replay): ${this.dashboard}`]),
      '',
      ...this.help(),
      '',
    ]
    for (const l of lines) this.say(l)
    const held = this.held ?? []
    this.held = undefined
    for (const l of held) this.say(l)
    this.checkConverged()
  }

  private help(): string[] {
    const two = this.nodes[1] ?? this.nodes[0]
    const three = this.nodes[2] ?? two
    const pid = (n: DemoNode): string => String(n.proc?.pid ?? 'PID')
    return [
      'From another terminal:',
      `  kill -9 ${pid(two)}`.padEnd(34) + `crash ${two.name}: the others suspect it, then declare it failed within seconds`,
      `  kill -STOP ${pid(three)}`.padEnd(34) + `pause ${three.name} (a long GC pause, a frozen VM)`,
      `  kill -CONT ${pid(three)}`.padEnd(34) + 'resume it: back in time it refutes the suspicion with a higher incarnation;',
      ''.padEnd(34) + 'too late, it was declared failed and rejoins',
      `  ${this.cliShown} members --http 127.0.0.1:${two.httpPort}`,
      ''.padEnd(34) + `the member table as ${two.name} sees it (also: info, monitor)`,
      'Or type here, then Enter:',
      '  k N  kill -9 node N        s N  stop node N gracefully (it leaves)',
      '  p N  pause node N          c N  continue node N',
      '  r N  restart node N (it rejoins)   m [N]  member table as node N sees it (default 1)',
      '  h    this help             q    quit (or Ctrl-C): every node leaves gracefully',
      'Watch for: `suspected` then `failed` on the others a few seconds after a crash or a long pause;',
      '`alive` with a higher incarnation when a paused node comes back in time; `left` after a graceful stop.',
    ]
  }

  private node(arg: string | undefined): DemoNode | undefined {
    const i = Number(arg)
    const n = Number.isInteger(i) ? this.nodes[i - 1] : undefined
    if (n === undefined) this.say(`which node? give a number from 1 to ${this.nodes.length}, e.g. \`k 2\``)
    return n
  }

  private signal(n: DemoNode, sig: NodeJS.Signals): boolean {
    if (n.proc?.pid === undefined || n.state === 'down') {
      this.say(`${n.name} is not running (${n.lastExit}); \`r ${n.index}\` starts it`)
      return false
    }
    try {
      process.kill(n.proc.pid, sig)
      return true
    } catch (e) {
      this.say(`${sig} to ${n.name} failed: ${(e as Error).message}`)
      return false
    }
  }

  /** One line of input from the user. */
  async command(line: string): Promise<void> {
    const [cmd = '', arg] = line.trim().split(/\s+/)
    const now = (): string => clock(Date.now())
    switch (cmd.toLowerCase()) {
      case '':
        return
      case 'k': {
        const n = this.node(arg)
        if (n !== undefined && this.signal(n, 'SIGKILL')) this.say(`${now()}  > kill -9 ${n.proc?.pid ?? ''} (${n.name})`)
        return
      }
      case 's': {
        const n = this.node(arg)
        if (n === undefined) return
        if (n.state === 'paused') this.signal(n, 'SIGCONT')
        if (this.signal(n, 'SIGTERM')) {
          n.state = 'stopping'
          this.say(`${now()}  > ${n.name} stops gracefully (SIGTERM): the others will see it \`left\``)
          await n.exited
          this.say(`${now()}  ! ${n.name} ${n.lastExit}`)
        }
        return
      }
      case 'p': {
        const n = this.node(arg)
        if (n !== undefined && this.signal(n, 'SIGSTOP')) {
          n.state = 'paused'
          this.say(`${now()}  > ${n.name} paused (SIGSTOP): watch it get suspected; \`c ${n.index}\` resumes it`)
          this.checkConverged()
        }
        return
      }
      case 'c': {
        const n = this.node(arg)
        if (n !== undefined && this.signal(n, 'SIGCONT')) {
          if (n.state === 'paused') n.state = 'up'
          this.say(`${now()}  > ${n.name} continues (SIGCONT)`)
          this.checkConverged()
        }
        return
      }
      case 'r':
        return this.restart(this.node(arg))
      case 'm':
        return this.table(arg === undefined ? this.nodes.find((n) => n.state === 'up') ?? this.nodes[0] : this.node(arg))
      case 'h':
      case '?':
      case 'help':
        for (const l of this.help()) this.say(l)
        return
      case 'q':
      case 'quit':
      case 'exit':
        void this.stop()
        return
      default:
        this.say(`unknown command ${JSON.stringify(cmd)}; \`h\` lists them`)
    }
  }

  private async restart(n: DemoNode | undefined): Promise<void> {
    if (n === undefined) return
    if (n.state !== 'down') {
      if (n.state === 'paused') this.signal(n, 'SIGCONT')
      n.state = 'stopping'
      this.signal(n, 'SIGTERM')
      if ((await within(STOP_LIMIT_MS, n.exited)) === 'timeout') this.signal(n, 'SIGKILL')
      await n.exited
    }
    if (this.stopping !== undefined) return
    const seeds = this.nodes.filter((o) => o !== n && o.state === 'up').map((o) => `127.0.0.1:${o.gossipPort}`)
    this.spawnNode(n, seeds)
    this.say(`${clock(Date.now())}  > ${n.name} restarts as pid ${n.proc?.pid ?? '?'}, joining ${seeds.length > 0 ? seeds.join(' ') : 'the members in its snapshot'}`)
    await this.waitStarted(n)
  }

  /** The member table as `n` sees it, from its HTTP API. */
  private async table(n: DemoNode | undefined): Promise<void> {
    if (n === undefined) return
    if (n.state === 'down' || n.state === 'paused') {
      this.say(`${n.name} is ${n.state === 'paused' ? 'paused' : 'not running'}; try another node, e.g. \`m ${n.index === 1 ? 2 : 1}\``)
      return
    }
    try {
      const res = await fetch(`http://127.0.0.1:${n.httpPort}/v1/members`, { signal: AbortSignal.timeout(TABLE_LIMIT_MS) })
      const members = (await res.json()) as Array<{ name: string; address: string; state: string; incarnation: number }>
      this.say(`Members as ${n.name} sees them:`)
      this.say(`  ${'name'.padEnd(10)} ${'address'.padEnd(20)} ${'state'.padEnd(8)} incarnation`)
      for (const m of members.sort((a, b) => byNodeNumber(a.name, b.name))) {
        this.say(`  ${m.name.padEnd(10)} ${m.address.padEnd(20)} ${m.state.padEnd(8)} ${m.incarnation}`)
      }
    } catch (e) {
      this.say(`${n.name} did not answer on 127.0.0.1:${n.httpPort}: ${(e as Error).message}`)
    }
  }

  nodeList(): ChaosNode[] {
    return this.nodes.map((n) => ({
      index: n.index, name: n.name, state: n.state, pid: n.proc?.pid ?? null,
      gossip: `127.0.0.1:${n.gossipPort}`, http: `127.0.0.1:${n.httpPort}`, httpPort: n.httpPort,
    }))
  }

  /** A chaos control of the dashboard: the same as typing the command. */
  async act(index: number, action: ChaosAction): Promise<string> {
    const n = this.nodes[index - 1]
    const pid = n.proc?.pid
    await this.command(`${ACTION_COMMANDS[action]} ${index}`)
    if (action === 'kill') await within(KILL_LIMIT_MS, n.exited)
    const now = n.proc?.pid
    return `${action} ${n.name}${pid === undefined ? '' : ` (pid ${pid})`}: now ${n.state}${now !== undefined && now !== pid ? `, pid ${now}` : ''}`
  }

  faults(): { partition: string[]; loss: number } {
    return { partition: [...this.partition].sort(byNodeNumber), loss: this.loss }
  }

  setFaults(partition: readonly string[] | undefined, loss: number | undefined): void {
    if (partition !== undefined) this.partition = new Set(partition)
    if (loss !== undefined) this.loss = loss
    const cut = this.partition.size === 0 ? 'no partition' : `${[...this.partition].sort(byNodeNumber).join(' ')} cut off from the others`
    this.say(`${clock(Date.now())}  > faults: ${cut}, ${Math.round(this.loss * 100)}% packet loss`)
    this.sendFaults()
  }

  /** Tells each running agent what to drop (faults.ts reads it from its stdin). */
  private sendFaults(): void {
    for (const n of this.nodes) {
      if (n.proc?.stdin == null || n.state === 'down') continue
      const inCut = this.partition.has(n.name)
      const block = this.nodes.filter((o) => o !== n && this.partition.has(o.name) !== inCut).map((o) => `127.0.0.1:${o.gossipPort}`)
      n.proc.stdin.write(JSON.stringify({ faults: { block, loss: this.loss } }) + '\n')
    }
  }

  /** Continues paused nodes, SIGTERMs all, SIGKILLs stragglers, says how each exited. Idempotent. */
  stop(): Promise<number> {
    this.stopping ??= (async () => {
      const running = this.nodes.filter((n) => n.state !== 'down')
      this.say(`${clock(Date.now())}  > stopping: SIGTERM to ${running.map((n) => n.name).join(' ') || 'no node'}; each leaves gracefully (up to ${STOP_LIMIT_MS / 1000} s)`)
      for (const n of running) {
        if (n.state === 'paused') this.signal(n, 'SIGCONT')
        this.signal(n, 'SIGTERM')
        n.state = 'stopping'
      }
      if ((await within(STOP_LIMIT_MS, Promise.all(running.map((n) => n.exited)))) === 'timeout') {
        for (const n of this.nodes.filter((o) => o.state !== 'down')) {
          this.say(`${n.name} did not exit within ${STOP_LIMIT_MS / 1000} s; SIGKILL`)
          this.signal(n, 'SIGKILL')
        }
        await within(KILL_LIMIT_MS, Promise.all(running.map((n) => n.exited)))
      }
      this.coalescer.flushAll()
      this.say('')
      for (const n of this.nodes) this.say(`  ${n.name.padEnd(9)} ${n.lastExit}`)
      await Promise.all(this.nodes.map((n) => new Promise<void>((resolve) => n.log.end(resolve))))
      this.say(`Agent logs: ${this.logDir}`)
      this.finish(0)
      return 0
    })()
    return this.stopping
  }

  /** Sync last resort when the demo process exits: the agents' watchdog sees their stdin close and leaves; paused ones must run to see it. */
  continueAll(): void {
    for (const n of this.nodes) {
      if (n.proc?.pid !== undefined && n.state !== 'down') {
        try {
          process.kill(n.proc.pid, 'SIGCONT')
        } catch {
          // already gone
        }
      }
    }
  }
}

/** Opens the dashboard in a browser when someone sits at this terminal with a display; never fails. */
function openBrowser(url: string): void {
  if (!process.stdout.isTTY || (process.env.DISPLAY === undefined && process.env.WAYLAND_DISPLAY === undefined && process.platform === 'linux')) return
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true })
  child.on('error', () => {})
  child.unref()
}

/** The base port to use: the one asked for, or 0 (free ports) when the default range is taken. */
async function choosePorts(opts: DemoClusterOptions, io: CommandIo): Promise<number> {
  const base = opts.basePort ?? DEFAULT_BASE_PORT
  if (base === 0) return 0
  const taken = await takenPort(base, opts.nodes)
  if (taken === undefined) return base
  if (opts.basePort !== undefined) {
    throw new UsageError(`port ${taken} is in use; pick other ports with --base-port PORT (gossip PORT.., HTTP PORT+${HTTP_OFFSET}..), or --base-port 0 for any free ports`)
  }
  io.out(`Port ${taken} is in use, so the demo uses free ports instead (pick fixed ones with --base-port PORT).\n`)
  return 0
}

/** Runs the demo until Ctrl-C, SIGTERM or `q`; resolves with the exit code. */
export async function runDemoCluster(opts: DemoClusterOptions, io: CommandIo): Promise<number> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) {
    throw new UsageError(`--nodes ${opts.nodes}: expected 1 to ${MAX_NODES} agents`)
  }
  if (opts.basePort !== undefined && (!Number.isInteger(opts.basePort) || opts.basePort < 0 || (opts.basePort > 0 && (opts.basePort < 1024 || opts.basePort + HTTP_OFFSET + opts.nodes - 1 > 65535)))) {
    throw new UsageError(`--base-port ${opts.basePort}: expected 0 (any free ports) or a port from 1024 up to ${65535 - HTTP_OFFSET - opts.nodes + 1}`)
  }
  const base = await choosePorts(opts, io)
  const cluster = new DemoCluster(opts, io)
  const onExit = (): void => cluster.continueAll()
  process.on('exit', onExit)
  const onSignal = (): void => void cluster.stop()
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal)
  const input = createInterface({ input: process.stdin, terminal: false })
  const chaos = new ChaosServer(cluster)
  try {
    if (!(await cluster.start(base))) {
      await cluster.stop()
      return 1
    }
    const uiPort = await chaos.listen(base === 0 || !(await canBind(base + HTTP_OFFSET - 1, false)) ? 0 : base + HTTP_OFFSET - 1)
    cluster.dashboard = `http://127.0.0.1:${uiPort}/ui/`
    cluster.banner()
    openBrowser(cluster.dashboard)
    input.on('line', (line) => void cluster.command(line))
    return await cluster.stopped
  } finally {
    await chaos.close()
    input.close()
    process.stdin.destroy()
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal)
    process.off('exit', onExit)
  }
}
