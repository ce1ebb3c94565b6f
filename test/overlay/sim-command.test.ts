// `grapevine sim --membership hyparview`: flags parse or are refused by name, and a seeded run of the
// composed node's overlay mode reports the overlay and broadcast fields, per broadcast too, the same
// for the same seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFail, parseOverlaySimFlags, runOverlaySimCommand } from '../../src/cli/overlay-sim-command.js'
import { runOverlayScenario, gossipIdOf } from '../../src/runtime/sim/overlay-scenario.js'
import { encodeOverlayMessage } from '../../src/overlay/messages.js'
import { UsageError } from '../../src/core/errors.js'

function usage(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e))
    return e.message
  }
  assert.fail('expected a UsageError')
}

test('--fail is FRACTION@TIME with a fraction strictly between 0 and 1', () => {
  assert.deepEqual(parseFail('0.5@60s'), { fraction: 0.5, atMs: 60_000 })
  assert.match(usage(() => parseFail('1@60s')), /--fail: expected FRACTION@TIME like 0.5@60s/)
  assert.match(usage(() => parseFail('0.5')), /got "0.5"/)
  assert.match(usage(() => parseFail('0.5@soon')), /--fail/)
})

test('SWIM-only flags are refused by name, and broadcasts need a duration past the warm-up', () => {
  assert.match(usage(() => parseOverlaySimFlags({ membership: 'hyparview', crash: ['3@10s'] })), /^--crash: a SWIM option; .*--fail FRACTION@TIME/)
  assert.match(usage(() => parseOverlaySimFlags({ membership: 'hyparview', lifeguard: false })), /^--no-lifeguard/)
  assert.match(usage(() => parseOverlaySimFlags({ membership: 'hyparview', nodes: '100', duration: '10s', broadcasts: '1' })), /^--duration: broadcasts start after .*50\.99s/)
  assert.match(usage(() => parseOverlaySimFlags({ membership: 'hyparview', nodes: '100', duration: '60s', fail: ['0.5@70s'] })), /^--fail: the time 70s is not within/)
  const c = parseOverlaySimFlags({ membership: 'hyparview', nodes: '100', seed: '7', duration: '70s', broadcasts: '2', fail: ['0.3@65s'], keepaliveInterval: '0s' }, () => 1)
  assert.equal(c.scenario.nodes, 100)
  assert.deepEqual(c.scenario.overlay?.hyparview, { shuffleIntervalMs: 10_000, keepAliveIntervalMs: 60_000, keepAliveTimeoutMs: 0 })
  assert.equal(c.replay, 'grapevine sim --membership hyparview --nodes 100 --seed 7 --duration 70s --broadcasts 2 --fail 0.3@65s --keepalive-interval 0s')
})

test('a GOSSIP is told from control messages and charged to its own broadcast by id', () => {
  const id = '00112233445566778899aabbccddeeff'
  assert.equal(gossipIdOf(encodeOverlayMessage({ kind: 'gossip', from: '127.1.0.5:7946', id, hops: 2, payload: Uint8Array.of(1) })), id)
  assert.equal(gossipIdOf(encodeOverlayMessage({ kind: 'ihave', from: '127.1.0.5:7946', entries: [{ id, hops: 1 }] })), undefined)
})

test('a seeded run of 200 nodes reports one symmetric overlay and full-reliability broadcasts, per broadcast, the same each time', () => {
  const run = () =>
    runOverlayScenario({ seed: 5, nodes: 200, durationMs: 2000 + 15_000 + 5000, joinSpacingMs: 10, warmupMs: 2000 + 15_000, broadcastsPerSec: 1, overlay: { hyparview: { shuffleIntervalMs: 3000 } } })
  const r = run()
  assert.equal(r.overlay.liveNodes, 200)
  assert.equal(r.overlay.components, 1)
  assert.equal(r.overlay.isolated, 0)
  assert.equal(r.overlay.symmetricFraction, 1)
  assert.ok(r.overlay.fractionAtActiveSize >= 0.85, String(r.overlay.fractionAtActiveSize))
  assert.equal(r.broadcast.count, 5)
  assert.equal(r.broadcast.perBroadcast.length, 5)
  for (const b of r.broadcast.perBroadcast) {
    assert.equal(b.reliability, 1)
    assert.ok(b.payloadMessages >= 199, `${b.payloadMessages} payload messages`)
    assert.ok(b.ldh >= 2)
  }
  // After the first broadcast the tree is built: the later ones cost about one payload per node.
  assert.ok(r.broadcast.perBroadcast.slice(1).every((b) => b.rmr < 0.05), JSON.stringify(r.broadcast.perBroadcast.map((b) => b.rmr)))
  assert.deepEqual(run().broadcast, r.broadcast)
})

test('with half the nodes crashed, the overlay heals to one component and broadcasts again reach every live node', () => {
  const r = runOverlayScenario({
    seed: 6, nodes: 200, durationMs: 40_000, warmupMs: 30_000, broadcastsPerSec: 0.5, fail: [{ fraction: 0.5, atMs: 20_000 }],
    overlay: { hyparview: { shuffleIntervalMs: 3000, keepAliveIntervalMs: 500, keepAliveTimeoutMs: 2000 } },
  })
  assert.equal(r.liveNodes, 100)
  assert.equal(r.overlay.components, 1)
  assert.equal(r.overlay.symmetricFraction, 1)
  assert.ok(r.neighborDown.timeout > 0)
  for (const b of r.broadcast.perBroadcast) assert.equal(b.reliability, 1)
})

test('the command prints the report as JSON with the overlay and broadcast fields and exits 0', async () => {
  let out = ''
  let err = ''
  const code = await runOverlaySimCommand({ membership: 'hyparview', nodes: '60', seed: '3', duration: '55s', broadcasts: '1', json: true }, { out: (s) => (out += s), err: (s) => (err += s) })
  assert.equal(code, 0, err)
  const r = JSON.parse(out)
  for (const k of ['activeSize', 'fractionAtActiveSize', 'symmetricFraction', 'components', 'isolated', 'clustering', 'avgShortestPath', 'inDegreeHistogram']) assert.ok(k in r.overlay, k)
  for (const k of ['reliability', 'rmr', 'ldh', 'payloadMessages', 'controlMessages', 'perBroadcast']) assert.ok(k in r.broadcast, k)
  assert.deepEqual(Object.keys(r.broadcast.perBroadcast[0]).sort(), ['atMs', 'controlMessages', 'ldh', 'payloadMessages', 'reliability', 'rmr'])
  assert.ok(r.cost.speedup > 0 && r.cost.wallMs > 0)
  assert.match(r.replay, /^grapevine sim --membership hyparview --nodes 60 --seed 3/)
  const bad = await runOverlaySimCommand({ membership: 'mesh' }, { out: () => {}, err: (s) => (err = s) })
  assert.equal(bad, 2)
  assert.match(err, /--membership: expected 'swim' \(the default\) or 'hyparview', got "mesh"/)
})
