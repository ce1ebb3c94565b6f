/**
 * Where the membership layer puts its effects: the core's Outbox typed with SWIM's timers and events.
 * Its own file so that swim.ts and the parts it drives (probe-cycle, push-pull, state-changes, sender)
 * all name it without importing each other.
 */
import type { Outbox } from '../core/effects.js'
import type { SwimEvent } from './events.js'
import type { SwimTimer } from './timers.js'

export type SwimOutbox = Outbox<SwimTimer, SwimEvent>
