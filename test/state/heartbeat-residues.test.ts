// Residue heartbeats (StateConfig.compactHeartbeats): a quiet Syn sends each heartbeat as one byte, its
// value mod 256, and the receiver rebuilds it from its own value (reconcile.ts, residueAdvance).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../../src/core/rng.js'
import { decodeStateMessage, encodedSize, encodeStateMessage, type Syn } from '../../src/state/messages.js'
import { RESIDUE_SLACK_ROUNDS, residueAdvance, StateReconciler } from '../../src/state/reconcile.js'

test('a residue Syn round-trips as one byte a heartbeat, encodedSize is exact, and it decodes apart from whole heartbeats', () => {
  const heartbeats = Array.from({ length: 40 }, (_, i) => 70_000 + i * 13)
  const whole: Syn = { kind: 'syn', windowStart: '', windowEnd: '', digests: [], summary: { hash: 2 ** 52 + 12345, heartbeats } }
  const compact: Syn = { ...whole, summary: { ...whole.summary!, residues: true } }
  const wholeBytes = encodeStateMessage(whole)
  const compactBytes = encodeStateMessage(compact)
  assert.equal(wholeBytes.length, encodedSize(whole))
  assert.equal(compactBytes.length, encodedSize(compact))
  assert.equal(wholeBytes.length - compactBytes.length, 40 * 4, 'a 5-byte heartbeat (past 65535) becomes 1 byte')
  const back = decodeStateMessage(compactBytes)
  assert.ok(back.ok && back.value.kind === 'syn')
  assert.deepEqual(back.value.summary, { hash: whole.summary!.hash, heartbeats: heartbeats.map((h) => h % 256), residues: true })
  const backWhole = decodeStateMessage(wholeBytes)
  assert.ok(backWhole.ok && backWhole.value.kind === 'syn')
  assert.deepEqual(backWhole.value.summary, whole.summary)
  // A residue list cut short is refused with a reason, never thrown.
  const cut = decodeStateMessage(compactBytes.subarray(0, compactBytes.length - 3))
  assert.ok(!cut.ok && cut.error.reason === 'truncated')
})

test('residueAdvance takes a forward distance the elapsed rounds allow, and nothing from a residue behind or too far ahead', () => {
  const round = 1000
  // [held, residue, sinceMs, expected]
  const cases: Array<[number, number, number, number]> = [
    [300, 300 % 256, 500, 0], // same value
    [300, 301 % 256, 500, 1], // the next heartbeat
    [255, 0, 500, 1], // across the wrap
    [300, 298 % 256, 500, 0], // the sender is behind: says nothing
    [300, (300 + 40) % 256, 1_000, 0], // 40 ahead after one round: more than 1 + slack
    [300, (300 + 40) % 256, 10_000, 40], // 40 ahead after ten rounds: within 10 + slack
    [300, (300 + 127) % 256, 600_000, 127], // the largest forward distance
    [300, (300 + 128) % 256, 600_000, 0], // half the modulus: ambiguous, nothing
    [300, (300 - 130 + 256) % 256, 1_000, 0], // a sender 130 behind reads as 126 ahead: the time bound refuses it
  ]
  for (const [held, residue, sinceMs, expected] of cases) {
    assert.equal(residueAdvance(held, residue, sinceMs, round), expected, `held ${held}, residue ${residue}, ${sinceMs} ms`)
  }
  assert.equal(residueAdvance(300, (300 + RESIDUE_SLACK_ROUNDS) % 256, 0, round), RESIDUE_SLACK_ROUNDS, 'the slack alone')
})

/** Three reconcilers: `owner` ticks, `sender` and `receiver` hold it; all know each other from scratch. */
function trio(): { owner: StateReconciler; sender: StateReconciler; receiver: StateReconciler } {
  const mk = (self: string, seed: number): StateReconciler => new StateReconciler({ self, generation: 1, rng: new SeededRng(seed) })
  const owner = mk('owner', 1)
  const sender = mk('sender', 2)
  const receiver = mk('receiver', 3)
  for (const a of [owner, sender, receiver]) for (const b of [owner, sender, receiver]) if (a !== b) b.mergeFullState(a.fullState(), 0)
  return { owner, sender, receiver }
}

test('a receiver more than 127 heartbeats behind takes no residue, and the next whole-value Syn (one in 16) catches it up', () => {
  const { owner, sender, receiver } = trio()
  for (let i = 0; i < 200; i++) owner.tick(1000 * (i + 1))
  let now = 200_000
  sender.mergeFullState(owner.fullState(), now) // the sender is current, the receiver 200 behind
  const held = (): number => receiver.state.node('owner')!.heartbeat
  assert.equal(held(), 0)
  let residueSyns = 0
  for (let i = 0; i < 16; i++) {
    now += 500
    const syn = sender.startRound('receiver', now)
    assert.ok(syn.summary !== undefined, 'a quiet window goes compact')
    const decoded = decodeStateMessage(encodeStateMessage(syn))
    assert.ok(decoded.ok && decoded.value.kind === 'syn')
    receiver.handle('sender', decoded.value, now)
    if (syn.summary.residues === true) {
      residueSyns++
      if (held() === 0) continue
    }
    break
  }
  assert.ok(residueSyns < 16, 'at most 15 residue Syns before a whole one')
  assert.equal(held(), 200, 'caught up to the owner’s heartbeat')
  // From then on residues carry it: one more round at the owner, one more heartbeat here.
  owner.tick(now)
  sender.mergeFullState(owner.fullState(), now)
  for (let i = 0; i < 2; i++) receiver.handle('sender', sender.startRound('receiver', now + 1000 + i), now + 1000 + i)
  assert.equal(held(), 201)
})
