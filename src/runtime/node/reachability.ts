/**
 * Reachability, as `serf reachability` tests it: note the live members, send Serf's `_serf_ping`
 * query asking every member to ack, and at the query's deadline compare who acked with who is live.
 *
 *   members() ──▶ live names          node.query('_serf_ping', ack) ──gossip──▶ every member
 *                                     ◀──ack (direct, UDP)── each member that got it (this one too)
 *   deadline ──▶ { missing: live − acked, unexpected: acked − live, duplicates }
 *
 * A member missing here got no gossip or could not answer (a firewall, a wrong advertise address,
 * NAT); an unexpected one acked although marked failed (false failure detection). Serf agents answer
 * `_serf_ping` themselves, so a mixed cluster is tested as one.
 */
/** What the summary needs of a member (api.ts's Member has it). */
export interface NamedState {
  readonly name: string
  readonly state: string
}

export interface ReachabilityReport {
  /** Members known when the test started, this one included. */
  readonly members: number
  /** Names of those alive then (Serf's "live members"). */
  readonly live: readonly string[]
  /** Acks in arrival order, with milliseconds since the query went out. */
  readonly acks: ReadonlyArray<{ readonly name: string; readonly atMs: number }>
  /** Live members that did not ack. */
  readonly missing: readonly string[]
  /** Members that acked without being live (marked suspect, failed or left, or unknown). */
  readonly unexpected: readonly string[]
  /** Names that acked more than once (two nodes with one name). */
  readonly duplicates: readonly string[]
  /** How long the query ran (its timeout), and when the last ack came. */
  readonly queryMs: number
  readonly lastAckMs: number
  /** Every live member acked, none other, none twice. */
  readonly ok: boolean
}

export function summarizeReachability(members: readonly NamedState[], acks: ReadonlyArray<{ readonly name: string; readonly atMs: number }>, queryMs: number): ReachabilityReport {
  const live = members.filter((m) => m.state === 'alive').map((m) => m.name).sort()
  const acked = new Set<string>()
  const duplicates = new Set<string>()
  for (const a of acks) {
    if (acked.has(a.name)) duplicates.add(a.name)
    acked.add(a.name)
  }
  const missing = live.filter((n) => !acked.has(n))
  const unexpected = [...acked].filter((n) => !live.includes(n)).sort()
  const lastAckMs = acks.reduce((m, a) => Math.max(m, a.atMs), 0)
  return {
    members: members.length, live, acks: [...acks], missing, unexpected, duplicates: [...duplicates].sort(), queryMs, lastAckMs,
    ok: missing.length === 0 && unexpected.length === 0 && duplicates.size === 0,
  }
}
