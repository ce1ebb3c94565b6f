/**
 * `grapevine reachability [--verbose] [--timeout MS]`, as `serf reachability`: the agent sends Serf's
 * `_serf_ping` query asking every member to ack and reports, at the deadline, the live members that did
 * not ack (gossip does not reach them, or their acks do not come back) and the members that acked
 * without being live (false failure detection). Exit 0 when every live member acked, none else and
 * none twice; 1 otherwise.
 *
 * The lines scripts check in Serf's output are kept as they are ("Total members: N, live members: M",
 * "Successfully contacted all live nodes", "\tAck from 'NAME'"); the acks are printed when the test
 * ends rather than as they arrive.
 */
import type { ReachabilityReport } from '../runtime/node/start-node.js'
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'
import type { ClientFlags } from './client.js'
import { call, target } from './client.js'

const TIPS = `
What to check:
* every member can reach every other at its gossip address, UDP and TCP (firewalls, NetworkPolicies, security groups)
* an advertised address (--advertise) is one the others can route to, and it reaches the bound one
* no member sits behind NAT
* in Kubernetes: the pods' gossip port is open between pods, and the advertised address is the pod IP`

export async function reachabilityCommand(flags: ClientFlags & { verbose?: boolean; timeout?: string }, io: CommandIo, env = process.env): Promise<number> {
  let timeoutMs: number | undefined
  if (flags.timeout !== undefined) {
    timeoutMs = /^\d+$/.test(flags.timeout) ? Number(flags.timeout) : NaN
    if (!(timeoutMs > 0 && timeoutMs <= 300_000)) throw new UsageError(`--timeout ${JSON.stringify(flags.timeout)}: expected milliseconds from 1 to 300000, like 3000`)
  }
  const t = target(flags, env)
  if (flags.json !== true) {
    const members = (await (await call(t, 'GET', '/v1/members')).json()) as Array<{ state: string }>
    io.out(`Total members: ${members.length}, live members: ${members.filter((m) => m.state === 'alive').length}\n`)
    io.out('Starting reachability test...\n')
  }
  const r = (await (await call(t, 'POST', '/v1/reachability', timeoutMs === undefined ? {} : { timeoutMs })).json()) as ReachabilityReport
  if (flags.json === true) {
    io.out(JSON.stringify(r, null, 2) + '\n')
    return r.ok ? 0 : 1
  }
  if (flags.verbose === true) {
    for (const a of r.acks) io.out(`\tAck from '${a.name}'\n`)
    io.out(`Query time: ${(r.queryMs / 1000).toFixed(2)} sec, time to last response: ${(r.lastAckMs / 1000).toFixed(2)} sec\n`)
  }
  if (r.duplicates.length > 0) {
    io.out(`More than one ack under the name${r.duplicates.length === 1 ? '' : 's'} ${r.duplicates.map((n) => `'${n}'`).join(', ')}: two nodes share a name; give every node its own.\n`)
  }
  if (r.missing.length === 0 && r.unexpected.length === 0) {
    io.out(r.duplicates.length === 0 ? 'Successfully contacted all live nodes\n' : 'Every live node acked.\n')
    return r.ok ? 0 : 1
  }
  if (r.missing.length > 0) {
    io.out(`No ack from ${r.missing.length} of ${r.live.length} live members:\n${r.missing.map((n) => `\t${n}\n`).join('')}`)
    io.out('Either the query did not reach them or their acks did not come back: packets are being lost or blocked.\n')
  }
  if (r.unexpected.length > 0) {
    io.out(`Acks from ${r.unexpected.length} member${r.unexpected.length === 1 ? '' : 's'} this node does not count as live:\n${r.unexpected.map((n) => `\t${n}\n`).join('')}`)
    io.out('They answer, so marking them failed was wrong: failure detection is misled (probes or their acks lost, timeouts too short).\n')
  }
  io.out(TIPS + '\n')
  return 1
}
