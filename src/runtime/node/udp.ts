/**
 * The packet side of the node runtime: one `node:dgram` socket bound to the memberlist port. Every
 * datagram leaves from that socket, so a peer sees our memberlist port as the source (memberlist
 * replies to the source address of pings it gets without a source field).
 *
 * Address families: a socket bound to an IPv4 address is `udp4` and can only reach IPv4 peers; a
 * socket bound to an IPv6 address (`::` included) is `udp6`, dual-stack where the system allows, and
 * reaches IPv4 peers through their IPv4-mapped form (`::ffff:a.b.c.d`). Source addresses that arrive in
 * mapped form are reported as plain IPv4, the form the protocol core uses as a map key.
 */
import dgram from 'node:dgram'
import type { Address } from '../../core/types.js'
import type { DropReason } from '../../node/index.js'
import { maxPacketBytes } from '../../wire/limits.js'
import { isIpv4, normalizeIp } from './address.js'

export interface UdpHandlers {
  /** A datagram of at most maxPacketBytes arrived. */
  packet(from: Address, bytes: Uint8Array): void
  /** A datagram was dropped before reaching the protocol (too large, unreadable source). */
  dropped(reason: DropReason, from: Address | undefined, detail: string): void
}

/** Longest a close waits for datagrams already sent to leave. */
const CLOSE_DRAIN_MS = 500

export class UdpTransport {
  private closed = false
  /** Sends whose callback has not come yet. */
  private inFlight = 0
  private drained: (() => void) | undefined

  private constructor(
    private readonly socket: dgram.Socket,
    readonly family: 'udp4' | 'udp6',
    readonly port: number,
  ) {}

  /** Binds `host:port` (port 0 picks one). Rejects with the system error (EADDRINUSE, EADDRNOTAVAIL, …). */
  static bind(host: string, port: number, handlers: UdpHandlers): Promise<UdpTransport> {
    const family = isIpv4(host) ? 'udp4' : 'udp6'
    const socket = dgram.createSocket({ type: family, reuseAddr: false })
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.removeListener('listening', onListening)
        socket.close()
        reject(err)
      }
      const onListening = (): void => {
        socket.removeListener('error', onError)
        const transport = new UdpTransport(socket, family, socket.address().port)
        transport.listen(handlers)
        resolve(transport)
      }
      socket.once('error', onError)
      socket.once('listening', onListening)
      socket.bind({ address: host, port, exclusive: true })
    })
  }

  private listen(handlers: UdpHandlers): void {
    // A socket error after bind (ICMP-driven errors on some systems) must never crash the process.
    this.socket.on('error', (err) => handlers.dropped('socket-error', undefined, err.message))
    this.socket.on('message', (msg, rinfo) => {
      const ip = normalizeIp(rinfo.address)
      if (ip === undefined) {
        handlers.dropped('bad-source', undefined, `unreadable source address ${rinfo.address}`)
        return
      }
      const from: Address = { ip, port: rinfo.port }
      if (msg.length > maxPacketBytes) {
        handlers.dropped('too-large', from, `datagram of ${msg.length} bytes (at most ${maxPacketBytes})`)
        return
      }
      handlers.packet(from, new Uint8Array(msg.buffer, msg.byteOffset, msg.length))
    })
  }

  /**
   * Sends one datagram from the bound socket. Best effort: returns a reason when it cannot even be
   * attempted (wrong address family, closed); asynchronous send errors go to `onError`.
   */
  send(to: Address, bytes: Uint8Array, onError: (reason: string) => void): 'closed' | 'unreachable-family' | undefined {
    if (this.closed) return 'closed'
    let host = to.ip
    if (this.family === 'udp4' && !isIpv4(host)) return 'unreachable-family'
    if (this.family === 'udp6' && isIpv4(host)) host = `::ffff:${host}`
    this.inFlight++
    this.socket.send(bytes, to.port, host, (err) => {
      if (--this.inFlight === 0) this.drained?.()
      if (err) onError(err.message)
    })
    return undefined
  }

  /**
   * Closes the socket; idempotent. Datagrams already handed to `send` (a leave's last words) go out
   * first: the close waits for their callbacks, at most CLOSE_DRAIN_MS.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    const drained = new Promise<void>((resolve) => {
      if (this.inFlight === 0) return resolve()
      const timer = setTimeout(resolve, CLOSE_DRAIN_MS)
      this.drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    return drained.then(() => new Promise((resolve) => this.socket.close(() => resolve())))
  }
}
