/**
 * Runs a simulator scenario in the browser (a Web Worker, so the page stays responsive) and posts its
 * trace back in the `grapevine sim --trace` format. The protocol code is the same that `grapevine sim`
 * runs (pure, virtual time, seeded RNG), so the page's trace is the command's, byte for byte. A request
 * is either the form's knobs or the text of a scenario file (YAML or JSON, as `grapevine sim FILE`).
 */
import { runScenario } from '../../src/runtime/sim/scenario.js'
import type { ScenarioOptions, ScenarioStep } from '../../src/runtime/sim/scenario.js'
import { parseScenario } from '../../src/runtime/sim/scenario-file.js'

export type SimRequest =
  | { kind: 'form'; nodes: number; seed: number; durationMs: number; loss: number; steps: ScenarioStep[] }
  | { kind: 'file'; name: string; text: string; seed: number }

export type SimAnswer = { ok: true; text: string; converged: boolean; wallMs: number; command: string } | { ok: false; error: string }

function optionsOf(r: SimRequest): { options: ScenarioOptions; command: string } {
  if (r.kind === 'form') {
    const options: ScenarioOptions = {
      seed: r.seed, nodes: r.nodes, durationMs: r.durationMs, profile: 'lan',
      network: r.loss > 0 ? { packetLossProbability: r.loss } : {}, steps: r.steps,
    }
    return { options, command: '' }
  }
  const file = parseScenario(r.text, r.name)
  const seed = file.seed ?? r.seed
  return { options: { ...file.scenario, seed }, command: `grapevine sim ${r.name} --seed ${seed}` }
}

self.onmessage = (e: MessageEvent<SimRequest>) => {
  const lines: string[] = []
  const start = performance.now()
  try {
    const { options, command } = optionsOf(e.data)
    const report = runScenario({ ...options, trace: (line) => lines.push(line) })
    const answer: SimAnswer = { ok: true, text: lines.join('\n') + '\n', converged: report.converged, wallMs: Math.round(performance.now() - start), command }
    postMessage(answer)
  } catch (err) {
    postMessage({ ok: false, error: (err as Error).message } satisfies SimAnswer)
  }
}
