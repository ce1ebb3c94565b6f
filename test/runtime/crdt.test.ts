// node.crdt on real sockets (127.0.0.1): the replicated types through the public API, consistency
// levels over queries, and durability in a data directory. Every wait is bounded; no test asserts a duration.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GrapevineNode } from '../../src/index.js'
import { ConfigError, CrdtCommitError, CrdtConsistencyError, CrdtLimitError, CrdtStoreError } from '../../src/index.js'
import { fastNode, seedOf, shutdownAll, waitFor } from './helpers.js'

async function trio(prefix: string, dataDir?: string): Promise<GrapevineNode[]> {
  const a = await fastNode(`${prefix}0`, dataDir === undefined ? {} : { dataDir })
  const b = await fastNode(`${prefix}1`, { join: [seedOf(a)] })
  const c = await fastNode(`${prefix}2`, { join: [seedOf(a)] })
  const nodes = [a, b, c]
  await waitFor('three alive members everywhere', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 3))
  return nodes
}

test('counters, sets, registers, flags and maps written on different nodes reach every node', async () => {
  const nodes = await trio('api')
  try {
    const [a, b, c] = nodes
    const seen: string[] = []
    const off = c.crdt.subscribe('counter/requests', (ch) => seen.push(`${ch.key}:${ch.local}`))
    await a.crdt.counter('requests').increment(5)
    await b.crdt.counter('requests').increment(3)
    await c.crdt.counter('requests').decrement(1)
    await a.crdt.set('features').add('search')
    await b.crdt.set('features').add('billing')
    await c.crdt.register('leader').set('api-2')
    await b.crdt.flag('maintenance').enable()
    await a.crdt.map('config').increment('retries', 2)
    await b.crdt.map('config').set('region', 'eu')
    await waitFor('every node converged', () =>
      nodes.every((n) => n.crdt.counter('requests').value() === 7 && n.crdt.set('features').values().length === 2 && n.crdt.register('leader').value() === 'api-2' && n.crdt.flag('maintenance').value() && n.crdt.map('config').value().registers.region === 'eu'),
    )
    for (const n of nodes) {
      assert.deepEqual(n.crdt.set('features').values(), ['billing', 'search'])
      assert.ok(n.crdt.set('features').has('search'))
      assert.deepEqual(n.crdt.map('config').value(), { counters: { retries: 2 }, flags: {}, sets: {}, registers: { region: 'eu' } })
      assert.deepEqual(n.crdt.keys(), ['counter/requests', 'flag/maintenance', 'map/config', 'register/leader', 'set/features'])
    }
    await c.crdt.set('features').remove('search')
    await waitFor('the remove reached every node', () => nodes.every((n) => !n.crdt.set('features').has('search')))
    assert.ok(seen.includes('counter/requests:true') && seen.includes('counter/requests:false'), `c's subscriber saw its own and others' changes: ${seen.join(' ')}`)
    off()
    await a.crdt.counter('requests').increment()
    await waitFor('c has it', () => c.crdt.counter('requests').value() === 8)
    const n = seen.length
    await b.crdt.counter('requests').increment()
    await waitFor('c has it', () => c.crdt.counter('requests').value() === 9)
    assert.equal(seen.length, n, 'unsubscribed: no more calls')
  } finally {
    await shutdownAll(nodes)
  }
})

test('majority and all are reached with every member up; all fails with a clear error when one is down', async () => {
  const nodes = await trio('cons')
  try {
    const [a, b, c] = nodes
    await a.crdt.counter('c').increment(2, { consistency: 'majority', timeoutMs: 5000 })
    await a.crdt.counter('c').increment(1, { consistency: 'all', timeoutMs: 5000 })
    assert.equal(await b.crdt.counter('c').value({ consistency: 'all', timeoutMs: 5000 }), 3)
    // c stops without a word: it stays alive in the others' eyes until probes say otherwise.
    await c.shutdown()
    await assert.rejects(
      () => a.crdt.counter('c').increment(1, { consistency: 'all', timeoutMs: 600 }),
      (e: unknown) => e instanceof CrdtConsistencyError && /consistency 'all' not reached: 2 of 3 live members answered within 600 ms, 3 needed/.test(e.message),
    )
    assert.equal(a.crdt.counter('c').value(), 4, 'the write is applied here anyway')
    await assert.rejects(() => a.crdt.counter('c').increment(1, { consistency: 'most' as never }), ConfigError)
    await assert.rejects(() => a.crdt.counter('c').increment(1.5), RangeError)
    await assert.rejects(() => a.crdt.register('big').set('x'.repeat(70_000)), CrdtLimitError)
    assert.throws(() => a.crdt.subscribe('nope', () => {}), ConfigError)
  } finally {
    await shutdownAll(nodes)
  }
})

test('a restart from the data directory keeps its own contributions and never counts them twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-crdt-'))
  const nodes: Array<GrapevineNode | undefined> = await trio('dur', join(dir, 'a'))
  try {
    const [a, b] = nodes as GrapevineNode[]
    await a.crdt.counter('hits').increment(10)
    await a.crdt.set('s').add('x')
    await a.crdt.set('s').remove('x')
    await waitFor('b has it', () => b.crdt.counter('hits').value() === 10)
    await a.shutdown()
    const a2 = await fastNode('dur0', { dataDir: join(dir, 'a'), join: [seedOf(b)], bind: `127.0.0.1:${a.port}` })
    nodes[0] = a2
    assert.equal(a2.crdt.counter('hits').value(), 10, 'reloaded before anything was heard')
    await a2.crdt.counter('hits').increment(1)
    await a2.crdt.set('s').add('y')
    await waitFor('b took the increment after the restart', () => b.crdt.counter('hits').value() === 11 && b.crdt.set('s').has('y'))
    await waitFor('a2 converged', () => a2.crdt.counter('hits').value() === 11)
    assert.deepEqual(b.crdt.set('s').values(), ['y'], 'the removed element stays removed')
  } finally {
    await shutdownAll(nodes)
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a node with a data directory that leaves gracefully hands its counts to an heir; restarted, it takes a new replica id and nothing is lost or counted twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-crdt-'))
  const nodes: Array<GrapevineNode | undefined> = await trio('hand', join(dir, 'a'))
  try {
    const [a, b, c] = nodes as GrapevineNode[]
    await a.crdt.counter('hits').increment(10)
    await b.crdt.counter('hits').increment(5)
    await a.crdt.set('s').add('x')
    await waitFor('every node has a\'s writes', () => [b, c].every((n) => n.crdt.counter('hits').value() === 15 && n.crdt.set('s').has('x')))
    await a.leave()
    await assert.rejects(() => a.crdt.counter('hits').increment(1), /leaving and handed its replicated state to an heir/)
    await a.shutdown()
    await c.crdt.set('s').remove('x')
    await waitFor('b and c agree after the leave', () => [b, c].every((n) => n.crdt.counter('hits').value() === 15 && !n.crdt.set('s').has('x')))
    const a2 = await fastNode('hand0', { dataDir: join(dir, 'a'), join: [seedOf(b)], bind: `127.0.0.1:${a.port}` })
    nodes[0] = a2
    await a2.crdt.counter('hits').increment(1)
    await waitFor('everyone counts 10 + 5 + 1, once', () => [a2, b, c].every((n) => n.crdt.counter('hits').value() === 16))
    assert.ok(!a2.crdt.set('s').has('x'), 'the removed element stays removed')
  } finally {
    await shutdownAll(nodes)
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a write the disk refuses rejects with CrdtCommitError and never reaches a peer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-crdt-'))
  const nodes: GrapevineNode[] = await trio('eio', join(dir, 'a'))
  try {
    const [a, b] = nodes
    await a.crdt.counter('hits').increment(1)
    await waitFor('b has the first write', () => b.crdt.counter('hits').value() === 1)
    // The failing disk: the store's LMDB transaction throws, as on EIO or a full disk.
    const db = (a as unknown as { store: { db: { transactionSync: (fn: () => unknown) => unknown } } }).store.db
    const transactionSync = db.transactionSync.bind(db)
    db.transactionSync = () => {
      throw new Error('ENOSPC: no space left on device')
    }
    await assert.rejects(() => a.crdt.counter('hits').increment(100), (e: unknown) => e instanceof CrdtCommitError && /ENOSPC/.test((e as Error).message))
    assert.equal(a.crdt.counter('hits').value(), 1, 'undone here')
    db.transactionSync = transactionSync
    await a.crdt.counter('hits').increment(2)
    // Had the refused 100 spread, a's entry at b would be at least 101 and never fall back to 3.
    await waitFor('b holds 1 + 2, without the refused 100', () => b.crdt.counter('hits').value() === 3)
  } finally {
    await shutdownAll(nodes)
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a corrupt, foreign or other node\'s data file is refused with an error naming it, and left in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-crdt-'))
  try {
    mkdirSync(join(dir, 'junk'))
    writeFileSync(join(dir, 'junk', 'crdt.mdb'), Buffer.alloc(8192, 0x5a))
    await assert.rejects(() => fastNode('x', { dataDir: join(dir, 'junk') }), (e: unknown) => e instanceof CrdtStoreError && e.message.includes(join(dir, 'junk', 'crdt.mdb')) && /nothing was changed/i.test(e.message))
    assert.ok(existsSync(join(dir, 'junk', 'crdt.mdb')), 'the refused file is still there')
    const { open } = await import('lmdb')
    const foreign = open({ path: join(dir, 'foreign', 'crdt.mdb') })
    await foreign.put('hello', 'world')
    await foreign.close()
    await assert.rejects(() => fastNode('x', { dataDir: join(dir, 'foreign') }), (e: unknown) => e instanceof CrdtStoreError && /no Grapevine meta record/.test(e.message))
    const mine = await fastNode('owner', { dataDir: join(dir, 'owned') })
    await mine.crdt.counter('c').increment()
    await mine.shutdown()
    await assert.rejects(() => fastNode('intruder', { dataDir: join(dir, 'owned') }), (e: unknown) => e instanceof CrdtStoreError && /node "owner", and this node is "intruder"/.test(e.message))
    const again = await fastNode('owner', { dataDir: join(dir, 'owned') })
    assert.equal(again.crdt.counter('c').value(), 1, 'the refused starts changed nothing')
    await again.shutdown()
    await assert.rejects(() => fastNode('x', { dataDir: '' }), ConfigError)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
