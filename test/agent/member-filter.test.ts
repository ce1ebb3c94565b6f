// `GET /v1/members` filters as `serf members` has them: status, name and tag values are regular
// expressions anchored at both ends (a plain word is an exact match), all filters must hold, the
// listing is sorted by name, and a bad filter is a 400 naming it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { filterMembers } from '../../src/agent/http/member-filter.js'
import { HttpError } from '../../src/agent/http/respond.js'
import type { Member } from '../../src/runtime/node/start-node.js'

const m = (name: string, state: string, tags: Record<string, string>): Member =>
  ({ name, address: { ip: '10.0.0.1', port: 7946 }, state, incarnation: 1, meta: new Uint8Array(0), tags }) as unknown as Member
const members = [m('web-2', 'alive', { role: 'web', zone: 'a' }), m('db-1', 'dead', { role: 'db' }), m('web-10', 'suspect', { role: 'web' }), m('webcache', 'alive', { role: 'webcache' }), m('api-1', 'left', {})]
const names = (q: string): string[] => filterMembers(members, new URLSearchParams(q)).map((x) => x.name)
const badRequest = (q: string, why: RegExp) => assert.throws(() => names(q), (e: unknown) => e instanceof HttpError && e.status === 400 && why.test(e.message))

test('without filters every member is listed, sorted by name', () => {
  assert.deepEqual(names(''), ['api-1', 'db-1', 'web-10', 'web-2', 'webcache'])
})

test('name and tag values match whole, as anchored regular expressions', () => {
  assert.deepEqual(names('name=web-.*'), ['web-10', 'web-2'])
  assert.deepEqual(names('name=web'), [], 'a plain word is the whole name, not a substring')
  assert.deepEqual(names('tag=role=web'), ['web-10', 'web-2'], 'webcache is not role=web')
  assert.deepEqual(names('tag=role=web|db'), ['db-1', 'web-10', 'web-2'])
  assert.deepEqual(names('tag=role=web&tag=zone=a'), ['web-2'], 'every tag filter must hold')
  assert.deepEqual(names('tag=zone=.*'), ['web-2'], 'a member without the tag does not match')
})

test('status takes Serf\'s words, dead for failed, and expressions over them', () => {
  assert.deepEqual(names('status=failed'), ['db-1'])
  assert.deepEqual(names('status=dead'), ['db-1'])
  assert.deepEqual(names('status=alive|suspect'), ['web-10', 'web-2', 'webcache'])
  assert.deepEqual(names('status=alive&name=web.*&tag=role=web'), ['web-2'])
})

test('a bad filter is refused with the reason', () => {
  badRequest('status=gone', /status "gone": expected alive, suspect, failed or left/)
  badRequest('name=web-(', /name "web-\(": not a regular expression/)
  badRequest('tag=role', /tag "role": expected KEY=VALUE/)
  badRequest(`name=${'a'.repeat(201)}`, /name: at most 200 characters/)
})
