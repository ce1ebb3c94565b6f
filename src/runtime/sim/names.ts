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
