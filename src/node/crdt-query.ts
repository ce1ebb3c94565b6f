/**
 * Consistency beyond local for the replicated data types, over Serf's queries (the node's own).
 *
 *   writer: write here ──▶ query `grapevine-crdt` [states: the write's delta] ──▶ every member
 *   member: merges it ──▶ answers (empty) ──▶ writer counts answers until majority / all, or its timeout
 *   reader: query [need: key] ──▶ member answers with its state of the key ──▶ reader merges each answer
 *
 * A Serf agent in the cluster acks such a query but never answers it, so only Grapevine nodes count.
 * Serf caps a query and each answer at 1024 bytes: a delta or a state that does not fit cannot use
 * these consistency levels (the caller gets an error naming the limit). Pure.
 */
import { SERF_QUERY_SIZE_LIMIT } from '../serf/messages.js'
import type { CrdtProtocol } from '../stack/crdt-protocol.js'

/** The query's name (not `_serf_…`, which Serf reserves for itself). */
export const CRDT_QUERY = 'grapevine-crdt'

/** Room the query response framing takes out of Serf's limit. */
const RESPONSE_FRAMING_BYTES = 128

/** The answer to a `grapevine-crdt` query; merging what it carries first. */
export function answerCrdtQuery(crdt: CrdtProtocol, payload: Uint8Array): Uint8Array {
  const answer = crdt.replicator.answerQuery(payload, SERF_QUERY_SIZE_LIMIT - RESPONSE_FRAMING_BYTES)
  crdt.flush()
  return answer
}
