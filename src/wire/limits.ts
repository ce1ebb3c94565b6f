/**
 * Every byte and count bound of the wire layer, in one place (STYLE 8: remote input is bounded).
 *
 * Receive bounds are checked before anything is allocated for the data they cover. Send bounds are what
 * we promise memberlist 0.2.2 (serf 0.9.4) so that it neither rejects nor crashes on our output.
 * Numbers in memberlist's own source are named after it; the others say why they were chosen.
 */

/** Largest datagram read or accepted (memberlist `udpPacketBufSize`). Checked first in decodePacket. */
export const maxPacketBytes = 65536

/**
 * Packing budget for one UDP packet (memberlist `UDPBufferSize`). Not a receive limit: peers may send
 * larger datagrams up to maxPacketBytes.
 */
export const udpPacketBudgetBytes = 1400

/** Bytes of overhead a compound header adds per part (memberlist `compoundHeaderOverhead`). */
export const compoundOverheadBytes = 2

/** Largest node metadata a sender may put in alive / pushNodeState (memberlist `MetaMaxSize`). */
export const metaMaxBytes = 512

/**
 * Most parts we put in one compound message. The count byte allows 255, but memberlist 0.2.2 reads it
 * as a signed multiplication and misparses more than 127 (fixed in v0.2.4).
 */
export const maxCompoundPartsSend = 127

/** Most parts accepted in one received compound: everything the count byte can say. */
export const maxCompoundPartsReceive = 255

/**
 * Most wrappers (compound, compress) nested inside one packet below the CRC. Go senders nest at most
 * two (compress around compound); 4 leaves room without allowing decompression-bomb towers.
 */
export const maxWrapperDepth = 4

/**
 * Most messages (plus per-part errors) one packet may unwrap into. A 255-part compound is the largest
 * thing a Go sender produces; nesting and decompression could otherwise multiply it.
 */
export const maxPacketParts = 1024

/**
 * Total decompressed bytes allowed while unwrapping one UDP packet, summed over every compress wrapper in
 * it. Go senders compress a payload of at most a datagram (normally ~1400 bytes, never above
 * maxPacketBytes), so 16 × 64 KiB is generous while keeping a 64 KiB LZW bomb (LZW can expand ~1000×)
 * from costing more than a millisecond or so.
 */
export const maxDecompressedPacketBytes = 16 * maxPacketBytes

/** Most node states in one push/pull header (newest memberlist's bound, 1 << 20). Checked before allocating. */
export const maxPushPullNodes = 1_048_576

/** Largest delegate user state in a push/pull (newest memberlist: 20 MiB). */
export const maxUserStateBytes = 20 * 1024 * 1024

/** Largest reliable user message over a stream (newest memberlist: 20 MiB). */
export const maxUserMsgBytes = 20 * 1024 * 1024

/** Largest encrypted stream envelope `[10][u32 len]` (memberlist `maxPushStateBytes`, 20 MiB). */
export const maxPushStateBytes = 20 * 1024 * 1024

/** Largest decompressed stream message (newest memberlist: 40 MiB). */
export const maxDecompressedStreamBytes = 40 * 1024 * 1024

/**
 * Largest plain (uncompressed, unencrypted) stream message accepted by decodeStream and
 * streamFrameLength, and largest compressed one on the wire. Room for a 20 MiB user state plus about
 * 400,000 node states of ~100 bytes; far beyond the clusters this library targets.
 */
export const maxStreamBytes = 64 * 1024 * 1024

/**
 * Largest msgpack string field we decode (node names, error texts). Go has no limit; names are short
 * in practice and a packet bounds them anyway, this bounds them in streams.
 */
export const maxStringFieldBytes = 65535

/**
 * Largest msgpack byte field other than a compress buffer (addresses, Meta, Vsn, ack Payload). Meta is at
 * most 512 by contract and packets bound the rest; this bounds them in streams.
 */
export const maxBytesFieldBytes = 1024 * 1024

/**
 * Deepest msgpack container nesting accepted. Memberlist bodies are maps (depth 1) whose fields are at
 * most arrays of ints (depth 2, Vsn sent as an array); unknown fields from newer peers get some room.
 */
export const maxMsgpackDepth = 8

/** Length of Vsn in alive and pushNodeState: PMin, PMax, PCur, DMin, DMax, DCur. */
export const vsnBytes = 6
