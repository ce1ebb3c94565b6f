/**
 * How far the cluster agrees on each replicated data type's state, as the dashboard shows it: for each
 * key, this node asks every member for its state (the `grapevine-crdt` query the consistency reads use,
 * with `need: [key]`) and compares each answer's canonical bytes with its own.
 *
 *   keys (sorted, at most AGREEMENT_KEYS_MAX) ──▶ one query per key, all at once ──▶ each member answers
 *   with its state of the key (empty: it holds none; `need` back: the state exceeds Serf's 1024-byte
 *   answer) ──▶ per key: agree | differ | lacking | tooLarge, and how many answered
 *
 * Nothing is merged: this looks, it does not repair (gossip and anti-entropy do). A Serf agent acks such
 * a query but never answers it, so only Grapevine nodes count. Each check costs one query per key
 * through the cluster; the dashboard runs it every few seconds while it is open, not on every refresh.
 */
import type { GrapevineNode } from '../runtime/node/start-node.js'
import { CRDT_QUERY, decodeReplicationMessage, encodeReplicationMessage } from '../node/index.js'

/** Keys checked per request: the rest are listed without agreement. */
export const AGREEMENT_KEYS_MAX = 16
export const AGREEMENT_TIMEOUT_MS = 1500

export interface KeyAgreement {
  /** Members (this node included) holding exactly this node's state. */
  readonly agree: number
  /** Members holding another state (not converged yet, or partitioned). */
  readonly differ: number
  /** Members that answered without the key (nobody told them yet). */
  readonly lacking: number
  /** Members whose state does not fit a query answer (unknown). */
  readonly tooLarge: number
  /** Members that answered, this node included. */
  readonly answered: number
  /** Alive members this node sees, itself included. */
  readonly members: number
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

type Answer = { kind: 'state'; bytes: Uint8Array } | { kind: 'lacking' } | { kind: 'tooLarge' }

function classify(answer: Uint8Array, key: string): Answer {
  const d = decodeReplicationMessage(answer)
  if (answer.length === 0 || !d.ok || d.value.kind !== 'states') return { kind: 'lacking' }
  if (d.value.need.length > 0) return { kind: 'tooLarge' }
  const s = d.value.states.find((x) => x.key === key)
  return s === undefined ? { kind: 'lacking' } : { kind: 'state', bytes: s.state }
}

/**
 * Asks the members about one key; resolves at the query's timeout with every answer it collected. This node takes its own query as
 * Serf does (serf/serf-layer.ts) and answers it like any member: its answer is the reference, so every
 * state is compared in the same canonical form. Undefined when its own answer did not come.
 */
async function agreementOf(node: GrapevineNode, key: string, timeoutMs: number): Promise<KeyAgreement | undefined> {
  const payload = encodeReplicationMessage({ kind: 'states', states: [], need: [key] })
  const result = await node.query(CRDT_QUERY, payload, { timeoutMs })
  const counts = tallyAnswers(result.responses, node.name, key)
  return counts === undefined ? undefined : { ...counts, members: node.members().filter((m) => m.state === 'alive').length }
}

/** Counts the answers to a query about `key` against `self`'s own answer (undefined without it). Pure. */
export function tallyAnswers(responses: ReadonlyArray<{ readonly from: string; readonly payload: Uint8Array }>, self: string, key: string): Omit<KeyAgreement, 'members'> | undefined {
  const answers = new Map<string, Answer>()
  for (const r of responses) if (!answers.has(r.from)) answers.set(r.from, classify(r.payload, key))
  const mine = answers.get(self)
  if (mine === undefined || mine.kind !== 'state') return undefined
  const counts = { agree: 0, differ: 0, lacking: 0, tooLarge: 0, answered: answers.size }
  for (const a of answers.values()) {
    if (a.kind === 'state') counts[equalBytes(a.bytes, mine.bytes) ? 'agree' : 'differ']++
    else counts[a.kind]++
  }
  return counts
}

/** Agreement of the first AGREEMENT_KEYS_MAX of `keys`, by key; a failed query (or no own answer) leaves its key out. */
export async function crdtAgreement(node: GrapevineNode, keys: readonly string[], timeoutMs = AGREEMENT_TIMEOUT_MS): Promise<Map<string, KeyAgreement>> {
  const checked = [...keys].sort().slice(0, AGREEMENT_KEYS_MAX)
  const results = await Promise.allSettled(checked.map((k) => agreementOf(node, k, timeoutMs)))
  const out = new Map<string, KeyAgreement>()
  results.forEach((r, i) => {
    if (r.status === 'fulfilled' && r.value !== undefined) out.set(checked[i], r.value)
  })
  return out
}
