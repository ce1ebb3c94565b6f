/**
 * Small shared vocabulary: addresses and node names.
 *
 * An address is an IP literal (IPv4 dotted quad or IPv6, never a DNS name: names are resolved by the
 * runtime before they reach the protocol) and a port. `addressKey` gives the canonical string used as a
 * map key and printed in logs: `127.0.0.1:7946` or `[::1]:7946`.
 */
export type NodeName = string

export interface Address {
  readonly ip: string
  readonly port: number
}

export function addressKey(a: Address): string {
  return a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && a.ip === b.ip
}

/** Parses `host:port` or `[v6]:port` with an IP literal host; returns undefined when malformed. */
export function parseAddress(text: string, defaultPort?: number): Address | undefined {
  let host: string
  let portText: string | undefined
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (v6) {
    host = v6[1]
    portText = v6[2]
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text // bare IPv6 without port
  } else {
    const i = text.lastIndexOf(':')
    host = i < 0 ? text : text.slice(0, i)
    portText = i < 0 ? undefined : text.slice(i + 1)
  }
  const port = portText === undefined ? defaultPort : Number(portText)
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined
  if (ipToBytes(host) === undefined) return undefined
  return { ip: host, port }
}

/** IP literal to 4 or 16 bytes; undefined when it is not an IP literal. */
export function ipToBytes(ip: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (v4) {
    const out = new Uint8Array(4)
    for (let i = 0; i < 4; i++) {
      const n = Number(v4[i + 1])
      if (n > 255) return undefined
      out[i] = n
    }
    return out
  }
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || !ip.includes(':')) return undefined
  let tail: Uint8Array | undefined
  let text = ip
  const lastColon = ip.lastIndexOf(':')
  if (ip.slice(lastColon + 1).includes('.')) {
    tail = ipToBytes(ip.slice(lastColon + 1))
    if (!tail) return undefined
    text = ip.slice(0, lastColon + 1) + '0:0'
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (s: string): number[] | undefined => {
    if (s === '') return []
    const groups = s.split(':')
    const out: number[] = []
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
      out.push(parseInt(g, 16))
    }
    return out
  }
  const head = parse(halves[0])
  const rest = halves.length === 2 ? parse(halves[1]) : []
  if (!head || !rest) return undefined
  let groups: number[]
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length
    if (fill < 1) return undefined
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest]
  } else {
    groups = head
  }
  if (groups.length !== 8) return undefined
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8
    out[2 * i + 1] = g & 0xff
  })
  if (tail) out.set(tail, 12)
  return out
}

/**
 * 4 or 16 bytes to an IP literal. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a Serf agent bound to
 * 0.0.0.0 advertises) becomes the plain IPv4 form so that it is reachable over an IPv4 socket.
 */
export function bytesToIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  if (bytes.length !== 16) return undefined
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff
  for (let i = 0; i < 10 && mapped; i++) if (bytes[i] !== 0) mapped = false
  if (mapped) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i }
    i = j
  }
  if (bestStart < 0) return groups.join(':')
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`
}
