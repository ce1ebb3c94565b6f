/**
 * Typed decode failures. Every decoder in `wire/` returns a `DecodeResult` instead of throwing: remote
 * input is bounded, typed and never throws (STYLE 8). A `DecodeError` means "this input was dropped";
 * nothing was changed anywhere, so the caller only counts it (`packetsDropped{reason}`) and logs at debug.
 */

/**
 * Why an input was rejected. Stable strings, suitable as metric labels.
 *
 * - `empty`: zero bytes where a message was expected (also an empty compound part or an empty
 *   decompression result, both of which crash memberlist 0.2.2).
 * - `too-large`: a size bound from `limits.ts` was exceeded (packet, stream, field, decompressed size).
 * - `truncated`: the input ended in the middle of a message, a msgpack object or a compound part.
 * - `bad-crc`: the CRC-32 of a type-12 packet did not match.
 * - `unknown-type`: a message type number memberlist never defined.
 * - `not-supported`: a known type in a place it cannot appear (a nested CRC, an encrypted or labelled
 *   message handed to the plain codec, a stream type inside a packet, …).
 * - `bad-msgpack`: bytes that are not msgpack (the reserved byte 0xc1).
 * - `bad-field`: valid msgpack of the wrong shape: a body that is not a map, a field of the wrong type
 *   or out of range (a float for an integer, Vsn not 6 bytes, an address not 4 or 16 bytes, …).
 * - `bad-compound`: a compound header that cannot be read.
 * - `bad-compression`: an unknown compression algorithm or an invalid LZW code stream.
 * - `too-deep`: wrappers or msgpack containers nested beyond the limit.
 * - `trailing-bytes`: bytes left over after a complete message.
 * - `too-many-nodes`: a push/pull header announcing more node states than allowed.
 * - `too-many-parts`: one packet unwrapped into more messages than allowed.
 * - `label-mismatch`: a cluster label header different from ours (or one missing, or unexpected).
 * - `decrypt-failed`: no installed key authenticates the packet or stream (wrong key, no key, tampering).
 * - `not-encrypted`: plaintext where encryption is required (keys installed, verify-incoming on).
 * - `unexpected-encryption`: an encrypted stream while no key is installed.
 * - `internal`: a bug in the decoder turned into a drop instead of a crash. Tests assert it never occurs.
 */
export type DecodeErrorReason =
  | 'empty'
  | 'too-large'
  | 'truncated'
  | 'bad-crc'
  | 'unknown-type'
  | 'not-supported'
  | 'bad-msgpack'
  | 'bad-field'
  | 'bad-compound'
  | 'bad-compression'
  | 'too-deep'
  | 'trailing-bytes'
  | 'too-many-nodes'
  | 'too-many-parts'
  | 'label-mismatch'
  | 'decrypt-failed'
  | 'not-encrypted'
  | 'unexpected-encryption'
  | 'internal'

/** A rejected input. Blast radius: none; the input is dropped and no state changed. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError'
  readonly reason: DecodeErrorReason
  /** Byte offset in the input given to the public decoder where the problem was found, when known. */
  readonly offset: number | undefined
  /** The message without the reason and offset prefix. */
  readonly detail: string

  constructor(reason: DecodeErrorReason, detail: string, offset?: number) {
    super(offset === undefined ? `${reason}: ${detail}` : `${reason} at ${offset}: ${detail}`)
    this.reason = reason
    this.offset = offset
    this.detail = detail
  }

  /** The same reason at another offset, with `context` put in front of the detail. */
  relocated(offset: number | undefined, context?: string): DecodeError {
    return new DecodeError(this.reason, context === undefined ? this.detail : `${context}: ${this.detail}`, offset)
  }
}

/** The outcome of decoding remote bytes. */
export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: DecodeError }

/** Shorthand constructors. */
export function decodeOk<T>(value: T): DecodeResult<T> {
  return { ok: true, value }
}

export function decodeFail<T>(error: DecodeError): DecodeResult<T> {
  return { ok: false, error }
}

/**
 * Converts anything a decoder threw into a DecodeError. Decoders signal bad input by throwing a
 * DecodeError internally and catching it at the public boundary; anything else is a decoder bug, which
 * is turned into an `internal` drop so a remote peer can never crash the node.
 */
export function toDecodeError(e: unknown): DecodeError {
  if (e instanceof DecodeError) return e
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  return new DecodeError('internal', text)
}
