/**
 * The simulation's queue items: one class for every kind (timer firing, datagram delivery, stream
 * request, stream result, stream timeout, pause end, scheduled action) so the hot loop stays
 * monomorphic, and the record of one stream exchange.
 */
import type { StreamResult } from '../../core/effects.js'
import type { NodeTimer } from '../../node/index.js'
import type { SimNode } from './node.js'

export interface Exchange {
  readonly id: number
  readonly opener: SimNode
  readonly openerGen: number
  readonly exchangeId: number
  readonly target: SimNode | undefined
  readonly bytes: Uint8Array
  readonly expectReply: boolean
  done: boolean
}

/** Item kinds. */
export const TIMER = 0
export const PACKET = 1
export const STREAM_REQUEST = 2
export const STREAM_RESULT = 3
export const STREAM_TIMEOUT = 4
export const RESUME = 5
export const ACTION = 6

/** One queue entry; a single class so the hot loop stays monomorphic. */
export class Item {
  constructor(
    readonly kind: number,
    readonly node: SimNode | null,
    /** Generation the item belongs to (timers, stream results), or the pause token (resume). */
    readonly gen: number,
    readonly timer: NodeTimer | null,
    readonly from: SimNode | null,
    readonly bytes: Uint8Array | null,
    readonly stream: Exchange | null,
    readonly result: StreamResult | null,
    readonly action: (() => void) | null,
  ) {}
}

export const EMPTY = new Uint8Array(0)
export const OK_EMPTY: StreamResult = Object.freeze({ ok: true, bytes: EMPTY })
export const REFUSED: StreamResult = Object.freeze({ ok: false, error: 'refused' })
export const TIMEOUT: StreamResult = Object.freeze({ ok: false, error: 'timeout' })
export const RESET: StreamResult = Object.freeze({ ok: false, error: 'reset' })
