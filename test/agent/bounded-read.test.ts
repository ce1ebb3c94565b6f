// Operator files are read with a size cap checked first: a wrong path fails with a reason, memory stays bounded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONFIG_FILE_MAX_BYTES, FileTooLargeError, SCENARIO_FILE_MAX_BYTES, readBoundedText } from '../../src/agent/bounded-read.js'
import { resolveAgentConfig } from '../../src/agent/config.js'
import { loadScenarioFile } from '../../src/cli/scenario-command.js'

test('files over their cap are refused before reading, with the size and the cap named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grapevine-bounded-'))
  try {
    const small = join(dir, 'small.json')
    writeFileSync(small, '{"bind":"127.0.0.1:7946"}')
    assert.equal(readBoundedText(small, 100, 'file'), '{"bind":"127.0.0.1:7946"}')
    assert.throws(() => readBoundedText(small, 10, 'file'), (e: unknown) => e instanceof FileTooLargeError && /is 25 bytes; at most 10 are read/.test(e.message))

    const big = join(dir, 'big.json')
    writeFileSync(big, `{"x":"${'a'.repeat(CONFIG_FILE_MAX_BYTES)}"}`)
    const config = (): unknown => resolveAgentConfig({ config: big }, {}, (p) => readBoundedText(p, CONFIG_FILE_MAX_BYTES, 'file'))
    assert.throws(config, /--config .*cannot read the file \(file .* is \d+ bytes; at most 1048576 are read/)

    const scenario = join(dir, 'big.yaml')
    writeFileSync(scenario, `# ${'x'.repeat(SCENARIO_FILE_MAX_BYTES)}\n`)
    assert.throws(() => loadScenarioFile(scenario), /the scenario file .* at most 1048576 are read/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
