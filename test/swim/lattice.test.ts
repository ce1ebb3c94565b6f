// The state lattice, exhaustively: every (state, incarnation) of a member against every message kind
// at a lower, equal and higher incarnation, for another member and for ourselves, checked against a
// reference model written from memberlist's rules (state.go aliveNode/suspectNode/deadNode).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MemberState } from '../../src/swim/events.js'
import type { PacketMessage } from '../../src/wire/messages.js'
import { alive, deliver, newNode } from '../helpers/swim-harness.js'

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left']
type Kind = 'alive' | 'suspect' | 'dead' | 'left'
const KINDS: Kind[] = ['alive', 'suspect', 'dead', 'left']

function message(kind: Kind, node: string, incarnation: number, i: number): PacketMessage {
  switch (kind) {
    case 'alive': return alive(node, incarnation, i)
    case 'suspect': return { type: 'suspect', incarnation, node, from: 'accuser' }
    case 'dead': return { type: 'dead', incarnation, node, from: 'accuser' }
    case 'left': return { type: 'dead', incarnation, node, from: node }
  }
}

/** The reference model for another member: what (state, incarnation) results. */
function expectedOther(state: MemberState, inc: number, kind: Kind, j: number): [MemberState, number] {
  switch (kind) {
    case 'alive': return j > inc ? ['alive', j] : [state, inc]
    case 'suspect':
      if (j < inc || state !== 'alive') return [state, inc]
      return ['suspect', j]
    case 'dead':
    case 'left':
      if (j < inc || state === 'dead' || state === 'left') return [state, inc]
      return [kind, j]
  }
}

test('another member: every state × message × incarnation follows memberlist precedence', () => {
  let cases = 0
  for (const state of STATES) {
    for (const kind of KINDS) {
      for (const delta of [-1, 0, 1]) {
        const { swim, out } = newNode()
        const inc = 5
        deliver(swim, out, 0, alive('x', inc, 2))
        if (state !== 'alive') deliver(swim, out, 1, message(state, 'x', inc, 2))
        assert.equal(swim.member('x')?.state, state, `setup ${state}`)
        deliver(swim, out, 2, message(kind, 'x', inc + delta, 2))
        const [es, ei] = expectedOther(state, inc, kind, inc + delta)
        const got = swim.member('x')!
        assert.deepEqual([got.state, got.incarnation], [es, ei], `${state}@${inc} + ${kind}@${inc + delta}`)
        cases++
      }
    }
  }
  assert.equal(cases, 48)
})

test('ourselves: every accusation at or above our incarnation is refuted past it; stale ones are ignored', () => {
  for (const kind of KINDS) {
    for (const delta of [-1, 0, 1, 5]) {
      const { swim, out } = newNode()
      // Raise our incarnation to 3 with two meta updates.
      swim.setMeta(Uint8Array.of(1), 0, out)
      swim.setMeta(Uint8Array.of(2), 0, out)
      const mine = swim.incarnation
      assert.equal(mine, 3)
      out.clear()
      const j = mine + delta
      // An alive about us with our exact meta and incarnation is our own echo: not a conflict.
      const msg = kind === 'alive' ? alive('me', j, 1, Uint8Array.of(2)) : message(kind, 'me', j, 1)
      deliver(swim, out, 10, msg)
      const refuted = out.events.find((e) => e.type === 'refuted')
      const shouldRefute = kind === 'alive' ? j > mine : j >= mine
      assert.equal(refuted !== undefined, shouldRefute, `${kind}@${j} against ours ${mine}`)
      if (shouldRefute) {
        assert.equal(swim.incarnation, Math.max(mine + 1, j + 1))
        assert.equal(swim.localMember().state, 'alive')
      } else {
        assert.equal(swim.incarnation, mine)
      }
    }
  }
})

test('an alive about ourselves at our incarnation but with other metadata is refuted', () => {
  const { swim, out } = newNode()
  const mine = swim.incarnation
  deliver(swim, out, 0, alive('me', mine, 1, Uint8Array.of(9, 9)))
  assert.ok(out.events.some((e) => e.type === 'refuted'))
  assert.equal(swim.incarnation, mine + 1)
})

test('dead never transitions except by a strictly newer alive', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 1, 2))
  deliver(swim, out, 0, { type: 'dead', incarnation: 1, node: 'x', from: 'a' })
  for (const m of [message('suspect', 'x', 1, 2), message('suspect', 'x', 9, 2), message('left', 'x', 9, 2), alive('x', 1, 2)]) {
    deliver(swim, out, 1, m)
    assert.equal(swim.member('x')?.state, 'dead')
  }
  deliver(swim, out, 2, alive('x', 2, 2))
  assert.equal(swim.member('x')?.state, 'alive')
})

test('a suspicion is not cleared by acks or equal alives, only by a newer incarnation', () => {
  const { swim, out } = newNode()
  deliver(swim, out, 0, alive('x', 4, 2), message('suspect', 'x', 4, 2))
  deliver(swim, out, 1, alive('x', 4, 2), { type: 'ack', seqNo: 12345, payload: null })
  assert.equal(swim.member('x')?.state, 'suspect')
  deliver(swim, out, 2, alive('x', 5, 2))
  assert.equal(swim.member('x')?.state, 'alive')
})
