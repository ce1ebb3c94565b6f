/**
 * `grapevine keygen` and `grapevine keys list|install|use|remove|verify`: encryption keys of a running
 * agent, changed without a restart (and saved to its keyring file when it has one). Keys are shown by
 * fingerprint only; `keygen` is the one command that prints a key. `--wan` acts on a server's WAN
 * pool keyring instead (its own keys, its own keyring file).
 */
import { randomBytes } from 'node:crypto'
import { formatKey } from '../wire/keyring.js'
import type { ClientFlags } from './client.js'
import { call, target } from './client.js'
import { table } from '../output/table.js'
import type { CommandIo } from '../output/io.js'
import { UsageError } from '../core/errors.js'

interface KeyStatus {
  encrypting: boolean
  verifyIncoming: boolean
  verifyOutgoing: boolean
  label: string
  primary?: string
  keys: string[]
}

/** 32 random bytes from the system's cryptographic generator, base64 (what `serf keygen` prints). */
export function keygenCommand(io: CommandIo): number {
  io.out(formatKey(new Uint8Array(randomBytes(32))) + '\n')
  return 0
}

function printStatus(s: KeyStatus, flags: ClientFlags, io: CommandIo): void {
  if (flags.json === true) return io.out(JSON.stringify(s, null, 2) + '\n')
  io.out(`encryption: ${s.encrypting ? 'on' : s.keys.length > 0 ? 'keys installed, sending plaintext (verify-outgoing off)' : 'off'}; ` +
    `verify incoming ${s.verifyIncoming}, outgoing ${s.verifyOutgoing}; label ${s.label === '' ? '(none)' : s.label}\n`)
  if (s.keys.length > 0) io.out(table(['KEY (fingerprint)', 'ROLE'], s.keys.map((k) => [k, k === s.primary ? 'primary' : 'installed'])))
}

export async function keysCommand(action: string, key: string | undefined, flags: ClientFlags & { incoming?: string; outgoing?: string; wan?: boolean }, io: CommandIo, env = process.env): Promise<number> {
  const t = target(flags, env)
  const pool = flags.wan === true ? '?wan=1' : ''
  let status: KeyStatus
  switch (action) {
    case 'list':
      status = (await (await call(t, 'GET', `/v1/keys${pool}`)).json()) as KeyStatus
      break
    case 'install':
    case 'use':
    case 'remove':
      if (key === undefined || key === '') throw new UsageError(`keys ${action}: give the base64 key, e.g. grapevine keys ${action} "$(grapevine keygen)"`)
      status = (await (await call(t, 'POST', `/v1/keys/${action}${pool}`, { key })).json()) as KeyStatus
      break
    case 'verify': {
      const bool = (name: string, v: string | undefined): boolean | undefined => {
        if (v === undefined) return undefined
        if (v === 'true' || v === 'false') return v === 'true'
        throw new UsageError(`--${name} ${JSON.stringify(v)}: expected true or false`)
      }
      const body = { incoming: bool('incoming', flags.incoming), outgoing: bool('outgoing', flags.outgoing) }
      if (body.incoming === undefined && body.outgoing === undefined) throw new UsageError('keys verify: give --incoming true|false and/or --outgoing true|false')
      status = (await (await call(t, 'POST', `/v1/keys/verify${pool}`, body)).json()) as KeyStatus
      break
    }
    default:
      throw new UsageError(`keys ${JSON.stringify(action)}: expected list, install, use, remove or verify`)
  }
  if (flags.wan === true && flags.json !== true) io.out('WAN pool: ')
  printStatus(status, flags, io)
  return 0
}
