/**
 * The wire layer: memberlist 0.2.2 messages to bytes and back, pure functions only.
 *
 * - messages: the typed message union and protocol numbers;
 * - codec (with stream-codec): packets (compound, compress, CRC), streams and stream framing;
 * - decode-error: the typed errors every decoder returns instead of throwing;
 * - limits: every byte and count bound (also as the `limits` namespace);
 * - lzw, crc32: Go-compatible LZW and CRC-32/IEEE;
 * - keyring, security: AES-GCM encryption with key rotation, and cluster labels (the outer layers);
 * - msgpack-writer, msgpack-scan: Go-identical msgpack output and object framing, for higher layers
 *   (serf-style user messages) that need the same encoding.
 */
export * from './messages.js'
export * from './codec.js'
export * from './decode-error.js'
export * from './limits.js'
export * as limits from './limits.js'
export * from './lzw.js'
export * from './crc32.js'
export * from './keyring.js'
export * from './security.js'
export { MsgpackWriter, MsgpackFloat64, encodeMsgpack, type MsgpackValue } from './msgpack-writer.js'
export { msgpackObjectLength } from './msgpack-scan.js'
export type { Aead } from './aead.js'
export { nodeAead } from './aead-node.js'
