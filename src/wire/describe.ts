/**
 * Short descriptions of raw bytes for traces and the dashboard: the message types inside a packet
 * (`ping,alive,suspect`) or a stream (`pushPull(join=false,nodes=12)`), decode errors as `!reason`.
 * Pure; used by the simulator's trace lines and by the agent's gossip view alike.
 */
import { decodePacket, decodeStream } from './codec.js'

/** The message types inside a packet, e.g. `ping,alive,suspect`; decode errors appear as `!reason`. */
export function describePacket(bytes: Uint8Array): string {
  const { messages, errors } = decodePacket(bytes)
  const parts: string[] = []
  for (const m of messages) parts.push(m.type)
  for (const e of errors) parts.push(`!${e.reason}`)
  return parts.join(',')
}

/** The message type of a stream's content, or `!reason` when it does not decode. */
export function describeStream(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'empty'
  const decoded = decodeStream(bytes)
  if (!decoded.ok) return `!${decoded.error.reason}`
  const msg = decoded.value
  return msg.type === 'pushPull' ? `pushPull(join=${msg.join},nodes=${msg.nodes.length})` : msg.type
}
