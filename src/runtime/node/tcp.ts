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
 * Inbound work is bounded (every refusal is reported to `dropped` with its reason, so it is counted):
 * - at most `maxInboundStreams` connections at once; when full, a new connection takes the place of the
 *   oldest one that has not sent a byte yet (`stream-evicted-idle`: half-open connections cannot lock
 *   members out), or is closed at accept when every one is busy (`too-many-streams`);
 * - per source IP, a token bucket of `sourceBurst` connections refilled at `sourceRatePerSec`
 *   (`stream-rate-limited`), over at most `maxTrackedSources` sources;
 * - a connection must send its first byte within `firstByteTimeoutMs` and a whole request within the
 *   stream timeout (`stream-timeout`: slow senders), and at most `maxRequestBytes`.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { StreamFailure, StreamResult } from '../../core/effects.js'
import type { Address } from '../../core/types.js'
import type { DropReason } from '../../node/index.js'
import { maxPushStateBytes } from '../../wire/limits.js'
import { streamFrameLength } from '../../wire/codec.js'
import { isIpv4, normalizeIp } from './address.js'

/** Concurrent inbound streams served at once (memberlist's maxPushPullRequests is 128 too). */
export const maxInboundStreams = 128
/** Largest inbound request or reply read (memberlist's maxPushStateBytes, 20 MiB). */
export const maxRequestBytes = maxPushStateBytes
/** Time a new connection has to send its first byte: dialers write at once, so this is generous. */
export const firstByteTimeoutMs = 2_000
/**
 * Stream connections one source IP may open: a burst, then a steady rate. A member opens one push-pull
 * per push-pull interval plus TCP pings during failures; a whole loopback test cluster shares one IP,
 * so the figures are generous.
 */
export const sourceBurst = 64
export const sourceRatePerSec = 32
/** Sources the rate limiter remembers; the least recently seen is forgotten first. */
export const maxTrackedSources = 4096

/** Token buckets per source IP, bounded in size. `nowMs` is handed in, so it is testable. */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>()

  constructor(
    readonly burst = sourceBurst,
    readonly ratePerSec = sourceRatePerSec,
    readonly maxSources = maxTrackedSources,
  ) {}

  /** Takes one token for `ip`; false when its bucket is empty. */
  take(ip: string, nowMs: number): boolean {
    let b = this.buckets.get(ip)
    if (b === undefined) {
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value as string)
      b = { tokens: this.burst, atMs: nowMs }
    } else {
      this.buckets.delete(ip)
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.atMs) / 1000) * this.ratePerSec)
      b.atMs = nowMs
    }
    this.buckets.set(ip, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  get trackedSources(): number {
    return this.buckets.size
  }
}

export interface TcpHandlers {
  /** One whole request arrived (or bytes that cannot be framed: the handler's decoder reports them). Returns the reply. */
  request(from: Address, bytes: Uint8Array): Uint8Array | null
  /** An inbound stream was dropped before reaching the protocol. */
  dropped(reason: DropReason, from: Address | undefined, detail: string): void
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
  /** Inbound connections that have not sent a byte yet, oldest first: the first to make room. */
  private readonly idle = new Set<net.Socket>()
  private inbound = 0
  private closed = false
  private readonly limiter = new SourceRateLimiter()

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
    if (from === undefined) {
      this.handlers.dropped('bad-source', undefined, `unreadable peer address ${String(socket.remoteAddress)}`)
      socket.destroy()
      return
    }
    if (!this.closed && !this.limiter.take(from.ip, performance.now())) {
      this.handlers.dropped('stream-rate-limited', from, `more than ${sourceBurst} streams at once or ${sourceRatePerSec}/s from ${from.ip}`)
      socket.destroy()
      return
    }
    if (!this.closed && this.inbound >= maxInboundStreams) {
      const oldestIdle = this.idle.values().next().value as net.Socket | undefined
      if (oldestIdle !== undefined) {
        this.handlers.dropped('stream-evicted-idle', remoteOf(oldestIdle), `closed to make room: ${maxInboundStreams} inbound streams and this one had sent nothing`)
        this.release(oldestIdle)
        oldestIdle.destroy()
      }
    }
    if (this.closed || this.inbound >= maxInboundStreams) {
      this.handlers.dropped('too-many-streams', from, `more than ${maxInboundStreams} inbound streams at once`)
      socket.destroy()
      return
    }
    this.inbound++
    this.open.add(socket)
    this.idle.add(socket)
    const reader = new FrameReader()
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      clearTimeout(deadline)
      clearTimeout(firstByte)
      this.idle.delete(socket)
      socket.removeAllListeners('data')
    }
    const firstByte = setTimeout(() => {
      if (done || reader.size > 0) return
      finish()
      this.handlers.dropped('stream-timeout', from, `no byte within ${firstByteTimeoutMs} ms`)
      socket.destroy()
    }, Math.min(firstByteTimeoutMs, this.readTimeoutMs))
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
      // Closed before a whole message (by the peer or by eviction) or after the reply: either way the slot is free.
      finish()
      this.release(socket)
    })
    socket.on('end', () => {
      if (done) return
      finish()
      this.handlers.dropped('stream-truncated', from, `connection closed after ${reader.size} bytes, before a whole message`)
      socket.destroy()
    })
    socket.on('data', (chunk: Buffer) => {
      if (done) return
      this.idle.delete(socket)
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

  /** Frees an inbound connection's slot, once (eviction frees it before the socket's close event). */
  private release(socket: net.Socket): void {
    this.idle.delete(socket)
    if (this.open.delete(socket)) this.inbound--
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
