/**
 * Stands in for the Node built-ins (and the plot writer) that the simulator's command-line modules
 * import, in the browser bundle. The simulator only feature-tests zlib.crc32 (undefined here: it uses
 * its own table); the file, path, crypto and plot functions are never called on the page's code path.
 */
const unavailable = (what: string) => (): never => {
  throw new Error(`${what} is not available in the browser`)
}
export const crc32 = undefined
export const readFileSync = unavailable('reading files')
export const openSync = unavailable('writing files')
export const writeSync = unavailable('writing files')
export const closeSync = unavailable('writing files')
export const randomInt = unavailable('node:crypto')
export const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1)
export const checkPlotFile = (): void => {}
export const writePlot = unavailable('plotting to a file')
