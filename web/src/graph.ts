/**
 * The gossip graph: members on a ring (canvas 2D, so 1,000 members stay cheap), coloured by state, and
 * each message drawn as a dot travelling from sender to receiver. Redraws only while something moves.
 */
import type { State } from './api.js'

export const STATE_COLOR: Record<State, string> = { alive: '#34d399', suspect: '#fbbf24', dead: '#f87171', left: '#94a3b8' }

const TYPE_COLOR: Array<[RegExp, string]> = [
  [/suspect/, '#fbbf24'],
  [/dead/, '#f87171'],
  [/pushPull/, '#c084fc'],
  [/indirectPing|nack/, '#f472b6'],
  [/alive/, '#2dd4bf'],
  [/ping/, '#60a5fa'],
  [/ack/, '#86efac'],
  [/user|compound/, '#fb923c'],
]

export function typeColor(types: string): string {
  for (const [re, c] of TYPE_COLOR) if (re.test(types)) return c
  return '#cbd5e1'
}

export const LEGEND: Array<[string, string]> = [
  ['ping', '#60a5fa'], ['ack', '#86efac'], ['indirect', '#f472b6'], ['alive', '#2dd4bf'],
  ['suspect', '#fbbf24'], ['dead', '#f87171'], ['push-pull', '#c084fc'], ['user', '#fb923c'],
]

interface Pulse {
  from: string
  to: string
  color: string
  start: number
}

const PULSE_MS = 650
/** Names are drawn next to the dots up to this many members. */
const LABELS_UP_TO = 24
const MAX_PULSES = 400

export class RingGraph {
  private names: string[] = []
  private states = new Map<string, State>()
  private pos = new Map<string, [number, number]>()
  private pulses: Pulse[] = []
  private frame = 0
  private selected: string | undefined
  private self: string | undefined
  private readonly ctx: CanvasRenderingContext2D
  private readonly resize: ResizeObserver

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!
    this.resize = new ResizeObserver(() => this.layout())
    this.resize.observe(canvas)
  }

  destroy(): void {
    this.resize.disconnect()
    cancelAnimationFrame(this.frame)
  }

  setNodes(nodes: ReadonlyArray<{ name: string; state: State }>, self?: string, selected?: string): void {
    const names = nodes.map((n) => n.name)
    const same = names.length === this.names.length && names.every((n, i) => n === this.names[i])
    this.states = new Map(nodes.map((n) => [n.name, n.state]))
    this.self = self
    this.selected = selected
    if (!same) {
      this.names = names
      this.layout()
    } else this.request()
  }

  pulse(from: string, to: string, types: string): void {
    if (!this.pos.has(from) || !this.pos.has(to) || from === to) return
    if (this.pulses.length >= MAX_PULSES) this.pulses.shift()
    this.pulses.push({ from, to, color: typeColor(types), start: performance.now() })
    this.request()
  }

  private layout(): void {
    const dpr = window.devicePixelRatio || 1
    const w = this.canvas.clientWidth
    const h = this.canvas.clientHeight
    if (w === 0 || h === 0) return
    this.canvas.width = Math.round(w * dpr)
    this.canvas.height = Math.round(h * dpr)
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    const r = Math.min(w, h) / 2 - (this.names.length <= LABELS_UP_TO ? 46 : 16)
    const n = this.names.length
    this.pos.clear()
    this.names.forEach((name, i) => {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n)
      this.pos.set(name, [w / 2 + r * Math.cos(a), h / 2 + r * Math.sin(a)])
    })
    this.request()
  }

  private request(): void {
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.draw())
  }

  private draw(): void {
    this.frame = 0
    const ctx = this.ctx
    const w = this.canvas.clientWidth
    const h = this.canvas.clientHeight
    const now = performance.now()
    ctx.clearRect(0, 0, w, h)
    const n = this.names.length
    const big = n > LABELS_UP_TO
    const radius = n > 400 ? 2 : n > 100 ? 3 : big ? 6 : 9
    // Faint chords for the messages in flight, then their dots.
    this.pulses = this.pulses.filter((p) => now - p.start < PULSE_MS)
    ctx.lineWidth = 1
    for (const p of this.pulses) {
      const a = this.pos.get(p.from)
      const b = this.pos.get(p.to)
      if (a === undefined || b === undefined) continue
      const t = (now - p.start) / PULSE_MS
      ctx.strokeStyle = p.color
      ctx.globalAlpha = 0.25 * (1 - t)
      ctx.beginPath()
      ctx.moveTo(a[0], a[1])
      ctx.lineTo(b[0], b[1])
      ctx.stroke()
      ctx.globalAlpha = 1
      ctx.fillStyle = p.color
      ctx.beginPath()
      ctx.arc(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, big ? 2 : 3.5, 0, 2 * Math.PI)
      ctx.fill()
    }
    ctx.font = '12px system-ui, sans-serif'
    ctx.textBaseline = 'middle'
    for (const name of this.names) {
      const [x, y] = this.pos.get(name)!
      const state = this.states.get(name) ?? 'alive'
      ctx.fillStyle = STATE_COLOR[state]
      ctx.beginPath()
      ctx.arc(x, y, name === this.selected ? radius + 3 : radius, 0, 2 * Math.PI)
      ctx.fill()
      if (name === this.self || name === this.selected) {
        ctx.strokeStyle = name === this.selected ? '#f8fafc' : '#94a3b8'
        ctx.lineWidth = 2
        ctx.beginPath()
        ctx.arc(x, y, radius + (name === this.selected ? 6 : 4), 0, 2 * Math.PI)
        ctx.stroke()
      }
      if (!big) {
        const cx = w / 2
        const cy = h / 2
        const d = Math.hypot(x - cx, y - cy) || 1
        const lx = x + ((x - cx) / d) * (radius + 10)
        const ly = y + ((y - cy) / d) * (radius + 10)
        ctx.fillStyle = '#cbd5e1'
        ctx.textAlign = lx < cx - 4 ? 'right' : lx > cx + 4 ? 'left' : 'center'
        ctx.fillText(name, lx, ly)
      }
    }
    if (this.pulses.length > 0) this.request()
  }
}
