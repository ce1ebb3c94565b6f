/**
 * Event handler scripts (`--event-handler`) with `--membership hyparview`. The node knows its overlay
 * neighbours, a partial view of a few peers, not the cluster; SWIM's member events never come. So
 * the neighbours' comings and goings are given to the scripts as Serf's member events:
 *
 *   node 'neighbor' neighborUp                          ──▶ member-join    (a peer became our neighbour)
 *                   neighborDown timeout | unreachable  ──▶ member-failed  (it vanished: silent, or sends fail)
 *                   neighborDown shutdown               ──▶ member-leave   (it left the cluster)
 *                   neighborDown disconnect | evicted   ──▶ member-leave   (it left our view; it still runs)
 *                   isolated                            ──▶ nothing (the neighbour-downs before it said it)
 *        ──▶ EventHandlers' member path (coalesced as Serf's, one stdin line per neighbour)
 *
 * Serf's variables where they mean something: SERF_EVENT, SERF_SELF_NAME; SERF_SELF_ROLE and
 * SERF_TAG_* are empty (tags ride on SWIM's member records and do not exist in this mode). Each stdin
 * line is `NAME\tADDRESS\tROLE\tTAGS` as Serf writes it, with NAME the neighbour's overlay id (the
 * `ip:port` it listens on: the overlay does not carry node names), ADDRESS its IP, ROLE and TAGS empty.
 * Every script also gets GRAPEVINE_MEMBERSHIP=hyparview, so one script can tell a partial view's
 * events from a full membership's.
 *
 * User events and queries never reach a node in this mode (both are Serf's and need SWIM): a handler
 * whose every filter is `user`, `user:NAME`, `query` or `query:NAME` would never run, so the agent
 * refuses it at start with `hyparviewHandlerProblems`, naming the mode and the fix.
 */
import type { MemberEventName } from './event-coalescer.js'
import type { Member, OverlayNodeEvent } from '../node/types.js'
import type { GrapevineNode } from '../runtime/node/start-node.js'

/** The Serf member event a neighbour event is given to scripts as (undefined: none). */
export function neighborMemberEvent(e: OverlayNodeEvent): MemberEventName | undefined {
  if (e.type === 'neighborUp') return 'member-join'
  if (e.type !== 'neighborDown') return undefined
  return e.cause === 'timeout' || e.cause === 'unreachable' ? 'member-failed' : 'member-leave'
}

/** A neighbour as a member line's fields: its overlay id for the name, its address, no tags. */
export function neighborAsMember(e: Extract<OverlayNodeEvent, { peer: string }>): Member {
  return {
    name: e.peer,
    address: e.address,
    state: e.type === 'neighborUp' ? 'alive' : e.cause === 'shutdown' ? 'left' : e.cause === 'timeout' || e.cause === 'unreachable' ? 'dead' : 'alive',
    incarnation: 0,
    meta: new Uint8Array(0),
    vsn: new Uint8Array(0),
    stateChangeMs: 0,
    tags: {},
  }
}

/**
 * Gives a hyparview node's neighbour events to `onChange` as member events; returns the detach
 * function. Does nothing (and detaches nothing) on a SWIM node.
 */
export function attachNeighborEvents(node: GrapevineNode, onChange: (event: MemberEventName, member: Member) => void): () => void {
  if (node.overlay() === undefined) return () => undefined
  const listener = (e: OverlayNodeEvent): void => {
    if (e.type === 'isolated') return
    const event = neighborMemberEvent(e)
    if (event !== undefined) onChange(event, neighborAsMember(e))
  }
  node.on('neighbor', listener)
  return () => void node.off('neighbor', listener)
}

/** The variables every script of a hyparview node gets on top of Serf's. */
export function membershipEnv(node: GrapevineNode): Record<string, string> {
  return node.overlay() === undefined ? {} : { GRAPEVINE_MEMBERSHIP: 'hyparview' }
}

const NEVER_IN_HYPARVIEW = new Set(['user', 'query'])

/** Handlers that could never run with membership hyparview, each named with the fix. */
export function hyparviewHandlerProblems(scripts: ReadonlyArray<{ readonly spec: string; readonly filters: ReadonlyArray<{ readonly event: string }> }>): string[] {
  return scripts
    .filter((s) => s.filters.every((f) => NEVER_IN_HYPARVIEW.has(f.event)))
    .map(
      (s) =>
        `--event-handler ${JSON.stringify(s.spec)}: with --membership hyparview no user event or query ever arrives (both are Serf's and need SWIM's full membership), so this script would never run; ` +
        `handle member-join / member-leave / member-failed (neighbours coming and going), or run --membership swim`,
    )
}
