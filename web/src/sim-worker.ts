/**
 * Runs a simulator scenario in the browser (a Web Worker, so the page stays responsive) and posts its
 * trace back in the `grapevine sim --trace` format, with the run's report. The protocol code is the
 * same that `grapevine sim` runs: pure, with virtual time and a seeded RNG.
 */
import { runScenario } from '../../src/runtime/sim/scenario.js'
import type { ScenarioStep } from '../../src/runtime/sim/scenario.js'

export interface SimRequest {
  nodes: number
  seed: number
  durationMs: number
  loss: number
  steps: ScenarioStep[]
}

export type SimAnswer = { ok: true; text: string; converged: boolean; wallMs: number } | { ok: false; error: string }

self.onmessage = (e: MessageEvent<SimRequest>) => {
  const r = e.data
  const lines: string[] = []
  const start = performance.now()
  try {
    const report = runScenario({
      seed: r.seed,
      nodes: r.nodes,
      durationMs: r.durationMs,
      profile: 'lan',
      network: r.loss > 0 ? { packetLossProbability: r.loss } : {},
      steps: r.steps,
      trace: (line) => lines.push(line),
    })
    const answer: SimAnswer = { ok: true, text: lines.join('\n') + '\n', converged: report.converged, wallMs: Math.round(performance.now() - start) }
    postMessage(answer)
  } catch (err) {
    postMessage({ ok: false, error: (err as Error).message } satisfies SimAnswer)
  }
}
