/**
 * The stream side of the node runtime (`node:net`), memberlist's TCP exchanges:
 *
 *   server: accept ── read until streamFrameLength says one whole message (deadline streamTimeoutMs)
 *           ── handler(from, bytes) ── write the reply, if any ── close
 *   client: connect ── write ── (expectReply) read one framed message ── close; deadline timeoutMs
 *           for the whole exchange, as memberlist's SetDeadline(TCPTimeout)
 *
 * Unencrypted memberlist streams carry no length prefix, so messages are framed by parsing (the codec's
 * streamFrameLength) instead of waiting for EOF: Serf keeps its side open until it has our reply.
 * Inbound work is bounded: at most `maxInboundStreams` connections at once (more are closed at
 * accept) and at most `maxRequestBytes` per request.
 */
import net from 'node:net'
import type { StreamFailure, StreamResult } from '../../core/effects.js'
import type { Address } from '../../core/types.js'
import { maxPushStateBytes } from '../../wire/limits.js'
import { streamFrameLength } from '../../wire/codec.js'
import { isIpv4, normalizeIp } from './address.js'

/** Concurrent inbound streams served at once (memberlist's maxPushPullRequests is 128 too). */
export const maxInboundStreams = 128
/** Largest inbound request or reply read (memberlist's maxPushStateBytes, 20 MiB). */
export const maxRequestBytes = maxPushStateBytes

export interface TcpHandlers {
  /** One whole request arrived (or bytes that cannot be framed: the handler's decoder reports them). Returns the reply. */
  request(from: Address, bytes: Uint8Array): Uint8Array | null
  /** An inbound stream was dropped before reaching the protocol. */
  dropped(reason: string, from: Address | undefined, detail: string): void
}

/** Reads framed messages from a socket: accumulates chunks and asks the codec whether one is complete. */
class FrameReader {
  private chunks: Buffer[] = []
  private total = 0

  get size(): number {
    return this.total
  }

  /** Adds a chunk; returns the whole message, 'more', or 'error' (bytes that can never frame: returned as is). */
  push(chunk: Buffer): { kind: 'message' | 'unframeable'; bytes: Uint8Array } | { kind: 'more' } | { kind: 'too-large' } {
    this.chunks.push(chunk)
    this.total += chunk.length
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.total)
    this.chunks = [buf]
    const frame = streamFrameLength(buf)
    if (frame.status === 'complete') return { kind: 'message', bytes: new Uint8Array(buf.buffer, buf.byteOffset, frame.length) }
    if (frame.status === 'error') return { kind: 'unframeable', bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.length) }
    if (this.total > maxRequestBytes) return { kind: 'too-large' }
    return { kind: 'more' }
  }
}

function remoteOf(socket: net.Socket): Address | undefined {
  const ip = socket.remoteAddress === undefined ? undefined : normalizeIp(socket.remoteAddress)
  return ip === undefined || socket.remotePort === undefined ? undefined : { ip, port: socket.remotePort }
}

export class TcpTransport {
  private readonly open = new Set<net.Socket>()
  private inbound = 0
  private closed = false

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly readTimeoutMs: number,
    private readonly handlers: TcpHandlers,
  ) {}

  /** Listens on `host:port` (port 0 picks one). Rejects with the system error. */
  static listen(host: string, port: number, readTimeoutMs: number, handlers: TcpHandlers): Promise<TcpTransport> {
    const server = net.createServer({ pauseOnConnect: false })
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.close()
        reject(err)
      }
      server.once('error', onError)
      server.listen({ host, port, exclusive: true, ipv6Only: false }, () => {
        server.removeListener('error', onError)
        const addr = server.address() as net.AddressInfo
        const transport = new TcpTransport(server, addr.port, readTimeoutMs, handlers)
        server.on('connection', (s) => transport.accept(s))
        server.on('error', (err) => handlers.dropped('socket-error', undefined, err.message))
        resolve(transport)
      })
    })
  }

  private accept(socket: net.Socket): void {
    const from = remoteOf(socket)
    if (this.closed || this.inbound >= maxInboundStreams) {
      this.handlers.dropped('too-many-streams', from, `more than ${maxInboundStreams} inbound streams at once`)
      socket.destroy()
      return
    }
    if (from === undefined) {
      this.handlers.dropped('bad-source', undefined, `unreadable peer address ${String(socket.remoteAddress)}`)
      socket.destroy()
      return
    }
    this.inbound++
    this.open.add(socket)
    const reader = new FrameReader()
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      clearTimeout(deadline)
      socket.removeAllListeners('data')
    }
    const deadline = setTimeout(() => {
      if (done) return
      finish()
      this.handlers.dropped('stream-timeout', from, `no whole message within ${this.readTimeoutMs} ms (${reader.size} bytes read)`)
      socket.destroy()
    }, this.readTimeoutMs)
    socket.on('error', () => {
      // A reset mid-request: nothing to report to the protocol, the peer will retry or give up.
      if (!done) this.handlers.dropped('stream-reset', from, 'connection reset before a whole message')
      finish()
    })
    socket.on('close', () => {
      finish()
      this.open.delete(socket)
      this.inbound--
    })
    socket.on('end', () => {
      if (done) return
      finish()
      this.handlers.dropped('stream-truncated', from, `connection closed after ${reader.size} bytes, before a whole message`)
      socket.destroy()
    })
    socket.on('data', (chunk: Buffer) => {
      if (done) return
      const r = reader.push(chunk)
      if (r.kind === 'more') return
      finish()
      if (r.kind === 'too-large') {
        this.handlers.dropped('too-large', from, `stream request above ${maxRequestBytes} bytes`)
        socket.destroy()
        return
      }
      // Whole message, or bytes that cannot be framed: the protocol decodes and counts them either way.
      let reply: Uint8Array | null = null
      try {
        reply = this.handlers.request(from, r.bytes)
      } finally {
        if (reply !== null && !this.closed) socket.end(reply)
        else socket.end()
      }
    })
  }

  /**
   * Opens a stream exchange and reports exactly once. `expectReply` false: success once the bytes are
   * handed to the kernel and the connection closes cleanly.
   */
  exchange(to: Address, bytes: Uint8Array, timeoutMs: number, expectReply: boolean, report: (result: StreamResult) => void): void {
    if (this.closed) return
    const socket = net.connect({ host: to.ip, port: to.port, family: isIpv4(to.ip) ? 4 : 6 })
    this.open.add(socket)
    const reader = new FrameReader()
    let done = false
    const settle = (result: StreamResult): void => {
      if (done) return
      done = true
      clearTimeout(deadline)
      socket.destroy()
      if (!this.closed) report(result)
    }
    const fail = (error: StreamFailure): void => settle({ ok: false, error })
    const deadline = setTimeout(() => fail('timeout'), timeoutMs)
    socket.on('close', () => {
      this.open.delete(socket)
      fail('reset')
    })
    socket.on('error', (err: NodeJS.ErrnoException) => fail(failureOf(err.code)))
    socket.on('connect', () => {
      socket.write(bytes, (err) => {
        if (err) fail('reset')
        else if (!expectReply) {
          socket.end()
          settle({ ok: true, bytes: new Uint8Array(0) })
        }
      })
    })
    if (!expectReply) return
    socket.on('data', (chunk: Buffer) => {
      const r = reader.push(chunk)
      if (r.kind === 'more') return
      if (r.kind === 'too-large') fail('reset')
      else settle({ ok: true, bytes: r.bytes.slice() })
    })
    socket.on('end', () => fail('reset'))
  }

  /** Stops listening and destroys every open connection; idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    for (const s of this.open) s.destroy()
    this.open.clear()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

function failureOf(code: string | undefined): StreamFailure {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ETIMEDOUT':
      return 'timeout'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
    case 'ENOTFOUND':
      return 'unreachable'
    default:
      return 'reset'
  }
}
