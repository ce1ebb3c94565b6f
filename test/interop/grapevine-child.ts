// A Grapevine node in its own process for the Serf interop tests (so a test can SIGKILL or SIGSTOP it).
// argv[2]: startNode options as JSON. Prints JSON lines: {type:'ready', port, incarnation}, every
// {type:'refuted', incarnation}, and answers the stdin line `status` with {type:'status', incarnation, members}.
// Without argv[2] (as when `node --test dist/test/` picks this file up) it does nothing.
import { createInterface } from 'node:readline'
import { startNode } from '../../src/index.js'

if (process.argv[2] !== undefined) await main(process.argv[2])

async function main(optionsJson: string): Promise<void> {
  const node = await startNode(JSON.parse(optionsJson))
  const print = (o: unknown): void => {
    process.stdout.write(`${JSON.stringify(o)}\n`)
  }
  node.on('event', (e) => {
    if (e.type === 'refuted') print({ type: 'refuted', incarnation: e.incarnation, accusation: e.accusation })
  })
  print({ type: 'ready', port: node.port, incarnation: node.localMember().incarnation })
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'status') {
      print({ type: 'status', incarnation: node.localMember().incarnation, members: node.members().map((m) => [m.name, m.state]) })
    } else if (line.trim() === 'leave') {
      void node.leave().then(() => print({ type: 'left' }))
    }
  })
  process.stdin.on('end', () => {
    void node.shutdown().then(() => process.exit(0))
  })
}
