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
import type { Agent } from '../../src/agent/agent.js'
import { gossipAddress, startTestAgent, stopAll, url, waitFor } from './helpers.js'

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

test('after a real crash, the agent\'s /metrics lists the suspicions and the death by accuser, and the accused member\'s accusers', { timeout: 60_000 }, async () => {
  const agents: Agent[] = []
  try {
    for (const name of ['m1', 'm2', 'm3', 'm4']) agents.push(await startTestAgent(name, agents.length === 0 ? {} : { join: [gossipAddress(agents[0])] }))
    await waitFor('four alive everywhere', () => agents.every((a) => a.node.members().filter((m) => m.state === 'alive').length === 4), 20_000)
    await agents[3].stop({ leave: false })
    await waitFor('m1 holds m4 failed', () => agents[0].node.members().find((m) => m.name === 'm4')?.state === 'dead', 20_000)
    const text = await (await fetch(url(agents[0], '/metrics'))).text()
    const suspicions = [...text.matchAll(/^grapevine_accusations_total\{kind="suspicion",accuser="(m\d)"[^}]*\} (\d+)$/gm)]
    assert.ok(suspicions.length >= 1, `a suspicion counted with its accuser:\n${text.split('\n').filter((l) => l.includes('accus')).join('\n')}`)
    assert.ok(suspicions.every(([, by]) => ['m1', 'm2', 'm3'].includes(by)), 'every accuser is a survivor')
    assert.match(text, /^grapevine_accusations_total\{kind="death",accuser="m[123]"[^}]*\} 1$/m, 'the dead declaration, by a survivor')
    const accusers = /^grapevine_member_accusers\{member="m4"[^}]*\} (\d+)$/m.exec(text)
    assert.ok(accusers !== null && Number(accusers[1]) >= 1, 'm4 is listed with its accusers within the last 10 s')
  } finally {
    await stopAll(agents)
  }
})
