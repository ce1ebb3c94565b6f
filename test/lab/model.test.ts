/**
 * The lab's models against what the paper (Demers et al. 1987) measured or derived. Fixed seeds make
 * every test deterministic; the tolerances are several standard errors wide (sd / sqrt(runs) from the
 * runs themselves) so that a different generator or seed derivation would pass too, while a change of
 * the model's rules (counter reset, state at the start of the cycle, who sends) would not.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Arena, runOnce } from '../../src/lab/model.js'
import type { ModelConfig } from '../../src/lab/model.js'
import { runLab } from '../../src/lab/runner.js'
import type { LabOptions, LabRow } from '../../src/lab/runner.js'
import { antiEntropyRounds, deterministicResidue } from '../../src/lab/theory.js'

const base: LabOptions = {
  model: 'rumor',
  mode: 'push',
  removal: 'feedback-counter',
  ks: [1],
  nodes: 1000,
  runs: 200,
  seed: 7,
  fanout: 1,
  connectionLimit: 0,
  hunt: 0,
  maxCycles: 100_000,
}

const lab = async (o: Partial<LabOptions>): Promise<LabRow[]> => (await runLab({ ...base, ...o }, { workers: 0 })).rows

/** |measured - expected| within `se` standard errors of the mean, plus an absolute slack for model error. */
function near(name: string, mean: number, sd: number, runs: number, expected: number, se: number, slack = 0): void {
  const bound = (se * sd) / Math.sqrt(runs) + slack
  assert.ok(Math.abs(mean - expected) <= bound, `${name}: ${mean} vs ${expected} (allowed ±${bound.toPrecision(3)})`)
}

test('push, feedback, counter reproduces the paper\'s Table 1 (1000 sites, k = 1..3)', async () => {
  const paper = [
    { residue: 0.176, traffic: 1.74, tLast: 16.8 },
    { residue: 0.037, traffic: 3.3, tLast: 16.9 },
    { residue: 0.011, traffic: 4.53, tLast: 17.4 },
  ]
  const rows = await lab({ ks: [1, 2, 3] })
  rows.forEach((row, i) => {
    // The paper's figures are rounded to 2–3 digits and come from its own finite number of runs.
    near(`k=${row.k} residue`, row.residue.mean, row.residue.sd, 200, paper[i].residue, 5, 0.002)
    near(`k=${row.k} traffic`, row.traffic.mean, row.traffic.sd, 200, paper[i].traffic, 5, 0.02)
    near(`k=${row.k} t_last`, row.tLast.mean, row.tLast.sd, 200, paper[i].tLast, 5, 0.2)
  })
})

test('pull, feedback, counter reproduces the paper\'s pull table (k = 1, 2)', async () => {
  const rows = await lab({ mode: 'pull', ks: [1, 2], runs: 150 })
  near('k=1 residue', rows[0].residue.mean, rows[0].residue.sd, 150, 0.031, 5, 0.002)
  near('k=1 traffic', rows[0].traffic.mean, rows[0].traffic.sd, 150, 2.7, 5, 0.03)
  near('k=2 traffic', rows[1].traffic.mean, rows[1].traffic.sd, 150, 4.5, 5, 0.03)
  near('k=1 t_last', rows[0].tLast.mean, rows[0].tLast.sd, 150, 17.6, 5, 0.2)
  near('k=2 t_last', rows[1].tLast.mean, rows[1].tLast.sd, 150, 15.4, 5, 0.2)
  assert.ok(rows[1].residue.mean < 0.003, `k=2 residue ${rows[1].residue.mean} (paper 5.8e-4)`)
})

test('push rumor mongering obeys s = e^-m whatever the removal rule', async () => {
  for (const removal of ['feedback-counter', 'feedback-coin', 'blind-counter', 'blind-coin'] as const) {
    const rows = await lab({ removal, ks: [2, 3], nodes: 5000, runs: 40 })
    for (const row of rows) {
      const predicted = Math.exp(-row.traffic.mean)
      const rel = Math.abs(row.residue.mean - predicted) / predicted
      assert.ok(rel < 0.1, `${removal} k=${row.k}: s=${row.residue.mean} e^-m=${predicted}`)
    }
  }
})

test('the deterministic model bounds the feedback-coin residue from above, within 25%', async () => {
  // s = e^{-(k+1)(1-s)} is the continuous-time model; the cycle-driven epidemic ends a little lower.
  const rows = await lab({ removal: 'feedback-coin', ks: [1, 2, 3], nodes: 20000, runs: 10 })
  for (const row of rows) {
    const det = deterministicResidue(row.k)
    assert.ok(Math.abs(det - Math.exp(-(row.k + 1) * (1 - det))) < 1e-12, 'the root solves the equation')
    assert.ok(row.residue.mean < det && row.residue.mean > 0.75 * det, `k=${row.k}: ${row.residue.mean} vs ${det}`)
  }
  assert.ok(Math.abs(deterministicResidue(1) - 0.2032) < 1e-4)
})

test('blind coin with k = 1 dies out after about sqrt(pi N / 2) sites, as in the paper (residue ~0.96)', async () => {
  const [row] = await lab({ removal: 'blind-coin', runs: 300 })
  near('residue', row.residue.mean, row.residue.sd, 300, 1 - Math.sqrt((Math.PI * 1000) / 2) / 1000, 5, 0.005)
})

test('blind counter: every site that learns the rumor sends it exactly k times', () => {
  const cfg: ModelConfig = { ...base, ks: undefined, k: 3, removal: 'blind-counter', nodes: 500 } as unknown as ModelConfig
  const arena = new Arena(500)
  for (let seed = 1; seed <= 5; seed++) {
    const o = runOnce(cfg, seed, arena)
    const known = 500 * (1 - o.residue)
    assert.equal(Math.round(o.traffic * 500), 3 * Math.round(known))
  }
})

/** Susceptible fraction after each cycle of one run (curve triples S, I, R). */
function susceptible(o: { curve: Int32Array }, n: number): number[] {
  const out: number[] = []
  for (let t = 0; t < o.curve.length; t += 3) out.push(o.curve[t] / n)
  return out
}

test('anti-entropy tails: pull squares the susceptible fraction, push multiplies it by e^-(1-s)', () => {
  const n = 200_000
  const arena = new Arena(n)
  const cfg = (mode: ModelConfig['mode']): ModelConfig => ({ model: 'anti-entropy', mode, removal: 'feedback-counter', k: 1, nodes: n, fanout: 1, connectionLimit: 0, hunt: 0, maxCycles: 1000 })
  const expect = {
    pull: (s: number) => (s * (s * n - 1)) / (n - 1),
    push: (s: number) => s * Math.exp(-(1 - s)),
    'push-pull': (s: number) => s * s * Math.exp(-(1 - s)),
  }
  for (const mode of ['pull', 'push', 'push-pull'] as const) {
    const s = susceptible(runOnce(cfg(mode), 3, arena), n)
    let checked = 0
    for (let t = 0; t + 1 < s.length; t++) {
      // Only cycles with many susceptible sites before and after: small counts are all noise.
      if (s[t] > 0.5 || s[t] * n < 2000 || s[t + 1] * n < 200) continue
      const ratio = s[t + 1] / expect[mode](s[t])
      assert.ok(ratio > 0.85 && ratio < 1.15, `${mode} cycle ${t}: ${s[t]} -> ${s[t + 1]} (ratio ${ratio})`)
      checked++
    }
    assert.ok(checked >= 1, `${mode}: no cycle in the tail to check`)
  }
  // The tail in numbers: push loses about a factor e per cycle once nearly everyone knows.
  const push = susceptible(runOnce(cfg('push'), 4, arena), n)
  const i = push.findIndex((x) => x < 0.05)
  assert.ok(push[i + 1] / push[i] > 0.3 && push[i + 1] / push[i] < 0.45, `push tail ratio ${push[i + 1] / push[i]}`)
})

test('anti-entropy completes in about log2 N + ln N cycles (push) and log3 N (push-pull)', async () => {
  const n = 10_000
  const [push] = await lab({ model: 'anti-entropy', mode: 'push', ks: [0], nodes: n, runs: 40 })
  const [pp] = await lab({ model: 'anti-entropy', mode: 'push-pull', ks: [0], nodes: n, runs: 40 })
  assert.equal(push.residue.mean, 0)
  // Pittel: log2 N + ln N + O(1); push-pull: log3 N + O(ln ln N).
  assert.ok(Math.abs(push.rounds.mean - (antiEntropyRounds('push', n) ?? 0)) < 2.5, `push ${push.rounds.mean}`)
  const l3 = antiEntropyRounds('push-pull', n) ?? 0
  assert.ok(pp.rounds.mean > l3 && pp.rounds.mean < l3 + 2 * Math.log(Math.log(n)) + 1, `push-pull ${pp.rounds.mean} vs log3 N ${l3}`)
  assert.equal(push.theory.rounds, antiEntropyRounds('push', n))
})

test('connection limit slows push-pull anti-entropy and hunting wins most of it back', async () => {
  const o = { model: 'anti-entropy' as const, mode: 'push-pull' as const, ks: [0], nodes: 5000, runs: 40 }
  const [free] = await lab(o)
  const [limited] = await lab({ ...o, connectionLimit: 1 })
  const [hunting] = await lab({ ...o, connectionLimit: 1, hunt: 2 })
  assert.ok(limited.rounds.mean > free.rounds.mean + 2, `limit 1: ${limited.rounds.mean} vs ${free.rounds.mean}`)
  assert.ok(hunting.rounds.mean < limited.rounds.mean - 1.5, `hunting: ${hunting.rounds.mean} vs ${limited.rounds.mean}`)
  assert.equal(limited.residue.mean, 0)
})

test('fanout 2 and first-push-then-pull finish push anti-entropy sooner', async () => {
  const o = { model: 'anti-entropy' as const, mode: 'push' as const, ks: [0], nodes: 10_000, runs: 30 }
  const [push] = await lab(o)
  const [fan2] = await lab({ ...o, fanout: 2 })
  const [ptp] = await lab({ ...o, pushThenPull: 14 })
  assert.ok(fan2.rounds.mean < push.rounds.mean - 5, `fanout 2: ${fan2.rounds.mean} vs ${push.rounds.mean}`)
  assert.ok(ptp.rounds.mean < push.rounds.mean - 3, `push then pull: ${ptp.rounds.mean} vs ${push.rounds.mean}`)
  // Pulling only by those who lack the update costs at most one message per site after the switch.
  assert.ok(ptp.traffic.mean < push.traffic.mean, `traffic ${ptp.traffic.mean} vs ${push.traffic.mean}`)
})

test('fractions per cycle: S + I + R = 1, S falls and R rises', async () => {
  const [row] = await lab({ ks: [2], runs: 50 })
  const c = row.curves
  for (let t = 0; t < c.susceptible.length; t++) {
    assert.ok(Math.abs(c.susceptible[t] + c.infective[t] + c.removed[t] - 1) < 1e-9)
    if (t > 0) {
      assert.ok(c.susceptible[t] <= c.susceptible[t - 1] + 1e-12)
      assert.ok(c.removed[t] >= c.removed[t - 1] - 1e-12)
    }
  }
  assert.ok(Math.abs(c.susceptible[0] - 999 / 1000) < 1e-12)
  assert.ok(Math.abs(c.susceptible[c.susceptible.length - 1] - row.residue.mean) < 1e-9)
  assert.equal(c.infective[c.infective.length - 1], 0)
})
