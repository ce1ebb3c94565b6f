/**
 * Reading the operator's files (config, keyring, scenario, snapshot) with a size cap checked before
 * the file is read, so a wrong path (a log, a device, a huge dump) fails with a clear message instead
 * of filling memory. The caps are listed with every other limit in SECURITY.md.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** Largest config file (JSON) read by `grapevine agent --config`. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024
/** Largest keyring file (a JSON array of base64 keys). */
export const KEYRING_FILE_MAX_BYTES = 64 * 1024
/** Largest scenario file (YAML or JSON) read by `grapevine sim FILE`. */
export const SCENARIO_FILE_MAX_BYTES = 1024 * 1024
/** Largest snapshot file read at start (members and their addresses). */
export const SNAPSHOT_FILE_MAX_BYTES = 16 * 1024 * 1024

/** Thrown when a file is over its cap; nothing was read. */
export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError'
  readonly code = 'EFBIG'
}

/** The file's text (UTF-8), if it is at most `maxBytes`; throws FileTooLargeError (or the fs error) otherwise. */
export function readBoundedText(path: string, maxBytes: number, what: string): string {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    if (size > maxBytes) throw new FileTooLargeError(`${what} ${path} is ${size} bytes; at most ${maxBytes} are read (is it the right file?)`)
    // Read to the end, counting: a file that grows meanwhile, or a device that reports size 0, stays bounded.
    const chunks: Buffer[] = []
    const chunk = Buffer.alloc(64 * 1024)
    let total = 0
    for (let got = readSync(fd, chunk); got > 0; got = readSync(fd, chunk)) {
      total += got
      if (total > maxBytes) throw new FileTooLargeError(`${what} ${path} is over ${maxBytes} bytes; at most ${maxBytes} are read (is it the right file?)`)
      chunks.push(Buffer.from(chunk.subarray(0, got)))
    }
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    closeSync(fd)
  }
}
