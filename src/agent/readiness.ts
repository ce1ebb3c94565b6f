/**
 * What the agent answers on GET /health/ready, and how it logs rediscovery rounds.
 *
 *   stopping                          → 503 "leaving the cluster"
 *   a live peer (alive, not us)       → 200 "N live peers" (hyparview: "N live overlay neighbours", the active view)
 *   --bootstrap, or no seeds at all   → 200 "first node (…)": a cluster has to start somewhere
 *   seeds, join not done              → 503 "not joined yet: attempt N failed: …"
 *   joined, no live peer now          → 503 "joined, but no live peer now (…)"
 */
import type { Logger } from './log.js'
import type { DiscoveryEvent, GrapevineNode } from '../runtime/node/start-node.js'
import type { Readiness } from './http/health.js'

export interface ReadinessFacts {
  readonly bootstrap: boolean
  /** The seeds the agent joins (from --join or the snapshot); none: the first node. */
  readonly seeds: readonly string[]
  readonly stopping: boolean
  readonly join: { readonly attempts: number; readonly done: boolean; readonly contacted: number; readonly lastError?: string }
}

export function readiness(node: GrapevineNode, f: ReadinessFacts): Readiness {
  const members = node.members().filter((m) => m.name !== node.name)
  // membership hyparview: a node knows its overlay neighbours; each active one is a live peer.
  const neighbours = node.overlay()?.active.length
  const livePeers = neighbours ?? members.filter((m) => m.state === 'alive').length
  if (f.stopping) return { ready: false, reason: 'leaving the cluster', livePeers }
  if (livePeers > 0) return { ready: true, reason: `${livePeers} live ${neighbours === undefined ? 'peer' : 'overlay neighbour'}${livePeers === 1 ? '' : 's'}`, livePeers }
  if (f.bootstrap) return { ready: true, reason: 'first node (--bootstrap), no peer yet', livePeers }
  if (f.seeds.length === 0) return { ready: true, reason: 'first node (no seeds to join), no peer yet', livePeers }
  if (!f.join.done || f.join.contacted === 0) {
    const why = f.join.attempts === 0 ? 'joining' : `attempt ${f.join.attempts} failed: ${(f.join.lastError ?? 'no seed answered').replace(/\s*\n\s*/g, ' ')}`
    return { ready: false, reason: `not joined yet (${why})`, livePeers }
  }
  const down = members.length
  return { ready: false, reason: `joined, but no live peer now (${down} member${down === 1 ? '' : 's'} suspect, failed or left)`, livePeers }
}

/** A round that joined someone is news (info); one that failed to resolve a warning; a quiet one debug. */
export function logDiscovery(log: Logger, e: DiscoveryEvent): void {
  const fields = { seeds: e.seeds, found: e.found.length, joined: e.joined, contacted: e.contacted, errors: e.errors.length > 0 ? e.errors : undefined }
  if (e.joined.length > 0) log.info(fields, e.contacted > 0 ? 'rediscovery joined new members' : 'rediscovery found new addresses; none answered')
  else if (e.errors.length > 0) log.warn(fields, 'rediscovery could not resolve every seed; trying again next round')
  else log.debug(fields, 'rediscovery found no new member')
}
