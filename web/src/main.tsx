import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { DemoCluster } from './api.js'
import { ApiError, getJson } from './api.js'
import { Live, TokenForm } from './live.js'
import { Replay } from './replay.js'
import 'uplot/dist/uPlot.min.css'
import './style.css'

type Tab = 'live' | 'replay'

function App() {
  const [tab, setTab] = useState<Tab>(location.hash === '#replay' ? 'replay' : 'live')
  const [demo, setDemo] = useState<DemoCluster | null | undefined>(undefined)
  const [self, setSelf] = useState<string | null>(null)
  const [error, setError] = useState('')

  const refreshDemo = (): void => {
    getJson<DemoCluster>('../demo/api/cluster').then(setDemo, (e: Error) => setError(e.message))
  }
  useEffect(() => {
    getJson<{ name?: string; demo?: boolean }>('../health').then((h) => {
      if (h.demo === true) refreshDemo()
      else {
        setDemo(null)
        setSelf(h.name ?? null)
      }
    }, (e: Error) => {
      setDemo(null)
      setError(e instanceof ApiError && e.status === 401 ? 'token' : e.message)
    })
  }, [])
  useEffect(() => {
    if (!demo) return
    const t = setInterval(refreshDemo, 1500)
    return () => clearInterval(t)
  }, [demo === null || demo === undefined])
  useEffect(() => {
    history.replaceState(null, '', tab === 'replay' ? '#replay' : '#')
  }, [tab])

  return (
    <>
      <header class="top">
        <div class="brand"><span class="logo" aria-hidden="true">◎</span> Grapevine <span class="dim">{demo ? 'demo cluster' : 'agent'} dashboard</span></div>
        <nav role="tablist" aria-label="views">
          <button role="tab" aria-selected={tab === 'live'} class={tab === 'live' ? 'active' : ''} onClick={() => setTab('live')}>Live</button>
          <button role="tab" aria-selected={tab === 'replay'} class={tab === 'replay' ? 'active' : ''} onClick={() => setTab('replay')}>Replay</button>
        </nav>
      </header>
      <main>
        {tab === 'replay' ? <Replay /> : error === 'token' ? <TokenForm /> : demo === undefined ? <div class="empty">connecting…</div> : demo === null && self === null ? (
          <div class="empty">{error === '' ? 'connecting…' : `cannot reach the agent: ${error}`}</div>
        ) : (
          <Live demo={demo} self={demo === null ? self : null} refreshDemo={refreshDemo} />
        )}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
