/**
 * The agent's routes for encryption keys (the rest of the API is in api.ts). Keys go in as base64
 * and never come out: every answer names keys by fingerprint (`sha256:` + 16 hex digits).
 *
 *   GET  /v1/keys           { encrypting, verifyIncoming, verifyOutgoing, label, primary, keys }
 *   POST /v1/keys/install   { "key": "<base64>" } → the same status: installed for decryption
 *   POST /v1/keys/use       { "key": "<base64>" }: the primary from now on (400 unless installed)
 *   POST /v1/keys/remove    { "key": "<base64>" }: uninstalled (409 for the primary)
 *   POST /v1/keys/verify    { "incoming": bool, "outgoing": bool }: memberlist's switches, to move a
 *                           running cluster from plaintext to encryption without downtime
 *
 * Every change is written to the keyring file when the agent has one (a failed write is a 500 naming
 * the file; the change is in effect anyway).
 *
 * `?wan=1` on any of them: the WAN pool's keyring instead (a server of a datacenter; 400 elsewhere),
 * saved to the WAN keyring file, as Consul's `keyring -wan`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { KeyringError } from '../../wire/keyring.js'
import type { DatacenterNode } from '../../runtime/node/pools.js'
import { membersPool } from './pools.js'
import { HttpError, readJson, requireMethod, send } from './respond.js'

/** The WAN pool's keyring with ?wan=1: its node and how its file is saved. */
export interface WanKeyring {
  readonly pools: DatacenterNode | undefined
  persist(): Promise<void>
}

export async function handleKeysRoute(req: IncomingMessage, res: ServerResponse, url: URL, lanNode: GrapevineNode, lanPersist: () => Promise<void>, wan?: WanKeyring): Promise<boolean> {
  const path = url.pathname
  if (path !== '/v1/keys' && !path.startsWith('/v1/keys/')) return false
  const node = membersPool(url, lanNode, wan?.pools)
  const persist = node === lanNode ? lanPersist : () => wan?.persist() ?? Promise.resolve()
  if (path === '/v1/keys') {
    requireMethod(req, 'GET')
    send(res, 200, node.encryption())
    return true
  }
  const op = /^\/v1\/keys\/(install|use|remove|verify)$/.exec(path)?.[1]
  if (op === undefined) return false
  requireMethod(req, 'POST')
  const body = (await readJson(req)) as Record<string, unknown> | null
  if (op === 'verify') {
    for (const f of ['incoming', 'outgoing']) {
      if (body?.[f] !== undefined && typeof body[f] !== 'boolean') throw new HttpError(400, `${f}: expected true or false, got ${JSON.stringify(body[f])}`)
    }
    node.setEncryptionVerify({ incoming: body?.incoming as boolean | undefined, outgoing: body?.outgoing as boolean | undefined })
    send(res, 200, node.encryption())
    return true
  }
  const key = body?.key
  if (typeof key !== 'string' || key.length === 0) throw new HttpError(400, 'key: expected {"key": "<base64 key>"} as `grapevine keygen` prints it')
  try {
    if (op === 'install') node.installKey(key)
    else if (op === 'use') node.useKey(key)
    else node.removeKey(key)
  } catch (e) {
    if (!(e instanceof KeyringError)) throw e
    throw new HttpError(op === 'remove' && /primary/.test(e.message) ? 409 : 400, e.message)
  }
  try {
    await persist()
  } catch (e) {
    throw new HttpError(500, `the key change is in effect but the keyring file could not be written: ${(e as Error).message}`)
  }
  send(res, 200, node.encryption())
  return true
}
