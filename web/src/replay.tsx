/** Simulator replay: open a `grapevine sim --trace` file, scrub through virtual time, watch views and gossip. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import type { State } from './api.js'
import { LEGEND, RingGraph, STATE_COLOR } from './graph.js'
import { countStates } from './model.js'
import { ViewReplay, parseTrace, series } from './trace.js'
import type { Trace } from './trace.js'
import type { SimAnswer, SimRequest } from './sim-worker.js'
import type { ScenarioStep } from '../../src/runtime/sim/scenario.js'

/** Runs the simulator in a Web Worker (the page stays responsive); resolves with its answer. */
function simulate(request: SimRequest): Promise<SimAnswer> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./sim-worker.js', import.meta.url), { type: 'module' })
    worker.onmessage = (m: MessageEvent<SimAnswer>) => {
      worker.terminate()
      resolve(m.data)
    }
    worker.onerror = (err) => {
      worker.terminate()
      resolve({ ok: false, error: err.message })
    }
    worker.postMessage(request)
  })
}

const SPEEDS = [0.5, 1, 2, 5, 10, 20]
const CELL_COLOR: Record<State, [number, number, number]> = { alive: [52, 211, 153], suspect: [251, 191, 36], dead: [248, 113, 113], left: [148, 163, 184] }

function ViewsHeatmap({ trace, replay, at }: { trace: Trace; replay: ViewReplay; at: number }) {
  const canvas = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const c = canvas.current!
    const n = trace.nodes.length
    const img = new ImageData(n, n)
    trace.nodes.forEach((o, row) => {
      const v = replay.views.get(o)
      const down = replay.down.has(o)
      for (let col = 0; col < n; col++) {
        const s = v?.get(trace.nodes[col])
        const [r, g, b] = down ? [51, 65, 85] : s === undefined ? [30, 41, 59] : CELL_COLOR[s]
        const k = (row * n + col) * 4
        img.data[k] = r
        img.data[k + 1] = g
        img.data[k + 2] = b
        img.data[k + 3] = 255
      }
    })
    const off = new OffscreenCanvas(n, n)
    off.getContext('2d')!.putImageData(img, 0, 0)
    const ctx = c.getContext('2d')!
    const size = c.clientWidth
    c.width = size
    c.height = size
    ctx.imageSmoothingEnabled = false
    ctx.drawImage(off, 0, 0, size, size)
  }, [at, trace])
  return <canvas ref={canvas} class="heatmap" role="img" aria-label="membership views: a row per observer, a column per member, coloured by state" />
}

function Charts({ trace, focus, at, onSeek }: { trace: Trace; focus: string | undefined; at: number; onSeek: (ms: number) => void }) {
  const box = useRef<HTMLDivElement>(null)
  const plots = useRef<uPlot[]>([])
  const atRef = useRef(at)
  atRef.current = at
  useEffect(() => {
    const s = series(trace, focus)
    const width = Math.max(300, box.current!.clientWidth - 8)
    const marker = {
      hooks: {
        draw: [(u: uPlot) => {
          const x = u.valToPos(atRef.current / 1000, 'x', true)
          const ctx = u.ctx
          ctx.save()
          ctx.strokeStyle = '#f8fafc'
          ctx.lineWidth = 1.5
          ctx.beginPath()
          ctx.moveTo(x, u.bbox.top)
          ctx.lineTo(x, u.bbox.top + u.bbox.height)
          ctx.stroke()
          ctx.restore()
        }],
      },
    }
    const axis = { stroke: '#94a3b8', grid: { stroke: '#1e293b' }, ticks: { stroke: '#334155' } }
    const common = (title: string) => ({
      title, width, height: 150, plugins: [marker], legend: { show: true }, cursor: { drag: { x: false, y: false } },
      axes: [{ ...axis, values: (_u: uPlot, ticks: number[]) => ticks.map((v) => `${v} s`) }, { ...axis, size: 60 }],
    })
    box.current!.replaceChildren()
    const made = [
      new uPlot({ ...common(`Fraction of nodes informed that ${focus ?? '(no failure)'} failed`), scales: { x: { time: false }, y: { range: [0, 1] } }, series: [{ label: 'time', value: (_u: uPlot, v: number) => (v == null ? '–' : `${v.toFixed(1)} s`) }, { label: 'informed', stroke: '#f87171', fill: 'rgba(248,113,113,0.15)', width: 2 }] }, [s.x, s.informed], box.current!),
      new uPlot({ ...common('Suspicions and failures declared per interval'), scales: { x: { time: false } }, series: [{ label: 'time', value: (_u: uPlot, v: number) => (v == null ? '–' : `${v.toFixed(1)} s`) }, { label: 'suspected', stroke: '#fbbf24', width: 2 }, { label: 'failed', stroke: '#f87171', width: 2 }] }, [s.x, s.suspected, s.failed], box.current!),
      new uPlot({ ...common('KiB/s sent, all nodes'), scales: { x: { time: false } }, series: [{ label: 'time', value: (_u: uPlot, v: number) => (v == null ? '–' : `${v.toFixed(1)} s`) }, { label: 'KiB/s', stroke: '#60a5fa', fill: 'rgba(96,165,250,0.12)', width: 1.5 }] }, [s.x, s.kbytes], box.current!),
    ]
    for (const p of made) {
      p.over.addEventListener('click', () => {
        const left = p.cursor.left
        if (left !== undefined && left >= 0) onSeek(p.posToVal(left, 'x') * 1000)
      })
    }
    plots.current = made
    return () => made.forEach((p) => p.destroy())
  }, [trace, focus])
  useEffect(() => {
    for (const p of plots.current) p.redraw(false)
  }, [at])
  return <div class="charts" ref={box} />
}

interface ScenarioForm {
  nodes: string
  seed: string
  duration: string
  loss: string
  crash: string
  partition: string
}

/** The form as a simulator request and the equivalent command line; throws naming the bad field. */
function scenarioOf(f: ScenarioForm): { request: SimRequest; command: string } {
  const int = (v: string, field: string, min: number, max: number): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${field}: expected a whole number from ${min} to ${max}, got "${v}"`)
    return n
  }
  const nodes = int(f.nodes, 'nodes', 2, 500)
  const seed = int(f.seed, 'seed', 0, 4294967295)
  const duration = int(f.duration, 'duration (s)', 1, 600)
  const lossPct = Number(f.loss)
  if (!(lossPct >= 0 && lossPct <= 50)) throw new Error(`loss: expected a percentage from 0 to 50, got "${f.loss}"`)
  const steps: ScenarioStep[] = []
  const parts = ['grapevine sim', `--nodes ${nodes}`, `--seed ${seed}`, `--duration ${duration}s`]
  if (lossPct > 0) parts.push(`--loss ${lossPct}%`)
  if (f.crash.trim() !== '') {
    const m = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(f.crash.trim())
    if (m === null || Number(m[2]) > duration) throw new Error(`crash: expected COUNT@SECONDS within the duration, like 2@10, got "${f.crash}"`)
    steps.push({ kind: 'crash', count: Number(m[1]), atMs: Number(m[2]) * 1000 })
    parts.push(`--crash ${m[1]}@${m[2]}s`)
  }
  if (f.partition.trim() !== '') {
    const m = /^(0?\.\d+)@(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(f.partition.trim())
    if (m === null || Number(m[2]) > duration) throw new Error(`partition: expected FRACTION@SECONDS:LENGTH within the duration, like 0.3@15:10, got "${f.partition}"`)
    steps.push({ kind: 'partition', fraction: Number(m[1]), atMs: Number(m[2]) * 1000, lengthMs: Number(m[3]) * 1000 })
    parts.push(`--partition ${m[1]}@${m[2]}s:${m[3]}s`)
  }
  return { request: { kind: 'form', nodes, seed, durationMs: duration * 1000, loss: lossPct / 100, steps }, command: parts.join(' ') }
}

function RunScenario({ onTrace }: { onTrace: (t: Trace, name: string) => void }) {
  const [form, setForm] = useState<ScenarioForm>({ nodes: '40', seed: '1', duration: '30', loss: '1', crash: '2@8', partition: '' })
  const [status, setStatus] = useState('')
  const [running, setRunning] = useState(false)
  const field = (key: keyof ScenarioForm, label: string, width = 70) => (
    <label class="inline">{label}<input type="text" inputMode="decimal" aria-label={label} style={{ width: `${width}px` }} value={form[key]} onInput={(e) => setForm({ ...form, [key]: (e.target as HTMLInputElement).value })} /></label>
  )
  const run = (e: Event): void => {
    e.preventDefault()
    let scenario: ReturnType<typeof scenarioOf>
    try {
      scenario = scenarioOf(form)
    } catch (err) {
      setStatus((err as Error).message)
      return
    }
    setRunning(true)
    setStatus(`running ${scenario.command} …`)
    void simulate(scenario.request).then((a) => {
      setRunning(false)
      if (!a.ok) return setStatus(`the simulation failed: ${a.error}`)
      onTrace(parseTrace(a.text), `${scenario.command} --trace FILE`)
      setStatus(`ran in ${a.wallMs} ms${a.converged ? '' : ' (did not converge)'}; the same run on the command line: ${scenario.command} --trace FILE`)
    })
  }
  return (
    <form class="scenario" onSubmit={run} aria-label="run a scenario in the page">
      <span class="dim small">or run one here:</span>
      {field('nodes', 'nodes', 56)}{field('seed', 'seed', 90)}{field('duration', 'seconds', 50)}{field('loss', 'loss %', 44)}
      {field('crash', 'crash N@s', 60)}{field('partition', 'partition F@s:len', 90)}
      <button type="submit" disabled={running}>{running ? 'Running…' : 'Run scenario'}</button>
      <span class="dim small scenario-status" role="status">{status}</span>
    </form>
  )
}

export function Replay() {
  const [trace, setTrace] = useState<Trace | null>(null)
  const [name, setName] = useState('')
  const [at, setAt] = useState(0)
  const [playing, setPlaying] = useState(false)
  const [speed, setSpeed] = useState(5)
  const [error, setError] = useState('')
  const [note, setNote] = useState('')
  const replay = useMemo(() => (trace === null ? null : new ViewReplay(trace)), [trace])
  const focus = useMemo(() => trace?.events.find((e) => e.type === 'failed')?.member, [trace])
  const canvas = useRef<HTMLCanvasElement>(null)
  const graph = useRef<RingGraph | undefined>(undefined)
  const lastAt = useRef(0)

  const load = (t: Trace, label: string): void => {
    setPlaying(false)
    setTrace(t)
    setName(label)
    setAt(0)
    lastAt.current = 0
    setError('')
    setNote('')
  }
  const open = async (file: File): Promise<void> => {
    try {
      if (/\.(ya?ml|json)$/i.test(file.name)) {
        // A scenario file: run it here, as `grapevine sim FILE` would.
        setNote(`running the scenario file ${file.name} …`)
        const a = await simulate({ kind: 'file', name: file.name, text: await file.text(), seed: 1 })
        if (!a.ok) throw new Error(a.error)
        load(parseTrace(a.text), `${a.command} --trace FILE (ran in ${a.wallMs} ms)`)
        return
      }
      const t = parseTrace(await file.text())
      if (t.nodes.length === 0) throw new Error('no nodes found: is this a `grapevine sim --trace FILE` file?')
      load(t, file.name)
    } catch (e) {
      setNote('')
      setError((e as Error).message)
    }
  }

  useEffect(() => {
    if (trace === null || canvas.current === null) return
    graph.current = new RingGraph(canvas.current)
    return () => graph.current?.destroy()
  }, [trace])

  // Big traces: views, consensus and heatmap follow the clock in steps, so playing stays smooth.
  // (about twice a second of wall time while playing a 1,000-node trace).
  const weight = trace === null ? 0 : trace.nodes.length > 200 ? 500 : trace.nodes.length > 50 ? 100 : 0
  const step = Math.max(1, playing ? weight * speed : weight / 5)
  const coarse = Math.floor(at / step) * step
  const consensus = useMemo(() => {
    if (replay === null) return undefined
    replay.seek(coarse)
    return replay.consensus()
  }, [replay, coarse])

  useEffect(() => {
    if (trace === null || consensus === undefined) return
    graph.current?.setNodes(trace.nodes.map((n) => ({ name: n, state: consensus.get(n) ?? 'alive' })))
    // Messages sent since the last frame (forward only), at most a few hundred.
    if (at > lastAt.current && at - lastAt.current < 2000) {
      const packets = trace.packets
      let lo = 0
      let hi = packets.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (packets[mid].t <= lastAt.current) lo = mid + 1
        else hi = mid
      }
      const budget = trace.nodes.length > 200 ? 60 : 300
      for (let i = lo, shown = 0; i < packets.length && packets[i].t <= at && shown < budget; i++, shown++) {
        if (!packets[i].lost) graph.current?.pulse(packets[i].from, packets[i].to, packets[i].types)
      }
    }
    lastAt.current = at
  }, [at, trace, consensus])

  useEffect(() => {
    if (!playing || trace === null) return
    let last = performance.now()
    let frame = requestAnimationFrame(function tick(now) {
      const dt = (now - last) * speed
      last = now
      setAt((a) => {
        const next = Math.min(trace.endMs, a + dt)
        if (next >= trace.endMs) setPlaying(false)
        return next
      })
      frame = requestAnimationFrame(tick)
    })
    return () => cancelAnimationFrame(frame)
  }, [playing, speed, trace])

  const faultsSoFar = trace?.faults.filter((f) => f.t <= at) ?? []
  const counts = countStates(consensus === undefined ? [] : [...consensus.values()].map((state) => ({ state })) as never)
  return (
    <div class="replay">
      <section class="panel">
        <div class="panel-head">
          <h2>Simulator replay</h2>
          <label class="file">
            <input type="file" accept=".trace,.txt,.yaml,.yml,.json,text/plain" aria-label="open a trace or scenario file" onChange={(e) => {
              const f = (e.target as HTMLInputElement).files?.[0]
              if (f !== undefined) void open(f)
            }} />
            Open a trace or scenario…
          </label>
          <span class="dim small">a trace from <code>grapevine sim … --trace run.trace</code>, or a scenario file (YAML/JSON) to run here</span>
        </div>
        <RunScenario onTrace={load} />
        {error !== '' ? <div class="error" role="alert">{error}</div> : null}
        {note !== '' ? <div class="dim small" role="status">{note}</div> : null}
        {trace === null ? <div class="empty">no trace open</div> : (
          <div class="scrub">
            <button aria-label={playing ? 'pause replay' : 'play replay'} onClick={() => {
              if (!playing && at >= trace.endMs) setAt(0)
              setPlaying(!playing)
            }}>{playing ? '❚❚ Pause' : '▶ Play'}</button>
            <input type="range" class="timeline" min="0" max={trace.endMs} step="10" value={at} aria-label="virtual time" aria-valuetext={`${(at / 1000).toFixed(1)} seconds`}
              onInput={(e) => {
                setPlaying(false)
                setAt(Number((e.target as HTMLInputElement).value))
              }} />
            <span class="mono clock" data-testid="replay-clock">{(at / 1000).toFixed(1)} s / {(trace.endMs / 1000).toFixed(1)} s</span>
            <label class="inline">speed <select aria-label="replay speed" value={speed} onChange={(e) => setSpeed(Number((e.target as HTMLSelectElement).value))}>
              {SPEEDS.map((s) => <option key={s} value={s}>{s}×</option>)}
            </select></label>
          </div>
        )}
        {trace !== null ? (
          <div class="dim small replay-meta">
            <span class="mono">{name}</span>: {trace.nodes.length} nodes, {trace.events.length} events, {trace.packets.length} packets and streams
            {trace.skipped > 0 ? `, ${trace.skipped} lines not understood` : ''} ·
            consensus now: <span class="c-text-alive">{counts.alive} alive</span>, <span class="c-text-suspect">{counts.suspect} suspect</span>, <span class="c-text-dead">{counts.dead} failed</span>, <span class="c-text-left">{counts.left} left</span>
            {faultsSoFar.length > 0 ? <> · faults: {faultsSoFar.map((f) => `${(f.t / 1000).toFixed(1)} s ${f.text.length > 60 ? f.text.slice(0, 57) + "…" : f.text}`).join('; ')}</> : null}
          </div>
        ) : null}
      </section>
      {trace !== null && replay !== null ? (
        <div class="columns">
          <div class="col">
            <section class="panel graph-panel">
              <div class="panel-head"><h2>Gossip (colour: the state most nodes see)</h2></div>
              <canvas ref={canvas} class="graph" role="img" aria-label="ring of simulated nodes with messages in flight" />
              <div class="legend">{LEGEND.map(([l, c]) => <span key={l}><i style={{ background: c }} />{l}</span>)}</div>
            </section>
            <section class="panel">
              <div class="panel-head"><h2>Membership views</h2><span class="dim small">row: observer, column: member; grey rows: crashed or paused</span>
                <span class="legend">{(['alive', 'suspect', 'dead', 'left'] as State[]).map((s) => <span key={s}><i style={{ background: STATE_COLOR[s] }} />{s === 'dead' ? 'failed' : s}</span>)}</span>
              </div>
              <ViewsHeatmap trace={trace} replay={replay} at={coarse} />
            </section>
          </div>
          <div class="col">
            <section class="panel">
              <div class="panel-head"><h2>Over time</h2><span class="dim small">click a chart to jump there</span></div>
              <Charts trace={trace} focus={focus} at={at} onSeek={(ms) => { setPlaying(false); setAt(ms) }} />
            </section>
          </div>
        </div>
      ) : null}
    </div>
  )
}
