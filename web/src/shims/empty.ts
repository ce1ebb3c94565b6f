// Stands in for node:zlib in the browser bundle: the simulator only feature-tests zlib.crc32 and
// falls back to its own table when it is missing.
export const crc32 = undefined
