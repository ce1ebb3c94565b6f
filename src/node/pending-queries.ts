/**
 * The Serf queries this node sent and is still collecting for, keyed by (lTime, id):
 *
 *   query() ──open──▶ { name, acks, responses } ◀──reply── serf 'queryReply' events
 *   queryDeadline timer ──complete──▶ QueryResult (the entry goes)      progress(): a copy so far
 *
 * Pure bookkeeping for the composed node (node.ts); no timers of its own.
 */
import type { QueryResult } from './types.js'
import { queryKey } from './types.js'

interface PendingQuery {
  readonly name: string
  readonly acks: string[]
  readonly responses: Array<{ readonly from: string; readonly payload: Uint8Array }>
}

/** Serf's DefaultQueryTimeout: GossipInterval × QueryTimeoutMult (16) × ceil(log10(N + 1)). */
export function defaultQueryTimeoutMs(gossipIntervalMs: number, clusterSize: number): number {
  return gossipIntervalMs * 16 * Math.max(1, Math.ceil(Math.log10(clusterSize + 1)))
}

export class PendingQueries {
  private readonly queries = new Map<string, PendingQuery>()

  open(lTime: number, id: number, name: string): void {
    this.queries.set(queryKey(lTime, id), { name, acks: [], responses: [] })
  }

  /** An ack or a response to one of our queries; ignored once the query completed. */
  reply(lTime: number, id: number, from: string, ack: boolean, payload: Uint8Array): void {
    const q = this.queries.get(queryKey(lTime, id))
    if (q === undefined) return
    if (ack) q.acks.push(from)
    else q.responses.push({ from, payload })
  }

  /** What a query has collected so far (undefined once completed or unknown). */
  progress(lTime: number, id: number): QueryResult | undefined {
    const q = this.queries.get(queryKey(lTime, id))
    return q === undefined ? undefined : { name: q.name, lTime, acks: [...q.acks], responses: [...q.responses] }
  }

  /** Ends a query at its deadline: what it collected (undefined when unknown). */
  complete(lTime: number, id: number): QueryResult | undefined {
    const key = queryKey(lTime, id)
    const q = this.queries.get(key)
    if (q === undefined) return undefined
    this.queries.delete(key)
    return { name: q.name, lTime, acks: q.acks, responses: q.responses }
  }
}
