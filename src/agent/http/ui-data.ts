/**
 * The dashboard's data panel (web/src/data-panel.tsx): the replicated data types and the aggregates of
 * this node in one answer.
 *
 *   GET /v1/ui/data[?agreement=1]
 *     { crdt: [ { key, kind, name, value, agreement: { agree, differ, lacking, tooLarge, answered,
 *                 members } | null } ],
 *       agreementChecked: N | null,      keys whose agreement was asked for (at most 16; null: not asked)
 *       aggregates: [ AGGREGATE… ] }     as GET /v1/aggregate (http/aggregate.ts)
 *
 * Values and aggregates are read locally; `agreement=1` asks the members (crdt-agreement.ts: one query
 * per key, answered within 1.5 s), so the page asks for it every few seconds only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrapevineNode } from '../../runtime/node/start-node.js'
import { parseKey } from '../../node/index.js'
import { AGREEMENT_KEYS_MAX, crdtAgreement } from '../crdt-agreement.js'
import { sourcesOf } from '../aggregate-sources.js'
import { aggregateJson } from './aggregate.js'
import { HttpError, send } from './respond.js'

export async function handleUiDataRoute(req: IncomingMessage, res: ServerResponse, url: URL, node: GrapevineNode): Promise<boolean> {
  if (url.pathname !== '/v1/ui/data') return false
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on /v1/ui/data; use GET`, { allow: 'GET' })
  const ask = url.searchParams.get('agreement')
  if (ask !== null && ask !== '0' && ask !== '1') throw new HttpError(400, `agreement: expected 1 (ask the members) or 0, got ${JSON.stringify(ask.slice(0, 20))}`)
  const keys = node.crdt.keys()
  const agreement = ask === '1' ? await crdtAgreement(node, keys) : undefined
  const sources = sourcesOf(node)
  send(res, 200, {
    crdt: keys.map((key) => {
      const p = parseKey(key)
      return { key, kind: p?.kind ?? null, name: p?.name ?? key, value: node.crdt.read(key) ?? null, agreement: agreement?.get(key) ?? null }
    }),
    agreementChecked: agreement === undefined ? null : Math.min(keys.length, AGREEMENT_KEYS_MAX),
    aggregates: node.aggregate.list().map((s) => aggregateJson(s, sources.get(s.name)?.info() ?? { kind: 'library' })),
  })
  return true
}
