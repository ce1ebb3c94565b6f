/**
 * `grapevine datacenters`: the datacenters a running agent knows and their servers (a server: from
 * its WAN pool; a client: its own datacenter's servers), healthiest and nearest first. A server the
 * WAN pool declared failed is listed as `failed (soft)`: kept for routing, tried last.
 */
import type { ClientFlags } from './client.js'
import { call, target } from './client.js'
import type { CommandIo } from '../output/io.js'
import { table } from '../output/table.js'

interface DatacentersJson {
  readonly datacenter: string
  readonly server: boolean
  readonly datacenters: ReadonlyArray<{ datacenter: string; servers: ReadonlyArray<{ name: string; address: string; state: string; failed: boolean; rttMs: number | null }> }>
}

export async function datacentersCommand(flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const body = (await (await call(target(flags, env), 'GET', '/v1/datacenters')).json()) as DatacentersJson
  if (flags.json === true) {
    io.out(JSON.stringify(body, null, 2) + '\n')
    return 0
  }
  const rows = body.datacenters.flatMap((d) =>
    d.servers.map((s) => [d.datacenter + (d.datacenter === body.datacenter ? ' (this)' : ''), s.name, s.address, s.failed ? 'failed (soft)' : s.state, s.rttMs === null ? '-' : `${s.rttMs.toFixed(1)} ms`]),
  )
  io.out(table(['DATACENTER', 'SERVER', 'ADDRESS', 'STATUS', 'RTT'], rows))
  return 0
}
