/**
 * The datacenter pools of the observing agent: its datacenter and role, each datacenter's servers as
 * the WAN pool (or, on a client, the LAN pool) sees them, with estimated round trips; a server the WAN
 * pool declared failed stays listed as "failed (soft)": kept for routing, tried last.
 */
import type { PoolsView } from './api.js'

/** Serf's words to the page's state classes. */
const STATE_CLASS: Record<string, string> = { alive: 's-alive', suspect: 's-suspect', failed: 's-dead', left: 's-left' }

export function PoolsPanel({ pools }: { pools: PoolsView }) {
  return (
    <section class="panel" aria-labelledby="pools-h">
      <div class="panel-head">
        <h2 id="pools-h">Datacenters</h2>
        <span class="dim small">
          {pools.datacenter}, {pools.server ? `server (WAN pool: ${pools.wan?.length ?? 0} members)` : 'client (servers of this datacenter)'}
        </span>
      </div>
      <table class="pools" aria-label="datacenters and their servers">
        <thead>
          <tr><th>Datacenter</th><th>Server</th><th>State</th><th>Address</th><th>RTT</th></tr>
        </thead>
        <tbody>
          {pools.datacenters.flatMap((d) =>
            d.servers.map((s, i) => (
              <tr key={s.name} data-server={s.name} data-state={s.failed ? 'failed' : s.state}>
                <td>{i === 0 ? <strong>{d.datacenter}{d.datacenter === pools.datacenter ? ' (this)' : ''}</strong> : null}</td>
                <td class="mono">{s.name}</td>
                <td><span class={`badge ${STATE_CLASS[s.state] ?? ''}`}>{s.failed ? 'failed (soft)' : s.state}</span></td>
                <td class="mono dim">{s.address}</td>
                <td>{s.rttMs === null ? <span class="dim">–</span> : `${s.rttMs.toFixed(1)} ms`}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </section>
  )
}
