/**
 * `grapevine rtt A [B]`: the estimated round trip between two members from a running agent's network
 * coordinates (B defaults to the agent's own node), printed as `serf rtt` prints it.
 */
import type { ClientFlags } from './client.js'
import { call, target } from './client.js'
import type { CommandIo } from '../output/io.js'

export async function rttCommand(a: string, b: string | undefined, flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const t = target(flags, env)
  const query = new URLSearchParams({ a, ...(b === undefined ? {} : { b }) })
  const r = (await (await call(t, 'GET', `/v1/coordinates/rtt?${query}`)).json()) as { a: string; b: string; rttMs: number }
  if (flags.json === true) io.out(JSON.stringify(r, null, 2) + '\n')
  else io.out(`Estimated ${r.a} <-> ${r.b} rtt: ${r.rttMs.toFixed(3)} ms\n`)
  return 0
}
