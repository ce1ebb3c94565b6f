/**
 * PacketSender: the last steps of everything a Swim node puts on the wire, and their counting.
 *
 *   message ──encode──▶ [+ piggybacked broadcasts] ──compound (≤ 127 parts each)──▶ packet
 *   packet ──LZW when it helps──▶ ──CRC when the peer speaks protocol 5──▶ out.send
 *   stream message ──encode (+ LZW when compression is on)──▶ out.openStream, or the reply bytes
 *
 * Every message is counted by type (encoded size, before compression and framing) and every packet
 * and stream by wire bytes, in SwimStats. The broadcasts to piggyback come from the node (its queue,
 * then its delegate's user messages) through the `piggyback` source given at construction.
 */
import type { Address } from '../core/types.js'
import { encodeCompound, encodeCompress, encodeMessage, encodeStream } from '../wire/codec.js'
import { addCrc } from '../wire/crc32.js'
import type { PacketMessage, StreamMessage } from '../wire/messages.js'
import type { SwimConfig } from './config.js'
import type { Member } from './member.js'
import { protocolMax } from './member.js'
import type { SwimStats } from './stats.js'
import type { SwimOutbox } from './outbox.js'

/** Framing cost of a compound packet, and of each part in it (memberlist's compoundHeaderOverhead etc.). */
const COMPOUND_HEADER_OVERHEAD = 2
const COMPOUND_PART_OVERHEAD = 2
/** Packets shorter than this are never smaller after LZW plus its wrapper; skip the attempt. */
const COMPRESS_MIN_BYTES = 96
/** memberlist 0.2.2 misparses compounds of more than 127 parts. */
const MAX_COMPOUND_PARTS = 127
/**
 * LZW as the Go that builds Debian's serf 0.9.4 (1.19) writes it: a clear code first. The spec's
 * section 6 describes the older writer without it; both decode everywhere, this one is byte-identical
 * to what serf sends (checked against Go output in test/wire/golden.ts).
 */
const GO_LZW = { leadingClear: true } as const

/**
 * Broadcasts to piggyback on a packet to `dest`: each part costs its length + overheadBytes, all within
 * limitBytes. `riding`: the packet goes out anyway (a ping, an ack); false for a gossip round's packet,
 * which is sent only if something is piggybacked.
 */
export type PiggybackSource = (overheadBytes: number, limitBytes: number, out: SwimOutbox, dest: Member | undefined, riding: boolean) => Uint8Array[]

export class PacketSender {
  constructor(
    private readonly config: SwimConfig,
    private readonly stats: SwimStats,
    private readonly piggyback: PiggybackSource,
  ) {}

  /** Encodes one message and sends it, with piggybacked broadcasts when `piggyback`. */
  message(to: Address, msg: PacketMessage, dest: Member | undefined, out: SwimOutbox, piggyback: boolean): void {
    const bytes = encodeMessage(msg)
    this.stats.countOut(msg.type, bytes.length)
    if (piggyback) {
      const avail = this.config.packetBytesBudget - bytes.length - COMPOUND_HEADER_OVERHEAD - COMPOUND_PART_OVERHEAD
      const extra = avail > 0 ? this.piggyback(COMPOUND_PART_OVERHEAD, avail, out, dest, true) : []
      if (extra.length > 0) {
        this.countParts(extra)
        this.parts(to, [bytes, ...extra], dest, out)
        return
      }
    }
    this.raw(to, bytes, dest, out, undefined)
  }

  /** Sends the messages as one compound packet and nothing else (the probe's buddy-system ping). */
  compound(to: Address, msgs: readonly PacketMessage[], dest: Member | undefined, out: SwimOutbox): void {
    const parts = msgs.map((m) => encodeMessage(m))
    this.countParts(parts)
    this.raw(to, encodeCompound(parts), dest, out, undefined)
  }

  /** One gossip round: to each target, as many broadcasts as fit a packet (nothing when none are due to it). */
  gossip(targets: readonly Member[], out: SwimOutbox): void {
    const limit = this.config.packetBytesBudget - COMPOUND_HEADER_OVERHEAD
    for (const target of targets) {
      const parts = this.piggyback(COMPOUND_PART_OVERHEAD, limit, out, target, false)
      if (parts.length === 0) continue
      this.countParts(parts)
      this.parts(target.address, parts, target, out)
    }
  }

  /** The last step of every packet: compress when it helps, CRC for peers that speak protocol 5. */
  raw(to: Address, payload: Uint8Array, dest: Member | undefined, out: SwimOutbox, countAs: string | undefined): void {
    if (countAs !== undefined) this.stats.countOut(countAs, payload.length)
    let bytes = payload
    if (this.config.enableCompression && payload.length >= COMPRESS_MIN_BYTES) {
      const compressed = encodeCompress(payload, GO_LZW)
      if (compressed.length < payload.length) bytes = compressed
    }
    if (dest !== undefined && protocolMax(dest.vsn) >= 5) bytes = addCrc(bytes)
    this.stats.packetsOut++
    this.stats.bytesOut += bytes.length
    out.send(to, bytes)
  }

  /** Encodes a stream message, compressed when compression is enabled (memberlist always does then). */
  encodeStream(msg: StreamMessage, compress = this.config.enableCompression): Uint8Array {
    return encodeStream(msg, { compress, ...GO_LZW })
  }

  /** Opens a stream exchange with the encoded request. */
  stream(
    to: Address,
    type: string,
    bytes: Uint8Array,
    exchangeId: number,
    expectReply: boolean,
    out: SwimOutbox,
    timeoutMs = this.config.streamTimeoutMs,
  ): void {
    this.stats.streamsOut++
    this.stats.streamBytesOut += bytes.length
    this.stats.streamOut(type, bytes.length)
    out.openStream(to, bytes, exchangeId, timeoutMs, expectReply)
  }

  /** Counts a stream reply we are about to send back. */
  streamReply(type: string, bytes: Uint8Array): Uint8Array {
    this.stats.streamBytesOut += bytes.length
    this.stats.streamOut(type, bytes.length)
    return bytes
  }

  /**
   * Sends parts as one packet, or as several compounds of at most 127 parts each (memberlist 0.2.2
   * misparses larger compounds; newer memberlist splits them the same way), so nothing taken is lost.
   */
  private parts(to: Address, parts: readonly Uint8Array[], dest: Member | undefined, out: SwimOutbox): void {
    if (parts.length === 1) {
      this.raw(to, parts[0], dest, out, undefined)
      return
    }
    for (let i = 0; i < parts.length; i += MAX_COMPOUND_PARTS) {
      const chunk = parts.slice(i, i + MAX_COMPOUND_PARTS)
      this.raw(to, chunk.length === 1 ? chunk[0] : encodeCompound(chunk), dest, out, undefined)
    }
  }

  private countParts(parts: readonly Uint8Array[]): void {
    for (const p of parts) this.stats.countOut(MESSAGE_NAMES[p[0]] ?? 'unknown', p.length)
  }
}

const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  0: 'ping',
  1: 'indirectPing',
  2: 'ack',
  3: 'suspect',
  4: 'alive',
  5: 'dead',
  8: 'user',
  11: 'nack',
}
