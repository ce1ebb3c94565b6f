/**
 * Serf's event handlers for the agent: `--event-handler [FILTER=]SCRIPT`, run as a Serf agent runs
 * them (serf/cmd/serf/command/agent/event_handler.go and invoke.go), so existing Serf handler scripts
 * work unchanged.
 *
 *   node 'member' (joined/left/failed/updated/reaped) ─▶ coalesced ─┐
 *   node 'message' (Serf user events only)  ─▶ coalesced if marked ─┼─▶ filter match ─▶ queue of its event type ─▶ /bin/sh -c SCRIPT
 *   node 'query'  (Serf queries, ours too)  ────────────────────────┘      (one script at a time per type,          env SERF_*, stdin
 *        (event-coalescer.ts: Serf's 3 s batches, 1 s of quiet)              killed after the timeout)               stdout+stderr ─▶ query response
 *
 * Filters, comma-separated: member-join, member-leave, member-failed, member-update, member-reap,
 * user, user:NAME, query, query:NAME, * (no filter: every event). The first `=` splits filter from
 * script, as in Serf.
 *
 * Environment: SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE, SERF_TAG_<KEY> per tag of this node (key
 * upper-cased, every character outside [A-Z0-9_] turned into _), SERF_USER_EVENT and SERF_USER_LTIME
 * for user events, SERF_QUERY_NAME and SERF_QUERY_LTIME for queries; the agent's own environment too.
 * stdin: for member events one line per member, `NAME\tADDRESS\tROLE\tTAGS` with TAGS as k=v,k=v
 * (tabs and newlines in values escaped as \t and \n); for user events and queries the payload, with a
 * newline appended when it has none.
 *
 * Output: stdout and stderr together, the last 8 KiB kept (Serf's buffer); for a query a non-empty
 * output is the response (a response over Serf's 1024-byte limit is logged, not sent). A script that
 * fails, is killed at the timeout, or cannot start is logged; nothing else happens.
 *
 * As in Serf's agent, member events are coalesced: changes within a batch (3 s from its first, ended
 * early by 1 s of quiet) run one script per event type with one line per member, each member's newest
 * change only; user events sent with coalesce keep only the highest Lamport time per name. The
 * agent's own member-join, at start, is the first event, as in Serf. `coalescePeriodMs: 0` runs a
 * script for each event at once. Differences from Serf, on purpose: Serf never
 * kills a slow script (it only warns after 1 s); here a script is killed after the timeout (a query's
 * after the query's own timeout), so one stuck script cannot hold its event type's queue forever.
 *
 * Written by hand: spawning `/bin/sh -c` with node:child_process is all it takes; no library does
 * Serf's conventions.
 */
import { spawn } from 'node:child_process'
import type { Logger } from './log.js'
import type { BroadcastMessage, GrapevineNode, Member, MemberEvent, SerfQueryEvent } from '../runtime/node/start-node.js'
import { MemberEventCoalescer, SERF_AGENT_COALESCE, UserEventCoalescer, coalesceTiming } from './event-coalescer.js'
import { attachNeighborEvents, membershipEnv } from './overlay-handlers.js'
import type { MemberEventName } from './event-coalescer.js'

/** Serf's circular output buffer (invoke.go maxBufSize). */
export const OUTPUT_LIMIT_BYTES = 8 * 1024
/** Serf's warning threshold for slow scripts (invoke.go warnSlow). */
const WARN_SLOW_MS = 1000

export type SerfEventName = 'member-join' | 'member-leave' | 'member-failed' | 'member-update' | 'member-reap' | 'user' | 'query'
const EVENT_NAMES: readonly string[] = ['member-join', 'member-leave', 'member-failed', 'member-update', 'member-reap', 'user', 'query', '*']

export interface EventFilter {
  /** A Serf event name, or '*'. */
  readonly event: string
  /** For user and query: only this name ('' for any). */
  readonly name: string
}

export interface EventScript {
  readonly filters: readonly EventFilter[]
  readonly script: string
  /** The flag's text, for logs. */
  readonly spec: string
}

/** `member-join,user:deploy=./handle.sh` → filters and script; throws an Error naming the bad filter. */
export function parseEventHandler(spec: string): EventScript {
  const eq = spec.indexOf('=')
  const filterText = eq < 0 ? '' : spec.slice(0, eq)
  const script = eq < 0 ? spec : spec.slice(eq + 1)
  if (script.trim() === '') throw new Error(`${JSON.stringify(spec)}: no script; expected [FILTER=]SCRIPT like member-join=./join.sh`)
  const filters = (filterText === '' ? '*' : filterText).split(',').map((f): EventFilter => {
    if (f.startsWith('user:')) return { event: 'user', name: f.slice(5) }
    if (f.startsWith('query:')) return { event: 'query', name: f.slice(6) }
    return { event: f, name: '' }
  })
  for (const f of filters) {
    if (!EVENT_NAMES.includes(f.event)) {
      throw new Error(`${JSON.stringify(spec)}: unknown event filter ${JSON.stringify(f.event)}; filters are member-join, member-leave, member-failed, member-update, member-reap, user, user:NAME, query, query:NAME, *`)
    }
  }
  return { filters, script, spec }
}

/** The Serf event a member change is, if any (suspicions and refutations have none). */
export function serfMemberEvent(type: MemberEvent['type']): MemberEventName | undefined {
  switch (type) {
    case 'joined':
      return 'member-join'
    case 'left':
      return 'member-leave'
    case 'failed':
      return 'member-failed'
    case 'updated':
      return 'member-update'
    case 'reaped':
      return 'member-reap'
    default:
      return undefined
  }
}

export function matches(s: EventScript, event: SerfEventName, name: string): boolean {
  return s.filters.some((f) => f.event === '*' || (f.event === event && (f.name === '' || f.name === name)))
}

/** Serf's eventClean: tabs and newlines escaped so one member stays one line. */
const clean = (v: string): string => v.replace(/\t/g, '\\t').replace(/\n/g, '\\n')

/** One stdin line of a member event, as Serf's memberEventStdin writes it. */
export function memberLine(m: Member): string {
  // Serf writes member.Addr: the IP alone, no port.
  const tags = Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(',')
  return `${clean(m.name)}\t${m.address.ip}\t${clean(m.tags.role ?? '')}\t${clean(tags)}\n`
}

/** Serf's streamPayload: the payload, with a newline appended when it does not end with one. */
export function payloadStdin(payload: Uint8Array): Buffer {
  const b = Buffer.from(payload)
  return b.length > 0 && b[b.length - 1] !== 0x0a ? Buffer.concat([b, Buffer.from('\n')]) : b
}

/** The SERF_* variables every invocation gets. */
export function selfEnv(self: Member): Record<string, string> {
  const env: Record<string, string> = { SERF_SELF_NAME: self.name, SERF_SELF_ROLE: self.tags.role ?? '' }
  for (const [k, v] of Object.entries(self.tags)) env[`SERF_TAG_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v
  return env
}

export interface ScriptResult {
  /** Exit code, or null when killed. */
  readonly code: number | null
  readonly timedOut: boolean
  /** stdout and stderr interleaved, the last OUTPUT_LIMIT_BYTES. */
  readonly output: Buffer
  readonly totalBytes: number
  readonly error?: string
}

/** Runs `/bin/sh -c script` with `env` added and `stdin` written; kills its process group after `timeoutMs`. */
export function runScript(script: string, env: Record<string, string>, stdin: Buffer, timeoutMs: number, onSlow?: () => void): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    let chunks: Buffer[] = []
    let kept = 0
    let total = 0
    const take = (c: Buffer): void => {
      total += c.length
      chunks.push(c)
      kept += c.length
      if (kept > 2 * OUTPUT_LIMIT_BYTES) {
        const all = Buffer.concat(chunks).subarray(-OUTPUT_LIMIT_BYTES)
        chunks = [all]
        kept = all.length
      }
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    let timedOut = false
    const slow = setTimeout(() => onSlow?.(), WARN_SLOW_MS)
    const killer = setTimeout(() => {
      timedOut = true
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }, timeoutMs)
    let error: string | undefined
    child.on('error', (e) => (error = e.message))
    child.stdin.on('error', () => undefined) // a script that does not read its stdin
    child.stdin.end(stdin)
    child.on('close', (code) => {
      clearTimeout(slow)
      clearTimeout(killer)
      resolve({ code, timedOut, output: Buffer.concat(chunks).subarray(-OUTPUT_LIMIT_BYTES), totalBytes: total, error })
    })
  })
}

export interface EventHandlersOptions {
  /** Longest a script may run before it is killed (queries: also at most the query's timeout). */
  readonly timeoutMs: number
  /** Serf's coalescing period for member events and coalescing user events (default 3000, as Serf's agent); 0: none. */
  readonly coalescePeriodMs?: number
  /** The clock and timers of the coalescing windows (default: performance.now and setTimeout). */
  readonly clock?: HandlerClock
  /** Run member-join for the agent itself first, as Serf does at start (default true; false on a reload). */
  readonly announceSelf?: boolean
}

/** Time for the coalescing windows; tests hand in one they move by hand. */
export interface HandlerClock {
  now(): number
  setTimer(fn: () => void, afterMs: number): { cancel(): void }
}

const realClock: HandlerClock = {
  now: () => performance.now(),
  setTimer: (fn, afterMs) => {
    const t = setTimeout(fn, afterMs)
    return { cancel: () => clearTimeout(t) }
  },
}

/** Runs the agent's handler scripts for the node's events; `close()` stops taking new ones and waits for the running. */
export class EventHandlers {
  private readonly queues = new Map<string, Promise<void>>()
  private closed = false
  private readonly detach: () => void
  private readonly clock: HandlerClock
  private readonly members: MemberEventCoalescer | undefined
  private readonly users: UserEventCoalescer<BroadcastMessage> | undefined
  private memberTimer: { cancel(): void } | undefined
  private userTimer: { cancel(): void } | undefined
  /** Invocations finished, by outcome (for tests and /v1/self). */
  readonly counts = { ran: 0, failed: 0, timedOut: 0 }

  constructor(
    private readonly node: GrapevineNode,
    private scripts: readonly EventScript[],
    private readonly log: Logger,
    private opts: EventHandlersOptions,
  ) {
    this.clock = opts.clock ?? realClock
    const periodMs = opts.coalescePeriodMs ?? SERF_AGENT_COALESCE.periodMs
    if (periodMs > 0) {
      this.members = new MemberEventCoalescer(coalesceTiming(periodMs))
      this.users = new UserEventCoalescer(coalesceTiming(periodMs))
    }
    const onMember = (e: MemberEvent): void => {
      const event = serfMemberEvent(e.type)
      if (event !== undefined) this.memberChanged(event, e.member)
    }
    const onMessage = (m: BroadcastMessage): void => {
      if (m.via !== 'serf') return
      if (this.users === undefined || m.coalesce !== true) return this.userEvent(m)
      this.users.add(m, this.clock.now())
      this.userTimer = this.rearm(this.userTimer, this.users.dueAtMs(), () => this.flushUsers())
    }
    const onQuery = (q: SerfQueryEvent): void => {
      // Grapevine's own queries (the datacenter relay, _gv_…) are answered inside, as Serf's _serf_… ones.
      if (q.name.startsWith('_gv_')) return
      this.dispatch('query', q.name, { SERF_QUERY_NAME: q.name, SERF_QUERY_LTIME: String(q.lTime) }, payloadStdin(q.payload), q)
    }
    node.on('member', onMember)
    node.on('message', onMessage)
    node.on('query', onQuery)
    // With --membership hyparview: neighbours up and down, as member events (overlay-handlers.ts).
    const offNeighbors = attachNeighborEvents(node, (event, member) => this.memberChanged(event, member))
    // A Serf agent's first member-join is its own (the node joins its own cluster as it starts).
    if (opts.announceSelf !== false) this.memberChanged('member-join', node.localMember())
    this.detach = () => {
      node.off('member', onMember)
      node.off('message', onMessage)
      node.off('query', onQuery)
      offNeighbors()
    }
  }

  private memberChanged(event: MemberEventName, member: Member): void {
    if (this.members === undefined) return this.dispatch(event, '', {}, Buffer.from(memberLine(member)))
    this.members.add(event, member, this.clock.now())
    this.memberTimer = this.rearm(this.memberTimer, this.members.dueAtMs(), () => this.flushMembers())
  }

  private userEvent(m: BroadcastMessage): void {
    this.dispatch('user', m.name, { SERF_USER_EVENT: m.name, SERF_USER_LTIME: String(m.lTime ?? 0) }, payloadStdin(m.payload))
  }

  /** One timer per window, moved to the window's current deadline. */
  private rearm(timer: { cancel(): void } | undefined, dueAtMs: number | undefined, flush: () => void): { cancel(): void } | undefined {
    timer?.cancel()
    return dueAtMs === undefined ? undefined : this.clock.setTimer(flush, Math.max(0, dueAtMs - this.clock.now()))
  }

  private flushMembers(): void {
    this.memberTimer = undefined
    for (const b of this.members?.flush() ?? []) this.dispatch(b.event, '', {}, Buffer.from(b.members.map(memberLine).join('')))
  }

  private flushUsers(): void {
    this.userTimer = undefined
    for (const m of this.users?.flush() ?? []) this.userEvent(m)
  }

  private dispatch(event: SerfEventName, name: string, env: Record<string, string>, stdin: Buffer, query?: SerfQueryEvent): void {
    if (this.closed) return
    const self = this.node.localMember()
    const fullEnv = { SERF_EVENT: event, ...selfEnv(self), ...membershipEnv(this.node), ...env }
    for (const s of this.scripts) {
      if (!matches(s, event, name)) continue
      // One script at a time per event type: each invocation waits for the one before it.
      const prev = this.queues.get(event) ?? Promise.resolve()
      const next = prev.then(() => this.invoke(s, event, fullEnv, stdin, query))
      this.queues.set(event, next)
    }
  }

  private async invoke(s: EventScript, event: SerfEventName, env: Record<string, string>, stdin: Buffer, query?: SerfQueryEvent): Promise<void> {
    const timeoutMs = query === undefined ? this.opts.timeoutMs : Math.min(this.opts.timeoutMs, Math.max(1, query.timeoutMs))
    const r = await runScript(s.script, env, stdin, timeoutMs, () => this.log.warn({ script: s.script, event }, `event handler slow: running over ${WARN_SLOW_MS} ms`))
    this.counts.ran++
    const output = r.output.toString('utf8')
    if (r.totalBytes > OUTPUT_LIMIT_BYTES) this.log.warn({ script: s.script, event, bytes: r.totalBytes, kept: OUTPUT_LIMIT_BYTES }, 'event handler output truncated')
    if (r.error !== undefined || r.timedOut || r.code !== 0) {
      if (r.timedOut) this.counts.timedOut++
      else this.counts.failed++
      const why = r.error ?? (r.timedOut ? `killed after ${timeoutMs} ms` : `exit code ${r.code ?? 'null'}`)
      this.log.warn({ script: s.script, event, err: why, output }, 'event handler failed')
      return
    }
    this.log.debug({ script: s.script, event, output }, 'event handler ran')
    if (query !== undefined && r.totalBytes > 0) {
      try {
        if (!query.respond(r.output)) this.log.warn({ script: s.script, query: query.name }, 'query response not sent: the querier is gone')
      } catch (e) {
        this.log.warn({ script: s.script, query: query.name, err: (e as Error).message }, 'query response not sent')
      }
    }
  }

  /** New scripts and timeout (SIGHUP, as Serf's UpdateScripts): events from now on, and the batches held, run them. */
  update(scripts: readonly EventScript[], timeoutMs: number): void {
    this.scripts = scripts
    this.opts = { ...this.opts, timeoutMs }
  }

  /** Stops taking events, runs the batches held (as Serf flushes at shutdown) and waits for the scripts queued. */
  async close(): Promise<void> {
    this.detach()
    this.memberTimer?.cancel()
    this.userTimer?.cancel()
    this.flushMembers()
    this.flushUsers()
    this.closed = true
    await Promise.all(this.queues.values())
  }
}

/** The handlers an agent runs for `config`: `current` updated in place (no scripts: nothing runs), or created when scripts appear (on a reload without a second own join). */
export function configureHandlers(current: EventHandlers | undefined, node: GrapevineNode, config: { readonly eventHandlers: readonly EventScript[]; readonly eventHandlerTimeoutMs: number; readonly eventHandlerCoalesceMs: number }, log: Logger, reloading: boolean): EventHandlers | undefined {
  if (current !== undefined) {
    current.update(config.eventHandlers, config.eventHandlerTimeoutMs)
    return current
  }
  if (config.eventHandlers.length === 0) return undefined
  return new EventHandlers(node, config.eventHandlers, log, { timeoutMs: config.eventHandlerTimeoutMs, coalescePeriodMs: config.eventHandlerCoalesceMs, announceSelf: !reloading })
}
