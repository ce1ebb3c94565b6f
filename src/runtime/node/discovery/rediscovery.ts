/**
 * Rediscovery: after a join, the seeds that name something to look up (host names, dns://, srv://,
 * k8s://) are resolved again every interval, and every address found that is not this node and not a
 * live member is joined. So two halves of a cluster that formed apart (the first pods saw only
 * themselves in DNS; a partition outlived the reconnect timeout) find each other once the records
 * list both. chitchat re-resolves its seed names the same way.
 *
 *   join(seeds) ──track──▶ seeds to look up
 *   every intervalMs:  resolveAll ──▶ addresses − self − live members' ──▶ join (not remembered as seeds)
 *                      ──▶ 'discovery' event { seeds, found, joined, contacted, errors }
 *
 * A round never throws; errors (NXDOMAIN, API down) are in its event and the next round tries again.
 * Addresses it joins are not added to the reconnect loop's seeds: pod IPs come and go, and the names
 * themselves are asked again next round. A refused join (name conflict) stops the rounds, as it stops
 * the reconnect loop, until the next explicit join.
 */
import type { Address } from '../../../core/types.js'
import { addressKey } from '../../../core/types.js'
import type { Resolved } from './seed-resolver.js'

/** What one rediscovery round did. */
export interface DiscoveryEvent {
  /** The seed texts resolved. */
  readonly seeds: readonly string[]
  /** Every address they resolved to ('IP:PORT'). */
  readonly found: readonly string[]
  /** Those that were neither this node nor a live member, and were joined. */
  readonly joined: readonly string[]
  /** How many of those answered. */
  readonly contacted: number
  /** A line per seed that failed to resolve, and the join's failures. */
  readonly errors: readonly string[]
}

export interface RediscoveryHost {
  readonly address: Address
  resolveAll(texts: readonly string[]): Promise<Resolved>
  /** Addresses of members alive or suspect. */
  liveAddresses(): Iterable<Address>
  /** Joins, without remembering the addresses as seeds; resolves with how many answered, or rejects. */
  joinOnce(addresses: readonly Address[]): Promise<number>
  emit(e: DiscoveryEvent): void
}

export class Rediscovery {
  private readonly seeds: string[] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private running = false
  private paused = false
  private stopped = false

  constructor(
    private readonly host: RediscoveryHost,
    private readonly intervalMs: number,
  ) {}

  /** Adds seed texts to re-resolve (those needing a lookup) and starts the rounds. */
  track(texts: readonly string[]): void {
    for (const t of texts) if (!this.seeds.includes(t)) this.seeds.push(t)
    this.paused = false
    if (this.seeds.length > 0 && this.intervalMs > 0 && !this.stopped && this.timer === undefined) this.schedule()
  }

  /** Stops the rounds until the next track() (after a name conflict). */
  pause(): void {
    this.paused = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Stops for good (leave, shutdown). */
  stop(): void {
    this.stopped = true
    this.pause()
  }

  /** One round now (the timer calls it; tests may too). */
  async round(): Promise<DiscoveryEvent | undefined> {
    if (this.running || this.stopped) return undefined
    this.running = true
    try {
      const seeds = [...this.seeds]
      const r = await this.host.resolveAll(seeds)
      if (this.stopped) return undefined
      const known = new Set<string>([addressKey(this.host.address)])
      for (const a of this.host.liveAddresses()) known.add(addressKey(a))
      const fresh = r.addresses.filter((a) => !known.has(addressKey(a)))
      const errors = [...r.errors]
      let contacted = 0
      if (fresh.length > 0) {
        try {
          contacted = await this.host.joinOnce(fresh)
        } catch (e) {
          errors.push((e as Error).message)
          if ((e as Error).name === 'NameConflictError') this.pause()
        }
      }
      const event: DiscoveryEvent = { seeds, found: r.addresses.map(addressKey), joined: fresh.map(addressKey), contacted, errors }
      if (!this.stopped) this.host.emit(event)
      return event
    } finally {
      this.running = false
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.round().finally(() => {
        if (!this.stopped && !this.paused && this.timer === undefined && this.seeds.length > 0) this.schedule()
      })
    }, this.intervalMs)
    this.timer.unref()
  }
}
