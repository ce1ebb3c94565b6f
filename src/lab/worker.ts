/** Worker thread of the lab runner: runs chunks of independent runs and posts their measurements back. */
import { parentPort } from 'node:worker_threads'
import { runChunk } from './chunk.js'
import type { ChunkJob } from './chunk.js'

const port = parentPort
if (port === null) throw new Error('lab worker started outside a worker thread')
port.on('message', (job: ChunkJob) => {
  const result = runChunk(job)
  const buffers = [result.residue, result.traffic, result.tAve, result.tLast, result.rounds].map((a) => a.buffer as ArrayBuffer)
  port.postMessage(result, buffers)
})
