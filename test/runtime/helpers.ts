// Shared helpers of the runtime tests: fast loopback options and bounded waits (never a bare sleep
// that a test then asserts on).
import type { GrapevineNode, NodeOptions } from '../../src/index.js'
import { startNode } from '../../src/index.js'

/** The local profile with short intervals, so loopback clusters converge and detect in a few seconds. */
export const FAST = { probeIntervalMs: 200, probeTimeoutMs: 80, gossipIntervalMs: 50, pushPullIntervalMs: 2000, reconnectIntervalMs: 0 } as const

export function fastNode(name: string, extra: Partial<NodeOptions> = {}): Promise<GrapevineNode> {
  return startNode({ name, bind: '127.0.0.1:0', profile: 'local', config: FAST, ...extra })
}

export function seedOf(node: GrapevineNode): string {
  return node.address.ip.includes(':') ? `[${node.address.ip}]:${node.port}` : `${node.address.ip}:${node.port}`
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` every `everyMs` until it returns true; throws naming `what` after `limitMs`. */
export async function waitFor(what: string, check: () => boolean, limitMs = 30_000, everyMs = 100, detail?: () => string): Promise<void> {
  const deadline = Date.now() + limitMs
  for (;;) {
    if (check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting until ${what}${detail ? `\n${detail()}` : ''}`)
    await sleep(everyMs)
  }
}

export function stateOf(node: GrapevineNode, name: string): string | undefined {
  return node.members().find((m) => m.name === name)?.state
}

export function view(nodes: readonly GrapevineNode[]): string {
  return nodes.map((n) => `${n.name}: ${n.members().map((m) => `${m.name}=${m.state}`).join(' ')}`).join('\n')
}

export async function shutdownAll(nodes: readonly (GrapevineNode | undefined)[]): Promise<void> {
  await Promise.all(nodes.map((n) => n?.shutdown()))
}
