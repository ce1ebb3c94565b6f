/**
 * The agent's logs and /v1/self facts in `--membership hyparview` (agent.ts registers them with a line each):
 *
 *   node 'neighbor' events ──▶ "neighbour up" (info), "neighbour down" with its cause (info; timeout and
 *                              unreachable at warn: a neighbour that vanished), "isolated" (warn: no neighbour
 *                              left; the node rejoins through its passive view, then its seeds)
 *   /v1/self ──▶ overlay: { membership, view: 'partial', active, passive } instead of member counts
 */
import type { Logger } from './log.js'
import type { GrapevineNode } from '../runtime/node/start-node.js'
import type { OverlayNodeEvent } from '../node/index.js'

/** Logs the neighbour events of a hyparview node (nothing with SWIM). */
export function logOverlay(node: GrapevineNode, log: Logger): void {
  if (node.overlay() === undefined) return
  node.on('neighbor', (e: OverlayNodeEvent) => {
    if (e.type === 'isolated') return log.warn({ event: e.type }, 'no overlay neighbour left; rejoining through the passive view, then the seeds')
    if (e.type === 'neighborUp') return log.info({ event: e.type, peer: e.peer }, 'neighbour up')
    const level = e.cause === 'timeout' || e.cause === 'unreachable' ? 'warn' : 'info'
    log[level]({ event: e.type, peer: e.peer, cause: e.cause }, 'neighbour down')
  })
}

/** What /v1/self says of the overlay (undefined with SWIM). */
export function overlayInfo(node: GrapevineNode): Record<string, unknown> | undefined {
  const o = node.overlay()
  if (o === undefined) return undefined
  return { membership: 'hyparview', view: 'partial', active: o.active.length, passive: o.passive.length, eager: o.eager, lazy: o.lazy }
}
