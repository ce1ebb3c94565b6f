import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AGENT_PACKAGE, MissingPackageError, importOptional, missingPackages } from '../../src/core/optional-package.js'

const absent: string = 'grapevine-no-such-package'

test('a missing optional package becomes an error naming it, the feature, and the agent package to install', async () => {
  await assert.rejects(
    importOptional(absent, 'drawing a plot', () => import(absent)),
    (err: unknown) =>
      err instanceof MissingPackageError &&
      err.message.startsWith(`drawing a plot needs the package ${absent}`) &&
      err.message.includes(`npm install ${AGENT_PACKAGE}`) &&
      err.message.includes(`npm install ${absent}`),
  )
})

test('a present package loads, and a failure that is not a missing package passes through unchanged', async () => {
  const m = await importOptional('node:path', 'joining paths', () => import('node:path'))
  assert.equal(typeof m.join, 'function')
  const inner = Object.assign(new Error(`Cannot find module './lib/part.js' imported from somewhere`), { code: 'ERR_MODULE_NOT_FOUND' })
  await assert.rejects(importOptional('vega', 'drawing a plot', () => Promise.reject(inner)), (err: unknown) => err === inner)
})

test('missingPackages names exactly the packages that cannot be resolved, loading none', () => {
  assert.deepEqual(missingPackages(['@noble/hashes', absent]), [absent])
})
