// Small expectation helpers for driving one Swim node by hand (after foca's expect_* macros).
import assert from 'node:assert/strict'
import { CollectingOutbox } from '../../src/core/effects.js'
import { SeededRng } from '../../src/core/rng.js'
import type { Address } from '../../src/core/types.js'
import { resolveConfig, type SwimConfig } from '../../src/swim/config.js'
import type { SwimEvent } from '../../src/swim/events.js'
import { Swim } from '../../src/swim/swim.js'
import type { SwimTimer } from '../../src/swim/timers.js'
import { decodePacket, encodeMessage } from '../../src/wire/codec.js'
import type { AliveMsg, PacketMessage } from '../../src/wire/messages.js'

export type Out = CollectingOutbox<SwimTimer, SwimEvent>
export const VSN = Uint8Array.of(1, 5, 2, 2, 5, 5)

export function addr(i: number): Address {
  return { ip: `127.0.0.${i}`, port: 7946 }
}

export function newNode(name = 'me', i = 1, config: Partial<SwimConfig> = {}, seed = 1): { swim: Swim; out: Out } {
  const swim = new Swim({ name, address: addr(i), config: resolveConfig(config), rng: new SeededRng(seed) })
  const out: Out = new CollectingOutbox()
  swim.start(0, out)
  out.clear()
  return { swim, out }
}

export function alive(node: string, incarnation: number, i: number, meta: Uint8Array | null = null): AliveMsg {
  return { type: 'alive', incarnation, node, addr: Uint8Array.of(127, 0, 0, i), port: 7946, meta, vsn: VSN }
}

/** Delivers messages as one packet per message from a fixed peer. */
export function deliver(swim: Swim, out: Out, nowMs: number, ...msgs: PacketMessage[]): void {
  for (const m of msgs) swim.handlePacket(addr(99), encodeMessage(m), nowMs, out)
}

/** Every message in every packet the node sent, decoded. */
export function sentMessages(out: Out): Array<{ to: Address; msg: PacketMessage }> {
  const all: Array<{ to: Address; msg: PacketMessage }> = []
  for (const p of out.packets) {
    const { messages, errors } = decodePacket(p.bytes)
    assert.deepEqual(errors, [], 'the node sent an undecodable packet')
    for (const msg of messages) all.push({ to: p.to, msg })
  }
  return all
}

export function expectSent(out: Out, type: PacketMessage['type'], to?: Address): PacketMessage {
  const found = sentMessages(out).find((s) => s.msg.type === type && (to === undefined || (s.to.ip === to.ip && s.to.port === to.port)))
  assert.ok(found, `expected a ${type} to be sent${to ? ` to ${to.ip}:${to.port}` : ''}`)
  return found.msg
}

export function expectTimer<K extends SwimTimer['kind']>(out: Out, kind: K): { timer: Extract<SwimTimer, { kind: K }>; afterMs: number } {
  const t = out.timers.find((x) => x.timer.kind === kind)
  assert.ok(t, `expected a ${kind} timer`)
  return t as { timer: Extract<SwimTimer, { kind: K }>; afterMs: number }
}

export function expectEvent<T extends SwimEvent['type']>(out: Out, type: T): Extract<SwimEvent, { type: T }> {
  const e = out.events.find((x) => x.type === type)
  assert.ok(e, `expected a ${type} event; got ${out.events.map((x) => x.type).join(', ') || 'none'}`)
  return e as Extract<SwimEvent, { type: T }>
}

export function rejectEvent(out: Out, type: SwimEvent['type']): void {
  assert.ok(!out.events.some((x) => x.type === type), `did not expect a ${type} event`)
}
