/**
 * The errors every layer may throw at its caller, in one place so that any layer can throw or catch
 * them (with `instanceof`, never by comparing names). Each says what changed when it was thrown:
 *
 * - ConfigError: a configuration, an option or an argument of a call was refused. Nothing changed.
 * - NodeStoppedError: an operation on a node that is already shut down. Nothing changed.
 * - UsageError: a command-line mistake (a flag, a scenario value). Nothing ran.
 *
 * Programmer errors are InvariantError (assert.ts); remote input is never thrown at all: it is dropped
 * with a counted reason (wire/decode-error.ts, swim/events.ts's DropReason).
 */

/**
 * A configuration, option or call argument that does not validate. `problems` lists each bad field,
 * in the form `field: expected …, got …`, with its fix. Blast radius: none; nothing was started or changed.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /**
   * `what` names the configuration in the message (`broadcast`, `state`): "invalid broadcast
   * configuration"; without it, "invalid configuration".
   */
  constructor(readonly problems: readonly string[], what?: string) {
    super(`invalid ${what === undefined ? '' : `${what} `}configuration:\n  - ${problems.join('\n  - ')}`)
  }
}

/** An operation on a node that was shut down. Blast radius: none; nothing was sent or changed. */
export class NodeStoppedError extends Error {
  override readonly name = 'NodeStoppedError'
  constructor() {
    super('the node is shut down')
  }
}

/** A command-line mistake; the message is meant for the user as is. Blast radius: none; nothing ran. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
