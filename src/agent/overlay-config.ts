/**
 * The agent's membership mode and overlay settings (read beside config.ts, which calls this once):
 *
 *   flag                      environment                       config file field
 *   --membership MODE         GRAPEVINE_MEMBERSHIP              membership (swim, the default, or hyparview)
 *   --active-view N           GRAPEVINE_ACTIVE_VIEW             overlay.hyparview.activeViewSize (default 5)
 *   --passive-view N          GRAPEVINE_PASSIVE_VIEW            overlay.hyparview.passiveViewSize (default 30)
 *   --active-walk N           GRAPEVINE_ACTIVE_WALK             overlay.hyparview.activeRandomWalkLength (ARWL, 6)
 *   --passive-walk N          GRAPEVINE_PASSIVE_WALK            overlay.hyparview.passiveRandomWalkLength (PRWL, 3)
 *   --shuffle-interval MS     GRAPEVINE_SHUFFLE_INTERVAL        overlay.hyparview.shuffleIntervalMs (10000)
 *   --keepalive-interval MS   GRAPEVINE_KEEPALIVE_INTERVAL      overlay.hyparview.keepAliveIntervalMs (1000)
 *   --keepalive-timeout MS    GRAPEVINE_KEEPALIVE_TIMEOUT       overlay.hyparview.keepAliveTimeoutMs (5000)
 *   (file only)                                                 overlay ({ hyparview, plumtree, joinTimeoutMs }: every setting)
 *
 *   flags > environment > file's overlay object ──▶ { membership, overlay } ──▶ startNode (checked there too)
 *
 * A flag or variable wins over the same setting in the file's `overlay` object. Overlay settings without
 * hyparview mode, and what needs SWIM (datacenter pools), are refused naming the fix. Network
 * coordinates come from SWIM's probes: in hyparview mode they are off.
 */
import type { MembershipMode, OverlaySettings } from '../node/index.js'
import { didYouMean } from '../core/suggest.js'

export interface RawOverlayFlags {
  membership?: string
  activeView?: string
  passiveView?: string
  activeWalk?: string
  passiveWalk?: string
  shuffleInterval?: string
  keepaliveInterval?: string
  keepaliveTimeout?: string
}

export const OVERLAY_FILE_FIELDS = ['membership', 'overlay'] as const

type Env = Readonly<Record<string, string | undefined>>

/** Flag, variable and HyParView setting of each overlay option, with the smallest value it takes. */
const OPTIONS: ReadonlyArray<readonly [keyof RawOverlayFlags, string, string, string, number]> = [
  ['activeView', '--active-view', 'GRAPEVINE_ACTIVE_VIEW', 'activeViewSize', 1],
  ['passiveView', '--passive-view', 'GRAPEVINE_PASSIVE_VIEW', 'passiveViewSize', 1],
  ['activeWalk', '--active-walk', 'GRAPEVINE_ACTIVE_WALK', 'activeRandomWalkLength', 1],
  ['passiveWalk', '--passive-walk', 'GRAPEVINE_PASSIVE_WALK', 'passiveRandomWalkLength', 0],
  ['shuffleInterval', '--shuffle-interval', 'GRAPEVINE_SHUFFLE_INTERVAL', 'shuffleIntervalMs', 1],
  ['keepaliveInterval', '--keepalive-interval', 'GRAPEVINE_KEEPALIVE_INTERVAL', 'keepAliveIntervalMs', 1],
  ['keepaliveTimeout', '--keepalive-timeout', 'GRAPEVINE_KEEPALIVE_TIMEOUT', 'keepAliveTimeoutMs', 0],
]

export interface AgentOverlayConfig {
  readonly membership: MembershipMode
  /** The overlay's settings in hyparview mode (undefined with SWIM). */
  readonly overlay: OverlaySettings | undefined
}

export function resolveOverlayConfig(
  flags: RawOverlayFlags, env: Env, file: Record<string, unknown>, fileFrom: (field: string) => string, problems: string[],
): AgentOverlayConfig {
  const modeS =
    flags.membership !== undefined ? { value: flags.membership as unknown, from: '--membership' }
    : env.GRAPEVINE_MEMBERSHIP !== undefined && env.GRAPEVINE_MEMBERSHIP !== '' ? { value: env.GRAPEVINE_MEMBERSHIP as unknown, from: 'GRAPEVINE_MEMBERSHIP' }
    : file.membership !== undefined ? { value: file.membership, from: fileFrom('membership') }
    : undefined
  let membership: MembershipMode = 'swim'
  if (modeS !== undefined) {
    if (modeS.value === 'swim' || modeS.value === 'hyparview') membership = modeS.value
    else {
      const typed = String(modeS.value)
      problems.push(`${modeS.from} ${JSON.stringify(modeS.value)}: expected swim (full membership, the default) or hyparview (partial views and Plumtree broadcasts, for clusters too large for full membership)${didYouMean(typed, ['swim', 'hyparview'])}`)
    }
  }
  const given: string[] = []
  const hyparview: Record<string, number> = {}
  for (const [key, flag, variable, setting, min] of OPTIONS) {
    const raw = flags[key] ?? (env[variable] !== undefined && env[variable] !== '' ? env[variable] : undefined)
    if (raw === undefined) continue
    const from = flags[key] !== undefined ? flag : variable
    given.push(from)
    const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(n) || n < min) {
      problems.push(`${from} ${JSON.stringify(raw)}: expected a whole number${setting.endsWith('Ms') ? ' of milliseconds' : ''} of at least ${min} (overlay.hyparview.${setting})`)
      continue
    }
    hyparview[setting] = n
  }
  let fileOverlay: Record<string, unknown> = {}
  if (file.overlay !== undefined) {
    given.push(fileFrom('overlay'))
    if (file.overlay !== null && typeof file.overlay === 'object' && !Array.isArray(file.overlay)) fileOverlay = file.overlay as Record<string, unknown>
    else problems.push(`${fileFrom('overlay')} ${JSON.stringify(file.overlay)}: expected an object like { "hyparview": { "activeViewSize": 5 }, "plumtree": { "maxPayloadBytes": 1024 } }`)
  }
  if (membership === 'swim') {
    if (given.length > 0 && modeS === undefined) problems.push(`${given[0]}: an overlay setting, used only with --membership hyparview; add --membership hyparview (or GRAPEVINE_MEMBERSHIP=hyparview) or remove it`)
    else if (given.length > 0) problems.push(`${given[0]}: an overlay setting, used only with hyparview; ${modeS!.from} says swim`)
    return { membership, overlay: undefined }
  }
  const fileHv = fileOverlay.hyparview
  const mergedHv = fileHv !== null && typeof fileHv === 'object' && !Array.isArray(fileHv) ? { ...(fileHv as Record<string, unknown>), ...hyparview } : Object.keys(hyparview).length > 0 ? hyparview : fileHv
  const overlay = { ...fileOverlay, ...(mergedHv === undefined ? {} : { hyparview: mergedHv }) } as OverlaySettings
  return { membership, overlay }
}
