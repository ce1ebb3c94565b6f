// Simulations of stand-in protocols (stub-protocol.ts) with exact timing, and the inputs tests drive them with.
import type { Address } from '../../../src/core/types.js'
import { Simulation } from '../../../src/runtime/sim/simulation.js'
import type { SimNode } from '../../../src/runtime/sim/node.js'
import { createStub } from './stub-protocol.js'

/** Fixed 10 ms one-way delay, no faults: arrival times are exact. */
export function fixedSim(seed = 1, extra: Partial<ConstructorParameters<typeof Simulation>[0]> = {}): Simulation {
  return new Simulation({ seed, network: { latencyMs: [10, 10] }, createProtocol: createStub, ...extra })
}

export function send(sim: Simulation, from: SimNode, to: Address, ...bytes: number[]): void {
  sim.invoke(from, (_p, _now, out) => out.send(to, Uint8Array.from(bytes)))
}

export function openStream(sim: Simulation, from: SimNode, to: Address, exchangeId: number, expectReply = true, timeoutMs = 1000, bytes: ArrayLike<number> = [1, 2, 3]): void {
  sim.invoke(from, (_p, _now, out) => out.openStream(to, Uint8Array.from(bytes), exchangeId, timeoutMs, expectReply))
}
