/** The live view: the cluster as one node sees it, its drill-down, and (under the demo) chaos controls. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { DemoCluster, Gossip, MemberRow, NodeView, State } from './api.js'
import { ApiError, STATE_LABEL, getJson, postJson, setToken, subscribe } from './api.js'
import { LEGEND, RingGraph, STATE_COLOR } from './graph.js'
import { LiveModel, byName, compactTypes, countStates, episodes, rounds } from './model.js'
import type { ObserverView } from './model.js'
import { VirtualTable } from './table.js'
import { PoolsPanel } from './pools.js'
import { DataPanel } from './data-panel.js'
import type { Column } from './table.js'
import { STORM_ACCUSERS, STORM_WINDOW_MS, summarizeAccusations } from '../../src/swim/accusation-window.js'

const STATE_ORDER: Record<State, number> = { dead: 0, suspect: 1, left: 2, alive: 3 }

export function Badge({ state }: { state: State }) {
  return <span class={`badge s-${state}`}>{STATE_LABEL[state]}</span>
}

export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`
  return `${Math.floor(s / 3600)}h ago`
}

function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false })
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** Where each observer's API lives: the agent itself, or the demo's proxy. */
function apiBase(demo: DemoCluster | null, observer: string): string {
  return demo === null ? '..' : `../node/${encodeURIComponent(observer)}`
}

/** Connects the model to the agent(s): one view fetch per node, then the event stream(s). */
function useLive(demo: DemoCluster | null, self: string | null, onAuth: () => void): LiveModel {
  const model = useMemo(() => new LiveModel(), [])
  const names = demo === null ? (self === null ? [] : [self]) : demo.nodes.map((n) => n.name)
  const key = names.join(',')
  useEffect(() => {
    if (names.length === 0) return
    const load = (observer: string): void => {
      getJson<NodeView>(`${apiBase(demo, observer)}/v1/ui/view`)
        .then((v) => model.setView(observer, v))
        .catch((e: unknown) => {
          if (e instanceof ApiError && e.status === 401) onAuth()
          model.setOnline(observer, false)
        })
    }
    if (demo === null) {
      const observer = names[0]
      return subscribe(`../v1/events?types=${DASHBOARD_EVENT_TYPES}`, (type, data) => model.event(observer, type, data), () => load(observer))
    }
    for (const n of demo.nodes) if (n.state === 'up') load(n.name)
    return subscribe('../demo/api/events', (type, data: any) => {
      if (type === 'up') load(data.node)
      else if (type === 'down') model.setOnline(data.node, false)
      else model.event(data.node, type, data.data)
    }, () => {})
  }, [key])
  return model
}

/** Every kind of event the page draws; the agent sends only the kinds asked for. */
const DASHBOARD_EVENT_TYPES = 'member,user,message,state,gossip,suspicion,health,phi'

function Summary({ view, observer }: { view: ObserverView | undefined; observer: string }) {
  const c = countStates(view?.members.values() ?? [])
  const card = (label: string, value: string | number, cls = '') => (
    <div class={`card ${cls}`}><div class="card-value">{value}</div><div class="card-label">{label}</div></div>
  )
  return (
    <div class="cards" aria-label={`summary of ${observer}'s view`}>
      {card('members', view?.members.size ?? 0)}
      {card('alive', c.alive, 's-alive')}
      {card('suspect', c.suspect, 's-suspect')}
      {card('failed', c.dead, 's-dead')}
      {card('left', c.left, 's-left')}
      {card('health score', view?.health ?? 0, (view?.health ?? 0) > 0 ? 's-suspect' : '')}
      {view?.coordinate ? card('coordinate error', view.coordinate.error.toFixed(3)) : null}
      {card('sent / received', `${bytes(view?.counters.bytesOut ?? 0)} / ${bytes(view?.counters.bytesIn ?? 0)}`, 'wide')}
    </div>
  )
}

/** Accusation storms: rates over the last window, and the members accused by many at once, with their accusers. */
function Storm({ view, now }: { view: ObserverView | undefined; now: number }) {
  const s = summarizeAccusations(view?.suspicions ?? [], now)
  const shown = s.accused.filter((a) => a.open || a.many).slice(0, 8)
  return (
    <div class="storm" role="status" aria-label="accusations">
      <span class="dim">last {STORM_WINDOW_MS / 1000} s:</span>
      <span>{s.perSecond.suspicions} suspicions/s</span>
      <span>{s.perSecond.refutations} refutations/s</span>
      <span class={s.perSecond.deaths > 0 ? 'warn' : ''}>{s.perSecond.deaths} failures/s</span>
      {shown.map((a) => (
        <span key={a.member} class={`badge ${a.many ? 's-dead storm-many' : 's-suspect'}`} title={`accused by ${a.accusers.join(', ')}`}>
          {a.member} accused by {a.accusers.length}{a.many ? ` (≥ ${STORM_ACCUSERS} at once)` : ''}: {a.accusers.slice(0, 6).join(', ')}{a.accusers.length > 6 ? ', …' : ''}
        </span>
      ))}
    </div>
  )
}

function MemberTable({ view, selected, onSelect, now }: { view: ObserverView | undefined; selected: string | undefined; onSelect: (m: MemberRow) => void; now: number }) {
  const [filter, setFilter] = useState('')
  const [sort, setSort] = useState<'name' | 'state' | 'changed'>('name')
  const rows = useMemo(() => {
    const all = [...(view?.members.values() ?? [])].filter((m) => filter === '' || m.name.includes(filter) || m.address.includes(filter) || STATE_LABEL[m.state].startsWith(filter))
    if (sort === 'state') all.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || byName(a.name, b.name))
    else if (sort === 'changed') all.sort((a, b) => b.changedAt - a.changedAt)
    else all.sort((a, b) => byName(a.name, b.name))
    return all
  }, [view?.members, view && [...view.members.values()].map((m) => m.state + m.incarnation).join(), filter, sort])
  const accused = useMemo(() => new Map(summarizeAccusations(view?.suspicions ?? [], now).accused.map((a) => [a.member, a])), [view?.suspicions.length, now])
  const columns: Array<Column<MemberRow>> = [
    { label: 'Member', width: '1.45fr', cell: (m) => <span class="mono">{m.name}{m.name === view?.self ? <span class="you"> (this node)</span> : null}</span> },
    { label: 'State', width: '1.5fr', cell: (m) => {
      const a = accused.get(m.name)
      return <span><Badge state={m.state} />{a?.many === true ? <span class="badge s-dead storm-many" title={`accused by ${a.accusers.join(', ')} in the last ${STORM_WINDOW_MS / 1000} s`}>×{a.accusers.length}</span> : null}</span>
    } },
    { label: 'Inc.', width: '0.45fr', cell: (m) => m.incarnation },
    { label: 'Address', width: '0.95fr', cell: (m) => <span class="mono dim">{m.address}</span> },
    { label: 'RTT', width: '0.8fr', cell: (m) => (m.rttMs === null || m.rttMs === undefined ? <span class="dim">–</span> : <span title="estimated from network coordinates">{m.rttMs.toFixed(m.rttMs >= 10 ? 1 : 2)} ms</span>) },
    { label: 'φ', width: '0.5fr', cell: (m) => (m.phi === null ? <span class="dim">–</span> : <span class={m.phi > 8 ? 'warn' : ''}>{m.phi >= 100 ? '≥100' : m.phi.toFixed(m.phi >= 10 ? 1 : 2)}</span>) },
    { label: 'Changed', width: '0.9fr', cell: (m) => <span class="dim">{ago(m.changedAt, now)}</span> },
    { label: 'Tags', width: '1fr', cell: (m) => <span class="tags">{Object.entries(m.tags).map(([k, v]) => <span class="tag" key={k}>{k}={v}</span>)}</span> },
  ]
  return (
    <section class="panel" aria-labelledby="members-h">
      <div class="panel-head">
        <h2 id="members-h">Members</h2>
        <input type="search" placeholder="filter by name, address or state" aria-label="filter members" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        <label class="inline">sort <select aria-label="sort members" value={sort} onChange={(e) => setSort((e.target as HTMLSelectElement).value as typeof sort)}>
          <option value="name">name</option><option value="state">state</option><option value="changed">last change</option>
        </select></label>
      </div>
      <VirtualTable label="members" rows={rows} columns={columns} rowKey={(m) => m.name} height={Math.min(330, Math.max(4, rows.length) * 30)} selected={selected} onSelect={onSelect} rowClass={(m) => `member-${m.state}`} />
    </section>
  )
}

function Graph({ model, view, observer, demo, selected }: { model: LiveModel; view: ObserverView | undefined; observer: string; demo: boolean; selected: string | undefined }) {
  const canvas = useRef<HTMLCanvasElement>(null)
  const graph = useRef<RingGraph | undefined>(undefined)
  useEffect(() => {
    graph.current = new RingGraph(canvas.current!)
    return () => graph.current?.destroy()
  }, [])
  useEffect(() => {
    const nodes = [...(view?.members.values() ?? [])].sort((a, b) => byName(a.name, b.name))
    graph.current?.setNodes(nodes, observer, selected)
  })
  useEffect(() => {
    model.onGossip = (from: string, g: Gossip) => {
      // Under the demo every node reports its own traffic: draw what each sent, once.
      if (demo ? g.direction === 'out' : true) graph.current?.pulse(g.direction === 'out' ? from : g.peer, g.direction === 'out' ? g.peer : from, g.types)
    }
    return () => (model.onGossip = undefined)
  }, [model, demo])
  return (
    <section class="panel graph-panel" aria-labelledby="graph-h">
      <div class="panel-head"><h2 id="graph-h">Gossip {demo ? 'between all nodes' : `to and from ${observer}`}</h2></div>
      <canvas ref={canvas} class="graph" role="img" aria-label={`ring of ${view?.members.size ?? 0} members; dots are messages in flight`} />
      <div class="legend">{LEGEND.map(([l, c]) => <span key={l}><i style={{ background: c }} />{l}</span>)}</div>
    </section>
  )
}

function Drill({ view, now, selected }: { view: ObserverView | undefined; now: number; selected: string | undefined }) {
  const [tab, setTab] = useState<'suspicions' | 'gossip' | 'state'>('suspicions')
  const tabs: Array<[typeof tab, string]> = [['suspicions', 'Suspicions'], ['gossip', 'Gossip rounds'], ['state', 'Cluster state']]
  const eps = useMemo(() => episodes(view?.suspicions ?? []).filter((e) => selected === undefined || e.member === selected || e.accuser === selected), [view?.suspicions.length, selected, view])
  return (
    <section class="panel" aria-label="drill-down">
      <div class="tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button key={id} role="tab" aria-selected={tab === id} class={tab === id ? 'active' : ''} onClick={() => setTab(id)}>{label}</button>
        ))}
        {selected !== undefined && tab === 'suspicions' ? <span class="dim small">about {selected}</span> : null}
      </div>
      <div class="drill" role="tabpanel">
        {tab === 'suspicions' ? (
          eps.length === 0 ? <div class="empty">no suspicions seen{selected === undefined ? '' : ` about ${selected}`}</div> : (
            <table class="list">
              <thead><tr><th>Member</th><th>Inc.</th><th>Accused by</th><th>Confirmed by</th><th>Outcome</th><th>When</th></tr></thead>
              <tbody>{eps.slice(0, 80).map((e, i) => (
                <tr key={i}>
                  <td class="mono">{e.member}</td><td>{e.incarnation}</td>
                  <td class="mono">{e.accuser ?? '–'} <span class="dim">{e.via === null ? '' : `via ${e.via}`}</span></td>
                  <td class="mono">{e.confirmedBy.length === 0 ? <span class="dim">–</span> : e.confirmedBy.join(', ')}</td>
                  <td>{e.outcome === 'failed' ? <Badge state="dead" /> : e.outcome === 'refuted' ? <span class="badge s-alive">refuted</span> : <Badge state="suspect" />}</td>
                  <td class="dim">{ago(e.at, now)}</td>
                </tr>
              ))}</tbody>
            </table>
          )
        ) : tab === 'gossip' ? (
          <table class="list">
            <thead><tr><th>When</th><th>Peer</th><th>Sent →</th><th>← Received</th><th class="num">Bytes →/←</th></tr></thead>
            <tbody>{rounds(view?.gossip ?? []).slice(0, 60).map((r, i) => (
              <tr key={i}>
                <td class="dim">{clockTime(r.at)}</td>
                <td class="mono">{r.peer}</td>
                <td class="mono small out clip" title={compactTypes(r.sent)}>{compactTypes(r.sent) || <span class="dim">–</span>}</td>
                <td class="mono small in clip" title={compactTypes(r.received)}>{compactTypes(r.received) || <span class="dim">–</span>}</td>
                <td class="num">{r.bytesOut} / {r.bytesIn}</td>
              </tr>
            ))}</tbody>
          </table>
        ) : (
          (view?.kv.size ?? 0) === 0 ? <div class="empty">no keys; set one with <code>grapevine kv set KEY VALUE</code> or PUT /v1/kv/KEY</div> : (
            <table class="list">
              <thead><tr><th>Node</th><th>Key</th><th>Value</th><th class="num">Version</th></tr></thead>
              <tbody>{[...view!.kv.values()].sort((a, b) => byName(a.node, b.node) || a.key.localeCompare(b.key)).slice(0, 300).map((k) => (
                <tr key={`${k.node}/${k.key}`}><td class="mono">{k.node}</td><td class="mono">{k.key}</td><td class="mono">{k.value.slice(0, 80)}</td><td class="num">{k.version ?? '–'}</td></tr>
              ))}</tbody>
            </table>
          )
        )}
      </div>
    </section>
  )
}

const DEMO_STATE_CLASS: Record<string, string> = { up: 's-alive', paused: 's-suspect', down: 's-dead', stopping: 's-left', starting: 's-left' }

function Chaos({ demo, refresh }: { demo: DemoCluster; refresh: () => void }) {
  const [busy, setBusy] = useState<string | null>(null)
  const [message, setMessage] = useState('')
  const [group, setGroup] = useState<Set<string>>(new Set())
  const [loss, setLoss] = useState(Math.round(demo.loss * 100))
  const run = async (label: string, f: () => Promise<{ message?: string }>): Promise<void> => {
    setBusy(label)
    try {
      const r = await f()
      setMessage(r.message ?? label)
    } catch (e) {
      setMessage(`${label}: ${(e as Error).message}`)
    } finally {
      setBusy(null)
      refresh()
    }
  }
  const act = (index: number, name: string, action: string) => run(`${action} ${name}`, () => postJson(`../demo/api/nodes/${index}/${action}`, {}))
  const faults = (partition: string[] | undefined, l: number | undefined) =>
    run(partition === undefined ? `loss ${l}%` : partition.length === 0 ? 'heal' : `partition ${partition.join(' ')}`, async () => {
      const f = await postJson<{ partition: string[]; loss: number }>('../demo/api/faults', { partition, loss: l === undefined ? undefined : l / 100 })
      return { message: `${f.partition.length === 0 ? 'no partition' : `${f.partition.join(' ')} cut off`}, ${Math.round(f.loss * 100)}% loss` }
    })
  return (
    <section class="panel chaos" aria-labelledby="chaos-h">
      <div class="panel-head"><h2 id="chaos-h">Chaos controls</h2><span class="dim small">demo supervisor only</span></div>
      <table class="list chaos-table">
        <thead><tr><th>Node</th><th>Process</th><th>PID</th><th>Actions</th><th>Cut off</th></tr></thead>
        <tbody>{demo.nodes.map((n) => (
          <tr key={n.name} data-node={n.name}>
            <td class="mono">{n.name}</td>
            <td><span class={`badge ${DEMO_STATE_CLASS[n.state] ?? ''}`}>{n.state}</span></td>
            <td class="mono dim">{n.pid ?? '–'}</td>
            <td class="actions">
              <button disabled={busy !== null || n.state === 'down'} aria-label={`kill ${n.name}`} onClick={() => act(n.index, n.name, 'kill')}>Kill</button>
              <button disabled={busy !== null || n.state === 'down'} aria-label={`stop ${n.name} gracefully`} onClick={() => act(n.index, n.name, 'stop')}>Stop</button>
              {n.state === 'paused'
                ? <button disabled={busy !== null} aria-label={`resume ${n.name}`} onClick={() => act(n.index, n.name, 'resume')}>Resume</button>
                : <button disabled={busy !== null || n.state !== 'up'} aria-label={`pause ${n.name}`} onClick={() => act(n.index, n.name, 'pause')}>Pause</button>}
              <button disabled={busy !== null} aria-label={`restart ${n.name}`} onClick={() => act(n.index, n.name, 'restart')}>Restart</button>
            </td>
            <td><input type="checkbox" aria-label={`put ${n.name} in the partitioned group`} checked={group.has(n.name)} onChange={(e) => {
              const g = new Set(group)
              if ((e.target as HTMLInputElement).checked) g.add(n.name)
              else g.delete(n.name)
              setGroup(g)
            }} /></td>
          </tr>
        ))}</tbody>
      </table>
      <div class="chaos-row">
        <button disabled={busy !== null || group.size === 0} onClick={() => faults([...group], undefined)}>Partition checked nodes</button>
        <button disabled={busy !== null || demo.partition.length === 0} onClick={() => faults([], undefined)}>Heal partition</button>
        <label class="inline">packet loss <input type="range" min="0" max="60" step="5" value={loss} aria-label="packet loss percent" onInput={(e) => setLoss(Number((e.target as HTMLInputElement).value))} /> <span class="mono">{loss}%</span></label>
        <button disabled={busy !== null} onClick={() => faults(undefined, loss)}>Apply loss</button>
      </div>
      <div class="status" role="status" aria-live="polite">
        {busy !== null ? `${busy} …` : message}
        {demo.partition.length > 0 ? <span class="badge s-suspect">partitioned: {demo.partition.join(' ')}</span> : null}
        {demo.loss > 0 ? <span class="badge s-suspect">{Math.round(demo.loss * 100)}% loss</span> : null}
      </div>
    </section>
  )
}

/** Every node's view of every member, one cell each: agreement (or not) at a glance. */
function Views({ model, demo, observer, onObserve }: { model: LiveModel; demo: DemoCluster; observer: string; onObserve: (n: string) => void }) {
  const names = demo.nodes.map((n) => n.name)
  return (
    <section class="panel" aria-labelledby="views-h">
      <div class="panel-head"><h2 id="views-h">Views</h2><span class="dim small">row: observer, column: member</span></div>
      <table class="matrix">
        <thead><tr><th></th>{names.map((n) => <th key={n} class="mono">{n.replace('node-', '')}</th>)}</tr></thead>
        <tbody>{names.map((o) => {
          const v = model.views.get(o)
          const down = v === undefined || !v.online || demo.nodes.find((n) => n.name === o)?.state !== 'up'
          return (
            <tr key={o} data-observer={o} class={o === observer ? 'current' : ''}>
              <th><button class="link mono" aria-label={`view the cluster as ${o}`} onClick={() => onObserve(o)}>{o}</button></th>
              {names.map((m) => {
                const st = v?.members.get(m)?.state
                return <td key={m} data-member={m} data-state={down ? 'offline' : st ?? 'unknown'} title={`${o} sees ${m}: ${down ? 'observer not answering' : st === undefined ? 'unknown' : STATE_LABEL[st]}`} class={down ? 'off' : st === undefined ? '' : `c-${st}`} />
              })}
            </tr>
          )
        })}</tbody>
      </table>
    </section>
  )
}

/** Asks for the agent's bearer token (started with --http-token) and keeps it for this tab. */
export function TokenForm() {
  return (
    <form class="panel token" onSubmit={(e) => {
      e.preventDefault()
      setToken(((e.currentTarget as HTMLFormElement).elements.namedItem('token') as HTMLInputElement).value)
      location.reload()
    }}>
      <h2>This agent wants a token</h2>
      <p>It was started with an HTTP token; enter it to watch it (kept for this browser tab only).</p>
      <input name="token" type="password" aria-label="bearer token" autoFocus /> <button type="submit">Connect</button>
    </form>
  )
}

export function Live({ demo, self, refreshDemo }: { demo: DemoCluster | null; self: string | null; refreshDemo: () => void }) {
  const [needToken, setNeedToken] = useState(false)
  const model = useLive(demo, self, () => setNeedToken(true))
  const [, setVersion] = useState(0)
  const [now, setNow] = useState(Date.now())
  const [observer, setObserver] = useState<string>(self ?? demo?.nodes[0]?.name ?? '')
  const [selected, setSelected] = useState<string | undefined>()
  useEffect(() => model.listen(() => setVersion(model.version)), [model])
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [])
  useEffect(() => {
    if (observer === '' && self !== null) setObserver(self)
  }, [self])
  const view = model.views.get(observer)
  if (needToken) return <TokenForm />
  return (
    <div class="live">
      <div class="observer-bar">
        <span>Viewing the cluster as</span>
        {demo === null ? <strong class="mono">{observer}</strong> : (
          <select aria-label="observer node" value={observer} onChange={(e) => setObserver((e.target as HTMLSelectElement).value)}>
            {demo.nodes.map((n) => <option key={n.name} value={n.name}>{n.name}{n.state === 'up' ? '' : ` (${n.state})`}</option>)}
          </select>
        )}
        {view !== undefined && !view.online ? <span class="badge s-dead">not answering</span> : null}
        {selected !== undefined ? <button class="link" onClick={() => setSelected(undefined)}>clear selection ({selected})</button> : null}
      </div>
      <Summary view={view} observer={observer} />
      <Storm view={view} now={now} />
      <div class="columns">
        <div class="col">
          {demo !== null ? <Chaos demo={demo} refresh={refreshDemo} /> : null}
          {demo !== null ? <Views model={model} demo={demo} observer={observer} onObserve={setObserver} /> : null}
          <MemberTable view={view} now={now} selected={selected} onSelect={(m) => setSelected(m.name === selected ? undefined : m.name)} />
          {view?.pools ? <PoolsPanel pools={view.pools} /> : null}
          {observer === '' ? null : <DataPanel base={apiBase(demo, observer)} observer={observer} />}
        </div>
        <div class="col">
          <Graph model={model} view={view} observer={observer} demo={demo !== null} selected={selected} />
          <Drill view={view} now={now} selected={selected} />
        </div>
      </div>
    </div>
  )
}
