// A scripted stand-in for Swim, to test the simulator's mechanics (pause, crash, streams, ordering)
// independently of SWIM's behaviour. It records every input with its virtual time; tests program its
// reactions through hooks. Packets it sends are tiny byte arrays, not memberlist messages.
import type { StreamResult } from '../../../src/core/effects.js'
import type { Address } from '../../../src/core/types.js'
import type { MemberInfo } from '../../../src/swim/events.js'
import type { SwimTimer } from '../../../src/swim/timers.js'
import type { ProtocolOptions, SimOutbox, SimProtocol } from '../../../src/runtime/sim/protocol.js'

export type Input =
  | { kind: 'start'; at: number }
  | { kind: 'join'; at: number; seeds: string[] }
  | { kind: 'leave'; at: number }
  | { kind: 'timer'; at: number; timer: SwimTimer }
  | { kind: 'packet'; at: number; from: string; bytes: number[] }
  | { kind: 'streamRequest'; at: number; from: string; bytes: number[] }
  | { kind: 'streamReply'; at: number; exchangeId: number; result: string }

export class StubProtocol implements SimProtocol {
  readonly name: string
  readonly address: Address
  readonly inputs: Input[] = []
  readonly options: ProtocolOptions
  healthScore = 0
  shutDown = false
  /** Called on every timer; default: nothing. */
  onTimer: ((timer: SwimTimer, now: number, out: SimOutbox) => void) | undefined
  /** Called on every packet; default: nothing. */
  onPacket: ((from: Address, bytes: Uint8Array, now: number, out: SimOutbox) => void) | undefined
  /** Reply to a stream request; default: echo the request's bytes reversed. */
  replyTo: (bytes: Uint8Array) => Uint8Array | null = (b) => Uint8Array.from(b).reverse()
  private joinSeq = 0

  constructor(options: ProtocolOptions) {
    this.options = options
    this.name = options.name
    this.address = options.address
  }

  start(nowMs: number, _out: SimOutbox): void {
    this.inputs.push({ kind: 'start', at: nowMs })
  }
  join(seeds: Address[], nowMs: number, _out: SimOutbox): number {
    this.inputs.push({ kind: 'join', at: nowMs, seeds: seeds.map((s) => `${s.ip}:${s.port}`) })
    return ++this.joinSeq
  }
  leave(nowMs: number, out: SimOutbox): void {
    this.inputs.push({ kind: 'leave', at: nowMs })
    out.schedule({ kind: 'leaveTimeout', epoch: 0 }, 100)
  }
  handlePacket(from: Address, bytes: Uint8Array, nowMs: number, out: SimOutbox): void {
    this.inputs.push({ kind: 'packet', at: nowMs, from: from.ip, bytes: [...bytes] })
    this.onPacket?.(from, bytes, nowMs, out)
  }
  handleStreamRequest(from: Address, bytes: Uint8Array, nowMs: number, _out: SimOutbox): Uint8Array | null {
    this.inputs.push({ kind: 'streamRequest', at: nowMs, from: from.ip, bytes: [...bytes] })
    return this.replyTo(bytes)
  }
  handleStreamReply(exchangeId: number, result: StreamResult, nowMs: number, _out: SimOutbox): void {
    this.inputs.push({ kind: 'streamReply', at: nowMs, exchangeId, result: result.ok ? `ok:${[...result.bytes].join(',')}` : result.error })
  }
  handleTimer(timer: SwimTimer, nowMs: number, out: SimOutbox): void {
    this.inputs.push({ kind: 'timer', at: nowMs, timer })
    if (timer.kind === 'leaveTimeout') {
      out.emit({ type: 'leaveCompleted', timedOut: true })
      return
    }
    this.onTimer?.(timer, nowMs, out)
  }
  members(): MemberInfo[] {
    return []
  }
  shutdown(): void {
    this.shutDown = true
  }

  of<K extends Input['kind']>(kind: K): Array<Extract<Input, { kind: K }>> {
    return this.inputs.filter((i): i is Extract<Input, { kind: K }> => i.kind === kind)
  }
}

export const createStub = (options: ProtocolOptions): StubProtocol => new StubProtocol(options)

export function stubOf(node: { protocol: unknown }): StubProtocol {
  return node.protocol as StubProtocol
}
