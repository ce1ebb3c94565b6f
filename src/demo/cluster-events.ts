/**
 * Membership changes of the demo cluster, as its agents log them, turned into readable lines.
 *
 * Every agent logs each change it sees (`{"event":"failed","member":"node-3",…}`). The same change seen
 * by several agents within a short window becomes one line:
 *
 *   12:00:03.120  node-3  failed     (seen by node-1 node-2 node-4 node-5)
 *
 * A line goes out as soon as every other running node saw the change, or when the window closes.
 * `ClusterViews` keeps each node's view, to tell when the running nodes all see each other alive.
 */

/** One agent's log record of a membership change. */
export interface SeenChange {
  readonly observer: string
  readonly type: string
  readonly member: string
  readonly incarnation: number
  readonly atMs: number
}

/** The change in an agent's JSON log line, or undefined when the line is about something else. */
export function parseChange(observer: string, record: Record<string, unknown>): SeenChange | undefined {
  const { event, member, incarnation, time } = record
  if (typeof event !== 'string' || typeof member !== 'string') return undefined
  return { observer, type: event, member, incarnation: typeof incarnation === 'number' ? incarnation : 0, atMs: typeof time === 'number' ? time : Date.now() }
}

/** Local wall-clock time as HH:MM:SS.mmm. */
export function clock(ms: number): string {
  const d = new Date(ms)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

const LABEL_WIDTH = 9

function label(type: string, incarnation: number): string {
  const text = type === 'suspected' || type === 'alive' ? `${type.padEnd(LABEL_WIDTH)}  incarnation ${incarnation}` : type.padEnd(LABEL_WIDTH)
  return text
}

interface Group {
  readonly first: SeenChange
  readonly observers: string[]
  incarnation: number
  readonly timer: ReturnType<typeof setTimeout>
}

export class ChangeCoalescer {
  private readonly open = new Map<string, Group>()

  /**
   * @param print     receives each finished line
   * @param expected  how many observers a change about `member` can have (the other running nodes)
   * @param windowMs  how long to wait for more observers of the same change
   */
  constructor(
    private readonly print: (line: string) => void,
    private readonly expected: (member: string) => number,
    private readonly windowMs = 1000,
    private readonly nameWidth = 7,
  ) {}

  add(c: SeenChange): void {
    if (c.observer === c.member) return // a node's own start and leave are reported by the demo itself
    const key = `${c.type} ${c.member}`
    let g = this.open.get(key)
    if (g === undefined) {
      g = { first: c, observers: [], incarnation: c.incarnation, timer: setTimeout(() => this.close(key), this.windowMs) }
      this.open.set(key, g)
    }
    if (!g.observers.includes(c.observer)) g.observers.push(c.observer)
    g.incarnation = Math.max(g.incarnation, c.incarnation)
    if (g.observers.length >= this.expected(c.member)) this.close(key)
  }

  /** Prints every open group now, oldest first. */
  flushAll(): void {
    const keys = [...this.open].sort(([, a], [, b]) => a.first.atMs - b.first.atMs).map(([k]) => k)
    for (const k of keys) this.close(k)
  }

  private close(key: string): void {
    const g = this.open.get(key)
    if (g === undefined) return
    clearTimeout(g.timer)
    this.open.delete(key)
    const seenBy = [...g.observers].sort(byNodeNumber).join(' ')
    this.print(`${clock(g.first.atMs)}  ${g.first.member.padEnd(this.nameWidth)} ${label(g.first.type, g.incarnation)}  (seen by ${seenBy})`)
  }
}

/** node-2 before node-10. */
export function byNodeNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true })
}

const STATE_OF: Readonly<Record<string, string>> = { joined: 'alive', alive: 'alive', updated: 'alive', suspected: 'suspect', failed: 'dead', left: 'left' }

/** Each node's view of the cluster, from the changes it logged since it (re)started. */
export class ClusterViews {
  private readonly views = new Map<string, Map<string, string>>()

  /** A node (re)started: it knows only itself. */
  started(name: string): void {
    this.views.set(name, new Map([[name, 'alive']]))
  }

  apply(c: SeenChange): void {
    const view = this.views.get(c.observer)
    if (view === undefined) return
    if (c.type === 'reaped') view.delete(c.member)
    else if (STATE_OF[c.type] !== undefined) view.set(c.member, STATE_OF[c.type])
  }

  /** True when every node in `up` sees exactly the nodes in `up` alive. */
  agree(up: readonly string[]): boolean {
    if (up.length === 0) return false
    const want = [...up].sort().join(' ')
    return up.every((o) => {
      const view = this.views.get(o)
      if (view === undefined) return false
      const alive = [...view].filter(([, s]) => s === 'alive').map(([n]) => n)
      return alive.sort().join(' ') === want
    })
  }
}
