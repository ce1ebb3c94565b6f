/** Parses a `grapevine sim --trace` file and replays membership views up to any virtual instant. */
import type { State } from './api.js'
import { byName } from './model.js'

export interface TraceEvent { t: number; observer: string; type: string; member: string; inc: number; from?: string }
export interface TracePacket { t: number; from: string; to: string; bytes: number; types: string; lost: boolean }
export interface TraceFault { t: number; text: string }

export interface Trace {
  nodes: string[]
  events: TraceEvent[]
  packets: TracePacket[]
  faults: TraceFault[]
  endMs: number
  /** Lines that did not parse. */
  skipped: number
}

const LINE = /^\s*(\d+(?:\.\d+)?) (\S+) (.*)$/

function expandRange(text: string): string[] {
  const m = /^(.*?)(\d+)\.\.(.*?)(\d+)$/.exec(text)
  if (m === null) return [text]
  const width = m[2].length
  const out: string[] = []
  for (let i = Number(m[2]); i <= Number(m[4]) && out.length < 100_000; i++) out.push(m[1] + String(i).padStart(width, '0'))
  return out
}

export function parseTrace(text: string): Trace {
  const nodes = new Set<string>()
  const events: TraceEvent[] = []
  const packets: TracePacket[] = []
  const faults: TraceFault[] = []
  let endMs = 0
  let skipped = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const m = LINE.exec(line)
    if (m === null) {
      skipped++
      continue
    }
    const t = Number(m[1])
    endMs = Math.max(endMs, t)
    const kind = m[2]
    const rest = m[3]
    if (kind === 'event') {
      const [observer, type, member, inc, from] = rest.split(' ')
      nodes.add(observer)
      if (member !== undefined && !member.includes('=')) events.push({ t, observer, type, member, inc: Number(inc?.slice(4) ?? 0), from: from?.slice(5) })
    } else if (kind === 'pkt' || kind === 'pkt-vanished') {
      const p = /^(\S+) > (\S+) (\d+)B(?: \[([^\]]*)\])? ?(.*)$/.exec(rest)
      if (p === null) skipped++
      else packets.push({ t, from: p[1], to: p[2], bytes: Number(p[3]), types: p[4] ?? '', lost: kind === 'pkt-vanished' || /lost|blocked/.test(p[5]) })
    } else if (kind === 'fault') {
      faults.push({ t, text: rest })
      const [what, target] = rest.split(' ')
      if (what === 'spawn' && target !== undefined) for (const n of expandRange(target)) nodes.add(n)
    } else if (kind.startsWith('stream#')) {
      const s = /^(?:open|request) (\S+) > (\S+) (?:reply=)?(\d+)B (\S+)/.exec(rest)
      if (s !== null) packets.push({ t, from: s[1], to: s[2], bytes: Number(s[3]), types: s[4], lost: false })
    } else skipped++
  }
  return { nodes: [...nodes].sort(byName), events, packets, faults, endMs, skipped }
}

const EVENT_STATE: Record<string, State | null> = { joined: 'alive', alive: 'alive', updated: 'alive', suspected: 'suspect', failed: 'dead', left: 'left', reaped: null }

/** Every node's view at a virtual instant, moved forward event by event (backwards: from the start). */
export class ViewReplay {
  views = new Map<string, Map<string, State>>()
  private next = 0
  at = -1

  constructor(private readonly trace: Trace) {}

  /** Nodes crashed or paused at the instant (their own view is frozen). */
  down = new Set<string>()
  private nextFault = 0

  seek(t: number): void {
    if (t < this.at) {
      this.views = new Map()
      this.down = new Set()
      this.next = 0
      this.nextFault = 0
    }
    const faults = this.trace.faults
    while (this.nextFault < faults.length && faults[this.nextFault].t <= t) {
      const [kind, node] = faults[this.nextFault++].text.split(' ')
      if (kind === 'crash' || kind === 'pause') this.down.add(node)
      else if (kind === 'resume' || kind === 'restart' || kind === 'recover') this.down.delete(node)
    }
    const ev = this.trace.events
    while (this.next < ev.length && ev[this.next].t <= t) {
      const e = ev[this.next++]
      if (!(e.type in EVENT_STATE)) continue
      let v = this.views.get(e.observer)
      if (v === undefined) this.views.set(e.observer, (v = new Map([[e.observer, 'alive']])))
      const s = EVENT_STATE[e.type]
      if (s === null) v.delete(e.member)
      else v.set(e.member, s)
    }
    this.at = t
  }

  /** The state most observers hold for each member. */
  consensus(): Map<string, State> {
    const counts = new Map<string, Record<State, number>>()
    for (const v of this.views.values()) {
      for (const [m, s] of v) {
        let c = counts.get(m)
        if (c === undefined) counts.set(m, (c = { alive: 0, suspect: 0, dead: 0, left: 0 }))
        c[s]++
      }
    }
    const out = new Map<string, State>()
    for (const [m, c] of counts) out.set(m, (Object.keys(c) as State[]).reduce((a, b) => (c[b] > c[a] ? b : a)))
    return out
  }
}

export interface Series {
  /** Bucket start times in seconds. */
  x: number[]
  informed: number[]
  suspected: number[]
  failed: number[]
  kbytes: number[]
}

/**
 * Per-bucket series: the fraction of the other nodes that know `focus` failed (the epidemic of its
 * death notice), suspicions and failures declared, and kilobytes sent per second.
 */
export function series(trace: Trace, focus: string | undefined, buckets = 240): Series {
  const width = Math.max(100, Math.ceil(trace.endMs / buckets / 100) * 100)
  const n = Math.floor(trace.endMs / width) + 1
  const s: Series = { x: [], informed: [], suspected: [], failed: [], kbytes: [] }
  for (let i = 0; i < n; i++) {
    s.x.push((i * width) / 1000)
    s.informed.push(0)
    s.suspected.push(0)
    s.failed.push(0)
    s.kbytes.push(0)
  }
  for (const p of trace.packets) s.kbytes[Math.floor(p.t / width)] += p.bytes / 1024 / (width / 1000)
  const knows = new Set<string>()
  const others = Math.max(1, trace.nodes.length - 1)
  let e = 0
  for (let i = 0; i < n; i++) {
    const end = (i + 1) * width
    while (e < trace.events.length && trace.events[e].t < end) {
      const ev = trace.events[e++]
      if (ev.type === 'suspected') s.suspected[i]++
      if (ev.type === 'failed') s.failed[i]++
      if (ev.member === focus && ev.observer !== focus) {
        if (ev.type === 'failed' || ev.type === 'left') knows.add(ev.observer)
        else if (ev.type === 'joined' || ev.type === 'alive') knows.delete(ev.observer)
      }
    }
    s.informed[i] = knows.size / others
  }
  return s
}
