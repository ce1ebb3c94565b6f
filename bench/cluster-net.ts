/**
 * Byte counting for the cluster bench (bench/cluster.ts): an nftables table whose output-hook rules count
 * the UDP and TCP packets each system sends, told apart by the port ranges the agents bind in, and the
 * network namespace the whole bench runs in so that nothing else on the machine is counted.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { System } from './cluster-procs.js'

export interface PortRange {
  readonly from: number
  readonly to: number
}

export interface Counter {
  readonly packets: number
  readonly bytes: number
}

export type Counters = Record<System, { udp: Counter; tcp: Counter }>

function run(command: string, args: readonly string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(command, [...args], { encoding: 'utf8', input, timeout: 15_000 })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error === undefined ? '' : String(r.error)}`.trim() }
}

export function commandWorks(command: string, args: readonly string[]): boolean {
  return run(command, args).ok
}

const COUNTER_NAMES: Record<System, string> = { grapevine: 'gv', serf: 'serf' }

/**
 * Counts, per system and protocol, every IPv4/IPv6 packet leaving a socket (output hook) whose source
 * port is in the system's gossip range, or whose destination port is and whose source port is not
 * (TCP connections opened from an ephemeral port). Bytes are whole IP packets, headers included.
 */
export class NftCounters {
  constructor(
    readonly table: string,
    private readonly ranges: Record<System, PortRange>,
  ) {}

  install(): void {
    const lines = [`table inet ${this.table} {`]
    for (const s of Object.keys(this.ranges) as System[]) {
      for (const proto of ['udp', 'tcp']) lines.push(`  counter ${COUNTER_NAMES[s]}_${proto} { }`)
    }
    lines.push('  chain out {', '    type filter hook output priority 0; policy accept;')
    for (const s of Object.keys(this.ranges) as System[]) {
      const r = `${this.ranges[s].from}-${this.ranges[s].to}`
      for (const proto of ['udp', 'tcp']) {
        const name = `${COUNTER_NAMES[s]}_${proto}`
        lines.push(`    ${proto} sport ${r} counter name "${name}"`)
        lines.push(`    ${proto} dport ${r} ${proto} sport != ${r} counter name "${name}"`)
      }
    }
    lines.push('  }', '}', '')
    const r = run('nft', ['-f', '-'], lines.join('\n'))
    if (!r.ok) throw new Error(`nft could not load the counting table: ${r.out}`)
  }

  read(): Counters {
    const r = run('nft', ['-j', 'list', 'counters', 'table', 'inet', this.table])
    if (!r.ok) throw new Error(`nft could not list the counters: ${r.out}`)
    const byName = new Map<string, Counter>()
    const doc = JSON.parse(r.out) as { nftables?: Array<{ counter?: { name: string; packets: number; bytes: number } }> }
    for (const item of doc.nftables ?? []) {
      if (item.counter !== undefined) byName.set(item.counter.name, { packets: item.counter.packets, bytes: item.counter.bytes })
    }
    const get = (name: string): Counter => {
      const c = byName.get(name)
      if (c === undefined) throw new Error(`nft counter ${name} is missing`)
      return c
    }
    const out = {} as Counters
    for (const s of Object.keys(this.ranges) as System[]) out[s] = { udp: get(`${COUNTER_NAMES[s]}_udp`), tcp: get(`${COUNTER_NAMES[s]}_tcp`) }
    return out
  }

  remove(): void {
    run('nft', ['delete', 'table', 'inet', this.table])
  }
}

/** Creates a network namespace with loopback up; an error message when that is not possible. */
export function createNetns(name: string): string | undefined {
  const add = run('ip', ['netns', 'add', name])
  if (!add.ok) return `ip netns add failed: ${add.out}`
  const up = run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'])
  if (!up.ok) {
    deleteNetns(name)
    return `ip link set lo up in the namespace failed: ${up.out}`
  }
  return undefined
}

/** PIDs of the processes still inside a namespace (all of them started by the bench). */
export function netnsPids(name: string): number[] {
  const r = run('ip', ['netns', 'pids', name])
  if (!r.ok) return []
  return r.out
    .split(/\s+/)
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 0)
}

export function deleteNetns(name: string): void {
  run('ip', ['netns', 'del', name])
}

/**
 * Re-runs a bench script inside namespace `ns` (`ip netns exec`, output inherited), forwarding SIGINT and
 * SIGTERM to it. When it ends, or 15 s after a signal if it does not, every PID `pids()` still lists is
 * SIGKILLed (only the bench's own processes live in its namespaces) and `remove()` deletes the namespaces.
 * Resolves to the exit code.
 */
export async function reexecInside(ns: string, script: string, args: readonly string[], pids: () => number[], remove: () => void): Promise<number> {
  let cleaned = false
  const cleanup = (): void => {
    if (cleaned) return
    cleaned = true
    for (const pid of pids()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    remove()
  }
  process.on('exit', cleanup)
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], { stdio: 'inherit' })
  const forward = (sig: NodeJS.Signals): void => {
    try {
      child.kill(sig)
    } catch {
      // gone
    }
    setTimeout(() => {
      cleanup()
      process.exit(130)
    }, 15_000).unref()
  }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  const code = await new Promise<number>((resolve) => {
    child.once('error', (e) => {
      process.stderr.write(`could not run ${script} in namespace ${ns}: ${e.message}\n`)
      resolve(1)
    })
    child.once('exit', (c, sig) => resolve(c ?? (sig === null ? 1 : 130)))
  })
  cleanup()
  return code
}
