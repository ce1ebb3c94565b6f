/**
 * Durable CRDT state: the node's keys in an LMDB file under its data directory (`dataDir`).
 *
 *   startNode({ dataDir }) ──▶ openCrdtStore: meta checked (format, node name) ──▶ every key decoded
 *        ──▶ the composed node starts from them, under the replica id it wrote them with
 *   a write here ──▶ commit(record): one synchronous LMDB transaction, inside the write, before its
 *        delta is queued (a failed commit undoes the write: it rejects and nothing spreads)
 *   a change from a peer ──▶ crdtChanged ──▶ changed(keys) ──▶ flush() within FLUSH_DELAY_MS, one
 *        synchronous transaction of the dirty keys' current states and seqs
 *
 * So a restarted node holds every delta it ever sent (its seqs and counter entries continue where they
 * stopped: nothing lost, nothing counted twice). A node whose graceful leave handed its state to an heir
 * (replication/handoff.ts) retires the file's replica: its keys are deleted and the next start takes a
 * new replica id with no keys (the heir now carries what it wrote; the cluster hands the rest back). A file that is not LMDB, an LMDB file without
 * Grapevine's meta record, another node's file, or a record that does not decode is an error naming
 * the file and the fix; nothing is deleted or overwritten.
 *
 * LMDB (the `lmdb` package): memory-mapped, crash-safe copy-on-write B-tree with synchronous commits,
 * made for exactly this. It is loaded on first use, so a node without a data directory does not need it.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, decodeCrdt, decodeReplicationMessage, encodeReplicationMessage, kindType, parseKey, PEER_CHANGES_FLUSH_MS, replicaId } from '../../node/index.js'
import type { KeyChange, KeyRecord } from '../../node/index.js'

/** The file's format, in its meta record. */
const FORMAT = 'grapevine-crdt'
const VERSION = 1
const META_KEY = 'meta'
const KEY_PREFIX = 'k/'
/** Changes that came from peers are written within this long. */
const FLUSH_DELAY_MS = PEER_CHANGES_FLUSH_MS

/** A data file that cannot be used. Blast radius: nothing was started, changed or deleted. */
export class CrdtStoreError extends Error {
  override readonly name = 'CrdtStoreError'
}

interface LmdbDatabase {
  get(key: string): Uint8Array | undefined
  getRange(o: { start?: string; end?: string }): Iterable<{ key: string | number | unknown; value: Uint8Array }>
  put(key: string, value: Uint8Array): unknown
  remove(key: string): unknown
  transactionSync<T>(fn: () => T): T
  close(): Promise<void>
}

export interface CrdtRestore {
  readonly replica: string
  readonly keys: readonly KeyRecord[]
}

export class CrdtStore {
  private readonly dirty = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  /** Where current records come from (the node's replicator), set once the node exists. */
  private source: ((key: string) => KeyRecord | undefined) | undefined
  writes = 0

  private constructor(
    readonly path: string,
    private readonly db: LmdbDatabase,
    private readonly name: string,
  ) {}

  /** Opens (or creates) the store of node `name` in `dataDir` and reads it back. */
  static async open(dataDir: string, name: string, generation: number): Promise<{ store: CrdtStore; restore: CrdtRestore }> {
    let lmdb: { open: (o: object) => LmdbDatabase }
    try {
      lmdb = (await import('lmdb')) as unknown as typeof lmdb
    } catch (e) {
      throw new ConfigError([`dataDir: durable CRDT state is kept with the 'lmdb' package, which could not be loaded (${(e as Error).message}); install it with: npm install lmdb`])
    }
    try {
      mkdirSync(dataDir, { recursive: true })
    } catch (e) {
      throw new ConfigError([`dataDir: cannot create ${dataDir} (${(e as Error).message}); give a directory this process may write`])
    }
    const path = join(dataDir, 'crdt.mdb')
    const notLmdb = lmdbProblem(path)
    if (notLmdb !== undefined) {
      throw new CrdtStoreError(`${path}: not an LMDB file (${notLmdb}). It is corrupt or not Grapevine's; nothing was changed. Move it away to start this node's replicated data afresh, or give another dataDir`)
    }
    let db: LmdbDatabase
    try {
      db = lmdb.open({ path, encoding: 'binary', compression: false })
    } catch (e) {
      throw new CrdtStoreError(`${path}: not a usable LMDB file (${(e as Error).message}). It is corrupt or not Grapevine's; nothing was changed. Move it away to start this node's replicated data afresh, or give another dataDir`)
    }
    try {
      const restore = readBack(path, db, name, generation)
      return { store: new CrdtStore(path, db, name), restore }
    } catch (e) {
      await db.close()
      throw e
    }
  }

  /** Connects the node's replicator: where flush() reads the current state of a dirty key. */
  bind(source: (key: string) => KeyRecord | undefined): void {
    this.source = source
  }

  /** Keys that changed; those from peers are written within FLUSH_DELAY_MS, ours by the writer's flush(). */
  changed(changes: readonly KeyChange[]): void {
    for (const c of changes) this.dirty.add(c.key)
    if (this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, FLUSH_DELAY_MS)
      this.timer.unref?.()
    }
  }

  /**
   * Writes one key's record in a synchronous transaction: a write of ours, before its delta is queued
   * (replicator.ts setDurableCommit). Throws when the store is closed or the commit fails; the
   * replicator then undoes the write.
   */
  commit(rec: KeyRecord): void {
    if (this.closed) throw new Error(`${this.path} is closed`)
    this.db.transactionSync(() => this.db.put(KEY_PREFIX + rec.key, encodeRecord(rec)))
    this.writes++
  }

  /**
   * The node's replica is about to be handed to an heir as it leaves (called before the commit is sent):
   * its keys are deleted and the meta marks it retired, in one transaction, so the next start neither
   * reuses the retired id nor folds it again. Throws when closed or when the disk refused: no commit then.
   */
  retire(): void {
    if (this.closed) throw new Error(`${this.path} is closed`)
    this.dirty.clear()
    this.source = undefined
    this.db.transactionSync(() => {
      for (const { key } of [...this.db.getRange({ start: KEY_PREFIX, end: `${KEY_PREFIX}\uffff` })]) this.db.remove(String(key))
      this.db.put(META_KEY, new TextEncoder().encode(JSON.stringify({ format: FORMAT, version: VERSION, name: this.name, retired: true })))
    })
    this.writes++
  }

  /** Writes every dirty key's current state and seqs in one synchronous transaction. */
  flush(): void {
    if (this.closed || this.dirty.size === 0 || this.source === undefined) return
    const keys = [...this.dirty]
    this.dirty.clear()
    const source = this.source
    this.db.transactionSync(() => {
      for (const key of keys) {
        const rec = source(key)
        if (rec !== undefined) this.db.put(KEY_PREFIX + key, encodeRecord(rec))
      }
    })
    this.writes++
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.flush()
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    await this.db.close()
  }
}

/** LMDB's meta pages: the magic 0xBEEFC0DE (little-endian) after each page's 24-byte header, pages of 4096 bytes. */
const LMDB_PAGE_BYTES = 4096
const LMDB_MAGIC_OFFSET = 24
const LMDB_MAGIC = 0xbeefc0de

/**
 * Why an existing file is not an LMDB file, or undefined (absent, or both meta pages carry the magic).
 * Checked before LMDB maps it: LMDB trusts its file, and a non-LMDB file can crash the process.
 */
function lmdbProblem(path: string): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : `cannot read it: ${(e as Error).message}`
  }
  try {
    const size = fstatSync(fd).size
    if (size < 2 * LMDB_PAGE_BYTES) return `${size} bytes, shorter than LMDB's two meta pages`
    const head = Buffer.alloc(4)
    for (const page of [0, 1]) {
      readSync(fd, head, 0, 4, page * LMDB_PAGE_BYTES + LMDB_MAGIC_OFFSET)
      if (head.readUInt32LE(0) !== LMDB_MAGIC) return `meta page ${page} lacks LMDB's magic number`
    }
    return undefined
  } finally {
    closeSync(fd)
  }
}

function encodeRecord(rec: KeyRecord): Uint8Array {
  return encodeReplicationMessage({ kind: 'states', states: [{ key: rec.key, state: rec.state, seqs: rec.seqs, want: false }], need: [] })
}

function readBack(path: string, db: LmdbDatabase, name: string, generation: number): CrdtRestore {
  const foreign = (why: string): CrdtStoreError =>
    new CrdtStoreError(`${path}: ${why}. Nothing was changed or deleted; move the file away to start this node's replicated data afresh, or give another dataDir`)
  let meta: { format?: unknown; version?: unknown; name?: unknown; replica?: unknown; retired?: unknown }
  const fresh = (): CrdtRestore => {
    const replica = replicaId(name, generation)
    db.transactionSync(() => db.put(META_KEY, new TextEncoder().encode(JSON.stringify({ format: FORMAT, version: VERSION, name, replica }))))
    return { replica, keys: [] }
  }
  const raw = db.get(META_KEY)
  if (raw === undefined) {
    for (const _ of db.getRange({})) throw foreign('holds records but no Grapevine meta record: it is not a Grapevine CRDT file')
    return fresh()
  }
  try {
    meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)) as typeof meta
  } catch {
    throw foreign('its meta record is not Grapevine\'s (not JSON)')
  }
  if (meta.format !== FORMAT) throw foreign(`its meta record names format ${JSON.stringify(meta.format)}, not ${FORMAT}`)
  if (meta.version !== VERSION) throw foreign(`it is format version ${JSON.stringify(meta.version)}; this build reads version ${VERSION}`)
  if (meta.name !== name) throw foreign(`it holds the replicated data of node ${JSON.stringify(meta.name)}, and this node is ${JSON.stringify(name)}: every node needs a data directory of its own`)
  // Handed to an heir when the node left (retire()): a new replica id, no keys.
  if (meta.retired === true) return fresh()
  if (typeof meta.replica !== 'string' || meta.replica.length === 0) throw foreign('its meta record has no replica id')
  const keys: KeyRecord[] = []
  for (const { key, value } of db.getRange({ start: KEY_PREFIX, end: `${KEY_PREFIX}\uffff` })) {
    const d = decodeReplicationMessage(value)
    if (!d.ok || d.value.kind !== 'states' || d.value.states.length !== 1 || KEY_PREFIX + d.value.states[0].key !== key) {
      throw foreign(`the record of ${JSON.stringify(key)} does not decode (${d.ok ? 'not one key state' : d.error.message}): the file is damaged`)
    }
    const s = d.value.states[0]
    const kind = parseKey(s.key)
    const state = kind === undefined ? undefined : decodeCrdt(s.state, kindType[kind.kind])
    if (state === undefined || !state.ok) throw foreign(`the state of ${JSON.stringify(s.key)} does not decode (${state === undefined ? 'unknown kind' : state.error.message}): the file is damaged`)
    keys.push({ key: s.key, state: s.state, seqs: s.seqs })
  }
  return { replica: meta.replica, keys }
}
