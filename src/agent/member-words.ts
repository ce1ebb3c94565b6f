/**
 * One word for one state, wherever a user reads it (HTTP API, CLI, logs, events, metrics, event
 * handlers): Serf's. The membership layer and the wire keep memberlist's `dead`; users see `failed`,
 * as `serf members` shows it. Input takes the old spelling `dead` too.
 *
 *   protocol state   alive   suspect   dead     left
 *   user word        alive   suspect   failed   left
 */
import type { MemberState } from '../swim/events.js'

/**
 * The state as users read it (API, CLI, logs, events, metrics): Serf's words — `failed`, not the
 * protocol's internal `dead` (which stays on the wire and inside the membership layer).
 */
export type UserState = 'alive' | 'suspect' | 'failed' | 'left'
export const USER_STATES: readonly UserState[] = ['alive', 'suspect', 'failed', 'left']

export function userState(state: MemberState): UserState {
  return state === 'dead' ? 'failed' : state
}

/** A state given by a user: Serf's words, and `dead` still accepted for `failed`; undefined when unknown. */
export function parseUserState(text: string): UserState | undefined {
  if (text === 'dead') return 'failed'
  return (USER_STATES as readonly string[]).includes(text) ? (text as UserState) : undefined
}
