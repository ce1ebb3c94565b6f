// Storm visibility in /metrics, driven by hand: the node's accusation events become counters by
// accuser, per-second rates over the last 10 s, and each accused member's distinct accusers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import * as prom from 'prom-client'
import { AccusationRecorder, registerAccusationSeries } from '../../src/agent/accusation-metrics.js'
import { mirroredCounter } from '../../src/agent/metrics.js'
import type { GrapevineNode } from '../../src/runtime/node/start-node.js'
import type { MemberInfo, SwimEvent } from '../../src/swim/events.js'

const member = (name: string): MemberInfo => ({
  name, address: { ip: '127.0.0.1', port: 7946 }, state: 'suspect', incarnation: 1, meta: new Uint8Array(0), vsn: Uint8Array.of(1, 5, 2, 2, 5, 5), stateChangeMs: 0,
})

function setup() {
  const emitter = new EventEmitter()
  const node = Object.assign(emitter, { name: 'me' }) as unknown as GrapevineNode
  const registry = new prom.Registry()
  let clock = 0
  const recorder = new AccusationRecorder(node, () => clock)
  registerAccusationSeries(prom, registry, recorder, (name, help, labelNames, read) => mirroredCounter(prom, registry, name, help, labelNames, read))
  const stop = (): void => recorder.close()
  const emit = (e: SwimEvent, at: number): void => {
    clock = at
    emitter.emit('event', e)
  }
  const scrape = async (at: number): Promise<string> => {
    clock = at
    return registry.metrics()
  }
  return { emit, scrape, stop, emitter }
}

test('a member accused by three members at once shows three accusers and counts as accused by many; each accuser is counted', async () => {
  const { emit, scrape, stop, emitter } = setup()
  emit({ type: 'suspected', member: member('x'), from: 'a', via: 'gossip' }, 1000)
  emit({ type: 'suspicionConfirmed', member: member('x'), from: 'b' }, 1200)
  emit({ type: 'suspicionConfirmed', member: member('x'), from: 'c' }, 1400)
  emit({ type: 'failed', member: member('y'), from: 'me', via: 'timeout' }, 1500)
  emit({ type: 'refuted', incarnation: 3, accusation: 'suspect' }, 1600)
  const text = await scrape(2000)
  assert.match(text, /grapevine_member_accusers\{member="x"\} 3/)
  assert.match(text, /grapevine_member_accusers\{member="y"\} 1/)
  assert.match(text, /grapevine_members_accused_by_many 1/)
  assert.match(text, /grapevine_accusations_per_second\{kind="suspicion"\} 0\.3/)
  assert.match(text, /grapevine_accusations_per_second\{kind="death"\} 0\.1/)
  assert.match(text, /grapevine_accusations_per_second\{kind="refutation"\} 0\.1/)
  for (const a of ['a', 'b', 'c']) assert.match(text, new RegExp(`grapevine_accusations_total\\{kind="suspicion",accuser="${a}"\\} 1`))
  assert.match(text, /grapevine_accusations_total\{kind="death",accuser="me"\} 1/)
  stop()
  assert.equal(emitter.listenerCount('event'), 0)
})

test('ten seconds later the storm is over: no accused member, rates back to 0, the totals kept', async () => {
  const { emit, scrape } = setup()
  for (const a of ['a', 'b', 'c', 'd']) emit({ type: 'suspected', member: member('x'), from: a, via: 'gossip' }, 1000)
  emit({ type: 'alive', member: member('x') }, 1100)
  assert.match(await scrape(1200), /grapevine_member_accusers\{member="x"\} 4/, 'refuted, but accused by four within the window')
  const later = await scrape(12_000)
  assert.doesNotMatch(later, /grapevine_member_accusers\{/)
  assert.match(later, /grapevine_members_accused_by_many 0/)
  assert.match(later, /grapevine_accusations_per_second\{kind="suspicion"\} 0/)
  assert.match(later, /grapevine_accusations_total\{kind="suspicion",accuser="d"\} 1/)
})
