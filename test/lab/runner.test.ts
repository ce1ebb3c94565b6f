import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLab } from '../../src/lab/runner.js'
import type { LabOptions } from '../../src/lab/runner.js'
import { formatCsv, formatTable, pm, toJson } from '../../src/lab/format.js'
import { parseKList, parseLabFlags, runLabCommand } from '../../src/cli/lab-command.js'
import type { RawLabFlags } from '../../src/cli/lab-command.js'
import { UsageError } from '../../src/core/errors.js'
import { runCli } from '../agent/helpers.js'

const opts: LabOptions = {
  model: 'rumor',
  mode: 'push-pull',
  removal: 'feedback-coin',
  ks: [1, 2],
  nodes: 300,
  runs: 24,
  seed: 11,
  fanout: 1,
  connectionLimit: 0,
  hunt: 0,
  maxCycles: 100_000,
}

const strip = (r: Awaited<ReturnType<typeof runLab>>): unknown => ({ ...toJson(r), workers: 0, elapsedMs: 0 })

test('results depend on the seed only, not on the worker count', async () => {
  const inline = await runLab(opts, { workers: 0 })
  const threaded = await runLab(opts, { workers: 2 })
  assert.equal(threaded.workers, 2)
  assert.deepEqual(strip(threaded), strip(inline))
  const again = await runLab(opts, { workers: 0 })
  assert.deepEqual(strip(again), strip(inline))
  const other = await runLab({ ...opts, seed: 12 }, { workers: 0 })
  assert.notDeepEqual(strip(other), strip(inline))
})

test('every variant runs: both models, three modes, four removals, connection limits, fanout and push-then-pull', async () => {
  for (const mode of ['push', 'pull', 'push-pull'] as const) {
    for (const removal of ['feedback-counter', 'blind-counter', 'feedback-coin', 'blind-coin'] as const) {
      for (const extra of [{}, { connectionLimit: 1, hunt: 1 }, { fanout: 3 }]) {
        const r = await runLab({ ...opts, ...extra, mode, removal, ks: [2], runs: 3 }, { workers: 0 })
        const row = r.rows[0]
        assert.ok(row.residue.mean >= 0 && row.residue.mean < 1, `${mode} ${removal} ${JSON.stringify(extra)}`)
        assert.equal(row.truncated, 0)
      }
    }
    const ae = await runLab({ ...opts, model: 'anti-entropy', mode, ks: [0], runs: 3, connectionLimit: 2 }, { workers: 0 })
    assert.equal(ae.rows[0].residue.mean, 0)
  }
  const ptp = await runLab({ ...opts, pushThenPull: 5, ks: [3], runs: 3 }, { workers: 0 })
  assert.equal(ptp.rows[0].truncated, 0)
})

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: () => string } {
  let text = ''
  return { io: { out: (t) => (text += t), err: (t) => (text += t) }, out: () => text }
}

test('--json prints { model, mode, removal, nodes, runs, seed, rows: [...] } with a standard deviation per metric', async () => {
  const c = capture()
  const code = await runLabCommand('rumor', { mode: 'push', removal: 'feedback-counter', k: '1..3', nodes: '200', runs: '10', seed: '1', json: true }, c.io)
  assert.equal(code, 0)
  const doc = JSON.parse(c.out()) as Record<string, unknown>
  assert.equal(doc.model, 'rumor')
  assert.equal(doc.mode, 'push')
  assert.equal(doc.removal, 'feedback-counter')
  assert.equal(doc.nodes, 200)
  assert.equal(doc.runs, 10)
  assert.equal(doc.seed, 1)
  const rows = doc.rows as Record<string, unknown>[]
  assert.deepEqual(rows.map((r) => r.k), [1, 2, 3])
  for (const row of rows) {
    for (const key of ['residue', 'traffic', 'tAve', 'tLast', 'rounds']) {
      assert.equal(typeof row[key], 'number', key)
      assert.equal(typeof row[`${key}Sd`], 'number', `${key}Sd`)
      assert.ok((row[`${key}Sd`] as number) >= 0)
    }
    const theory = row.theory as Record<string, number>
    assert.equal(typeof theory.residueDeterministic, 'number')
    assert.equal(typeof theory.residueFromTraffic, 'number')
    const fractions = row.fractions as Record<string, number[]>
    assert.equal(fractions.susceptible.length, fractions.infective.length)
  }

  const ae = capture()
  await runLabCommand('anti-entropy', { mode: 'push-pull', nodes: '1000', runs: '1', json: true }, ae.io)
  const aeDoc = JSON.parse(ae.out()) as { removal: unknown; rows: { k: unknown; rounds: number; residue: number; theory: { rounds: number } }[] }
  assert.equal(aeDoc.removal, null)
  assert.equal(aeDoc.rows.length, 1)
  assert.equal(aeDoc.rows[0].k, null)
  assert.equal(aeDoc.rows[0].residue, 0)
  assert.ok(aeDoc.rows[0].rounds >= 6 && aeDoc.rows[0].rounds < 20)
  assert.ok(Math.abs(aeDoc.rows[0].theory.rounds - Math.log(1000) / Math.log(3)) < 1e-9)
})

test('the table and the CSV have a row per k with mean ± sd, and the plot titles its axes', async () => {
  const r = await runLab({ ...opts, mode: 'push', ks: [1, 2] }, { workers: 0 })
  const t = formatTable(r)
  assert.match(t, /^rumor mongering, push, feedback-coin — 300 sites, 24 runs, seed 11/)
  assert.match(t, /s = e\^-\(k\+1\)\(1-s\)/)
  assert.equal(t.split('\n').filter((l) => /^[12] /.test(l)).length, 2)
  const csv = formatCsv(r).trim().split('\n')
  assert.equal(csv.length, 3)
  assert.equal(csv[0].split(',').length, csv[1].split(',').length)
  assert.equal(pm({ mean: 3.29871, sd: 0.0347 }), '3.299 ± 0.035')
  assert.equal(pm({ mean: 16.84, sd: 1.241 }), '16.8 ± 1.2')

  const dir = mkdtempSync(join(tmpdir(), 'lab-'))
  try {
    const c = capture()
    await runLabCommand('rumor', { k: '1..2', nodes: '200', runs: '5', plot: join(dir, 'lab.svg') }, c.io)
    const svg = readFileSync(join(dir, 'lab.svg'), 'utf8')
    for (const text of ['Residue against k', 'Traffic against k', 'k = 2', 'fraction of sites', 'update messages per site']) assert.ok(svg.includes(text), text)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('lab flags take ranges for --k and have defaults, and each mistake is a UsageError naming the flag', () => {
  assert.deepEqual(parseKList('1..5'), [1, 2, 3, 4, 5])
  assert.deepEqual(parseKList('4,1,2..3'), [1, 2, 3, 4])
  const d = parseLabFlags('rumor', {})
  assert.deepEqual([d.lab.mode, d.lab.removal, d.lab.ks, d.lab.nodes, d.lab.runs, d.lab.seed, d.output], ['push', 'feedback-counter', [1, 2, 3, 4, 5], 1000, 400, 1, 'table'])
  assert.equal(parseLabFlags('anti-entropy', { nodes: '1000000' }).lab.runs, 4)
  assert.equal(parseLabFlags('rumor', { pushThenPull: true, nodes: '1024' }).lab.pushThenPull, 10)
  const bad: [string, RawLabFlags, RegExp][] = [
    ['gossip', {}, /^model: expected one of anti-entropy, rumor/],
    ['rumor', { k: '0..3' }, /^--k: expected/],
    ['rumor', { k: '5..2' }, /^--k: expected/],
    ['rumor', { mode: 'pushpull' }, /^--mode: expected one of push, pull, push-pull/],
    ['rumor', { removal: 'coin' }, /^--removal: expected one of feedback-counter/],
    ['rumor', { nodes: '1' }, /^--nodes: expected/],
    ['rumor', { nodes: '10', fanout: '10' }, /^--fanout: expected/],
    ['rumor', { hunt: '2' }, /^--hunt: .*--connection-limit/],
    ['rumor', { json: true, csv: true }, /^--json and --csv/],
    ['rumor', { plot: 'out.jpg' }, /^--plot: expected a file name ending in \.svg or \.png/],
    ['rumor', { mode: 'pull', pushThenPull: true }, /^--push-then-pull: replaces --mode/],
    ['anti-entropy', { k: '2' }, /^--k: applies to rumor mongering only/],
    ['anti-entropy', { removal: 'blind-coin' }, /^--removal: applies to rumor mongering only/],
    ['rumor', { seed: '-1' }, /^--seed: expected/],
  ]
  for (const [model, flags, message] of bad) {
    assert.throws(() => parseLabFlags(model, flags), (err: unknown) => err instanceof UsageError && message.test(err.message), `${model} ${JSON.stringify(flags)}`)
  }
})

test('grapevine lab through the CLI: a table on stdout, exit 2 with the flag named on a mistake, no bar off a terminal', async () => {
  const ok = await runCli(['lab', 'rumor', '--mode', 'pull', '--removal', 'blind-coin', '--k', '2', '--runs', '20'])
  assert.equal(ok.code, 0)
  assert.match(ok.stdout, /^rumor mongering, pull, blind-coin — 1,000 sites, 20 runs, seed 1/)
  assert.equal(ok.stderr, '')
  const bad = await runCli(['lab', 'rumor', '--k', 'x'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--k: expected k values/)
})
