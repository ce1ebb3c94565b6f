/**
 * The node's `membership` and `overlay` settings: which membership the composed node runs (SWIM, the
 * default, or HyParView + Plumtree for clusters too large for full membership) and the overlay's
 * protocol settings, checked once with every problem named with its fix.
 *
 *   NodeSettings.membership / .overlay / .serf / .coordinates ──resolveOverlaySettings──▶ ResolvedOverlay | problems
 */
import { ConfigError } from '../core/errors.js'
import { DEFAULT_HYPARVIEW_CONFIG, DEFAULT_PLUMTREE_CONFIG, resolveHyParViewConfig, resolvePlumtreeConfig } from '../overlay/config.js'
import { didYouMean } from '../core/suggest.js'
import type { HyParViewConfig, PlumtreeConfig } from '../overlay/config.js'

export type MembershipMode = 'swim' | 'hyparview'

/** The overlay's settings (used with `membership: 'hyparview'`). */
export interface OverlaySettings {
  /** HyParView over its defaults (active view 5, passive 30, walks 6 and 3, shuffle every 10 s, keep-alive 1 s / 5 s). */
  readonly hyparview?: Partial<HyParViewConfig>
  /** Plumtree over its defaults (payloads up to 1024 bytes, IHAVE every 50 ms, GRAFT after 200 ms). */
  readonly plumtree?: Partial<PlumtreeConfig>
  /** How long join() waits for a first neighbour before it reports that no seed answered. Default 5000. */
  readonly joinTimeoutMs?: number
}

export interface ResolvedOverlay {
  readonly hyparview: HyParViewConfig
  readonly plumtree: PlumtreeConfig
  readonly joinTimeoutMs: number
}

export interface OverlayInput {
  readonly membership?: unknown
  readonly overlay?: unknown
  readonly serf?: unknown
  readonly coordinates?: unknown
  readonly membershipOnly?: unknown
}

/**
 * Checks `membership` and `overlay`; adds each problem to `problems`. Returns the mode and, in
 * hyparview mode, the resolved overlay (undefined in SWIM mode or when something is wrong).
 */
export function resolveOverlaySettings(o: OverlayInput, problems: string[]): { readonly membership: MembershipMode; readonly overlay: ResolvedOverlay | undefined } {
  const membership = o.membership ?? 'swim'
  if (membership !== 'swim' && membership !== 'hyparview') {
    problems.push(`membership: expected 'swim' (full membership, the default) or 'hyparview' (partial views and Plumtree broadcasts, for very large clusters), got ${JSON.stringify(o.membership)}`)
    return { membership: 'swim', overlay: undefined }
  }
  const given = o.overlay ?? {}
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    problems.push(`overlay: expected { hyparview?: {...}, plumtree?: {...}, joinTimeoutMs? }, got ${JSON.stringify(o.overlay)}`)
    return { membership, overlay: undefined }
  }
  const s = given as OverlaySettings
  for (const k of Object.keys(s)) {
    if (k !== 'hyparview' && k !== 'plumtree' && k !== 'joinTimeoutMs') problems.push(`overlay.${k}: not an option${didYouMean(k, ['hyparview', 'plumtree', 'joinTimeoutMs'])}; the options are hyparview, plumtree, joinTimeoutMs`)
  }
  if (membership === 'swim') {
    if (o.overlay !== undefined) problems.push(`overlay: only used with membership: 'hyparview'; add membership: 'hyparview' or remove overlay`)
    return { membership, overlay: undefined }
  }
  if (o.serf === true) problems.push(`serf: Serf's protocol rides on SWIM and cannot run with membership: 'hyparview'; remove serf: true or use membership: 'swim'`)
  if (o.coordinates === true) problems.push(`coordinates: network coordinates come from SWIM's probes and cannot run with membership: 'hyparview'; remove coordinates: true`)
  if (o.membershipOnly === true) problems.push(`membershipOnly: SWIM alone; with membership: 'hyparview' the node always runs Plumtree; remove membershipOnly`)
  const joinTimeoutMs = s.joinTimeoutMs ?? 5000
  if (typeof joinTimeoutMs !== 'number' || !Number.isInteger(joinTimeoutMs) || joinTimeoutMs < 1 || joinTimeoutMs > 600_000) {
    problems.push(`overlay.joinTimeoutMs: expected an integer number of milliseconds in [1, 600000], got ${JSON.stringify(s.joinTimeoutMs)}`)
  }
  let hyparview: HyParViewConfig | undefined
  let plumtree: PlumtreeConfig | undefined
  for (const [section, defaults] of [['hyparview', DEFAULT_HYPARVIEW_CONFIG], ['plumtree', DEFAULT_PLUMTREE_CONFIG]] as const) {
    const v: unknown = s[section]
    if (v === undefined) continue
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      problems.push(`overlay.${section}: expected an object of ${section} settings like { ${Object.keys(defaults)[0]}: ${JSON.stringify(Object.values(defaults)[0])} }, got ${JSON.stringify(v)}`)
      return { membership, overlay: undefined }
    }
    const known = Object.keys(defaults)
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) problems.push(`overlay.${section}.${k}: not a ${section} setting${didYouMean(k, known)}; the settings are ${known.join(', ')}`)
    }
  }
  try {
    hyparview = resolveHyParViewConfig(s.hyparview ?? {})
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    problems.push(...e.problems.map((p) => `overlay.hyparview.${p}`))
  }
  try {
    plumtree = resolvePlumtreeConfig(s.plumtree ?? {})
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    problems.push(...e.problems.map((p) => `overlay.plumtree.${p}`))
  }
  if (hyparview === undefined || plumtree === undefined || problems.length > 0) return { membership, overlay: undefined }
  return { membership, overlay: Object.freeze({ hyparview, plumtree, joinTimeoutMs }) }
}

/** What each operation that needs full membership is told to use instead in hyparview mode. */
const INSTEAD: Readonly<Record<string, string>> = {
  'user events': 'use broadcasts (node.broadcast, `grapevine broadcast`), which Plumtree delivers to every node',
  queries: 'no query can reach every member and count their answers here; ask through a broadcast and answer with broadcasts, or run membership: \'swim\'',
  'consistency levels': "use consistency 'local' (the default): the write spreads over sampled overlay peers and anti-entropy",
  'tags (they ride on SWIM\'s member records)': 'give the information as cluster state (node.state.set, `grapevine kv`) instead',
}

/**
 * The error for an operation that needs full membership (Serf's user events and queries, CRDT
 * consistency levels) on a node with membership: 'hyparview'. Nothing changed when it is thrown.
 */
export function hyparviewRefusal(what: string): ConfigError {
  const instead = INSTEAD[what] ?? "run the node with membership: 'swim' for this"
  return new ConfigError([`membership: 'hyparview': ${what} need full membership (Serf rides on SWIM), and this node knows only its overlay neighbours (a partial view); ${instead}`])
}
