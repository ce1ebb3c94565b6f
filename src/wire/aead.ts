/**
 * The one cryptographic primitive the wire needs, handed in by the runtime like time and randomness:
 * AES-GCM (128, 192 or 256-bit keys, 12-byte nonces, 16-byte tags). The real runtime gives Node's native
 * implementation (aead-node.ts); code that must also run in a browser (the simulator in the dashboard)
 * imports this interface only, so nothing it loads reaches a Node built-in.
 */
export interface Aead {
  /** `plaintext` encrypted under `key` and `nonce`, authenticating `aad`: the ciphertext followed by the 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array
  /** The plaintext of `ciphertext` (tag last), or undefined when it does not authenticate under `key`. Never throws. */
  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | undefined
}
