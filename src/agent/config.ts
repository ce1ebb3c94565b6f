/**
 * The agent's configuration: command-line flags, then `GRAPEVINE_*` environment variables, then a
 * JSON config file (`--config FILE`), then defaults. Validated once; every problem names where the
 * value came from (the flag, the variable or the file's field), the value, and what would be accepted.
 *
 *   flag                  environment                     config file field
 *   --name NAME           GRAPEVINE_NAME                  name
 *   --bind HOST:PORT      GRAPEVINE_BIND                  bind
 *   --advertise HOST:PORT GRAPEVINE_ADVERTISE             advertise
 *   --join ADDR (repeat)  GRAPEVINE_JOIN (comma list)     join (array)
 *   --join-retry-max N    GRAPEVINE_JOIN_RETRY_MAX        joinRetryMax (0 = no limit)
 *   --join-retry-interval MS GRAPEVINE_JOIN_RETRY_INTERVAL joinRetryIntervalMs (first backoff)
 *   --rediscover-interval MS GRAPEVINE_REDISCOVER_INTERVAL rediscoverIntervalMs (re-resolve seed names; 0 = off)
 *   --dns-server IP[:PORT] GRAPEVINE_DNS_SERVERS (comma list) dnsServers (for dns:// and srv:// seeds)
 *   --bootstrap           GRAPEVINE_BOOTSTRAP             bootstrap (the first node: ready without a peer)
 *   (file only)                                           kubernetes ({ apiUrl, tokenFile, caFile } for k8s:// seeds)
 *   --http HOST:PORT      GRAPEVINE_HTTP                  http
 *   --http-token TOKEN    GRAPEVINE_HTTP_TOKEN            httpToken
 *   --metrics-public      GRAPEVINE_METRICS_PUBLIC        metricsPublic (GET /metrics without the token, for scrapers)
 *   --profile P           GRAPEVINE_PROFILE               profile
 *   --tag K=V (repeat)    GRAPEVINE_TAGS (k=v,k=v)        tags (object)
 *   --log-level L         GRAPEVINE_LOG_LEVEL             logLevel
 *   --log-format F        GRAPEVINE_LOG_FORMAT            logFormat (default: pretty on a terminal, else json)
 *   --snapshot FILE       GRAPEVINE_SNAPSHOT              snapshot
 *   --rejoin-after-leave  GRAPEVINE_REJOIN_AFTER_LEAVE    rejoinAfterLeave
 *   --v8-lite-mode        GRAPEVINE_V8_LITE_MODE          (not in the file: cli.ts sets V8's flag before the program loads)
 *   --data-dir DIR        GRAPEVINE_DATA_DIR              dataDir (durable replicated data, node.crdt, in DIR/crdt.mdb)
 *   --encrypt KEY         GRAPEVINE_ENCRYPT               encrypt (base64, as `grapevine keygen` prints)
 *   --keyring-file FILE   GRAPEVINE_KEYRING_FILE          keyringFile (JSON array of base64 keys, primary first)
 *   --label LABEL         GRAPEVINE_LABEL                 label (off by default: Serf 0.9.4 rejects labels)
 *   --encrypt-verify-incoming B  GRAPEVINE_ENCRYPT_VERIFY_INCOMING  encryptVerifyIncoming (default true)
 *   --encrypt-verify-outgoing B  GRAPEVINE_ENCRYPT_VERIFY_OUTGOING  encryptVerifyOutgoing (default true)
 *   --event-handler [F=]S GRAPEVINE_EVENT_HANDLER (one)   eventHandlers (array of "[FILTER=]SCRIPT", as Serf's)
 *   --event-handler-timeout MS GRAPEVINE_EVENT_HANDLER_TIMEOUT eventHandlerTimeoutMs (default 30000)
 *   --event-handler-coalesce MS GRAPEVINE_EVENT_HANDLER_COALESCE eventHandlerCoalesceMs (default 3000, Serf's; 0: none)
 *   --datacenter, --server, --wan-bind, --join-wan, …      datacenter, server, …: see pools-config.ts
 *   --membership hyparview, --active-view, --passive-view, … membership, overlay: see overlay-config.ts
 *   (file only)                                           swim (SWIM settings, e.g. { "probeIntervalMs": 500 })
 *   (file only)                                           broadcast, state, phi (their settings, e.g. { "fanout": 3 })
 *   (file only)                                           aggregates (kept running, re-read on SIGHUP: aggregates-config.ts)
 *
 * Tags merge key by key (a flag's value for a key wins over the environment's and the file's).
 * Keys: an existing keyring file gives the keyring; --encrypt adds its key to it as the primary (as
 * memberlist does with a SecretKey next to a keyring); without a file, --encrypt alone is the keyring.
 */
import os from 'node:os'
import { ConfigError } from '../swim/config.js'
import type { Profile, SwimConfig } from '../swim/config.js'
import { isUnspecified, parseHostPort } from '../runtime/node/address.js'
import { DEFAULT_PORT, resolveNodeOptions } from '../runtime/node/start-node.js'
import type { DiscoveryOptions } from '../runtime/node/start-node.js'
import { parseSeed } from '../runtime/node/discovery/seed-spec.js'
import { discoveryProblems } from '../runtime/node/discovery/seed-resolver.js'
import { UsageError } from '../core/errors.js'
import { didYouMean, withSuggestion } from '../core/suggest.js'
import { parseEventHandler } from './event-handlers.js'
import type { EventScript } from './event-handlers.js'
import { KeyringError, parseKey } from '../wire/keyring.js'
import { FileTooLargeError, KEYRING_FILE_MAX_BYTES } from './bounded-read.js'
import { POOL_FILE_FIELDS, resolvePoolConfig } from './pools-config.js'
import type { AgentPoolConfig, RawPoolFlags } from './pools-config.js'
import { OVERLAY_FILE_FIELDS, resolveOverlayConfig } from './overlay-config.js'
import type { RawOverlayFlags } from './overlay-config.js'
import { hyparviewHandlerProblems } from './overlay-handlers.js'
import type { MembershipMode, OverlaySettings } from '../node/index.js'
import { reservedTagProblems } from '../pools/names.js'
import { AGGREGATE_FILE_FIELDS, resolveAggregatesConfig, type AggregateConfig } from './aggregates-config.js'

export const DEFAULT_HTTP = '127.0.0.1:7980'
export const DEFAULT_BIND = '0.0.0.0:7946'
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export type LogFormat = 'json' | 'pretty'

export interface AgentConfig {
  readonly name: string
  readonly bind: string
  readonly advertise: string | undefined
  readonly join: readonly string[]
  /** Join attempts before giving up; 0 retries forever. */
  readonly joinRetryMax: number
  /** Backoff before the second attempt; doubles each time up to 30 s. */
  readonly joinRetryIntervalMs: number
  /** How seed names (dns://, srv://, k8s://, host names) are resolved, and how often again after the join. */
  readonly discovery: DiscoveryOptions
  /** The configured first node: /health/ready answers 200 without a live peer. */
  readonly bootstrap: boolean
  readonly http: string
  readonly httpToken: string | undefined
  /** GET /metrics answers without the token (Prometheus' annotation-based scraping sends none). */
  readonly metricsPublic: boolean
  readonly profile: Profile
  readonly tags: Readonly<Record<string, string>>
  readonly logLevel: LogLevel
  readonly logFormat: LogFormat
  readonly snapshot: string | undefined
  readonly dataDir: string | undefined
  readonly rejoinAfterLeave: boolean
  /** V8 runs in its lite mode (no optimising compiler): about 4 MB less memory; off by default. Flag or environment
   *  only: cli.ts gives V8 the flag before the program loads, since later it saves nothing (measured). */
  readonly v8LiteMode: boolean
  readonly swim: Partial<SwimConfig>
  /** Broadcast, cluster state and phi settings (file only), passed to startNode as they are. */
  readonly broadcast: Record<string, unknown>
  readonly state: Record<string, unknown>
  readonly phi: Record<string, unknown>
  /** Encryption keys in base64, the primary first; empty: no encryption. */
  readonly keys: readonly string[]
  /** Where the keyring is kept (read at start, rewritten on every key change); undefined: not kept. */
  readonly keyringFile: string | undefined
  readonly label: string
  readonly encryptVerifyIncoming: boolean
  readonly encryptVerifyOutgoing: boolean
  /** Serf-style event handler scripts (`[FILTER=]SCRIPT`), parsed. */
  readonly eventHandlers: readonly EventScript[]
  /** A handler script running longer is killed (a query's handler also at the query's timeout). */
  readonly eventHandlerTimeoutMs: number
  /** Member events and coalescing user events are batched for handlers this long, as Serf's agent does; 0: none. */
  readonly eventHandlerCoalesceMs: number
  /** Datacenter and WAN pool (pools-config.ts); undefined: one plain pool. */
  readonly pools: AgentPoolConfig | undefined
  /** Network coordinates on (off with --disable-coordinates, as Serf's disable_coordinates; off in hyparview mode). */
  readonly coordinates: boolean
  /** The coordinate echo on (off with --disable-coordinate-echo; meaningless while coordinates are off). */
  readonly coordinateEcho: boolean
  /** swim (full membership) or hyparview (partial views, Plumtree), with the overlay's settings (overlay-config.ts). */
  readonly membership: MembershipMode
  readonly overlay: OverlaySettings | undefined
  /** Aggregates started at boot and kept in line with the file on SIGHUP (aggregates-config.ts). */
  readonly aggregates: readonly AggregateConfig[]
}

/** The agent's flags as commander hands them over. */
export interface RawAgentFlags extends RawPoolFlags, RawOverlayFlags {
  config?: string
  name?: string
  bind?: string
  advertise?: string
  join?: string[]
  joinRetryMax?: string
  joinRetryInterval?: string
  rediscoverInterval?: string
  dnsServer?: string[]
  bootstrap?: boolean
  http?: string
  httpToken?: string
  metricsPublic?: boolean
  profile?: string
  tag?: string[]
  logLevel?: string
  logFormat?: string
  snapshot?: string
  dataDir?: string
  rejoinAfterLeave?: boolean
  v8LiteMode?: boolean
  encrypt?: string
  keyringFile?: string
  label?: string
  encryptVerifyIncoming?: string
  encryptVerifyOutgoing?: string
  eventHandler?: string[]
  eventHandlerTimeout?: string
  eventHandlerCoalesce?: string
}

type Env = Readonly<Record<string, string | undefined>>

/** One value and where it came from, for error messages. */
interface Sourced<T> {
  readonly value: T
  readonly from: string
}

const FILE_FIELDS = new Set([
  'name', 'bind', 'advertise', 'join', 'joinRetryMax', 'joinRetryIntervalMs', 'rediscoverIntervalMs', 'dnsServers', 'bootstrap', 'kubernetes', 'metricsPublic', 'http', 'httpToken', 'profile',
  'tags', 'logLevel', 'logFormat', 'snapshot', 'dataDir', 'rejoinAfterLeave', 'swim', 'broadcast', 'state', 'phi',
  'encrypt', 'keyringFile', 'label', 'encryptVerifyIncoming', 'encryptVerifyOutgoing', 'eventHandlers', 'eventHandlerTimeoutMs', 'eventHandlerCoalesceMs',
  ...POOL_FILE_FIELDS, ...OVERLAY_FILE_FIELDS, ...AGGREGATE_FILE_FIELDS,
])

/**
 * Reads a keyring file (Serf's format: a JSON array of base64 keys, the primary first). Undefined when
 * the file does not exist yet; problems name the file.
 */
export function readKeyringFile(path: string, readFile: (path: string) => string, problems: string[]): string[] | undefined {
  let text: string
  try {
    text = readFile(path)
    if (text.length > KEYRING_FILE_MAX_BYTES) throw new FileTooLargeError(`it holds ${text.length} characters; a keyring file is at most ${KEYRING_FILE_MAX_BYTES} bytes`)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    problems.push(`keyring file ${JSON.stringify(path)}: cannot read it (${readFailure(e)}); give a readable path`)
    return []
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    problems.push(`keyring file ${JSON.stringify(path)}: not valid JSON (${(e as Error).message}); it holds an array of base64 keys like ["<key>"]`)
    return []
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((k) => typeof k !== 'string')) {
    problems.push(`keyring file ${JSON.stringify(path)}: expected a non-empty JSON array of base64 keys (primary first), as \`grapevine keygen\` prints them`)
    return []
  }
  const keys: string[] = []
  for (const [i, k] of (parsed as string[]).entries()) {
    try {
      parseKey(k)
      keys.push(k.trim())
    } catch (e) {
      if (!(e instanceof KeyringError)) throw e
      problems.push(`keyring file ${JSON.stringify(path)} entry ${i}: ${e.message}`)
    }
  }
  return keys
}

export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^127\./.test(ip)
}

/** Why a file could not be read: the size cap's own message, or the system's error code. */
function readFailure(e: unknown): string {
  return e instanceof FileTooLargeError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)
}

/** Reads and checks the config file; problems name the file and the field. */
function readConfigFile(path: string, readFile: (path: string) => string, problems: string[]): Record<string, unknown> {
  let text: string
  try {
    text = readFile(path)
  } catch (e) {
    problems.push(`--config ${JSON.stringify(path)}: cannot read the file (${readFailure(e)}); give the path of a JSON config file`)
    return {}
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    problems.push(`--config ${JSON.stringify(path)}: not valid JSON (${(e as Error).message}); the file holds one object like { "bind": "127.0.0.1:7946" }`)
    return {}
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`--config ${JSON.stringify(path)}: expected a JSON object like { "bind": "127.0.0.1:7946" }, got ${JSON.stringify(parsed)}`)
    return {}
  }
  for (const k of Object.keys(parsed)) {
    if (!FILE_FIELDS.has(k)) problems.push(`config file ${path}: unknown field ${JSON.stringify(k)}${didYouMean(k, FILE_FIELDS)}; fields are ${[...FILE_FIELDS].join(', ')}`)
  }
  return parsed as Record<string, unknown>
}

/**
 * Why `text` is not HOST:PORT with an IP literal, said precisely (a missing port, a port out of range,
 * a host name where an IP is needed); undefined when it is fine.
 */
export function hostPortProblem(text: string): string | undefined {
  if (parseHostPort(text) !== undefined) return undefined
  const m = /^(\[[^\]]*\]|[^:]*|.*:.*(?=:\d+$)):?(\d*)$/.exec(text.trim())
  const host = m?.[1] ?? text
  const port = m?.[2] ?? ''
  if (port === '') return 'no port'
  if (Number(port) > 65535) return `port ${port} is out of range 0..65535`
  if (parseHostPort(`${host}:1`) === undefined) return `${JSON.stringify(host)} is not an IP literal (this address is bound, so names are not resolved)`
  return undefined
}

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

/** `k=v` pairs into tags; problems name the source. */
function parseTagPairs(pairs: readonly string[], from: string, into: Record<string, string>, problems: string[]): void {
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) {
      problems.push(`${from} ${JSON.stringify(pair)}: expected KEY=VALUE like role=web`)
      continue
    }
    into[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
}

/**
 * Merges flags, environment and file and validates the result. Throws one UsageError listing every
 * problem (the CLI prints it and exits with code 2); nothing is started.
 */
export function resolveAgentConfig(flags: RawAgentFlags, env: Env, readFile: (path: string) => string): AgentConfig {
  const problems: string[] = []
  const configPath = flags.config ?? env.GRAPEVINE_CONFIG
  const file = configPath === undefined ? {} : readConfigFile(configPath, readFile, problems)
  const fileFrom = (field: string): string => `config file ${configPath} field "${field}"`

  /** Picks flag > env > file; converts strings from flags and env through `fromText`. */
  const pick = <T>(flag: string, flagValue: string | undefined, envName: string, field: string): Sourced<unknown> | undefined => {
    if (flagValue !== undefined) return { value: flagValue, from: flag }
    const e = env[envName]
    if (e !== undefined && e !== '') return { value: e, from: envName }
    if (file[field] !== undefined) return { value: file[field] as T, from: fileFrom(field) }
    return undefined
  }
  const str = (s: Sourced<unknown> | undefined, hint: string): string | undefined => {
    if (s === undefined) return undefined
    if (typeof s.value === 'string' && s.value.length > 0) return s.value
    problems.push(`${s.from} ${JSON.stringify(s.value)}: expected ${hint}`)
    return undefined
  }
  const int = (s: Sourced<unknown> | undefined, hint: string, fallback: number, min: number): number => {
    if (s === undefined) return fallback
    const n = typeof s.value === 'number' ? s.value : typeof s.value === 'string' && /^\d+$/.test(s.value.trim()) ? Number(s.value) : NaN
    if (Number.isSafeInteger(n) && n >= min) return n
    problems.push(`${s.from} ${JSON.stringify(s.value)}: expected ${hint}`)
    return fallback
  }
  const oneOf = <T extends string>(s: Sourced<unknown> | undefined, allowed: readonly T[], fallback: T): T => {
    if (s === undefined) return fallback
    if (typeof s.value === 'string' && (allowed as readonly string[]).includes(s.value)) return s.value as T
    problems.push(`${s.from} ${JSON.stringify(s.value)}: expected one of ${allowed.join(', ')}`)
    return fallback
  }

  const name = str(pick('--name', flags.name, 'GRAPEVINE_NAME', 'name'), 'a node name unique in the cluster, like web-1') ?? os.hostname()

  const bindS = pick('--bind', flags.bind, 'GRAPEVINE_BIND', 'bind')
  const bind = str(bindS, 'HOST:PORT with an IP literal, like 127.0.0.1:7946') ?? DEFAULT_BIND
  if (bindS !== undefined && typeof bindS.value === 'string' && parseHostPort(bind) === undefined) {
    problems.push(`${bindS.from} ${JSON.stringify(bind)}: expected HOST:PORT with an IP literal, like 127.0.0.1:7946 or [::1]:7946 (${hostPortProblem(bind) ?? 'not an address'})`)
  }
  const advS = pick('--advertise', flags.advertise, 'GRAPEVINE_ADVERTISE', 'advertise')
  const advertise = str(advS, 'HOST[:PORT] with a reachable IP literal, like 10.0.0.5:7946')
  const bindPort = parseHostPort(bind)?.port
  if (advertise !== undefined && advS !== undefined) {
    const a = parseHostPort(advertise, bindPort)
    if (a === undefined || isUnspecified(a.ip)) problems.push(`${advS.from} ${JSON.stringify(advertise)}: expected HOST[:PORT] with a reachable IP literal, like 10.0.0.5:7946`)
  }

  let join: string[] = []
  if (flags.join !== undefined && flags.join.length > 0) join = flags.join.flatMap(splitList)
  else if (env.GRAPEVINE_JOIN !== undefined && env.GRAPEVINE_JOIN !== '') join = splitList(env.GRAPEVINE_JOIN)
  else if (file.join !== undefined) {
    if (Array.isArray(file.join) && file.join.every((s) => typeof s === 'string' && s.length > 0)) join = file.join as string[]
    else problems.push(`${fileFrom('join')} ${JSON.stringify(file.join)}: expected an array of "HOST:PORT" strings like ["10.0.0.4:7946"]`)
  }
  for (const j of join) {
    try {
      parseSeed(j, DEFAULT_PORT)
    } catch (e) {
      problems.push(`--join ${(e as Error).message}`)
    }
  }
  const rediscoverIntervalMs = int(pick('--rediscover-interval', flags.rediscoverInterval, 'GRAPEVINE_REDISCOVER_INTERVAL', 'rediscoverIntervalMs'), 'milliseconds between re-resolving the seeds, like 30000, or 0 for never', 30_000, 0)
  let dnsServers: string[] | undefined
  if (flags.dnsServer !== undefined && flags.dnsServer.length > 0) dnsServers = flags.dnsServer.flatMap(splitList)
  else if (env.GRAPEVINE_DNS_SERVERS !== undefined && env.GRAPEVINE_DNS_SERVERS !== '') dnsServers = splitList(env.GRAPEVINE_DNS_SERVERS)
  else if (file.dnsServers !== undefined) {
    if (Array.isArray(file.dnsServers) && file.dnsServers.every((s) => typeof s === 'string')) dnsServers = file.dnsServers as string[]
    else problems.push(`${fileFrom('dnsServers')} ${JSON.stringify(file.dnsServers)}: expected an array of "IP[:PORT]" strings like ["10.96.0.10"]`)
  }
  for (const d of dnsServers ?? []) {
    if (parseHostPort(d, 53) === undefined) problems.push(`--dns-server ${JSON.stringify(d)}: expected IP[:PORT] of a DNS server, like 10.96.0.10 or 127.0.0.1:5353`)
  }
  const discovery: DiscoveryOptions = { rediscoverIntervalMs, ...(dnsServers === undefined ? {} : { dnsServers }), ...(file.kubernetes === undefined ? {} : { kubernetes: file.kubernetes as DiscoveryOptions['kubernetes'] }) }
  for (const p of discoveryProblems({ kubernetes: discovery.kubernetes })) problems.push(`${fileFrom('kubernetes')}: ${p.replace(/^discovery\.kubernetes\.?/, '')}`)

  const joinRetryMax = int(pick('--join-retry-max', flags.joinRetryMax, 'GRAPEVINE_JOIN_RETRY_MAX', 'joinRetryMax'), 'a whole number of attempts, 0 for no limit', 10, 0)
  const joinRetryIntervalMs = int(pick('--join-retry-interval', flags.joinRetryInterval, 'GRAPEVINE_JOIN_RETRY_INTERVAL', 'joinRetryIntervalMs'), 'milliseconds before the second attempt, like 1000', 1000, 1)

  const httpS = pick('--http', flags.http, 'GRAPEVINE_HTTP', 'http')
  const http = str(httpS, 'HOST:PORT with an IP literal, like 127.0.0.1:7980') ?? DEFAULT_HTTP
  const httpAddr = parseHostPort(http)
  if (httpAddr === undefined) problems.push(`${httpS?.from ?? '--http'} ${JSON.stringify(http)}: expected HOST:PORT with an IP literal, like 127.0.0.1:7980 (${hostPortProblem(http) ?? 'not an address'})`)
  const httpToken = str(pick('--http-token', flags.httpToken, 'GRAPEVINE_HTTP_TOKEN', 'httpToken'), 'a non-empty secret string')
  if (httpAddr !== undefined && !isLoopback(httpAddr.ip) && httpToken === undefined) {
    problems.push(`${httpS?.from ?? '--http'} ${JSON.stringify(http)}: the HTTP API is off loopback, so it needs a token; add --http-token TOKEN (or GRAPEVINE_HTTP_TOKEN), or bind 127.0.0.1`)
  }

  const profile = oneOf(pick('--profile', flags.profile, 'GRAPEVINE_PROFILE', 'profile'), ['lan', 'wan', 'local'] as const, 'lan')
  const logLevel = oneOf(pick('--log-level', flags.logLevel, 'GRAPEVINE_LOG_LEVEL', 'logLevel'), LOG_LEVELS, 'info')
  // Human-readable on a terminal, JSON lines for log collectors otherwise.
  const logFormat = oneOf(pick('--log-format', flags.logFormat, 'GRAPEVINE_LOG_FORMAT', 'logFormat'), ['json', 'pretty'] as const, process.stdout.isTTY === true ? 'pretty' : 'json')
  const snapshot = str(pick('--snapshot', flags.snapshot, 'GRAPEVINE_SNAPSHOT', 'snapshot'), 'a file path, like /var/lib/grapevine/snapshot.json')
  const dataDir = str(pick('--data-dir', flags.dataDir, 'GRAPEVINE_DATA_DIR', 'dataDir'), 'a directory path, like /var/lib/grapevine')

  /** A switch flag (present: true), else its variable (true/false/1/0), else the file's boolean; default false. */
  const switchOf = (flag: boolean | undefined, variable: string, field: string): boolean => {
    if (flag === true) return true
    const v = env[variable]
    if (v !== undefined && v !== '') {
      if (v === 'true' || v === '1') return true
      if (v !== 'false' && v !== '0') problems.push(`${variable} ${JSON.stringify(v)}: expected true or false`)
      return false
    }
    if (file[field] === undefined) return false
    if (typeof file[field] === 'boolean') return file[field] as boolean
    problems.push(`${fileFrom(field)} ${JSON.stringify(file[field])}: expected true or false`)
    return false
  }
  const bootstrap = switchOf(flags.bootstrap, 'GRAPEVINE_BOOTSTRAP', 'bootstrap')
  const metricsPublic = switchOf(flags.metricsPublic, 'GRAPEVINE_METRICS_PUBLIC', 'metricsPublic')
  const rejoinAfterLeave = switchOf(flags.rejoinAfterLeave, 'GRAPEVINE_REJOIN_AFTER_LEAVE', 'rejoinAfterLeave')
  const v8LiteMode = switchOf(flags.v8LiteMode, 'GRAPEVINE_V8_LITE_MODE', 'v8LiteMode')

  const boolOf = (s: Sourced<unknown> | undefined, fallback: boolean): boolean => {
    if (s === undefined) return fallback
    if (typeof s.value === 'boolean') return s.value
    if (s.value === 'true' || s.value === '1') return true
    if (s.value === 'false' || s.value === '0') return false
    problems.push(`${s.from} ${JSON.stringify(s.value)}: expected true or false`)
    return fallback
  }
  const encryptS = pick('--encrypt', flags.encrypt, 'GRAPEVINE_ENCRYPT', 'encrypt')
  const encrypt = str(encryptS, 'a base64 key of 16, 24 or 32 bytes, as `grapevine keygen` prints')
  if (encrypt !== undefined) {
    try {
      parseKey(encrypt)
    } catch (e) {
      if (!(e instanceof KeyringError)) throw e
      problems.push(`${encryptS?.from}: ${e.message}`)
    }
  }
  const keyringFile = str(pick('--keyring-file', flags.keyringFile, 'GRAPEVINE_KEYRING_FILE', 'keyringFile'), 'a file path, like /var/lib/grapevine/keyring.json')
  const fromFile = keyringFile === undefined ? undefined : readKeyringFile(keyringFile, readFile, problems)
  const keys = [...(encrypt === undefined ? [] : [encrypt.trim()]), ...(fromFile ?? []).filter((k) => k !== encrypt?.trim())]
  const labelS = pick('--label', flags.label, 'GRAPEVINE_LABEL', 'label')
  const label = str(labelS, 'a cluster label of 1 to 255 bytes, like prod') ?? ''
  if (Buffer.byteLength(label) > 255) problems.push(`${labelS?.from} ${JSON.stringify(label.slice(0, 40))}…: at most 255 bytes; choose a shorter label`)
  const encryptVerifyIncoming = boolOf(pick('--encrypt-verify-incoming', flags.encryptVerifyIncoming, 'GRAPEVINE_ENCRYPT_VERIFY_INCOMING', 'encryptVerifyIncoming'), true)
  const encryptVerifyOutgoing = boolOf(pick('--encrypt-verify-outgoing', flags.encryptVerifyOutgoing, 'GRAPEVINE_ENCRYPT_VERIFY_OUTGOING', 'encryptVerifyOutgoing'), true)

  const tags: Record<string, string> = {}
  if (file.tags !== undefined) {
    if (file.tags !== null && typeof file.tags === 'object' && !Array.isArray(file.tags)) {
      for (const [k, v] of Object.entries(file.tags)) {
        if (typeof v === 'string') tags[k] = v
        else problems.push(`${fileFrom(`tags.${k}`)} ${JSON.stringify(v)}: expected a string value`)
      }
    } else problems.push(`${fileFrom('tags')} ${JSON.stringify(file.tags)}: expected an object like { "role": "web" }`)
  }
  if (env.GRAPEVINE_TAGS !== undefined && env.GRAPEVINE_TAGS !== '') parseTagPairs(splitList(env.GRAPEVINE_TAGS), 'GRAPEVINE_TAGS', tags, problems)
  parseTagPairs(flags.tag ?? [], '--tag', tags, problems)

  let swim: Partial<SwimConfig> = {}
  if (file.swim !== undefined) {
    if (file.swim !== null && typeof file.swim === 'object' && !Array.isArray(file.swim)) swim = file.swim as Partial<SwimConfig>
    else problems.push(`${fileFrom('swim')} ${JSON.stringify(file.swim)}: expected an object of SWIM settings like { "probeIntervalMs": 1000 }`)
  }

  const section = (field: 'broadcast' | 'state' | 'phi'): Record<string, unknown> => {
    const v = file[field]
    if (v === undefined) return {}
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
    problems.push(`${fileFrom(field)} ${JSON.stringify(v)}: expected an object of ${field} settings`)
    return {}
  }
  const broadcast = section('broadcast')
  const state = section('state')
  const phi = section('phi')

  let handlerSpecs: string[] = []
  let handlersFrom = '--event-handler'
  if (flags.eventHandler !== undefined && flags.eventHandler.length > 0) handlerSpecs = flags.eventHandler
  else if (env.GRAPEVINE_EVENT_HANDLER !== undefined && env.GRAPEVINE_EVENT_HANDLER !== '') {
    // One handler: a filter list has commas of its own, so the variable is not split.
    handlerSpecs = [env.GRAPEVINE_EVENT_HANDLER]
    handlersFrom = 'GRAPEVINE_EVENT_HANDLER'
  } else if (file.eventHandlers !== undefined) {
    handlersFrom = fileFrom('eventHandlers')
    if (Array.isArray(file.eventHandlers) && file.eventHandlers.every((h) => typeof h === 'string')) handlerSpecs = file.eventHandlers as string[]
    else problems.push(`${handlersFrom} ${JSON.stringify(file.eventHandlers)}: expected an array of "[FILTER=]SCRIPT" strings like ["member-join=./join.sh"]`)
  }
  const eventHandlers: EventScript[] = []
  for (const spec of handlerSpecs) {
    try {
      eventHandlers.push(parseEventHandler(spec))
    } catch (e) {
      problems.push(`${handlersFrom} ${(e as Error).message}`)
    }
  }
  const eventHandlerTimeoutMs = int(pick('--event-handler-timeout', flags.eventHandlerTimeout, 'GRAPEVINE_EVENT_HANDLER_TIMEOUT', 'eventHandlerTimeoutMs'), 'milliseconds a handler script may run, like 30000', 30_000, 1)
  const eventHandlerCoalesceMs = int(pick('--event-handler-coalesce', flags.eventHandlerCoalesce, 'GRAPEVINE_EVENT_HANDLER_COALESCE', 'eventHandlerCoalesceMs'), 'milliseconds to batch member events for handlers, like 3000 (0 for none)', 3_000, 0)

  const { pools, coordinates: swimCoordinates, coordinateEcho } = resolvePoolConfig(flags, env, file, fileFrom, problems, { file: keyringFile, read: (path) => readKeyringFile(path, readFile, problems) })
  if (pools !== undefined) problems.push(...reservedTagProblems(tags, pools.server, '--tag'))
  const { membership, overlay } = resolveOverlayConfig(flags, env, file, fileFrom, problems)
  if (membership === 'hyparview') problems.push(...hyparviewHandlerProblems(eventHandlers))
  if (membership === 'hyparview' && pools !== undefined) problems.push(`--membership hyparview: datacenter pools (--datacenter) ride on SWIM's full membership; remove --datacenter or use --membership swim`)
  const coordinates = swimCoordinates && membership === 'swim'
  const aggregates = resolveAggregatesConfig(file, fileFrom, problems, membership)

  // The node's own validation covers the SWIM, broadcast, state and phi settings, the name and the tag
  // size; it runs even when other problems were found, so one run reports every mistake. Addresses
  // already refused above are left out, so they are not reported twice.
  try {
    const bindOk = parseHostPort(bind) !== undefined
    const advertiseOk = advertise !== undefined && bindOk && parseHostPort(advertise, bindPort) !== undefined && !isUnspecified(parseHostPort(advertise, bindPort)!.ip)
    resolveNodeOptions({ name, bind: bindOk ? bind : undefined, advertise: advertiseOk ? advertise : undefined, profile, config: swim, tags, broadcast, state, phi, membership, overlay })
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    for (const p of e.problems) {
      const sub = /^(config|broadcast|state|phi)\.(.*)$/s.exec(p)
      problems.push(sub === null ? p : `${fileFrom(sub[1] === 'config' ? 'swim' : sub[1])}: ${withSuggestion(sub[2])}`)
    }
  }
  if (problems.length > 0) {
    throw new UsageError(problems.length === 1 ? problems[0] : `invalid agent configuration:\n  - ${problems.join('\n  - ')}`)
  }
  return {
    name, bind, advertise, join, joinRetryMax, joinRetryIntervalMs, discovery, bootstrap, http, httpToken, metricsPublic, profile, tags, logLevel, logFormat, snapshot, dataDir, rejoinAfterLeave, v8LiteMode, swim, broadcast, state, phi,
    keys, keyringFile, label, encryptVerifyIncoming, encryptVerifyOutgoing, eventHandlers, eventHandlerTimeoutMs, eventHandlerCoalesceMs, pools, coordinates, coordinateEcho, membership, overlay, aggregates,
  }
}
