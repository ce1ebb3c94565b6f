/**
 * Serf's tags in node metadata, so Serf agents and Grapevine nodes read each other's tags:
 * 0xFF then a msgpack map of string → string (Serf encodeTags, protocol ≥ 3). Metadata that does not
 * start with 0xFF is Serf's old form, the role alone: `{ role: <utf8 of meta> }`, as Serf decodeTags.
 */
import { encodeMsgpack } from '../wire/msgpack-writer.js'
import { MsgpackReader } from '../wire/msgpack-reader.js'
import { META_MAX_BYTES } from '../swim/swim.js'

export const TAG_MAGIC_BYTE = 0xff
/** Encoded tags may take the node metadata but for the 3 bytes of Grapevine's mark (stack/envelope.ts). */
export const TAGS_MAX_BYTES = META_MAX_BYTES - 3

export type Tags = Readonly<Record<string, string>>

export function encodeTags(tags: Tags): Uint8Array {
  const body = encodeMsgpack(tags)
  const out = new Uint8Array(body.length + 1)
  out[0] = TAG_MAGIC_BYTE
  out.set(body, 1)
  return out
}

/** Tags of a member's metadata; never throws (unreadable tags give an empty record). */
export function decodeTags(meta: Uint8Array): Record<string, string> {
  if (meta.length === 0 || meta[0] !== TAG_MAGIC_BYTE) return { role: new TextDecoder().decode(meta) }
  const tags: Record<string, string> = {}
  try {
    const r = new MsgpackReader(4).reset(meta, 1)
    const n = r.mapHeader('tags')
    for (let i = 0; i < n; i++) {
      const k = r.str(META_MAX_BYTES, 'tag name')
      tags[k] = r.str(META_MAX_BYTES, 'tag value')
    }
  } catch {
    return {}
  }
  return tags
}

/** Problems with user-given tags, each naming the field and the fix; empty when fine. */
export function tagProblems(tags: unknown, field = 'tags'): string[] {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
    return [`${field}: expected an object of string values like { role: 'web' }, got ${JSON.stringify(tags)}`]
  }
  const problems: string[] = []
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string') problems.push(`${field}.${k}: expected a string value, got ${JSON.stringify(v)}`)
  }
  if (problems.length === 0) {
    const size = encodeTags(tags as Tags).length
    if (size > TAGS_MAX_BYTES) {
      problems.push(`${field}: encoded tags take ${size} bytes, the limit is ${TAGS_MAX_BYTES}; use fewer or shorter tags`)
    }
  }
  return problems
}
