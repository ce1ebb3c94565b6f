/**
 * Programmer errors. An InvariantError is a bug in Grapevine, never a reaction to remote input:
 * remote input is bounded, typed and dropped with a counted reason instead.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError'
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message)
}
