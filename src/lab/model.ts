/**
 * The epidemic models of Demers et al. 1987, "Epidemic Algorithms for Replicated Database Maintenance",
 * on N sites with one update injected at one random site. Cycle-driven: in cycle c every site acts once
 * on the state at the start of the cycle (an update received in cycle c is passed on from cycle c + 1),
 * choosing partners uniformly among the other sites.
 *
 * Sites are indices into typed arrays, never objects:
 *   st[i]          SUSCEPTIBLE, KNOWS (infective, for rumor mongering), FRESH (received in this cycle:
 *                  still lacking the update as far as this cycle is concerned) or REMOVED (knows, lost
 *                  interest); one byte, so the random reads of partners' states stay in cache
 *   recv[i]        the cycle in which site i received the update (0 for the origin, NEVER if not yet)
 *   counter[i]     the loss-of-interest counter; flags[i] what site i's contacts did this cycle
 *   list / next    the infective sites (rumor mongering) or the sites that know (push anti-entropy)
 *
 * Anti-entropy compares databases before sending, so an update message is sent only to a partner that
 * lacks the update at the start of the cycle. A rumor mongering site sends its hot rumor on every contact
 * (push: to the partner it calls; pull: to every site that calls it), needed or not, and loses interest
 * at the end of a cycle according to --removal (see decideRemoval and the README's lab section).
 */
import { LabRng } from './lab-rng.js'

export type LabModel = 'anti-entropy' | 'rumor'
export type LabMode = 'push' | 'pull' | 'push-pull'
export type Removal = 'feedback-counter' | 'blind-counter' | 'feedback-coin' | 'blind-coin'

export const LAB_MODES: readonly LabMode[] = ['push', 'pull', 'push-pull']
export const REMOVALS: readonly Removal[] = ['feedback-counter', 'blind-counter', 'feedback-coin', 'blind-coin']

export interface ModelConfig {
  model: LabModel
  mode: LabMode
  /** Rumor mongering only. */
  removal: Removal
  /** Rumor mongering only: the counter limit, or 1/k the probability of losing interest. */
  k: number
  nodes: number
  /** Partners each acting site contacts per cycle (distinct). */
  fanout: number
  /** Most connections a site accepts per cycle as the called party; 0 = unlimited. */
  connectionLimit: number
  /** After a refused connection, how many other partners a site tries in the same cycle. */
  hunt: number
  /** Push for this many cycles, then the mode's pull side only (undefined = off). */
  pushThenPull?: number
  /** A run stops after this many cycles even if the update is still spreading. */
  maxCycles: number
}

/** One run's measurements; `curve` holds S, I, R site counts after each cycle (index 0: before cycle 1). */
export interface RunOutcome {
  residue: number
  traffic: number
  tAve: number
  tLast: number
  rounds: number
  curve: Int32Array
}

const NEVER = 0x7fffffff
const SUSCEPTIBLE = 0
const KNOWS = 1
const FRESH = 2
const REMOVED = 3
const SENT = 1
const NEEDED = 2
const UNNEEDED = 4

/** Scratch arrays for one site count, reused across runs (allocated once per worker). */
export class Arena {
  readonly st: Uint8Array
  readonly recv: Int32Array
  readonly counter: Uint8Array
  readonly flags: Uint8Array
  readonly incoming: Uint16Array
  list: Int32Array
  next: Int32Array
  order: Int32Array | undefined
  constructor(readonly nodes: number) {
    this.st = new Uint8Array(nodes)
    this.recv = new Int32Array(nodes)
    this.counter = new Uint8Array(nodes)
    this.flags = new Uint8Array(nodes)
    this.incoming = new Uint16Array(nodes)
    this.list = new Int32Array(nodes)
    this.next = new Int32Array(nodes)
  }
  /** A permutation buffer, only needed with a connection limit (the order of callers matters then). */
  permutation(): Int32Array {
    if (this.order === undefined) {
      this.order = new Int32Array(this.nodes)
      for (let i = 0; i < this.nodes; i++) this.order[i] = i
    }
    return this.order
  }
}

/** State of one run, passed to the per-mode step functions (no closures in the inner loops). */
interface Run {
  cfg: ModelConfig
  a: Arena
  rng: LabRng
  n: number
  /** Update messages sent so far. */
  messages: number
  known: number
  removed: number
  /** Infective (rumor) or knowing (push anti-entropy) sites at the start of the cycle: a.list[0..listLen). */
  listLen: number
  nextLen: number
  /** Partners picked for the current caller (fanout > 1 keeps them distinct). */
  picked: Int32Array
}

/** A uniform partner of `i` among the other n - 1 sites, distinct from the first `count` in picked. */
function partner(r: Run, i: number, count: number): number {
  for (;;) {
    let j = r.rng.below(r.n - 1)
    if (j >= i) j++
    let dup = false
    for (let p = 0; p < count; p++) if (r.picked[p] === j) dup = true
    if (!dup) return j
  }
}

/**
 * The called party for the caller's `slot`-th contact this cycle, honouring the connection limit: a
 * refused call is retried with another partner up to `hunt` times; -1 if every try was refused.
 */
function connect(r: Run, i: number, slot: number): number {
  const limit = r.cfg.connectionLimit
  for (let tries = 0; tries <= r.cfg.hunt; tries++) {
    const j = partner(r, i, slot)
    r.picked[slot] = j
    if (limit === 0) return j
    if (r.a.incoming[j] < limit) {
      r.a.incoming[j]++
      return j
    }
  }
  return -1
}

/** Site j learns the update in cycle c (if it has not already earlier in this cycle). */
function deliver(r: Run, j: number, c: number): void {
  if (r.a.st[j] === SUSCEPTIBLE) {
    r.a.st[j] = FRESH
    r.a.recv[j] = c
    r.known++
    r.a.next[r.nextLen++] = j
  }
}

function shuffle(rng: LabRng, xs: Int32Array, len: number): void {
  for (let i = len - 1; i > 0; i--) {
    const j = rng.below(i + 1)
    const t = xs[i]
    xs[i] = xs[j]
    xs[j] = t
  }
}

/** Callers in this cycle: every site, in a fresh random order when a connection limit makes order matter. */
function callerOrder(r: Run): Int32Array | undefined {
  if (r.cfg.connectionLimit === 0) return undefined
  const order = r.a.permutation()
  shuffle(r.rng, order, r.n)
  return order
}

function pushPhase(cfg: ModelConfig, c: number): boolean {
  return cfg.pushThenPull !== undefined && c <= cfg.pushThenPull
}

/** The mode in force in cycle c (first-push-then-pull switches from push to the pull side). */
function modeAt(cfg: ModelConfig, c: number): LabMode {
  if (cfg.pushThenPull === undefined) return cfg.mode
  return pushPhase(cfg, c) ? 'push' : 'pull'
}

/** The sites received in this cycle (a.next[0..nextLen)) know the update from the next cycle on. */
function settleFresh(r: Run): void {
  const { st, next } = r.a
  for (let x = 0; x < r.nextLen; x++) st[next[x]] = KNOWS
}

// ---------------------------------------------------------------- anti-entropy

/** Starts cycle c: no site received anything yet; returns the mode in force. */
function beginCycle(r: Run, c: number): LabMode {
  r.nextLen = 0
  return modeAt(r.cfg, c)
}

function antiEntropyCycle(r: Run, c: number): void {
  const { a, cfg } = r
  const st = a.st
  const mode = beginCycle(r, c)
  if (mode === 'push') {
    // Only sites that know act; a.list holds them (origin first, then in order of receipt).
    const callers = r.listLen
    if (cfg.connectionLimit > 0) shuffle(r.rng, a.list, callers)
    for (let x = 0; x < callers; x++) {
      const i = a.list[x]
      for (let f = 0; f < cfg.fanout; f++) {
        const j = connect(r, i, f)
        if (j >= 0 && st[j] !== KNOWS) {
          r.messages++
          deliver(r, j, c)
        }
      }
    }
    a.list.set(a.next.subarray(0, r.nextLen), r.listLen)
    r.listLen += r.nextLen
  } else if (cfg.fanout === 1 && cfg.connectionLimit === 0) {
    // The common case, kept lean: one partner per site, no refusals, sites in index order.
    const pushToo = mode === 'push-pull'
    const { rng, n } = r
    let messages = 0
    for (let i = 0; i < n; i++) {
      const iKnows = st[i] === KNOWS
      if (iKnows && !pushToo) continue
      let j = rng.below(n - 1)
      if (j >= i) j++
      if ((st[j] === KNOWS) !== iKnows) {
        messages++
        deliver(r, iKnows ? j : i, c)
      }
    }
    r.messages += messages
  } else {
    const order = callerOrder(r)
    const pushToo = mode === 'push-pull'
    for (let x = 0; x < r.n; x++) {
      const i = order === undefined ? x : order[x]
      const iKnows = st[i] === KNOWS
      if (iKnows && !pushToo) {
        // A site that knows still calls in pull mode, taking one of its partner's connections.
        if (cfg.connectionLimit > 0) for (let f = 0; f < cfg.fanout; f++) connect(r, i, f)
        continue
      }
      for (let f = 0; f < cfg.fanout; f++) {
        const j = connect(r, i, f)
        if (j < 0) continue
        if ((st[j] === KNOWS) !== iKnows) {
          r.messages++
          deliver(r, iKnows ? j : i, c)
        }
      }
    }
  }
  settleFresh(r)
}

// ---------------------------------------------------------------- rumor mongering

/** Site s (infective at the start of cycle c) sends its hot rumor to site t. */
function sendRumor(r: Run, s: number, t: number, c: number): void {
  r.messages++
  const a = r.a
  const ts = a.st[t]
  if (ts === SUSCEPTIBLE || ts === FRESH) {
    a.flags[s] |= SENT | NEEDED
    deliver(r, t, c)
  } else {
    a.flags[s] |= SENT | UNNEEDED
  }
}

/**
 * End of cycle c for a site that was infective at its start: does it lose interest?
 * feedback-counter: a cycle whose contacts were all unnecessary adds one to the counter, a cycle with a
 *   needed contact resets it (the paper's rule for pulls, which we apply to every mode); at k it stops.
 * feedback-coin: a cycle whose contacts were all unnecessary loses interest with probability 1/k.
 * blind-counter / blind-coin: the same on every cycle in which the site sent the rumor, needed or not.
 */
function decideRemoval(r: Run, i: number): boolean {
  const a = r.a
  const fl = a.flags[i]
  a.flags[i] = 0
  if (fl === 0) return false
  const k = r.cfg.k
  switch (r.cfg.removal) {
    case 'feedback-counter':
      if ((fl & NEEDED) !== 0) {
        a.counter[i] = 0
        return false
      }
      return ++a.counter[i] >= k
    case 'feedback-coin':
      return (fl & NEEDED) === 0 && r.rng.float() * k < 1
    case 'blind-counter':
      return ++a.counter[i] >= k
    case 'blind-coin':
      return r.rng.float() * k < 1
  }
}

function rumorCycle(r: Run, c: number): void {
  const { a, cfg } = r
  const st = a.st
  const mode = beginCycle(r, c)
  if (mode === 'push') {
    if (cfg.connectionLimit > 0) shuffle(r.rng, a.list, r.listLen)
    for (let x = 0; x < r.listLen; x++) {
      const i = a.list[x]
      for (let f = 0; f < cfg.fanout; f++) {
        const j = connect(r, i, f)
        if (j >= 0) sendRumor(r, i, j, c)
      }
    }
  } else {
    const order = callerOrder(r)
    const pushToo = mode === 'push-pull'
    for (let x = 0; x < r.n; x++) {
      const i = order === undefined ? x : order[x]
      const iInfective = pushToo && st[i] === KNOWS
      for (let f = 0; f < cfg.fanout; f++) {
        const j = connect(r, i, f)
        if (j < 0) continue
        if (iInfective) sendRumor(r, i, j, c)
        if (st[j] === KNOWS) sendRumor(r, j, i, c)
      }
    }
  }
  // The survivors of this cycle's infective sites, then the newly infected, become next cycle's list.
  const newly = r.nextLen
  let len = 0
  const out = a.list
  for (let x = 0; x < r.listLen; x++) {
    const i = out[x]
    if (decideRemoval(r, i)) {
      st[i] = REMOVED
      r.removed++
    } else {
      out[len++] = i
    }
  }
  out.set(a.next.subarray(0, newly), len)
  r.listLen = len + newly
  settleFresh(r)
}

// ---------------------------------------------------------------- one run

/** Runs one epidemic to its end with the given seed; `arena` must have `cfg.nodes` sites. */
export function runOnce(cfg: ModelConfig, seed: number, arena: Arena): RunOutcome {
  const n = cfg.nodes
  if (arena.nodes !== n) throw new Error(`arena for ${arena.nodes} sites used for ${n}`)
  if (cfg.fanout > n - 1) throw new Error(`fanout ${cfg.fanout} needs more than ${cfg.fanout} sites`)
  const a = arena
  a.st.fill(SUSCEPTIBLE)
  a.recv.fill(NEVER)
  a.counter.fill(0)
  a.flags.fill(0)
  const rng = new LabRng(seed)
  const origin = rng.below(n)
  a.recv[origin] = 0
  a.st[origin] = KNOWS
  a.list[0] = origin
  const r: Run = { cfg, a, rng, n, messages: 0, known: 1, removed: 0, listLen: 1, nextLen: 0, picked: new Int32Array(cfg.fanout) }
  const rumor = cfg.model === 'rumor'
  const curve: number[] = [n - 1, 1, 0]
  let c = 0
  for (;;) {
    const done = rumor ? r.listLen === 0 : r.known === n
    if (done || c >= cfg.maxCycles) break
    c++
    if (cfg.connectionLimit > 0) a.incoming.fill(0)
    if (rumor) rumorCycle(r, c)
    else antiEntropyCycle(r, c)
    const removed = rumor ? r.removed : 0
    curve.push(n - r.known, r.known - removed, removed)
  }
  let sum = 0
  let last = 0
  for (let i = 0; i < n; i++) {
    const t = a.recv[i]
    if (t !== NEVER) {
      sum += t
      if (t > last) last = t
    }
  }
  return {
    residue: (n - r.known) / n,
    traffic: r.messages / n,
    tAve: r.known > 1 ? sum / (r.known - 1) : 0,
    tLast: last,
    rounds: c,
    curve: Int32Array.from(curve),
  }
}
