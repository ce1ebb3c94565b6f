/**
 * `grapevine members` on an agent with `--membership hyparview`: /v1/members answers with the node's
 * partial view (its overlay neighbours and backups), printed as a VIEW/PEER/TREE table under a line that
 * says this is not the whole cluster.
 *
 *   /v1/members body ──isPartialView?──▶ printPartialView (table or JSON) ; else the members table (client.ts)
 */
import type { CommandIo } from '../output/io.js'
import { table } from '../output/table.js'

export interface PartialView {
  readonly membership: 'hyparview'
  readonly note: string
  readonly self: { readonly name: string; readonly peer: string }
  readonly active: ReadonlyArray<{ readonly peer: string; readonly tree: string }>
  readonly passive: readonly string[]
}

export function isPartialView(body: unknown): body is PartialView {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { membership?: unknown }).membership === 'hyparview'
}

/** `grapevine members` on a hyparview agent: the views, under a line saying this is not the cluster. */
export function printPartialView(v: PartialView, io: CommandIo, json: boolean): void {
  if (json) return io.out(JSON.stringify(v, null, 2) + '\n')
  io.out(`${v.note}.\n`)
  const rows = [
    ['self', v.self.peer, '', v.self.name],
    ...v.active.map((a) => ['active', a.peer, a.tree, '']),
    ...v.passive.map((p) => ['passive', p, '', '']),
  ]
  io.out(table(['VIEW', 'PEER', 'TREE', 'NAME'], rows))
}
