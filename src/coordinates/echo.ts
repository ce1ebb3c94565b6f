/**
 * The coordinate echo, a Grapevine-only follow-up to a probe: the prober tells the probed peer the round
 * trip it measured, with its own coordinate, so both ends of every probe learn from it (Serf updates
 * only the prober's coordinate).
 *
 *   A ──ping──────────────────────────────▶ B
 *   A ◀──ack(0x01 + B's coordinate)──────── B      A: Vivaldi update from (B, B's coordinate, rtt)
 *   A ──user 'G' 5 "A" │ rtt │ A's coord──▶ B      B: Vivaldi update from (A, A's coordinate, rtt)
 *
 * It travels as a memberlist user message in Grapevine's envelope (stack/envelope.ts, protocol id 5)
 * and goes only to members whose metadata carries Grapevine's mark, so a Serf agent never receives one,
 * and only while the peer's coordinate is settling (network-coordinates.ts, ECHO_PEER_ERROR_MIN).
 * The payload:
 *
 *   rtt: float64 big-endian, milliseconds │ A's coordinate exactly as in an ack (payload.ts, 130 bytes)
 *
 * 138 bytes; with the envelope (3 + the sender's name) and memberlist's user-message type byte, one
 * packet of about 150 bytes per acked direct probe of a settling peer. Decoding is bounded and never throws; the RTT's
 * range and the coordinate's dimensions are the update rule's to judge (vivaldi.ts), as for an ack.
 */
import { DecodeError } from '../wire/decode-error.js'
import { decodeCoordinatePayload, encodeCoordinatePayload } from './payload.js'
import type { Coordinate } from './vivaldi.js'

/** The echo's envelope protocol id (1–4 are the stack's protocols). */
export const COORDINATE_ECHO_PROTOCOL = 5
/** Bytes of the RTT field. */
const RTT_BYTES = 8

export interface Echo {
  readonly rttMs: number
  readonly coordinate: Coordinate
}

export type EchoResult = { readonly ok: true; readonly value: Echo } | { readonly ok: false; readonly error: DecodeError }

export function encodeEcho(rttMs: number, coordinate: Coordinate): Uint8Array {
  return encodeEchoPayload(rttMs, encodeCoordinatePayload(coordinate))
}

/** The echo around an already encoded coordinate payload (the one our acks carry). */
export function encodeEchoPayload(rttMs: number, coordinatePayload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RTT_BYTES + coordinatePayload.length)
  new DataView(out.buffer).setFloat64(0, rttMs)
  out.set(coordinatePayload, RTT_BYTES)
  return out
}

/** Reads an echo; never throws. */
export function decodeEcho(bytes: Uint8Array): EchoResult {
  if (bytes.length < RTT_BYTES + 1) {
    return { ok: false, error: new DecodeError('truncated', `coordinate echo of ${bytes.length} bytes (at least ${RTT_BYTES + 1})`, 0) }
  }
  const rttMs = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0)
  const c = decodeCoordinatePayload(bytes.subarray(RTT_BYTES))
  if (!c.ok) return { ok: false, error: new DecodeError(c.error.reason, `coordinate echo: ${c.error.detail}`, c.error.offset === undefined ? undefined : c.error.offset + RTT_BYTES) }
  return { ok: true, value: { rttMs, coordinate: c.value } }
}
