/**
 * The node's way out: every datagram and stream message SWIM writes is sealed (AES-GCM with the
 * primary key, the cluster label) before the runtime sees it, as memberlist seals around its protocol
 * (spec 4.1); the envelope's bytes are counted as wire bytes. Timers pass through; events pass through
 * the node's filter.
 *
 *   Swim ──send/openStream──▶ SealingOutbox ──seal──▶ runtime's outbox
 */
import type { Address } from '../core/types.js'
import type { SwimStats } from '../swim/stats.js'
import type { WireSecurity } from '../wire/security.js'
import type { NodeEvent, NodeOutbox, NodeTimer, Traffic } from './types.js'

export class SealingOutbox implements NodeOutbox {
  constructor(
    private readonly out: NodeOutbox,
    private readonly sec: WireSecurity,
    private readonly stats: SwimStats,
    private readonly onTraffic: ((t: Traffic) => void) | undefined,
    private readonly admit: (e: NodeEvent) => boolean,
  ) {}

  /** Whether this seals into `out` with `onTraffic` (it keeps no state of its own, so it can be reused). */
  wraps(out: NodeOutbox, onTraffic: ((t: Traffic) => void) | undefined): boolean {
    return this.out === out && this.onTraffic === onTraffic
  }

  send(to: Address, bytes: Uint8Array): void {
    this.onTraffic?.({ direction: 'out', kind: 'packet', peer: to, bytes })
    const sealed = this.sec.sealPacket(bytes)
    this.stats.bytesOut += sealed.length - bytes.length
    this.out.send(to, sealed)
  }

  openStream(to: Address, bytes: Uint8Array, exchangeId: number, timeoutMs: number, expectReply: boolean): void {
    this.onTraffic?.({ direction: 'out', kind: 'stream', peer: to, bytes })
    const sealed = this.sec.sealStream(bytes, true)
    this.stats.streamBytesOut += sealed.length - bytes.length
    this.out.openStream(to, sealed, exchangeId, timeoutMs, expectReply)
  }

  schedule(timer: NodeTimer, afterMs: number): void {
    this.out.schedule(timer, afterMs)
  }

  emit(event: NodeEvent): void {
    if (this.admit(event)) this.out.emit(event)
  }
}
