/**
 * The encryption keyring, as memberlist's (spec 7.1): an ordered list of AES keys, the primary first.
 * The primary key encrypts; every installed key is tried on receipt. Keys are 16, 24 or 32 bytes
 * (AES-128/192/256), written as standard base64 like `serf keygen` prints them.
 *
 * Rotation: install the new key everywhere, make it primary everywhere, remove the old one. Using a key
 * that is not installed and removing the primary are errors (KeyringError), as in memberlist.
 *
 * Key material never leaves this module in readable form except through `keys` (for the keyring file):
 * what is shown to people and over the API is a fingerprint (`fingerprint`).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'

/** Key lengths AES-GCM accepts here (memberlist ValidateKey). */
export const keyLengths: readonly number[] = [16, 24, 32]

/** A bad key or a keyring operation memberlist refuses; the message names the problem and the fix. */
export class KeyringError extends Error {
  override readonly name = 'KeyringError'
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Decodes a base64 key (as `serf keygen` / `grapevine keygen` print). Throws KeyringError naming the problem. */
export function parseKey(text: string): Uint8Array {
  const t = typeof text === 'string' ? text.trim() : ''
  if (t.length === 0 || t.length % 4 !== 0 || !BASE64.test(t)) {
    throw new KeyringError(`key: expected standard base64 of 16, 24 or 32 bytes (as \`grapevine keygen\` or \`serf keygen\` print), got ${JSON.stringify(typeof text === 'string' ? abbreviate(text) : text)}`)
  }
  const bytes = new Uint8Array(Buffer.from(t, 'base64'))
  if (!keyLengths.includes(bytes.length)) {
    throw new KeyringError(`key: decodes to ${bytes.length} bytes; AES needs 16, 24 or 32 (generate one with \`grapevine keygen\`)`)
  }
  return bytes
}

/** Shows at most the first characters of a rejected key text, so an error message does not echo a whole secret. */
function abbreviate(text: string): string {
  return text.length <= 6 ? text : `${text.slice(0, 4)}…(${text.length} characters)`
}

/** Standard base64 of a key, as Serf writes it in keyring files. */
export function formatKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')
}

/**
 * A short, one-way name for a key: `sha256:` and the first 16 hex digits of its SHA-256. Lets people
 * check that two nodes hold the same key without showing it.
 */
export function fingerprint(key: Uint8Array): string {
  return `sha256:${bytesToHex(sha256(key)).slice(0, 16)}`
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/** What the keyring holds, shown without key material. */
export interface KeyringInfo {
  /** Fingerprint of the primary key, undefined when the keyring is empty (no encryption). */
  readonly primary: string | undefined
  /** Fingerprints of every installed key, the primary first. */
  readonly keys: readonly string[]
}

export class Keyring {
  private list: Uint8Array[]

  /** `keys[0]` is the primary. Every key must be 16, 24 or 32 bytes; duplicates are kept once. */
  constructor(keys: readonly Uint8Array[] = []) {
    this.list = []
    for (const k of keys) this.add(k)
  }

  /** From base64 texts, the primary first (a keyring file's contents). Throws KeyringError. */
  static parse(texts: readonly string[]): Keyring {
    return new Keyring(texts.map(parseKey))
  }

  /** Encryption is on when at least one key is installed (memberlist EncryptionEnabled). */
  get enabled(): boolean {
    return this.list.length > 0
  }

  /** The key that encrypts, undefined when empty. */
  get primary(): Uint8Array | undefined {
    return this.list[0]
  }

  /** Every key in decryption order, the primary first. */
  get keys(): readonly Uint8Array[] {
    return this.list
  }

  info(): KeyringInfo {
    return { primary: this.primary === undefined ? undefined : fingerprint(this.primary), keys: this.list.map(fingerprint) }
  }

  has(key: Uint8Array): boolean {
    return this.list.some((k) => sameKey(k, key))
  }

  /** Installs a key for decryption (memberlist AddKey); the first key of an empty keyring becomes primary. Idempotent. */
  install(key: Uint8Array): void {
    this.add(key)
  }

  /** Makes an installed key the primary (memberlist UseKey). */
  use(key: Uint8Array): void {
    const i = this.list.findIndex((k) => sameKey(k, key))
    if (i < 0) throw new KeyringError(`key ${fingerprint(key)} is not installed; install it first (keys install), then use it`)
    const [k] = this.list.splice(i, 1)
    this.list.unshift(k)
  }

  /** Removes a key that is not the primary (memberlist RemoveKey). Removing a key that is not installed does nothing. */
  remove(key: Uint8Array): void {
    const i = this.list.findIndex((k) => sameKey(k, key))
    if (i === 0) throw new KeyringError(`key ${fingerprint(key)} is the primary key; make another key primary first (keys use), then remove it`)
    if (i > 0) this.list.splice(i, 1)
  }

  private add(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || !keyLengths.includes(key.length)) {
      throw new KeyringError(`key: expected 16, 24 or 32 bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`)
    }
    if (!this.has(key)) this.list.push(Uint8Array.from(key))
  }
}
