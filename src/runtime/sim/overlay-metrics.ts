/**
 * Graph measures of an overlay, the HyParView paper's: how many live nodes hold a full active view,
 * how many active links are symmetric, connected components, isolated nodes, the average clustering
 * coefficient, the average shortest path (BFS from sampled sources) and the in-degree histogram.
 *
 *   active views of the live nodes ──▶ adjacency (CSR: Int32Array offsets + targets) ──▶ measures
 *
 * The graph is directed (a ──▶ b when b is in a's active view). Clustering, components and paths use
 * it as HyParView uses it for broadcast: undirected (an edge where either end holds the other), since
 * a message crosses a link in both directions.
 */
import { SeededRng } from '../../core/rng.js'

export interface OverlayGraphInput {
  /** Node count (ids 0..n-1). */
  readonly n: number
  readonly isAlive: (i: number) => boolean
  /** The active view of node i as node indexes. */
  readonly activeOf: (i: number) => readonly number[]
  /** The configured active view size. */
  readonly activeViewSize: number
}

export interface OverlayReport {
  readonly liveNodes: number
  readonly activeSize: { readonly mean: number; readonly min: number; readonly max: number }
  /** Live nodes whose active view holds exactly activeViewSize live peers. */
  readonly fractionAtActiveSize: number
  /** Directed live links a ──▶ b for which b ──▶ a also holds. */
  readonly symmetricFraction: number
  readonly components: number
  /** Size of the largest component over the live nodes. */
  readonly largestComponentFraction: number
  /** Live nodes with no live neighbour. */
  readonly isolated: number
  readonly clustering: number
  readonly avgShortestPath: number
  /** inDegreeHistogram[d] = live nodes held in the active views of exactly d live nodes. */
  readonly inDegreeHistogram: number[]
}

interface Csr {
  readonly offsets: Int32Array
  readonly targets: Int32Array
}

function undirected(input: OverlayGraphInput): Csr {
  const { n } = input
  const sets: Array<Set<number>> = new Array(n)
  for (let i = 0; i < n; i++) sets[i] = new Set()
  for (let i = 0; i < n; i++) {
    if (!input.isAlive(i)) continue
    for (const j of input.activeOf(i)) {
      if (j === i || !input.isAlive(j)) continue
      sets[i].add(j)
      sets[j].add(i)
    }
  }
  const offsets = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + sets[i].size
  const targets = new Int32Array(offsets[n])
  for (let i = 0; i < n; i++) {
    let k = offsets[i]
    for (const j of sets[i]) targets[k++] = j
  }
  return { offsets, targets }
}

export function measureOverlay(input: OverlayGraphInput, options: { pathSources?: number; seed?: number } = {}): OverlayReport {
  const { n } = input
  let live = 0
  let sum = 0
  let min = Infinity
  let max = 0
  let full = 0
  let links = 0
  let symmetric = 0
  const inDegree = new Int32Array(n)
  const views: Array<Set<number> | undefined> = new Array(n)
  for (let i = 0; i < n; i++) if (input.isAlive(i)) views[i] = new Set(input.activeOf(i).filter((j) => input.isAlive(j)))
  for (let i = 0; i < n; i++) {
    const v = views[i]
    if (v === undefined) continue
    live++
    sum += v.size
    min = Math.min(min, v.size)
    max = Math.max(max, v.size)
    if (v.size === input.activeViewSize) full++
    for (const j of v) {
      links++
      inDegree[j]++
      if (views[j]?.has(i)) symmetric++
    }
  }
  const g = undirected(input)
  // Components (BFS over live nodes).
  const comp = new Int32Array(n).fill(-1)
  let components = 0
  let largest = 0
  let isolated = 0
  const queue = new Int32Array(n)
  for (let s = 0; s < n; s++) {
    if (views[s] === undefined || comp[s] >= 0) continue
    if (g.offsets[s + 1] === g.offsets[s]) isolated++
    let head = 0
    let tail = 0
    queue[tail++] = s
    comp[s] = components
    while (head < tail) {
      const u = queue[head++]
      for (let k = g.offsets[u]; k < g.offsets[u + 1]; k++) {
        const w = g.targets[k]
        if (comp[w] < 0) {
          comp[w] = components
          queue[tail++] = w
        }
      }
    }
    largest = Math.max(largest, tail)
    components++
  }
  // Average local clustering coefficient (nodes of degree < 2 count as 0, the usual convention).
  let clusteringSum = 0
  const mark = new Int32Array(n).fill(-1)
  for (let u = 0; u < n; u++) {
    if (views[u] === undefined) continue
    const a = g.offsets[u]
    const b = g.offsets[u + 1]
    const d = b - a
    if (d < 2) continue
    for (let k = a; k < b; k++) mark[g.targets[k]] = u
    let triangles = 0
    for (let k = a; k < b; k++) {
      const v = g.targets[k]
      for (let m = g.offsets[v]; m < g.offsets[v + 1]; m++) if (mark[g.targets[m]] === u) triangles++
    }
    clusteringSum += triangles / (d * (d - 1))
  }
  // Average shortest path from sampled sources to every node they reach.
  const liveIds: number[] = []
  for (let i = 0; i < n; i++) if (views[i] !== undefined) liveIds.push(i)
  const rng = new SeededRng(options.seed ?? 1)
  const sources = rng.sample(liveIds, Math.min(options.pathSources ?? 100, liveIds.length))
  const dist = new Int32Array(n)
  let pathSum = 0
  let pathCount = 0
  for (const s of sources) {
    dist.fill(-1)
    let head = 0
    let tail = 0
    queue[tail++] = s
    dist[s] = 0
    while (head < tail) {
      const u = queue[head++]
      for (let k = g.offsets[u]; k < g.offsets[u + 1]; k++) {
        const w = g.targets[k]
        if (dist[w] < 0) {
          dist[w] = dist[u] + 1
          pathSum += dist[w]
          pathCount++
          queue[tail++] = w
        }
      }
    }
  }
  const histogram: number[] = []
  for (let i = 0; i < n; i++) {
    if (views[i] === undefined) continue
    const d = inDegree[i]
    while (histogram.length <= d) histogram.push(0)
    histogram[d]++
  }
  return {
    liveNodes: live,
    activeSize: { mean: live === 0 ? 0 : sum / live, min: live === 0 ? 0 : min, max },
    fractionAtActiveSize: live === 0 ? 0 : full / live,
    symmetricFraction: links === 0 ? 1 : symmetric / links,
    components,
    largestComponentFraction: live === 0 ? 0 : largest / live,
    isolated,
    clustering: live === 0 ? 0 : clusteringSum / live,
    avgShortestPath: pathCount === 0 ? 0 : pathSum / pathCount,
    inDegreeHistogram: histogram,
  }
}
