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
 *
 * Problems are added to the caller's list, each naming where the value came from.
 */
import { parseHostPort, isUnspecified } from '../runtime/node/address.js'
import { datacenterProblem } from '../pools/names.js'

export interface AgentPoolConfig {
  readonly datacenter: string
  readonly server: boolean
  /** The WAN pool's bind address (servers). */
  readonly wanBind: string
  readonly wanAdvertise: string | undefined
  readonly joinWan: readonly string[]
  readonly floodIntervalMs: number
}

export interface RawPoolFlags {
  datacenter?: string
  server?: boolean
  wanBind?: string
  wanAdvertise?: string
  joinWan?: string[]
  floodInterval?: string
  disableCoordinates?: boolean
}

export const POOL_FILE_FIELDS = ['datacenter', 'server', 'wanBind', 'wanAdvertise', 'joinWan', 'floodIntervalMs', 'disableCoordinates'] as const

/** Default WAN port, as Serf's and Consul's WAN pool (8302). */
export const DEFAULT_WAN_BIND = '0.0.0.0:8302'

type Env = Readonly<Record<string, string | undefined>>

export function resolvePoolConfig(
  flags: RawPoolFlags, env: Env, file: Record<string, unknown>, fileFrom: (field: string) => string, problems: string[],
): { readonly pools: AgentPoolConfig | undefined; readonly coordinates: boolean } {
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
  const dcS = pick('--datacenter', flags.datacenter, 'GRAPEVINE_DATACENTER', 'datacenter')
  const server = bool(pick('--server', flags.server, 'GRAPEVINE_SERVER', 'server'))
  const wanBindS = pick('--wan-bind', flags.wanBind, 'GRAPEVINE_WAN_BIND', 'wanBind')
  const wanAdvS = pick('--wan-advertise', flags.wanAdvertise, 'GRAPEVINE_WAN_ADVERTISE', 'wanAdvertise')
  const joinS = pick('--join-wan', flags.joinWan, 'GRAPEVINE_JOIN_WAN', 'joinWan')
  const floodS = pick('--flood-interval', flags.floodInterval, 'GRAPEVINE_FLOOD_INTERVAL', 'floodIntervalMs')
  if (dcS === undefined) {
    if (server) problems.push(`--server: a server needs its datacenter; add --datacenter DC, like --datacenter dc1`)
    for (const s of [wanBindS, wanAdvS, joinS, floodS]) if (s !== undefined) problems.push(`${s.from}: only for a server of a datacenter; add --server --datacenter DC`)
    return { pools: undefined, coordinates }
  }
  const dcProblem = datacenterProblem(dcS.value, dcS.from)
  if (dcProblem !== undefined) problems.push(dcProblem)
  if (!server) for (const s of [wanBindS, wanAdvS, joinS]) if (s !== undefined) problems.push(`${s.from}: only servers run the WAN pool; add --server, or remove it`)
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
  return { pools: { datacenter: String(dcS.value), server, wanBind, wanAdvertise, joinWan, floodIntervalMs }, coordinates }
}
