// The agent's log writes pino's line format itself: level numbers, epoch-millisecond time, the fields, then msg.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { jsonLogger } from '../../src/agent/log.js'

function sink(): { lines: string[]; write(line: string): void } {
  const lines: string[] = []
  return { lines, write: (l: string) => void lines.push(l) }
}

describe('the agent log', () => {
  it("writes one JSON line per record in pino's order: level, time, fields, msg", () => {
    const out = sink()
    jsonLogger('info', out).warn({ member: 'web-3', attempt: 2 }, 'join failed')
    assert.equal(out.lines.length, 1)
    assert.match(out.lines[0], /^\{"level":40,"time":\d+,"member":"web-3","attempt":2,"msg":"join failed"\}\n$/)
  })

  it('drops records below the level, and a new level takes effect at once', () => {
    const out = sink()
    const log = jsonLogger('warn', out)
    log.info('hidden')
    log.debug({ a: 1 }, 'hidden')
    log.level = 'debug'
    log.debug('shown')
    log.level = 'silent'
    log.fatal('hidden')
    assert.deepEqual(out.lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['shown'])
    assert.equal(log.level, 'silent')
  })

  it('writes an Error field as its type, message and stack, and a record with a cycle without its fields', () => {
    const out = sink()
    const log = jsonLogger('info', out)
    log.error({ err: new RangeError('too far') }, 'failed')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    log.info(cyclic, 'cycle')
    const first = JSON.parse(out.lines[0]) as { err: { type: string; message: string; stack: string } }
    assert.deepEqual([first.err.type, first.err.message, first.err.stack.includes('too far')], ['RangeError', 'too far', true])
    assert.deepEqual(JSON.parse(out.lines[1]), { level: 30, time: (JSON.parse(out.lines[1]) as { time: number }).time, msg: 'cycle', logError: 'fields not serializable' })
  })

  it('refuses an unknown level, naming the levels it takes', () => {
    assert.throws(() => jsonLogger('loud' as never, sink()), /unknown log level loud; use one of trace, debug, info, warn, error, fatal, silent/)
    const log = jsonLogger('info', sink())
    assert.throws(() => (log.level = 'toString' as never), /unknown log level toString/)
    assert.equal(log.level, 'info')
  })
})
