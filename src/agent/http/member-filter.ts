/**
 * `GET /v1/members?status=…&name=…&tag=K=…` filters, as `serf members -status -name -tag` has them:
 * each value is a regular expression anchored at both ends (a plain word is an exact match), tags
 * repeatable and all required; the listing is sorted by name.
 *
 *   query string ─▶ compile (400 naming a bad expression, a status no state matches, a tag without =)
 *                ─▶ keep members whose Serf state word, name and tags all match ─▶ sort by name
 *
 * The status is matched against Serf's words (alive, suspect, failed, left); `dead`, the protocol's
 * word, is taken for failed. Expressions are at most 200 characters (the API may be reachable by
 * every holder of the token; JavaScript's regular expressions backtrack).
 */
import type { Member } from '../../runtime/node/start-node.js'
import { USER_STATES, userState } from '../member-words.js'
import type { UserState } from '../member-words.js'
import { HttpError } from './respond.js'

const MAX_PATTERN_CHARS = 200

const byName = (a: Member, b: Member): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

function anchored(what: string, pattern: string): RegExp {
  if (pattern.length > MAX_PATTERN_CHARS) throw new HttpError(400, `${what}: at most ${MAX_PATTERN_CHARS} characters`)
  try {
    return new RegExp(`^(?:${pattern})$`)
  } catch (e) {
    throw new HttpError(400, `${what} ${JSON.stringify(pattern)}: not a regular expression (${(e as Error).message}); a plain word matches exactly, web-.* matches a prefix`)
  }
}

/** The members that pass the query's filters, sorted by name; HttpError 400 for a bad filter. */
export function filterMembers(members: readonly Member[], query: URLSearchParams): Member[] {
  const status = query.get('status')
  let states: ReadonlySet<UserState> | undefined
  if (status !== null) {
    const re = anchored('status', status)
    states = new Set(USER_STATES.filter((s) => re.test(s) || (s === 'failed' && re.test('dead'))))
    if (states.size === 0) throw new HttpError(400, `status ${JSON.stringify(status)}: expected alive, suspect, failed or left (or an expression matching them, like alive|suspect)`)
  }
  const name = query.get('name')
  const nameRe = name === null ? undefined : anchored('name', name)
  const tags: Array<[string, RegExp]> = []
  for (const t of query.getAll('tag')) {
    const eq = t.indexOf('=')
    if (eq <= 0) throw new HttpError(400, `tag ${JSON.stringify(t)}: expected KEY=VALUE like role=web (the value may be an expression, like role=web|api)`)
    tags.push([t.slice(0, eq), anchored(`tag ${t.slice(0, eq)}`, t.slice(eq + 1))])
  }
  return members
    .filter((m) => (states === undefined || states.has(userState(m.state))) && (nameRe === undefined || nameRe.test(m.name)) && tags.every(([k, re]) => m.tags[k] !== undefined && re.test(m.tags[k])))
    .sort(byName)
}
