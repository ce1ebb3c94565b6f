// An agent loads only what it runs: the plotting libraries (vega, vega-lite, resvg), the epidemic lab,
// its progress bar and the simulator load with the commands that use them. Checked on a real agent
// process with a module resolve hook that records every module it loads; a file of the CLI's bundle
// (scripts/build-cli-bundle.mjs) counts as every source its source map names.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/cli.js', import.meta.url))

/** The URL of every module the agent loaded, up to the "agent started" log line. */
async function agentModules(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-lazy-'))
  const record = join(dir, 'modules.txt')
  const hooks = `import { appendFileSync } from 'node:fs'
export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(${JSON.stringify(record)}, r.url + '\\n'); return r }`
  const register = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(hooks))})`
  const child = spawn(
    process.execPath,
    ['--import', 'data:text/javascript,' + encodeURIComponent(register), CLI, 'agent', '--name', 'lazy', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`the agent did not start within 30 s; output: ${out}`)), 30_000)
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString()
        if (out.includes('agent started')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.on('exit', (code) => reject(new Error(`the agent exited with ${code}; output: ${out}`)))
    })
    return readFileSync(record, 'utf8').split('\n').filter((l) => l.length > 0)
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The modules with each loaded bundle file replaced by the sources it holds (from its source map). */
function unbundled(modules: readonly string[]): string[] {
  return modules.flatMap((m) => {
    if (!/\/src\/cli\/bundle\/[^/]+\.js$/.test(m)) return [m]
    const map = JSON.parse(readFileSync(new URL(m + '.map'), 'utf8')) as { sources: string[] }
    return map.sources.map((s) => new URL(s, m).href)
  })
}

test('an agent runs the bundled program: a few files of the project instead of one module per source file', async () => {
  const modules = await agentModules()
  const own = [...new Set(modules.filter((m) => m.startsWith('file:') && !m.includes('/node_modules/')))]
  assert.ok(own.some((m) => m.endsWith('/src/cli/bundle/agent-program.js')), `the agent's bundle is loaded; loaded: ${own.join(' ')}`)
  assert.ok(!own.some((m) => m.endsWith('/src/cli/bundle/program.js')), `the program of every command is not; loaded: ${own.join(' ')}`)
  assert.ok(own.length <= 30, `at most 30 files of the project, loaded ${own.length}: ${own.join(' ')}`)
})

test('an agent loads neither the plotting libraries, the lab, its progress bar nor the simulator', async () => {
  const modules = unbundled(await agentModules())
  assert.ok(modules.some((m) => /\/src\/agent\/agent\.(js|ts)$/.test(m)), 'the hook saw the agent itself')
  const unwanted = [/\/node_modules\/vega/, /\/node_modules\/@resvg\//, /\/node_modules\/cli-progress\//, /\/src\/lab\/(runner|plot|format|worker)\.(js|ts)$/, /\/src\/runtime\/sim\/(simulation|scenario)\.(js|ts)$/]
  for (const pattern of unwanted) {
    assert.deepEqual(modules.filter((m) => pattern.test(m)), [], `nothing matching ${pattern} is loaded`)
  }
})

test("an agent loads no other command's code: neither the clients, the lab, the simulator's commands nor the demo", async () => {
  const modules = unbundled(await agentModules())
  const others = /\/src\/cli\/(program|client-commands|client-data|client-keys|client-crdt|client-aggregate|lab-command|lab-aggregate|sim-command|scenario-command)\.(js|ts)$|\/src\/demo\/cluster\.(js|ts)$/
  assert.deepEqual(modules.filter((m) => others.test(m)), [])
  assert.ok(modules.some((m) => /\/src\/cli\/agent-command\.(js|ts)$/.test(m)), 'the hook saw the agent command')
})
