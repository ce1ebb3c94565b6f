/**
 * Serf's event coalescing for the agent's handler scripts (serf/coalesce.go, coalesce_member.go,
 * coalesce_user.go; the agent sets a 3 s period and 1 s of quiet). Pure: times come in as `nowMs`,
 * and the caller arms one timer at `dueAtMs()` and calls `flush()` when it fires.
 *
 *   member change (join, leave, failed, update, reap) ─▶ newest per member ─┐  flush at the first of
 *                                                                          ├─ first event + periodMs,
 *   Serf user event with coalesce ─▶ highest Lamport time per event name ──┘  last event + quiescentMs
 *
 *   flush ─▶ one batch per member event type, each member once (its newest change); a member whose
 *            newest change is the one last flushed for it is left out (an update only when the member
 *            is the same), so a member that failed and came back within one batch is not re-announced
 *        ─▶ per user event name, the events of the highest Lamport time seen (older ones are dropped)
 *
 * Queries and user events sent without coalesce are never held back. Member and user events have a
 * window each, as in Serf.
 *
 * Written by hand: a few maps and two deadlines; this is Serf's rule, which no library carries.
 */
import type { Member } from '../node/types.js'

export type MemberEventName = 'member-join' | 'member-leave' | 'member-failed' | 'member-update' | 'member-reap'

/** The order batches of one flush are handed out in (Serf's is a Go map's: any). */
const BATCH_ORDER: readonly MemberEventName[] = ['member-join', 'member-update', 'member-leave', 'member-failed', 'member-reap']

export interface CoalesceTiming {
  /** Longest an event waits: the batch is flushed this long after its first event. */
  readonly periodMs: number
  /** A batch is flushed early once no event came for this long. */
  readonly quiescentMs: number
}

/** The Serf agent's timing (command/agent/command.go: CoalescePeriod 3 s, QuiescentPeriod 1 s). */
export const SERF_AGENT_COALESCE: CoalesceTiming = { periodMs: 3000, quiescentMs: 1000 }

/** Serf's timing scaled to a period: quiet ends a batch after a third of it, at most a second. */
export function coalesceTiming(periodMs: number): CoalesceTiming {
  return { periodMs, quiescentMs: Math.min(SERF_AGENT_COALESCE.quiescentMs, Math.ceil(periodMs / 3)) }
}

/** When a batch that started at its first event must go out: the period's end or the quiet's, the earlier. */
class Window {
  private firstMs: number | undefined
  private lastMs = 0

  constructor(private readonly timing: CoalesceTiming) {}

  note(nowMs: number): void {
    if (this.firstMs === undefined) this.firstMs = nowMs
    this.lastMs = nowMs
  }

  dueAtMs(): number | undefined {
    return this.firstMs === undefined ? undefined : Math.min(this.firstMs + this.timing.periodMs, this.lastMs + this.timing.quiescentMs)
  }

  reset(): void {
    this.firstMs = undefined
  }
}

export interface MemberBatch {
  readonly event: MemberEventName
  readonly members: readonly Member[]
}

interface Change {
  readonly event: MemberEventName
  readonly member: Member
}

function sameMember(a: Member, b: Member): boolean {
  const tags = (m: Member): string => JSON.stringify(Object.entries(m.tags).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
  return a.state === b.state && a.address.ip === b.address.ip && a.address.port === b.address.port && tags(a) === tags(b)
}

/** Serf's memberEventCoalescer: the newest change per member, grouped by event type at the flush. */
export class MemberEventCoalescer {
  private readonly window: Window
  private newest = new Map<string, Change>()
  /** What was last handed out for each member (kept across flushes, as Serf's lastEvents). */
  private readonly last = new Map<string, Change>()

  constructor(timing: CoalesceTiming) {
    this.window = new Window(timing)
  }

  add(event: MemberEventName, member: Member, nowMs: number): void {
    this.window.note(nowMs)
    this.newest.delete(member.name) // a member's place in its batch is its newest change's
    this.newest.set(member.name, { event, member })
  }

  /** When flush() is due; undefined with nothing held. */
  dueAtMs(): number | undefined {
    return this.window.dueAtMs()
  }

  flush(): MemberBatch[] {
    const groups = new Map<MemberEventName, Member[]>()
    for (const [name, change] of this.newest) {
      const before = this.last.get(name)
      if (before !== undefined && before.event === change.event && (change.event !== 'member-update' || sameMember(before.member, change.member))) continue
      this.last.set(name, change)
      const group = groups.get(change.event) ?? []
      group.push(change.member)
      groups.set(change.event, group)
    }
    this.newest = new Map()
    this.window.reset()
    return BATCH_ORDER.filter((e) => groups.has(e)).map((event) => ({ event, members: groups.get(event)! }))
  }
}

/** What the user coalescer needs of a Serf user event. */
export interface CoalescableUserEvent {
  readonly name: string
  readonly lTime?: number
}

/** Serf's userEventCoalescer: per event name, only the events of the highest Lamport time. */
export class UserEventCoalescer<E extends CoalescableUserEvent> {
  private readonly window: Window
  private latest = new Map<string, { lTime: number; events: E[] }>()

  constructor(timing: CoalesceTiming) {
    this.window = new Window(timing)
  }

  add(e: E, nowMs: number): void {
    this.window.note(nowMs)
    const lTime = e.lTime ?? 0
    const held = this.latest.get(e.name)
    if (held === undefined || held.lTime < lTime) this.latest.set(e.name, { lTime, events: [e] })
    else if (held.lTime === lTime) held.events.push(e)
  }

  dueAtMs(): number | undefined {
    return this.window.dueAtMs()
  }

  flush(): E[] {
    const out = [...this.latest.values()].flatMap((l) => l.events)
    this.latest = new Map()
    this.window.reset()
    return out
  }
}
