/**
 * Prometheus metrics of one agent: a prom-client registry of its own (two agents in one process do
 * not share series). Protocol counters are read from `node.stats()` at scrape time, so nothing is
 * counted twice; member events, name conflicts and the health score are tallied from the node's events
 * in plain maps.
 *
 *   node events ──▶ tallies (always)        first GET /metrics ──▶ import prom-client, build the
 *                                            registry (every series reads the node or the tallies)
 *   every scrape ──▶ registry.metrics()
 *
 * prom-client is loaded at the first scrape, not at start: an agent nobody scrapes never pays for it
 * (about 10 MB of RSS and a third of the agent's start-up CPU, measured with --cpu-prof). Process
 * metrics (process_*, nodejs_*) start then too: CPU seconds and memory are read from the process and
 * are whole from the start, GC durations and the event-loop delay are observed from the first scrape.
 *
 * Series (all prefixed `grapevine_`): members{state}, member_events_total{type},
 * name_conflicts_total{role=established|newcomer|witness}, health_score,
 * probes_total, probe_failures_total, acks_received_total, nacks_received_total,
 * indirect_probes_total{role=sent|relayed}, tcp_fallback_probes_total, suspicions_total,
 * deaths_declared_total, refutations_total, packets_total{direction} (UDP datagrams),
 * streams_total{direction} (TCP exchanges), bytes_total{direction,transport=udp|tcp} (wire bytes),
 * messages_total{direction,transport,type} and message_bytes_total{direction,transport,type} (each
 * message's encoded size, before compression and framing), decode_errors_total{reason},
 * dropped_total{reason} (decode errors and every other rejection), push_pulls_total{outcome=
 * initiated|served|rejected}, stream_errors_total, broadcasts_dropped_total (SWIM's queue); and for
 * Grapevine's own protocols: rumors_total{outcome}, rumor_messages_total{what},
 * state_exchanges_total{what}, protocol_decode_errors_total{protocol,reason}, state_version,
 * state_nodes, phi{member}; encryption_enabled (1 when sending encrypted) and keyring_keys (keys
 * installed; which ones, by fingerprint, is in /v1/keys, never in metrics). members{state} counts in
 * Serf's words (alive, suspect, failed, left). With processMetrics, prom-client's standard process_*
 * and nodejs_* series, unprefixed, so stock Node.js dashboards find them. Network coordinates:
 * coordinate_updates_total, coordinate_rejected_total{reason} (Serf's serf.coordinate.rejected, plus
 * undecodable payloads), coordinate_resets_total, coordinate_echoes_total{result} (Grapevine's echo:
 * sent, applied, dropped-REASON). Accusation storms (accusation-metrics.ts):
 * accusations_total{kind,accuser}, accusations_per_second{kind}, member_accusers{member},
 * members_accused_by_many. Datacenter pools (pool-metrics.ts, with --datacenter): pool_members{pool,state},
 * pool_relays_total, pool_relay_failovers_total, pool_relays_handled_total, pool_flood_joins_total,
 * pool_wan_servers, pool_wan_soft_failed_servers. With --membership hyparview: the overlay's views, tree and
 * traffic (overlay-metrics.ts).
 */
import type { Gauge as GaugeType, Registry } from 'prom-client'
import type { CoordinateStats, GrapevineNode, MemberEvent, ProtocolStats } from '../runtime/node/start-node.js'
import type { SwimStats } from '../swim/stats.js'
import type { SwimEvent } from '../swim/events.js'
import { userState } from './member-words.js'
import { AccusationRecorder, registerAccusationSeries } from './accusation-metrics.js'
import { PoolRecorder, registerPoolSeries } from './pool-metrics.js'
import type { PoolMetricsSource } from './pool-metrics.js'
import { registerOverlaySeries } from './overlay-metrics.js'

type Labels = Record<string, string>

type PromClient = typeof import('prom-client')

/** A counter mirroring a monotonically growing value read at scrape time (adds only the difference). */
export function mirroredCounter({ Counter }: PromClient, registry: Registry, name: string, help: string, labelNames: string[], read: () => Iterable<[Labels, number]>): void {
  const last = new Map<string, number>()
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels)
        const delta = value - (last.get(key) ?? 0)
        if (delta > 0 || !last.has(key)) {
          this.inc(labels, delta)
          last.set(key, value)
        }
      }
    },
  })
}

const one = (read: (s: SwimStats) => number) => (s: SwimStats): Iterable<[Labels, number]> => [[{}, read(s)]]

/** Prometheus's text format, what prom-client's registry answers with. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'
/**
 * Event-loop delay sampling period for nodejs_eventloop_lag_* (prom-client's default is 10 ms): each
 * sample is a timer wake-up, and an idle agent should wake only for its protocol's own timers.
 */
const EVENT_LOOP_SAMPLE_MS = 1000

export class AgentMetrics {
  private registry: Registry | undefined
  private loading: Promise<Registry> | undefined
  private healthScore = 0
  private readonly memberEvents = new Map<string, number>()
  private readonly nameConflicts = new Map<string, number>()
  private readonly onMember = (e: MemberEvent): void => tally(this.memberEvents, e.type)
  /** Listens from the start, so the first scrape already counts every accusation. */
  private readonly accusations: AccusationRecorder
  private readonly pools: PoolRecorder | undefined
  private readonly onEvent = (e: SwimEvent): void => {
    if (e.type === 'health') this.healthScore = e.score
    else if (e.type === 'nameConflict') tally(this.nameConflicts, e.role)
  }

  constructor(
    private readonly node: GrapevineNode,
    private readonly opts: { processMetrics?: boolean; pools?: PoolMetricsSource } = {},
  ) {
    this.accusations = new AccusationRecorder(node)
    this.pools = opts.pools === undefined ? undefined : new PoolRecorder(opts.pools)
    node.on('member', this.onMember)
    node.on('event', this.onEvent)
  }

  /** The Prometheus text exposition (the first call loads prom-client). */
  async text(): Promise<string> {
    return (await this.load()).metrics()
  }

  get contentType(): string {
    return this.registry?.contentType ?? PROMETHEUS_TEXT
  }

  close(): void {
    this.node.off('member', this.onMember)
    this.node.off('event', this.onEvent)
    this.accusations.close()
    this.pools?.close()
    this.registry?.clear()
  }

  private load(): Promise<Registry> {
    this.loading ??= import('prom-client').then((prom) => (this.registry = this.build(prom)))
    return this.loading
  }

  private build(prom: PromClient): Registry {
    const { Gauge, Registry, collectDefaultMetrics } = prom
    const node = this.node
    const r = new Registry()
    r.setDefaultLabels({ node: node.name })
    if (this.opts.processMetrics === true) collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })

    new Gauge({
      name: 'grapevine_members',
      help: 'Members this node knows, by state (itself included)',
      labelNames: ['state'],
      registers: [r],
      collect: () => {
        const g = r.getSingleMetric('grapevine_members') as GaugeType<'state'>
        const counts: Record<string, number> = { alive: 0, suspect: 0, failed: 0, left: 0 }
        for (const m of node.members()) counts[userState(m.state)]++
        for (const [state, n] of Object.entries(counts)) g.set({ state }, n)
      },
    })
    new Gauge({
      name: 'grapevine_health_score',
      help: 'Lifeguard local health (awareness) score; 0 is healthy, higher means this node is slow to answer',
      registers: [r],
      collect: () => (r.getSingleMetric('grapevine_health_score') as GaugeType).set(this.healthScore),
    })
    new Gauge({
      name: 'grapevine_encryption_enabled',
      help: '1 when this node encrypts what it sends (keys installed and verify-outgoing on), else 0',
      registers: [r],
      collect: () => (r.getSingleMetric('grapevine_encryption_enabled') as GaugeType).set(node.encryption().encrypting ? 1 : 0),
    })
    new Gauge({
      name: 'grapevine_keyring_keys',
      help: 'Encryption keys installed (the primary included)',
      registers: [r],
      collect: () => (r.getSingleMetric('grapevine_keyring_keys') as GaugeType).set(node.encryption().keys.length),
    })
    const tallied = (m: Map<string, number>, label: string) => (): Array<[Labels, number]> => [...m].map(([v, n]): [Labels, number] => [{ [label]: v }, n])
    mirroredCounter(prom, r, 'grapevine_member_events_total', 'Membership changes seen, by type', ['type'], tallied(this.memberEvents, 'type'))
    mirroredCounter(
      prom,
      r,
      'grapevine_name_conflicts_total',
      'A node name claimed from a second address, by our role: established (the name is ours), newcomer (our join was refused), witness',
      ['role'],
      tallied(this.nameConflicts, 'role'),
    )

    const stat = (name: string, help: string, labelNames: string[], read: (s: SwimStats) => Iterable<[Labels, number]>): void =>
      mirroredCounter(prom, r, name, help, labelNames, () => read(node.stats()))
    stat('grapevine_probes_total', 'Probes started by this node', [], one((s) => s.probes))
    stat('grapevine_probe_failures_total', 'Probes that got no ack in time', [], one((s) => s.probeFailures))
    stat('grapevine_acks_received_total', 'Acks received', [], one((s) => s.acksReceived))
    stat('grapevine_nacks_received_total', 'Nacks received from indirect probers', [], one((s) => s.nacksReceived))
    stat('grapevine_indirect_probes_total', 'Indirect probes: sent asks for help, relayed on behalf of others', ['role'], (s) => [
      [{ role: 'sent' }, s.indirectProbesSent],
      [{ role: 'relayed' }, s.indirectProbesRelayed],
    ])
    stat('grapevine_tcp_fallback_probes_total', 'TCP fallback probes, by result', ['result'], (s) => [
      [{ result: 'sent' }, s.tcpFallbackProbes],
      [{ result: 'succeeded' }, s.tcpFallbackSuccesses],
    ])
    stat('grapevine_suspicions_total', 'Suspicions raised by this node, by cause (its own failed probe, or phi accrual under phi.mode phiEarlySuspect/phiOnly)', ['cause'], (s) => [
      [{ cause: 'probe' }, s.suspicionsRaised],
      [{ cause: 'phi' }, s.suspicionsByPhi],
    ])
    stat('grapevine_deaths_declared_total', 'Members this node declared dead', [], one((s) => s.deathsDeclared))
    stat('grapevine_deaths_postponed_total', 'Expired suspicions not yet declared dead because phi still heard the member (phi.mode phiVeto/phiOnly)', [], one((s) => s.deathsPostponed))
    stat('grapevine_refutations_total', 'Accusations about this node it refuted', [], one((s) => s.refutations))
    stat('grapevine_packets_total', 'UDP packets, by direction', ['direction'], (s) => [
      [{ direction: 'in' }, s.packetsIn],
      [{ direction: 'out' }, s.packetsOut],
    ])
    stat('grapevine_streams_total', 'TCP stream exchanges: served (in) and opened (out)', ['direction'], (s) => [
      [{ direction: 'in' }, s.streamsIn],
      [{ direction: 'out' }, s.streamsOut],
    ])
    stat('grapevine_bytes_total', 'Bytes on the wire (after compression), by direction and transport', ['direction', 'transport'], (s) => [
      [{ direction: 'in', transport: 'udp' }, s.bytesIn],
      [{ direction: 'out', transport: 'udp' }, s.bytesOut],
      [{ direction: 'in', transport: 'tcp' }, s.streamBytesIn],
      [{ direction: 'out', transport: 'tcp' }, s.streamBytesOut],
    ])
    const byType = (direction: string, transport: string, m: ReadonlyMap<string, number>): Array<[Labels, number]> =>
      [...m].map(([type, n]): [Labels, number] => [{ direction, transport, type }, n])
    stat('grapevine_messages_total', 'Protocol messages, by direction, transport and message type', ['direction', 'transport', 'type'], (s) => [
      ...byType('in', 'udp', s.messagesIn),
      ...byType('out', 'udp', s.messagesOut),
      ...byType('in', 'tcp', s.streamMessagesIn),
      ...byType('out', 'tcp', s.streamMessagesOut),
    ])
    stat('grapevine_message_bytes_total', 'Encoded bytes of protocol messages (before compression and framing), by direction, transport and type', ['direction', 'transport', 'type'], (s) => [
      ...byType('in', 'udp', s.messageBytesIn),
      ...byType('out', 'udp', s.messageBytesOut),
      ...byType('in', 'tcp', s.streamMessageBytesIn),
      ...byType('out', 'tcp', s.streamMessageBytesOut),
    ])
    stat('grapevine_decode_errors_total', 'Input that could not be decoded, by reason (bad-crc, truncated, bad-msgpack, …)', ['reason'], (s) =>
      [...s.decodeErrors].map(([reason, n]): [Labels, number] => [{ reason }, n]),
    )
    stat('grapevine_dropped_total', 'Dropped input (decode errors and other rejections), by reason', ['reason'], (s) =>
      [...s.dropped].map(([reason, n]): [Labels, number] => [{ reason }, n]),
    )
    stat('grapevine_push_pulls_total', 'Push-pull state exchanges, by outcome', ['outcome'], (s) => [
      [{ outcome: 'initiated' }, s.pushPullsInitiated],
      [{ outcome: 'served' }, s.pushPullsServed],
      [{ outcome: 'rejected' }, s.pushPullsRejected],
    ])
    stat('grapevine_stream_errors_total', 'Failed TCP stream exchanges', [], one((s) => s.streamErrors))
    const proto = (name: string, help: string, labelNames: string[], read: (p: ProtocolStats) => Iterable<[Labels, number]>): void =>
      mirroredCounter(prom, r, name, help, labelNames, () => read(node.protocolStats()))
    proto('grapevine_rumors_total', 'Grapevine broadcasts (rumors), by outcome: sent from here, delivered here, duplicate copies, dropped from a full queue, expired, rejected', ['outcome'], (p) => [
      [{ outcome: 'sent' }, p.broadcast.broadcasts],
      [{ outcome: 'delivered' }, p.broadcast.delivered],
      [{ outcome: 'duplicate' }, p.broadcast.duplicates],
      [{ outcome: 'dropped' }, p.broadcast.dropped],
      [{ outcome: 'expired' }, p.broadcast.expired],
      [{ outcome: 'rejected' }, p.broadcast.rejected + p.broadcast.tooOld],
    ])
    proto('grapevine_rumor_messages_total', 'Rumor mongering messages and bytes sent', ['what'], (p) => [
      [{ what: 'messages' }, p.broadcast.messagesSent],
      [{ what: 'bytes' }, p.broadcast.bytesSent],
      [{ what: 'repair_pulls' }, p.broadcast.repairPullsSent],
    ])
    proto('grapevine_state_exchanges_total', 'Cluster-state reconciliation: rounds, Syns (digests) sent, replies (Ack/Ack2 deltas) sent, deltas applied, full states merged, departed nodes forgotten', ['what'], (p) => [
      [{ what: 'rounds' }, p.state.rounds],
      [{ what: 'syns' }, p.state.synsSent],
      [{ what: 'replies' }, p.state.repliesSent],
      [{ what: 'deltas_applied' }, p.state.deltasApplied],
      [{ what: 'full_states' }, p.state.fullStatesMerged],
      [{ what: 'nodes_forgotten' }, p.state.nodesForgotten],
    ])
    proto('grapevine_protocol_decode_errors_total', 'Undecodable broadcast and state messages, by protocol and reason', ['protocol', 'reason'], (p) => [
      ...Object.entries(p.broadcast.decodeErrors).map(([reason, n]): [Labels, number] => [{ protocol: 'broadcast', reason }, n]),
      ...Object.entries(p.state.decodeErrors).map(([reason, n]): [Labels, number] => [{ protocol: 'state', reason }, n]),
      [{ protocol: 'envelope', reason: 'dropped' }, p.stack.dropped],
    ])
    new Gauge({
      name: 'grapevine_state_version',
      help: "Highest version of this node's own state map",
      registers: [r],
      collect: () => (r.getSingleMetric('grapevine_state_version') as GaugeType).set(node.protocolStats().stateVersion),
    })
    new Gauge({
      name: 'grapevine_state_nodes',
      help: 'Nodes whose replicated state this node holds',
      registers: [r],
      collect: () => (r.getSingleMetric('grapevine_state_nodes') as GaugeType).set(node.protocolStats().stateNodes),
    })
    new Gauge({
      name: 'grapevine_phi',
      help: 'Phi accrual suspicion of each member, from its state heartbeats',
      labelNames: ['member'],
      registers: [r],
      collect: () => {
        const g = r.getSingleMetric('grapevine_phi') as GaugeType<'member'>
        g.reset()
        for (const m of node.members()) {
          const phi = m.name === node.name ? undefined : node.phi(m.name)
          if (phi !== undefined) g.set({ member: m.name }, phi)
        }
      },
    })
    stat('grapevine_broadcasts_dropped_total', 'Broadcasts dropped from a full queue', [], one((s) => s.broadcastsDropped))
    const coords = (read: (c: CoordinateStats) => Iterable<[Labels, number]>) => (): Iterable<[Labels, number]> => {
      const c = node.coordinates()?.stats
      return c === undefined ? [] : read(c)
    }
    mirroredCounter(prom, r, 'grapevine_coordinate_updates_total', 'Probe acks whose coordinate updated ours (network coordinates)', [], coords((c) => [[{}, c.updates]]))
    mirroredCounter(prom, r, 'grapevine_coordinate_rejected_total', 'Coordinates from acks not used, by reason (refused by the update rule, or undecodable)', ['reason'], coords((c) => [
      ...Object.entries(c.rejected).map(([reason, n]): [Labels, number] => [{ reason }, n]),
      ...Object.entries(c.undecodable).map(([reason, n]): [Labels, number] => [{ reason: `undecodable-${reason}` }, n ?? 0]),
    ]))
    mirroredCounter(prom, r, 'grapevine_coordinate_echoes_total', 'Coordinate echoes (the RTT a prober measured, sent back to the probed Grapevine peer): sent, applied, or dropped by reason', ['result'], coords((c) => [
      [{ result: 'sent' }, c.echoes.sent],
      [{ result: 'applied' }, c.echoes.applied],
      ...Object.entries(c.echoes.dropped).map(([reason, n]): [Labels, number] => [{ result: `dropped-${reason}` }, n ?? 0]),
    ]))
    mirroredCounter(prom, r, 'grapevine_coordinate_resets_total', 'Times our coordinate became NaN or infinite and started over', [], coords((c) => [[{}, c.resets]]))
    registerAccusationSeries(prom, r, this.accusations, (name, help, labelNames, read) => mirroredCounter(prom, r, name, help, labelNames, read))
    if (this.pools !== undefined) registerPoolSeries(prom, r, this.pools, (name, help, labelNames, read) => mirroredCounter(prom, r, name, help, labelNames, read))
    if (node.overlay() !== undefined) registerOverlaySeries(prom, r, () => node.overlay(), (name, help, labelNames, read) => mirroredCounter(prom, r, name, help, labelNames, read))

    return r
  }
}

function tally(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1)
}
