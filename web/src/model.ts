/** What the page knows about each observing node, kept current from the event streams. */
import type { CoordinateBrief, Gossip, KvRow, MemberRow, NodeView, PoolsView, State, Suspicion } from './api.js'

export const GOSSIP_KEPT = 150
export const SUSPICIONS_KEPT = 300

export interface ObserverView {
  self: string
  online: boolean
  health: number
  members: Map<string, MemberRow>
  suspicions: Suspicion[]
  kv: Map<string, KvRow>
  gossip: Gossip[]
  counters: Record<string, number>
  coordinate: CoordinateBrief | null
  pools: PoolsView | null
}

/** Natural order: node-2 before node-10. */
export const byName = (a: string, b: string): number => a.localeCompare(b, undefined, { numeric: true })

export class LiveModel {
  readonly views = new Map<string, ObserverView>()
  /** Bumped on every change; the page re-renders at most once per frame. */
  version = 0
  private listeners = new Set<() => void>()
  private scheduled = false
  /** Gossip as it happens, for the graph: observer, event. */
  onGossip: ((observer: string, g: Gossip) => void) | undefined

  listen(f: () => void): () => void {
    this.listeners.add(f)
    return () => this.listeners.delete(f)
  }

  private changed(): void {
    this.version++
    if (this.scheduled) return
    this.scheduled = true
    requestAnimationFrame(() => {
      this.scheduled = false
      for (const f of this.listeners) f()
    })
  }

  setView(observer: string, v: NodeView): void {
    this.views.set(observer, {
      self: v.self,
      online: true,
      health: v.health,
      members: new Map(v.members.map((m) => [m.name, fromApi(m)])),
      suspicions: v.suspicions.slice(-SUSPICIONS_KEPT),
      kv: new Map(v.kv.map((k) => [`${k.node}\0${k.key}`, k])),
      gossip: v.gossip.slice(-GOSSIP_KEPT),
      counters: v.counters,
      coordinate: v.coordinate ?? null,
      pools: v.pools ?? null,
    })
    this.changed()
  }

  setOnline(observer: string, online: boolean): void {
    const v = this.views.get(observer)
    if (v === undefined || v.online === online) return
    v.online = online
    this.changed()
  }

  /** One event of an observer's stream (the `data` of an SSE event). */
  event(observer: string, type: string, data: any): void {
    const v = this.views.get(observer)
    if (v === undefined) return
    switch (type) {
      case 'member': {
        const m = fromApi(data.member as MemberRow)
        if (data.type === 'reaped') v.members.delete(m.name)
        else v.members.set(m.name, { ...m, phi: v.members.get(m.name)?.phi ?? null, rttMs: v.members.get(m.name)?.rttMs ?? null, changedAt: Date.now() })
        break
      }
      case 'suspicion': {
        const s = data as Suspicion
        // A refutation raises this node's own incarnation, which no member event reports.
        const self = v.members.get(v.self)
        if (s.type === 'refuted' && self !== undefined && s.incarnation > self.incarnation) v.members.set(v.self, { ...self, incarnation: s.incarnation, changedAt: s.at })
        v.suspicions.push(s)
        if (v.suspicions.length > SUSPICIONS_KEPT) v.suspicions.shift()
        break
      }
      case 'health':
        v.health = data.score
        break
      case 'phi':
        v.health = data.health
        for (const [name, phi] of Object.entries(data.phi as Record<string, number | null>)) {
          const m = v.members.get(name)
          if (m !== undefined) m.phi = phi
        }
        for (const [name, rtt] of Object.entries((data.rtt ?? {}) as Record<string, number | null>)) {
          const m = v.members.get(name)
          if (m !== undefined) m.rttMs = rtt
        }
        if (data.coordinate !== undefined) v.coordinate = data.coordinate
        if (data.pools !== undefined) v.pools = data.pools
        break
      case 'state':
        if (data.type === 'keySet') v.kv.set(`${data.node}\0${data.key}`, { node: data.node, key: data.key, value: data.value, version: data.version })
        else if (data.type === 'keyDeleted') v.kv.delete(`${data.node}\0${data.key}`)
        else if (data.type === 'nodeForgotten') for (const k of [...v.kv.keys()]) if (k.startsWith(`${data.node}\0`)) v.kv.delete(k)
        break
      case 'gossip': {
        const g = data as Gossip
        v.gossip.push(g)
        if (v.gossip.length > GOSSIP_KEPT) v.gossip.shift()
        this.onGossip?.(observer, g)
        break
      }
      default:
        return
    }
    this.changed()
  }
}

export function countStates(members: Iterable<MemberRow>): Record<State, number> {
  const c: Record<State, number> = { alive: 0, suspect: 0, dead: 0, left: 0 }
  for (const m of members) c[m.state]++
  return c
}

/** A suspicion episode: who accused a member at an incarnation, who confirmed, how it ended. */
export interface Episode {
  member: string
  incarnation: number
  accuser: string | null
  via: string | null
  at: number
  confirmedBy: string[]
  outcome: 'open' | 'failed' | 'refuted'
  endedAt: number | null
}

export function episodes(suspicions: readonly Suspicion[]): Episode[] {
  const open = new Map<string, Episode>()
  const all: Episode[] = []
  for (const s of suspicions) {
    const cur = open.get(s.member)
    if (s.type === 'suspected') {
      if (cur !== undefined && cur.incarnation === s.incarnation && cur.outcome === 'open') {
        if (s.from !== null && s.from !== cur.accuser && !cur.confirmedBy.includes(s.from)) cur.confirmedBy.push(s.from)
        continue
      }
      const e: Episode = { member: s.member, incarnation: s.incarnation, accuser: s.from, via: s.via, at: s.at, confirmedBy: [], outcome: 'open', endedAt: null }
      open.set(s.member, e)
      all.push(e)
    } else if (s.type === 'failed') {
      if (cur !== undefined && cur.outcome === 'open') {
        cur.outcome = 'failed'
        cur.endedAt = s.at
      } else {
        all.push({ member: s.member, incarnation: s.incarnation, accuser: s.from, via: s.via, at: s.at, confirmedBy: [], outcome: 'failed', endedAt: s.at })
      }
    } else if (cur !== undefined && cur.outcome === 'open') {
      cur.outcome = 'refuted'
      cur.endedAt = s.at
    } else if (s.type === 'refuted') {
      // This node heard an accusation about itself (s.via: suspect, dead, …) and refuted it.
      all.push({ member: s.member, incarnation: s.incarnation, accuser: null, via: `${s.via} message`, at: s.at, confirmedBy: [], outcome: 'refuted', endedAt: s.at })
    }
  }
  return all.reverse()
}

/** An exchange with one peer: what went each way within ROUND_MS of its first message. */
export interface Round {
  at: number
  peer: string
  sent: string[]
  received: string[]
  bytesOut: number
  bytesIn: number
}

export const ROUND_MS = 1000

/** Groups messages into rounds per peer, newest first. */
export function rounds(gossip: readonly Gossip[]): Round[] {
  const open = new Map<string, Round>()
  const all: Round[] = []
  for (const g of gossip) {
    let r = open.get(g.peer)
    if (r === undefined || g.at - r.at > ROUND_MS) {
      r = { at: g.at, peer: g.peer, sent: [], received: [], bytesOut: 0, bytesIn: 0 }
      open.set(g.peer, r)
      all.push(r)
    }
    const label = g.kind === 'stream' ? `TCP ${g.types}` : g.types
    if (g.direction === 'out') {
      r.sent.push(label)
      r.bytesOut += g.bytes
    } else {
      r.received.push(label)
      r.bytesIn += g.bytes
    }
  }
  return all.reverse()
}

/** Message types of a round, counted: `user×3 · ping`. */
export function compactTypes(labels: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const l of labels) {
    const tcp = l.startsWith('TCP ')
    for (const t of (tcp ? l.slice(4) : l).split(/,(?![^(]*\))/)) {
      const key = tcp ? `TCP ${t}` : t
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  return [...counts].map(([t, n]) => (n > 1 ? `${t}×${n}` : t)).join(' · ')
}

/** The API says `failed` (Serf's word; older agents said `dead`); the page keeps one internal name. */
function fromApi(m: MemberRow): MemberRow {
  return (m.state as string) === 'failed' ? { ...m, state: 'dead' } : m
}
