/**
 * The agent's side of encryption: the keyring file and the warnings about refused traffic.
 *
 * The keyring file is Serf's format, a JSON array of base64 keys with the primary first, rewritten on
 * every key change: written to a temporary file next to it, then renamed over it, so a crash leaves
 * either the old or the new keyring, never half of one. Mode 0600: it holds secrets.
 *
 * Traffic refused for security reasons (wrong key, no key, plaintext where encryption is required,
 * another cluster's label) is counted by reason in the metrics and logged as a warning at most once per
 * reason every 10 s, with how many were refused since the last warning, so a flood cannot flood the log.
 */
import { rename, writeFile } from 'node:fs/promises'
import type { Logger } from './log.js'
import type { GrapevineNode } from '../runtime/node/start-node.js'
import type { SwimEvent } from '../swim/events.js'

export async function writeKeyringFile(path: string, keys: readonly string[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 })
  await rename(tmp, path)
}

/** Drop reasons that mean "not from a member of this cluster", worth a warning. */
export const SECURITY_DROPS: ReadonlySet<string> = new Set(['decrypt-failed', 'not-encrypted', 'unexpected-encryption', 'label-mismatch'])

export const SECURITY_WARN_INTERVAL_MS = 10_000

const HINTS: Readonly<Record<string, string>> = {
  'decrypt-failed': 'traffic no installed key could decrypt: a node with another key (or none) is talking to us',
  'not-encrypted': 'plaintext traffic while encryption is required: a node without a key, or one still switching over',
  'unexpected-encryption': 'encrypted traffic while no key is installed: the others encrypt; give this node their key',
  'label-mismatch': 'traffic with another cluster label: a node of another cluster is talking to us',
}

/** Logs security drops, at most one warning per reason per interval; returns the unsubscribe. */
export function warnSecurityDrops(node: GrapevineNode, log: Logger, nowMs: () => number = Date.now, intervalMs = SECURITY_WARN_INTERVAL_MS): () => void {
  const last = new Map<string, number>()
  const suppressed = new Map<string, number>()
  const on = (e: SwimEvent): void => {
    if (e.type !== 'dropped' || !SECURITY_DROPS.has(e.reason)) return
    const now = nowMs()
    const prev = last.get(e.reason)
    if (prev !== undefined && now - prev < intervalMs) {
      suppressed.set(e.reason, (suppressed.get(e.reason) ?? 0) + 1)
      return
    }
    last.set(e.reason, now)
    const more = suppressed.get(e.reason) ?? 0
    suppressed.delete(e.reason)
    log.warn({ reason: e.reason, from: `${e.from.ip}:${e.from.port}`, detail: e.detail, suppressedSinceLast: more }, HINTS[e.reason] ?? 'refused traffic')
  }
  node.on('event', on)
  return () => void node.off('event', on)
}
