// Serf's coalescing of the events handler scripts get: member changes batched (3 s from the first,
// ended early by 1 s of quiet) into one run per event type with a line per member, each member's
// newest change only and none re-announced; user events sent with coalesce keep the highest Lamport
// time per name; queries and user events without coalesce go at once. The windows run on a clock the
// tests move by hand; the scripts are real /bin/sh processes.
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { jsonLogger } from '../../src/agent/log.js'
import { MemberEventCoalescer, SERF_AGENT_COALESCE, UserEventCoalescer, coalesceTiming } from '../../src/agent/event-coalescer.js'
import { EventHandlers, parseEventHandler } from '../../src/agent/event-handlers.js'
import type { HandlerClock } from '../../src/agent/event-handlers.js'
import type { BroadcastMessage, GrapevineNode, Member, MemberEvent } from '../../src/runtime/node/start-node.js'

const member = (name: string, tags: Record<string, string> = {}, state = 'alive'): Member =>
  ({ name, address: { ip: '10.0.0.7', port: 7946 }, state, incarnation: 1, meta: new Uint8Array(0), tags }) as unknown as Member
const names = (ms: readonly Member[]): string[] => ms.map((m) => m.name)

describe('the member event coalescer, as Serf\'s', () => {
  it('holds changes until a second of quiet, at most three seconds from the first', () => {
    const c = new MemberEventCoalescer(SERF_AGENT_COALESCE)
    assert.equal(c.dueAtMs(), undefined)
    c.add('member-join', member('a'), 100)
    assert.equal(c.dueAtMs(), 1100)
    c.add('member-join', member('b'), 900)
    assert.equal(c.dueAtMs(), 1900)
    for (let t = 1500; t < 5000; t += 600) c.add('member-join', member(`x${t}`), t)
    assert.equal(c.dueAtMs(), 3100, 'a steady stream is cut at the period')
  })

  it('flushes one batch per event type, each member once with its newest change', () => {
    const c = new MemberEventCoalescer(SERF_AGENT_COALESCE)
    c.add('member-join', member('a'), 0)
    c.add('member-join', member('b'), 10)
    c.add('member-join', member('c'), 20)
    c.add('member-failed', member('b', {}, 'failed'), 30)
    const out = c.flush()
    assert.deepEqual(out.map((b) => [b.event, names(b.members)]), [['member-join', ['a', 'c']], ['member-failed', ['b']]])
    assert.equal(c.dueAtMs(), undefined, 'nothing held after a flush')
  })

  it('does not announce a member again with the event last flushed for it; an update only when it changed', () => {
    const c = new MemberEventCoalescer(SERF_AGENT_COALESCE)
    c.add('member-join', member('a', { v: '1' }), 0)
    c.flush()
    // a failed and came back within one batch: its newest change is the join already announced.
    c.add('member-failed', member('a', { v: '1' }, 'failed'), 5000)
    c.add('member-join', member('a', { v: '1' }), 5100)
    assert.deepEqual(c.flush(), [])
    c.add('member-update', member('a', { v: '2' }), 9000)
    assert.deepEqual(c.flush().map((b) => [b.event, names(b.members)]), [['member-update', ['a']]])
    c.add('member-update', member('a', { v: '2' }), 12000)
    assert.deepEqual(c.flush(), [], 'the same update twice is one')
    c.add('member-update', member('a', { v: '3' }), 15000)
    assert.equal(c.flush().length, 1, 'a new update of the same member is another')
  })

  it('scales its quiet to a shorter period', () => {
    assert.deepEqual(coalesceTiming(3000), SERF_AGENT_COALESCE)
    assert.deepEqual(coalesceTiming(300), { periodMs: 300, quiescentMs: 100 })
  })
})

describe('the user event coalescer, as Serf\'s', () => {
  it('keeps per name the events of the highest Lamport time, all of them at a tie', () => {
    const c = new UserEventCoalescer<{ name: string; lTime: number; tag: string }>(SERF_AGENT_COALESCE)
    c.add({ name: 'deploy', lTime: 5, tag: 'd5' }, 0)
    c.add({ name: 'deploy', lTime: 7, tag: 'd7' }, 10)
    c.add({ name: 'deploy', lTime: 6, tag: 'd6' }, 20)
    c.add({ name: 'restart', lTime: 2, tag: 'r2' }, 30)
    c.add({ name: 'restart', lTime: 2, tag: 'r2b' }, 40)
    assert.deepEqual(c.flush().map((e) => e.tag).sort(), ['d7', 'r2', 'r2b'])
    assert.deepEqual(c.flush(), [])
  })
})

/** A clock whose timers fire only when the test moves it. */
class ManualClock implements HandlerClock {
  private t = 0
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = []
  now(): number {
    return this.t
  }
  setTimer(fn: () => void, afterMs: number): { cancel(): void } {
    const timer = { at: this.t + afterMs, fn, live: true }
    this.timers.push(timer)
    return { cancel: () => void (timer.live = false) }
  }
  /** The due times of the timers still armed. */
  armed(): number[] {
    return this.timers.filter((x) => x.live).map((x) => x.at)
  }
  advanceTo(t: number): void {
    for (;;) {
      const next = this.timers.filter((x) => x.live && x.at <= t).sort((a, b) => a.at - b.at)[0]
      if (next === undefined) break
      this.t = next.at
      next.live = false
      next.fn()
    }
    this.t = t
  }
}

/** Enough of a node for EventHandlers: listeners and its own member. */
class FakeNode {
  readonly listeners = new Map<string, Set<(e: unknown) => void>>()
  on(kind: string, fn: (e: unknown) => void): void {
    const set = this.listeners.get(kind) ?? new Set()
    set.add(fn)
    this.listeners.set(kind, set)
  }
  off(kind: string, fn: (e: unknown) => void): void {
    this.listeners.get(kind)?.delete(fn)
  }
  emit(kind: string, e: unknown): void {
    for (const fn of this.listeners.get(kind) ?? []) fn(e)
  }
  /** A node with full membership (no overlay): the handlers take SWIM's member events. */
  overlay(): undefined {
    return undefined
  }
  localMember(): Member {
    return member('self', { role: 'web' })
  }
}

function dumpScript(dir: string): { script: string; out: string } {
  const out = join(dir, 'runs.out')
  const script = join(dir, 'dump.sh')
  writeFileSync(script, `#!/bin/sh\n{ echo "--- $SERF_EVENT $SERF_USER_EVENT $SERF_USER_LTIME"; cat; } >> '${out}'\n`)
  chmodSync(script, 0o755)
  return { script, out }
}

const runs = (out: string): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('--- ').slice(1) : [])
const userMessage = (name: string, lTime: number, coalesce: boolean): BroadcastMessage =>
  ({ id: `serf:${lTime}:${name}`, name, payload: Buffer.from(`${name}@${lTime}`), origin: null, hops: 0, via: 'serf', lTime, coalesce }) as BroadcastMessage

describe('handler scripts under coalescing', () => {
  it('three joins in quick succession run the join script once, with the agent itself and the three', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gv-coalesce-'))
    const { script, out } = dumpScript(dir)
    const node = new FakeNode()
    const clock = new ManualClock()
    const h = new EventHandlers(node as unknown as GrapevineNode, [parseEventHandler(script)], jsonLogger('silent', { write: () => undefined }), { timeoutMs: 5000, clock })
    for (const [t, name] of [[200, 'a'], [400, 'b'], [700, 'c']] as const) {
      clock.advanceTo(t)
      node.emit('member', { type: 'joined', member: member(name, { role: 'db' }) } satisfies MemberEvent)
    }
    assert.deepEqual(clock.armed(), [1700], 'flushed after a second of quiet')
    clock.advanceTo(1700)
    await h.close()
    const all = runs(out)
    assert.equal(all.length, 1, all.join('|'))
    assert.equal(all[0], 'member-join  \nself\t10.0.0.7\tweb\trole=web\na\t10.0.0.7\tdb\trole=db\nb\t10.0.0.7\tdb\trole=db\nc\t10.0.0.7\tdb\trole=db\n')
  })

  it('coalescing user events run once at the newest Lamport time; others and queries at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gv-coalesce-'))
    const { script, out } = dumpScript(dir)
    const node = new FakeNode()
    const clock = new ManualClock()
    const h = new EventHandlers(node as unknown as GrapevineNode, [parseEventHandler(`user=${script}`)], jsonLogger('silent', { write: () => undefined }), { timeoutMs: 5000, clock })
    node.emit('message', userMessage('deploy', 5, true))
    node.emit('message', userMessage('deploy', 7, true))
    node.emit('message', userMessage('deploy', 6, true))
    node.emit('message', userMessage('ping', 8, false))
    // Only the member window (the agent's own join) and the user window are armed; ping went at once.
    assert.equal(clock.armed().length, 2)
    clock.advanceTo(1000)
    await h.close()
    assert.deepEqual(runs(out).sort(), ['user deploy 7\ndeploy@7\n', 'user ping 8\nping@8\n'])
  })

  it('with coalescing off, each change runs the script at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gv-coalesce-'))
    const { script, out } = dumpScript(dir)
    const node = new FakeNode()
    const clock = new ManualClock()
    const h = new EventHandlers(node as unknown as GrapevineNode, [parseEventHandler(`member-join=${script}`)], jsonLogger('silent', { write: () => undefined }), { timeoutMs: 5000, clock, coalescePeriodMs: 0 })
    node.emit('member', { type: 'joined', member: member('a') } satisfies MemberEvent)
    node.emit('member', { type: 'joined', member: member('b') } satisfies MemberEvent)
    assert.deepEqual(clock.armed(), [])
    await h.close()
    assert.equal(runs(out).length, 3)
  })
})
