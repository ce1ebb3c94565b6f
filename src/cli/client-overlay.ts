/**
 * The CLI's side of `--membership hyparview`: the agent's overlay flags, `grapevine members` when the
 * agent answers with its partial view, and `grapevine overlay` (GET /v1/overlay).
 *
 *   grapevine agent --membership hyparview [--active-view N] [--passive-view N] [--active-walk N] [--passive-walk N]
 *                   [--shuffle-interval MS] [--keepalive-interval MS] [--keepalive-timeout MS]
 *   grapevine members   ──▶ /v1/members ──▶ a partial view? partial-view.ts prints it
 *   grapevine overlay [--json] ──▶ /v1/overlay ──▶ views, tree, caches and counters
 */
import type { Command } from 'commander'
import type { CommandIo } from '../output/io.js'
import { call, target, type ClientFlags } from './client.js'
import type { PartialView } from './partial-view.js'

export function addOverlayAgentFlags(cmd: Command): Command {
  return cmd
    .option('--membership <MODE>', 'swim (full membership, default) or hyparview: partial views and Plumtree broadcasts, for clusters too large for full membership (no Serf events, queries, tags or coordinates)')
    .option('--active-view <N>', 'hyparview: monitored neighbours (default 5)')
    .option('--passive-view <N>', 'hyparview: backup peers (default 30)')
    .option('--active-walk <N>', 'hyparview: FORWARD_JOIN walk length, ARWL (default 6)')
    .option('--passive-walk <N>', 'hyparview: walk length at which a joiner enters passive views, PRWL (default 3)')
    .option('--shuffle-interval <MS>', 'hyparview: SHUFFLE period (default 10000)')
    .option('--keepalive-interval <MS>', 'hyparview: keep-alive pings to neighbours (default 1000)')
    .option('--keepalive-timeout <MS>', 'hyparview: a silent neighbour is down after this long (default 5000; 0: no pings)')
}

/** The lines `grapevine agent --help` adds to its environment list. */
export const OVERLAY_ENV_HELP = `  GRAPEVINE_MEMBERSHIP               --membership
  GRAPEVINE_ACTIVE_VIEW              --active-view
  GRAPEVINE_PASSIVE_VIEW             --passive-view
  GRAPEVINE_ACTIVE_WALK              --active-walk
  GRAPEVINE_PASSIVE_WALK             --passive-walk
  GRAPEVINE_SHUFFLE_INTERVAL         --shuffle-interval
  GRAPEVINE_KEEPALIVE_INTERVAL       --keepalive-interval
  GRAPEVINE_KEEPALIVE_TIMEOUT        --keepalive-timeout
`

interface OverlayBody extends PartialView {
  readonly tree: { eager: number; lazy: number; cacheSize: number; seenSize: number; missingSize: number }
  readonly counters: {
    readonly hyparview: { neighborUp: number; neighborDown: Record<string, number>; shufflesSent: number; rejoins: number; reconnects: number }
    readonly plumtree: { broadcasts: number; delivered: number; duplicates: number; gossipSent: number; ihaveSent: number; graftSent: number; pruneSent: number; optimizations: number; repairPushes?: number }
    readonly crdt: { rounds: number; messagesSent: number; messagesReceived: number } | null
  }
}

export async function overlayCommand(flags: ClientFlags, io: CommandIo, env = process.env): Promise<number> {
  const body = (await (await call(target(flags, env), 'GET', '/v1/overlay')).json()) as OverlayBody
  if (flags.json === true) {
    io.out(JSON.stringify(body, null, 2) + '\n')
    return 0
  }
  const h = body.counters.hyparview
  const p = body.counters.plumtree
  const downs = Object.entries(h.neighborDown).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'
  io.out(
    [
      `${body.self.name} (${body.self.peer}): ${body.note}.`,
      `active view  ${body.active.length}: ${body.active.map((a) => `${a.peer} (${a.tree})`).join(', ') || 'none (isolated: rejoining)'}`,
      `passive view ${body.passive.length}: ${body.passive.join(', ') || 'none'}`,
      `tree         ${body.tree.eager} eager, ${body.tree.lazy} lazy; cache ${body.tree.cacheSize} payloads, ${body.tree.seenSize} ids seen, ${body.tree.missingSize} missing`,
      `neighbours   ${h.neighborUp} up; down: ${downs}; ${h.shufflesSent} shuffles, ${h.rejoins} rejoins, ${h.reconnects} reconnects`,
      `plumtree     ${p.broadcasts} broadcast, ${p.delivered} delivered, ${p.duplicates} duplicates; sent ${p.gossipSent} payload, ${p.ihaveSent} IHAVE, ${p.graftSent} GRAFT, ${p.pruneSent} PRUNE; ${p.optimizations} optimizations, ${p.repairPushes ?? 0} repair pushes`,
      ...(body.counters.crdt === null ? [] : [`crdt         ${body.counters.crdt.rounds} rounds, ${body.counters.crdt.messagesSent} messages sent, ${body.counters.crdt.messagesReceived} received`]),
    ].join('\n') + '\n',
  )
  return 0
}
