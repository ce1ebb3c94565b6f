/**
 * Encryption and cluster labels in the simulator: wraps each node's protocol so that every datagram
 * and stream message is sealed and opened as the real runtime's driver does (src/runtime/node/driver.ts),
 * with nonces from the node's seeded generator, so runs stay reproducible from their seed.
 *
 *   const sim = new Simulation({ seed: 1, createProtocol: withSecurity(createSwim, () => ({ keyring: new Keyring([key]) })) })
 *
 * `optionsFor(index)` gives each node its keys and label (undefined: none), so a run can hold nodes
 * with another key. What cannot be opened is reported as a `dropped` event with the reason and never
 * reaches the protocol.
 */
import type { StreamResult } from '../../core/effects.js'
import type { Address } from '../../core/types.js'
import type { SwimTimer } from '../../swim/timers.js'
import type { DecodeError } from '../../wire/decode-error.js'
import { Keyring } from '../../wire/keyring.js'
import { WireSecurity } from '../../wire/security.js'
import type { SecurityOptions } from '../../wire/security.js'
import type { ProtocolFactory, SimOutbox, SimProtocol } from './protocol.js'

export function withSecurity(inner: ProtocolFactory, optionsFor: (index: number) => SecurityOptions | undefined): ProtocolFactory {
  return (options, index) => {
    const protocol = inner(options, index)
    const opts = optionsFor(index) ?? { keyring: new Keyring() }
    return new SecuredProtocol(protocol, new WireSecurity(opts, (n) => options.rng.bytes(n)))
  }
}

/** An outbox that seals what the protocol sends, then hands it to the simulator's outbox. */
class SealingOutbox implements SimOutbox {
  constructor(private readonly out: SimOutbox, private readonly sec: WireSecurity) {}
  send(to: Address, bytes: Uint8Array): void {
    this.out.send(to, this.sec.sealPacket(bytes))
  }
  openStream(to: Address, bytes: Uint8Array, exchangeId: number, timeoutMs: number, expectReply: boolean): void {
    this.out.openStream(to, this.sec.sealStream(bytes, true), exchangeId, timeoutMs, expectReply)
  }
  schedule(timer: SwimTimer, afterMs: number): void {
    this.out.schedule(timer, afterMs)
  }
  emit(event: Parameters<SimOutbox['emit']>[0]): void {
    this.out.emit(event)
  }
}

export class SecuredProtocol implements SimProtocol {
  constructor(readonly inner: SimProtocol, readonly security: WireSecurity) {}

  get name(): string {
    return this.inner.name
  }
  get address(): Address {
    return this.inner.address
  }
  get healthScore(): number {
    return this.inner.healthScore
  }

  private wrap(out: SimOutbox): SimOutbox {
    return new SealingOutbox(out, this.security)
  }

  private rejected(err: DecodeError, from: Address, out: SimOutbox): void {
    out.emit({ type: 'dropped', reason: err.reason, from, detail: err.detail })
  }

  start(nowMs: number, out: SimOutbox): void {
    this.inner.start(nowMs, this.wrap(out))
  }
  join(seeds: Address[], nowMs: number, out: SimOutbox): number {
    return this.inner.join(seeds, nowMs, this.wrap(out))
  }
  leave(nowMs: number, out: SimOutbox): void {
    this.inner.leave(nowMs, this.wrap(out))
  }
  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: SimOutbox): void {
    const opened = this.security.openPacket(bytes)
    if (!opened.ok) return this.rejected(opened.error, from, out)
    this.inner.handlePacket(from, opened.value, nowMs, this.wrap(out))
  }
  handleStreamRequest(from: Address, bytes: Uint8Array, nowMs: number, out: SimOutbox): Uint8Array | null {
    const opened = this.security.openStream(bytes, true)
    if (!opened.ok) {
      this.rejected(opened.error, from, out)
      return this.security.rejectedRequestReply(opened.error)
    }
    const reply = this.inner.handleStreamRequest(from, opened.value, nowMs, this.wrap(out))
    return reply === null ? null : this.security.sealStream(reply, false)
  }
  handleStreamReply(exchangeId: number, result: StreamResult, nowMs: number, out: SimOutbox): void {
    let r = result
    if (result.ok && result.bytes.length > 0) {
      const opened = this.security.openReply(result.bytes)
      if (opened.error !== undefined) out.emit({ type: 'dropped', reason: opened.error.reason, from: this.inner.address, detail: opened.error.detail })
      r = { ok: true, bytes: opened.bytes }
    }
    this.inner.handleStreamReply(exchangeId, r, nowMs, this.wrap(out))
  }
  handleTimer(timer: SwimTimer, nowMs: number, out: SimOutbox): void {
    this.inner.handleTimer(timer, nowMs, this.wrap(out))
  }
  members(): ReturnType<SimProtocol['members']> {
    return this.inner.members()
  }
  setMeta(meta: Uint8Array, nowMs: number, out: SimOutbox): void {
    this.inner.setMeta?.(meta, nowMs, this.wrap(out))
  }
  shutdown(): void {
    this.inner.shutdown?.()
  }
}
