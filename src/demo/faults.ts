/**
 * Demo-only fault injection, for the dashboard's chaos controls (partition a group, add packet loss).
 *
 * Preloaded (`node --import`) only into the agents that `grapevine demo` starts, next to the watchdog;
 * a `grapevine agent` started any other way never loads it, and there is no flag, route or variable that
 * would. The demo writes one JSON line per change on the agent's stdin (the pipe only the demo holds):
 *
 *   {"faults":{"block":["127.0.0.1:7947"],"loss":0.2}}
 *
 * `block`: gossip addresses this agent no longer sends to (UDP datagrams dropped, TCP connects left
 * hanging until the agent's own timeout, as behind a firewall that drops). The demo blocks both sides of
 * a partition, so nothing crosses it either way. `loss`: the probability that each outgoing datagram is
 * dropped. Everything else on stdin is ignored.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import { createInterface } from 'node:readline'

let blocked = new Set<string>()
let loss = 0

const originalSend = dgram.Socket.prototype.send
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]): void {
  // The agent calls send(bytes, port, host, callback).
  const [, port, host, callback] = args
  if (typeof port === 'number' && typeof host === 'string' && (blocked.has(`${host}:${port}`) || (loss > 0 && Math.random() < loss))) {
    if (typeof callback === 'function') queueMicrotask(() => (callback as (e: Error | null, n: number) => void)(null, 0))
    return
  }
  return (originalSend as (...a: unknown[]) => void).apply(this, args)
} as typeof dgram.Socket.prototype.send

const originalConnect = net.connect
net.connect = function (...args: unknown[]): net.Socket {
  const o = args[0] as { host?: string; port?: number } | undefined
  if (typeof o === 'object' && o !== null && blocked.has(`${o.host}:${o.port}`)) return new net.Socket() // never connects
  return (originalConnect as (...a: unknown[]) => net.Socket)(...args)
} as typeof net.connect

createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  let msg: { faults?: { block?: unknown; loss?: unknown } }
  try {
    msg = JSON.parse(line) as typeof msg
  } catch {
    return
  }
  const f = msg.faults
  if (f === undefined) return
  if (Array.isArray(f.block)) blocked = new Set(f.block.filter((a): a is string => typeof a === 'string'))
  if (typeof f.loss === 'number' && f.loss >= 0 && f.loss <= 1) loss = f.loss
})

export {}
