/**
 * Hybrid logical clocks (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014) for the
 * LWW-Register: a timestamp is (wallMs, logical), where wallMs follows the largest physical time seen and
 * logical counts events within one millisecond, so
 *
 *   local write   -> now(physicalMs)            strictly above every timestamp this clock issued or observed
 *   merge remote  -> observe(ts, physicalMs)    the next local write orders after the remote one
 *
 * even when the physical clocks of two replicas disagree. Ties between replicas (same wallMs and logical)
 * are broken by the writer's node name, which is why LwwRegister stores it beside the timestamp.
 *
 * Pure: `physicalMs` is handed in by the runtime. It must be wall-clock milliseconds since the Unix epoch
 * (comparable across machines), not the monotonic `nowMs` the protocols use for timers.
 */

export interface HlcTimestamp {
  /** Milliseconds since the Unix epoch: the largest physical time known when the timestamp was issued. */
  readonly wallMs: number
  /** Events within `wallMs`, from 0. */
  readonly logical: number
}

export const zeroTimestamp: HlcTimestamp = { wallMs: 0, logical: 0 }

/** Orders timestamps: wallMs first, then logical. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  return 0
}

export class HybridClock {
  private last: HlcTimestamp = zeroTimestamp

  /** A timestamp above every one this clock has issued or observed. */
  now(physicalMs: number): HlcTimestamp {
    const wall = Math.floor(physicalMs)
    this.last = wall > this.last.wallMs ? { wallMs: wall, logical: 0 } : { wallMs: this.last.wallMs, logical: this.last.logical + 1 }
    return this.last
  }

  /** Takes a remote timestamp into account: the next `now` orders after it. */
  observe(remote: HlcTimestamp): void {
    if (compareHlc(remote, this.last) > 0) this.last = remote
  }

  /** The last timestamp issued or observed. */
  get latest(): HlcTimestamp {
    return this.last
  }
}
