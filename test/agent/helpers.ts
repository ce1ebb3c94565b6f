// Shared helpers of the agent tests: in-process agents on loopback with ephemeral ports and the
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
// fast SWIM timings of the runtime tests.
import { resolveAgentConfig } from '../../src/agent/config.js'
import type { AgentConfig, RawAgentFlags } from '../../src/agent/config.js'
import { Agent } from '../../src/agent/agent.js'
import { FAST } from '../runtime/helpers.js'

export { waitFor, sleep } from '../runtime/helpers.js'

export function agentConfig(name: string, flags: RawAgentFlags = {}, file: Record<string, unknown> = {}): AgentConfig {
  return resolveAgentConfig(
    { name, bind: '127.0.0.1:0', http: '127.0.0.1:0', profile: 'local', logLevel: 'silent', config: 'agent.json', ...flags },
    {},
    () => JSON.stringify({ swim: FAST, joinRetryIntervalMs: 50, ...file }),
  )
}

/** Like agentConfig, but other files (a keyring file, …) are read from disk. */
export function agentConfigWithFiles(name: string, flags: RawAgentFlags = {}): AgentConfig {
  const readFile = (p: string): string => (p === 'agent.json' ? JSON.stringify({ swim: FAST, joinRetryIntervalMs: 50 }) : readFileSync(p, 'utf8'))
  return resolveAgentConfig({ name, bind: '127.0.0.1:0', http: '127.0.0.1:0', profile: 'local', logLevel: 'silent', config: 'agent.json', ...flags }, {}, readFile)
}

export function startTestAgent(name: string, flags: RawAgentFlags = {}, file: Record<string, unknown> = {}): Promise<Agent> {
  return Agent.start(agentConfig(name, flags, file))
}

export function gossipAddress(a: Agent): string {
  return `127.0.0.1:${a.node.port}`
}

export function url(a: Agent, path: string): string {
  return `http://${a.httpAddress}${path}`
}

export async function stopAll(agents: readonly (Agent | undefined)[]): Promise<void> {
  await Promise.all(agents.map((a) => a?.stop({ leave: false })))
}

const CLI = new URL('../../src/cli/cli.js', import.meta.url).pathname

/** Runs the CLI as a child process (asynchronously, so in-process agents keep answering). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

/** Reads an event stream until its text matches `pattern` or `limitMs` passed; returns the text, then aborts. */
export async function readStreamUntil(reader: ReadableStreamDefaultReader<Uint8Array>, ac: AbortController, pattern: RegExp, limitMs = 10_000): Promise<string> {
  let seen = ''
  const deadline = setTimeout(() => ac.abort(), limitMs)
  try {
    while (!pattern.test(seen)) {
      const { value, done } = await reader.read()
      if (done) break
      seen += new TextDecoder().decode(value)
    }
  } catch {
    // aborted at the deadline: the caller's assertion on the text says what was missing
  } finally {
    clearTimeout(deadline)
    ac.abort()
  }
  return seen
}

/** A real `grapevine agent --config FILE --log-format json` process: its JSON log records and exit code. */
export interface AgentProcess {
  readonly child: ChildProcess
  records(): Array<Record<string, unknown>>
  text(): string
  /** undefined while it runs. */
  exitCode(): number | null | undefined
}

export function spawnAgent(configPath: string): AgentProcess {
  const child = spawn(process.execPath, [CLI, 'agent', '--config', configPath, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (c: Buffer) => void (log += c.toString('utf8')))
  let exited: number | null | undefined
  child.on('exit', (code) => void (exited = code))
  return {
    child,
    records: () => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => log,
    exitCode: () => exited,
  }
}
