/**
 * The agent's structured log: one JSON object per line, in pino's format, so log pipelines that read pino's
 * lines read these unchanged (`{"level":30,"time":1765152000000,"member":"web-2","msg":"member joined"}`;
 * levels trace 10, debug 20, info 30, warn 40, error 50, fatal 60; `silent` writes nothing).
 *
 *   log.info({ fields }, 'message') ──level ≥ threshold?──▶ JSON line ──▶ destination.write(line)
 *   log.level = 'debug'             (SIGHUP's reload)       pretty: agent.ts's prettyDestination re-formats it
 *
 * Written here rather than taken from pino: the agent logs a few dozen lines in its life, and loading pino
 * (its worker-thread transports, serializers and redaction) cost an agent about 20 ms of CPU and 6 MB of
 * memory at start (`npm run bench:startup`), a tenth of its start-up and of its idle footprint.
 */

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

const LEVEL_VALUES: Readonly<Record<LogLevelName, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

/** One level's method: `(fields, message)` or `(message)`, as pino's. */
export interface LogFn {
  (fields: object, msg?: string): void
  (msg: string): void
}

/** What the agent's parts log through. */
export interface Logger {
  /** The threshold; setting it takes effect for the next record. */
  level: LogLevelName
  readonly trace: LogFn
  readonly debug: LogFn
  readonly info: LogFn
  readonly warn: LogFn
  readonly error: LogFn
  readonly fatal: LogFn
}

/** An Error among the fields is written as pino writes one: its type, message and stack. */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack }
  if (typeof value === 'bigint') return value.toString()
  return value
}

function line(level: number, fields: object | undefined, msg: string | undefined): string {
  const record: Record<string, unknown> = { level, time: Date.now() }
  if (fields !== undefined) Object.assign(record, fields)
  if (msg !== undefined) record.msg = msg
  try {
    return JSON.stringify(record, jsonValue) + '\n'
  } catch {
    // A field that cannot be written (a cycle): the record without its fields, and why.
    return JSON.stringify({ level, time: record.time, msg, logError: 'fields not serializable' }) + '\n'
  }
}

/** A logger writing records at `level` and above to `destination`, one line per write. */
export function jsonLogger(level: LogLevelName, destination: { write(line: string): unknown }): Logger {
  if (!Object.hasOwn(LEVEL_VALUES, level)) throw new Error(`unknown log level ${String(level)}; use one of ${Object.keys(LEVEL_VALUES).join(', ')}`)
  let threshold = LEVEL_VALUES[level]
  let name = level
  const method = (value: number): LogFn =>
    ((a: object | string, b?: string): void => {
      if (value < threshold) return
      destination.write(typeof a === 'string' ? line(value, undefined, a) : line(value, a, b))
    }) as LogFn
  return {
    get level(): LogLevelName {
      return name
    },
    set level(next: LogLevelName) {
      if (!Object.hasOwn(LEVEL_VALUES, next)) throw new Error(`unknown log level ${String(next)}; use one of ${Object.keys(LEVEL_VALUES).join(', ')}`)
      name = next
      threshold = LEVEL_VALUES[next]
    },
    trace: method(10),
    debug: method(20),
    info: method(30),
    warn: method(40),
    error: method(50),
    fatal: method(60),
  }
}
