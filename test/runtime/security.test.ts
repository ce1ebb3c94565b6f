// Encryption on real loopback sockets: a running plaintext cluster switches to encryption without losing
// a member (memberlist's verify-incoming / verify-outgoing steps), keys rotate while it runs, and a node
// with a wrong key, no key or another label cannot join or inject anything (its traffic is counted).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { GrapevineNode, MemberEvent } from '../../src/index.js'
import { JoinError } from '../../src/index.js'
import { SeededRng } from '../../src/core/rng.js'
import { formatKey } from '../../src/wire/keyring.js'
import { fastNode, seedOf, shutdownAll, stateOf, view, waitFor } from './helpers.js'
import type { DropReason } from '../../src/swim/events.js'

const rng = new SeededRng(11)
const K1 = formatKey(rng.bytes(32))
const K2 = formatKey(rng.bytes(16))
const K3 = formatKey(rng.bytes(32))

function allAlive(nodes: readonly GrapevineNode[]): boolean {
  return nodes.every((n) => nodes.every((m) => stateOf(n, m.name) === 'alive'))
}

/** Waits until every node has received `packets` more datagrams: the protocol ran a while under the current setting. */
async function rounds(nodes: readonly GrapevineNode[], packets = 30): Promise<void> {
  const start = nodes.map((n) => n.stats().packetsIn)
  await waitFor(`${packets} more packets at every node`, () => nodes.every((n, i) => n.stats().packetsIn >= start[i] + packets), 30_000)
}

function drops(n: GrapevineNode, reason: DropReason): number {
  return n.stats().dropped.get(reason) ?? 0
}

test('a running plaintext cluster switches to encryption, then rotates keys, without losing a member', { timeout: 120_000 }, async () => {
  const nodes: GrapevineNode[] = []
  const failures: string[] = []
  try {
    for (let i = 0; i < 4; i++) nodes.push(await fastNode(`sw-${i}`, i === 0 ? {} : { join: [seedOf(nodes[0])] }))
    for (const n of nodes) n.on('member', (e: MemberEvent) => void (e.type === 'failed' || e.type === 'left' ? failures.push(`${n.name}: ${e.member.name} ${e.type}`) : undefined))
    await waitFor('all alive in plaintext', () => allAlive(nodes), 30_000, 100, () => view(nodes))

    // Step 1: install the key, still sending plaintext and accepting both.
    for (const n of nodes) {
      n.setEncryptionVerify({ incoming: false, outgoing: false })
      n.installKey(K1)
    }
    await rounds(nodes)
    // Step 2: send encrypted, one node after the other; the rest still read both.
    for (const n of nodes) {
      n.setEncryptionVerify({ outgoing: true })
      await rounds(nodes, 10)
    }
    await rounds(nodes)
    // Step 3: require encryption.
    for (const n of nodes) n.setEncryptionVerify({ incoming: true })
    await rounds(nodes)
    assert.deepEqual(failures, [], view(nodes))
    assert.ok(allAlive(nodes), view(nodes))
    for (const n of nodes) {
      const e = n.encryption()
      assert.equal(e.encrypting, true)
      assert.equal(drops(n, 'decrypt-failed'), 0, `${n.name} dropped packets during the switch`)
      assert.equal(drops(n, 'not-encrypted'), 0, `${n.name} dropped streams during the switch`)
      assert.match(e.primary ?? '', /^sha256:[0-9a-f]{16}$/)
      assert.ok(!JSON.stringify(e).includes(K1), 'the status must not show the key')
    }

    // A plaintext node cannot join now.
    await assert.rejects(fastNode('plain', { join: [seedOf(nodes[1])] }), (e: unknown) => e instanceof JoinError && /encrypt/i.test(e.message))

    // Rotation: install K2 everywhere, use it everywhere, remove K1 everywhere.
    for (const n of nodes) n.installKey(K2)
    await rounds(nodes, 10)
    for (const n of nodes) {
      n.useKey(K2)
      await rounds(nodes, 10)
    }
    for (const n of nodes) assert.throws(() => n.removeKey(K2), /primary/)
    for (const n of nodes) n.removeKey(K1)
    await rounds(nodes)
    assert.deepEqual(failures, [], view(nodes))
    assert.ok(allAlive(nodes), view(nodes))
    for (const n of nodes) assert.equal(drops(n, 'decrypt-failed'), 0, `${n.name} dropped packets during the rotation`)
    assert.equal(nodes[0].exportKeys().length, 1)
    assert.equal(nodes[0].exportKeys()[0], K2)
  } finally {
    await shutdownAll(nodes)
  }
})

test('a node with a wrong key, no key or another label can neither join nor inject', { timeout: 120_000 }, async () => {
  const nodes: GrapevineNode[] = []
  const outsiders: GrapevineNode[] = []
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(await fastNode(`in-${i}`, { encryption: { keys: [K1, K2] }, label: 'blue', ...(i === 0 ? {} : { join: [seedOf(nodes[0])] }) }))
    }
    await waitFor('the keyed cluster forms', () => allAlive(nodes), 30_000, 100, () => view(nodes))
    const cases: Array<[string, Parameters<typeof fastNode>[1], RegExp]> = [
      ['wrong-key', { encryption: { keys: [K3] }, label: 'blue' }, /decrypt-failed/],
      ['no-key', { label: 'blue' }, /encrypt/],
      // Another label: the cluster closes the stream without a word (memberlist does the same).
      ['other-label', { encryption: { keys: [K1] }, label: 'green' }, /reset/],
      ['no-label', { encryption: { keys: [K1] } }, /reset/],
    ]
    for (const [name, opts, why] of cases) {
      const before = nodes[0].stats().decodeErrors
      const beforeTotal = [...before.values()].reduce((a, b) => a + b, 0)
      await assert.rejects(fastNode(name, { ...opts, join: [seedOf(nodes[0])] }), (e: unknown) => e instanceof JoinError && why.test(e.message), name)
      // It runs on, probing and gossiping at the cluster by address: nothing of it gets in.
      const outsider = await fastNode(`${name}-2`, opts)
      outsiders.push(outsider)
      await outsider.join([seedOf(nodes[1])]).catch(() => undefined)
      const after = [...nodes[0].stats().decodeErrors.values()].reduce((a, b) => a + b, 0)
      assert.ok(after > beforeTotal, `${name}: its stream was not counted at in-0`)
    }
    await rounds(nodes)
    for (const n of nodes) {
      assert.deepEqual(n.members().map((m) => m.name).sort(), ['in-0', 'in-1', 'in-2'], `${n.name} let an outsider in`)
    }
    assert.ok(allAlive(nodes), view(nodes))
    for (const o of outsiders) assert.deepEqual(o.members().map((m) => m.name), [o.name], `${o.name} learned members`)
  } finally {
    await shutdownAll([...outsiders, ...nodes])
  }
})

test('a label alone separates clusters, on packets and on streams', { timeout: 60_000 }, async () => {
  const nodes: GrapevineNode[] = []
  try {
    nodes.push(await fastNode('l-0', { label: 'red' }))
    nodes.push(await fastNode('l-1', { label: 'red', join: [seedOf(nodes[0])] }))
    await waitFor('the labelled pair forms', () => allAlive(nodes), 30_000, 100, () => view(nodes))
    const plain = await fastNode('l-plain')
    nodes.push(plain)
    await assert.rejects(plain.join([seedOf(nodes[0])]), (e: unknown) => e instanceof JoinError)
    await rounds(nodes.slice(0, 2))
    assert.ok(drops(nodes[0], 'label-mismatch') > 0)
    for (const n of nodes.slice(0, 2)) assert.ok(!n.members().some((m) => m.name === 'l-plain'), view(nodes))
    assert.equal(nodes[0].encryption().label, 'red')
    assert.equal(nodes[0].encryption().encrypting, false)
  } finally {
    await shutdownAll(nodes)
  }
})
