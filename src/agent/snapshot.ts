/**
 * The agent's snapshot file, in the spirit of Serf's: the addresses of the members this node knew and
 * its own incarnation, so a restarted agent rejoins without seeds. Written atomically (a temporary
 * file in the same folder, then rename), so a crash mid-write leaves the previous snapshot intact.
 *
 * Format (JSON, version 1):
 *   { "version": 1, "name": "web-1", "incarnation": 4, "left": false, "tags": { "role": "web" },
 *     "members": [{ "name": "web-2", "address": "10.0.0.6:7946" }] }
 *
 * `tags` are this node's tags as last set (at start or at runtime, `grapevine tags`), so tags changed
 * at runtime survive a restart, as with Serf's tags file. Older snapshots without it are read as before.
 *
 * `left` is true after a graceful leave: like Serf, a restarted agent then does not rejoin the old
 * members unless asked to (`--rejoin-after-leave`).
 */
import { rename, writeFile } from 'node:fs/promises'
import type { GrapevineNode } from '../runtime/node/start-node.js'
import { memberJson } from './http/respond.js'
import { SNAPSHOT_FILE_MAX_BYTES, readBoundedText } from './bounded-read.js'

export interface SnapshotData {
  readonly version: 1
  readonly name: string
  readonly incarnation: number
  readonly left: boolean
  /** This node's tags when written; undefined in snapshots from before runtime tags. */
  readonly tags?: Readonly<Record<string, string>>
  readonly members: ReadonlyArray<{ readonly name: string; readonly address: string }>
}

/** Reads a snapshot; undefined when the file does not exist. Throws with a reason when it is unreadable. */
export async function readSnapshot(path: string): Promise<SnapshotData | undefined> {
  let text: string
  try {
    text = readBoundedText(path, SNAPSHOT_FILE_MAX_BYTES, 'snapshot')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  const d = JSON.parse(text) as Partial<SnapshotData>
  if (d === null || typeof d !== 'object' || d.version !== 1 || !Array.isArray(d.members)) {
    throw new Error(`${path}: not a version-1 grapevine snapshot`)
  }
  const members = d.members.filter((m) => m !== null && typeof m === 'object' && typeof m.name === 'string' && typeof m.address === 'string')
  const t = d.tags as unknown
  const tags = t !== null && typeof t === 'object' && !Array.isArray(t) && Object.values(t).every((v) => typeof v === 'string') ? (t as Record<string, string>) : undefined
  return { version: 1, name: String(d.name ?? ''), incarnation: Number(d.incarnation ?? 0), left: d.left === true, ...(tags === undefined ? {} : { tags }), members }
}

/** The snapshot of a node now: live members other than itself. */
export function snapshotOf(node: GrapevineNode, left: boolean): SnapshotData {
  const members = node
    .members()
    .filter((m) => m.name !== node.name && (m.state === 'alive' || m.state === 'suspect'))
    .map((m) => ({ name: m.name, address: memberJson(m).address as string }))
  const self = node.localMember()
  return { version: 1, name: node.name, incarnation: self.incarnation, left, tags: self.tags, members }
}

/** Writes atomically: temp file next to the target, then rename over it. */
export async function writeSnapshot(path: string, data: SnapshotData): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 })
  await rename(tmp, path)
}

/**
 * Keeps a node's snapshot current: writes soon after a membership change (coalesced) and every
 * `intervalMs`; writes are serialised so an older one never lands after a newer one.
 */
export class SnapshotWriter {
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly periodic: ReturnType<typeof setInterval>
  private chain: Promise<void> = Promise.resolve()
  private lastText = ''
  private stopped = false
  private readonly onChange = (): void => this.soon()

  constructor(
    private readonly node: GrapevineNode,
    readonly path: string,
    private readonly onError: (e: Error) => void,
    private readonly debounceMs = 200,
    intervalMs = 30_000,
  ) {
    node.on('member', this.onChange)
    this.periodic = setInterval(() => void this.write(false), intervalMs)
    this.periodic.unref()
  }

  /** Writes soon (coalesced), e.g. after this node's tags changed. */
  soon(): void {
    if (this.stopped || this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.write(false)
    }, this.debounceMs)
    this.timer.unref()
  }

  /** Writes the current state (skipped when unchanged); errors go to onError. */
  write(left: boolean): Promise<void> {
    const data = snapshotOf(this.node, left)
    this.chain = this.chain.then(async () => {
      const text = JSON.stringify(data)
      if (text === this.lastText) return
      try {
        await writeSnapshot(this.path, data)
        this.lastText = text
      } catch (e) {
        this.onError(e as Error)
      }
    })
    return this.chain
  }

  /** Stops the timers and writes a final snapshot (`left` after a graceful leave). */
  async stop(left: boolean): Promise<void> {
    if (this.stopped) return this.chain
    this.stopped = true
    this.node.off('member', this.onChange)
    clearInterval(this.periodic)
    if (this.timer !== undefined) clearTimeout(this.timer)
    await this.write(left)
  }
}
