/**
 * AES-GCM from Node's crypto (OpenSSL): the Aead the real runtime and Node-side simulations use.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import type { Aead } from './aead.js'

const TAG_BYTES = 16

function cipherName(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  return key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm'
}

export const nodeAead: Aead = {
  seal(key, nonce, plaintext, aad) {
    const cipher = createCipheriv(cipherName(key), key, nonce, { authTagLength: TAG_BYTES })
    if (aad.length > 0) cipher.setAAD(aad)
    const body = cipher.update(plaintext)
    const rest = cipher.final()
    const out = new Uint8Array(body.length + rest.length + TAG_BYTES)
    out.set(body, 0)
    out.set(rest, body.length)
    out.set(cipher.getAuthTag(), body.length + rest.length)
    return out
  },
  open(key, nonce, ciphertext, aad) {
    if (ciphertext.length < TAG_BYTES) return undefined
    try {
      const d = createDecipheriv(cipherName(key), key, nonce, { authTagLength: TAG_BYTES })
      if (aad.length > 0) d.setAAD(aad)
      d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES))
      const a = d.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES))
      const b = d.final()
      if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.length)
      const out = new Uint8Array(a.length + b.length)
      out.set(a, 0)
      out.set(b, a.length)
      return out
    } catch {
      return undefined
    }
  },
}
