/**
 * Preloaded (`node --import`) into each agent the demo cluster starts, so no agent outlives the demo:
 * when the demo's end of our stdin closes (the demo exited, even by SIGKILL), the agent gets SIGTERM
 * and leaves gracefully. Writes to a stdout nobody reads any more are dropped instead of crashing.
 */
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})
process.stdin.on('error', () => {})
const parentGone = (): void => {
  process.kill(process.pid, 'SIGTERM')
}
process.stdin.once('end', parentGone)
process.stdin.resume()

export {}
