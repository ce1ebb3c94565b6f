/**
 * Serf's Lamport clock (serf/lamport.go). Serf keeps three independent ones: the member clock (join and
 * leave intents), the event clock (user events) and the query clock. Values are uint64 in Go; here they
 * are safe integers, which a clock incremented once per message cannot outgrow.
 *
 *   witness(v): v ≥ time → time = v + 1     (we have now seen v, so our next message is later)
 *   increment(): time + 1, returns the new time
 *
 * Serf starts every clock at 1 (`Create` increments each once), so a fresh clock here starts at 1 too.
 */
export class LamportClock {
  private counter: number

  constructor(start = 1) {
    this.counter = start
  }

  /** The current time. */
  time(): number {
    return this.counter
  }

  /** Advances the clock; returns the new time. */
  increment(): number {
    this.counter++
    return this.counter
  }

  /** Records a time seen from another node: afterwards time() > v. Ignores anything not a safe integer. */
  witness(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0 || v >= Number.MAX_SAFE_INTEGER) return
    if (v >= this.counter) this.counter = v + 1
  }
}
