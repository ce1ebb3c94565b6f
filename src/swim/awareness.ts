/**
 * Lifeguard's local health awareness (memberlist awareness.go). The score rises when this node looks
 * like the slow one (missed nacks, failed probes, having to refute) and falls with each successful
 * probe; probe deadlines scale with it so a struggling node accuses others more slowly.
 */
import { scaleTimeoutMs } from './formulas.js'

export class Awareness {
  private current = 0

  /** max = AwarenessMaxMultiplier; the score stays within [0, max − 1]. */
  constructor(private readonly max: number) {}

  get score(): number {
    return this.current
  }

  /** Applies a delta; returns true when the clamped score changed. */
  applyDelta(delta: number): boolean {
    const next = Math.min(this.max - 1, Math.max(0, this.current + delta))
    if (next === this.current) return false
    this.current = next
    return true
  }

  scale(timeoutMs: number): number {
    return scaleTimeoutMs(timeoutMs, this.current)
  }
}
