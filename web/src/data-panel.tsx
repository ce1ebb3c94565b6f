/**
 * The observing node's replicated data and aggregates, live (GET /v1/ui/data, agent/http/ui-data.ts):
 *
 *   every 2 s     the CRDT keys with their type and local value, and the running aggregates with their
 *                 estimate, epoch, spread, participants and the running epoch's value
 *   every 3rd     also `agreement=1`: how many members hold exactly this node's state of each key (the
 *                 agent asks them with one query per key); shown until the next check
 */
import { useEffect, useState } from 'preact/hooks'
import { getJson } from './api.js'

export interface KeyAgreement { agree: number; differ: number; lacking: number; tooLarge: number; answered: number; members: number }
export interface CrdtRow { key: string; kind: string | null; name: string; value: unknown; agreement: KeyAgreement | null }
export interface AggregateRow {
  name: string
  function: string
  mode: string
  epochMs: number
  estimate: { value: number | null; epoch: number; spread: number | null } | null
  running: { epoch: number; cycle: number; value: number | null }
  participants: number
  localValue: number
  lastValueError: string | null
  source: { kind: string; metric?: string; command?: string; value?: number }
}
export interface UiData { crdt: CrdtRow[]; agreementChecked: number | null; aggregates: AggregateRow[] }

const TYPE_LABEL: Record<string, string> = { counter: 'PN-counter', gcounter: 'G-counter', set: 'OR-set', map: 'OR-map', register: 'LWW-register', mvregister: 'MV-register', flag: 'flag' }
const POLL_MS = 2000
const AGREEMENT_EVERY = 3

function show(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v)
  return text.length > 90 ? `${text.slice(0, 88)}…` : text
}

function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–'
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2)
  return String(+v.toFixed(4))
}

function sourceText(s: AggregateRow['source']): string {
  return s.kind === 'metric' ? `metric ${s.metric}` : s.kind === 'command' ? `command ${s.command}` : s.kind === 'constant' ? `constant ${s.value}` : s.kind
}

function Agreement({ a }: { a: KeyAgreement | null | undefined }) {
  if (a === null || a === undefined) return <span class="dim">–</span>
  const all = a.differ === 0 && a.lacking === 0 && a.tooLarge === 0
  const detail = `${a.agree} hold this state, ${a.differ} another, ${a.lacking} none yet, ${a.tooLarge} too large to compare; ${a.answered} of ${a.members} alive members answered`
  return <span class={`badge ${all ? 's-alive' : 's-suspect'}`} title={detail} data-agree={a.agree} data-answered={a.answered}>{a.agree} of {a.answered} agree</span>
}

/** Polls the observer's data; `base` is its API ('..' for the agent itself, the demo's proxy otherwise). */
function useUiData(base: string): { data: UiData | undefined; agreement: Map<string, KeyAgreement>; error: string } {
  const [data, setData] = useState<UiData | undefined>()
  const [agreement, setAgreement] = useState<Map<string, KeyAgreement>>(new Map())
  const [error, setError] = useState('')
  useEffect(() => {
    let n = 0
    let live = true
    setData(undefined)
    setAgreement(new Map())
    const poll = (): void => {
      const ask = n++ % AGREEMENT_EVERY === 0
      getJson<UiData>(`${base}/v1/ui/data${ask ? '?agreement=1' : ''}`, 6000).then((d) => {
        if (!live) return
        setData(d)
        setError('')
        if (d.agreementChecked !== null) setAgreement(new Map(d.crdt.filter((r) => r.agreement !== null).map((r) => [r.key, r.agreement!])))
      }, (e: Error) => live && setError(e.message))
    }
    poll()
    const t = setInterval(poll, POLL_MS)
    return () => {
      live = false
      clearInterval(t)
    }
  }, [base])
  return { data, agreement, error }
}

export function DataPanel({ base, observer }: { base: string; observer: string }) {
  const { data, agreement, error } = useUiData(base)
  return (
    <section class="panel data-panel" aria-labelledby="data-h">
      <div class="panel-head"><h2 id="data-h">Replicated data and aggregates</h2><span class="dim small">as {observer} holds them{error === '' ? '' : ` (${error})`}</span></div>
      {data === undefined ? <div class="empty">loading…</div> : (
        <>
          {data.crdt.length === 0 ? <div class="empty">no replicated data; try <code>grapevine crdt counter incr hits</code></div> : (
            <table class="list crdt-table" aria-label="replicated data types">
              <thead><tr><th>Key</th><th>Type</th><th>Value here</th><th>Agreement</th></tr></thead>
              <tbody>{data.crdt.map((r) => (
                <tr key={r.key} data-key={r.key}>
                  <td class="mono">{r.name}</td>
                  <td class="dim">{TYPE_LABEL[r.kind ?? ''] ?? r.kind}</td>
                  <td class="mono value">{show(r.value)}</td>
                  <td><Agreement a={agreement.get(r.key)} /></td>
                </tr>
              ))}</tbody>
            </table>
          )}
          {data.aggregates.length === 0 ? <div class="empty">no aggregates; try <code>grapevine aggregate start nodes count</code></div> : (
            <table class="list aggregate-table" aria-label="aggregates">
              <thead><tr><th>Aggregate</th><th>Function</th><th class="num">Estimate</th><th class="num">Epoch</th><th class="num">Spread</th><th class="num">Nodes</th><th class="num">Running</th><th>Value from</th></tr></thead>
              <tbody>{data.aggregates.map((a) => (
                <tr key={a.name} data-aggregate={a.name}>
                  <td class="mono">{a.name}</td>
                  <td class="dim">{a.function} <span class="small">{a.mode}</span></td>
                  <td class="num estimate">{num(a.estimate?.value)}</td>
                  <td class="num">{a.estimate?.epoch ?? '–'}</td>
                  <td class="num">{num(a.estimate?.spread)}</td>
                  <td class="num">{a.participants}</td>
                  <td class="num dim" title={`epoch ${a.running.epoch}, cycle ${a.running.cycle}`}>{num(a.running.value)}</td>
                  <td class="mono small clip" title={a.lastValueError ?? sourceText(a.source)}>{a.lastValueError === null ? sourceText(a.source) : <span class="warn">{a.lastValueError}</span>}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
        </>
      )}
    </section>
  )
}
