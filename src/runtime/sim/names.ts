/**
 * The names of simulated nodes: `node-000`, `node-001`, …, `node-1000`. The simulation names its nodes
 * with them and scenario steps and files refer to nodes by them.
 */

/** The name of simulated node `index`: node-000, node-001, …, node-1000. */
export function nodeName(index: number): string {
  return `node-${String(index).padStart(3, '0')}`
}

/** The index of a simulated node's name (`node-042` → 42), or -1 (`node-42` is not a name). */
export function nodeIndexOf(name: string): number {
  const m = /^node-(\d{3,})$/.exec(name)
  return m === null || nodeName(Number(m[1])) !== name ? -1 : Number(m[1])
}

/** The virtual IP of simulated node `index`: 127.1.x.y with y in 1..250. */
export function nodeIp(index: number): string {
  return `127.1.${Math.floor(index / 250)}.${(index % 250) + 1}`
}

/**
 * The index whose virtual IP `ip` would be (`127.1.3.8` → 757), or -1: read from the digits, so the
 * simulator finds a packet's target without a map lookup (a tenth of its own time at 10,000 nodes).
 * The caller still checks the node it finds owns that IP.
 */
export function nodeIndexOfIp(ip: string): number {
  if (!ip.startsWith('127.1.')) return -1
  let x = 0
  let i = 6
  let c = ip.charCodeAt(i)
  for (; c >= 48 && c <= 57; c = ip.charCodeAt(++i)) x = 10 * x + c - 48
  if (i === 6 || c !== 46) return -1
  const yAt = ++i
  let y = 0
  for (c = ip.charCodeAt(i); c >= 48 && c <= 57; c = ip.charCodeAt(++i)) y = 10 * y + c - 48
  if (i === yAt || i !== ip.length || y < 1 || y > 250) return -1
  return 250 * x + y - 1
}
