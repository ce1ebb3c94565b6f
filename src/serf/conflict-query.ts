/**
 * Serf's name-conflict vote (serf/serf.go resolveNodeConflict, serf/internal_query.go handleConflict),
 * as a member that is asked. A Serf agent that sees its own name claimed from another address asks the
 * cluster who owns the name and shuts itself down unless a majority of the answers name its address:
 *
 *   Serf agent X ──query `_serf_conflict`, payload "X"──▶ every member (gossip)
 *   member       ──queryResponse [6]{Name, Addr, Port, Tags, Status, Protocol…, Delegate…}──▶ X
 *                  (nil when it knows no X; no answer at all when it is X)
 *   X: matching answers > half of all answers ? stays : shuts down
 *
 * Answering matters in a mixed cluster: a Serf agent whose only peers are Grapevine nodes would count
 * zero answers, lose the vote 0 of 0 and shut down although it is the established owner.
 *
 * Pure: the member comes from the membership the caller hands in.
 */
import type { MemberInfo } from '../swim/events.js'
import { ipToBytes } from '../core/types.js'
import { MsgpackWriter } from '../wire/msgpack-writer.js'
import { decodeTags } from './tags.js'

/** Serf's messageConflictResponseType. */
export const SERF_CONFLICT_RESPONSE = 6
/** The internal query's name on the wire (Serf's internalQueryName(conflictQuery)). */
export const SERF_CONFLICT_QUERY = '_serf_conflict'

/** Serf's MemberStatus numbers. */
const SERF_STATUS = { alive: 1, leaving: 2, left: 3, failed: 4 } as const

/**
 * The answer to a conflict query about `member` (undefined: we know no such member, Serf's nil),
 * `[6]` then Serf's Member struct as go-msgpack writes it. `leaving` says the layer heard its leave intent.
 */
export function encodeConflictResponse(member: MemberInfo | undefined, leaving: boolean): Uint8Array {
  const w = new MsgpackWriter(256)
  w.u8(SERF_CONFLICT_RESPONSE)
  if (member === undefined) {
    w.nil()
    return w.finish()
  }
  const status =
    member.state === 'left' ? SERF_STATUS.left : member.state === 'dead' ? SERF_STATUS.failed : leaving ? SERF_STATUS.leaving : SERF_STATUS.alive
  const tags = decodeTags(member.meta)
  const tagNames = Object.keys(tags)
  w.mapHeader(11)
  w.str('Name')
  w.str(member.name)
  w.str('Addr')
  w.bytes(ipToBytes(member.address.ip) ?? new Uint8Array(0))
  w.str('Port')
  w.uint(member.address.port)
  w.str('Tags')
  w.mapHeader(tagNames.length)
  for (const k of tagNames) {
    w.str(k)
    w.str(tags[k])
  }
  w.str('Status')
  w.uint(status)
  const names = ['ProtocolMin', 'ProtocolMax', 'ProtocolCur', 'DelegateMin', 'DelegateMax', 'DelegateCur']
  for (let i = 0; i < names.length; i++) {
    w.str(names[i])
    w.uint(member.vsn[i] ?? 0)
  }
  return w.finish()
}
