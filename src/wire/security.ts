/**
 * The outer layers of memberlist's wire: encryption (AES-GCM, spec 7) and cluster labels (spec 4.6),
 * on packets and streams. Applied last on send and first on receipt, around everything codec.ts and
 * stream-codec.ts produce (spec 4.1):
 *
 *   packet: [244][n][label]? [vsn][nonce 12][ciphertext][tag 16]          AAD = label bytes
 *   stream: [244][n][label]? [10][u32 L][vsn][nonce 12][ciphertext][tag 16] AAD = [10][L] + label
 *
 * vsn 1 is plain GCM; vsn 0 (memberlist protocol version 1) pads the plaintext PKCS#7-style to 16 bytes.
 * memberlist 0.2.2 (Serf 0.9.4) knows no labels and uses no AAD, which is the same as an empty label.
 * On streams only the dialer writes the label header; replies carry none but are sealed with the label.
 *
 * `verifyOutgoing` false sends plaintext although keys are installed; `verifyIncoming` false accepts
 * plaintext as well as ciphertext: the two steps of switching a running cluster to encryption.
 *
 * Pure: the cipher (an Aead handed in: Node's native AES-GCM in the real runtime, aead-node.ts) is
 * deterministic given key and nonce; nonces come from the `random` source handed in (crypto in the real
 * runtime, the seeded generator in the simulator). Opening never throws.
 */
import type { Aead } from './aead.js'
import { DecodeError, decodeFail, decodeOk, type DecodeResult } from './decode-error.js'
import type { Keyring } from './keyring.js'
import { maxPushStateBytes } from './limits.js'
import { encodeStream } from './stream-codec.js'
import { MessageType } from './messages.js'

/** Bytes of nonce and tag (memberlist's nonceSize and GCM's tag). */
export const nonceBytes = 12
export const tagBytes = 16
const BLOCK = 16
/** Envelope cost of one encrypted packet: version, nonce, tag (v1), plus a whole padding block (v0). */
export const encryptOverheadBytes = { 0: 1 + nonceBytes + tagBytes + BLOCK, 1: 1 + nonceBytes + tagBytes } as const
const STREAM_HEADER = 5

export type EncryptionVersion = 0 | 1

/** A source of unpredictable bytes for nonces. */
export type RandomBytes = (n: number) => Uint8Array

export interface SecurityOptions {
  /** The keyring; empty means no encryption. It is read on every call, so rotation takes effect at once. */
  readonly keyring: Keyring
  /** Cluster label; '' is none (the default, and what Serf 0.9.4 needs). At most 255 bytes of UTF-8. */
  readonly label?: string
  /** Send encrypted when keys are installed (memberlist GossipVerifyOutgoing). Default true. */
  readonly verifyOutgoing?: boolean
  /** Require encrypted input when keys are installed (memberlist GossipVerifyIncoming). Default true. */
  readonly verifyIncoming?: boolean
  /** 1 (default; memberlist protocol 2 and above, what Serf sends) or 0 (padded, protocol 1). */
  readonly encryptionVersion?: EncryptionVersion
  /** AES-GCM; needed once keys are installed (without it, sealing throws and nothing opens). */
  readonly aead?: Aead
}

/**
 * `[vsn][nonce][GCM(plaintext, padded for v0)][tag]` written into `out` at `at` (which must have room:
 * sealedLength). Returns the end offset.
 */
function sealInto(aead: Aead, out: Uint8Array, at: number, vsn: EncryptionVersion, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): number {
  let body = plaintext
  if (vsn === 0) {
    const pad = BLOCK - (plaintext.length % BLOCK)
    body = new Uint8Array(plaintext.length + pad).fill(pad)
    body.set(plaintext, 0)
  }
  out[at] = vsn
  out.set(nonce, at + 1)
  const sealed = aead.seal(key, nonce, body, aad)
  out.set(sealed, at + 1 + nonceBytes)
  return at + 1 + nonceBytes + sealed.length
}

/** Length of an encrypted payload for `plainLength` bytes. */
export function sealedLength(vsn: EncryptionVersion, plainLength: number): number {
  const pad = vsn === 0 ? BLOCK - (plainLength % BLOCK) : 0
  return 1 + nonceBytes + plainLength + pad + tagBytes
}

/** Encrypts one payload with `key` (memberlist encryptPayload). */
export function encryptPayload(aead: Aead, vsn: EncryptionVersion, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(sealedLength(vsn, plaintext.length))
  sealInto(aead, out, 0, vsn, key, nonce, plaintext, aad)
  return out
}

/**
 * Decrypts `[vsn][nonce][ciphertext][tag]` with each key in turn, the first that authenticates wins
 * (memberlist decryptPayload). v0 padding must be valid PKCS#7 (Go senders always write it so; checking
 * it rejects a version byte flipped from 1 to 0). Never throws.
 */
export function decryptPayload(aead: Aead, keys: readonly Uint8Array[], bytes: Uint8Array, aad: Uint8Array = EMPTY): DecodeResult<Uint8Array> {
  if (bytes.length === 0) return decodeFail(new DecodeError('decrypt-failed', 'empty payload', 0))
  const vsn = bytes[0]
  if (vsn > 1) return decodeFail(new DecodeError('decrypt-failed', `unsupported encryption version ${vsn}`, 0))
  const min = vsn === 0 ? encryptOverheadBytes[0] : encryptOverheadBytes[1]
  if (bytes.length < min) return decodeFail(new DecodeError('decrypt-failed', `${bytes.length} bytes, shorter than the ${min} of an encrypted payload`, 0))
  const nonce = bytes.subarray(1, 1 + nonceBytes)
  const sealed = bytes.subarray(1 + nonceBytes)
  for (const key of keys) {
    const plain = aead.open(key, nonce, sealed, aad)
    if (plain === undefined) continue
    if (vsn === 1) return decodeOk(plain)
    const pad = plain.length === 0 ? 0 : plain[plain.length - 1]
    let valid = pad >= 1 && pad <= BLOCK && plain.length % BLOCK === 0
    for (let i = plain.length - pad; valid && i < plain.length; i++) valid = plain[i] === pad
    if (!valid) return decodeFail(new DecodeError('decrypt-failed', 'bad padding in a version 0 payload', 0))
    return decodeOk(plain.subarray(0, plain.length - pad))
  }
  return decodeFail(new DecodeError('decrypt-failed', `none of the ${keys.length} installed keys could decrypt it`, 0))
}

const EMPTY = new Uint8Array(0)

/** Checks a label: at most 255 bytes of UTF-8. Returns a problem text naming the fix, or undefined. */
export function labelProblem(label: unknown): string | undefined {
  if (typeof label !== 'string') return `label: expected a string, got ${typeof label}`
  const n = new TextEncoder().encode(label).length
  if (n > 255) return `label: at most 255 bytes, got ${n}; choose a shorter cluster label`
  return undefined
}

/** `[244][n][label][rest]`; the label must be 1..255 bytes. */
export function addLabelHeader(label: Uint8Array, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + label.length + rest.length)
  out[0] = MessageType.label
  out[1] = label.length
  out.set(label, 2)
  out.set(rest, 2 + label.length)
  return out
}

/** Splits a label header off: the label ('' when there is none) and the bytes after it. */
export function stripLabelHeader(bytes: Uint8Array): DecodeResult<{ label: Uint8Array; rest: Uint8Array }> {
  if (bytes.length === 0 || bytes[0] !== MessageType.label) return decodeOk({ label: EMPTY, rest: bytes })
  if (bytes.length < 2) return decodeFail(new DecodeError('truncated', 'label header', 0))
  const n = bytes[1]
  if (n === 0) return decodeFail(new DecodeError('bad-field', 'empty label header', 1))
  if (bytes.length < 2 + n) return decodeFail(new DecodeError('truncated', `label of ${n} bytes`, 2))
  return decodeOk({ label: bytes.subarray(2, 2 + n), rest: bytes.subarray(2 + n) })
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * One node's wire security: keyring, label and the verify switches, with its nonce source. The
 * switches and the keyring may change while running (key rotation, the plaintext-to-encrypted switch).
 */
export class WireSecurity {
  readonly keyring: Keyring
  verifyOutgoing: boolean
  verifyIncoming: boolean
  readonly encryptionVersion: EncryptionVersion
  private readonly labelBytes: Uint8Array
  private readonly aead: Aead | undefined

  constructor(opts: SecurityOptions, private readonly random: RandomBytes) {
    const problem = opts.label === undefined ? undefined : labelProblem(opts.label)
    if (problem !== undefined) throw new RangeError(problem)
    this.keyring = opts.keyring
    this.labelBytes = new TextEncoder().encode(opts.label ?? '')
    this.verifyOutgoing = opts.verifyOutgoing ?? true
    this.verifyIncoming = opts.verifyIncoming ?? true
    this.encryptionVersion = opts.encryptionVersion ?? 1
    this.aead = opts.aead
  }

  /** True when keys can be used: an AES-GCM implementation was handed in. */
  get canEncrypt(): boolean {
    return this.aead !== undefined
  }

  private get cipher(): Aead {
    if (this.aead === undefined) throw new Error('encryption: keys are installed but no AES-GCM implementation was handed in (SecurityOptions.aead)')
    return this.aead
  }

  get label(): string {
    return new TextDecoder().decode(this.labelBytes)
  }

  /** True when what we send is encrypted. */
  get encrypting(): boolean {
    return this.keyring.enabled && this.verifyOutgoing
  }

  /** Bytes sealing adds to a packet at most; subtract from the packing budget (memberlist does). */
  get packetOverheadBytes(): number {
    return (this.encrypting ? encryptOverheadBytes[this.encryptionVersion] : 0) + (this.labelBytes.length > 0 ? 2 + this.labelBytes.length : 0)
  }

  /** An outgoing packet: encrypted with the primary key when encrypting, then labelled when a label is set. */
  sealPacket(bytes: Uint8Array): Uint8Array {
    const key = this.keyring.primary
    let out = bytes
    if (key !== undefined && this.verifyOutgoing) {
      out = encryptPayload(this.cipher, this.encryptionVersion, key, this.nonce(), bytes, this.labelBytes)
    }
    return this.labelBytes.length > 0 ? addLabelHeader(this.labelBytes, out) : out
  }

  /** An incoming packet: label checked and removed, then decrypted (or accepted as plaintext when allowed). */
  openPacket(bytes: Uint8Array): DecodeResult<Uint8Array> {
    // Neither a label nor keys, and no label header: nothing to strip or open (one result, not four).
    if (this.labelBytes.length === 0 && !this.keyring.enabled && (bytes.length === 0 || bytes[0] !== MessageType.label)) return decodeOk(bytes)
    const stripped = this.checkLabel(bytes)
    if (!stripped.ok) return stripped
    const rest = stripped.value
    if (!this.keyring.enabled) return decodeOk(rest)
    const plain = decryptPayload(this.cipher, this.keyring.keys, rest, this.labelBytes)
    if (plain.ok || this.verifyIncoming) return plain
    return decodeOk(rest)
  }

  /**
   * An outgoing stream message: `[10][L][encrypted]` when encrypting, and the label header in front
   * when `dialer` (only the side that opens the connection writes it).
   */
  sealStream(bytes: Uint8Array, dialer: boolean): Uint8Array {
    const key = this.keyring.primary
    let out = bytes
    if (key !== undefined && this.verifyOutgoing) {
      const sealed = sealedLength(this.encryptionVersion, bytes.length)
      out = new Uint8Array(STREAM_HEADER + sealed)
      out[0] = MessageType.encrypt
      new DataView(out.buffer).setUint32(1, sealed)
      sealInto(this.cipher, out, STREAM_HEADER, this.encryptionVersion, key, this.nonce(), bytes, this.streamAad(out))
    }
    return dialer && this.labelBytes.length > 0 ? addLabelHeader(this.labelBytes, out) : out
  }

  /**
   * An incoming stream message, whole (as the TCP reader frames it): `request` true for what a dialer
   * sent us (label header expected when we have a label), false for a reply to our own request.
   */
  openStream(bytes: Uint8Array, request: boolean): DecodeResult<Uint8Array> {
    let rest = bytes
    if (request) {
      const stripped = this.checkLabel(bytes)
      if (!stripped.ok) return stripped
      rest = stripped.value
    }
    if (rest.length > 0 && rest[0] === MessageType.encrypt) {
      if (!this.keyring.enabled) {
        return decodeFail(new DecodeError('unexpected-encryption', 'remote state is encrypted and encryption is not configured', 0))
      }
      if (rest.length < STREAM_HEADER) return decodeFail(new DecodeError('truncated', 'encrypted stream header', 0))
      const len = new DataView(rest.buffer, rest.byteOffset, rest.length).getUint32(1)
      if (len > maxPushStateBytes) return decodeFail(new DecodeError('too-large', `encrypted stream of ${len} bytes (at most ${maxPushStateBytes})`, 1))
      if (rest.length !== STREAM_HEADER + len) {
        return decodeFail(new DecodeError(rest.length < STREAM_HEADER + len ? 'truncated' : 'trailing-bytes', `encrypted stream says ${len} bytes, ${rest.length - STREAM_HEADER} present`, 1))
      }
      return decryptPayload(this.cipher, this.keyring.keys, rest.subarray(STREAM_HEADER), this.streamAad(rest))
    }
    if (this.keyring.enabled && this.verifyIncoming) {
      return decodeFail(new DecodeError('not-encrypted', 'encryption is configured but remote state is not encrypted', 0))
    }
    return decodeOk(rest)
  }

  /**
   * What to answer a stream request that could not be opened: nothing for another cluster's label
   * (memberlist closes those without a word), otherwise an error message sealed like any reply, so the
   * dialer learns why (memberlist's errResp).
   */
  rejectedRequestReply(error: DecodeError): Uint8Array | null {
    if (error.reason === 'label-mismatch') return null
    return this.sealStream(encodeStream({ type: 'err', error: `Failed to read stream: ${error.detail}` }, { compress: false }), false)
  }

  /**
   * A reply to our own stream request, opened; one that cannot be (the peer has another key, none, or
   * another label) becomes a local error message naming why, so a join reports it. `error` is set then.
   */
  openReply(bytes: Uint8Array): { bytes: Uint8Array; error?: DecodeError } {
    const opened = this.openStream(bytes, false)
    if (opened.ok) return { bytes: opened.value }
    const text = `reply could not be opened (${opened.error.reason}: ${opened.error.detail})`
    return { bytes: encodeStream({ type: 'err', error: text }, { compress: false }).slice(), error: opened.error }
  }

  private streamAad(header: Uint8Array): Uint8Array {
    if (this.labelBytes.length === 0) return header.subarray(0, STREAM_HEADER)
    const aad = new Uint8Array(STREAM_HEADER + this.labelBytes.length)
    aad.set(header.subarray(0, STREAM_HEADER))
    aad.set(this.labelBytes, STREAM_HEADER)
    return aad
  }

  private checkLabel(bytes: Uint8Array): DecodeResult<Uint8Array> {
    const s = stripLabelHeader(bytes)
    if (!s.ok) return decodeFail(new DecodeError('label-mismatch', `unreadable label header (${s.error.message})`, 0))
    if (!sameBytes(s.value.label, this.labelBytes)) {
      const got = s.value.label.length === 0 ? 'no label' : `label ${JSON.stringify(new TextDecoder().decode(s.value.label))}`
      return decodeFail(new DecodeError('label-mismatch', `${got}, expected ${this.labelBytes.length === 0 ? 'none' : JSON.stringify(this.label)}`, 0))
    }
    return decodeOk(s.value.rest)
  }

  private nonce(): Uint8Array {
    const n = this.random(nonceBytes)
    if (n.length !== nonceBytes) throw new RangeError(`nonce source gave ${n.length} bytes, expected ${nonceBytes}`)
    return n
  }
}
