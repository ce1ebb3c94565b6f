/**
 * The agent's datacenter and WAN pool settings (read beside config.ts, which calls this once):
 *
 *   flag                   environment                  config file field
 *   --datacenter DC        GRAPEVINE_DATACENTER         datacenter (LAN tag dc=DC; needed by --server)
 *   --server               GRAPEVINE_SERVER             server (run the WAN pool too)
 *   --wan-bind HOST:PORT   GRAPEVINE_WAN_BIND           wanBind (the WAN pool's port; servers only)
 *   --wan-advertise H:P    GRAPEVINE_WAN_ADVERTISE      wanAdvertise
 *   --join-wan ADDR (rep.) GRAPEVINE_JOIN_WAN (commas)  joinWan (servers of other datacenters)
 *   --flood-interval MS    GRAPEVINE_FLOOD_INTERVAL     floodIntervalMs (default 60000)
 *   --disable-coordinates  GRAPEVINE_DISABLE_COORDINATES disableCoordinates (Serf's disable_coordinates)
 *   --disable-coordinate-echo  GRAPEVINE_DISABLE_COORDINATE_ECHO  disableCoordinateEcho (Serf's coordinate
 *                          updates: a probed peer does not learn the RTT its prober measured)
 *   (file only)                                         wanSwim: the WAN pool's SWIM settings over the
 *                                                       `wan` profile, per field, like { "probeIntervalMs": 3000 }
 *
 * The WAN pool's keyring (servers): kept beside the agent's keyring file, `keyring.json` → `keyring.wan.json`
 * (Consul keeps local.keyring and remote.keyring). When that file exists it gives the WAN pool's keys;
 * otherwise the WAN pool starts with the agent's keys and the file is written at start.
 *
 * Problems are added to the caller's list, each naming where the value came from.
 */
import { parseHostPort, isUnspecified } from '../runtime/node/address.js'
import { datacenterProblem } from '../pools/names.js'
import { ConfigError, resolveConfig } from '../node/index.js'
import type { SwimConfig } from '../node/index.js'
import { withSuggestion } from '../core/suggest.js'

export interface AgentPoolConfig {
  readonly datacenter: string
  readonly server: boolean
  /** The WAN pool's bind address (servers). */
  readonly wanBind: string
  readonly wanAdvertise: string | undefined
  readonly joinWan: readonly string[]
  readonly floodIntervalMs: number
  /** The WAN pool's SWIM settings over the `wan` profile (config file field wanSwim). */
  readonly wanSwim: Partial<SwimConfig>
  /** Where the WAN pool's keyring is kept (servers with a keyring file). */
  readonly wanKeyringFile: string | undefined
  /** The WAN pool's keys from that file, primary first; undefined: the agent's keys. */
  readonly wanKeys: readonly string[] | undefined
}

/** The WAN keyring file beside the agent's: `keyring.json` → `keyring.wan.json`, `keyring` → `keyring.wan`. */
export function wanKeyringPath(keyringFile: string): string {
  const m = /^(.*[^/.])(\.[^./]+)$/.exec(keyringFile)
  return m === null ? `${keyringFile}.wan` : `${m[1]}.wan${m[2]}`
}

export interface RawPoolFlags {
  datacenter?: string
  server?: boolean
  wanBind?: string
  wanAdvertise?: string
  joinWan?: string[]
  floodInterval?: string
  disableCoordinates?: boolean
  disableCoordinateEcho?: boolean
}

export const POOL_FILE_FIELDS = ['datacenter', 'server', 'wanBind', 'wanAdvertise', 'joinWan', 'floodIntervalMs', 'disableCoordinates', 'disableCoordinateEcho', 'wanSwim'] as const

/** Default WAN port, as Serf's and Consul's WAN pool (8302). */
export const DEFAULT_WAN_BIND = '0.0.0.0:8302'

type Env = Readonly<Record<string, string | undefined>>

export function resolvePoolConfig(
  flags: RawPoolFlags, env: Env, file: Record<string, unknown>, fileFrom: (field: string) => string, problems: string[],
  keyring: { readonly file: string | undefined; readonly read: (path: string) => string[] | undefined } = { file: undefined, read: () => undefined },
): { readonly pools: AgentPoolConfig | undefined; readonly coordinates: boolean; readonly coordinateEcho: boolean } {
  const pick = (flag: string, flagValue: unknown, envName: string, field: string): { value: unknown; from: string } | undefined => {
    if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) return { value: flagValue, from: flag }
    const e = env[envName]
    if (e !== undefined && e !== '') return { value: e, from: envName }
    if (file[field] !== undefined) return { value: file[field], from: fileFrom(field) }
    return undefined
  }
  const bool = (s: ReturnType<typeof pick>): boolean => {
    if (s === undefined) return false
    if (s.value === true || s.value === 'true' || s.value === '1') return true
    if (s.value === false || s.value === 'false' || s.value === '0') return false
    problems.push(`${s.from} ${JSON.stringify(s.value)}: expected true or false`)
    return false
  }
  const coordinates = !bool(pick('--disable-coordinates', flags.disableCoordinates, 'GRAPEVINE_DISABLE_COORDINATES', 'disableCoordinates'))
  const coordinateEcho = !bool(pick('--disable-coordinate-echo', flags.disableCoordinateEcho, 'GRAPEVINE_DISABLE_COORDINATE_ECHO', 'disableCoordinateEcho'))
  const dcS = pick('--datacenter', flags.datacenter, 'GRAPEVINE_DATACENTER', 'datacenter')
  const server = bool(pick('--server', flags.server, 'GRAPEVINE_SERVER', 'server'))
  const wanBindS = pick('--wan-bind', flags.wanBind, 'GRAPEVINE_WAN_BIND', 'wanBind')
  const wanAdvS = pick('--wan-advertise', flags.wanAdvertise, 'GRAPEVINE_WAN_ADVERTISE', 'wanAdvertise')
  const joinS = pick('--join-wan', flags.joinWan, 'GRAPEVINE_JOIN_WAN', 'joinWan')
  const floodS = pick('--flood-interval', flags.floodInterval, 'GRAPEVINE_FLOOD_INTERVAL', 'floodIntervalMs')
  const wanSwimS = file.wanSwim === undefined ? undefined : { value: file.wanSwim, from: fileFrom('wanSwim') }
  if (dcS === undefined) {
    if (server) problems.push(`--server: a server needs its datacenter; add --datacenter DC, like --datacenter dc1`)
    for (const s of [wanBindS, wanAdvS, joinS, floodS, wanSwimS]) if (s !== undefined) problems.push(`${s.from}: only for a server of a datacenter; add --server --datacenter DC`)
    return { pools: undefined, coordinates, coordinateEcho }
  }
  const dcProblem = datacenterProblem(dcS.value, dcS.from)
  if (dcProblem !== undefined) problems.push(dcProblem)
  if (!server) for (const s of [wanBindS, wanAdvS, joinS, wanSwimS]) if (s !== undefined) problems.push(`${s.from}: only servers run the WAN pool; add --server, or remove it`)
  const wanBind = typeof wanBindS?.value === 'string' ? wanBindS.value : DEFAULT_WAN_BIND
  if (wanBindS !== undefined && (typeof wanBindS.value !== 'string' || parseHostPort(wanBindS.value) === undefined)) {
    problems.push(`${wanBindS.from} ${JSON.stringify(wanBindS.value)}: expected HOST:PORT with an IP literal, like 0.0.0.0:8302`)
  }
  let wanAdvertise: string | undefined
  if (wanAdvS !== undefined) {
    const a = typeof wanAdvS.value === 'string' ? parseHostPort(wanAdvS.value, parseHostPort(wanBind)?.port) : undefined
    if (a === undefined || isUnspecified(a.ip)) problems.push(`${wanAdvS.from} ${JSON.stringify(wanAdvS.value)}: expected HOST[:PORT] with a reachable IP literal, like 203.0.113.5:8302`)
    else wanAdvertise = wanAdvS.value as string
  }
  let joinWan: string[] = []
  if (joinS !== undefined) {
    const v = joinS.value
    if (typeof v === 'string') joinWan = v.split(',').map((x) => x.trim()).filter((x) => x.length > 0)
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0)) joinWan = (v as string[]).flatMap((x) => x.split(',').map((y) => y.trim()).filter((y) => y.length > 0))
    else problems.push(`${joinS.from} ${JSON.stringify(v)}: expected "HOST:PORT" addresses of servers in other datacenters, like 203.0.113.9:8302`)
  }
  let floodIntervalMs = 60_000
  if (floodS !== undefined) {
    const n = typeof floodS.value === 'number' ? floodS.value : typeof floodS.value === 'string' && /^\d+$/.test(floodS.value) ? Number(floodS.value) : NaN
    if (Number.isSafeInteger(n) && n >= 1000) floodIntervalMs = n
    else problems.push(`${floodS.from} ${JSON.stringify(floodS.value)}: expected milliseconds ≥ 1000 between flood joins, like 60000`)
  }
  let wanSwim: Partial<SwimConfig> = {}
  if (wanSwimS !== undefined) {
    const v = wanSwimS.value
    if (v === null || typeof v !== 'object' || Array.isArray(v)) problems.push(`${wanSwimS.from} ${JSON.stringify(v)}: expected an object of the WAN pool's SWIM settings like { "probeIntervalMs": 3000 }`)
    else {
      wanSwim = v as Partial<SwimConfig>
      try {
        resolveConfig(wanSwim, 'wan')
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e
        problems.push(...e.problems.map((p) => `${wanSwimS.from}: ${withSuggestion(p)}`))
      }
    }
  }
  const wanKeyringFile = server && keyring.file !== undefined ? wanKeyringPath(keyring.file) : undefined
  const wanKeys = wanKeyringFile === undefined ? undefined : keyring.read(wanKeyringFile)
  return { pools: { datacenter: String(dcS.value), server, wanBind, wanAdvertise, joinWan, floodIntervalMs, wanSwim, wanKeyringFile, wanKeys }, coordinates, coordinateEcho }
}
