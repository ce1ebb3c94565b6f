/**
 * The network of `npm run bench:faults` (bench/faults.ts): two network namespaces joined by a veth pair,
 * so that the cluster can be cut in halves, and an nftables table in each that drops gossip packets.
 *
 * ```
 *   namespace <name>-a  10.91.0.1 ── veth ── 10.91.0.2  namespace <name>-b
 *     the bench, half A's agents                           half B's agents
 * ```
 *
 * - Loss P %: in each namespace's input hook, every packet from or to a gossip port (UDP datagrams and
 *   TCP segments alike, SYNs and ACKs included) is dropped when `numgen random mod 100 < P`. A packet
 *   crosses exactly one input hook (its receiver's), so each one is dropped once, independently, with
 *   probability P — what the simulator's `--loss` does to datagrams and stream segments.
 * - Partition: each namespace's input hook drops gossip packets from the other's address, UDP and TCP.
 *   Drops are only ever made on input, where they are silent as on a real network: a drop in the output
 *   hook fails the sender's sendto() with EPERM, which memberlist takes as "could not send" and never
 *   as a failed probe (Serf's agents on that side then never suspect anyone).
 * - The bench's own connections (Grapevine's HTTP API, Serf's RPC) use other ports and are never dropped.
 */
import { spawnSync } from 'node:child_process'
import type { PortRange } from './cluster-net.js'

export const ADDRESS_A = '10.91.0.1'
export const ADDRESS_B = '10.91.0.2'
const TABLE = 'gvfaults'

export interface NamespacePair {
  readonly a: string
  readonly b: string
}

export interface Faults {
  /** Percent of gossip packets dropped, 0–100 (integer). */
  readonly lossPercent: number
  /** Halves A and B cannot reach each other on gossip ports. */
  readonly partition: boolean
}

function run(command: string, args: readonly string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(command, [...args], { encoding: 'utf8', input, timeout: 15_000 })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error === undefined ? '' : String(r.error)}`.trim() }
}

/** Creates both namespaces and the veth pair between them; an error message when that is not possible. */
export function createPair(name: string): { pair: NamespacePair } | { error: string } {
  const pair = { a: `${name}-a`, b: `${name}-b` }
  // veth names are at most 15 characters and live in the host namespace until moved.
  const tag = name.replace(/[^a-z0-9]/gi, '').slice(-9)
  const steps: Array<readonly string[]> = [
    ['netns', 'add', pair.a],
    ['netns', 'add', pair.b],
    ['link', 'add', `${tag}a`, 'type', 'veth', 'peer', 'name', `${tag}b`],
    ['link', 'set', `${tag}a`, 'netns', pair.a],
    ['link', 'set', `${tag}b`, 'netns', pair.b],
    ['-n', pair.a, 'addr', 'add', `${ADDRESS_A}/24`, 'dev', `${tag}a`],
    ['-n', pair.b, 'addr', 'add', `${ADDRESS_B}/24`, 'dev', `${tag}b`],
    ['-n', pair.a, 'link', 'set', `${tag}a`, 'up'],
    ['-n', pair.b, 'link', 'set', `${tag}b`, 'up'],
    ['-n', pair.a, 'link', 'set', 'lo', 'up'],
    ['-n', pair.b, 'link', 'set', 'lo', 'up'],
  ]
  for (const step of steps) {
    const r = run('ip', step)
    if (!r.ok) {
      deletePair(pair)
      return { error: `ip ${step.join(' ')} failed: ${r.out}` }
    }
  }
  return { pair }
}

/** Deletes both namespaces (the veth pair goes with them). */
export function deletePair(pair: NamespacePair): void {
  run('ip', ['netns', 'del', pair.a])
  run('ip', ['netns', 'del', pair.b])
}

/** PIDs of the processes still inside either namespace (all of them the bench's). */
export function pairPids(pair: NamespacePair): number[] {
  const out: number[] = []
  for (const ns of [pair.a, pair.b]) {
    const r = run('ip', ['netns', 'pids', ns])
    if (!r.ok) continue
    for (const s of r.out.split(/\s+/)) {
      const n = Number.parseInt(s, 10)
      if (Number.isInteger(n) && n > 0) out.push(n)
    }
  }
  return out
}

/** The nftables table for one namespace under `faults`. */
export function faultTable(side: 'a' | 'b', faults: Faults, gossip: readonly PortRange[]): string {
  const ports = gossip.map((r) => `${r.from}-${r.to}`).join(', ')
  const lines = [`table inet ${TABLE} {`, `  set gossip { type inet_service; flags interval; elements = { ${ports} } }`]
  lines.push('  chain in {', '    type filter hook input priority 0; policy accept;')
  if (faults.partition) {
    const other = side === 'a' ? ADDRESS_B : ADDRESS_A
    lines.push(`    ip saddr ${other} meta l4proto { tcp, udp } th sport @gossip drop`)
    lines.push(`    ip saddr ${other} meta l4proto { tcp, udp } th dport @gossip drop`)
  }
  if (faults.lossPercent > 0) {
    const p = faults.lossPercent
    // One rule per packet: from a gossip port, or else to one (a TCP segment from an ephemeral port).
    lines.push(`    meta l4proto { tcp, udp } th sport @gossip numgen random mod 100 < ${p} drop`)
    lines.push(`    meta l4proto { tcp, udp } th sport != @gossip th dport @gossip numgen random mod 100 < ${p} drop`)
  }
  lines.push('  }')
  lines.push('}', '')
  return lines.join('\n')
}

/** Replaces the fault tables of both namespaces (throws with nft's message when a table does not load). */
export function setFaults(pair: NamespacePair, faults: Faults, gossip: readonly PortRange[]): void {
  for (const [side, ns] of [['a', pair.a], ['b', pair.b]] as const) {
    run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', TABLE])
    const r = run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], faultTable(side, faults, gossip))
    if (!r.ok) throw new Error(`nft could not load the fault table in ${ns}: ${r.out}`)
  }
}

/** Whether nft and ip (iproute2) are there to build the network with. */
export function nftWorks(): boolean {
  return run('nft', ['--version']).ok && run('ip', ['-V']).ok
}

/**
 * Drops `lossPercent` % of gossip packets in the namespace this process runs in (input hook, as
 * `faultTable` does; 0 removes the table). For the cluster bench, which runs in one namespace of its own.
 */
export function setLossHere(lossPercent: number, gossip: readonly PortRange[]): void {
  run('nft', ['delete', 'table', 'inet', TABLE])
  if (lossPercent <= 0) return
  const r = run('nft', ['-f', '-'], faultTable('a', { lossPercent, partition: false }, gossip))
  if (!r.ok) throw new Error(`nft could not load the loss table: ${r.out}`)
}
