// `grapevine demo` as a user runs it: a child process with 3 real agents on free ports. The test
// reads the banner's PIDs, waits for convergence, kills node 2 with `k 2` on stdin, sees the failure
// line, asks for the member table, then SIGINTs the demo: it exits 0 and no agent is left running.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { ChangeCoalescer, ClusterViews } from '../../src/demo/cluster-events.js'
import { sleep, waitUntil } from '../interop/serf-harness.js'

const CLI = fileURLToPath(new URL('../../src/cli/cli.js', import.meta.url))

function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('grapevine demo: 3 agents converge, `k 2` is seen failed, SIGINT stops all and exits 0', { timeout: 120_000 }, async () => {
  const demo = spawn(process.execPath, [CLI, 'demo', '--nodes', '3', '--base-port', '0'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()))
  demo.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | string>((resolve) => demo.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const pids: number[] = []
  const detail = (): string => out.slice(-4000)
  try {
    await waitUntil('the demo prints its banner and the cluster converges', () => /== converged: node-1 node-2 node-3 all see each other alive/.test(out), 60_000, detail, 100)
    for (const m of out.matchAll(/^ {2}node-(\d) +(\d+) +127\.0\.0\.1:(\d+) +127\.0\.0\.1:(\d+)$/gm)) pids[Number(m[1]) - 1] = Number(m[2])
    assert.equal(pids.filter((p) => p > 0).length, 3, detail())
    assert.ok(pids.every(running), 'every agent in the banner runs')

    demo.stdin.write('k 2\n')
    // node-1 and node-3 may declare it more than the coalescing window apart: then it takes two lines.
    const failedBy = (): string[] => [...out.matchAll(/node-2 +failed +\(seen by ([^)]*)\)/g)].flatMap((m) => m[1].split(' ')).sort()
    await waitUntil('node-1 and node-3 declare node-2 failed', () => failedBy().join(' ') === 'node-1 node-3', 40_000, detail, 100)
    await waitUntil('node-2 is gone', () => !running(pids[1]), 10_000, detail, 100)

    demo.stdin.write('m 3\n')
    await waitUntil('the member table as node-3 sees it', () => /Members as node-3 sees them:[\s\S]*node-2 +\S+ +failed/.test(out), 10_000, detail, 100)

    demo.kill('SIGINT')
    await waitUntil('the demo exits', () => demo.exitCode !== null || demo.signalCode !== null, 30_000, detail, 100)
    assert.equal(await exited, 0, detail())
    assert.match(out, /node-1 +exited 0 \(left gracefully\)/)
    assert.match(out, /node-2 +killed by SIGKILL/)
    assert.match(out, /node-3 +exited 0 \(left gracefully\)/)
    assert.deepEqual(pids.filter(running), [], 'no agent outlives the demo')
  } finally {
    if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL')
    for (const pid of pids.filter(running)) process.kill(pid, 'SIGKILL')
    const logs = /logs in (\S+grapevine-demo-\w+)/.exec(out)?.[1]
    if (logs !== undefined) rmSync(logs, { recursive: true, force: true })
  }
})

test('demo events: the same change seen by several nodes is one line, sent once all have seen it', async () => {
  const lines: string[] = []
  const c = new ChangeCoalescer((l) => lines.push(l), () => 2, 50)
  const at = new Date(2026, 0, 1, 12, 0, 3, 120).getTime()
  c.add({ observer: 'node-2', type: 'failed', member: 'node-3', incarnation: 1, atMs: at })
  c.add({ observer: 'node-3', type: 'failed', member: 'node-3', incarnation: 1, atMs: at }) // a node on itself: ignored
  assert.deepEqual(lines, [])
  c.add({ observer: 'node-1', type: 'failed', member: 'node-3', incarnation: 1, atMs: at + 5 })
  assert.deepEqual(lines, ['12:00:03.120  node-3  failed     (seen by node-1 node-2)'])
  c.add({ observer: 'node-1', type: 'alive', member: 'node-4', incarnation: 2, atMs: at })
  await sleep(200) // the window closes with one observer
  assert.equal(lines[1], '12:00:03.120  node-4  alive      incarnation 2  (seen by node-1)')

  const v = new ClusterViews()
  v.started('node-1')
  v.started('node-2')
  assert.equal(v.agree(['node-1', 'node-2']), false)
  v.apply({ observer: 'node-1', type: 'joined', member: 'node-2', incarnation: 1, atMs: at })
  v.apply({ observer: 'node-2', type: 'joined', member: 'node-1', incarnation: 1, atMs: at })
  assert.equal(v.agree(['node-1', 'node-2']), true)
  v.apply({ observer: 'node-2', type: 'suspected', member: 'node-1', incarnation: 1, atMs: at })
  assert.equal(v.agree(['node-1', 'node-2']), false)
})
