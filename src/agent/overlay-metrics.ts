/**
 * Prometheus series of `--membership hyparview` (registered by metrics.ts at the first scrape, only in
 * that mode), read from `node.overlay()` at scrape time like every other series:
 *
 *   views   overlay_active_view_size, overlay_passive_view_size, overlay_isolated (1: no neighbour)
 *   tree    plumtree_tree_peers{link=eager|lazy}, plumtree_cache_entries{cache=payloads|seen|missing}
 *   events  overlay_neighbor_up_total, overlay_neighbor_down_total{cause=timeout|disconnect|shutdown|evicted|unreachable},
 *           overlay_rejoins_total, overlay_reconnects_total, overlay_shuffles_total,
 *           overlay_neighbor_requests_total{outcome=sent|rejected}, overlay_messages_total{direction} (HyParView's)
 *   traffic plumtree_payload_messages_total (GOSSIP sent: eager pushes and GRAFT answers),
 *           plumtree_control_messages_total{type=ihave|graft|prune}, plumtree_broadcasts_total,
 *           plumtree_delivered_total, plumtree_duplicates_total, plumtree_optimizations_total,
 *           plumtree_repair_pushes_total (GRAFT answers pushed on to lazy peers: a broken tree repaired),
 *           plumtree_dropped_total{what=ihave|missing|graft-exhausted}, overlay_crdt_messages_total{direction},
 *           overlay_dropped_total{reason}
 *
 * All prefixed `grapevine_`. RMR can be read off as payload messages over deliveries across the cluster.
 */
import type { Registry, Gauge as GaugeType } from 'prom-client'
import type { OverlayStats } from '../node/index.js'

type Labels = Record<string, string>
type Mirrored = (name: string, help: string, labelNames: string[], read: () => Iterable<[Labels, number]>) => void

export function registerOverlaySeries({ Gauge }: typeof import('prom-client'), r: Registry, overlay: () => OverlayStats | undefined, mirrored: Mirrored): void {
  const gauge = (name: string, help: string, labelNames: string[], read: (o: OverlayStats) => Iterable<[Labels, number]>): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [r],
      collect: () => {
        const o = overlay()
        if (o === undefined) return
        const g = r.getSingleMetric(name) as GaugeType<string>
        for (const [labels, v] of read(o)) g.set(labels, v)
      },
    })
  }
  const counter = (name: string, help: string, labelNames: string[], read: (o: OverlayStats) => Iterable<[Labels, number]>): void =>
    mirrored(name, help, labelNames, () => {
      const o = overlay()
      return o === undefined ? [] : read(o)
    })

  gauge('grapevine_overlay_active_view_size', 'HyParView active view: monitored neighbours with symmetric links (a partial view)', [], (o) => [[{}, o.active.length]])
  gauge('grapevine_overlay_passive_view_size', 'HyParView passive view: backup peers, not monitored', [], (o) => [[{}, o.passive.length]])
  gauge('grapevine_overlay_isolated', '1 when the active view is empty (the node rejoins through its passive view, then its seeds)', [], (o) => [[{}, o.active.length === 0 ? 1 : 0]])
  gauge('grapevine_plumtree_tree_peers', 'Plumtree links: eager (payloads pushed) and lazy (IHAVE announcements)', ['link'], (o) => [
    [{ link: 'eager' }, o.eager],
    [{ link: 'lazy' }, o.lazy],
  ])
  gauge('grapevine_plumtree_cache_entries', 'Plumtree bounded memory: payloads cached for GRAFTs, ids remembered, messages announced but missing', ['cache'], (o) => [
    [{ cache: 'payloads' }, o.cacheSize],
    [{ cache: 'seen' }, o.seenSize],
    [{ cache: 'missing' }, o.missingSize],
  ])

  counter('grapevine_overlay_neighbor_up_total', 'Neighbours that came up (joined the active view)', [], (o) => [[{}, o.hyparview.neighborUp]])
  counter('grapevine_overlay_neighbor_down_total', 'Neighbours that went down, by cause', ['cause'], (o) => Object.entries(o.hyparview.neighborDown).map(([cause, n]): [Labels, number] => [{ cause }, n]))
  counter('grapevine_overlay_rejoins_total', 'Rejoins through the seeds after isolation', [], (o) => [[{}, o.hyparview.rejoins]])
  counter('grapevine_overlay_reconnects_total', 'Links made again to a lost neighbour that answered (partition heal)', [], (o) => [[{}, o.hyparview.reconnects]])
  counter('grapevine_overlay_shuffles_total', 'SHUFFLEs this node started', [], (o) => [[{}, o.hyparview.shufflesSent]])
  counter('grapevine_overlay_neighbor_requests_total', 'NEIGHBOR requests this node sent, and those refused', ['outcome'], (o) => [
    [{ outcome: 'sent' }, o.hyparview.neighborRequestsSent],
    [{ outcome: 'rejected' }, o.hyparview.neighborRequestsRejected],
  ])
  counter('grapevine_overlay_messages_total', 'HyParView messages, by direction', ['direction'], (o) => [
    [{ direction: 'in' }, o.hyparview.messagesReceived],
    [{ direction: 'out' }, o.hyparview.messagesSent],
  ])
  counter('grapevine_plumtree_payload_messages_total', 'Plumtree payload messages sent (GOSSIP: eager pushes and GRAFT answers)', [], (o) => [[{}, o.plumtree.gossipSent]])
  counter('grapevine_plumtree_control_messages_total', 'Plumtree control messages sent, by type', ['type'], (o) => [
    [{ type: 'ihave' }, o.plumtree.ihaveSent],
    [{ type: 'graft' }, o.plumtree.graftSent],
    [{ type: 'prune' }, o.plumtree.pruneSent],
  ])
  counter('grapevine_plumtree_broadcasts_total', 'Broadcasts this node originated over Plumtree', [], (o) => [[{}, o.plumtree.broadcasts]])
  counter('grapevine_plumtree_delivered_total', 'Broadcasts delivered here (its own included)', [], (o) => [[{}, o.plumtree.delivered]])
  counter('grapevine_plumtree_duplicates_total', 'Payloads received again (each prunes a tree link)', [], (o) => [[{}, o.plumtree.duplicates]])
  counter('grapevine_plumtree_optimizations_total', 'Tree optimizations: an announcer grafted for a shorter path', [], (o) => [[{}, o.plumtree.optimizations]])
  counter('grapevine_plumtree_repair_pushes_total', 'Messages that answered a GRAFT and were pushed to the lazy peers too: the tree above broke', [], (o) => [[{}, o.plumtree.repairPushes]])
  counter('grapevine_plumtree_dropped_total', 'Plumtree bounds reached: IHAVE ids dropped from a full queue, announcements past missingMaxEntries, missing messages no GRAFT recovered', ['what'], (o) => [
    [{ what: 'ihave' }, o.plumtree.ihaveDropped],
    [{ what: 'missing' }, o.plumtree.missingDropped],
    [{ what: 'graft-exhausted' }, o.plumtree.graftsExhausted],
  ])
  counter('grapevine_overlay_crdt_messages_total', 'Replicated data type messages over sampled overlay peers, by direction', ['direction'], (o) => [
    [{ direction: 'in' }, o.crdt?.messagesReceived ?? 0],
    [{ direction: 'out' }, o.crdt?.messagesSent ?? 0],
  ])
  counter('grapevine_overlay_dropped_total', 'Overlay messages dropped before a protocol, by reason', ['reason'], (o) => Object.entries(o.dropped).map(([reason, n]): [Labels, number] => [{ reason }, n]))
}
