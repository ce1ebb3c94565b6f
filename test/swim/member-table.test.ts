// The member table's index by address (memberFrom, asked for every incoming packet) is kept up to date
// as names come and rebuilt only after a name left or a member moved; it must answer as a scan of
// every member in insertion order would (the newest name at an address wins).
//
//   ops: put a new name at an address ─┐
//        move a member to an address ──┼─▶ after each op, memberFrom(a) === scan(a) for every address a
//        remove a member ──────────────┘
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SeededRng } from '../../src/core/rng.js'
import type { Address } from '../../src/core/types.js'
import { sameAddress } from '../../src/core/types.js'
import type { Member } from '../../src/swim/member.js'
import { EMPTY } from '../../src/swim/member.js'
import { MemberTable } from '../../src/swim/member-table.js'

const addresses: Address[] = Array.from({ length: 5 }, (_, i) => ({ ip: '10.0.0.1', port: 7000 + i }))

function member(name: string, address: Address): Member {
  return { name, address, addr: new Uint8Array([10, 0, 0, 1]), state: 'alive', incarnation: 0, meta: EMPTY, vsn: EMPTY, stateChangeMs: 0, forgotten: false }
}

/** The answer a full scan in insertion order gives: the last member at the address. */
function scan(table: MemberTable, address: Address): Member | undefined {
  let found: Member | undefined
  for (const m of table.values()) if (sameAddress(m.address, address)) found = m
  return found
}

type Op = { kind: 'put'; at: number } | { kind: 'move'; who: number; at: number } | { kind: 'remove'; who: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), at: fc.nat(addresses.length - 1) }),
  fc.record({ kind: fc.constant('move' as const), who: fc.nat(20), at: fc.nat(addresses.length - 1) }),
  fc.record({ kind: fc.constant('remove' as const), who: fc.nat(20) }),
)

test('memberFrom answers as a scan of every member would, through puts, moves and removals in any order', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const self = member('self', { ip: '10.0.0.2', port: 7946 })
      const table = new MemberTable(new SeededRng(1), self, 30_000)
      table.put(self)
      let next = 0
      for (const o of ops) {
        const present = [...table.values()].filter((m) => m !== self)
        if (o.kind === 'put') {
          const m = member(`n${next++}`, addresses[o.at])
          table.put(m)
          table.insert(m)
        } else if (present.length > 0 && o.kind === 'move') table.setAddress(present[o.who % present.length], addresses[o.at])
        else if (present.length > 0 && o.kind === 'remove') table.remove(present[o.who % present.length])
        for (const a of [...addresses, self.address]) assert.equal(table.memberFrom(a), scan(table, a))
      }
    }),
    { numRuns: 300 },
  )
})

test('a member that moved is found at its new address and no longer at its old one', () => {
  const self = member('self', { ip: '10.0.0.2', port: 7946 })
  const table = new MemberTable(new SeededRng(1), self, 30_000)
  table.put(self)
  const a = member('a', addresses[0])
  table.put(a)
  assert.equal(table.memberFrom(addresses[0]), a)
  table.setAddress(a, addresses[1])
  assert.equal(table.memberFrom(addresses[0]), undefined)
  assert.equal(table.memberFrom(addresses[1]), a)
})
