/**
 * Where a simulated cluster's UDP bytes go, per message type (`bench:idle`'s breakdown).
 *
 *   packet ──▶ decodePacket: each message's encoded size ──▶ its class:
 *     SWIM (ping, ack, indirectPing, nack, suspect, alive, dead), Serf (a user message not ours),
 *     Grapevine by envelope protocol: state Syn / Ack / Ack2, broadcast repair pull / rumors, CRDT,
 *     aggregation; the rest of the packet (compound headers, CRC, label, encryption) is "framing"
 *
 * An observer of the simulator (SimObserver.onPacket): it sees every datagram as sent, before the network
 * drops or delays it. Decoding every packet costs time, so only benchmarks attach it.
 */
import { decodePacket } from '../src/wire/codec.js'
import { decodeEnvelope } from '../src/stack/envelope.js'
import { BROADCAST_PROTOCOL, STATE_PROTOCOL } from '../src/stack/protocols.js'
import { CRDT_PROTOCOL } from '../src/stack/crdt-protocol.js'
import { AGGREGATION_PROTOCOL } from '../src/stack/aggregation-protocol.js'
import { StateMessageKind } from '../src/state/messages.js'
import { decodeRumorMessage } from '../src/gossip/messages.js'
import type { SimObserver } from '../src/runtime/sim/types.js'

const STATE_KINDS = new Map<number, string>(Object.entries(StateMessageKind).map(([name, kind]) => [kind, `state ${name}`]))

/** The class of one unwrapped message (its user payload for a user message). */
function classify(type: string, payload: Uint8Array | undefined): string {
  if (type !== 'user' || payload === undefined) return type
  const env = decodeEnvelope(payload)
  if (typeof env === 'string') return 'serf'
  if (env.protocol === STATE_PROTOCOL) return STATE_KINDS.get(env.payload[0]) ?? 'state ?'
  if (env.protocol === BROADCAST_PROTOCOL) {
    const m = decodeRumorMessage(env.payload)
    return m.ok && m.value.kind === 'rumors' && m.value.repair ? 'repair pull' : 'broadcast'
  }
  if (env.protocol === CRDT_PROTOCOL) return 'crdt'
  if (env.protocol === AGGREGATION_PROTOCOL) return 'aggregation'
  return `protocol ${env.protocol}`
}

/** Bytes and messages sent per class while `counting`. */
export class MessageBytes implements SimObserver {
  readonly bytes = new Map<string, number>()
  readonly messages = new Map<string, number>()
  counting = false

  onPacket(_from: unknown, _to: unknown, bytes: Uint8Array): void {
    if (!this.counting) return
    const { messages, sizes } = decodePacket(bytes)
    let inside = 0
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      const c = classify(m.type, m.type === 'user' ? m.payload : undefined)
      this.bytes.set(c, (this.bytes.get(c) ?? 0) + sizes[i])
      this.messages.set(c, (this.messages.get(c) ?? 0) + 1)
      inside += sizes[i]
    }
    this.bytes.set('framing', (this.bytes.get('framing') ?? 0) + bytes.length - inside)
  }

  /** Bytes per class, largest first. */
  rows(): Array<{ readonly type: string; readonly bytes: number; readonly messages: number }> {
    return [...this.bytes].map(([type, bytes]) => ({ type, bytes, messages: this.messages.get(type) ?? 0 })).sort((a, b) => b.bytes - a.bytes)
  }
}
