/**
 * Trace lines: one per packet, stream step, event and fault, built only when a trace sink is given.
 * The format is stable and free of wall-clock values, so two runs with the same seed and scenario give
 * byte-identical traces (the determinism test hashes them).
 *
 *   <virtual ms> pkt <from> > <to> <size>B [<message types>] <fate>
 *   <virtual ms> stream#<id> open|request|reply|result <from> > <to> …
 *   <virtual ms> event <node> <type> <member> …
 *   <virtual ms> fault <kind> <node> …
 *
 * The message types of packets and streams are described by wire/describe.ts, which the agent's
 * dashboard uses too.
 */
import type { NodeEvent } from '../../node/index.js'
import { Fate } from './network.js'

export type TraceSink = (line: string) => void

/** Virtual milliseconds with microsecond precision, right-aligned. */
export function formatTimeMs(ms: number): string {
  return ms.toFixed(3).padStart(11)
}

/** The fate part of a packet line: `+3.214` (arrival delay), `lost`, `blocked`, `dup +1.2 +5.6`, `reordered`. */
export function describeFate(fate: number, copies: number, delays: readonly number[]): string {
  if (fate & Fate.blocked) return 'blocked'
  if (fate & Fate.lost) return 'lost'
  let s = ''
  for (let i = 0; i < copies; i++) s += `${i > 0 ? ' ' : ''}+${delays[i].toFixed(3)}`
  if (fate & Fate.duplicated) s = `dup ${s}`
  if (fate & Fate.reordered) s += ' reordered'
  return s
}

/** One event as `<type> <details>`. */
export function describeEvent(event: NodeEvent): string {
  switch (event.type) {
    case 'joined':
    case 'updated':
    case 'alive':
    case 'left':
    case 'reaped':
      return `${event.type} ${event.member.name} inc=${event.member.incarnation}`
    case 'suspected':
    case 'failed':
      return `${event.type} ${event.member.name} inc=${event.member.incarnation} from=${event.from} via=${event.via}`
    case 'suspicionConfirmed':
      return `suspicionConfirmed ${event.member.name} inc=${event.member.incarnation} from=${event.from}`
    case 'refuted':
      return `refuted inc=${event.incarnation} accusation=${event.accusation}`
    case 'joinCompleted':
      return `joinCompleted id=${event.joinId} contacted=${event.contacted} errors=${event.errors.length}`
    case 'leaveCompleted':
      return `leaveCompleted timedOut=${event.timedOut}`
    case 'dropped':
      return `dropped reason=${event.reason} from=${event.from.ip}:${event.from.port}`
    case 'health':
      return `health score=${event.score}`
    case 'nameConflict':
      return `nameConflict ${event.name} kept=${event.kept.ip}:${event.kept.port} refused=${event.refused.ip}:${event.refused.port} role=${event.role}`
    case 'message':
      return `message id=${event.message.id} via=${event.message.via} hops=${event.message.hops}`
    case 'stateChanged':
      return `state ${event.event.type} node=${event.event.node}${'key' in event.event ? ` key=${event.event.key}` : ''}`
    case 'crdtChanged':
      return `crdt ${event.changes.map((c) => `${c.key}${c.local ? ' (local)' : ''}`).join(', ')}`
    case 'serf':
      return `serf ${event.event.type}`
    case 'keyringChanged':
      return 'keyringChanged'
    case 'queryCompleted':
      return `queryCompleted id=${event.id} acks=${event.result.acks.length} responses=${event.result.responses.length}`
    case 'forceLeaveCompleted':
      return `forceLeaveCompleted seq=${event.seq}`
    case 'aggregateEstimate':
      return `aggregate ${event.name} epoch=${event.estimate.epoch} value=${event.estimate.value}`
    case 'neighborUp':
      return `neighborUp ${event.peer}`
    case 'neighborDown':
      return `neighborDown ${event.peer} cause=${event.cause}`
    case 'isolated':
      return 'isolated'
  }
}
