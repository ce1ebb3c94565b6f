/**
 * MemberTable: every member a node knows, and the orders the protocol walks them in.
 *
 *   byName      every known member, self included, until reaped (forgotten ones too, for reconnect)
 *   probe list  memberlist's node list: the members the protocol still carries, in probe order;
 *               new members take a random place, a full round-robin pass drops long-dead members
 *               and reshuffles (memberlist resetNodes)
 *   down        members other than ourselves that are dead or left: what reap and reconnect look at
 *   version     bumped on every change the push-pull state shows; keys the encoded-state cache
 *
 * The table changes no member's state itself (the handlers in state-changes.ts do) and has no
 * effects: it keeps the indexes consistent and answers lookups. It draws from the node's Rng in
 * exactly the places memberlist does (insert, reshuffle, kRandomNodes), so the order of those calls
 * is part of the simulator's determinism.
 */
import type { Rng } from '../core/rng.js'
import type { Address } from '../core/types.js'
import { addressKey, sameAddress } from '../core/types.js'
import type { Member } from './member.js'
import { isDeadOrLeft } from './member.js'

export class MemberTable {
  private readonly byName = new Map<string, Member>()
  private readonly downSet = new Set<Member>()
  private probeList: Member[] = []
  private probeIndex = 0
  /** Members not forgotten (self included): memberlist's numNodes. */
  private carriedCount = 0
  private versionCount = 0
  private readonly addressIndex = new Map<string, Member>()
  /**
   * The address index is kept up to date as names come (the newest name at an address wins, as in a
   * rebuild walking names in insertion order) and rebuilt only after a name left or a member moved.
   * It used to be rebuilt on every table change: during a 1,000-node join, O(N) for most packets.
   */
  private addressIndexStale = false

  constructor(
    private readonly rng: Rng,
    private readonly self: Member,
    private readonly gossipToTheDeadTimeMs: number,
  ) {}

  /** memberlist's numNodes: every entry the protocol carries, including recent dead ones and self. */
  get carried(): number {
    return this.carriedCount
  }

  /** Bumped on every change the push-pull state shows. */
  get version(): number {
    return this.versionCount
  }

  /** Every known member, self included. */
  get size(): number {
    return this.byName.size
  }

  /** Members other than ourselves that are dead or left (deleting while iterating is safe). */
  get down(): ReadonlySet<Member> {
    return this.downSet
  }

  /** The members the protocol carries, in probe order. */
  get carriedMembers(): readonly Member[] {
    return this.probeList
  }

  get(name: string): Member | undefined {
    return this.byName.get(name)
  }

  values(): IterableIterator<Member> {
    return this.byName.values()
  }

  /** The member at an address, if any (a linear scan: only for rare paths). */
  memberAt(address: Address): Member | undefined {
    for (const m of this.byName.values()) if (sameAddress(m.address, address)) return m
    return undefined
  }

  /** memberAt through an index by address, rebuilt when the table changed: for every incoming packet. */
  memberFrom(address: Address): Member | undefined {
    if (this.addressIndexStale) {
      this.addressIndex.clear()
      for (const m of this.byName.values()) this.addressIndex.set(addressKey(m.address), m)
      this.addressIndexStale = false
    }
    return this.addressIndex.get(addressKey(address))
  }

  /** Records a member by name; it is carried (probed, gossiped about) only once insert()ed. */
  put(m: Member): void {
    // A name already present keeps its place in the insertion order: only a rebuild knows who wins.
    if (this.byName.has(m.name)) this.addressIndexStale = true
    else if (!this.addressIndexStale) this.addressIndex.set(addressKey(m.address), m)
    this.byName.set(m.name, m)
  }

  /** A member takes `address` (every address change goes through here, for the address index). */
  setAddress(m: Member, address: Address): void {
    if (m.address === address) return
    m.address = address
    this.addressIndexStale = true
  }

  /** Records a change to what the push-pull state shows. */
  changed(): void {
    this.versionCount++
  }

  markDown(m: Member): void {
    this.downSet.add(m)
  }

  markUp(m: Member): void {
    this.downSet.delete(m)
  }

  /**
   * Starts carrying a member. A new member takes a random place in the probe order, as in memberlist;
   * the member it displaces moves to the end (O(1) instead of shifting the list: a 1000-node join
   * inserts a million times).
   */
  insert(m: Member): void {
    const list = this.probeList
    const at = list.length === 0 ? 0 : this.rng.int(list.length + 1)
    if (at === list.length) list.push(m)
    else {
      list.push(list[at])
      list[at] = m
    }
    this.carriedCount++
    this.versionCount++
  }

  /** Removes a failed or left member from the table and the probe list. */
  remove(m: Member): void {
    if (this.byName.delete(m.name)) this.addressIndexStale = true
    this.downSet.delete(m)
    if (!m.forgotten) {
      m.forgotten = true
      this.carriedCount--
      const i = this.probeList.indexOf(m)
      if (i >= 0) {
        this.probeList.splice(i, 1)
        if (i < this.probeIndex) this.probeIndex--
      }
      this.versionCount++
    }
  }

  /** Round-robin over the probe list; a full pass drops long-dead members and reshuffles (memberlist resetNodes). */
  nextProbeTarget(nowMs: number): Member | undefined {
    for (let checked = 0; checked <= this.probeList.length; checked++) {
      if (this.probeIndex >= this.probeList.length) {
        this.resetProbeList(nowMs)
        this.probeIndex = 0
        if (this.probeList.length === 0) return undefined
      }
      const m = this.probeList[this.probeIndex++]
      if (m === this.self || isDeadOrLeft(m.state)) continue
      return m
    }
    return undefined
  }

  /** Up to k distinct random members (never self) satisfying `accept`; memberlist's kRandomNodes. */
  randomMembers(k: number, accept: (m: Member) => boolean): Member[] {
    const list = this.probeList
    const n = list.length
    const out: Member[] = []
    if (k <= 0 || n <= 1) return out
    for (let tries = 0; tries < 3 * n && out.length < k; tries++) {
      const m = list[this.rng.int(n)]
      if (m === this.self || !accept(m) || out.includes(m)) continue
      out.push(m)
    }
    return out
  }

  private resetProbeList(nowMs: number): void {
    const keep: Member[] = []
    for (const m of this.probeList) {
      if (isDeadOrLeft(m.state) && m !== this.self && nowMs - m.stateChangeMs > this.gossipToTheDeadTimeMs) {
        m.forgotten = true
        this.carriedCount--
        continue
      }
      keep.push(m)
    }
    this.probeList = this.rng.shuffle(keep)
    this.versionCount++
  }
}
